//! Where keys come from: the [`KeyResolver`] trait the verification and decryption engines ask
//! for keys. The WS-Security layer implements it (SecurityTokenReference, DerivedKeyToken,
//! SCT keys); [`super::standalone::StandaloneResolver`] implements it for `wcfscope verify`
//! and `wcfscope decrypt` (keys from `--key`, embedded certificates, KeyName, …).
//!
//! EncryptedKey elements (inside KeyInfo, by RetrievalMethod, by CarriedKeyName or by
//! ReferenceList) are opened by the decryption engine itself, which asks the resolver only for
//! the key-encryption key or the RSA private-key operation.

use std::fmt;

use openssl::pkey::{PKey, Public};
use zeroize::Zeroizing;

use super::algorithms::{EncryptionAlgorithm, KeyTransport, SignatureMethod};
use crate::xml::{Document, NodeId};

/// A key that checks a SignatureValue.
#[derive(Clone)]
pub enum VerificationKey {
    /// The HMAC key (for the hmac-* SignatureMethods).
    Hmac(Zeroizing<Vec<u8>>),
    /// An RSA public key (for rsa-* SignatureMethods).
    Public(PKey<Public>),
}

impl fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key bytes: a length for HMAC keys, the key size for public keys.
        match self {
            Self::Hmac(k) => write!(f, "Hmac({} bits)", k.len() * 8),
            Self::Public(p) => write!(f, "Public({} bits)", p.bits()),
        }
    }
}

/// A key together with a human-readable account of where it came from (shown in results,
/// e.g. "embedded X509Certificate CN=Merlin Hughes" or "KeyName 'bob' (--key)").
#[derive(Clone)]
pub struct Resolved<K> {
    pub key: K,
    pub source: String,
}

impl<K> fmt::Debug for Resolved<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolved")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// Why no key could be supplied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyResolveError {
    /// The KeyInfo names no key the resolver holds (the result is "no key", not "invalid").
    #[error("no key: {0}")]
    NotFound(String),
    /// A key was found but using it failed (wrong key, unwrap integrity, RSA padding…).
    #[error("{0}")]
    Failed(String),
    /// The KeyInfo uses something the resolver does not support.
    #[error("unsupported KeyInfo: {0}")]
    Unsupported(String),
}

/// Supplies keys to the signature and encryption engines.
///
/// `key_info` is the `ds:KeyInfo` element of the Signature, EncryptedData or EncryptedKey in
/// question (None when it has none).
pub trait KeyResolver {
    /// The key that checks a SignatureValue made with `method`.
    fn signing_key(
        &self,
        doc: &Document,
        key_info: Option<NodeId>,
        method: SignatureMethod,
    ) -> Result<Resolved<VerificationKey>, KeyResolveError>;

    /// A symmetric key: the data key of an EncryptedData (`algorithm` is a block cipher) or
    /// the key-encryption key of an EncryptedKey (`algorithm` is a key wrap).
    fn decryption_key(
        &self,
        doc: &Document,
        key_info: Option<NodeId>,
        algorithm: &EncryptionAlgorithm,
    ) -> Result<Resolved<Zeroizing<Vec<u8>>>, KeyResolveError>;

    /// RSA key transport: decrypt an EncryptedKey's CipherValue with the private key its
    /// KeyInfo designates. The default holds no private keys.
    fn decrypt_key_transport(
        &self,
        _doc: &Document,
        _key_info: Option<NodeId>,
        _transport: &KeyTransport,
        _ciphertext: &[u8],
    ) -> Result<Resolved<Zeroizing<Vec<u8>>>, KeyResolveError> {
        Err(KeyResolveError::NotFound(
            "no private keys for RSA key transport".into(),
        ))
    }
}

/// A resolver with no keys: every signature is "no key", every EncryptedData stays closed
/// unless it can be opened without outside keys (it never can).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoKeys;

impl KeyResolver for NoKeys {
    fn signing_key(
        &self,
        _doc: &Document,
        _key_info: Option<NodeId>,
        _method: SignatureMethod,
    ) -> Result<Resolved<VerificationKey>, KeyResolveError> {
        Err(KeyResolveError::NotFound("no keys available".into()))
    }

    fn decryption_key(
        &self,
        _doc: &Document,
        _key_info: Option<NodeId>,
        _algorithm: &EncryptionAlgorithm,
    ) -> Result<Resolved<Zeroizing<Vec<u8>>>, KeyResolveError> {
        Err(KeyResolveError::NotFound("no keys available".into()))
    }
}
