//! SOAP envelopes: version, header blocks, Body, WS-Addressing, faults, and the message
//! `kind` of the report contract.
//!
//! This stage reads what is in clear on the wire. It does not judge security: the
//! `wssec`/`session` stages decrypt and verify on top of the tree kept here.

use crate::model::{MessageKind, SoapVersion};
use crate::transport::HttpMessage;
use crate::xml::{Document, Element, NodeId, XmlError};

pub const SOAP11_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const SOAP12_NS: &str = "http://www.w3.org/2003/05/soap-envelope";
/// WS-Addressing 1.0 (W3C), what WCF's Soap12WSAddressing10 writes.
pub const WSA10_NS: &str = "http://www.w3.org/2005/08/addressing";
/// WS-Addressing August 2004 (member submission), WCF's WSAddressingAugust2004.
pub const WSA200408_NS: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
/// WS-Addressing March 2004, still met in older Java stacks.
pub const WSA200403_NS: &str = "http://schemas.xmlsoap.org/ws/2004/03/addressing";
pub const XMLENC_NS: &str = "http://www.w3.org/2001/04/xmlenc#";
pub const WSSE_NS: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";

const WSA_NAMESPACES: [&str; 3] = [WSA10_NS, WSA200408_NS, WSA200403_NS];

/// The WS-Addressing headers of a message (values trimmed, as WCF never pads them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Addressing {
    /// The WS-Addressing namespace the headers used.
    pub namespace: Option<String>,
    pub action: Option<String>,
    pub message_id: Option<String>,
    pub relates_to: Option<String>,
    pub to: Option<String>,
    /// The ReplyTo endpoint's Address.
    pub reply_to: Option<String>,
}

/// A SOAP fault's code and reason, as far as they could be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fault {
    /// `faultcode` (1.1) or Code/Value (1.2), with the innermost Subcode appended after " / ".
    pub code: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SoapError {
    #[error("invalid XML: {0}")]
    Xml(#[from] XmlError),
    #[error("not a SOAP envelope: the root element is {0}")]
    NotSoap(String),
    #[error("SOAP envelope without a Body")]
    NoBody,
    #[error("the body is not XML")]
    NotXml,
}

/// A parsed SOAP envelope.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub doc: Document,
    pub version: SoapVersion,
    pub envelope: NodeId,
    pub header: Option<NodeId>,
    pub body: NodeId,
    pub addressing: Addressing,
    pub fault: Option<Fault>,
}

/// The Body in either SOAP version: the root child whose payload [`Envelope::parse`] may
/// leave without a tree.
const BODIES: [(&str, &str); 2] = [(SOAP11_NS, "Body"), (SOAP12_NS, "Body")];

/// Namespaces (by prefix) whose elements, wherever they are, make a message's payload worth
/// a whole tree: WS-Security and WS-SX (docs.oasis-open.org: wsse, wsu, SC 1.3, Trust 1.3),
/// SC/Trust February 2005, XML Encryption (1.0 and 1.1) and XML Signature.
const SECURITY_NAMESPACE_PREFIXES: [&str; 5] = [
    "http://docs.oasis-open.org/",
    "http://schemas.xmlsoap.org/ws/2005/02/",
    "http://www.w3.org/2001/04/xmlenc#",
    "http://www.w3.org/2009/xmlenc11#",
    "http://www.w3.org/2000/09/xmldsig",
];

/// True for an element that a later stage reads below the Body's top element, so the
/// envelope needs its whole tree: anything of WS-Security, WS-Trust/SC, XML Encryption or
/// Signature (inventory, SCT references, session version, decryption, signature
/// references), a SOAP Fault (its code and reason), and the elements `--redact-keys` masks
/// by local name in any namespace (Password, BinarySecret).
fn needs_whole_tree(ns: Option<&str>, local: &str) -> bool {
    matches!(local, "Password" | "BinarySecret")
        || match ns {
            Some(SOAP11_NS | SOAP12_NS) => local == "Fault",
            Some(ns) => is_security_namespace(ns),
            None => false,
        }
}

