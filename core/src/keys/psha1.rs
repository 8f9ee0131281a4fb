//! P_SHA1, the key-derivation function of WS-Trust ComputedKey (`CK/PSHA1`) and of
//! WS-SecureConversation DerivedKeyTokens.
//!
//! Defined as P_hash with HMAC-SHA1 in RFC 2246 §5:
//! `A(0) = seed`, `A(i) = HMAC(secret, A(i-1))`,
//! `P_SHA1(secret, seed) = HMAC(secret, A(1) ‖ seed) ‖ HMAC(secret, A(2) ‖ seed) ‖ …`.
//! A DerivedKeyToken takes `Length` bytes starting at byte `Offset` of that stream.
//! HMAC itself is RFC 2104 over OpenSSL's SHA-1 (written out so an empty secret works too).

use openssl::sha::Sha1;
use zeroize::Zeroizing;

use super::KeyError;

/// Upper bound on `offset + length`: real tokens ask for 16–64 bytes; 64 KiB leaves room for
/// odd generations/offsets while keeping a hostile `Offset="4000000000"` cheap to refuse.
pub const MAX_P_SHA1_OUTPUT: usize = 64 * 1024;

const SHA1_BLOCK: usize = 64;
const SHA1_LEN: usize = 20;

/// Returns bytes `offset .. offset + length` of P_SHA1(secret, seed).
///
/// Errors when `offset + length` exceeds [`MAX_P_SHA1_OUTPUT`].
pub fn p_sha1(
    secret: &[u8],
    seed: &[u8],
    offset: usize,
    length: usize,
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let end = offset
        .checked_add(length)
        .filter(|&e| e <= MAX_P_SHA1_OUTPUT)
        .ok_or(KeyError::DerivationTooLong {
            offset,
            length,
            max: MAX_P_SHA1_OUTPUT,
        })?;
    let hmac = HmacSha1::new(secret);
    let mut stream = Zeroizing::new(Vec::with_capacity(end + SHA1_LEN));
    let mut a = hmac.mac(&[seed]); // A(1)
    while stream.len() < end {
        stream.extend_from_slice(&*hmac.mac(&[&a[..], seed]));
        a = hmac.mac(&[&a[..]]);
    }
    Ok(Zeroizing::new(stream[offset..end].to_vec()))
}

/// HMAC-SHA1 with the key's inner and outer pads prepared once.
struct HmacSha1 {
    ipad: Zeroizing<[u8; SHA1_BLOCK]>,
    opad: Zeroizing<[u8; SHA1_BLOCK]>,
}

impl HmacSha1 {
    fn new(key: &[u8]) -> Self {
        let mut k = Zeroizing::new([0u8; SHA1_BLOCK]);
        if key.len() > SHA1_BLOCK {
            let mut h = Sha1::new();
            h.update(key);
            k[..SHA1_LEN].copy_from_slice(&h.finish());
        } else {
            k[..key.len()].copy_from_slice(key);
        }
        let mut ipad = Zeroizing::new([0u8; SHA1_BLOCK]);
        let mut opad = Zeroizing::new([0u8; SHA1_BLOCK]);
        for i in 0..SHA1_BLOCK {
            ipad[i] = k[i] ^ 0x36;
            opad[i] = k[i] ^ 0x5c;
        }
        HmacSha1 { ipad, opad }
    }

    /// HMAC over the concatenation of `parts`.
    fn mac(&self, parts: &[&[u8]]) -> Zeroizing<[u8; SHA1_LEN]> {
        let mut inner = Sha1::new();
        inner.update(&self.ipad[..]);
        for p in parts {
            inner.update(p);
        }
        let inner_digest = Zeroizing::new(inner.finish());
        let mut outer = Sha1::new();
        outer.update(&self.opad[..]);
        outer.update(&inner_digest[..]);
        Zeroizing::new(outer.finish())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::keys::spec::{decode_hex, to_hex};
    use base64::Engine;

    fn b64(s: &str) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD.decode(s).unwrap()
    }

    const LABEL: &[u8] = b"WS-SecureConversationWS-SecureConversation";

