//! Algorithm identifiers of XML Signature and XML Encryption: URI → enum tables.
//!
//! Sources: XML Signature 1.1 §6 (algorithm identifiers), XML Encryption 1.1 §5, and
//! RFC 6931 ("Additional XML Security URIs") for the `xmldsig-more` names. Everything the
//! engine can do is listed here; any other URI is reported as unsupported by its caller,
//! which names the element the URI came from.

/// Namespace of XML Signature.
pub const NS_DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
/// Namespace of XML Signature 1.1 additions.
pub const NS_DSIG11: &str = "http://www.w3.org/2009/xmldsig11#";
/// Namespace of XML Encryption.
pub const NS_XENC: &str = "http://www.w3.org/2001/04/xmlenc#";
/// Namespace of XML Encryption 1.1 additions.
pub const NS_XENC11: &str = "http://www.w3.org/2009/xmlenc11#";
/// Namespace of exclusive canonicalization (the `InclusiveNamespaces` element).
pub const NS_EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

/// `EncryptedData/@Type` for an encrypted element.
pub const TYPE_ELEMENT: &str = "http://www.w3.org/2001/04/xmlenc#Element";
/// `EncryptedData/@Type` for encrypted element content.
pub const TYPE_CONTENT: &str = "http://www.w3.org/2001/04/xmlenc#Content";
/// `RetrievalMethod/@Type` pointing at an EncryptedKey.
pub const TYPE_ENCRYPTED_KEY: &str = "http://www.w3.org/2001/04/xmlenc#EncryptedKey";

/// Message digest algorithms (DigestMethod, OAEP DigestMethod, MGF1 hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl DigestAlgorithm {
    /// Recognises a DigestMethod URI.
    pub fn from_uri(uri: &str) -> Option<Self> {
        Some(match uri.trim() {
            "http://www.w3.org/2000/09/xmldsig#sha1" => Self::Sha1,
            "http://www.w3.org/2001/04/xmldsig-more#sha224" => Self::Sha224,
            "http://www.w3.org/2001/04/xmlenc#sha256" => Self::Sha256,
            "http://www.w3.org/2001/04/xmldsig-more#sha384" => Self::Sha384,
            "http://www.w3.org/2001/04/xmlenc#sha512" => Self::Sha512,
            _ => return None,
        })
    }

    /// The canonical URI of this digest.
    pub fn uri(self) -> &'static str {
        match self {
            Self::Sha1 => "http://www.w3.org/2000/09/xmldsig#sha1",
            Self::Sha224 => "http://www.w3.org/2001/04/xmldsig-more#sha224",
            Self::Sha256 => "http://www.w3.org/2001/04/xmlenc#sha256",
            Self::Sha384 => "http://www.w3.org/2001/04/xmldsig-more#sha384",
            Self::Sha512 => "http://www.w3.org/2001/04/xmlenc#sha512",
        }
    }

    /// Short name for messages ("sha1", "sha256", …).
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "sha1",
            Self::Sha224 => "sha224",
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha224 => 28,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// The openssl digest.
    pub fn message_digest(self) -> openssl::hash::MessageDigest {
        use openssl::hash::MessageDigest;
        match self {
            Self::Sha1 => MessageDigest::sha1(),
            Self::Sha224 => MessageDigest::sha224(),
            Self::Sha256 => MessageDigest::sha256(),
            Self::Sha384 => MessageDigest::sha384(),
            Self::Sha512 => MessageDigest::sha512(),
        }
    }
}

/// SignatureMethod algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureMethod {
    /// HMAC with the given hash (xmldsig#hmac-sha1, xmldsig-more#hmac-sha224/256/384/512).
    Hmac(DigestAlgorithm),
    /// RSASSA-PKCS1-v1_5 with the given hash (xmldsig#rsa-sha1, xmldsig-more#rsa-sha*).
    RsaPkcs1(DigestAlgorithm),
    /// RSASSA-PSS, MGF1 with the same hash, salt length = hash length, trailer 0xBC
    /// (RFC 6931 §2.3.10, xmldsig-more#sha*-rsa-MGF1).
    RsaPss(DigestAlgorithm),
}

