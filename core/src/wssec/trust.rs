//! WS-Trust bodies of the SecureConversation exchanges (Feb2005 and 1.3): what an RST asks
//! for (entropy, key size, targets, negotiation payloads) and what an RSTR issues (SCT,
//! proof token, entropy, key size, cancellation). 1.3 responses come wrapped in a
//! `RequestSecurityTokenResponseCollection` (spec sheet §8.7); both forms are read.

use super::ns::{is_sc, is_trust, DSIG, XENC};
use super::tokens::{find_str, parse_sct, parse_str, SecurityContextToken, StrRef};
use crate::xml::{Document, NodeId};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use std::fmt;
use zeroize::Zeroizing;

/// Largest entropy / BinarySecret accepted (WCF caps key sizes at 131072 bits).
const MAX_SECRET: usize = 16 * 1024;

/// What an RST (RequestSecurityToken) says. `Debug` shows secret lengths, never bytes.
#[derive(Clone, Default)]
pub struct Rst {
    pub request_type: Option<String>,
    pub token_type: Option<String>,
    /// Requestor entropy (BinarySecret), decoded.
    pub entropy: Option<Zeroizing<Vec<u8>>>,
    /// Entropy carried in another form (e.g. an EncryptedKey): its element name.
    pub entropy_other: Option<String>,
    pub key_size: Option<u32>,
    /// `BinaryExchange/@ValueType` (TLSNego / SPNEGO negotiation), trimmed.
    pub binary_exchange: Option<String>,
    pub cancel_target: Option<StrRef>,
    pub renew_target: Option<StrRef>,
}

/// The proof token of an RSTR. `Debug` never shows key bytes.
#[derive(Clone)]
pub enum ProofToken {
    /// `ComputedKey` (CK/PSHA1): key = P_SHA1(client entropy, server entropy).
    ComputedKey(String),
    /// `BinarySecret`: the key in clear (inside the encrypted body).
    BinarySecret(Zeroizing<Vec<u8>>),
    /// `xenc:EncryptedKey`: the key wrapped (the element, in the document it was read from).
    EncryptedKey(NodeId),
}

/// What an RSTR (RequestSecurityTokenResponse) says. `Debug` shows secret lengths only.
#[derive(Clone, Default)]
pub struct Rstr {
    pub sct: Option<SecurityContextToken>,
    pub proof: Option<ProofToken>,
    pub entropy: Option<Zeroizing<Vec<u8>>>,
    pub key_size: Option<u32>,
    pub cancelled: bool,
    pub binary_exchange: Option<String>,
    pub token_type: Option<String>,
}

fn secret_len(s: &Option<Zeroizing<Vec<u8>>>) -> String {
    s.as_ref()
        .map(|k| format!("{} bytes", k.len()))
        .unwrap_or_else(|| "none".into())
}

impl fmt::Debug for Rst {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rst")
            .field("request_type", &self.request_type)
            .field("token_type", &self.token_type)
            .field("entropy", &secret_len(&self.entropy))
            .field("entropy_other", &self.entropy_other)
            .field("key_size", &self.key_size)
            .field("binary_exchange", &self.binary_exchange)
            .field("cancel_target", &self.cancel_target)
            .field("renew_target", &self.renew_target)
            .finish()
    }
}

impl fmt::Debug for ProofToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProofToken::ComputedKey(a) => write!(f, "ComputedKey({a})"),
            ProofToken::BinarySecret(k) => write!(f, "BinarySecret({} bytes)", k.len()),
            ProofToken::EncryptedKey(n) => write!(f, "EncryptedKey(node {n})"),
        }
    }
}

impl fmt::Debug for Rstr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rstr")
            .field("sct", &self.sct)
            .field("proof", &self.proof)
            .field("entropy", &secret_len(&self.entropy))
            .field("key_size", &self.key_size)
            .field("cancelled", &self.cancelled)
            .field("binary_exchange", &self.binary_exchange)
            .field("token_type", &self.token_type)
            .finish()
    }
}

fn trust_child(doc: &Document, node: NodeId, local: &str) -> Option<NodeId> {
    doc.children_elements(node).into_iter().find(|&c| {
        doc.element(c)
            .is_some_and(|e| e.name.local == local && is_trust(e.name.ns.as_deref()))
    })
}

