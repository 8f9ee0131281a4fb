//! The WS-Security token model read from the tree: SecurityTokenReference (what it points
//! at), DerivedKeyToken (and the P_SHA1 derivation it asks for) and SecurityContextToken.
//!
//! Parsing only: nothing here holds keys. The session stage resolves references against
//! the message's tokens and its cross-message registries.

use super::ns::{self, is_sc, DEFAULT_DKT_LABEL, DSIG, WSSE, WSU};
use super::psha1::p_sha1;
use crate::xml::{Document, NodeId};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use zeroize::Zeroizing;

/// Largest DerivedKeyToken Length / Offset accepted (WCF only derives 16–32 bytes).
const MAX_DKT_BYTES: u64 = 1024;
/// Largest Nonce / Label accepted.
const MAX_NONCE: usize = 1024;

/// What a `wsse:SecurityTokenReference` points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrRef {
    /// `Reference URI="#id"`: a token in this message.
    Local {
        id: String,
        value_type: Option<String>,
    },
    /// `Reference URI="urn:uuid:…"` (or any non-local URI): an SCT by Identifier, with the
    /// optional SC `Instance` attribute (key generation).
    External {
        uri: String,
        instance: Option<String>,
        value_type: Option<String>,
    },
    /// `KeyIdentifier` with its ValueType and decoded value.
    KeyIdentifier { value_type: String, value: Vec<u8> },
    /// `ds:X509Data/ds:X509IssuerSerial`.
    IssuerSerial { issuer: String, serial: String },
    /// `wsse:Embedded` token: the embedded element.
    Embedded(NodeId),
}

impl StrRef {
    /// How the reference reads in reports ("#id", "urn:uuid:…", "ThumbprintSHA1:…").
    pub fn describe(&self) -> String {
        match self {
            StrRef::Local { id, .. } => format!("#{id}"),
            StrRef::External {
                uri,
                instance: Some(i),
                ..
            } => format!("{uri} (instance {i})"),
            StrRef::External { uri, .. } => uri.clone(),
            StrRef::KeyIdentifier { value_type, value } => {
                format!(
                    "{}:{}",
                    value_type.rsplit('#').next().unwrap_or(value_type),
                    STANDARD.encode(value)
                )
            }
            StrRef::IssuerSerial { issuer, serial } => format!("IssuerSerial:{issuer}/{serial}"),
            StrRef::Embedded(_) => "embedded token".into(),
        }
    }
}

/// The first `wsse:SecurityTokenReference` child of `parent` (a KeyInfo or a DKT).
pub fn find_str(doc: &Document, parent: NodeId) -> Option<NodeId> {
    doc.find_child(parent, Some(WSSE), "SecurityTokenReference")
}

