//! The keys the security stage works with: certificates (with their private keys when
//! given), raw symmetric keys, and manual SCT keys (`--sct-key ID=HEX`).
//!
//! A thin adapter: it loads `Options::keys` (`PATH[:PASSWORD]` for PEM, DER or PKCS#12, or
//! `hex:HEX`) with openssl and answers the lookups WS-Security needs (ThumbprintSHA1, SKI,
//! issuer + serial, private-key operations). Key bytes never leave through `Debug` or
//! messages; labels name the certificate subject and thumbprint only.

use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKey, Private, Public};
use openssl::x509::X509;
use std::path::Path;
use zeroize::Zeroizing;

/// Largest key file read.
const MAX_KEY_FILE: u64 = 1024 * 1024;

/// One certificate and/or private key.
pub struct KeyEntry {
    pub cert: Option<X509>,
    pub private: Option<PKey<Private>>,
    pub label: String,
}

impl KeyEntry {
    pub fn thumbprint(&self) -> Option<Vec<u8>> {
        self.cert
            .as_ref()
            .and_then(|c| c.digest(MessageDigest::sha1()).ok())
            .map(|d| d.to_vec())
    }

    /// The SubjectKeyIdentifier extension value.
    pub fn ski(&self) -> Option<Vec<u8>> {
        self.cert
            .as_ref()
            .and_then(|c| c.subject_key_id())
            .map(|s| s.as_slice().to_vec())
    }

    pub fn public_key(&self) -> Option<PKey<Public>> {
        if let Some(c) = &self.cert {
            return c.public_key().ok();
        }
        let der = self.private.as_ref()?.public_key_to_der().ok()?;
        PKey::public_key_from_der(&der).ok()
    }
}

