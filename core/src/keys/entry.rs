//! Keyring entries: a certificate and/or an asymmetric key pair, with the identifiers
//! WS-Security uses to point at it, and the private-key operations XML Encryption needs.

use std::fmt;
use std::path::{Path, PathBuf};

use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::hash::{hash, MessageDigest};
use openssl::md::Md;
use openssl::pkey::{Id, PKey, PKeyRef, Private, Public};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::Padding;
use openssl::x509::{X509Ref, X509};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::der::spki_public_key_bits;
use super::dn::{x509_name_to_string, Dn};
use super::spec::to_hex;
use super::KeyError;

/// Index of an entry in its [`Keyring`](super::Keyring).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyId {
    /// A certificate and/or asymmetric key ([`KeyEntry`]).
    Entry(usize),
    /// A raw symmetric key ([`SymmetricKey`](super::SymmetricKey)).
    Symmetric(usize),
}

/// Certificate facts computed once when the certificate is added.
#[derive(Clone)]
struct CertInfo {
    cert: X509,
    thumbprint: [u8; 20],
    subject: String,
    issuer: String,
    issuer_dn: Dn,
    serial: String,
    ski_extension: Option<Vec<u8>>,
    not_before: Option<OffsetDateTime>,
    not_after: Option<OffsetDateTime>,
}

/// A certificate with or without its private key, or a bare key pair / public key.
#[derive(Clone)]
pub struct KeyEntry {
    pub(crate) id: usize,
    cert: Option<CertInfo>,
    public: PKey<Public>,
    private: Option<PKey<Private>>,
    source: PathBuf,
    private_key_source: Option<PathBuf>,
    /// RFC 3280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING value.
    ski_method1: Option<[u8; 20]>,
    /// Method (2): 0100 then the low 60 bits of that SHA-1.
    ski_method2: Option<[u8; 8]>,
}

impl KeyEntry {
    pub(crate) fn from_certificate(
        id: usize,
        cert: X509,
        source: &Path,
    ) -> Result<KeyEntry, KeyError> {
        let public = cert.public_key()?;
        let mut entry = KeyEntry::from_public(id, public, source)?;
        entry.set_certificate(cert, source)?;
        Ok(entry)
    }

    pub(crate) fn from_public(
        id: usize,
        public: PKey<Public>,
        source: &Path,
    ) -> Result<KeyEntry, KeyError> {
        let spki = public.public_key_to_der()?;
        let (ski_method1, ski_method2) = match spki_public_key_bits(&spki) {
            Some(bits) => {
                let digest = hash(MessageDigest::sha1(), bits)?;
                let mut m1 = [0u8; 20];
                m1.copy_from_slice(&digest);
                let mut m2 = [0u8; 8];
                m2.copy_from_slice(&m1[12..]);
                m2[0] = 0x40 | (m2[0] & 0x0f);
                (Some(m1), Some(m2))
            }
            None => (None, None),
        };
        Ok(KeyEntry {
            id,
            cert: None,
            public,
            private: None,
            source: source.to_path_buf(),
            private_key_source: None,
            ski_method1,
            ski_method2,
        })
    }

    pub(crate) fn from_private(
        id: usize,
        private: PKey<Private>,
        source: &Path,
    ) -> Result<KeyEntry, KeyError> {
        let public = public_of(&private)?;
        let mut entry = KeyEntry::from_public(id, public, source)?;
        entry.set_private(private, source);
        Ok(entry)
    }

    /// Attaches the certificate (its public key must be this entry's).
    pub(crate) fn set_certificate(&mut self, cert: X509, source: &Path) -> Result<(), KeyError> {
        let digest = cert.digest(MessageDigest::sha1())?;
        let mut thumbprint = [0u8; 20];
        thumbprint.copy_from_slice(&digest);
        let serial = cert.serial_number().to_bn()?.to_dec_str()?.to_string();
        self.cert = Some(CertInfo {
            thumbprint,
            subject: x509_name_to_string(cert.subject_name()),
            issuer: x509_name_to_string(cert.issuer_name()),
            issuer_dn: Dn::from_x509(cert.issuer_name()),
            serial,
            ski_extension: cert.subject_key_id().map(|s| s.as_slice().to_vec()),
            not_before: asn1_time(cert.not_before()),
            not_after: asn1_time(cert.not_after()),
            cert,
        });
        if self.private.is_some() {
            self.private_key_source =
                Some(std::mem::replace(&mut self.source, source.to_path_buf()));
        } else {
            self.source = source.to_path_buf();
        }
        Ok(())
    }

    pub(crate) fn set_private(&mut self, private: PKey<Private>, source: &Path) {
        self.private = Some(private);
        if source != self.source {
            self.private_key_source = Some(source.to_path_buf());
        }
    }