/// Reads a SecurityTokenReference element.
pub fn parse_str(doc: &Document, str_node: NodeId) -> Result<StrRef, String> {
    let Some(target) = doc.children_elements(str_node).into_iter().next() else {
        return Err("SecurityTokenReference is empty".into());
    };
    let el = doc
        .element(target)
        .ok_or("SecurityTokenReference child is not an element")?;
    let attr = |n: &str| doc.attribute(target, None, n).map(|v| v.trim().to_string());
    match (el.name.ns.as_deref(), el.name.local.as_str()) {
        (Some(WSSE), "Reference") => {
            let uri = attr("URI").ok_or("wsse:Reference without URI")?;
            let value_type = attr("ValueType");
            if let Some(id) = uri.strip_prefix('#') {
                Ok(StrRef::Local {
                    id: id.to_string(),
                    value_type,
                })
            } else {
                let instance = el
                    .attributes
                    .iter()
                    .find(|a| a.name.local == "Instance" && is_sc(a.name.ns.as_deref()))
                    .map(|a| a.value.trim().to_string());
                Ok(StrRef::External {
                    uri,
                    instance,
                    value_type,
                })
            }
        }
        (Some(WSSE), "KeyIdentifier") => {
            let value_type = attr("ValueType").unwrap_or_default();
            let encoding = attr("EncodingType").unwrap_or_default();
            let text = doc.text_content(target);
            let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            let value = if encoding.is_empty() || encoding.ends_with("#Base64Binary") {
                STANDARD
                    .decode(compact.as_bytes())
                    .map_err(|e| format!("KeyIdentifier {value_type}: value is not base64 ({e})"))?
            } else {
                return Err(format!(
                    "KeyIdentifier EncodingType {encoding} is not supported (only Base64Binary)"
                ));
            };
            Ok(StrRef::KeyIdentifier { value_type, value })
        }
        (Some(DSIG), "X509Data") => {
            let is = doc
                .find_child(target, Some(DSIG), "X509IssuerSerial")
                .ok_or(
                "ds:X509Data without X509IssuerSerial is not supported in a SecurityTokenReference",
            )?;
            let issuer = doc
                .find_child(is, Some(DSIG), "X509IssuerName")
                .map(|n| doc.text_content(n).trim().to_string())
                .ok_or("X509IssuerSerial without X509IssuerName")?;
            let serial = doc
                .find_child(is, Some(DSIG), "X509SerialNumber")
                .map(|n| doc.text_content(n).trim().to_string())
                .ok_or("X509IssuerSerial without X509SerialNumber")?;
            Ok(StrRef::IssuerSerial { issuer, serial })
        }
        (Some(WSSE), "Embedded") => doc
            .children_elements(target)
            .into_iter()
            .next()
            .map(StrRef::Embedded)
            .ok_or_else(|| "wsse:Embedded is empty".into()),
        _ => Err(format!(
            "SecurityTokenReference child <{}> is not supported",
            el.name.qualified()
        )),
    }
}

/// A `DerivedKeyToken` (either WS-SC namespace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedKeyToken {
    pub node: NodeId,
    pub id: Option<String>,
    pub base: StrRef,
    /// Label as written; None → the default label.
    pub label: Option<String>,
    pub nonce: Vec<u8>,
    pub offset: Option<u64>,
    pub generation: Option<u64>,
    /// Length as written; None → 32.
    pub length: Option<u64>,
    pub algorithm: Option<String>,
}

impl DerivedKeyToken {
    /// Start position and length in bytes (spec sheet §5.2: Offset, else Generation × Length,
    /// else 0; Length default 32).
    pub fn position(&self) -> Result<(usize, usize), String> {
        let length = self.length.unwrap_or(32);
        if length == 0 || length > MAX_DKT_BYTES {
            return Err(format!(
                "DerivedKeyToken Length {length} is out of range (1..={MAX_DKT_BYTES})"
            ));
        }
        let offset = match (self.offset, self.generation) {
            (Some(o), _) => o,
            (None, Some(g)) => g
                .checked_mul(length)
                .ok_or("DerivedKeyToken Generation × Length overflows")?,
            (None, None) => 0,
        };
        if offset > MAX_DKT_BYTES * 32 {
            return Err(format!("DerivedKeyToken Offset {offset} is out of range"));
        }
        Ok((offset as usize, length as usize))
    }

    /// The seed: label bytes ‖ nonce.
    fn seed(&self) -> Vec<u8> {
        let mut seed = match &self.label {
            Some(l) => l.as_bytes().to_vec(),
            None => DEFAULT_DKT_LABEL.to_vec(),
        };
        seed.extend_from_slice(&self.nonce);
        seed
    }

    /// P_SHA1(secret = base key, seed = label ‖ nonce) at the token's position.
    pub fn derive(&self, base_key: &[u8]) -> Result<Zeroizing<Vec<u8>>, String> {
        if let Some(alg) = &self.algorithm {
            if !alg.ends_with("/dk/p_sha1") {
                return Err(format!(
                    "DerivedKeyToken Algorithm {alg} is not supported (only P_SHA1)"
                ));
            }
        }
        let (offset, length) = self.position()?;
        p_sha1(base_key, &self.seed(), offset, length)
    }
}

