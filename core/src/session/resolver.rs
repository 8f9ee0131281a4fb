//! The WS-Security [`KeyResolver`]: turns the SecurityTokenReference in a KeyInfo into a
//! key, through the message's own tokens (EncryptedKeys, DerivedKeyTokens, SCTs, X.509
//! BinarySecurityTokens) and the cross-message state (SCT keys, EncryptedKeySHA1 keys, the
//! keyring). It also records, for the report, which DerivedKeyToken served what and a
//! plain-words step for each key it derived.

use super::keystore::{cert_label, to_hex, KeyStore};
use super::registry::Registry;
use crate::model::SecurityStep;
use crate::wssec::ns::{self, DSIG};
use crate::wssec::tokens::{
    find_str, parse_sct, parse_str, DerivedKeyToken, SecurityContextToken, StrRef,
};
use crate::xml::{Document, NodeId};
use crate::xmlsec::algorithms::{EncryptionAlgorithm, KeyTransport, SignatureMethod};
use crate::xmlsec::{KeyResolveError, KeyResolver, Resolved, VerificationKey};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use openssl::hash::{hash, MessageDigest};
use openssl::pkey::{PKey, Public};
use openssl::x509::X509;
use std::cell::RefCell;
use std::collections::HashMap;
use zeroize::Zeroizing;

/// DerivedKeyTokens may be derived from DerivedKeyTokens; stop at this depth.
const MAX_DEPTH: usize = 4;

/// The tokens one message's security header carries, by Id.
#[derive(Default)]
pub struct MsgTokens {
    /// EncryptedKey Id → its key, or why it could not be opened.
    pub ek_keys: HashMap<String, Result<Zeroizing<Vec<u8>>, KeyResolveError>>,
    /// EncryptedKey Id → SHA-1 of its ciphertext (to find it by EncryptedKeySHA1 too).
    pub ek_sha1: HashMap<String, Vec<u8>>,
    pub dkts: HashMap<String, DerivedKeyToken>,
    pub scts: HashMap<String, SecurityContextToken>,
    pub bsts: HashMap<String, X509>,
    /// SCTs without wsu:Id (referenced by Identifier only).
    pub anonymous_scts: Vec<SecurityContextToken>,
}

/// A resolved key.
pub enum KeyMaterial {
    Symmetric(Zeroizing<Vec<u8>>, String),
    Public(PKey<Public>, String),
}

pub struct WsResolver<'a> {
    pub tokens: &'a MsgTokens,
    pub registry: &'a Registry,
    pub keys: &'a KeyStore,
    /// Whether this message is a response (for the "client's private key" hint).
    pub is_response: bool,
    /// DKT Id → "signature" / "encryption".
    pub usage: RefCell<HashMap<String, &'static str>>,
    pub steps: RefCell<Vec<SecurityStep>>,
    derived: RefCell<HashMap<String, Zeroizing<Vec<u8>>>>,
    /// SCT Identifiers referenced whose key was unknown.
    pub missing_scts: RefCell<Vec<String>>,
}

fn not_found(s: impl Into<String>) -> KeyResolveError {
    KeyResolveError::NotFound(s.into())
}

impl<'a> WsResolver<'a> {
    pub fn new(
        tokens: &'a MsgTokens,
        registry: &'a Registry,
        keys: &'a KeyStore,
        is_response: bool,
    ) -> Self {
        WsResolver {
            tokens,
            registry,
            keys,
            is_response,
            usage: RefCell::default(),
            steps: RefCell::default(),
            derived: RefCell::default(),
            missing_scts: RefCell::default(),
        }
    }

    fn step(&self, title: String, details: Vec<String>, derives: Vec<(String, String)>) {
        self.steps.borrow_mut().push(SecurityStep {
            title,
            details,
            derives,
        });
    }

    /// The STR inside a KeyInfo (or the KeyInfo's X509Data / embedded certificate).
    fn key_info_ref(
        &self,
        doc: &Document,
        key_info: Option<NodeId>,
    ) -> Result<StrRef, KeyResolveError> {
        let ki = key_info.ok_or_else(|| not_found("no KeyInfo"))?;
        if let Some(s) = find_str(doc, ki) {
            return parse_str(doc, s).map_err(KeyResolveError::Unsupported);
        }
        if let Some(x) = doc.find_child(ki, Some(DSIG), "X509Data") {
            if let Some(c) = doc.find_child(x, Some(DSIG), "X509Certificate") {
                return Ok(StrRef::Embedded(c));
            }
        }
        let what = doc
            .children_elements(ki)
            .first()
            .and_then(|&c| doc.element(c))
            .map(|e| e.name.qualified())
            .unwrap_or_else(|| "(empty)".into());
        Err(KeyResolveError::Unsupported(format!(
            "KeyInfo holds <{what}>, not a SecurityTokenReference"
        )))
    }