impl SignatureMethod {
    /// Recognises a SignatureMethod URI.
    pub fn from_uri(uri: &str) -> Option<Self> {
        use DigestAlgorithm::*;
        Some(match uri.trim() {
            "http://www.w3.org/2000/09/xmldsig#hmac-sha1" => Self::Hmac(Sha1),
            "http://www.w3.org/2001/04/xmldsig-more#hmac-sha224" => Self::Hmac(Sha224),
            "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256" => Self::Hmac(Sha256),
            "http://www.w3.org/2001/04/xmldsig-more#hmac-sha384" => Self::Hmac(Sha384),
            "http://www.w3.org/2001/04/xmldsig-more#hmac-sha512" => Self::Hmac(Sha512),
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1" => Self::RsaPkcs1(Sha1),
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha224" => Self::RsaPkcs1(Sha224),
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" => Self::RsaPkcs1(Sha256),
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384" => Self::RsaPkcs1(Sha384),
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512" => Self::RsaPkcs1(Sha512),
            "http://www.w3.org/2007/05/xmldsig-more#sha1-rsa-MGF1" => Self::RsaPss(Sha1),
            "http://www.w3.org/2007/05/xmldsig-more#sha224-rsa-MGF1" => Self::RsaPss(Sha224),
            "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1" => Self::RsaPss(Sha256),
            "http://www.w3.org/2007/05/xmldsig-more#sha384-rsa-MGF1" => Self::RsaPss(Sha384),
            "http://www.w3.org/2007/05/xmldsig-more#sha512-rsa-MGF1" => Self::RsaPss(Sha512),
            _ => return None,
        })
    }

    /// The hash the method uses.
    pub fn digest(self) -> DigestAlgorithm {
        match self {
            Self::Hmac(d) | Self::RsaPkcs1(d) | Self::RsaPss(d) => d,
        }
    }

    /// True for the symmetric (HMAC) methods.
    pub fn is_hmac(self) -> bool {
        matches!(self, Self::Hmac(_))
    }

    /// Short name for messages ("hmac-sha1", "rsa-sha256", "rsa-pss-sha256").
    pub fn name(self) -> String {
        match self {
            Self::Hmac(d) => format!("hmac-{}", d.name()),
            Self::RsaPkcs1(d) => format!("rsa-{}", d.name()),
            Self::RsaPss(d) => format!("rsa-pss-{}", d.name()),
        }
    }
}

/// Canonicalization algorithms (CanonicalizationMethod and c14n Transforms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum C14nAlgorithm {
    /// Canonical XML 1.0.
    Inclusive10 { with_comments: bool },
    /// Canonical XML 1.1.
    Inclusive11 { with_comments: bool },
    /// Exclusive XML Canonicalization 1.0 (PrefixList is carried separately).
    Exclusive { with_comments: bool },
}

impl C14nAlgorithm {
    /// Recognises a canonicalization URI.
    pub fn from_uri(uri: &str) -> Option<Self> {
        Some(match uri.trim() {
            "http://www.w3.org/TR/2001/REC-xml-c14n-20010315" => Self::Inclusive10 {
                with_comments: false,
            },
            "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments" => Self::Inclusive10 {
                with_comments: true,
            },
            "http://www.w3.org/2006/12/xml-c14n11" => Self::Inclusive11 {
                with_comments: false,
            },
            "http://www.w3.org/2006/12/xml-c14n11#WithComments" => Self::Inclusive11 {
                with_comments: true,
            },
            "http://www.w3.org/2001/10/xml-exc-c14n#" => Self::Exclusive {
                with_comments: false,
            },
            "http://www.w3.org/2001/10/xml-exc-c14n#WithComments" => Self::Exclusive {
                with_comments: true,
            },
            _ => return None,
        })
    }

    /// The canonical URI.
    pub fn uri(self) -> &'static str {
        match self {
            Self::Inclusive10 {
                with_comments: false,
            } => "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
            Self::Inclusive10 {
                with_comments: true,
            } => "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
            Self::Inclusive11 {
                with_comments: false,
            } => "http://www.w3.org/2006/12/xml-c14n11",
            Self::Inclusive11 {
                with_comments: true,
            } => "http://www.w3.org/2006/12/xml-c14n11#WithComments",
            Self::Exclusive {
                with_comments: false,
            } => "http://www.w3.org/2001/10/xml-exc-c14n#",
            Self::Exclusive {
                with_comments: true,
            } => "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
        }
    }

    pub fn with_comments(self) -> bool {
        match self {
            Self::Inclusive10 { with_comments }
            | Self::Inclusive11 { with_comments }
            | Self::Exclusive { with_comments } => with_comments,
        }
    }

    pub fn is_exclusive(self) -> bool {
        matches!(self, Self::Exclusive { .. })
    }
}

/// The enveloped-signature transform (XML Signature §6.6.4).
pub const TRANSFORM_ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

/// The XPath filter transform (XML Signature §6.6.3); only one expression is supported.
pub const TRANSFORM_XPATH: &str = "http://www.w3.org/TR/1999/REC-xpath-19991116";

/// A Reference transform the engine supports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transform {
    EnvelopedSignature,
    /// XPath `not(ancestor-or-self::P:Signature)` with P bound to the XML Signature
    /// namespace: the pre-enveloped-signature idiom that drops every Signature subtree.
    XPathNotSignature,
    /// A canonicalization, with the exc-c14n InclusiveNamespaces PrefixList (empty otherwise).
    C14n {
        algorithm: C14nAlgorithm,
        inclusive_prefixes: Vec<String>,
    },
}