/// True for a namespace under one of [`SECURITY_NAMESPACE_PREFIXES`]. Asked for every
/// element the parse builds or first meets: the byte after `http://` rules out most
/// prefixes before any string comparison (a payload namespace costs at most a few).
fn is_security_namespace(ns: &str) -> bool {
    // Bytes 7..15 (the eight after `http://`) tell the prefixes apart from each other and
    // from most payload namespaces, compared as one fixed-size block: a `starts_with` of
    // each candidate was a call to memcmp per element, about 1.5 % of `analyze`.
    fn probe(s: &str) -> Option<[u8; 8]> {
        s.as_bytes().get(7..15)?.first_chunk().copied()
    }
    let Some(probe_ns) = probe(ns) else {
        return false;
    };
    SECURITY_NAMESPACE_PREFIXES
        .iter()
        .any(|p| probe(p) == Some(probe_ns) && ns.starts_with(p))
}

impl Envelope {
    /// Parses an envelope. A plain message's Body payload (below the Body's top elements) is
    /// checked but gets no tree: nothing reads it but the report, which takes it as bytes.
    /// Any security, WS-Trust, fault or secret-bearing element (see [`needs_whole_tree`])
    /// gives the whole tree, as [`Envelope::parse_whole`] does.
    pub fn parse(bytes: &[u8]) -> Result<Envelope, SoapError> {
        let doc = Document::parse_skimming(bytes, &BODIES, &needs_whole_tree)?;
        Envelope::from_document(doc)
    }

    /// Parses an envelope into its whole tree.
    pub fn parse_whole(bytes: &[u8]) -> Result<Envelope, SoapError> {
        let doc = Document::parse(bytes)?;
        Envelope::from_document(doc)
    }

    pub fn from_document(doc: Document) -> Result<Envelope, SoapError> {
        let parts = EnvelopeParts::read(&doc)?;
        Ok(parts.with(doc))
    }

    /// [`Envelope::parse`] of bytes the caller hands over: the document keeps UTF-8 input
    /// as its source, without the copy [`Envelope::parse`] makes, so the caller must not
    /// need the bytes unchanged unless [`crate::xml::decode`] leaves them so (no byte order
    /// mark, not UTF-16). On an error the bytes come back with it.
    pub fn parse_owned(bytes: Vec<u8>) -> Result<Envelope, (SoapError, Vec<u8>)> {
        let doc = Document::parse_skimming_owned(bytes, &BODIES, &needs_whole_tree)
            .map_err(|(e, bytes)| (SoapError::from(e), bytes))?;
        match EnvelopeParts::read(&doc) {
            Ok(parts) => Ok(parts.with(doc)),
            Err(e) => Err((e, doc.source)),
        }
    }

    /// Header blocks in document order.
    pub fn header_blocks(&self) -> Vec<NodeId> {
        self.header
            .map(|h| child_elements(&self.doc, h).collect())
            .unwrap_or_default()
    }

    /// The first wsse:Security header block, if any.
    pub fn security_header(&self) -> Option<NodeId> {
        self.header_blocks()
            .into_iter()
            .find(|&b| is(&self.doc, b, WSSE_NS, "Security"))
    }

    /// The first element inside the Body.
    pub fn body_first_child(&self) -> Option<NodeId> {
        child_elements(&self.doc, self.body).next()
    }

    /// True when the Body's content is an xenc:EncryptedData (encrypted on the wire).
    pub fn body_encrypted(&self) -> bool {
        self.body_first_child()
            .is_some_and(|c| is(&self.doc, c, XMLENC_NS, "EncryptedData"))
    }

    /// The Body's inner XML exactly as on the wire.
    pub fn body_inner_xml(&self) -> String {
        self.doc.inner_xml_string(self.body)
    }
}

/// What [`Envelope::from_document`] reads out of a document, before it owns it.
struct EnvelopeParts {
    version: SoapVersion,
    envelope: NodeId,
    header: Option<NodeId>,
    body: NodeId,
    addressing: Addressing,
    fault: Option<Fault>,
}