    #[test]
    fn corewcf_computed_key() {
        // /work/shared/vectors README §2: WCF client <-> CoreWCF, CK/PSHA1, KeySize 256.
        let client = b64("1TmBzNeSMhkxqHU+yWuwplJDS7NejEdnFlgRbGPyAOI=");
        let server = b64("X10bPPRFJzVr13nwxYYVLpmd5Fsu6RR7jkF5xtCV/kM=");
        let key = p_sha1(&client, &server, 0, 32).unwrap();
        assert_eq!(
            to_hex(&key),
            "1ff37f409a40233bd7eb9d9d4e6a5229fc798ef72175595635a48f88f90db8ff"
        );
        // Swapped order is a different key (the README notes that it fails).
        assert_ne!(&p_sha1(&server, &client, 0, 32).unwrap()[..], &key[..]);
    }

    #[test]
    fn rampart_derived_key_token() {
        // README §1: rst04.xml DKT derivedKeyId-14949315 on the EncryptedKey's key.
        let secret = decode_hex("03df23660b240f3a8b61a7d8891e5a7f", "t").unwrap();
        let mut seed = LABEL.to_vec();
        seed.extend(b64("8GNOzdMY+l532yPT/gCHHg=="));
        assert_eq!(
            to_hex(&p_sha1(&secret, &seed, 0, 16).unwrap()),
            "adb7adcf04192e9bf01d5cf2ed53fba0"
        );
    }

    #[test]
    fn spec_section_5_4_vectors() {
        // wcf-secure-conversation.md §5.4 (1): nonce of 256 zero bytes.
        let key = b64("eX2EeE969RCv/5Lx8OIGLHtJrSD5PzVzO3tTy9JxU58=");
        let mut seed = LABEL.to_vec();
        seed.extend([0u8; 256]);
        assert_eq!(
            &p_sha1(&key, &seed, 0, 32).unwrap()[..],
            &b64("50UfLeg58TbfADujVeafUAS8typGX9LvqLOXezK/eJY=")[..]
        );
        // §5.4 (3): DKTs from the CoreWCF SCT key, length 24 and 32 (the first is a prefix).
        let sct = b64("H/N/QJpAIzvX652dTmpSKfx5jvchdVlWNaSPiPkNuP8=");
        let mut seed = LABEL.to_vec();
        seed.extend(b64("aodds8qECZCZJepNDkSK8A=="));
        assert_eq!(
            &p_sha1(&sct, &seed, 0, 24).unwrap()[..],
            &b64("HvD4Am1A5OMSPygSU0Rvxse4T2fnJmEe")[..]
        );
        let long = p_sha1(&sct, &seed, 0, 32).unwrap();
        assert_eq!(
            &long[..],
            &b64("HvD4Am1A5OMSPygSU0Rvxse4T2fnJmEe1K2l+0/v7bE=")[..]
        );
        // Offset reads further into the same stream, across the 20-byte block boundary.
        assert_eq!(&p_sha1(&sct, &seed, 13, 19).unwrap()[..], &long[13..]);
        assert!(p_sha1(&sct, &seed, 5, 0).unwrap().is_empty());
    }

    #[test]
    fn hmac_matches_openssl_for_all_key_sizes() {
        use openssl::{hash::MessageDigest, pkey::PKey, sign::Signer};
        for len in [1usize, 20, 64, 65, 200] {
            let key: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let pkey = PKey::hmac(&key).unwrap();
            let mut signer = Signer::new(MessageDigest::sha1(), &pkey).unwrap();
            signer.update(b"message").unwrap();
            let expected = signer.sign_to_vec().unwrap();
            assert_eq!(
                &HmacSha1::new(&key).mac(&[b"mess", b"age"])[..],
                &expected[..]
            );
        }
    }

    #[test]
    fn bound_is_enforced() {
        assert!(p_sha1(b"k", b"s", 0, MAX_P_SHA1_OUTPUT).is_ok());
        assert!(matches!(
            p_sha1(b"k", b"s", 1, MAX_P_SHA1_OUTPUT),
            Err(KeyError::DerivationTooLong { .. })
        ));
        assert!(p_sha1(b"k", b"s", usize::MAX, 2).is_err());
    }
}
