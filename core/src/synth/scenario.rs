//! What to generate: the [`Scenario`] (builder with WCF's defaults) and the credentials it
//! uses ([`Pki`]).

use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKey, Private, Public};
use openssl::x509::X509;
use std::fmt;

use super::crypto::{BlockAlg, HashAlg};
use super::SynthError;
use crate::model::ScVersion;

/// WCF `SecurityAlgorithmSuite` values (spec §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlgorithmSuite {
    /// AES-256-CBC, HMAC-SHA1, SHA-1, RSA-OAEP; DKT signature 24 / encryption 32 bytes.
    Basic256,
    /// AES-128-CBC, HMAC-SHA1, SHA-1; all keys 16 bytes.
    Basic128,
    /// 3DES-CBC, HMAC-SHA1, SHA-1; all keys 24 bytes.
    TripleDes,
    /// AES-256-CBC, HMAC-SHA256, SHA-256, RSA-SHA256 endorsing; DKT 24 / 32 bytes.
    Basic256Sha256,
}

pub const XMLENC: &str = "http://www.w3.org/2001/04/xmlenc#";
pub const XMLDSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
pub const XMLDSIG_MORE: &str = "http://www.w3.org/2001/04/xmldsig-more#";

impl AlgorithmSuite {
    pub fn block(self) -> BlockAlg {
        match self {
            AlgorithmSuite::Basic256 | AlgorithmSuite::Basic256Sha256 => BlockAlg::Aes256,
            AlgorithmSuite::Basic128 => BlockAlg::Aes128,
            AlgorithmSuite::TripleDes => BlockAlg::TripleDes,
        }
    }
    pub fn block_uri(self) -> String {
        let n = match self.block() {
            BlockAlg::Aes256 => "aes256-cbc",
            BlockAlg::Aes128 => "aes128-cbc",
            BlockAlg::TripleDes => "tripledes-cbc",
        };
        format!("{XMLENC}{n}")
    }
    /// Digest and HMAC/RSA signature hash.
    pub fn hash(self) -> HashAlg {
        match self {
            AlgorithmSuite::Basic256Sha256 => HashAlg::Sha256,
            _ => HashAlg::Sha1,
        }
    }
    pub fn digest_uri(self) -> String {
        match self.hash() {
            HashAlg::Sha1 => format!("{XMLDSIG}sha1"),
            HashAlg::Sha256 => format!("{XMLENC}sha256"),
        }
    }
    pub fn hmac_uri(self) -> String {
        match self.hash() {
            HashAlg::Sha1 => format!("{XMLDSIG}hmac-sha1"),
            HashAlg::Sha256 => format!("{XMLDSIG_MORE}hmac-sha256"),
        }
    }
    pub fn rsa_sig_uri(self) -> String {
        match self.hash() {
            HashAlg::Sha1 => format!("{XMLDSIG}rsa-sha1"),
            HashAlg::Sha256 => format!("{XMLDSIG_MORE}rsa-sha256"),
        }
    }
    /// Bytes of the SCT key, of the EncryptedKey's random key, and of client/server entropy.
    pub fn key_len(self) -> usize {
        match self {
            AlgorithmSuite::Basic128 => 16,
            AlgorithmSuite::TripleDes => 24,
            _ => 32,
        }
    }
    pub fn sig_dkt_len(self) -> usize {
        match self {
            AlgorithmSuite::Basic128 => 16,
            _ => 24,
        }
    }
    pub fn enc_dkt_len(self) -> usize {
        match self {
            AlgorithmSuite::Basic128 => 16,
            AlgorithmSuite::TripleDes => 24,
            _ => 32,
        }
    }
}

/// `clientCredentialType` of wsHttpBinding message security (spec §7).
#[derive(Clone, PartialEq, Eq)]
pub enum ClientCredential {
    /// AnonymousForCertificate.
    None,
    /// MutualCertificate (WSS 1.1): the client certificate as a BinarySecurityToken with an
    /// endorsing RSA signature over the primary signature.
    Certificate,
    /// UserNameForCertificate: an encrypted, signed UsernameToken supporting token.
    UserName { username: String, password: String },
}

impl fmt::Debug for ClientCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientCredential::None => f.write_str("None"),
            ClientCredential::Certificate => f.write_str("Certificate"),
            ClientCredential::UserName { username, .. } => {
                write!(f, "UserName({username}, password hidden)")
            }
        }
    }
}

