//! Reading one key file: format detection (PKCS#12, PEM, DER), passwords, and OpenSSL's legacy
//! provider for old PKCS#12 ciphers. Produces loose certificates and keys; pairing them up is
//! the keyring's job.
//!
//! OpenSSL is never called in a way that could prompt on the terminal by itself: every
//! encrypted object is decrypted with an explicit password (possibly empty).

use std::io::Read;
use std::path::Path;
use std::sync::OnceLock;

use base64::Engine;
use openssl::error::ErrorStack;
use openssl::pkcs12::{ParsedPkcs12_2, Pkcs12};
use openssl::pkcs7::Pkcs7;
use openssl::pkey::{PKey, Private, Public};
use openssl::provider::Provider;
use openssl::rsa::Rsa;
use openssl::x509::X509;
use zeroize::Zeroizing;

use super::der::{classify, pkcs12_key_bags, DerKind};
use super::password::PasswordSource;
use super::KeyError;

/// Largest key file read (bytes). A .pfx with a long chain is a few tens of KiB.
pub const MAX_KEY_FILE: u64 = 16 * 1024 * 1024;
/// Most objects taken from one file (PEM blocks, or certificates in a .pfx).
const MAX_OBJECTS: usize = 1000;
/// Most passwords asked from a [`PasswordSource`] for one file.
const MAX_SOURCE_ATTEMPTS: u32 = 8;

/// What one file contained.
#[derive(Default)]
pub(crate) struct FileContents {
    pub certificates: Vec<X509>,
    pub private_keys: Vec<PKey<Private>>,
    pub public_keys: Vec<PKey<Public>>,
    /// Things skipped or unreadable that did not stop the load.
    pub warnings: Vec<String>,
}

impl FileContents {
    fn is_empty(&self) -> bool {
        self.certificates.is_empty() && self.private_keys.is_empty() && self.public_keys.is_empty()
    }
}

/// Reads and parses `path`. `given` is the password from `PATH:PASSWORD`.
pub(crate) fn load_file(
    path: &Path,
    given: Option<&str>,
    source: &dyn PasswordSource,
) -> Result<FileContents, KeyError> {
    let data = read_bounded(path)?;
    let mut pw = Passwords {
        path,
        given,
        source,
        known: None,
    };
    let contents = if find(&data, b"-----BEGIN ").is_some() {
        load_pem(path, &data, &mut pw)?
    } else {
        load_der(path, &data, &mut pw)?
    };
    if contents.is_empty() {
        return Err(KeyError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(contents)
}

fn read_bounded(path: &Path) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut data = Zeroizing::new(Vec::new());
    file.take(MAX_KEY_FILE + 1)
        .read_to_end(&mut data)
        .map_err(io)?;
    if data.len() as u64 > MAX_KEY_FILE {
        return Err(KeyError::TooLarge {
            path: path.to_path_buf(),
            size: data.len() as u64,
            max: MAX_KEY_FILE,
        });
    }
    Ok(data)
}

// ---------------------------------------------------------------------------------------------
// Passwords

/// Outcome of trying one password.
enum Attempt<T> {
    Ok(T),
    WrongPassword,
    Fail(KeyError),
}

/// The password state of one file: the password that worked is reused for its other objects.
struct Passwords<'a> {
    path: &'a Path,
    given: Option<&'a str>,
    source: &'a dyn PasswordSource,
    known: Option<Zeroizing<String>>,
}

