//! The key resolver of the standalone commands (`wcfscope verify` / `wcfscope decrypt`):
//! keys given on the command line plus what a `ds:KeyInfo` carries by itself.
//!
//! Signing keys, in order:
//! - RSA: a `--key` certificate/key the KeyInfo identifies (X509Certificate equal to it,
//!   X509IssuerSerial serial number, X509SKI, or an embedded key with the same public key);
//!   else the embedded X509Certificate (the leaf of the chain given) or `RSAKeyValue`
//!   (neither is *trusted*: this is a debugging tool, and the result says where the key came
//!   from); else the only `--key` RSA key when there is exactly one.
//! - HMAC: a named symmetric key matching `KeyName`; an EncryptedKey inside KeyInfo or
//!   reached by `RetrievalMethod` (opened with the keys here); else the first anonymous
//!   `hex:` key.
//!
//! Decryption keys: `KeyName` → named symmetric key; else an anonymous symmetric key of the
//! algorithm's key length. RSA key transport: private keys whose certificate the KeyInfo
//! identifies first, then every other private key.

use openssl::bn::BigNum;
use openssl::pkey::{PKey, Private, Public};
use openssl::rsa::Rsa;
use openssl::x509::X509;
use zeroize::Zeroizing;

use super::algorithms::{
    BlockCipher, EncryptionAlgorithm, KeyEncryption, KeyTransport, SignatureMethod, NS_DSIG,
    NS_XENC, TYPE_ENCRYPTED_KEY,
};
use super::crypto;
use super::encryption::{decrypt_encrypted_key, KeyFailure};
use super::resolver::{KeyResolveError, KeyResolver, Resolved, VerificationKey};
use super::util::{children_named, decode_base64, hex, text, IdIndex};
use crate::keys::Keyring;
use crate::xml::{Document, NodeId};

struct PrivateKey {
    key: PKey<Private>,
    cert: Option<X509>,
    label: String,
}

struct PublicKey {
    key: PKey<Public>,
    cert: Option<X509>,
    label: String,
}

struct SymmetricKey {
    name: Option<String>,
    key: Zeroizing<Vec<u8>>,
    label: String,
}

/// Keys from the command line (see the module documentation for how they are chosen).
#[derive(Default)]
pub struct StandaloneResolver {
    private_keys: Vec<PrivateKey>,
    public_keys: Vec<PublicKey>,
    symmetric: Vec<SymmetricKey>,
}

