//! Keyring: certificates and private keys (.pfx/.p12, PEM, DER), raw symmetric keys, SCT keys.
