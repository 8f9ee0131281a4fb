//! Keyring: certificates and private keys (.pfx/.p12, PEM, DER), raw symmetric keys, SCT keys,
//! and the P_SHA1 key derivation.
//!
//! The keyring answers the questions WS-Security asks: "which key does this
//! SecurityTokenReference mean?" (by SHA-1 thumbprint, SubjectKeyIdentifier, issuer+serial or
//! public key), "what is the key named X?" (ds:KeyName), "what is the key of SCT urn:uuid:…?".
//! It does not parse XML or decide trust; it never prints key bytes or passwords (`Debug` and
//! `Display` show subjects and thumbprints only), and holds symmetric key bytes in
//! `Zeroizing` buffers. OpenSSL holds the asymmetric keys.
//!
//! Loading pairs things up by public key: a private key meets its certificate whether they
//! come from one .pfx, one PEM file or two files loaded one after the other.

mod der;
mod dn;
mod entry;
mod error;
mod load;
mod password;
pub mod psha1;
mod spec;

use std::fmt;
use std::path::Path;

use openssl::bn::BigNum;
use openssl::pkey::{HasPublic, PKey, PKeyRef, Private, Public};
use openssl::x509::X509;
use zeroize::Zeroizing;

pub use dn::Dn;
pub use entry::{KeyEntry, KeyId, OaepDigest, PrivateKeyEntry, RsaPadding};
pub use error::KeyError;
pub use load::{ensure_legacy_provider, legacy_provider_loaded, MAX_KEY_FILE};
pub use password::{FixedPassword, NoPassword, PasswordSource, StandardPasswords, PASSWORD_ENV};
pub use psha1::{p_sha1, MAX_P_SHA1_OUTPUT};
pub use spec::{decode_hex, parse_sct_key_arg, to_hex, KeySpec};

/// A raw symmetric key (`hex:` / `name:NAME=hex:` on the command line).
#[derive(Clone)]
pub struct SymmetricKey {
    name: Option<String>,
    key: Zeroizing<Vec<u8>>,
}

impl SymmetricKey {
    /// The name given with `name:NAME=…`, matched against `ds:KeyName`.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    /// The key bytes.
    pub fn key(&self) -> &[u8] {
        &self.key
    }
}

impl fmt::Debug for SymmetricKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SymmetricKey")
            .field("name", &self.name)
            .field("bits", &(self.key.len() * 8))
            .finish()
    }
}

/// A SecurityContextToken key given by hand (`--sct-key ID=HEX`).
#[derive(Clone)]
pub struct SctKey {
    id: String,
    key: Zeroizing<Vec<u8>>,
}

impl SctKey {
    /// The SCT `Identifier` (e.g. `urn:uuid:…`).
    pub fn id(&self) -> &str {
        &self.id
    }
    pub fn key(&self) -> &[u8] {
        &self.key
    }
}

impl fmt::Debug for SctKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SctKey")
            .field("id", &self.id)
            .field("bits", &(self.key.len() * 8))
            .finish()
    }
}

/// Every key the user gave.
#[derive(Clone, Default)]
pub struct Keyring {
    entries: Vec<KeyEntry>,
    symmetric: Vec<SymmetricKey>,
    sct: Vec<SctKey>,
    warnings: Vec<String>,
}

impl Keyring {
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads one `--key` argument. Files may need a password: from `PATH:PASSWORD`, else the
    /// empty password, else whatever `passwords` supplies. Returns the entries created or
    /// completed (an already loaded certificate is not duplicated; its id is returned).
    pub fn load(
        &mut self,
        spec: &KeySpec,
        passwords: &dyn PasswordSource,
    ) -> Result<Vec<KeyId>, KeyError> {
        match spec {
            KeySpec::Symmetric { name, key } => {
                Ok(vec![self.add_symmetric(name.as_deref(), key.clone())])
            }
            KeySpec::File { path, password } => {
                self.load_file(path, password.as_ref().map(|p| p.as_str()), passwords)
            }
        }
    }

    /// Loads a key file with an optional explicit password.
    pub fn load_file(
        &mut self,
        path: &Path,
        password: Option<&str>,
        passwords: &dyn PasswordSource,
    ) -> Result<Vec<KeyId>, KeyError> {
        let contents = load::load_file(path, password, passwords)?;
        self.warnings.extend(contents.warnings);
        let mut ids = Vec::new();
        for cert in contents.certificates {
            ids.push(self.add_certificate(cert, path)?);
        }
        for key in contents.private_keys {
            ids.extend(self.add_private_key(key, path)?);
        }
        for key in contents.public_keys {
            ids.extend(self.add_public_key(key, path)?);
        }
        let mut seen = std::collections::HashSet::new();
        ids.retain(|id| seen.insert(*id));
        Ok(ids)
    }