impl std::fmt::Debug for StandaloneResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandaloneResolver")
            .field(
                "private_keys",
                &self
                    .private_keys
                    .iter()
                    .map(|k| &k.label)
                    .collect::<Vec<_>>(),
            )
            .field(
                "public_keys",
                &self
                    .public_keys
                    .iter()
                    .map(|k| &k.label)
                    .collect::<Vec<_>>(),
            )
            .field(
                "symmetric",
                &self.symmetric.iter().map(|k| &k.label).collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn public_of(key: &PKey<Private>) -> Option<PKey<Public>> {
    key.public_key_to_der()
        .ok()
        .and_then(|d| PKey::public_key_from_der(&d).ok())
}

fn subject_of(cert: &X509) -> String {
    cert.subject_name()
        .entries()
        .filter_map(|e| {
            let k = e.object().nid().short_name().ok()?;
            let v = e.data().to_string().ok()?;
            Some(format!("{k}={v}"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn sha1_thumbprint(cert: &X509) -> String {
    cert.to_der()
        .ok()
        .and_then(|d| crypto::digest(super::algorithms::DigestAlgorithm::Sha1, &d).ok())
        .map(|d| hex(&d))
        .unwrap_or_default()
}

/// What a KeyInfo says about the certificate it means.
#[derive(Default)]
struct KeyInfoHints {
    certs: Vec<X509>,
    serials: Vec<BigNum>,
    skis: Vec<Vec<u8>>,
    rsa_key_value: Option<PKey<Public>>,
    key_names: Vec<String>,
    encrypted_keys: Vec<NodeId>,
}

fn hints(doc: &Document, key_info: Option<NodeId>) -> KeyInfoHints {
    let mut h = KeyInfoHints::default();
    let Some(ki) = key_info else { return h };
    for xd in children_named(doc, ki, NS_DSIG, "X509Data") {
        for c in children_named(doc, xd, NS_DSIG, "X509Certificate") {
            if let Some(cert) = decode_base64(&doc.text_content(c))
                .ok()
                .and_then(|d| X509::from_der(&d).ok())
            {
                h.certs.push(cert);
            }
        }
        for is in children_named(doc, xd, NS_DSIG, "X509IssuerSerial") {
            if let Some(sn) = doc.find_child(is, Some(NS_DSIG), "X509SerialNumber") {
                if let Ok(bn) = BigNum::from_dec_str(&text(doc, sn)) {
                    h.serials.push(bn);
                }
            }
        }
        for s in children_named(doc, xd, NS_DSIG, "X509SKI") {
            if let Ok(d) = decode_base64(&doc.text_content(s)) {
                h.skis.push(d);
            }
        }
    }
    for kv in children_named(doc, ki, NS_DSIG, "KeyValue") {
        if let Some(rkv) = doc.find_child(kv, Some(NS_DSIG), "RSAKeyValue") {
            let part = |name: &str| {
                doc.find_child(rkv, Some(NS_DSIG), name)
                    .and_then(|n| decode_base64(&doc.text_content(n)).ok())
                    .and_then(|b| BigNum::from_slice(&b).ok())
            };
            if let (Some(n), Some(e)) = (part("Modulus"), part("Exponent")) {
                h.rsa_key_value = Rsa::from_public_components(n, e)
                    .ok()
                    .and_then(|r| PKey::from_rsa(r).ok());
            }
        }
    }
    for kn in children_named(doc, ki, NS_DSIG, "KeyName") {
        h.key_names.push(text(doc, kn));
    }
    h.encrypted_keys = children_named(doc, ki, NS_XENC, "EncryptedKey");
    // Built only when needed: an ID index costs a pass over the document.
    let rms = children_named(doc, ki, NS_DSIG, "RetrievalMethod");
    let ids = if rms.is_empty() {
        None
    } else {
        Some(IdIndex::build(doc))
    };
    for (rm, ids) in rms
        .into_iter()
        .zip(std::iter::repeat(ids.as_ref()).flatten())
    {
        let ty = doc.attribute(rm, None, "Type").map(str::trim);
        if ty.is_some_and(|t| t != TYPE_ENCRYPTED_KEY) {
            continue;
        }
        let uri = doc.attribute(rm, None, "URI").unwrap_or("").trim();
        if let Some(Ok(Some(n))) = uri.strip_prefix('#').map(|id| ids.get(doc, id)) {
            if super::util::is_element(doc, n, NS_XENC, "EncryptedKey") {
                h.encrypted_keys.push(n);
            }
        }
    }
    h
}

/// Whether `cert` is the certificate the hints identify.
fn identified(cert: &X509, h: &KeyInfoHints) -> bool {
    let der = cert.to_der().ok();
    if h.certs.iter().any(|c| c.to_der().ok() == der) {
        return true;
    }
    if let Ok(sn) = cert.serial_number().to_bn() {
        if h.serials.contains(&sn) {
            return true;
        }
    }
    if let Some(ski) = cert.subject_key_id() {
        if h.skis.iter().any(|s| s.as_slice() == ski.as_slice()) {
            return true;
        }
    }
    false
}

fn same_public(a: &PKey<Public>, b: &PKey<Public>) -> bool {
    a.public_eq(b)
}

/// The leaf of the embedded certificates: one that issued none of the others.
fn leaf(certs: &[X509]) -> Option<&X509> {
    certs
        .iter()
        .find(|c| {
            !certs.iter().any(|o| {
                !std::ptr::eq(*c, o)
                    && c.subject_name().to_der().ok() == o.issuer_name().to_der().ok()
            })
        })
        .or(certs.first())
}

impl StandaloneResolver {
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything a [`Keyring`] holds: private keys (with their certificates), certificates
    /// and public keys, and symmetric keys (named ones match `ds:KeyName`).
    pub fn from_keyring(keyring: &Keyring) -> Self {
        let mut r = Self::new();
        for entry in keyring.entries() {
            let label = match entry.subject() {
                Some(_) => format!("--key {} ({})", entry.label(), entry.source().display()),
                None => format!("--key {}", entry.label()),
            };
            let cert = entry.certificate().map(|c| c.to_owned());
            match entry.private_key() {
                Some(pk) => r.add_private_key(pk.pkey().to_owned(), cert, label),
                None => match cert {
                    Some(c) => r.public_keys.push(PublicKey {
                        key: entry.public_key(),
                        cert: Some(c),
                        label,
                    }),
                    None => r.add_public_key(entry.public_key(), label),
                },
            }
        }
        for k in keyring.symmetric_keys() {
            r.add_symmetric(
                k.name().map(str::to_string),
                Zeroizing::new(k.key().to_vec()),
            );
        }
        r
    }

    /// A private key (and its certificate, when known). `label` says where it came from.
    pub fn add_private_key(
        &mut self,
        key: PKey<Private>,
        cert: Option<X509>,
        label: impl Into<String>,
    ) {
        self.private_keys.push(PrivateKey {
            key,
            cert,
            label: label.into(),
        });
    }

    /// A certificate (its public key verifies signatures).
    pub fn add_certificate(&mut self, cert: X509, label: impl Into<String>) -> Result<(), String> {
        let key = cert
            .public_key()
            .map_err(|e| format!("certificate public key: {e}"))?;
        self.public_keys.push(PublicKey {
            key,
            cert: Some(cert),
            label: label.into(),
        });
        Ok(())
    }

    /// A bare public key.
    pub fn add_public_key(&mut self, key: PKey<Public>, label: impl Into<String>) {
        self.public_keys.push(PublicKey {
            key,
            cert: None,
            label: label.into(),
        });
    }

    /// A symmetric key, optionally named (matched against `ds:KeyName`).
    pub fn add_symmetric(&mut self, name: Option<String>, key: Zeroizing<Vec<u8>>) {
        let label = match &name {
            Some(n) => format!("--key named '{n}' ({} bits)", key.len() * 8),
            None => format!("--key hex: ({} bits)", key.len() * 8),
        };
        self.symmetric.push(SymmetricKey { name, key, label });
    }

    /// Every public key the command line supplied, with its certificate and label.
    fn all_public(&self) -> Vec<(PKey<Public>, Option<&X509>, &str)> {
        let mut v: Vec<(PKey<Public>, Option<&X509>, &str)> = self
            .public_keys
            .iter()
            .map(|p| (p.key.clone(), p.cert.as_ref(), p.label.as_str()))
            .collect();
        for k in &self.private_keys {
            if let Some(p) = public_of(&k.key) {
                v.push((p, k.cert.as_ref(), k.label.as_str()));
            }
        }
        v
    }

    fn rsa_signing_key(
        &self,
        h: &KeyInfoHints,
    ) -> Result<Resolved<VerificationKey>, KeyResolveError> {
        let mine = self.all_public();
        let embedded: Option<(PKey<Public>, String)> = leaf(&h.certs)
            .and_then(|c| {
                c.public_key().ok().map(|k| {
                    (
                        k,
                        format!("embedded X509Certificate {} (not trusted)", subject_of(c)),
                    )
                })
            })
            .or_else(|| {
                h.rsa_key_value
                    .clone()
                    .map(|k| (k, "embedded RSAKeyValue (not trusted)".to_string()))
            });
        for (key, cert, label) in &mine {
            let by_id = cert.is_some_and(|c| identified(c, h));
            let by_key = embedded.as_ref().is_some_and(|(e, _)| same_public(e, key));
            if by_id || by_key {
                let what = cert
                    .map(|c| format!(" {} sha1 {}", subject_of(c), sha1_thumbprint(c)))
                    .unwrap_or_default();
                return Ok(Resolved {
                    key: VerificationKey::Public(key.clone()),
                    source: format!("{label}{what}"),
                });
            }
        }
        if let Some((key, source)) = embedded {
            return Ok(Resolved {
                key: VerificationKey::Public(key),
                source,
            });
        }
        let rsa: Vec<_> = mine.iter().filter(|(k, _, _)| k.rsa().is_ok()).collect();
        if let [(key, _, label)] = rsa.as_slice() {
            return Ok(Resolved {
                key: VerificationKey::Public(key.clone()),
                source: format!("{label} (the only RSA key given)"),
            });
        }
        Err(KeyResolveError::NotFound(if rsa.is_empty() {
            "KeyInfo carries no usable key and no RSA --key was given".into()
        } else {
            format!(
                "KeyInfo identifies none of the {} RSA keys given",
                rsa.len()
            )
        }))
    }

    fn hmac_key(
        &self,
        doc: &Document,
        h: &KeyInfoHints,
    ) -> Result<Resolved<VerificationKey>, KeyResolveError> {
        for name in &h.key_names {
            if let Some(k) = self
                .symmetric
                .iter()
                .find(|k| k.name.as_deref() == Some(name))
            {
                return Ok(Resolved {
                    key: VerificationKey::Hmac(k.key.clone()),
                    source: format!("KeyName '{name}': {}", k.label),
                });
            }
        }
        let mut failures = Vec::new();
        for &ek in &h.encrypted_keys {
            match decrypt_encrypted_key(doc, ek, self) {
                Ok(k) => {
                    return Ok(Resolved {
                        key: VerificationKey::Hmac(k.key),
                        source: k.source,
                    })
                }
                Err(f) => failures.push(f),
            }
        }
        if let Some(k) = self.symmetric.iter().find(|k| k.name.is_none()) {
            return Ok(Resolved {
                key: VerificationKey::Hmac(k.key.clone()),
                source: k.label.clone(),
            });
        }
        if let Some(f) = failures.iter().find(|f| matches!(f, KeyFailure::Failed(_))) {
            return Err(KeyResolveError::Failed(f.reason().to_string()));
        }
        let mut why = vec!["no hex: key given".to_string()];
        if !h.key_names.is_empty() {
            why.push(format!("no --key named {}", h.key_names.join(", ")));
        }
        why.extend(failures.iter().map(|f| f.reason().to_string()));
        Err(KeyResolveError::NotFound(why.join("; ")))
    }
}

fn wanted_len(algorithm: &EncryptionAlgorithm) -> Option<usize> {
    match algorithm {
        EncryptionAlgorithm::Data(c) => Some(BlockCipher::key_len(*c)),
        EncryptionAlgorithm::Key(KeyEncryption::Wrap(w)) => Some(w.kek_len()),
        EncryptionAlgorithm::Key(KeyEncryption::Transport(_)) => None,
    }
}

impl KeyResolver for StandaloneResolver {
    fn signing_key(
        &self,
        doc: &Document,
        key_info: Option<NodeId>,
        method: SignatureMethod,
    ) -> Result<Resolved<VerificationKey>, KeyResolveError> {
        let h = hints(doc, key_info);
        if method.is_hmac() {
            self.hmac_key(doc, &h)
        } else {
            self.rsa_signing_key(&h)
        }
    }

    fn decryption_key(
        &self,
        doc: &Document,
        key_info: Option<NodeId>,
        algorithm: &EncryptionAlgorithm,
    ) -> Result<Resolved<Zeroizing<Vec<u8>>>, KeyResolveError> {
        let h = hints(doc, key_info);
        for name in &h.key_names {
            if let Some(k) = self
                .symmetric
                .iter()
                .find(|k| k.name.as_deref() == Some(name))
            {
                return Ok(Resolved {
                    key: k.key.clone(),
                    source: format!("KeyName '{name}': {}", k.label),
                });
            }
        }
        let len = wanted_len(algorithm);
        if let Some(k) = self
            .symmetric
            .iter()
            .find(|k| k.name.is_none() && Some(k.key.len()) == len)
        {
            return Ok(Resolved {
                key: k.key.clone(),
                source: k.label.clone(),
            });
        }
        let mut why = Vec::new();
        if !h.key_names.is_empty() {
            why.push(format!("no --key named '{}'", h.key_names.join("', '")));
        }
        match len {
            Some(l) => why.push(format!("no anonymous {}-bit hex: key given", l * 8)),
            None => why.push("no symmetric key applies".into()),
        }
        Err(KeyResolveError::NotFound(why.join("; ")))
    }

    fn decrypt_key_transport(
        &self,
        doc: &Document,
        key_info: Option<NodeId>,
        transport: &KeyTransport,
        ciphertext: &[u8],
    ) -> Result<Resolved<Zeroizing<Vec<u8>>>, KeyResolveError> {
        if self.private_keys.is_empty() {
            return Err(KeyResolveError::NotFound("no private key given".into()));
        }
        let h = hints(doc, key_info);
        let mut order: Vec<&PrivateKey> = self
            .private_keys
            .iter()
            .filter(|k| k.cert.as_ref().is_some_and(|c| identified(c, &h)))
            .collect();
        for k in &self.private_keys {
            if !order.iter().any(|o| std::ptr::eq(*o, k)) {
                order.push(k);
            }
        }
        // Keys the KeyInfo identifies come first. (With OpenSSL >= 3.2, PKCS#1 v1.5 uses
        // implicit rejection: a wrong key yields random bytes, not an error, and the data
        // decryption then fails instead; identifying the key first keeps that rare.)
        let mut errors = Vec::new();
        for k in order {
            match crypto::rsa_decrypt(&k.key, transport, ciphertext) {
                Ok(key) => {
                    return Ok(Resolved {
                        key,
                        source: format!("private key {}", k.label),
                    })
                }
                Err(e) => errors.push(format!("{}: {e}", k.label)),
            }
        }
        Err(KeyResolveError::Failed(format!(
            "no private key decrypts it (wrong key?): {}",
            errors.join("; ")
        )))
    }
}