/// How CBC padding bytes other than the last one are filled (XML Encryption allows any).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockPadding {
    /// Every pad byte = pad length, as WCF writes.
    Pkcs7,
    /// Random pad bytes, last byte = pad length.
    Random,
}

/// Deliberate damage to one request, so tests know what must fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TamperKind {
    /// One ciphertext byte of the Body's EncryptedData flipped (after the IV): the body no
    /// longer decrypts to what was signed (bad padding or Body digest mismatch).
    BodyCiphertextFlip,
    /// The text of the signed `a:To` header changed after signing: its digest fails.
    SignedHeaderAltered,
    /// The Body reference carries a wrong DigestValue, but SignedInfo is HMAC'd as sent: the
    /// signature value verifies, the Body digest does not.
    WrongDigest,
    /// XML signature wrapping: the signed (encrypted) Body is moved into a header and a new,
    /// unsigned, clear `s:Body` with other content takes its place. Digests still verify
    /// against the moved element; a verifier must notice the Body shown is not the signed one.
    SignatureWrapping,
}

/// Which request to damage: the `call`-th application request (0-based) of session
/// `session` (0-based; 0 in sessionless scenarios).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tamper {
    pub session: usize,
    pub call: usize,
    pub kind: TamperKind,
}

/// One generated conversation. `Scenario::default()` is wsHttpBinding's defaults: Basic256,
/// Feb2005, secure session on, anonymous client, 4 calculator calls, Cancel at the end.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub suite: AlgorithmSuite,
    pub credential: ClientCredential,
    pub version: ScVersion,
    /// `establishSecurityContext`: true → RST/SCT bootstrap and SCT-protected calls; false →
    /// every request carries its own EncryptedKey.
    pub secure_session: bool,
    /// Application calls per session (calculator Add, Subtract, Multiply, Divide, cycling).
    pub calls: usize,
    /// Wrap EncryptedKeys with `rsa-1_5` (the suite's `…Rsa15` variant) instead of RSA-OAEP.
    pub rsa15: bool,
    /// Renew the session key (RST/SCT/Renew) after this many calls (session mode only).
    pub renew_after: Option<usize>,
    /// Close each session with RST/SCT/Cancel (session mode only).
    pub cancel: bool,
    /// Number of sessions (1 or 2), each on its own TCP connection, their messages interleaved.
    pub sessions: usize,
    pub tamper: Vec<Tamper>,
    /// Time of the first packet, seconds since the Unix epoch.
    pub start_unix_secs: i64,
    /// Seed of every random value except RSA-OAEP padding; None = fresh randomness.
    pub seed: Option<u64>,
    /// Add `action="…"` to the request Content-Type (the .NET Framework only does that for
    /// bindings without WS-Addressing, spec §13; parsers must handle both).
    pub http_action_param: bool,
    /// First request on each connection sends `Expect: 100-continue` and gets `100 Continue`.
    pub expect_continue: bool,
    /// IPv6 addresses instead of IPv4.
    pub ipv6: bool,
    pub padding: BlockPadding,
    /// Answer each tampered request with the unsecured SOAP fault (HTTP 500) a WCF service
    /// returns when security processing fails, instead of a normal secured response. Later
    /// calls of the session still go through (as if the fault were for that call only).
    pub fault_on_tamper: bool,
    /// Endpoint address (`a:To`); its host/path also go into the HTTP request.
    pub service_url: String,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            suite: AlgorithmSuite::Basic256,
            credential: ClientCredential::None,
            version: ScVersion::Feb2005,
            secure_session: true,
            calls: 4,
            cancel: true,
            renew_after: None,
            rsa15: false,
            sessions: 1,
            tamper: Vec::new(),
            // 2024-05-01T10:00:00Z
            start_unix_secs: 1_714_557_600,
            seed: Some(1),
            http_action_param: true,
            expect_continue: false,
            ipv6: false,
            padding: BlockPadding::Pkcs7,
            fault_on_tamper: true,
            service_url: "http://calculator.demo.wcfscope/ServiceModelSamples/service.svc"
                .to_string(),
        }
    }
}

