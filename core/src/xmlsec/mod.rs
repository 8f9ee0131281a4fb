//! XML Signature verification and XML Encryption decryption over `xml` trees (openssl).