fn sc_child_text(doc: &Document, node: NodeId, local: &str) -> Option<String> {
    doc.children_elements(node)
        .into_iter()
        .find(|&c| {
            doc.element(c)
                .is_some_and(|e| e.name.local == local && is_sc(e.name.ns.as_deref()))
        })
        .map(|c| doc.text_content(c).trim().to_string())
}

fn parse_u64(what: &str, v: Option<String>) -> Result<Option<u64>, String> {
    v.map(|s| {
        s.parse::<u64>()
            .map_err(|_| format!("DerivedKeyToken {what} '{s}' is not a number"))
    })
    .transpose()
}

/// The wsu:Id (or plain Id) of an element.
pub fn wsu_id(doc: &Document, node: NodeId) -> Option<String> {
    doc.attribute(node, Some(WSU), "Id")
        .or_else(|| doc.attribute(node, None, "Id"))
        .map(str::to_string)
}

/// Reads a DerivedKeyToken element.
pub fn parse_dkt(doc: &Document, node: NodeId) -> Result<DerivedKeyToken, String> {
    let id = wsu_id(doc, node);
    let name = id
        .as_deref()
        .map(|i| format!("DerivedKeyToken #{i}"))
        .unwrap_or_else(|| "DerivedKeyToken".into());
    let str_node =
        find_str(doc, node).ok_or_else(|| format!("{name} has no SecurityTokenReference"))?;
    let base = parse_str(doc, str_node).map_err(|e| format!("{name}: {e}"))?;
    let nonce_text =
        sc_child_text(doc, node, "Nonce").ok_or_else(|| format!("{name} has no Nonce"))?;
    let compact: String = nonce_text.chars().filter(|c| !c.is_whitespace()).collect();
    let nonce = STANDARD
        .decode(compact.as_bytes())
        .map_err(|e| format!("{name}: Nonce is not base64 ({e})"))?;
    if nonce.len() > MAX_NONCE {
        return Err(format!(
            "{name}: Nonce of {} bytes is too long",
            nonce.len()
        ));
    }
    let properties_label = doc
        .children_elements(node)
        .into_iter()
        .find(|&c| {
            doc.element(c)
                .is_some_and(|e| e.name.local == "Properties" && is_sc(e.name.ns.as_deref()))
        })
        .and_then(|p| sc_child_text(doc, p, "Label"));
    let label = sc_child_text(doc, node, "Label").or(properties_label);
    if label.as_ref().is_some_and(|l| l.len() > MAX_NONCE) {
        return Err(format!("{name}: Label is too long"));
    }
    let dkt = DerivedKeyToken {
        node,
        id,
        base,
        label,
        nonce,
        offset: parse_u64("Offset", sc_child_text(doc, node, "Offset"))
            .map_err(|e| format!("{name}: {e}"))?,
        generation: parse_u64("Generation", sc_child_text(doc, node, "Generation"))
            .map_err(|e| format!("{name}: {e}"))?,
        length: parse_u64("Length", sc_child_text(doc, node, "Length"))
            .map_err(|e| format!("{name}: {e}"))?,
        algorithm: doc
            .attribute(node, None, "Algorithm")
            .map(|a| a.trim().to_string()),
    };
    dkt.position().map_err(|e| format!("{name}: {e}"))?;
    Ok(dkt)
}

/// A SecurityContextToken as carried in a message (never with key material in session mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityContextToken {
    pub node: NodeId,
    pub id: Option<String>,
    pub identifier: String,
    pub instance: Option<String>,
    /// Cookie mode: the token carries a `dnse:Cookie` (DPAPI-protected state, spec sheet §12).
    pub cookie: bool,
    /// The SC namespace it was written in.
    pub sc_ns: String,
}

