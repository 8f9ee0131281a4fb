//! Just enough DER reading to tell key-file formats apart and to reach a
//! SubjectPublicKeyInfo's BIT STRING (for computed SubjectKeyIdentifiers).
//! Parsing proper is left to OpenSSL; this only looks at the outer tags.

pub(crate) const SEQUENCE: u8 = 0x30;
pub(crate) const INTEGER: u8 = 0x02;
pub(crate) const BIT_STRING: u8 = 0x03;
pub(crate) const OCTET_STRING: u8 = 0x04;

/// One tag-length-value, and what follows it.
pub(crate) struct Tlv<'a> {
    pub tag: u8,
    pub content: &'a [u8],
    pub rest: &'a [u8],
}

/// Reads one DER TLV with a single-byte tag and a definite length of at most 4 length octets.
pub(crate) fn read_tlv(input: &[u8]) -> Option<Tlv<'_>> {
    let (&tag, after_tag) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None; // high-tag-number form: never used by the structures we sniff
    }
    let (&first, mut after_len) = after_tag.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || after_len.len() < n {
            return None; // indefinite (BER) or absurd length
        }
        let mut len = 0usize;
        for &b in &after_len[..n] {
            len = (len << 8) | usize::from(b);
        }
        after_len = &after_len[n..];
        len
    };
    if after_len.len() < len {
        return None;
    }
    let (content, rest) = after_len.split_at(len);
    Some(Tlv { tag, content, rest })
}

/// What a DER blob looks like, from the tags of the outer SEQUENCE's first elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DerKind {
    /// PFX: SEQUENCE { INTEGER 3, ContentInfo, … }
    Pkcs12,
    /// Certificate: SEQUENCE { SEQUENCE tbs, SEQUENCE alg, BIT STRING }
    Certificate,
    /// EncryptedPrivateKeyInfo: SEQUENCE { SEQUENCE alg, OCTET STRING }
    EncryptedPkcs8,
    /// SubjectPublicKeyInfo: SEQUENCE { SEQUENCE alg, BIT STRING }
    PublicKey,
    /// PKCS#8 PrivateKeyInfo or a traditional (PKCS#1, SEC1, DSA) key: SEQUENCE { INTEGER, … }
    PrivateKey,
    /// PKCS#7 SignedData certificate bundle (Windows ".p7b"): SEQUENCE { OID signedData, [0] }
    Pkcs7,
}

/// pkcs-7 signedData, 1.2.840.113549.1.7.2
const OID_SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];

pub(crate) fn classify(der: &[u8]) -> Option<DerKind> {
    let outer = read_tlv(der)?;
    if outer.tag != SEQUENCE {
        return None;
    }
    let first = read_tlv(outer.content)?;
    if first.tag == OID && first.content == OID_SIGNED_DATA {
        return Some(DerKind::Pkcs7);
    }
    let second = read_tlv(first.rest)?;
    match (first.tag, second.tag) {
        (INTEGER, SEQUENCE) if first.content == [3] => Some(DerKind::Pkcs12),
        (INTEGER, _) => Some(DerKind::PrivateKey),
        (SEQUENCE, SEQUENCE) => {
            let third = read_tlv(second.rest)?;
            (third.tag == BIT_STRING).then_some(DerKind::Certificate)
        }
        (SEQUENCE, OCTET_STRING) => Some(DerKind::EncryptedPkcs8),
        (SEQUENCE, BIT_STRING) => Some(DerKind::PublicKey),
        _ => None,
    }
}

/// The subjectPublicKey BIT STRING's value (without tag, length or unused-bits octet) of a
/// DER SubjectPublicKeyInfo — the input of RFC 3280 §4.2.1.2's key identifier methods.
pub(crate) fn spki_public_key_bits(spki: &[u8]) -> Option<&[u8]> {
    let outer = read_tlv(spki)?;
    if outer.tag != SEQUENCE {
        return None;
    }
    let alg = read_tlv(outer.content)?;
    let bits = read_tlv(alg.rest)?;
    if alg.tag != SEQUENCE || bits.tag != BIT_STRING {
        return None;
    }
    bits.content.get(1..)
}

/// Dotted-decimal text of an OID's content octets (e.g. `2.5.4.3`); `None` if malformed or
/// an arc overflows 64 bits.
pub(crate) fn oid_to_dotted(content: &[u8]) -> Option<String> {
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    for (i, &b) in content.iter().enumerate() {
        if value > (u64::MAX >> 7) {
            return None;
        }
        value = (value << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (value / 40).min(2);
                arcs.push(first);
                arcs.push(value - first * 40);
            } else {
                arcs.push(value);
            }
            value = 0;
        } else if i + 1 == content.len() {
            return None; // truncated arc
        }
    }
    if arcs.is_empty() {
        return None;
    }
    Some(
        arcs.iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join("."),
    )
}

/// A private key bag found in a PFX's unencrypted contents.
pub(crate) struct KeyBag<'a> {
    /// `pkcs8ShroudedKeyBag` (EncryptedPrivateKeyInfo) rather than `keyBag` (PrivateKeyInfo).
    pub shrouded: bool,
    pub der: &'a [u8],
}

