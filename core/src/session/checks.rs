//! Per-message checks that sit beside decryption and signature verification: whether each
//! signed element is the one the message shows (signature wrapping), Timestamp freshness,
//! SignatureConfirmation, protection coverage, plus two capture-artefact helpers (a
//! whitespace-normalised copy of a reformatted message, and HTTP chunk-size lines caught
//! inside a CipherValue).

use crate::model::{CheckInfo, CheckStatus, MessageKind, Timestamp};
use crate::soap::{Envelope, SOAP11_NS, SOAP12_NS};
use crate::wssec::ns::{WSSE11, WSU, XENC};
use crate::xml::{Document, NodeId, NodeKind};

pub fn check(name: &str, status: CheckStatus, detail: impl Into<String>) -> CheckInfo {
    CheckInfo {
        name: name.into(),
        status,
        detail: detail.into(),
    }
}

/// Namespaces of what a Security header legitimately holds (tokens, signatures, encrypted
/// items, timestamps, SAML assertions).
const SECURITY_NAMESPACES: [&str; 11] = [
    crate::wssec::ns::WSSE,
    WSSE11,
    WSU,
    crate::wssec::ns::DSIG,
    XENC,
    "http://www.w3.org/2009/xmlenc11#",
    crate::wssec::ns::SC_2005_02,
    crate::wssec::ns::SC_1_3,
    crate::wssec::ns::DNSE,
    "urn:oasis:names:tc:SAML:1.0:assertion",
    "urn:oasis:names:tc:SAML:2.0:assertion",
];

fn is_soap_body(doc: &Document, n: NodeId) -> bool {
    doc.element(n).is_some_and(|e| {
        e.name.local == "Body" && matches!(e.name.ns.as_deref(), Some(SOAP11_NS) | Some(SOAP12_NS))
    })
}

/// Whether a signed element is one the message shows: the Body (or inside it), a header
/// block, or inside the Security header. Anything else — an element nested in some other
/// header, a second Body — is what signature-wrapping attacks sign while showing another
/// element. Returns the reason when it is not.
pub fn shown(env: &Envelope, sec: Option<NodeId>, node: NodeId) -> Result<(), String> {
    let doc = &env.doc;
    let name = doc
        .element(node)
        .map(|e| e.name.qualified())
        .unwrap_or_else(|| "(not an element)".into());
    if node == env.body || doc.is_ancestor(env.body, node) {
        return Ok(());
    }
    if is_soap_body(doc, node) {
        return Err(format!(
            "it resolved to a <{name}> that is not the message's Body (signature wrapping: the Body shown is not the one signed)"
        ));
    }
    let parent = doc.nodes.get(node).and_then(|n| n.parent);
    if env.header.is_some() && parent == env.header {
        return Ok(());
    }
    // A decrypted WSS 1.1 EncryptedHeader: the header block sits inside its wrapper.
    let grandparent = parent.and_then(|p| doc.nodes.get(p)).and_then(|n| n.parent);
    let in_encrypted_header = parent
        .and_then(|p| doc.element(p))
        .is_some_and(|e| e.name.is(Some(WSSE11), "EncryptedHeader"));
    if env.header.is_some() && grandparent == env.header && in_encrypted_header {
        return Ok(());
    }
    if let Some(sec) = sec {
        if doc.is_ancestor(sec, node) {
            // Only security items belong there: a header block (wsa:To, …) tucked into the
            // Security header is the signed copy of a wrapping attack, while the copy shown
            // among the headers is another one.
            let mut top = node;
            while let Some(p) = doc.nodes.get(top).and_then(|n| n.parent) {
                if p == sec {
                    break;
                }
                top = p;
            }
            let ns = doc.element(top).and_then(|e| e.name.ns.as_deref());
            if ns.is_some_and(|n| SECURITY_NAMESPACES.contains(&n)) {
                return Ok(());
            }
            let top_name = doc
                .element(top)
                .map(|e| e.name.qualified())
                .unwrap_or_default();
            return Err(format!(
                "it resolved to <{name}> inside the Security header (in <{top_name}>, not a security element), which is not where a reader looks for it (signature wrapping?)"
            ));
        }
    }
    let container = parent
        .and_then(|p| doc.element(p))
        .map(|e| e.name.qualified())
        .unwrap_or_else(|| "(document)".into());
    Err(format!("it resolved to <{name}> nested inside <{container}>, which is not a part of the message a reader sees"))
}

