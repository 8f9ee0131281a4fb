//! What a security header carries in clear: tokens, derived-key tokens and signatures,
//! listed in document order without any verdict (report contract: "until the security
//! stage exists, report what is present without judging it").

use super::ns::{is_sc, DSIG, WSSE, WSU, XENC};
use crate::model::{
    DerivedKeyInfo, ReferenceInfo, SecurityInfo, SignatureInfo, SignatureRole, SignatureVerdict,
    TokenInfo,
};
use crate::soap::{child_elements, descendants, element, is, text, Envelope};
use crate::xml::{Document, NodeId};

/// Lists the tokens, derived keys and signatures present in the message's first
/// wsse:Security header (signatures found anywhere in the envelope are listed too).
pub fn inventory(env: &Envelope) -> SecurityInfo {
    let mut info = SecurityInfo::default();
    let doc = &env.doc;
    if let Some(sec) = env.security_header() {
        for item in child_elements(doc, sec) {
            let Some(el) = element(doc, item) else {
                continue;
            };
            let ns = el.name.ns.as_deref();
            let local = el.name.local.as_str();
            let id = wsu_id(doc, item);
            match (ns, local) {
                (Some(WSSE), "BinarySecurityToken") => info.tokens.push(TokenInfo {
                    id,
                    token_type: bst_type(doc, item),
                    reference: None,
                }),
                (Some(WSSE), "UsernameToken") => {
                    let user = child_elements(doc, item)
                        .find(|&c| is(doc, c, WSSE, "Username"))
                        .map(|c| text(doc, c).trim().to_string());
                    info.tokens.push(TokenInfo {
                        id,
                        token_type: "username".into(),
                        reference: user,
                    })
                }
                (Some(XENC), "EncryptedKey") => info.tokens.push(TokenInfo {
                    id: attr(doc, item, None, "Id").or(id),
                    token_type: "encrypted-key".into(),
                    reference: first_str_reference(doc, item),
                }),
                (ns, "SecurityContextToken") if is_sc(ns) => info.tokens.push(TokenInfo {
                    id,
                    token_type: "sct".into(),
                    reference: child_elements(doc, item)
                        .find(|&c| element(doc, c).is_some_and(|e| e.name.local == "Identifier"))
                        .map(|c| text(doc, c).trim().to_string()),
                }),
                (ns, "DerivedKeyToken") if is_sc(ns) => {
                    info.derived_keys.push(derived_key(doc, item, id))
                }
                _ => {}
            }
        }
    }
    let mut first_signature = true;
    for node in descendants(doc, env.envelope) {
        if is(doc, node, DSIG, "Signature") {
            let role = if first_signature {
                SignatureRole::Primary
            } else {
                SignatureRole::Endorsing
            };
            first_signature = false;
            info.signatures.push(signature(doc, node, role));
        }
    }
    info
}

/// SCT Identifiers this message refers to in clear: SecurityContextToken Identifiers
/// (header or Body, e.g. RequestedSecurityToken) and SecurityTokenReferences to an SCT by
/// `urn:uuid:` or another non-local URI. In document order, without duplicates.
pub fn sct_references(env: &Envelope) -> Vec<String> {
    let doc = &env.doc;
    let mut out: Vec<String> = Vec::new();
    let mut push = |s: String| {
        if !s.is_empty() && !out.contains(&s) {
            out.push(s)
        }
    };
    for node in descendants(doc, env.envelope) {
        let Some(el) = element(doc, node) else {
            continue;
        };
        if el.name.local == "SecurityContextToken" && is_sc(el.name.ns.as_deref()) {
            if let Some(i) = child_elements(doc, node)
                .find(|&c| element(doc, c).is_some_and(|e| e.name.local == "Identifier"))
            {
                push(text(doc, i).trim().to_string());
            }
        } else if el.name.local == "Reference" && el.name.ns.as_deref() == Some(WSSE) {
            let uri = attr(doc, node, None, "URI").unwrap_or_default();
            let value_type = attr(doc, node, None, "ValueType").unwrap_or_default();
            if !uri.starts_with('#')
                && (value_type.ends_with("/sct") || uri.starts_with("urn:uuid:"))
            {
                push(uri);
            }
        }
    }
    out
}

