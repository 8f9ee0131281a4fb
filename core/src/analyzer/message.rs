//! Building a report message from a framed payload: the pure helpers the pipeline uses.

use crate::model::{
    Decryption, MessageDirection, MessageInfo, MessageKind, ScVersion, SignatureSummary,
};
use crate::soap::Envelope;
use crate::transport::HttpMessage;
use crate::wssec::ns;

pub(super) fn empty_message(index: usize, direction: MessageDirection) -> MessageInfo {
    MessageInfo {
        index,
        ts: None,
        stream: None,
        direction,
        http: None,
        soap_version: None,
        action: None,
        message_id: None,
        relates_to: None,
        to: None,
        kind: MessageKind::Application,
        session: None,
        encrypted: false,
        decryption: Decryption::NotEncrypted,
        signature: SignatureSummary::Unsigned,
        body: None,
        body_deferred: None,
        security: Default::default(),
        errors: Vec::new(),
        complete: true,
        paired_with: None,
    }
}

/// An encrypted element in the security header may be an encrypted signature: such a
/// message counts as signed (verdict unknown) rather than unsigned.
pub(super) fn security_header_has_encrypted_data(env: &Envelope) -> bool {
    env.security_header().is_some_and(|sec| {
        env.doc.children_elements(sec).into_iter().any(|c| {
            env.doc
                .element(c)
                .is_some_and(|e| e.name.is(Some(ns::XENC), "EncryptedData"))
        })
    })
}

/// The WS-Trust/SC version a message uses: from its action, else from the first WS-SC or
/// WS-Trust namespace met in the envelope.
pub(super) fn sc_version(env: &Envelope, action: Option<&str>) -> Option<ScVersion> {
    if let Some(a) = action {
        if a.starts_with(ns::TRUST_1_3) || a.starts_with(ns::SC_1_3) {
            return Some(ScVersion::V13);
        }
        if a.starts_with(ns::TRUST_2005_02) || a.starts_with(ns::SC_2005_02) {
            return Some(ScVersion::Feb2005);
        }
    }
    let doc = &env.doc;
    doc.descendants(env.envelope).find_map(|n| {
        let e = doc.element(n)?;
        match e.name.ns.as_deref()? {
            ns::SC_1_3 | ns::TRUST_1_3 => Some(ScVersion::V13),
            ns::SC_2005_02 | ns::TRUST_2005_02 => Some(ScVersion::Feb2005),
            _ => None,
        }
    })
}

/// True when the bytes start (after a BOM and whitespace) with `<`.
pub(super) fn looks_like_xml(body: &[u8]) -> bool {
    let body = body.strip_prefix(&[0xef, 0xbb, 0xbf]).unwrap_or(body);
    body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<')
}

/// True when the HTTP message announces SOAP (media type or SOAPAction header) or the body
/// has an Envelope near its start.
pub(super) fn declared_soap(http: Option<&HttpMessage>, body: &[u8]) -> bool {
    http.and_then(|h| h.content_type())
        .is_some_and(|c| c.to_ascii_lowercase().contains("soap"))
        || http.is_some_and(|h| h.header("SOAPAction").is_some())
        || body[..body.len().min(512)]
            .windows(8)
            .any(|w| w == b"Envelope")
}

/// "HTTP POST /path" or "HTTP response 200", for diagnostics.
pub(super) fn describe_http(h: &HttpMessage, dir: MessageDirection) -> String {
    match dir {
        MessageDirection::Request => {
            format!(
                "HTTP {} {}",
                h.method.as_deref().unwrap_or("?"),
                h.path.as_deref().unwrap_or("?")
            )
        }
        MessageDirection::Response => {
            format!(
                "HTTP response {}",
                h.status.map(|s| s.to_string()).unwrap_or_default()
            )
        }
    }
}

/// The HTTP start line as sent.
pub(super) fn start_line(h: &HttpMessage) -> String {
    match (&h.method, h.status) {
        (Some(m), _) => format!("{m} {} {}", h.path.as_deref().unwrap_or(""), h.version),
        (None, Some(s)) => format!("{} {s} {}", h.version, h.reason.as_deref().unwrap_or("")),
        _ => h.version.clone(),
    }
}

/// Kinds that answer a request, for message files without HTTP.
pub(super) fn is_response_kind(kind: MessageKind) -> bool {
    matches!(
        kind,
        MessageKind::SctIssueResponse
            | MessageKind::SctCancelResponse
            | MessageKind::SctRenewResponse
            | MessageKind::SctAmendResponse
            | MessageKind::Fault
    )
}