    fn sct_key(
        &self,
        identifier: &str,
        instance: Option<&str>,
    ) -> Result<KeyMaterial, KeyResolveError> {
        if let Some(e) = self.registry.sct(identifier, instance) {
            let inst = e
                .instance
                .as_deref()
                .map(|i| format!(" instance {i}"))
                .unwrap_or_default();
            return Ok(KeyMaterial::Symmetric(
                e.key.clone(),
                format!("SCT {identifier}{inst}"),
            ));
        }
        if let Some(k) = self.keys.sct_key(identifier) {
            return Ok(KeyMaterial::Symmetric(
                k.clone(),
                format!("SCT {identifier} (key given with --sct-key)"),
            ));
        }
        let mut m = self.missing_scts.borrow_mut();
        if !m.iter().any(|x| x == identifier) {
            m.push(identifier.to_string());
        }
        Err(not_found(format!(
            "the key of SCT {identifier} is unknown: its bootstrap (RST/SCT and RSTR/SCT) was not opened; give it with --sct-key {identifier}=HEX"
        )))
    }

    /// Resolves a reference to key material.
    pub fn resolve(
        &self,
        doc: &Document,
        r: &StrRef,
        depth: usize,
    ) -> Result<KeyMaterial, KeyResolveError> {
        if depth > MAX_DEPTH {
            return Err(KeyResolveError::Failed(
                "DerivedKeyTokens nest deeper than 4".into(),
            ));
        }
        match r {
            StrRef::Local { id, .. } => {
                if let Some(d) = self.tokens.dkts.get(id) {
                    return self.derive(doc, id, d, depth);
                }
                if let Some(k) = self.tokens.ek_keys.get(id) {
                    return match k {
                        Ok(k) => Ok(KeyMaterial::Symmetric(
                            k.clone(),
                            format!("EncryptedKey #{id}"),
                        )),
                        Err(e) => Err(e.clone()),
                    };
                }
                if let Some(s) = self.tokens.scts.get(id) {
                    return self.sct_key(&s.identifier, s.instance.as_deref());
                }
                if let Some(c) = self.tokens.bsts.get(id) {
                    let key = c
                        .public_key()
                        .map_err(|e| KeyResolveError::Failed(format!("certificate #{id}: {e}")))?;
                    return Ok(KeyMaterial::Public(
                        key,
                        format!("BinarySecurityToken #{id} {}", cert_label(c)),
                    ));
                }
                Err(not_found(format!(
                    "the SecurityTokenReference #{id} names no token this message carries"
                )))
            }
            StrRef::External { uri, instance, .. } => {
                if let Some(s) = self
                    .tokens
                    .anonymous_scts
                    .iter()
                    .find(|s| &s.identifier == uri)
                {
                    return self
                        .sct_key(&s.identifier, instance.as_deref().or(s.instance.as_deref()));
                }
                self.sct_key(uri, instance.as_deref())
            }
            StrRef::KeyIdentifier { value_type, value } => match value_type.as_str() {
                ns::KI_ENCRYPTED_KEY_SHA1 => {
                    if let Some((id, _)) = self
                        .tokens
                        .ek_sha1
                        .iter()
                        .find(|(_, h)| h.as_slice() == value.as_slice())
                    {
                        return self.resolve(
                            doc,
                            &StrRef::Local {
                                id: id.clone(),
                                value_type: None,
                            },
                            depth + 1,
                        );
                    }
                    match self.registry.ephemeral(value) {
                        Some(e) => Ok(KeyMaterial::Symmetric(
                            e.key.clone(),
                            format!("EncryptedKey of message {} (EncryptedKeySHA1 {})", e.msg, STANDARD.encode(value)),
                        )),
                        None => Err(not_found(format!(
                            "EncryptedKeySHA1 {} names no EncryptedKey opened earlier in this capture",
                            STANDARD.encode(value)
                        ))),
                    }
                }
                ns::KI_THUMBPRINT => self.certificate(
                    |c| {
                        c.digest(MessageDigest::sha1())
                            .is_ok_and(|d| d.as_ref() == value.as_slice())
                    },
                    self.keys.by_thumbprint(value).map(|e| (e.public, e.label)),
                    format!("ThumbprintSHA1 {}", to_hex(value)),
                ),
                ns::KI_SKI => self.certificate(
                    |c| {
                        c.subject_key_id()
                            .is_some_and(|s| s.as_slice() == value.as_slice())
                    },
                    self.keys.by_ski(value).map(|e| (e.public, e.label)),
                    format!("SubjectKeyIdentifier {}", to_hex(value)),
                ),
                other => Err(KeyResolveError::Unsupported(format!(
                    "KeyIdentifier ValueType {other}"
                ))),
            },
            StrRef::IssuerSerial { issuer, serial } => self
                .keys
                .by_issuer_serial(issuer, serial)
                .map(|e| KeyMaterial::Public(e.public, e.label))
                .ok_or_else(|| {
                    not_found(format!(
                        "no certificate issued by '{issuer}' with serial {serial} in the keyring"
                    ))
                }),
            StrRef::Embedded(node) => {
                let el = doc
                    .element(*node)
                    .ok_or_else(|| not_found("embedded token"))?;
                if el.name.local == "SecurityContextToken" {
                    let s = parse_sct(doc, *node).map_err(KeyResolveError::Failed)?;
                    return self.sct_key(&s.identifier, s.instance.as_deref());
                }
                let text: String = doc
                    .text_content(*node)
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect();
                let der = STANDARD
                    .decode(text.as_bytes())
                    .map_err(|e| KeyResolveError::Failed(format!("embedded certificate: {e}")))?;
                let c = X509::from_der(&der)
                    .map_err(|e| KeyResolveError::Failed(format!("embedded certificate: {e}")))?;
                let key = c
                    .public_key()
                    .map_err(|e| KeyResolveError::Failed(format!("embedded certificate: {e}")))?;
                Ok(KeyMaterial::Public(
                    key,
                    format!("embedded certificate {}", cert_label(&c)),
                ))
            }
        }
    }