impl EnvelopeParts {
    fn read(doc: &Document) -> Result<EnvelopeParts, SoapError> {
        let envelope = root_element(doc).ok_or_else(|| SoapError::NotSoap("(none)".into()))?;
        let root = element(doc, envelope).ok_or_else(|| SoapError::NotSoap("(none)".into()))?;
        let version = match (root.name.ns.as_deref(), root.name.local.as_str()) {
            (Some(SOAP11_NS), "Envelope") => SoapVersion::Soap11,
            (Some(SOAP12_NS), "Envelope") => SoapVersion::Soap12,
            _ => return Err(SoapError::NotSoap(display_name(root))),
        };
        let soap_ns = match version {
            SoapVersion::Soap11 => SOAP11_NS,
            SoapVersion::Soap12 => SOAP12_NS,
        };
        let header = child_elements(doc, envelope).find(|&c| is(doc, c, soap_ns, "Header"));
        let body = child_elements(doc, envelope)
            .find(|&c| is(doc, c, soap_ns, "Body"))
            .ok_or(SoapError::NoBody)?;
        let addressing = header.map(|h| read_addressing(doc, h)).unwrap_or_default();
        let fault = child_elements(doc, body)
            .find(|&c| is(doc, c, soap_ns, "Fault"))
            .map(|f| read_fault(doc, f, version));
        Ok(EnvelopeParts {
            version,
            envelope,
            header,
            body,
            addressing,
            fault,
        })
    }

    fn with(self, doc: Document) -> Envelope {
        Envelope {
            doc,
            version: self.version,
            envelope: self.envelope,
            header: self.header,
            body: self.body,
            addressing: self.addressing,
            fault: self.fault,
        }
    }
}

/// The action of a message from its HTTP headers: SOAP 1.1 `SOAPAction`, or the SOAP 1.2
/// `action` parameter of the media type. Used when the envelope has no wsa:Action.
pub fn action_from_http(http: &HttpMessage) -> Option<String> {
    if let Some(v) = http.header("SOAPAction") {
        let v = v.trim().trim_matches('"').trim();
        if !v.is_empty() {
            return Some(v.to_string());
        }
    }
    let ct = http.content_type()?;
    ct.split(';')
        .skip(1)
        .find_map(|param| {
            let (name, value) = param.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("action")
                .then(|| value.trim().trim_matches('"').to_string())
        })
        .filter(|v| !v.is_empty())
}

/// WS-Trust / WS-SecureConversation namespace bases whose actions we classify.
const TRUST_BASES: [&str; 2] = [
    "http://schemas.xmlsoap.org/ws/2005/02/trust/",
    "http://docs.oasis-open.org/ws-sx/ws-trust/200512/",
];

/// Classifies a message into the report contract's `kind`.
///
/// The action decides first (WCF's session messages always carry one); without an action
/// the Body's first element decides. A SOAP Fault is a `fault` whatever the action says.
pub fn classify(env: &Envelope, action: Option<&str>) -> MessageKind {
    if env.fault.is_some() {
        return MessageKind::Fault;
    }
    if let Some(kind) = action.and_then(|a| classify_action(a, env)) {
        return kind;
    }
    classify_body(env).unwrap_or(MessageKind::Application)
}

fn classify_action(action: &str, env: &Envelope) -> Option<MessageKind> {
    let action = action.trim();
    if action.ends_with("/SecureConversationFault") || action.ends_with("/fault") {
        return Some(MessageKind::Fault);
    }
    let tail = TRUST_BASES.iter().find_map(|b| action.strip_prefix(b))?;
    Some(match tail {
        "RST/SCT" => MessageKind::SctIssue,
        "RSTR/SCT" => MessageKind::SctIssueResponse,
        "RST/SCT/Cancel" => MessageKind::SctCancel,
        "RSTR/SCT/Cancel" => MessageKind::SctCancelResponse,
        "RST/SCT/Renew" => MessageKind::SctRenew,
        "RSTR/SCT/Renew" => MessageKind::SctRenewResponse,
        "RST/SCT/Amend" => MessageKind::SctAmend,
        "RSTR/SCT/Amend" => MessageKind::SctAmendResponse,
        // Generic Issue: WCF's TLSNego/SPNEGO negotiation legs; other stacks may issue an
        // SCT with it, which the Body then says (TokenType sct, no BinaryExchange).
        "RST/Issue" | "RSTR/Issue" | "RSTRC/IssueFinal" => match classify_body(env) {
            Some(k @ (MessageKind::SctIssue | MessageKind::SctIssueResponse)) => k,
            _ => MessageKind::Negotiation,
        },
        "RST/Cancel" => MessageKind::SctCancel,
        "RSTR/Cancel" => MessageKind::SctCancelResponse,
        "RST/Renew" => MessageKind::SctRenew,
        "RSTR/Renew" => MessageKind::SctRenewResponse,
        _ => return None,
    })
}

