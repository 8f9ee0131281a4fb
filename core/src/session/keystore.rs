//! The keys the security stage works with, over the project keyring ([`crate::keys`]):
//! certificates (with their private keys when given), raw symmetric keys, and manual SCT
//! keys (`--sct-key ID=HEX`).
//!
//! A thin adapter: it loads `Options::keys` into a [`Keyring`] and answers the lookups
//! WS-Security needs (ThumbprintSHA1, SKI, issuer + serial, public key) as [`Found`] keys.
//! Key bytes never leave through `Debug` or messages; labels name the certificate subject and
//! thumbprint only.

use crate::keys::{KeyEntry, KeySpec, Keyring, StandardPasswords};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private, Public};
use openssl::x509::X509;
use zeroize::Zeroizing;

/// A keyring entry as the resolver uses it.
pub struct Found {
    pub public: PKey<Public>,
    pub private: Option<PKey<Private>>,
    pub label: String,
}

/// Everything loaded from the options.
#[derive(Default)]
pub struct KeyStore {
    ring: Keyring,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The keyring's Debug shows subjects and thumbprints only.
        f.debug_struct("KeyStore")
            .field("entries", &self.ring.entries().count())
            .finish()
    }
}

/// A certificate's label: subject CN (or "(no CN)") and SHA-1 thumbprint.
pub fn cert_label(cert: &X509) -> String {
    let cn = cert
        .subject_name()
        .entries_by_nid(Nid::COMMONNAME)
        .next()
        .and_then(|e| e.data().to_string().ok())
        .unwrap_or_else(|| "(no CN)".into());
    let tp = cert
        .digest(MessageDigest::sha1())
        .map(|d| to_hex(&d))
        .unwrap_or_default();
    format!("CN={cn} (thumbprint {tp})")
}

fn found(e: &KeyEntry) -> Found {
    let label = match e.thumbprint_hex() {
        Some(tp) => format!("{} (thumbprint {tp})", e.label()),
        None => e.label(),
    };
    Found {
        public: e.public_key(),
        private: e.private_key().map(|p| p.pkey().to_owned()),
        label,
    }
}

impl KeyStore {
    /// Loads every key spec and manual SCT key; each problem is returned as a message (no
    /// secret in it).
    pub fn load(
        specs: &[String],
        sct_keys: &[(String, Zeroizing<Vec<u8>>)],
    ) -> (KeyStore, Vec<String>) {
        let mut ring = Keyring::new();
        let mut problems = Vec::new();
        for spec in specs {
            match KeySpec::parse(spec) {
                Ok(s) => {
                    if let Err(e) = ring.load(&s, &StandardPasswords) {
                        problems.push(format!("key not loaded: {e}"));
                    }
                }
                Err(e) => problems.push(format!("key not loaded: {e}")),
            }
        }
        problems.extend(ring.warnings().iter().cloned());
        for (id, key) in sct_keys {
            ring.add_sct_key(id.trim(), key.to_vec());
        }
        (KeyStore { ring }, problems)
    }

    pub fn by_thumbprint(&self, tp: &[u8]) -> Option<Found> {
        self.ring.find_by_thumbprint_sha1(tp).map(found)
    }

    pub fn by_ski(&self, ski: &[u8]) -> Option<Found> {
        self.ring.find_by_ski(ski).map(found)
    }

    pub fn by_issuer_serial(&self, issuer: &str, serial: &str) -> Option<Found> {
        self.ring.find_by_issuer_serial(issuer, serial).map(found)
    }

    /// The entry holding the same public key (e.g. the certificate of a BinarySecurityToken).
    pub fn by_public_key(&self, key: &PKey<Public>) -> Option<Found> {
        self.ring.find_by_public_key(key).map(found)
    }

    /// A manual SCT key (`--sct-key`).
    pub fn sct_key(&self, identifier: &str) -> Option<Zeroizing<Vec<u8>>> {
        self.ring
            .sct_key(identifier)
            .map(|k| Zeroizing::new(k.to_vec()))
    }

    /// Every manual SCT key: (Identifier, key).
    pub fn sct_keys(&self) -> Vec<(String, Zeroizing<Vec<u8>>)> {
        self.ring
            .sct_keys()
            .map(|k| (k.id().to_string(), Zeroizing::new(k.key().to_vec())))
            .collect()
    }
}

pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
