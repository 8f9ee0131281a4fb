//! XML Signature verification and XML Encryption decryption over `xml` trees (openssl).
//!
//! - [`algorithms`]: algorithm URIs → enums (what the engine supports, nothing more).
//! - [`crypto`]: the primitives (digest, HMAC, RSA verify, block decryption, key unwrap).
//! - [`resolver`]: the [`KeyResolver`] trait through which the engines get keys.
//! - [`signature`]: `ds:Signature` core validation.
//! - [`encryption`]: EncryptedKey / EncryptedData decryption and the decrypted view.
//! - [`standalone`]: the resolver of `wcfscope verify` / `wcfscope decrypt`.
//! - [`util`]: ID index, strict base64, hex/base64 display helpers.

pub mod algorithms;
mod canon;
pub mod crypto;
pub mod encryption;
pub mod resolver;
pub mod signature;
pub mod standalone;
pub mod util;

pub use encryption::{
    decrypt_document, decrypt_encrypted_data, decrypt_encrypted_key, DecryptOutcome,
    DecryptedDocument, Decryption, EncryptedDataResult, EncryptedType, KeyFailure, Replacement,
};
pub use resolver::{KeyResolveError, KeyResolver, NoKeys, Resolved, VerificationKey};
pub use signature::{
    find_signatures, verify_all, verify_signature, ReferenceProblem, ReferenceResult,
    SignatureResult, SignatureVerdict,
};
pub use standalone::StandaloneResolver;