    /// A certificate named by a key identifier: one of the message's BSTs, else the keyring.
    fn certificate(
        &self,
        matches: impl Fn(&X509) -> bool,
        keyring: Option<(PKey<Public>, String)>,
        what: String,
    ) -> Result<KeyMaterial, KeyResolveError> {
        if let Some((id, c)) = self.tokens.bsts.iter().find(|(_, c)| matches(c)) {
            if let Ok(k) = c.public_key() {
                return Ok(KeyMaterial::Public(
                    k,
                    format!("BinarySecurityToken #{id} {}", cert_label(c)),
                ));
            }
        }
        keyring
            .map(|(k, l)| KeyMaterial::Public(k, l))
            .ok_or_else(|| {
                not_found(format!(
                    "the certificate with {what} is neither in the message nor in the keyring"
                ))
            })
    }

    fn derive(
        &self,
        doc: &Document,
        id: &str,
        d: &DerivedKeyToken,
        depth: usize,
    ) -> Result<KeyMaterial, KeyResolveError> {
        let label = format!("DerivedKeyToken #{id}");
        if let Some(k) = self.derived.borrow().get(id) {
            return Ok(KeyMaterial::Symmetric(k.clone(), label));
        }
        let (base, source) = match self.resolve(doc, &d.base, depth + 1) {
            Ok(KeyMaterial::Symmetric(k, s)) => (k, s),
            Ok(KeyMaterial::Public(_, s)) => {
                return Err(KeyResolveError::Failed(format!(
                    "{label} is based on {s}, which has no symmetric key"
                )))
            }
            Err(KeyResolveError::NotFound(r)) => return Err(not_found(format!("{label}: {r}"))),
            Err(e) => return Err(KeyResolveError::Failed(format!("{label}: {e}"))),
        };
        let key = d
            .derive(&base)
            .map_err(|e| KeyResolveError::Failed(format!("{label}: {e}")))?;
        let (offset, length) = d.position().unwrap_or((0, 0));
        self.step(
            format!("Derived {length}-byte key {label} from {source}"),
            vec![
                "P_SHA1(secret = base key, seed = label ‖ nonce)".into(),
                format!(
                    "label: {}",
                    d.label.clone().unwrap_or_else(|| {
                        "WS-SecureConversationWS-SecureConversation (default)".into()
                    })
                ),
                format!("nonce: {}", STANDARD.encode(&d.nonce)),
                format!("offset {offset}, length {length}"),
            ],
            vec![(source.clone(), label.clone())],
        );
        self.derived
            .borrow_mut()
            .insert(id.to_string(), key.clone());
        Ok(KeyMaterial::Symmetric(
            key,
            format!("{label} (from {source})"),
        ))
    }

    fn note_usage(&self, r: &StrRef, usage: &'static str) {
        if let StrRef::Local { id, .. } = r {
            if self.tokens.dkts.contains_key(id) {
                self.usage.borrow_mut().entry(id.clone()).or_insert(usage);
            }
        }
    }