/// How whitespace-only text nodes are rewritten in a normalised copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whitespace {
    /// Remove them everywhere.
    Strip,
    /// Remove them, except inside `ds:SignedInfo` where each becomes one `\n` (the form
    /// Apache XML Security signs).
    StripKeepSignedInfoNewlines,
}

/// The source rewritten without whitespace-only text nodes between elements; None when the
/// message has none (nothing to normalise).
pub fn normalise_whitespace(doc: &Document, mode: Whitespace) -> Option<Vec<u8>> {
    let mut cuts: Vec<(std::ops::Range<usize>, &'static [u8])> = Vec::new();
    for (i, n) in doc.nodes.iter().enumerate() {
        let NodeKind::Text(t) = &n.kind else { continue };
        if !t.chars().all(char::is_whitespace) || n.span.is_empty() {
            continue;
        }
        let in_signed_info = {
            let mut cur = n.parent;
            let mut found = false;
            while let Some(p) = cur {
                if doc
                    .element(p)
                    .is_some_and(|e| e.name.is(Some(crate::wssec::ns::DSIG), "SignedInfo"))
                {
                    found = true;
                    break;
                }
                cur = doc.nodes.get(p).and_then(|x| x.parent);
            }
            found
        };
        let _ = i;
        let replacement: &'static [u8] =
            if mode == Whitespace::StripKeepSignedInfoNewlines && in_signed_info {
                b"\n"
            } else {
                b""
            };
        cuts.push((n.span.clone(), replacement));
    }
    if cuts.is_empty() {
        return None;
    }
    cuts.sort_by_key(|(r, _)| r.start);
    let mut out = Vec::with_capacity(doc.source.len());
    let mut pos = 0;
    for (r, rep) in cuts {
        if r.start < pos || r.end > doc.source.len() {
            continue;
        }
        out.extend_from_slice(&doc.source[pos..r.start]);
        out.extend_from_slice(rep);
        pos = r.end;
    }
    out.extend_from_slice(&doc.source[pos..]);
    Some(out)
}

/// A line inside an EncryptedData's CipherValue that looks like an HTTP chunk-size line
/// (1–6 hex digits between full base64 lines): the message was cut out of a chunked HTTP
/// body without de-chunking.
pub fn chunk_artefact(doc: &Document, encrypted: NodeId) -> Option<String> {
    let cd = doc.find_child(encrypted, Some(XENC), "CipherData")?;
    let cv = doc.find_child(cd, Some(XENC), "CipherValue")?;
    let text = doc.text_content(cv);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let n = lines.len();
    lines.iter().enumerate().find_map(|(i, l)| {
        let hexish = (1..=6).contains(&l.len()) && l.chars().all(|c| c.is_ascii_hexdigit());
        let between = i > 0 && i + 1 < n && lines[i - 1].len() > 16;
        (hexish && between).then(|| l.to_string())
    })
}

/// The Timestamp check: Created/Expires against the capture time with `skew` seconds.
pub fn timestamp(
    doc: &Document,
    sec: NodeId,
    capture: Option<Timestamp>,
    skew: u64,
) -> Option<CheckInfo> {
    let ts = doc.find_child(sec, Some(WSU), "Timestamp")?;
    // WSS 1.1 SOAP Message Security §10: at most one Timestamp per Security header. With two,
    // the one checked here need not be the one a signature covers.
    let count = doc
        .children_elements(sec)
        .into_iter()
        .filter(|&c| {
            doc.element(c)
                .is_some_and(|e| e.name.is(Some(WSU), "Timestamp"))
        })
        .count();
    if count > 1 {
        return Some(check(
            "timestamp",
            CheckStatus::Error,
            format!("the Security header holds {count} Timestamp elements (WS-Security allows one): which one the sender meant cannot be told"),
        ));
    }
    let read = |local: &str| {
        doc.find_child(ts, Some(WSU), local).map(|c| {
            let t = doc.text_content(c).trim().to_string();
            (Timestamp::parse_xsd_datetime(&t), t)
        })
    };
    let created = read("Created");
    let expires = read("Expires");
    let mut problems = Vec::new();
    let c = match &created {
        Some((Some(c), _)) => Some(*c),
        Some((None, raw)) => {
            problems.push(format!("Created '{raw}' is not an xsd:dateTime"));
            None
        }
        None => None,
    };
    let e = match &expires {
        Some((Some(e), _)) => Some(*e),
        Some((None, raw)) => {
            problems.push(format!("Expires '{raw}' is not an xsd:dateTime"));
            None
        }
        None => None,
    };
    if let (Some(c), Some(e)) = (c, e) {
        if e < c {
            problems.push(format!("Expires {e} is before Created {c}"));
        }
    }
    let skew_ns = i64::try_from(skew)
        .unwrap_or(i64::MAX / 2_000_000_000)
        .saturating_mul(1_000_000_000);
    match capture {
        Some(now) => {
            if let Some(c) = c {
                if c.as_nanos() > now.as_nanos().saturating_add(skew_ns) {
                    problems.push(format!(
                        "Created {c} is later than the capture time {now} plus {skew} s of skew"
                    ));
                }
            }
            if let Some(e) = e {
                if now.as_nanos() > e.as_nanos().saturating_add(skew_ns) {
                    problems.push(format!(
                        "Expires {e} had passed at the capture time {now} (skew {skew} s)"
                    ));
                }
            }
        }
        None if problems.is_empty() => {
            return Some(check(
                "timestamp",
                CheckStatus::Ok,
                format!(
                    "Created {} Expires {}; not compared with a capture time (message file)",
                    created.map(|x| x.1).unwrap_or_else(|| "(none)".into()),
                    expires.map(|x| x.1).unwrap_or_else(|| "(none)".into())
                ),
            ))
        }
        None => {}
    }
    Some(if problems.is_empty() {
        check(
            "timestamp",
            CheckStatus::Ok,
            format!(
                "Created {} Expires {} fit the capture time (skew {skew} s)",
                c.map(|x| x.to_string()).unwrap_or_else(|| "(none)".into()),
                e.map(|x| x.to_string()).unwrap_or_else(|| "(none)".into())
            ),
        )
    } else {
        check("timestamp", CheckStatus::Error, problems.join("; "))
    })
}

/// SignatureConfirmation Values in a response's Security header (None = element without Value).
pub fn confirmations(doc: &Document, sec: NodeId) -> Vec<Option<Vec<u8>>> {
    use base64::Engine;
    doc.children_elements(sec)
        .into_iter()
        .filter(|&c| {
            doc.element(c)
                .is_some_and(|e| e.name.is(Some(WSSE11), "SignatureConfirmation"))
        })
        .map(|c| {
            doc.attribute(c, None, "Value").map(|v| {
                let compact: String = v.chars().filter(|c| !c.is_whitespace()).collect();
                base64::engine::general_purpose::STANDARD
                    .decode(compact.as_bytes())
                    .unwrap_or_default()
            })
        })
        .collect()
}

/// The SignatureConfirmation check of a response against its request's SignatureValues.
pub fn signature_confirmation(
    found: &[Option<Vec<u8>>],
    request: Option<&Vec<Vec<u8>>>,
) -> Option<CheckInfo> {
    if found.is_empty() {
        return None;
    }
    let Some(req) = request else {
        return Some(check(
            "signature-confirmation",
            CheckStatus::Warning,
            format!("{} SignatureConfirmation(s), but the request's signatures are not known (request not captured or not opened)", found.len()),
        ));
    };
    let values: Vec<&Vec<u8>> = found.iter().flatten().collect();
    let unmatched = values.iter().filter(|v| !req.contains(v)).count();
    let unconfirmed = req.iter().filter(|r| !values.contains(r)).count();
    let empty = found.len() - values.len();
    if unmatched == 0 && unconfirmed == 0 && (empty == 0 || req.is_empty()) {
        Some(check(
            "signature-confirmation",
            CheckStatus::Ok,
            format!(
                "{} SignatureConfirmation value(s) match the request's {} SignatureValue(s)",
                values.len(),
                req.len()
            ),
        ))
    } else {
        Some(check(
            "signature-confirmation",
            CheckStatus::Error,
            format!(
                "{unmatched} confirmation value(s) match no SignatureValue of the request; {unconfirmed} of the request's {} signature(s) not confirmed{}",
                req.len(),
                if empty > 0 && !req.is_empty() { "; a confirmation without Value claims the request was unsigned" } else { "" }
            ),
        ))
    }
}

/// What a secure session should protect, compared with what was signed / encrypted.
pub struct Coverage<'a> {
    pub env: &'a Envelope,
    pub sec: NodeId,
    /// Elements covered by a signature reference.
    pub signed: &'a [NodeId],
    pub body_encrypted: bool,
    /// Names of elements that were encrypted (for the detail).
    pub encrypted_names: &'a [String],
    pub kind: MessageKind,
    /// Signatures that could not be checked (no key) plus security-header EncryptedData left
    /// closed (an encrypted signature may hide there): what is signed is then unknown.
    pub unread: usize,
}

