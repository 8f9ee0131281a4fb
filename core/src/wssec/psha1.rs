//! P_SHA1, the TLS 1.0 PRF half (RFC 2246 §5) that WS-SecureConversation uses for
//! DerivedKeyTokens and WS-Trust for ComputedKey (spec sheet §5.1):
//! `A(0) = seed`, `A(i) = HMAC_SHA1(secret, A(i-1))`,
//! output = `HMAC_SHA1(secret, A(1) ‖ seed) ‖ HMAC_SHA1(secret, A(2) ‖ seed) ‖ …`.
//!
//! The computation lives in `keys::psha1`; this module pins it to the WS-Security known
//! answers (spec sheet §5.4) and gives WS-Security callers string errors.

use zeroize::Zeroizing;

/// `length` bytes of P_SHA1(secret, seed) starting at byte `offset` of the stream (the
/// keyring's implementation; errors name the offending offset and length).
pub fn p_sha1(
    secret: &[u8],
    seed: &[u8],
    offset: usize,
    length: usize,
) -> Result<Zeroizing<Vec<u8>>, String> {
    crate::keys::p_sha1(secret, seed, offset, length).map_err(|e| format!("P_SHA1: {e}"))
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