fn derived_key(doc: &Document, dkt: NodeId, id: Option<String>) -> DerivedKeyInfo {
    let child_text = |local: &str| {
        child_elements(doc, dkt)
            .find(|&c| {
                element(doc, c)
                    .is_some_and(|e| e.name.local == local && is_sc(e.name.ns.as_deref()))
            })
            .map(|c| text(doc, c).trim().to_string())
    };
    let properties_label = || {
        child_elements(doc, dkt)
            .find(|&c| element(doc, c).is_some_and(|e| e.name.local == "Properties"))
            .and_then(|p| {
                child_elements(doc, p)
                    .find(|&c| element(doc, c).is_some_and(|e| e.name.local == "Label"))
                    .map(|c| text(doc, c).trim().to_string())
            })
    };
    DerivedKeyInfo {
        id,
        base: first_str_reference(doc, dkt),
        label: child_text("Label").or_else(properties_label),
        nonce: child_text("Nonce"),
        offset: child_text("Offset").and_then(|v| v.parse().ok()),
        length: child_text("Length").and_then(|v| v.parse().ok()),
        usage: None,
    }
}

fn signature(doc: &Document, sig: NodeId, role: SignatureRole) -> SignatureInfo {
    let signed_info = child_elements(doc, sig).find(|&c| is(doc, c, DSIG, "SignedInfo"));
    let algorithm = signed_info
        .and_then(|si| child_elements(doc, si).find(|&c| is(doc, c, DSIG, "SignatureMethod")))
        .and_then(|m| attr(doc, m, None, "Algorithm"));
    let references = signed_info
        .map(|si| {
            child_elements(doc, si)
                .filter(|&c| is(doc, c, DSIG, "Reference"))
                .map(|r| ReferenceInfo {
                    uri: attr(doc, r, None, "URI").unwrap_or_default(),
                    element: None,
                    digest_valid: None,
                })
                .collect()
        })
        .unwrap_or_default();
    SignatureInfo {
        id: attr(doc, sig, None, "Id"),
        role,
        algorithm,
        verdict: SignatureVerdict::NoKey,
        references,
    }
}

/// How a token is referenced from inside `parent`'s SecurityTokenReference: `#id`,
/// a URI, or `KeyIdentifierType:value`.
fn first_str_reference(doc: &Document, parent: NodeId) -> Option<String> {
    let str_el = descendants(doc, parent).find(|&d| is(doc, d, WSSE, "SecurityTokenReference"))?;
    let target = child_elements(doc, str_el).next()?;
    let el = element(doc, target)?;
    match el.name.local.as_str() {
        "Reference" => attr(doc, target, None, "URI"),
        "KeyIdentifier" => {
            let vt = attr(doc, target, None, "ValueType").unwrap_or_default();
            let kind = vt.rsplit('#').next().unwrap_or("KeyIdentifier").to_string();
            Some(format!("{kind}:{}", text(doc, target).trim()))
        }
        other => Some(other.to_string()),
    }
}

fn bst_type(doc: &Document, bst: NodeId) -> String {
    let vt = attr(doc, bst, None, "ValueType").unwrap_or_default();
    if vt.ends_with("#X509v3") || vt.ends_with("#X509") {
        "x509".into()
    } else if vt.is_empty() {
        "binary".into()
    } else {
        vt.rsplit(['#', '/']).next().unwrap_or("binary").to_string()
    }
}

fn wsu_id(doc: &Document, node: NodeId) -> Option<String> {
    attr(doc, node, Some(WSU), "Id").or_else(|| attr(doc, node, None, "Id"))
}

/// An attribute's value by namespace and local name.
pub(crate) fn attr(doc: &Document, node: NodeId, ns: Option<&str>, local: &str) -> Option<String> {
    doc.attribute(node, ns, local).map(str::to_string)
}