const ADDRESSING: [&str; 7] = [
    "To",
    "From",
    "FaultTo",
    "ReplyTo",
    "MessageID",
    "RelatesTo",
    "Action",
];

pub fn coverage(c: &Coverage<'_>) -> CheckInfo {
    let doc = &c.env.doc;
    let mut signed_names = Vec::new();
    let mut unsigned = Vec::new();
    let mut expect = |node: NodeId, label: String| {
        if c.signed.contains(&node) {
            signed_names.push(label);
        } else {
            unsigned.push(label);
        }
    };
    expect(c.env.body, "Body".into());
    for ts in doc.children_elements(c.sec) {
        if doc
            .element(ts)
            .is_some_and(|e| e.name.is(Some(WSU), "Timestamp"))
        {
            expect(ts, "Timestamp".into());
        }
    }
    for b in c.env.header_blocks() {
        let Some(e) = doc.element(b) else { continue };
        let wsa = e
            .name
            .ns
            .as_deref()
            .is_some_and(|n| n.contains("addressing"));
        if wsa && ADDRESSING.contains(&e.name.local.as_str()) {
            expect(b, e.name.qualified());
        }
    }
    for s in doc.children_elements(c.sec) {
        if doc
            .element(s)
            .is_some_and(|e| e.name.is(Some(WSSE11), "SignatureConfirmation"))
        {
            expect(s, "SignatureConfirmation".into());
        }
    }
    let mut problems = Vec::new();
    if !unsigned.is_empty() {
        if c.unread > 0 {
            problems.push(format!("not shown to be signed: {}", unsigned.join(", ")));
        } else {
            problems.push(format!("not signed: {}", unsigned.join(", ")));
        }
    }
    let wants_encryption = matches!(
        c.kind,
        MessageKind::Application
            | MessageKind::SctIssue
            | MessageKind::SctIssueResponse
            | MessageKind::SctRenew
            | MessageKind::SctRenewResponse
            | MessageKind::SctAmend
            | MessageKind::SctAmendResponse
    );
    if wants_encryption && !c.body_encrypted && !doc.children_elements(c.env.body).is_empty() {
        problems.push("Body not encrypted".into());
    }
    let unknown = format!(
        "unknown ({} signature(s) or encrypted header item(s) could not be read without a key)",
        c.unread
    );
    let detail = format!(
        "signed: {}; encrypted: {}{}",
        if signed_names.is_empty() && c.unread > 0 {
            unknown
        } else if signed_names.is_empty() {
            "nothing".into()
        } else if c.unread > 0 {
            format!("{} and possibly more: {unknown}", signed_names.join(", "))
        } else {
            signed_names.join(", ")
        },
        if c.encrypted_names.is_empty() {
            "nothing".into()
        } else {
            c.encrypted_names.join(", ")
        },
        if problems.is_empty() {
            String::new()
        } else {
            format!("; {}", problems.join("; "))
        }
    );
    check(
        "coverage",
        if problems.is_empty() {
            CheckStatus::Ok
        } else {
            CheckStatus::Warning
        },
        detail,
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn shown_elements() {
        let xml = format!(
            r#"<s:Envelope xmlns:s="{SOAP12_NS}" xmlns:k="{WSSE11}"><s:Header><h1/><k:EncryptedHeader><h2/></k:EncryptedHeader><w><s:Body/><h3/></w></s:Header><s:Body><x/></s:Body></s:Envelope>"#
        );
        let env = Envelope::parse(xml.as_bytes()).unwrap();
        let d = &env.doc;
        let header = env.header.unwrap();
        let kids = d.children_elements(header);
        let (h1, eh, w) = (kids[0], kids[1], kids[2]);
        let h2 = d.children_elements(eh)[0];
        let (fake_body, h3) = (d.children_elements(w)[0], d.children_elements(w)[1]);
        assert!(shown(&env, None, h1).is_ok());
        assert!(shown(&env, None, h2).is_ok());
        assert!(shown(&env, None, env.body).is_ok());
        assert!(shown(&env, None, d.children_elements(env.body)[0]).is_ok());
        assert!(shown(&env, None, fake_body)
            .unwrap_err()
            .contains("not the message's Body"));
        assert!(shown(&env, None, h3)
            .unwrap_err()
            .contains("nested inside <w>"));
    }

    #[test]
    fn whitespace_modes() {
        let xml = "<a>\n <ds:SignedInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">\n  <b/>\n </ds:SignedInfo>\n <c> x </c>\n</a>";
        let doc = Document::parse(xml.as_bytes()).unwrap();
        let s = normalise_whitespace(&doc, Whitespace::Strip).unwrap();
        assert_eq!(
            String::from_utf8(s).unwrap(),
            "<a><ds:SignedInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><b/></ds:SignedInfo><c> x </c></a>"
        );
        let n = normalise_whitespace(&doc, Whitespace::StripKeepSignedInfoNewlines).unwrap();
        assert_eq!(
            String::from_utf8(n).unwrap(),
            "<a><ds:SignedInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">\n<b/>\n</ds:SignedInfo><c> x </c></a>"
        );
        assert!(
            normalise_whitespace(&Document::parse(b"<a><b/></a>").unwrap(), Whitespace::Strip)
                .is_none()
        );
    }

    #[test]
    fn chunk_line() {
        let long = "A".repeat(64);
        let xml = format!("<e:EncryptedData xmlns:e=\"{XENC}\"><e:CipherData><e:CipherValue>{long}\ne9d\n{long}</e:CipherValue></e:CipherData></e:EncryptedData>");
        let doc = Document::parse(xml.as_bytes()).unwrap();
        assert_eq!(
            chunk_artefact(&doc, doc.root_element().unwrap()).as_deref(),
            Some("e9d")
        );
    }

    #[test]
    fn timestamp_against_capture_time() {
        let xml = format!(
            r#"<o:Security xmlns:o="urn:o" xmlns:u="{WSU}"><u:Timestamp><u:Created>2024-05-01T10:00:00.000Z</u:Created><u:Expires>2024-05-01T10:05:00.000Z</u:Expires></u:Timestamp></o:Security>"#
        );
        let doc = Document::parse(xml.as_bytes()).unwrap();
        let sec = doc.root_element().unwrap();
        let at = |s: &str| Timestamp::parse_xsd_datetime(s);
        let st = |t: Option<Timestamp>, skew| timestamp(&doc, sec, t, skew).unwrap().status;
        assert_eq!(st(at("2024-05-01T10:00:01Z"), 300), CheckStatus::Ok);
        // Created in the future beyond the skew; Expires passed beyond the skew.
        assert_eq!(st(at("2024-05-01T09:54:00Z"), 300), CheckStatus::Error);
        assert_eq!(st(at("2024-05-01T09:56:00Z"), 300), CheckStatus::Ok);
        assert_eq!(st(at("2024-05-01T10:11:00Z"), 300), CheckStatus::Error);
        assert_eq!(st(at("2024-05-01T10:11:00Z"), 600), CheckStatus::Ok);
        let no_time = timestamp(&doc, sec, None, 300).unwrap();
        assert_eq!(no_time.status, CheckStatus::Ok);
        assert!(no_time.detail.contains("not compared"));
        let bad = xml.replace("10:05:00.000Z", "09:00:00.000Z");
        let doc = Document::parse(bad.as_bytes()).unwrap();
        let c = timestamp(&doc, doc.root_element().unwrap(), None, 300).unwrap();
        assert_eq!(c.status, CheckStatus::Error);
        assert!(c.detail.contains("before Created"), "{}", c.detail);
    }

    #[test]
    fn confirmation_logic() {
        let req = vec![vec![1u8, 2], vec![3u8]];
        assert_eq!(
            signature_confirmation(&[Some(vec![1, 2]), Some(vec![3])], Some(&req))
                .unwrap()
                .status,
            CheckStatus::Ok
        );
        assert_eq!(
            signature_confirmation(&[Some(vec![1, 2])], Some(&req))
                .unwrap()
                .status,
            CheckStatus::Error
        );
        assert_eq!(
            signature_confirmation(&[Some(vec![9])], Some(&req))
                .unwrap()
                .status,
            CheckStatus::Error
        );
        assert_eq!(
            signature_confirmation(&[Some(vec![9])], None)
                .unwrap()
                .status,
            CheckStatus::Warning
        );
        assert!(signature_confirmation(&[], Some(&req)).is_none());
    }
}