impl Scenario {
    pub fn suite(mut self, s: AlgorithmSuite) -> Self {
        self.suite = s;
        self
    }
    pub fn credential(mut self, c: ClientCredential) -> Self {
        self.credential = c;
        self
    }
    pub fn version(mut self, v: ScVersion) -> Self {
        self.version = v;
        self
    }
    pub fn secure_session(mut self, on: bool) -> Self {
        self.secure_session = on;
        self
    }
    pub fn calls(mut self, n: usize) -> Self {
        self.calls = n;
        self
    }
    pub fn cancel(mut self, on: bool) -> Self {
        self.cancel = on;
        self
    }
    pub fn rsa15(mut self, on: bool) -> Self {
        self.rsa15 = on;
        self
    }
    pub fn renew_after(mut self, calls: Option<usize>) -> Self {
        self.renew_after = calls;
        self
    }
    pub fn sessions(mut self, n: usize) -> Self {
        self.sessions = n;
        self
    }
    pub fn tamper(mut self, session: usize, call: usize, kind: TamperKind) -> Self {
        self.tamper.push(Tamper {
            session,
            call,
            kind,
        });
        self
    }
    pub fn start(mut self, unix_secs: i64) -> Self {
        self.start_unix_secs = unix_secs;
        self
    }
    pub fn seed(mut self, seed: Option<u64>) -> Self {
        self.seed = seed;
        self
    }
    pub fn http_action_param(mut self, on: bool) -> Self {
        self.http_action_param = on;
        self
    }
    pub fn expect_continue(mut self, on: bool) -> Self {
        self.expect_continue = on;
        self
    }
    pub fn ipv6(mut self, on: bool) -> Self {
        self.ipv6 = on;
        self
    }
    pub fn fault_on_tamper(mut self, on: bool) -> Self {
        self.fault_on_tamper = on;
        self
    }
    pub fn padding(mut self, p: BlockPadding) -> Self {
        self.padding = p;
        self
    }
}

/// A certificate with its private key.
pub struct Credential {
    pub cert: X509,
    pub key: PKey<Private>,
}

impl Credential {
    pub fn public_key(&self) -> Result<PKey<Public>, SynthError> {
        self.cert
            .public_key()
            .map_err(|e| SynthError::Crypto(format!("certificate public key: {e}")))
    }
    /// SHA-1 of the DER certificate (what `ThumbprintSHA1` carries).
    pub fn thumbprint_sha1(&self) -> Result<Vec<u8>, SynthError> {
        let der = self
            .cert
            .to_der()
            .map_err(|e| SynthError::Crypto(format!("certificate DER: {e}")))?;
        super::crypto::digest(HashAlg::Sha1, &der)
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tp = self
            .thumbprint_sha1()
            .map(|t| t.iter().map(|b| format!("{b:02x}")).collect::<String>());
        write!(
            f,
            "Credential(thumbprint {})",
            tp.unwrap_or_else(|_| "?".into())
        )
    }
}

/// The service certificate (whose public key wraps the EncryptedKeys) and the client
/// certificate (used when the client credential is Certificate).
#[derive(Debug)]
pub struct Pki {
    pub service: Credential,
    pub client: Credential,
}

/// Password of the committed demo `.pfx` files (documented in `assets/demo-pki/README.md`).
pub const DEMO_PFX_PASSWORD: &str = "wcfscope-demo";

impl Pki {
    /// The committed demo PKI (`assets/demo-pki/`), compiled in.
    pub fn demo() -> Result<Pki, SynthError> {
        Ok(Pki {
            service: load_pfx(
                include_bytes!("../../../assets/demo-pki/service.pfx"),
                DEMO_PFX_PASSWORD,
            )?,
            client: load_pfx(
                include_bytes!("../../../assets/demo-pki/client.pfx"),
                DEMO_PFX_PASSWORD,
            )?,
        })
    }
}

/// Reads a PKCS#12 file holding one certificate and its private key.
pub fn load_pfx(der: &[u8], password: &str) -> Result<Credential, SynthError> {
    let p = Pkcs12::from_der(der)
        .and_then(|p| p.parse2(password))
        .map_err(|e| SynthError::Crypto(format!("PKCS#12: {e}")))?;
    match (p.cert, p.pkey) {
        (Some(cert), Some(key)) => Ok(Credential { cert, key }),
        _ => Err(SynthError::Crypto(
            "PKCS#12 lacks a certificate or a private key".into(),
        )),
    }
}