fn trust_text(doc: &Document, node: NodeId, local: &str) -> Option<String> {
    trust_child(doc, node, local).map(|c| doc.text_content(c).trim().to_string())
}

fn decode_secret(doc: &Document, node: NodeId, what: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    let text: String = doc
        .text_content(node)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let bytes = Zeroizing::new(
        STANDARD
            .decode(text.as_bytes())
            .map_err(|e| format!("{what} is not base64 ({e})"))?,
    );
    if bytes.is_empty() || bytes.len() > MAX_SECRET {
        return Err(format!(
            "{what} has {} bytes (expected 1..={MAX_SECRET})",
            bytes.len()
        ));
    }
    Ok(bytes)
}

/// Entropy bytes (BinarySecret), or the name of what else the Entropy element holds.
type Entropy = (Option<Zeroizing<Vec<u8>>>, Option<String>);

/// Entropy/BinarySecret, or the name of what else the Entropy holds.
fn read_entropy(doc: &Document, node: NodeId) -> Result<Entropy, String> {
    let Some(ent) = trust_child(doc, node, "Entropy") else {
        return Ok((None, None));
    };
    if let Some(bs) = trust_child(doc, ent, "BinarySecret") {
        return Ok((Some(decode_secret(doc, bs, "Entropy/BinarySecret")?), None));
    }
    let other = doc
        .children_elements(ent)
        .into_iter()
        .next()
        .and_then(|c| doc.element(c))
        .map(|e| e.name.qualified());
    Ok((None, other))
}

fn key_size(doc: &Document, node: NodeId) -> Result<Option<u32>, String> {
    trust_text(doc, node, "KeySize")
        .map(|s| {
            s.parse::<u32>()
                .map_err(|_| format!("KeySize '{s}' is not a number"))
        })
        .transpose()
}

fn target(doc: &Document, node: NodeId, local: &str) -> Result<Option<StrRef>, String> {
    let Some(t) = trust_child(doc, node, local) else {
        return Ok(None);
    };
    let s = find_str(doc, t).ok_or_else(|| format!("{local} has no SecurityTokenReference"))?;
    parse_str(doc, s)
        .map(Some)
        .map_err(|e| format!("{local}: {e}"))
}

fn binary_exchange(doc: &Document, node: NodeId) -> Option<String> {
    trust_child(doc, node, "BinaryExchange").map(|b| {
        doc.attribute(b, None, "ValueType")
            .unwrap_or("")
            .trim()
            .to_string()
    })
}

/// Reads the RST in `body` (its first child), if there is one.
pub fn read_rst(doc: &Document, body: NodeId) -> Result<Option<Rst>, String> {
    let Some(rst) = trust_child(doc, body, "RequestSecurityToken") else {
        return Ok(None);
    };
    let (entropy, entropy_other) = read_entropy(doc, rst)?;
    Ok(Some(Rst {
        request_type: trust_text(doc, rst, "RequestType"),
        token_type: trust_text(doc, rst, "TokenType"),
        entropy,
        entropy_other,
        key_size: key_size(doc, rst)?,
        binary_exchange: binary_exchange(doc, rst),
        cancel_target: target(doc, rst, "CancelTarget")?,
        renew_target: target(doc, rst, "RenewTarget")?,
    }))
}