    /// RSA-decrypts an EncryptedKey's ciphertext with the keyring's private key its STR names.
    fn private_decrypt(
        &self,
        doc: &Document,
        key_info: Option<NodeId>,
        transport: &KeyTransport,
        ciphertext: &[u8],
    ) -> Result<Resolved<Zeroizing<Vec<u8>>>, KeyResolveError> {
        let r = self.key_info_ref(doc, key_info)?;
        let entry = match &r {
            StrRef::KeyIdentifier { value_type, value } if value_type == ns::KI_THUMBPRINT => {
                self.keys.by_thumbprint(value)
            }
            StrRef::KeyIdentifier { value_type, value } if value_type == ns::KI_SKI => {
                self.keys.by_ski(value)
            }
            StrRef::IssuerSerial { issuer, serial } => self.keys.by_issuer_serial(issuer, serial),
            StrRef::Local { .. } | StrRef::Embedded(_) => match self.resolve(doc, &r, 0) {
                Ok(KeyMaterial::Public(k, _)) => self.keys.by_public_key(&k),
                _ => None,
            },
            _ => None,
        };
        let whose = if self.is_response {
            " — this response is encrypted for the client's certificate, so the client's private key is needed (give it with --key)"
        } else {
            " — give the service certificate's private key with --key"
        };
        let Some(entry) = entry else {
            return Err(not_found(format!("the EncryptedKey is for the certificate named by {}, which is not in the keyring{whose}", r.describe())));
        };
        let Some(private) = entry.private else {
            return Err(not_found(format!(
                "the keyring holds {} but not its private key{whose}",
                entry.label
            )));
        };
        let key =
            crate::xmlsec::crypto::rsa_decrypt(&private, transport, ciphertext).map_err(|e| {
                KeyResolveError::Failed(format!("RSA decryption with {} failed: {e}", entry.label))
            })?;
        Ok(Resolved {
            key,
            source: format!("private key of {}", entry.label),
        })
    }
}

/// SHA-1 of an EncryptedKey's ciphertext: its EncryptedKeySHA1 (spec sheet §8.6).
pub fn encrypted_key_sha1(ciphertext: &[u8]) -> Vec<u8> {
    hash(MessageDigest::sha1(), ciphertext)
        .map(|d| d.to_vec())
        .unwrap_or_default()
}

impl KeyResolver for WsResolver<'_> {
    fn signing_key(
        &self,
        doc: &Document,
        key_info: Option<NodeId>,
        method: SignatureMethod,
    ) -> Result<Resolved<VerificationKey>, KeyResolveError> {
        let r = self.key_info_ref(doc, key_info)?;
        self.note_usage(&r, "signature");
        match (self.resolve(doc, &r, 0)?, method.is_hmac()) {
            (KeyMaterial::Symmetric(k, s), true) => Ok(Resolved {
                key: VerificationKey::Hmac(k),
                source: s,
            }),
            (KeyMaterial::Public(k, s), false) => Ok(Resolved {
                key: VerificationKey::Public(k),
                source: s,
            }),
            (KeyMaterial::Symmetric(_, s), false) => Err(KeyResolveError::Failed(format!(
                "{} needs a public key but the KeyInfo names {s}",
                method.name()
            ))),
            (KeyMaterial::Public(_, s), true) => Err(KeyResolveError::Failed(format!(
                "{} needs a symmetric key but the KeyInfo names {s}",
                method.name()
            ))),
        }
    }

    fn decryption_key(
        &self,
        doc: &Document,
        key_info: Option<NodeId>,
        _algorithm: &EncryptionAlgorithm,
    ) -> Result<Resolved<Zeroizing<Vec<u8>>>, KeyResolveError> {
        let r = self.key_info_ref(doc, key_info)?;
        self.note_usage(&r, "encryption");
        match self.resolve(doc, &r, 0)? {
            KeyMaterial::Symmetric(k, s) => Ok(Resolved { key: k, source: s }),
            KeyMaterial::Public(_, s) => Err(KeyResolveError::Failed(format!(
                "the KeyInfo names {s}, which has no symmetric key"
            ))),
        }
    }

    fn decrypt_key_transport(
        &self,
        doc: &Document,
        key_info: Option<NodeId>,
        transport: &KeyTransport,
        ciphertext: &[u8],
    ) -> Result<Resolved<Zeroizing<Vec<u8>>>, KeyResolveError> {
        self.private_decrypt(doc, key_info, transport, ciphertext)
    }
}