    /// This entry's id in its keyring.
    pub fn id(&self) -> KeyId {
        KeyId::Entry(self.id)
    }
    /// The X.509 certificate, if one was loaded for this key.
    pub fn certificate(&self) -> Option<&X509Ref> {
        self.cert.as_ref().map(|c| &*c.cert)
    }
    /// Subject DN, RFC 4514 order (`CN=…, O=…`); `None` without a certificate.
    pub fn subject(&self) -> Option<&str> {
        self.cert.as_ref().map(|c| c.subject.as_str())
    }
    /// Issuer DN, RFC 4514 order.
    pub fn issuer(&self) -> Option<&str> {
        self.cert.as_ref().map(|c| c.issuer.as_str())
    }
    /// Serial number in decimal (as `X509SerialNumber` carries it).
    pub fn serial(&self) -> Option<&str> {
        self.cert.as_ref().map(|c| c.serial.as_str())
    }
    /// SHA-1 over the certificate DER (what `KeyIdentifier ThumbprintSHA1` carries).
    pub fn thumbprint_sha1(&self) -> Option<[u8; 20]> {
        self.cert.as_ref().map(|c| c.thumbprint)
    }
    /// The thumbprint in lower-case hex.
    pub fn thumbprint_hex(&self) -> Option<String> {
        self.thumbprint_sha1().map(|t| to_hex(&t))
    }
    /// The SubjectKeyIdentifier extension if the certificate has one, else the RFC 3280
    /// method (1) identifier computed from the public key.
    pub fn ski(&self) -> Option<&[u8]> {
        self.cert
            .as_ref()
            .and_then(|c| c.ski_extension.as_deref())
            .or(self.ski_method1.as_ref().map(|s| &s[..]))
    }
    /// The SubjectKeyIdentifier extension only.
    pub fn ski_extension(&self) -> Option<&[u8]> {
        self.cert.as_ref().and_then(|c| c.ski_extension.as_deref())
    }
    /// Whether `ski` identifies this key: the extension, or either computed method.
    pub fn matches_ski(&self, ski: &[u8]) -> bool {
        !ski.is_empty()
            && (self.ski_extension() == Some(ski)
                || self.ski_method1.as_ref().is_some_and(|m| &m[..] == ski)
                || self.ski_method2.as_ref().is_some_and(|m| &m[..] == ski))
    }
    pub fn not_before(&self) -> Option<OffsetDateTime> {
        self.cert.as_ref().and_then(|c| c.not_before)
    }
    pub fn not_after(&self) -> Option<OffsetDateTime> {
        self.cert.as_ref().and_then(|c| c.not_after)
    }
    pub fn has_private_key(&self) -> bool {
        self.private.is_some()
    }
    /// The file the certificate (or the key, for a bare key) came from.
    pub fn source(&self) -> &Path {
        &self.source
    }
    /// The file the private key came from when that differs from [`Self::source`].
    pub fn private_key_source(&self) -> Option<&Path> {
        self.private_key_source.as_deref()
    }
    /// The public key (from the certificate, or derived from the private key).
    pub fn public_key(&self) -> PKey<Public> {
        self.public.clone()
    }
    pub(crate) fn public_ref(&self) -> &PKeyRef<Public> {
        &self.public
    }
    pub(crate) fn issuer_dn(&self) -> Option<&Dn> {
        self.cert.as_ref().map(|c| &c.issuer_dn)
    }
    /// The private key, if loaded.
    pub fn private_key(&self) -> Option<PrivateKeyEntry<'_>> {
        self.private
            .as_ref()
            .map(|key| PrivateKeyEntry { entry: self, key })
    }

    /// A short human label: the subject, or the key type and where it came from.
    pub fn label(&self) -> String {
        match self.subject() {
            Some(s) => s.to_string(),
            None => format!(
                "{} key from {}",
                key_kind(&self.public),
                self.source.display()
            ),
        }
    }
}

impl fmt::Display for KeyEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.label())?;
        if let Some(tp) = self.thumbprint_hex() {
            write!(f, " [{tp}]")?;
        }
        if self.has_private_key() {
            write!(f, " (private key)")?;
        }
        Ok(())
    }
}

impl fmt::Debug for KeyEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyEntry")
            .field("id", &self.id)
            .field("subject", &self.subject())
            .field("thumbprint_sha1", &self.thumbprint_hex())
            .field("key", &key_kind(&self.public))
            .field("has_private_key", &self.has_private_key())
            .field("source", &self.source)
            .finish()
    }
}

/// A borrowed view of an entry's private key, for the decryptions XML Encryption needs.
#[derive(Clone, Copy)]
pub struct PrivateKeyEntry<'a> {
    entry: &'a KeyEntry,
    key: &'a PKey<Private>,
}

