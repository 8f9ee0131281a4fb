//! `--redact-keys` for the XML the security stage puts into the report: the content of every
//! element that carries key material or a password in clear is replaced by `****`.
//!
//! Which elements: `BinarySecret` (WS-Trust Entropy and RequestedProofToken — the two
//! entropies of a CK/PSHA1 exchange give the SCT key by one P_SHA1, a proof-token
//! BinarySecret *is* the key) and `Password` (UsernameToken). Matching is by local name in any
//! namespace, so both WS-Trust versions and hand-made prefixes are covered. The work is done
//! on the parsed tree's byte spans, not by searching text, so CDATA, attributes and odd
//! spacing cannot hide an element from it.

use std::ops::Range;

use crate::xml::{Document, NodeKind};

/// Local names whose element content is secret.
const SECRET_ELEMENTS: [&str; 2] = ["BinarySecret", "Password"];

/// The bytes of `doc.source[range]` with the content of every secret element inside the
/// range replaced by `****` (lossy UTF-8, as the report holds text).
pub fn redacted(doc: &Document, range: Range<usize>) -> String {
    let Some(src) = doc.source.get(range.clone()) else {
        return String::new();
    };
    // Outermost secret content spans inside the range, in source order.
    let mut cuts: Vec<Range<usize>> = doc
        .nodes
        .iter()
        .filter_map(|n| match &n.kind {
            NodeKind::Element(e) if SECRET_ELEMENTS.contains(&e.name.local.as_str()) => {
                Some(e.content_span.clone())
            }
            _ => None,
        })
        .filter(|c| !c.is_empty() && c.start >= range.start && c.end <= range.end)
        .collect();
    cuts.sort_by_key(|c| c.start);
    let mut out = Vec::with_capacity(src.len());
    let mut pos = range.start;
    for c in cuts {
        if c.start < pos {
            continue; // nested inside a span already cut
        }
        out.extend_from_slice(doc.source.get(pos..c.start).unwrap_or_default());
        out.extend_from_slice(b"****");
        pos = c.end;
    }
    out.extend_from_slice(doc.source.get(pos..range.end).unwrap_or_default());
    String::from_utf8_lossy(&out).into_owned()
}

/// The inner XML of element `id` (the Body, typically), redacted.
pub fn redacted_inner(doc: &Document, id: crate::xml::NodeId) -> String {
    match doc.element(id) {
        Some(e) => redacted(doc, e.content_span.clone()),
        None => String::new(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn masks_binary_secrets_and_passwords_only() {
        let xml = br#"<r><t:Entropy xmlns:t="urn:t"><t:BinarySecret Type="n">c2VjcmV0</t:BinarySecret></t:Entropy><o:Password xmlns:o="urn:o"><![CDATA[hunter2]]></o:Password><BinarySecret/><n>keep</n></r>"#;
        let doc = Document::parse(xml).unwrap();
        let root = doc.root_element().unwrap();
        let s = redacted_inner(&doc, root);
        assert!(!s.contains("c2VjcmV0") && !s.contains("hunter2"), "{s}");
        assert!(
            s.contains(r#"<t:BinarySecret Type="n">****</t:BinarySecret>"#),
            "{s}"
        );
        assert!(
            s.contains("<o:Password xmlns:o=\"urn:o\">****</o:Password>"),
            "{s}"
        );
        assert!(s.contains("<BinarySecret/><n>keep</n>"), "{s}");
        // The whole document: same masking, the rest byte for byte.
        let all = redacted(&doc, 0..doc.source.len());
        assert!(all.starts_with("<r><t:Entropy") && all.ends_with("</r>"));
        assert!(!all.contains("hunter2"));
    }
}