/// pkcs-7 data, 1.2.840.113549.1.7.1
const OID_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
/// pkcs-12 keyBag, 1.2.840.113549.1.12.10.1.1 (shrouded: …1.2)
const OID_KEY_BAG: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x01,
];
const OID_SHROUDED_KEY_BAG: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x02,
];
const OID: u8 = 0x06;
const CONTEXT_0: u8 = 0xa0;
/// Most bags looked at in one PFX.
const MAX_BAGS: usize = 1000;

/// Every key bag in the plain-`data` ContentInfos of a DER PFX (RFC 7292 §4, §4.2).
///
/// OpenSSL's PKCS12_parse returns only the first private key; files such as the W3C
/// `ids.p12` hold several (DH, DSA, RSA). Keys normally sit in unencrypted ContentInfos as
/// shrouded bags (only certificates go in the password-encrypted ContentInfo), so walking the
/// outer layers finds them. BER (indefinite-length) files yield nothing here and keep
/// OpenSSL's single key.
pub(crate) fn pkcs12_key_bags(pfx: &[u8]) -> Vec<KeyBag<'_>> {
    let mut bags = Vec::new();
    let Some(auth_safe) = pkcs12_auth_safe(pfx) else {
        return bags;
    };
    let mut infos = auth_safe;
    while let Some(info) = read_tlv(infos) {
        infos = info.rest;
        let safe_contents = data_content(info.content)
            .and_then(read_tlv)
            .filter(|t| t.tag == SEQUENCE)
            .map(|t| t.content);
        let Some(safe_contents) = safe_contents else {
            continue;
        };
        let mut rest = safe_contents;
        while let Some(bag) = read_tlv(rest) {
            rest = bag.rest;
            if bags.len() >= MAX_BAGS {
                return bags;
            }
            let Some(id) = read_tlv(bag.content).filter(|t| t.tag == OID) else {
                continue;
            };
            let shrouded = match id.content {
                OID_KEY_BAG => false,
                OID_SHROUDED_KEY_BAG => true,
                _ => continue,
            };
            if let Some(value) = read_tlv(id.rest).filter(|t| t.tag == CONTEXT_0) {
                if let Some(inner) = read_tlv(value.content) {
                    let len = value.content.len() - inner.rest.len();
                    bags.push(KeyBag {
                        shrouded,
                        der: &value.content[..len],
                    });
                }
            }
        }
    }
    bags
}

/// PFX → the AuthenticatedSafe's SEQUENCE OF ContentInfo content.
fn pkcs12_auth_safe(pfx: &[u8]) -> Option<&[u8]> {
    let outer = read_tlv(pfx).filter(|t| t.tag == SEQUENCE)?;
    let version = read_tlv(outer.content).filter(|t| t.tag == INTEGER)?;
    let content_info = read_tlv(version.rest).filter(|t| t.tag == SEQUENCE)?;
    let auth_safe = data_content(content_info.content)?;
    read_tlv(auth_safe)
        .filter(|t| t.tag == SEQUENCE)
        .map(|t| t.content)
}

/// ContentInfo content of type `data` → the bytes inside its OCTET STRING.
fn data_content(content_info: &[u8]) -> Option<&[u8]> {
    let ty = read_tlv(content_info).filter(|t| t.tag == OID)?;
    if ty.content != OID_DATA {
        return None;
    }
    let explicit = read_tlv(ty.rest).filter(|t| t.tag == CONTEXT_0)?;
    let octets = read_tlv(explicit.content).filter(|t| t.tag == OCTET_STRING)?;
    Some(octets.content)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn lengths() {
        let t = read_tlv(&[0x04, 0x02, 1, 2, 9]).unwrap();
        assert_eq!((t.tag, t.content, t.rest), (4, &[1u8, 2][..], &[9u8][..]));
        let mut long = vec![0x04, 0x82, 0x01, 0x00];
        long.extend(vec![7u8; 256]);
        assert_eq!(read_tlv(&long).unwrap().content.len(), 256);
        assert!(read_tlv(&[0x04, 0x80, 0, 0]).is_none()); // indefinite
        assert!(read_tlv(&[0x04, 0x85, 1, 1, 1, 1, 1]).is_none());
        assert!(read_tlv(&[0x04, 0x03, 1]).is_none()); // truncated
        assert!(read_tlv(&[]).is_none());
        assert!(read_tlv(&[0x1f, 0x01, 0x00]).is_none());
    }

    #[test]
    fn oids() {
        assert_eq!(oid_to_dotted(&[0x55, 0x04, 0x03]).unwrap(), "2.5.4.3");
        assert_eq!(
            oid_to_dotted(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01]).unwrap(),
            "1.2.840.113549.1.9.1"
        );
        assert!(oid_to_dotted(&[0x2a, 0x86]).is_none());
        assert!(oid_to_dotted(&[0xff; 20]).is_none());
        assert!(oid_to_dotted(&[]).is_none());
    }

    #[test]
    fn classify_garbage() {
        assert_eq!(classify(b"hello"), None);
        assert_eq!(classify(&[0x30, 0x00]), None);
        assert_eq!(
            classify(&[0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x05]),
            Some(DerKind::PrivateKey)
        );
    }
}