impl<'a> PrivateKeyEntry<'a> {
    /// The entry (certificate facts) this key belongs to.
    pub fn entry(&self) -> &'a KeyEntry {
        self.entry
    }
    /// The matching public key.
    pub fn public_key(&self) -> PKey<Public> {
        self.entry.public_key()
    }
    /// The OpenSSL key, for operations this module does not wrap.
    pub fn pkey(&self) -> &'a PKeyRef<Private> {
        self.key
    }

    /// RSA-decrypts `ciphertext` (an EncryptedKey CipherValue) with the given padding.
    pub fn rsa_decrypt(
        &self,
        ciphertext: &[u8],
        padding: RsaPadding,
    ) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let label = self.entry.to_string();
        if self.key.id() != Id::RSA {
            return Err(KeyError::NotRsa {
                key: label,
                operation: "RSA decryption",
                kind: key_kind(&self.entry.public),
            });
        }
        let size = self.key.size();
        // Shorter is accepted: some senders drop leading zero octets of the ciphertext.
        if ciphertext.is_empty() || ciphertext.len() > size {
            return Err(KeyError::CiphertextLength {
                key: label,
                got: ciphertext.len(),
                expected: size,
            });
        }
        let fail = |e: openssl::error::ErrorStack| KeyError::Decrypt {
            key: label.clone(),
            padding: padding.to_string(),
            reason: e.to_string(),
        };
        let mut ctx = PkeyCtx::new(self.key).map_err(fail)?;
        ctx.decrypt_init().map_err(fail)?;
        match &padding {
            RsaPadding::Pkcs1v15 => ctx.set_rsa_padding(Padding::PKCS1).map_err(fail)?,
            RsaPadding::Oaep {
                digest,
                mgf1_digest,
                label,
            } => {
                ctx.set_rsa_padding(Padding::PKCS1_OAEP).map_err(fail)?;
                ctx.set_rsa_oaep_md(digest.md()).map_err(fail)?;
                ctx.set_rsa_mgf1_md(mgf1_digest.md()).map_err(fail)?;
                if let Some(l) = label.as_deref().filter(|l| !l.is_empty()) {
                    ctx.set_rsa_oaep_label(l).map_err(fail)?;
                }
            }
        }
        let mut out = Zeroizing::new(vec![0u8; size]);
        let n = ctx.decrypt(ciphertext, Some(&mut out[..])).map_err(fail)?;
        out.truncate(n);
        Ok(out)
    }
}

impl fmt::Debug for PrivateKeyEntry<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKeyEntry")
            .field("entry", self.entry)
            .finish()
    }
}

/// Digests for RSA-OAEP (XML Encryption 1.1 `ds:DigestMethod` and `xenc11:MGF`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OaepDigest {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl OaepDigest {
    fn md(self) -> &'static openssl::md::MdRef {
        match self {
            OaepDigest::Sha1 => Md::sha1(),
            OaepDigest::Sha224 => Md::sha224(),
            OaepDigest::Sha256 => Md::sha256(),
            OaepDigest::Sha384 => Md::sha384(),
            OaepDigest::Sha512 => Md::sha512(),
        }
    }
    fn name(self) -> &'static str {
        match self {
            OaepDigest::Sha1 => "SHA-1",
            OaepDigest::Sha224 => "SHA-224",
            OaepDigest::Sha256 => "SHA-256",
            OaepDigest::Sha384 => "SHA-384",
            OaepDigest::Sha512 => "SHA-512",
        }
    }
}

/// RSA key-transport padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RsaPadding {
    /// `xmlenc#rsa-1_5`.
    Pkcs1v15,
    /// `xmlenc#rsa-oaep-mgf1p` (SHA-1/MGF1-SHA-1 unless DigestMethod says otherwise) and
    /// `xmlenc11#rsa-oaep`. `label` is the `OAEPparams` octets.
    Oaep {
        digest: OaepDigest,
        mgf1_digest: OaepDigest,
        label: Option<Vec<u8>>,
    },
}

impl RsaPadding {
    /// The defaults of `rsa-oaep-mgf1p`: SHA-1 and MGF1 with SHA-1, no label.
    pub fn oaep_sha1() -> Self {
        RsaPadding::Oaep {
            digest: OaepDigest::Sha1,
            mgf1_digest: OaepDigest::Sha1,
            label: None,
        }
    }
}

impl fmt::Display for RsaPadding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RsaPadding::Pkcs1v15 => f.write_str("PKCS#1 v1.5"),
            RsaPadding::Oaep {
                digest,
                mgf1_digest,
                label,
            } => {
                write!(f, "OAEP {}/MGF1-{}", digest.name(), mgf1_digest.name())?;
                if label.as_ref().is_some_and(|l| !l.is_empty()) {
                    f.write_str(" with label")?;
                }
                Ok(())
            }
        }
    }
}

/// Public half of a private key.
pub(crate) fn public_of(private: &PKeyRef<Private>) -> Result<PKey<Public>, KeyError> {
    Ok(PKey::public_key_from_der(&private.public_key_to_der()?)?)
}

fn key_kind<T: openssl::pkey::HasPublic>(key: &PKeyRef<T>) -> String {
    let name = match key.id() {
        Id::RSA => "RSA",
        Id::RSA_PSS => "RSA-PSS",
        Id::DSA => "DSA",
        Id::EC => "EC",
        Id::ED25519 => "Ed25519",
        Id::ED448 => "Ed448",
        Id::DH => "DH",
        _ => "other",
    };
    format!("{name} {}-bit", key.bits())
}

fn asn1_time(t: &Asn1TimeRef) -> Option<OffsetDateTime> {
    let epoch = Asn1Time::from_unix(0).ok()?;
    let diff = epoch.diff(t).ok()?;
    let secs = i64::from(diff.days) * 86_400 + i64::from(diff.secs);
    OffsetDateTime::from_unix_timestamp(secs).ok()
}