    /// Adds a certificate, attaching a private key already loaded for the same public key.
    pub fn add_certificate(&mut self, cert: X509, source: &Path) -> Result<KeyId, KeyError> {
        let digest = cert.digest(openssl::hash::MessageDigest::sha1())?;
        if let Some(e) = self
            .entries
            .iter()
            .find(|e| e.thumbprint_sha1().is_some_and(|t| t[..] == digest[..]))
        {
            return Ok(e.id());
        }
        let public = cert.public_key()?;
        // A bare key waiting for its certificate takes it.
        if let Some(e) = self
            .entries
            .iter_mut()
            .find(|e| e.certificate().is_none() && e.public_ref().public_eq(&public))
        {
            e.set_certificate(cert, source)?;
            return Ok(e.id());
        }
        let id = self.entries.len();
        let mut entry = KeyEntry::from_certificate(id, cert, source)?;
        // Another certificate for the same key pair (a renewal) shares its private key.
        if let Some((key, key_source)) = self
            .entries
            .iter()
            .find(|e| e.has_private_key() && e.public_ref().public_eq(&public))
            .and_then(|e| {
                e.private_key().map(|p| {
                    (
                        p.pkey().to_owned(),
                        e.private_key_source().unwrap_or(e.source()).to_path_buf(),
                    )
                })
            })
        {
            entry.set_private(key, &key_source);
        }
        self.entries.push(entry);
        Ok(KeyId::Entry(id))
    }

    /// Adds a private key: attached to every entry with its public key that lacks one, or kept
    /// as a bare key until its certificate arrives.
    pub fn add_private_key(
        &mut self,
        key: PKey<Private>,
        source: &Path,
    ) -> Result<Vec<KeyId>, KeyError> {
        let mut ids = Vec::new();
        for e in self
            .entries
            .iter_mut()
            .filter(|e| e.public_ref().public_eq(&key))
        {
            if !e.has_private_key() {
                e.set_private(key.clone(), source);
            }
            ids.push(e.id());
        }
        if ids.is_empty() {
            let id = self.entries.len();
            self.entries.push(KeyEntry::from_private(id, key, source)?);
            ids.push(KeyId::Entry(id));
        }
        Ok(ids)
    }

    /// Adds a bare public key (for signature verification), unless already known.
    pub fn add_public_key(
        &mut self,
        key: PKey<Public>,
        source: &Path,
    ) -> Result<Vec<KeyId>, KeyError> {
        let known: Vec<KeyId> = self
            .entries
            .iter()
            .filter(|e| e.public_ref().public_eq(&key))
            .map(|e| e.id())
            .collect();
        if !known.is_empty() {
            return Ok(known);
        }
        let id = self.entries.len();
        self.entries.push(KeyEntry::from_public(id, key, source)?);
        Ok(vec![KeyId::Entry(id)])
    }

    /// Adds a raw symmetric key, optionally named.
    pub fn add_symmetric(&mut self, name: Option<&str>, key: Zeroizing<Vec<u8>>) -> KeyId {
        let id = self.symmetric.len();
        self.symmetric.push(SymmetricKey {
            name: name.map(str::to_string),
            key,
        });
        KeyId::Symmetric(id)
    }

    /// Adds (or replaces) the key of the SecurityContextToken with Identifier `id`.
    pub fn add_sct_key(&mut self, id: &str, key: Vec<u8>) {
        let key = Zeroizing::new(key);
        let id = id.trim();
        if let Some(existing) = self.sct.iter_mut().find(|s| s.id == id) {
            existing.key = key;
        } else {
            self.sct.push(SctKey {
                id: id.to_string(),
                key,
            });
        }
    }

    /// Parses `--sct-key ID=HEX` and adds it.
    pub fn add_sct_key_arg(&mut self, arg: &str) -> Result<(), KeyError> {
        let (id, key) = parse_sct_key_arg(arg)?;
        self.add_sct_key(&id, key.to_vec());
        Ok(())
    }

    // -- look-ups -------------------------------------------------------------------------