impl Transform {
    pub fn uri(&self) -> &'static str {
        match self {
            Self::EnvelopedSignature => TRANSFORM_ENVELOPED,
            Self::XPathNotSignature => TRANSFORM_XPATH,
            Self::C14n { algorithm, .. } => algorithm.uri(),
        }
    }
}

/// EncryptedData block ciphers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockCipher {
    TripleDesCbc,
    Aes128Cbc,
    Aes192Cbc,
    Aes256Cbc,
    Aes128Gcm,
    Aes192Gcm,
    Aes256Gcm,
}

impl BlockCipher {
    pub fn from_uri(uri: &str) -> Option<Self> {
        Some(match uri.trim() {
            "http://www.w3.org/2001/04/xmlenc#tripledes-cbc" => Self::TripleDesCbc,
            "http://www.w3.org/2001/04/xmlenc#aes128-cbc" => Self::Aes128Cbc,
            "http://www.w3.org/2001/04/xmlenc#aes192-cbc" => Self::Aes192Cbc,
            "http://www.w3.org/2001/04/xmlenc#aes256-cbc" => Self::Aes256Cbc,
            "http://www.w3.org/2009/xmlenc11#aes128-gcm" => Self::Aes128Gcm,
            "http://www.w3.org/2009/xmlenc11#aes192-gcm" => Self::Aes192Gcm,
            "http://www.w3.org/2009/xmlenc11#aes256-gcm" => Self::Aes256Gcm,
            _ => return None,
        })
    }

    pub fn uri(self) -> &'static str {
        match self {
            Self::TripleDesCbc => "http://www.w3.org/2001/04/xmlenc#tripledes-cbc",
            Self::Aes128Cbc => "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
            Self::Aes192Cbc => "http://www.w3.org/2001/04/xmlenc#aes192-cbc",
            Self::Aes256Cbc => "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
            Self::Aes128Gcm => "http://www.w3.org/2009/xmlenc11#aes128-gcm",
            Self::Aes192Gcm => "http://www.w3.org/2009/xmlenc11#aes192-gcm",
            Self::Aes256Gcm => "http://www.w3.org/2009/xmlenc11#aes256-gcm",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::TripleDesCbc => "tripledes-cbc",
            Self::Aes128Cbc => "aes128-cbc",
            Self::Aes192Cbc => "aes192-cbc",
            Self::Aes256Cbc => "aes256-cbc",
            Self::Aes128Gcm => "aes128-gcm",
            Self::Aes192Gcm => "aes192-gcm",
            Self::Aes256Gcm => "aes256-gcm",
        }
    }

    /// Key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            Self::TripleDesCbc | Self::Aes192Cbc | Self::Aes192Gcm => 24,
            Self::Aes128Cbc | Self::Aes128Gcm => 16,
            Self::Aes256Cbc | Self::Aes256Gcm => 32,
        }
    }

    pub fn is_gcm(self) -> bool {
        matches!(self, Self::Aes128Gcm | Self::Aes192Gcm | Self::Aes256Gcm)
    }
}

/// EncryptedKey key-transport algorithms (RSA).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyTransport {
    /// xmlenc#rsa-1_5.
    RsaPkcs1v15,
    /// xmlenc#rsa-oaep-mgf1p (MGF1 always SHA-1) or xmlenc11#rsa-oaep (MGF element).
    /// `label` is the decoded OAEPparams (empty when absent).
    RsaOaep {
        digest: DigestAlgorithm,
        mgf1_digest: DigestAlgorithm,
        label: Vec<u8>,
    },
}

pub const KT_RSA_1_5: &str = "http://www.w3.org/2001/04/xmlenc#rsa-1_5";
pub const KT_RSA_OAEP_MGF1P: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
pub const KT_RSA_OAEP_11: &str = "http://www.w3.org/2009/xmlenc11#rsa-oaep";

/// MGF element URIs of xmlenc11#rsa-oaep.
pub fn mgf1_from_uri(uri: &str) -> Option<DigestAlgorithm> {
    use DigestAlgorithm::*;
    Some(match uri.trim() {
        "http://www.w3.org/2009/xmlenc11#mgf1sha1" => Sha1,
        "http://www.w3.org/2009/xmlenc11#mgf1sha224" => Sha224,
        "http://www.w3.org/2009/xmlenc11#mgf1sha256" => Sha256,
        "http://www.w3.org/2009/xmlenc11#mgf1sha384" => Sha384,
        "http://www.w3.org/2009/xmlenc11#mgf1sha512" => Sha512,
        _ => return None,
    })
}

