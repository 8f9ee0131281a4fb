//! XML Signature verification and XML Encryption decryption over `xml` trees (openssl).
//!
//! - [`algorithms`]: algorithm URIs → enums (what the engine supports, nothing more).
//! - [`crypto`]: the primitives (digest, HMAC, RSA verify, block decryption, key unwrap).

pub mod algorithms;
pub mod crypto;