/// Classification from a WS-Trust Body in clear.
fn classify_body(env: &Envelope) -> Option<MessageKind> {
    let doc = &env.doc;
    let first = env.body_first_child()?;
    let el = element(doc, first)?;
    let ns = el.name.ns.as_deref()?;
    if !TRUST_BASES
        .iter()
        .any(|b| ns.starts_with(b.trim_end_matches('/')))
    {
        return None;
    }
    let any_desc = |local: &str| descendants(doc, first).any(|d| local_is(doc, d, local));
    if any_desc("BinaryExchange") {
        return Some(MessageKind::Negotiation);
    }
    match el.name.local.as_str() {
        "RequestSecurityToken" => {
            let request_type = descendants(doc, first)
                .find(|&d| local_is(doc, d, "RequestType"))
                .map(|d| text(doc, d))
                .unwrap_or_default();
            let sct = descendants(doc, first)
                .filter(|&d| local_is(doc, d, "TokenType"))
                .any(|d| text(doc, d).trim().ends_with("/sct"));
            let kind = request_type.trim().rsplit('/').next().unwrap_or("");
            match kind {
                "Cancel" => Some(MessageKind::SctCancel),
                "Renew" => Some(MessageKind::SctRenew),
                "Amend" => Some(MessageKind::SctAmend),
                "Issue" if sct => Some(MessageKind::SctIssue),
                "Issue" => Some(MessageKind::Negotiation),
                _ => None,
            }
        }
        "RequestSecurityTokenResponse" | "RequestSecurityTokenResponseCollection" => {
            if any_desc("RequestedTokenCancelled") {
                Some(MessageKind::SctCancelResponse)
            } else if any_desc("SecurityContextToken") {
                Some(MessageKind::SctIssueResponse)
            } else {
                Some(MessageKind::Negotiation)
            }
        }
        _ => None,
    }
}

fn read_addressing(doc: &Document, header: NodeId) -> Addressing {
    let mut a = Addressing::default();
    for block in child_elements(doc, header) {
        let Some(el) = element(doc, block) else {
            continue;
        };
        let Some(ns) = el.name.ns.as_deref() else {
            continue;
        };
        if !WSA_NAMESPACES.contains(&ns) {
            continue;
        }
        a.namespace.get_or_insert_with(|| ns.to_string());
        let value = || Some(text(doc, block).trim().to_string());
        match el.name.local.as_str() {
            "Action" if a.action.is_none() => a.action = value(),
            "MessageID" if a.message_id.is_none() => a.message_id = value(),
            "RelatesTo" if a.relates_to.is_none() => a.relates_to = value(),
            "To" if a.to.is_none() => a.to = value(),
            "ReplyTo" if a.reply_to.is_none() => {
                a.reply_to = child_elements(doc, block)
                    .find(|&c| local_is(doc, c, "Address"))
                    .map(|c| text(doc, c).trim().to_string());
            }
            _ => {}
        }
    }
    a
}