/// Reads a SecurityContextToken element.
pub fn parse_sct(doc: &Document, node: NodeId) -> Result<SecurityContextToken, String> {
    let el = doc.element(node).ok_or("not an element")?;
    let identifier = sc_child_text(doc, node, "Identifier")
        .filter(|i| !i.is_empty())
        .ok_or("SecurityContextToken without Identifier")?;
    Ok(SecurityContextToken {
        node,
        id: wsu_id(doc, node),
        identifier,
        instance: sc_child_text(doc, node, "Instance").filter(|i| !i.is_empty()),
        cookie: doc.find_child(node, Some(ns::DNSE), "Cookie").is_some(),
        sc_ns: el.name.ns.as_deref().unwrap_or_default().to_owned(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const DKT: &str = r##"<c:DerivedKeyToken xmlns:c="http://schemas.xmlsoap.org/ws/2005/02/sc" xmlns:u="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd" xmlns:o="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" u:Id="d1"><o:SecurityTokenReference><o:Reference URI="urn:uuid:abc" c:Instance="urn:uuid:i2" ValueType="http://schemas.xmlsoap.org/ws/2005/02/sc/sct"/></o:SecurityTokenReference><c:Offset>0</c:Offset><c:Length>24</c:Length><c:Nonce>aodds8qECZCZJepNDkSK8A==</c:Nonce></c:DerivedKeyToken>"##;

    #[test]
    fn dkt_parse_and_derive() {
        let doc = Document::parse(DKT.as_bytes()).unwrap();
        let root = doc.root_element().unwrap();
        let d = parse_dkt(&doc, root).unwrap();
        assert_eq!(d.id.as_deref(), Some("d1"));
        assert_eq!(
            d.base,
            StrRef::External {
                uri: "urn:uuid:abc".into(),
                instance: Some("urn:uuid:i2".into()),
                value_type: Some("http://schemas.xmlsoap.org/ws/2005/02/sc/sct".into())
            }
        );
        assert_eq!(d.position().unwrap(), (0, 24));
        let key = STANDARD
            .decode("H/N/QJpAIzvX652dTmpSKfx5jvchdVlWNaSPiPkNuP8=")
            .unwrap();
        assert_eq!(
            STANDARD.encode(d.derive(&key).unwrap()),
            "HvD4Am1A5OMSPygSU0Rvxse4T2fnJmEe"
        );
    }

    #[test]
    fn generation_and_label() {
        let xml = DKT.replace(
            "<c:Offset>0</c:Offset>",
            "<c:Generation>2</c:Generation><c:Label>L</c:Label>",
        );
        let doc = Document::parse(xml.as_bytes()).unwrap();
        let d = parse_dkt(&doc, doc.root_element().unwrap()).unwrap();
        assert_eq!(d.position().unwrap(), (48, 24));
        let key = [7u8; 16];
        let mut seed = b"L".to_vec();
        seed.extend_from_slice(&d.nonce);
        assert_eq!(
            *d.derive(&key).unwrap(),
            *p_sha1(&key, &seed, 48, 24).unwrap()
        );
        let bad = DKT.replace("<c:Length>24</c:Length>", "<c:Length>999999999</c:Length>");
        let doc = Document::parse(bad.as_bytes()).unwrap();
        assert!(parse_dkt(&doc, doc.root_element().unwrap())
            .unwrap_err()
            .contains("out of range"));
    }

    #[test]
    fn key_identifier_and_local() {
        let xml = r##"<o:SecurityTokenReference xmlns:o="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><o:KeyIdentifier ValueType="http://docs.oasis-open.org/wss/oasis-wss-soap-message-security-1.1#ThumbprintSHA1">HYL371NzoOs2+IA24VDkBGcUFQM=</o:KeyIdentifier></o:SecurityTokenReference>"##;
        let doc = Document::parse(xml.as_bytes()).unwrap();
        let r = parse_str(&doc, doc.root_element().unwrap()).unwrap();
        assert!(matches!(&r, StrRef::KeyIdentifier { value, .. } if value.len() == 20));
        assert!(r.describe().starts_with("ThumbprintSHA1:"));
        let xml = r##"<o:SecurityTokenReference xmlns:o="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><o:Reference URI="#x"/></o:SecurityTokenReference>"##;
        let doc = Document::parse(xml.as_bytes()).unwrap();
        assert_eq!(
            parse_str(&doc, doc.root_element().unwrap())
                .unwrap()
                .describe(),
            "#x"
        );
    }
}