/// Everything loaded from the options.
#[derive(Default)]
pub struct KeyStore {
    pub entries: Vec<KeyEntry>,
    pub symmetric: Vec<Zeroizing<Vec<u8>>>,
    /// (SCT Identifier, key).
    pub sct_keys: Vec<(String, Zeroizing<Vec<u8>>)>,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStore")
            .field(
                "entries",
                &self
                    .entries
                    .iter()
                    .map(|e| e.label.clone())
                    .collect::<Vec<_>>(),
            )
            .field("symmetric", &self.symmetric.len())
            .field(
                "sct_keys",
                &self
                    .sct_keys
                    .iter()
                    .map(|(i, _)| i.clone())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// A certificate's label: subject CN (or whole subject) and SHA-1 thumbprint.
pub fn cert_label(cert: &X509) -> String {
    let cn = cert
        .subject_name()
        .entries_by_nid(Nid::COMMONNAME)
        .next()
        .and_then(|e| e.data().to_string().ok())
        .map(|s| s.to_string())
        .unwrap_or_else(|| "(no CN)".into());
    let tp = cert
        .digest(MessageDigest::sha1())
        .map(|d| d.iter().map(|b| format!("{b:02x}")).collect::<String>())
        .unwrap_or_default();
    format!("CN={cn} (thumbprint {tp})")
}

impl KeyStore {
    /// Loads every key spec; each problem is returned as a message (no secret in it).
    pub fn load(specs: &[String], sct_keys: &[(String, Vec<u8>)]) -> (KeyStore, Vec<String>) {
        let mut ks = KeyStore::default();
        let mut problems = Vec::new();
        for spec in specs {
            if let Err(e) = ks.load_spec(spec) {
                problems.push(e);
            }
        }
        for (id, key) in sct_keys {
            ks.sct_keys
                .push((id.trim().to_string(), Zeroizing::new(key.clone())));
        }
        (ks, problems)
    }

    fn load_spec(&mut self, spec: &str) -> Result<(), String> {
        if let Some(hex) = spec.strip_prefix("hex:") {
            let bytes = decode_hex(hex).ok_or_else(|| "a hex: key is not valid hex".to_string())?;
            self.symmetric.push(Zeroizing::new(bytes));
            return Ok(());
        }
        let (path, password) = if Path::new(spec).exists() {
            (spec, None)
        } else {
            match spec.rsplit_once(':') {
                Some((p, pw)) => (p, Some(pw)),
                None => (spec, None),
            }
        };
        let password = password
            .map(str::to_string)
            .or_else(|| std::env::var("WCFSCOPE_KEY_PASSWORD").ok());
        let bytes = read_bounded(path)?;
        self.load_bytes(
            path,
            &bytes,
            password.as_deref().map(|p| Zeroizing::new(p.to_string())),
        )
    }

    fn load_bytes(
        &mut self,
        path: &str,
        bytes: &[u8],
        password: Option<Zeroizing<String>>,
    ) -> Result<(), String> {
        let pw = password.as_deref().map(|s| s.as_str()).unwrap_or("");
        let mut certs: Vec<X509> = Vec::new();
        let mut keys: Vec<PKey<Private>> = Vec::new();
        if bytes.windows(11).any(|w| w == b"-----BEGIN ") {
            certs = X509::stack_from_pem(bytes).unwrap_or_default();
            let key = if password.is_some() {
                PKey::private_key_from_pem_passphrase(bytes, pw.as_bytes()).ok()
            } else {
                PKey::private_key_from_pem(bytes).ok()
            };
            keys.extend(key);
        } else if let Ok(p12) = Pkcs12::from_der(bytes) {
            let parsed = p12
                .parse2(pw)
                .map_err(|_| format!("{path}: cannot open the PKCS#12 file (wrong password or unsupported encryption)"))?;
            certs.extend(parsed.cert);
            keys.extend(parsed.pkey);
        } else if let Ok(c) = X509::from_der(bytes) {
            certs.push(c);
        } else if let Ok(k) = PKey::private_key_from_der(bytes) {
            keys.push(k);
        } else {
            return Err(format!(
                "{path}: not a PEM, DER or PKCS#12 key or certificate"
            ));
        }
        if certs.is_empty() && keys.is_empty() {
            return Err(format!(
                "{path}: holds no certificate or private key that could be read"
            ));
        }
        for cert in certs {
            let pos = keys
                .iter()
                .position(|k| cert.public_key().is_ok_and(|p| p.public_eq(k)));
            let private = pos.map(|i| keys.remove(i));
            // Its private key may have come earlier, in a file of its own.
            if let Some(e) = self.entries.iter_mut().find(|e| {
                e.cert.is_none()
                    && e.private
                        .as_ref()
                        .is_some_and(|k| cert.public_key().is_ok_and(|p| p.public_eq(k)))
            }) {
                e.label = cert_label(&cert);
                e.cert = Some(cert);
                continue;
            }
            self.entries.push(KeyEntry {
                label: cert_label(&cert),
                cert: Some(cert),
                private,
            });
        }
        for k in keys {
            // A private key whose certificate came in another file: attach it there.
            if let Some(e) = self.entries.iter_mut().find(|e| {
                e.private.is_none()
                    && e.cert
                        .as_ref()
                        .and_then(|c| c.public_key().ok())
                        .is_some_and(|p| p.public_eq(&k))
            }) {
                e.private = Some(k);
            } else {
                self.entries.push(KeyEntry {
                    cert: None,
                    private: Some(k),
                    label: format!("private key from {path}"),
                });
            }
        }
        Ok(())
    }

    pub fn by_thumbprint(&self, tp: &[u8]) -> Option<&KeyEntry> {
        self.entries
            .iter()
            .find(|e| e.thumbprint().as_deref() == Some(tp))
    }

    pub fn by_ski(&self, ski: &[u8]) -> Option<&KeyEntry> {
        self.entries
            .iter()
            .find(|e| e.ski().as_deref() == Some(ski))
    }

    /// Issuer DN as written in X509IssuerName is compared loosely (attribute values in any
    /// order / spacing); the serial as a decimal number.
    pub fn by_issuer_serial(&self, issuer: &str, serial: &str) -> Option<&KeyEntry> {
        let want = normalize_dn(issuer);
        self.entries.iter().find(|e| {
            e.cert.as_ref().is_some_and(|c| {
                let s = c
                    .serial_number()
                    .to_bn()
                    .ok()
                    .and_then(|b| b.to_dec_str().ok())
                    .map(|d| d.to_string());
                let iss: Vec<String> = c
                    .issuer_name()
                    .entries()
                    .filter_map(|en| en.data().to_string().ok())
                    .collect();
                s.as_deref() == Some(serial.trim())
                    && iss.iter().all(|v| want.contains(&v.to_lowercase()))
            })
        })
    }

    /// An entry whose certificate has the same public key.
    pub fn by_public_key(&self, key: &PKey<Public>) -> Option<&KeyEntry> {
        self.entries
            .iter()
            .find(|e| e.public_key().is_some_and(|p| p.public_eq(key)))
    }

    pub fn sct_key(&self, identifier: &str) -> Option<&Zeroizing<Vec<u8>>> {
        self.sct_keys
            .iter()
            .find(|(i, _)| i == identifier)
            .map(|(_, k)| k)
    }
}

fn normalize_dn(dn: &str) -> String {
    dn.to_lowercase()
}

fn read_bounded(path: &str) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|e| format!("cannot open key file {path}: {e}"))?;
    let mut bytes = Vec::new();
    f.take(MAX_KEY_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read key file {path}: {e}"))?;
    if bytes.len() as u64 > MAX_KEY_FILE {
        return Err(format!(
            "{path}: larger than {MAX_KEY_FILE} bytes, not a key file"
        ));
    }
    Ok(bytes)
}

/// Hex to bytes (whitespace and ':' ignored).
pub fn decode_hex(s: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = s
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b':')
        .collect();
    if digits.len() % 2 != 0 {
        return None;
    }
    digits
        .chunks(2)
        .map(|p| {
            let h = (p[0] as char).to_digit(16)?;
            let l = (p[1] as char).to_digit(16)?;
            Some((h * 16 + l) as u8)
        })
        .collect()
}

pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