fn read_fault(doc: &Document, fault: NodeId, version: SoapVersion) -> Fault {
    let child = |parent: NodeId, local: &str| {
        child_elements(doc, parent).find(|&c| local_is(doc, c, local))
    };
    match version {
        SoapVersion::Soap11 => Fault {
            code: child(fault, "faultcode").map(|c| text(doc, c).trim().to_string()),
            reason: child(fault, "faultstring").map(|c| text(doc, c).trim().to_string()),
        },
        SoapVersion::Soap12 => {
            let mut code = None;
            let mut cursor = child(fault, "Code");
            while let Some(c) = cursor {
                if let Some(v) = child(c, "Value") {
                    let v = text(doc, v).trim().to_string();
                    code = Some(match code {
                        None => v,
                        Some(prev) => format!("{prev} / {v}"),
                    });
                }
                cursor = child(c, "Subcode");
            }
            let reason = child(fault, "Reason")
                .and_then(|r| child(r, "Text"))
                .map(|t| text(doc, t).trim().to_string());
            Fault { code, reason }
        }
    }
}

// --- short names for the tree queries this stage and `wssec` use ---

pub(crate) fn element(doc: &Document, id: NodeId) -> Option<&Element> {
    doc.element(id)
}

fn root_element(doc: &Document) -> Option<NodeId> {
    doc.root_element()
}

pub(crate) fn child_elements(doc: &Document, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
    doc.child_elements_iter(id)
}

/// Element descendants of `id` (not `id` itself), in document order.
pub(crate) fn descendants(doc: &Document, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
    doc.descendants(id)
        .filter(move |&d| doc.element(d).is_some())
}

pub(crate) fn is(doc: &Document, id: NodeId, ns: &str, local: &str) -> bool {
    doc.element(id).is_some_and(|e| e.name.is(Some(ns), local))
}

fn local_is(doc: &Document, id: NodeId, local: &str) -> bool {
    doc.element(id).is_some_and(|e| e.name.local == local)
}

/// Concatenated text of an element's descendants.
pub(crate) fn text(doc: &Document, id: NodeId) -> String {
    doc.text_content(id)
}

fn display_name(e: &Element) -> String {
    match (&e.name.prefix, &e.name.ns) {
        (Some(p), _) => format!("{p}:{}", e.name.local),
        (None, Some(ns)) => format!("{{{ns}}}{}", e.name.local),
        (None, None) => e.name.local.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_namespaces_are_recognised_by_prefix() {
        for ns in [
            "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
            "http://docs.oasis-open.org/ws-sx/ws-trust/200512",
            "http://schemas.xmlsoap.org/ws/2005/02/sc",
            "http://schemas.xmlsoap.org/ws/2005/02/trust",
            "http://www.w3.org/2001/04/xmlenc#",
            "http://www.w3.org/2009/xmlenc11#",
            "http://www.w3.org/2000/09/xmldsig#",
            "http://www.w3.org/2000/09/xmldsig-more#",
        ] {
            assert!(is_security_namespace(ns), "{ns}");
        }
        for ns in [
            "",
            "http://",
            "urn:x",
            "http://tempuri.org/",
            "http://schemas.datacontract.org/2004/07/Contoso.Shop",
            "http://schemas.xmlsoap.org/ws/2004/08/addressing",
            "http://www.w3.org/2001/XMLSchema-instance",
            "http://www.w3.org/2005/08/addressing",
            "https://docs.oasis-open.org/wss/",
            "http://docs.oasis-open.org",
        ] {
            assert!(!is_security_namespace(ns), "{ns}");
        }
    }

    /// The fixed-size probe only rules candidates out: every prefix with any one byte
    /// changed, or cut short, is not a security namespace, whatever follows it.
    #[test]
    fn near_misses_of_every_prefix_are_rejected() {
        for prefix in SECURITY_NAMESPACE_PREFIXES {
            assert!(is_security_namespace(prefix), "{prefix}");
            for at in 0..prefix.len() {
                let mut changed = prefix.as_bytes().to_vec();
                changed[at] = if changed[at] == b'z' { b'y' } else { b'z' };
                let changed = String::from_utf8(changed).unwrap_or_default();
                let cut = &prefix[..at];
                for ns in [changed.clone(), format!("{changed}x"), cut.to_owned()] {
                    let expected = SECURITY_NAMESPACE_PREFIXES
                        .iter()
                        .any(|p| ns.starts_with(p));
                    assert_eq!(is_security_namespace(&ns), expected, "{ns}");
                }
            }
        }
    }
}