/// EncryptedKey symmetric key-wrap algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyWrap {
    /// RFC 3394 AES key wrap with a 128/192/256-bit KEK.
    Aes128,
    Aes192,
    Aes256,
    /// RFC 3217 CMS Triple-DES key wrap.
    TripleDes,
}

impl KeyWrap {
    pub fn from_uri(uri: &str) -> Option<Self> {
        Some(match uri.trim() {
            "http://www.w3.org/2001/04/xmlenc#kw-aes128" => Self::Aes128,
            "http://www.w3.org/2001/04/xmlenc#kw-aes192" => Self::Aes192,
            "http://www.w3.org/2001/04/xmlenc#kw-aes256" => Self::Aes256,
            "http://www.w3.org/2001/04/xmlenc#kw-tripledes" => Self::TripleDes,
            _ => return None,
        })
    }

    pub fn uri(self) -> &'static str {
        match self {
            Self::Aes128 => "http://www.w3.org/2001/04/xmlenc#kw-aes128",
            Self::Aes192 => "http://www.w3.org/2001/04/xmlenc#kw-aes192",
            Self::Aes256 => "http://www.w3.org/2001/04/xmlenc#kw-aes256",
            Self::TripleDes => "http://www.w3.org/2001/04/xmlenc#kw-tripledes",
        }
    }

    /// Key-encryption-key length in bytes.
    pub fn kek_len(self) -> usize {
        match self {
            Self::Aes128 => 16,
            Self::Aes192 | Self::TripleDes => 24,
            Self::Aes256 => 32,
        }
    }
}

/// An EncryptedKey's EncryptionMethod: RSA key transport or symmetric key wrap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyEncryption {
    Transport(KeyTransport),
    Wrap(KeyWrap),
}

/// Any EncryptionMethod the decryption side can be asked for a key for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncryptionAlgorithm {
    Data(BlockCipher),
    Key(KeyEncryption),
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn digest_uris_round_trip() {
        for d in [
            DigestAlgorithm::Sha1,
            DigestAlgorithm::Sha224,
            DigestAlgorithm::Sha256,
            DigestAlgorithm::Sha384,
            DigestAlgorithm::Sha512,
        ] {
            assert_eq!(DigestAlgorithm::from_uri(d.uri()), Some(d));
            assert_eq!(d.message_digest().size(), d.output_len());
        }
        assert_eq!(
            DigestAlgorithm::from_uri("http://www.w3.org/2001/04/xmldsig-more#md5"),
            None
        );
    }

    #[test]
    fn signature_methods() {
        assert_eq!(
            SignatureMethod::from_uri("http://www.w3.org/2000/09/xmldsig#hmac-sha1"),
            Some(SignatureMethod::Hmac(DigestAlgorithm::Sha1))
        );
        assert_eq!(
            SignatureMethod::from_uri("http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"),
            Some(SignatureMethod::RsaPkcs1(DigestAlgorithm::Sha512))
        );
        assert_eq!(
            SignatureMethod::from_uri("http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1"),
            Some(SignatureMethod::RsaPss(DigestAlgorithm::Sha256))
        );
        // DSA is deliberately not supported.
        assert_eq!(
            SignatureMethod::from_uri("http://www.w3.org/2000/09/xmldsig#dsa-sha1"),
            None
        );
    }

    #[test]
    fn c14n_and_ciphers() {
        for a in [
            C14nAlgorithm::Inclusive10 {
                with_comments: false,
            },
            C14nAlgorithm::Inclusive10 {
                with_comments: true,
            },
            C14nAlgorithm::Inclusive11 {
                with_comments: false,
            },
            C14nAlgorithm::Inclusive11 {
                with_comments: true,
            },
            C14nAlgorithm::Exclusive {
                with_comments: false,
            },
            C14nAlgorithm::Exclusive {
                with_comments: true,
            },
        ] {
            assert_eq!(C14nAlgorithm::from_uri(a.uri()), Some(a));
        }
        for c in [
            BlockCipher::TripleDesCbc,
            BlockCipher::Aes128Cbc,
            BlockCipher::Aes192Cbc,
            BlockCipher::Aes256Cbc,
            BlockCipher::Aes128Gcm,
            BlockCipher::Aes192Gcm,
            BlockCipher::Aes256Gcm,
        ] {
            assert_eq!(BlockCipher::from_uri(c.uri()), Some(c));
        }
        for k in [
            KeyWrap::Aes128,
            KeyWrap::Aes192,
            KeyWrap::Aes256,
            KeyWrap::TripleDes,
        ] {
            assert_eq!(KeyWrap::from_uri(k.uri()), Some(k));
        }
        assert_eq!(
            mgf1_from_uri("http://www.w3.org/2009/xmlenc11#mgf1sha384"),
            Some(DigestAlgorithm::Sha384)
        );
    }
}
