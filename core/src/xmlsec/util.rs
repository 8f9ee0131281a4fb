//! Small tree helpers shared by the signature and encryption engines: element naming for
//! messages, same-document ID lookup with duplicate detection, strict base64.

use std::collections::HashMap;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

use crate::xml::{Document, NodeId, NodeKind};

const WSU_NS: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
/// SAML 1.x assertions carry their ID in `AssertionID` (SAML 1.1 §2.3.2).
const SAML1_NS: &str = "urn:oasis:names:tc:SAML:1.0:assertion";

/// Qualified name of an element as written ("" for non-elements).
pub fn qname(doc: &Document, id: NodeId) -> String {
    doc.element(id)
        .map(|e| e.name.qualified())
        .unwrap_or_default()
}

/// `<prefix:Local Id="…">` style description of an element for messages.
pub fn describe(doc: &Document, id: NodeId) -> String {
    let Some(e) = doc.element(id) else {
        return format!("node {id}");
    };
    let ident = e
        .attributes
        .iter()
        .find(|a| is_id_attribute(a.name.ns.as_deref(), &a.name.local))
        .map(|a| format!(" {}=\"{}\"", a.name.qualified(), a.value))
        .unwrap_or_default();
    format!("<{}{ident}>", e.name.qualified())
}

/// Element children of `id` named `{ns}local`, in document order.
pub fn children_named(doc: &Document, id: NodeId, ns: &str, local: &str) -> Vec<NodeId> {
    doc.children_elements(id)
        .into_iter()
        .filter(|&c| doc.element(c).is_some_and(|e| e.name.is(Some(ns), local)))
        .collect()
}

/// Whether `id` is the element `{ns}local`.
pub fn is_element(doc: &Document, id: NodeId, ns: &str, local: &str) -> bool {
    doc.element(id).is_some_and(|e| e.name.is(Some(ns), local))
}

/// Every element `{ns}local` in the document, in document order.
pub fn all_elements_named(doc: &Document, ns: &str, local: &str) -> Vec<NodeId> {
    (0..doc.nodes.len())
        .filter(|&i| is_element(doc, i, ns, local))
        .collect()
}

/// The trimmed text content of an element.
pub fn text(doc: &Document, id: NodeId) -> String {
    doc.text_content(id).trim().to_string()
}

/// The attributes that identify an element for same-document references: `wsu:Id`,
/// `xml:id`, and unqualified `Id` / `ID` (XML Signature §4.3.3.3 leaves ID-ness to the
/// application; these are the ones WS-Security, XML Signature and XML Encryption use).
fn is_id_attribute(ns: Option<&str>, local: &str) -> bool {
    match ns {
        None => local == "Id" || local == "ID",
        Some(WSU_NS) => local == "Id",
        Some(XML_NS) => local == "id",
        Some(_) => false,
    }
}

/// ID value → every element carrying it (plus `AssertionID` on SAML 1.x assertions). Built
/// once per document; lookups report values that appear on more than one element (the
/// signature-wrapping set-up) instead of picking one.
pub struct IdIndex {
    map: HashMap<String, Vec<NodeId>>,
}

impl IdIndex {
    pub fn build(doc: &Document) -> Self {
        let mut map: HashMap<String, Vec<NodeId>> = HashMap::new();
        for (i, n) in doc.nodes.iter().enumerate() {
            let NodeKind::Element(e) = &n.kind else {
                continue;
            };
            let saml1 = e.name.is(Some(SAML1_NS), "Assertion");
            for a in &e.attributes {
                let saml_id = saml1 && a.name.ns.is_none() && a.name.local == "AssertionID";
                if saml_id || is_id_attribute(a.name.ns.as_deref(), &a.name.local) {
                    let v = map.entry(a.value.clone()).or_default();
                    if !v.contains(&i) {
                        v.push(i);
                    }
                }
            }
        }
        IdIndex { map }
    }

    /// The single element with this ID; an error naming the elements when there are several.
    pub fn get(&self, doc: &Document, id: &str) -> Result<Option<NodeId>, String> {
        match self.map.get(id).map(Vec::as_slice) {
            None | Some([]) => Ok(None),
            Some([one]) => Ok(Some(*one)),
            Some(many) => Err(format!(
                "ID '{id}' is carried by {} elements ({}): ambiguous, refusing (signature wrapping?)",
                many.len(),
                many.iter().map(|&n| qname(doc, n)).collect::<Vec<_>>().join(", ")
            )),
        }
    }
}

/// Base64 as XML Signature/Encryption carry it: whitespace (space, tab, CR, LF) anywhere is
/// ignored, padding is optional; anything else that is not base64 is an error naming the
/// offending character and where it is.
pub fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let compact: Vec<u8> = text
        .bytes()
        .filter(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .collect();
    if let Some((pos, &b)) = compact
        .iter()
        .enumerate()
        .find(|(_, &b)| !(b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='))
    {
        return Err(format!(
            "not valid base64: character {:?} at position {pos} (whitespace removed)",
            char::from(b)
        ));
    }
    ENGINE
        .decode(&compact)
        .map_err(|e| format!("not valid base64: {e}"))
}

/// Lower-case hex, for messages and reports.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Standard base64 (with padding), for messages and reports.
pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn base64_ignores_whitespace_only() {
        assert_eq!(decode_base64(" YWJj\r\n ZGVm\t").unwrap(), b"abcdef");
        assert_eq!(decode_base64("YWJjZA").unwrap(), b"abcd");
        let e = decode_base64("YWJj\ne9d-\nZGVm").unwrap_err();
        assert!(e.contains("'-'"), "{e}");
        assert!(decode_base64("YWJjZ").is_err());
    }
}
