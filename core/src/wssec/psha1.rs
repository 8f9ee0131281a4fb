//! P_SHA1, the TLS 1.0 PRF half (RFC 2246 §5) that WS-SecureConversation uses for
//! DerivedKeyTokens and WS-Trust for ComputedKey (spec sheet §5.1):
//! `A(0) = seed`, `A(i) = HMAC_SHA1(secret, A(i-1))`,
//! output = `HMAC_SHA1(secret, A(1) ‖ seed) ‖ HMAC_SHA1(secret, A(2) ‖ seed) ‖ …`.
//!
//! Kept here (small, self-contained) so the WS-Security layer does not wait for the keyring;
//! `keys::psha1` computes the same function.

use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use zeroize::Zeroizing;

/// Largest offset + length we derive (WCF caps derivation far below this).
pub const MAX_OUTPUT: usize = 1 << 20;

fn hmac_sha1(secret: &[u8], parts: &[&[u8]]) -> Result<Vec<u8>, String> {
    let key = PKey::hmac(secret).map_err(|e| format!("HMAC-SHA1 key: {e}"))?;
    let mut s = Signer::new(MessageDigest::sha1(), &key).map_err(|e| format!("HMAC-SHA1: {e}"))?;
    for p in parts {
        s.update(p).map_err(|e| format!("HMAC-SHA1: {e}"))?;
    }
    s.sign_to_vec().map_err(|e| format!("HMAC-SHA1: {e}"))
}

/// `length` bytes of P_SHA1(secret, seed) starting at byte `offset` of the stream.
pub fn p_sha1(
    secret: &[u8],
    seed: &[u8],
    offset: usize,
    length: usize,
) -> Result<Zeroizing<Vec<u8>>, String> {
    let end = offset
        .checked_add(length)
        .filter(|&e| e <= MAX_OUTPUT)
        .ok_or_else(|| {
            format!("P_SHA1: offset {offset} + length {length} exceeds {MAX_OUTPUT} bytes")
        })?;
    let mut out = Zeroizing::new(Vec::with_capacity(end + 20));
    let mut a = Zeroizing::new(seed.to_vec());
    while out.len() < end {
        *a = hmac_sha1(secret, &[&a])?;
        out.extend_from_slice(&hmac_sha1(secret, &[&a, seed])?);
    }
    Ok(Zeroizing::new(out[offset..end].to_vec()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use base64::Engine;

    fn b64(s: &str) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD.decode(s).unwrap()
    }

    /// Spec sheet §5.4.1 (Mono's InMemorySymmetricSecurityKeyTest vector).
    #[test]
    fn mono_dkt_vector() {
        let key = b64("eX2EeE969RCv/5Lx8OIGLHtJrSD5PzVzO3tTy9JxU58=");
        let mut seed = b"WS-SecureConversationWS-SecureConversation".to_vec();
        seed.extend_from_slice(&[0u8; 256]);
        let out = p_sha1(&key, &seed, 0, 32).unwrap();
        assert_eq!(*out, b64("50UfLeg58TbfADujVeafUAS8typGX9LvqLOXezK/eJY="));
    }

    /// Spec sheet §5.4.2: the CoreWCF ComputedKey, and §5.4.3 prefix property.
    #[test]
    fn corewcf_computed_key_and_prefix() {
        let client = b64("1TmBzNeSMhkxqHU+yWuwplJDS7NejEdnFlgRbGPyAOI=");
        let server = b64("X10bPPRFJzVr13nwxYYVLpmd5Fsu6RR7jkF5xtCV/kM=");
        let key = p_sha1(&client, &server, 0, 32).unwrap();
        assert_eq!(*key, b64("H/N/QJpAIzvX652dTmpSKfx5jvchdVlWNaSPiPkNuP8="));
        let mut seed = b"WS-SecureConversationWS-SecureConversation".to_vec();
        seed.extend_from_slice(&b64("aodds8qECZCZJepNDkSK8A=="));
        assert_eq!(
            *p_sha1(&key, &seed, 0, 24).unwrap(),
            b64("HvD4Am1A5OMSPygSU0Rvxse4T2fnJmEe")
        );
        let full = p_sha1(&key, &seed, 0, 32).unwrap();
        assert_eq!(*full, b64("HvD4Am1A5OMSPygSU0Rvxse4T2fnJmEe1K2l+0/v7bE="));
        assert_eq!(*p_sha1(&key, &seed, 8, 16).unwrap(), full[8..24].to_vec());
        assert!(p_sha1(&key, &seed, usize::MAX, 2).is_err());
    }
}
