//! Errors of the keyring: each names the file (as the user typed it) and the reason.

use std::path::PathBuf;

/// Everything that can go wrong while parsing a key argument, loading a key file or using a key.
///
/// Messages never contain key bytes or passwords.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The `--key` / `--sct-key` argument does not follow the grammar.
    #[error("bad key argument: {0}")]
    BadSpec(String),
    /// A hex string could not be decoded.
    #[error("bad hex in {what}: {reason}")]
    BadHex { what: String, reason: String },
    /// The key file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The key file is larger than any key file has a reason to be.
    #[error("{} is {size} bytes; key files over {max} bytes are refused", path.display())]
    TooLarge { path: PathBuf, size: u64, max: u64 },
    /// The password given (argument, environment or prompt) does not open the file.
    #[error("wrong password for {}", path.display())]
    WrongPassword { path: PathBuf },
    /// The file is encrypted and no password could be obtained (no `:PASSWORD`, no
    /// `WCFSCOPE_KEY_PASSWORD`, no terminal to prompt on).
    #[error("{} is password-protected and no password was given (use PATH:PASSWORD or WCFSCOPE_KEY_PASSWORD)", path.display())]
    PasswordRequired { path: PathBuf },
    /// The password contains a NUL character, which OpenSSL cannot take.
    #[error("the password for {} contains a NUL character", path.display())]
    PasswordHasNul { path: PathBuf },
    /// The file uses a legacy algorithm (RC2-40, …) and OpenSSL's legacy provider is missing.
    #[error("{} uses a legacy algorithm (e.g. RC2-40, typical of Windows .pfx exports) and OpenSSL's legacy provider could not be loaded: {reason}", path.display())]
    LegacyProviderUnavailable { path: PathBuf, reason: String },
    /// The file is none of the formats the keyring reads.
    #[error("{} is not a PKCS#12, PEM or DER certificate/key file: {reason}", path.display())]
    Unrecognized { path: PathBuf, reason: String },
    /// The file was recognised but an object in it did not parse.
    #[error("{}: cannot parse {what}: {reason}", path.display())]
    Parse {
        path: PathBuf,
        what: String,
        reason: String,
    },
    /// The file parsed but held no certificate or key.
    #[error("{} holds no certificate or key", path.display())]
    Empty { path: PathBuf },
    /// A private-key operation needs an RSA key.
    #[error("{key}: {operation} needs an RSA key, this is {kind}")]
    NotRsa {
        key: String,
        operation: &'static str,
        kind: String,
    },
    /// RSA ciphertext of the wrong size.
    #[error("{key}: RSA ciphertext is {got} bytes, the key's modulus is {expected} bytes")]
    CiphertextLength {
        key: String,
        got: usize,
        expected: usize,
    },
    /// The RSA decryption itself failed (wrong key, wrong padding or corrupt data).
    #[error("{key}: RSA decryption ({padding}) failed: {reason}")]
    Decrypt {
        key: String,
        padding: String,
        reason: String,
    },
    /// A P_SHA1 derivation asked for more bytes than the bound allows.
    #[error("P_SHA1: offset {offset} + length {length} exceeds the {max}-byte bound")]
    DerivationTooLong {
        offset: usize,
        length: usize,
        max: usize,
    },
    /// An OpenSSL call failed outside the cases above.
    #[error("OpenSSL: {0}")]
    OpenSsl(String),
}

impl From<openssl::error::ErrorStack> for KeyError {
    fn from(e: openssl::error::ErrorStack) -> Self {
        KeyError::OpenSsl(e.to_string())
    }
}