impl Passwords<'_> {
    /// Runs `f` with candidate passwords: the one that already worked for this file; else the
    /// given one only (a wrong explicit password is an error, not a reason to prompt); else the
    /// empty password (Windows exports "without" a password), then the source's answers.
    fn with_password<T>(&mut self, mut f: impl FnMut(&str) -> Attempt<T>) -> Result<T, KeyError> {
        if let Some(known) = self.known.clone() {
            if let Some(v) = self.try_one(known.as_str(), &mut f)? {
                return Ok(v);
            }
        }
        if let Some(given) = self.given {
            return match self.try_one(given, &mut f)? {
                Some(v) => Ok(v),
                None => Err(self.wrong()),
            };
        }
        if let Some(v) = self.try_one("", &mut f)? {
            return Ok(v);
        }
        let mut asked = false;
        for attempt in 0..MAX_SOURCE_ATTEMPTS {
            let Some(candidate) = self.source.password(self.path, attempt) else {
                break;
            };
            asked = true;
            if let Some(v) = self.try_one(candidate.as_str(), &mut f)? {
                return Ok(v);
            }
        }
        Err(if asked {
            self.wrong()
        } else {
            KeyError::PasswordRequired {
                path: self.path.to_path_buf(),
            }
        })
    }

    fn try_one<T>(
        &mut self,
        candidate: &str,
        f: &mut impl FnMut(&str) -> Attempt<T>,
    ) -> Result<Option<T>, KeyError> {
        if candidate.contains('\0') {
            return Err(KeyError::PasswordHasNul {
                path: self.path.to_path_buf(),
            });
        }
        match f(candidate) {
            Attempt::Ok(v) => {
                self.known = Some(Zeroizing::new(candidate.to_string()));
                Ok(Some(v))
            }
            Attempt::WrongPassword => Ok(None),
            Attempt::Fail(e) => Err(e),
        }
    }

    fn wrong(&self) -> KeyError {
        KeyError::WrongPassword {
            path: self.path.to_path_buf(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// OpenSSL's legacy provider

/// Loaded at most once per process and kept loaded: RC2-40 and friends stay available.
static LEGACY: OnceLock<Result<Provider, String>> = OnceLock::new();

/// Loads OpenSSL's legacy provider (keeping the default provider), once.
pub fn ensure_legacy_provider() -> Result<(), String> {
    LEGACY
        .get_or_init(|| Provider::try_load(None, "legacy", true).map_err(|e| e.to_string()))
        .as_ref()
        .map(|_| ())
        .map_err(Clone::clone)
}

/// Whether the legacy provider has been loaded by this process.
pub fn legacy_provider_loaded() -> bool {
    matches!(LEGACY.get(), Some(Ok(_)))
}

fn reason_contains(e: &ErrorStack, needle: &str) -> bool {
    e.errors().iter().any(|x| {
        x.reason()
            .is_some_and(|r| r.to_ascii_lowercase().contains(needle))
    })
}

/// OpenSSL 3 reports a cipher that lives only in the legacy provider as "unsupported".
fn needs_legacy(e: &ErrorStack) -> bool {
    reason_contains(e, "unsupported")
}

/// Runs `op`; if it failed for want of a legacy algorithm, loads the legacy provider and runs
/// it again. The outer error is the provider failing to load.
fn with_legacy<T>(
    path: &Path,
    mut op: impl FnMut() -> Result<T, ErrorStack>,
) -> Result<Result<T, ErrorStack>, KeyError> {
    match op() {
        Err(e) if needs_legacy(&e) && !legacy_provider_loaded() => {
            ensure_legacy_provider().map_err(|reason| KeyError::LegacyProviderUnavailable {
                path: path.to_path_buf(),
                reason,
            })?;
            Ok(op())
        }
        other => Ok(other),
    }
}

/// Decrypts an encrypted object: a failure after the legacy retry means a wrong password.
fn decrypt_attempt<T>(path: &Path, op: impl FnMut() -> Result<T, ErrorStack>) -> Attempt<T> {
    match with_legacy(path, op) {
        Ok(Ok(v)) => Attempt::Ok(v),
        Ok(Err(_)) => Attempt::WrongPassword,
        Err(e) => Attempt::Fail(e),
    }
}

// ---------------------------------------------------------------------------------------------
// PKCS#12

fn load_pkcs12(path: &Path, der: &[u8], pw: &mut Passwords<'_>) -> Result<FileContents, KeyError> {
    let parse_err = |e: ErrorStack| KeyError::Parse {
        path: path.to_path_buf(),
        what: "PKCS#12".into(),
        reason: e.to_string(),
    };
    let p12 = Pkcs12::from_der(der).map_err(parse_err)?;
    let parsed: ParsedPkcs12_2 = pw.with_password(|candidate| {
        // The MAC (HMAC-SHA1, always available) is checked before anything is decrypted, so a
        // MAC failure is a wrong password; anything else may be a legacy cipher.
        match with_legacy(path, || p12.parse2(candidate)) {
            Ok(Ok(p)) => Attempt::Ok(p),
            Ok(Err(e)) if is_wrong_pkcs12_password(&e) => Attempt::WrongPassword,
            Ok(Err(e)) => Attempt::Fail(parse_err(e)),
            Err(e) => Attempt::Fail(e),
        }
    })?;
    let mut out = FileContents::default();
    out.private_keys.extend(parsed.pkey);
    // OpenSSL returns only the first key; pick up the others (deduplicated by the keyring).
    let password = pw.known.clone().unwrap_or_default();
    let bags = pkcs12_key_bags(der);
    let mut bag_error = None;
    for bag in &bags {
        let key = if bag.shrouded {
            with_legacy(path, || {
                PKey::private_key_from_pkcs8_passphrase(bag.der, password.as_bytes())
            })
            .and_then(|r| r.map_err(KeyError::from))
        } else {
            PKey::private_key_from_der(bag.der).map_err(KeyError::from)
        };
        match key {
            Ok(k) if !out.private_keys.iter().any(|o| o.public_eq(&k)) => out.private_keys.push(k),
            Ok(_) => {}
            Err(e) => bag_error = Some(e),
        }
    }
    // A bag that failed only matters if it was not the key OpenSSL already returned.
    if let Some(e) = bag_error.filter(|_| out.private_keys.len() < bags.len()) {
        out.warnings.push(format!(
            "{}: {} of {} PKCS#12 key bags read; another failed: {e}",
            path.display(),
            out.private_keys.len(),
            bags.len()
        ));
    }
    out.certificates.extend(parsed.cert);
    if let Some(ca) = parsed.ca {
        let total = ca.len();
        out.certificates.extend(ca.into_iter().take(MAX_OBJECTS));
        if total > MAX_OBJECTS {
            out.warnings.push(format!(
                "{}: only the first {MAX_OBJECTS} of {total} certificates were read",
                path.display()
            ));
        }
    }
    Ok(out)
}

fn is_wrong_pkcs12_password(e: &ErrorStack) -> bool {
    reason_contains(e, "mac verify failure") || reason_contains(e, "bad decrypt")
}

// ---------------------------------------------------------------------------------------------
// DER

fn load_der(path: &Path, der: &[u8], pw: &mut Passwords<'_>) -> Result<FileContents, KeyError> {
    let Some(kind) = classify(der) else {
        return Err(KeyError::Unrecognized {
            path: path.to_path_buf(),
            reason: "no PEM header, and not a DER certificate, key, PKCS#7 or PKCS#12".into(),
        });
    };
    let mut out = FileContents::default();
    if kind == DerKind::Pkcs12 {
        return load_pkcs12(path, der, pw);
    }
    der_object(path, kind, der, pw, &mut out, "DER")?;
    Ok(out)
}

/// Parses one DER object of a known kind into `out`.
fn der_object(
    path: &Path,
    kind: DerKind,
    der: &[u8],
    pw: &mut Passwords<'_>,
    out: &mut FileContents,
    what: &str,
) -> Result<(), KeyError> {
    let parse_err = |thing: &str, e: ErrorStack| KeyError::Parse {
        path: path.to_path_buf(),
        what: format!("{what} {thing}"),
        reason: e.to_string(),
    };
    match kind {
        DerKind::Pkcs12 => {
            let inner = load_pkcs12(path, der, pw)?;
            out.certificates.extend(inner.certificates);
            out.private_keys.extend(inner.private_keys);
        }
        DerKind::Certificate => out
            .certificates
            .push(X509::from_der(der).map_err(|e| parse_err("certificate", e))?),
        DerKind::PrivateKey => out
            .private_keys
            .push(PKey::private_key_from_der(der).map_err(|e| parse_err("private key", e))?),
        DerKind::Pkcs7 => {
            let p7 = Pkcs7::from_der(der).map_err(|e| parse_err("PKCS#7", e))?;
            let certs = p7.signed().and_then(|s| s.certificates());
            for cert in certs.into_iter().flatten().take(MAX_OBJECTS) {
                out.certificates.push(cert.to_owned());
            }
        }
        DerKind::PublicKey => out
            .public_keys
            .push(PKey::public_key_from_der(der).map_err(|e| parse_err("public key", e))?),
        DerKind::EncryptedPkcs8 => {
            let key = pw.with_password(|candidate| {
                decrypt_attempt(path, || {
                    PKey::private_key_from_pkcs8_passphrase(der, candidate.as_bytes())
                })
            })?;
            out.private_keys.push(key);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// PEM

/// One `-----BEGIN LABEL-----` … `-----END LABEL-----` block.
struct PemBlock<'a> {
    label: String,
    /// The whole block, for OpenSSL's own PEM reader (legacy encrypted keys).
    text: &'a [u8],
    /// `Proc-Type: 4,ENCRYPTED` (OpenSSL's traditional encrypted PEM).
    legacy_encrypted: bool,
    base64: String,
}

fn load_pem(path: &Path, data: &[u8], pw: &mut Passwords<'_>) -> Result<FileContents, KeyError> {
    let blocks = pem_blocks(data).map_err(|reason| KeyError::Parse {
        path: path.to_path_buf(),
        what: "PEM".into(),
        reason,
    })?;
    let mut out = FileContents::default();
    for (n, block) in blocks.iter().enumerate() {
        let what = format!("PEM block {} ({})", n + 1, block.label);
        if block.legacy_encrypted {
            let key = pw.with_password(|candidate| {
                decrypt_attempt(path, || {
                    PKey::private_key_from_pem_passphrase(block.text, candidate.as_bytes())
                })
            })?;
            out.private_keys.push(key);
            continue;
        }
        let der = match base64::engine::general_purpose::STANDARD.decode(block.base64.as_bytes()) {
            Ok(der) => Zeroizing::new(der),
            Err(e) => {
                out.warnings
                    .push(format!("{}: {what}: bad base64: {e}", path.display()));
                continue;
            }
        };
        let kind = match block.label.as_str() {
            "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE" => DerKind::Certificate,
            "PRIVATE KEY" | "EC PRIVATE KEY" | "DSA PRIVATE KEY" => DerKind::PrivateKey,
            "RSA PRIVATE KEY" => {
                match Rsa::private_key_from_der(&der).and_then(PKey::from_rsa) {
                    Ok(key) => out.private_keys.push(key),
                    Err(e) => out
                        .warnings
                        .push(format!("{}: {what}: {e}", path.display())),
                }
                continue;
            }
            "RSA PUBLIC KEY" => {
                match Rsa::public_key_from_der_pkcs1(&der).and_then(PKey::from_rsa) {
                    Ok(key) => out.public_keys.push(key),
                    Err(e) => out
                        .warnings
                        .push(format!("{}: {what}: {e}", path.display())),
                }
                continue;
            }
            "ENCRYPTED PRIVATE KEY" => DerKind::EncryptedPkcs8,
            "PUBLIC KEY" => DerKind::PublicKey,
            "PKCS12" => DerKind::Pkcs12,
            "PKCS7" | "PKCS #7 SIGNED DATA" | "CERTIFICATE CHAIN" => DerKind::Pkcs7,
            _ => {
                out.warnings
                    .push(format!("{}: skipped {what}", path.display()));
                continue;
            }
        };
        match der_object(path, kind, &der, pw, &mut out, &what) {
            Ok(()) => {}
            // Password problems must reach the user; a malformed block only costs that block.
            Err(e @ KeyError::Parse { .. }) => out.warnings.push(e.to_string()),
            Err(e) => return Err(e),
        }
    }
    if out.is_empty() {
        if let Some(first) = out.warnings.first() {
            return Err(KeyError::Unrecognized {
                path: path.to_path_buf(),
                reason: first.clone(),
            });
        }
    }
    Ok(out)
}

/// Splits PEM text into blocks. Text between blocks (OpenSSL's "Bag Attributes", comments) is
/// ignored. Lines may end in CRLF.
fn pem_blocks(data: &[u8]) -> Result<Vec<PemBlock<'_>>, String> {
    let mut blocks = Vec::new();
    let mut offset = 0usize;
    let mut open: Option<(String, usize, bool, String, bool)> = None; // label, start, enc, b64, in_body
    for raw_line in data.split_inclusive(|&b| b == b'\n') {
        let line_start = offset;
        offset += raw_line.len();
        let line = trim_ascii(raw_line);
        match &mut open {
            None => {
                if let Some(label) = delimited(line, b"-----BEGIN ") {
                    if blocks.len() >= MAX_OBJECTS {
                        return Err(format!("more than {MAX_OBJECTS} PEM blocks"));
                    }
                    open = Some((label, line_start, false, String::new(), false));
                }
            }
            Some((label, start, encrypted, b64, in_body)) => {
                if let Some(end_label) = delimited(line, b"-----END ") {
                    if end_label != *label {
                        return Err(format!("PEM block BEGIN {label} ends with END {end_label}"));
                    }
                    blocks.push(PemBlock {
                        label: std::mem::take(label),
                        text: &data[*start..offset],
                        legacy_encrypted: *encrypted,
                        base64: std::mem::take(b64),
                    });
                    open = None;
                } else if !*in_body && line.contains(&b':') {
                    // RFC 1421 header such as "Proc-Type: 4,ENCRYPTED" or "DEK-Info: …".
                    let text = String::from_utf8_lossy(line).to_ascii_uppercase();
                    if text.starts_with("PROC-TYPE:") && text.contains("ENCRYPTED") {
                        *encrypted = true;
                    }
                } else if !line.is_empty() {
                    *in_body = true;
                    b64.push_str(&String::from_utf8_lossy(line));
                }
            }
        }
    }
    if let Some((label, ..)) = open {
        return Err(format!("PEM block BEGIN {label} has no END line"));
    }
    Ok(blocks)
}

/// `-----BEGIN LABEL-----` → `LABEL`.
fn delimited(line: &[u8], prefix: &[u8]) -> Option<String> {
    let rest = line.strip_prefix(prefix)?;
    let label = rest.strip_suffix(b"-----")?;
    Some(String::from_utf8_lossy(label).trim().to_string())
}

fn trim_ascii(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if first.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if last.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn pem_splitting() {
        let text = b"Bag Attributes\r\n    friendlyName: x\r\n-----BEGIN CERTIFICATE-----\r\nQUJD\r\nREVG\r\n-----END CERTIFICATE-----\r\njunk\n-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nQUJD\n-----END RSA PRIVATE KEY-----\n";
        let blocks = pem_blocks(text).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].label, "CERTIFICATE");
        assert_eq!(blocks[0].base64, "QUJDREVG");
        assert!(!blocks[0].legacy_encrypted);
        assert!(blocks[0].text.starts_with(b"-----BEGIN CERTIFICATE"));
        assert!(blocks[0].text.ends_with(b"-----END CERTIFICATE-----\r\n"));
        assert_eq!(blocks[1].label, "RSA PRIVATE KEY");
        assert!(blocks[1].legacy_encrypted);
        assert_eq!(blocks[1].base64, "QUJD");
    }

    #[test]
    fn pem_errors() {
        assert!(pem_blocks(b"-----BEGIN X-----\nQUJD\n").is_err());
        assert!(pem_blocks(b"-----BEGIN X-----\nQUJD\n-----END Y-----\n").is_err());
        assert!(pem_blocks(b"no blocks").unwrap().is_empty());
    }
}