    /// The entry with this id.
    pub fn entry(&self, id: KeyId) -> Option<&KeyEntry> {
        match id {
            KeyId::Entry(i) => self.entries.get(i),
            KeyId::Symmetric(_) => None,
        }
    }

    /// The symmetric key with this id.
    pub fn symmetric_by_id(&self, id: KeyId) -> Option<&SymmetricKey> {
        match id {
            KeyId::Symmetric(i) => self.symmetric.get(i),
            KeyId::Entry(_) => None,
        }
    }

    /// The certificate whose SHA-1 thumbprint is `thumbprint` (20 bytes).
    pub fn find_by_thumbprint_sha1(&self, thumbprint: &[u8]) -> Option<&KeyEntry> {
        self.best(|e| e.thumbprint_sha1().is_some_and(|t| t[..] == *thumbprint))
    }

    /// The key whose SubjectKeyIdentifier is `ski`: the certificate extension, or the RFC 3280
    /// §4.2.1.2 method (1) or (2) value computed from the public key (either is accepted
    /// because senders without the extension differ in which one they compute).
    pub fn find_by_ski(&self, ski: &[u8]) -> Option<&KeyEntry> {
        self.best(|e| e.matches_ski(ski))
    }

    /// The certificate with this issuer DN (any common text form) and decimal serial number.
    pub fn find_by_issuer_serial(&self, issuer_dn: &str, serial: &str) -> Option<&KeyEntry> {
        let issuer = Dn::parse(issuer_dn).ok()?;
        let serial = serial.trim().trim_start_matches('+');
        // RFC 5280 serials are at most 20 octets (49 digits); allow slack, refuse megabytes.
        if serial.is_empty() || serial.len() > 200 || !serial.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let serial = BigNum::from_dec_str(serial).ok()?;
        let serial = serial.to_dec_str().ok()?;
        self.best(|e| {
            e.serial() == Some(serial.as_ref()) && e.issuer_dn().is_some_and(|d| *d == issuer)
        })
    }

    /// The entry holding this public key (e.g. a certificate from a BinarySecurityToken).
    pub fn find_by_public_key<T: HasPublic>(&self, key: &PKeyRef<T>) -> Option<&KeyEntry> {
        self.best(|e| e.public_ref().public_eq(key))
    }

    /// The symmetric key named `name` (exact, then ignoring surrounding whitespace).
    pub fn symmetric(&self, name: &str) -> Option<&SymmetricKey> {
        self.symmetric
            .iter()
            .find(|k| k.name.as_deref() == Some(name))
            .or_else(|| {
                self.symmetric
                    .iter()
                    .find(|k| k.name.as_deref().map(str::trim) == Some(name.trim()))
            })
    }

    /// The key of SCT `id` (exact, then ASCII case-insensitive: uuids are printed both ways).
    pub fn sct_key(&self, id: &str) -> Option<&[u8]> {
        let id = id.trim();
        self.sct
            .iter()
            .find(|s| s.id == id)
            .or_else(|| self.sct.iter().find(|s| s.id.eq_ignore_ascii_case(id)))
            .map(|s| s.key())
    }

    /// Every certificate/key entry, in load order.
    pub fn entries(&self) -> impl Iterator<Item = &KeyEntry> {
        self.entries.iter()
    }
    /// Every private key, for trying each when a reference cannot be resolved.
    pub fn private_keys(&self) -> impl Iterator<Item = PrivateKeyEntry<'_>> {
        self.entries.iter().filter_map(KeyEntry::private_key)
    }
    /// Every symmetric key, named or not.
    pub fn symmetric_keys(&self) -> impl Iterator<Item = &SymmetricKey> {
        self.symmetric.iter()
    }
    /// Every manually given SCT key.
    pub fn sct_keys(&self) -> impl Iterator<Item = &SctKey> {
        self.sct.iter()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.symmetric.is_empty() && self.sct.is_empty()
    }
    /// Non-fatal problems met while loading (skipped PEM blocks, …).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// First match, preferring entries that hold a private key.
    fn best(&self, pred: impl Fn(&KeyEntry) -> bool) -> Option<&KeyEntry> {
        let mut first = None;
        for e in self.entries.iter().filter(|e| pred(e)) {
            if e.has_private_key() {
                return Some(e);
            }
            first.get_or_insert(e);
        }
        first
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("entries", &self.entries)
            .field("symmetric", &self.symmetric)
            .field("sct", &self.sct)
            .finish()
    }
}