/// Reads the RSTR in `body` (directly, or the first one carrying a token inside an RSTRC).
pub fn read_rstr(doc: &Document, body: NodeId) -> Result<Option<Rstr>, String> {
    let candidates: Vec<NodeId> = if let Some(rstr) =
        trust_child(doc, body, "RequestSecurityTokenResponse")
    {
        vec![rstr]
    } else if let Some(coll) = trust_child(doc, body, "RequestSecurityTokenResponseCollection") {
        doc.children_elements(coll)
            .into_iter()
            .filter(|&c| {
                doc.element(c).is_some_and(|e| {
                    e.name.local == "RequestSecurityTokenResponse" && is_trust(e.name.ns.as_deref())
                })
            })
            .collect()
    } else {
        return Ok(None);
    };
    let Some(&first) = candidates.first() else {
        return Ok(None);
    };
    let chosen = candidates
        .iter()
        .copied()
        .find(|&r| trust_child(doc, r, "RequestedSecurityToken").is_some())
        .unwrap_or(first);
    let mut out = Rstr {
        key_size: key_size(doc, chosen)?,
        cancelled: candidates
            .iter()
            .any(|&r| trust_child(doc, r, "RequestedTokenCancelled").is_some()),
        binary_exchange: candidates.iter().find_map(|&r| binary_exchange(doc, r)),
        token_type: trust_text(doc, chosen, "TokenType"),
        ..Rstr::default()
    };
    if let Some(rst) = trust_child(doc, chosen, "RequestedSecurityToken") {
        if let Some(sct) = doc.children_elements(rst).into_iter().find(|&c| {
            doc.element(c).is_some_and(|e| {
                e.name.local == "SecurityContextToken" && is_sc(e.name.ns.as_deref())
            })
        }) {
            out.sct = Some(parse_sct(doc, sct)?);
        }
    }
    out.entropy = read_entropy(doc, chosen)?.0;
    if let Some(proof) = trust_child(doc, chosen, "RequestedProofToken") {
        if let Some(ck) = trust_text(doc, proof, "ComputedKey") {
            out.proof = Some(ProofToken::ComputedKey(ck));
        } else if let Some(bs) = trust_child(doc, proof, "BinarySecret") {
            out.proof = Some(ProofToken::BinarySecret(decode_secret(
                doc,
                bs,
                "RequestedProofToken/BinarySecret",
            )?));
        } else if let Some(ek) = doc.find_child(proof, Some(XENC), "EncryptedKey") {
            out.proof = Some(ProofToken::EncryptedKey(ek));
        }
    }
    Ok(Some(out))
}

/// The EncryptionMethod Algorithm of an EncryptedKey (for TLS_Wrap / GSS_Wrap detection).
pub fn encrypted_key_method(doc: &Document, ek: NodeId) -> Option<String> {
    doc.find_child(ek, Some(XENC), "EncryptionMethod")
        .and_then(|m| doc.attribute(m, None, "Algorithm"))
        .map(|a| a.trim().to_string())
}

/// Whether an EncryptedKey has a KeyInfo (negotiation-wrapped proof keys have none).
pub fn has_key_info(doc: &Document, ek: NodeId) -> bool {
    doc.find_child(ek, Some(DSIG), "KeyInfo").is_some()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rstr_collection_1_3() {
        let xml = r#"<b><trust:RequestSecurityTokenResponseCollection xmlns:trust="http://docs.oasis-open.org/ws-sx/ws-trust/200512" xmlns:sc="http://docs.oasis-open.org/ws-sx/ws-secureconversation/200512"><trust:RequestSecurityTokenResponse><trust:TokenType>x</trust:TokenType><trust:RequestedSecurityToken><sc:SecurityContextToken><sc:Identifier>urn:uuid:1</sc:Identifier></sc:SecurityContextToken></trust:RequestedSecurityToken><trust:RequestedProofToken><trust:ComputedKey>http://docs.oasis-open.org/ws-sx/ws-trust/200512/CK/PSHA1</trust:ComputedKey></trust:RequestedProofToken><trust:Entropy><trust:BinarySecret>AAEC</trust:BinarySecret></trust:Entropy><trust:KeySize>256</trust:KeySize></trust:RequestSecurityTokenResponse></trust:RequestSecurityTokenResponseCollection></b>"#;
        let doc = Document::parse(xml.as_bytes()).unwrap();
        let r = read_rstr(&doc, doc.root_element().unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(r.sct.as_ref().unwrap().identifier, "urn:uuid:1");
        assert!(matches!(r.proof, Some(ProofToken::ComputedKey(ref u)) if u.ends_with("CK/PSHA1")));
        assert_eq!(r.entropy.as_ref().unwrap().as_slice(), &[0, 1, 2]);
        assert_eq!(r.key_size, Some(256));
        assert!(!r.cancelled);
        let dbg = format!("{r:?}");
        assert!(
            dbg.contains("3 bytes") && !dbg.contains("[0, 1, 2]"),
            "{dbg}"
        );
    }
}
