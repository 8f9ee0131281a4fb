//! The generator's own cryptography, straight on the `openssl` crate: a seedable random
//! source, P_SHA1, digests, HMACs, CBC block encryption with XML Encryption padding, RSA-OAEP
//! key wrap and RSA signatures. Deliberately independent of `crate::keys`/`crate::xmlsec`.

use openssl::hash::{hash, MessageDigest};
use openssl::pkey::{PKey, Private, Public};
use openssl::rsa::Padding;
use openssl::sign::Signer;
use openssl::symm::{Cipher, Crypter, Mode};
use zeroize::Zeroizing;

use super::scenario::BlockPadding;
use super::SynthError;

/// Deterministic random bytes (SHA-256 in counter mode over a 64-bit seed) so that a seeded
/// scenario always yields the same nonces, keys, IVs and uuids. Not a CSPRNG for real keys —
/// these are test fixtures. RSA-OAEP's own randomness still comes from OpenSSL.
pub struct Rng {
    seed: [u8; 32],
    counter: u64,
}

impl Rng {
    pub fn new(seed: Option<u64>) -> Result<Rng, SynthError> {
        let mut s = [0u8; 32];
        match seed {
            Some(v) => s[..8].copy_from_slice(&v.to_le_bytes()),
            None => openssl::rand::rand_bytes(&mut s).map_err(ossl("random seed"))?,
        }
        Ok(Rng {
            seed: s,
            counter: 0,
        })
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n + 32);
        while out.len() < n {
            let mut block = self.seed.to_vec();
            block.extend_from_slice(&self.counter.to_le_bytes());
            self.counter += 1;
            // SHA-256 cannot fail for in-memory input in practice; fall back to the counter.
            match hash(MessageDigest::sha256(), &block) {
                Ok(d) => out.extend_from_slice(&d),
                Err(_) => out.extend_from_slice(&self.counter.to_le_bytes()),
            }
        }
        out.truncate(n);
        out
    }
    /// Bytes none of which is zero (WCF's server entropy is "non-zero random bytes").
    pub fn nonzero_bytes(&mut self, n: usize) -> Vec<u8> {
        self.bytes(n)
            .into_iter()
            .map(|b| if b == 0 { 0x5a } else { b })
            .collect()
    }
    pub fn u32(&mut self) -> u32 {
        let b = self.bytes(4);
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
    /// A version-4 GUID in its usual lowercase text form.
    pub fn guid(&mut self) -> String {
        let mut b = self.bytes(16);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }
}

pub fn ossl(what: &'static str) -> impl Fn(openssl::error::ErrorStack) -> SynthError {
    move |e| SynthError::Crypto(format!("{what}: {e}"))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAlg {
    Sha1,
    Sha256,
}

impl HashAlg {
    fn md(self) -> MessageDigest {
        match self {
            HashAlg::Sha1 => MessageDigest::sha1(),
            HashAlg::Sha256 => MessageDigest::sha256(),
        }
    }
}

pub fn digest(alg: HashAlg, data: &[u8]) -> Result<Vec<u8>, SynthError> {
    Ok(hash(alg.md(), data).map_err(ossl("digest"))?.to_vec())
}

pub fn hmac(alg: HashAlg, key: &[u8], data: &[u8]) -> Result<Vec<u8>, SynthError> {
    let k = PKey::hmac(key).map_err(ossl("HMAC key"))?;
    let mut s = Signer::new(alg.md(), &k).map_err(ossl("HMAC"))?;
    s.update(data).map_err(ossl("HMAC"))?;
    s.sign_to_vec().map_err(ossl("HMAC"))
}

/// P_SHA1(secret, seed) from RFC 2246 §5, bytes `[offset, offset+len)` of the stream:
/// A(0)=seed, A(i)=HMAC(secret, A(i-1)), output = HMAC(secret, A(1)‖seed) ‖ HMAC(secret, A(2)‖seed) ‖ …
pub fn p_sha1(
    secret: &[u8],
    seed: &[u8],
    offset: usize,
    len: usize,
) -> Result<Zeroizing<Vec<u8>>, SynthError> {
    let mut out = Zeroizing::new(Vec::with_capacity(offset + len + 20));
    let mut a = seed.to_vec();
    while out.len() < offset + len {
        a = hmac(HashAlg::Sha1, secret, &a)?;
        let mut input = a.clone();
        input.extend_from_slice(seed);
        out.extend_from_slice(&hmac(HashAlg::Sha1, secret, &input)?);
    }
    Ok(Zeroizing::new(out[offset..offset + len].to_vec()))
}

/// The default DerivedKeyToken label WCF uses (it never writes a `Label`).
pub const DKT_LABEL: &[u8] = b"WS-SecureConversationWS-SecureConversation";

/// Key of a DerivedKeyToken with the default label and offset 0.
pub fn derive_key(base: &[u8], nonce: &[u8], len: usize) -> Result<Zeroizing<Vec<u8>>, SynthError> {
    let mut seed = DKT_LABEL.to_vec();
    seed.extend_from_slice(nonce);
    p_sha1(base, &seed, 0, len)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockAlg {
    Aes128,
    Aes256,
    TripleDes,
}

impl BlockAlg {
    fn cipher(self) -> Cipher {
        match self {
            BlockAlg::Aes128 => Cipher::aes_128_cbc(),
            BlockAlg::Aes256 => Cipher::aes_256_cbc(),
            BlockAlg::TripleDes => Cipher::des_ede3_cbc(),
        }
    }
    pub fn block_len(self) -> usize {
        match self {
            BlockAlg::TripleDes => 8,
            _ => 16,
        }
    }
}

/// XML Encryption block encryption: CipherValue octets = IV ‖ CBC(padded plaintext).
/// Padding (XML Encryption 1.0 §5.2): the last byte is the pad length; the other pad bytes
/// are either the same value (PKCS#7, what WCF writes) or random (ISO 10126 style, allowed
/// by XML Encryption, to catch decryptors that check PKCS#7 strictly).
pub fn cbc_encrypt(
    alg: BlockAlg,
    key: &[u8],
    plain: &[u8],
    padding: BlockPadding,
    rng: &mut Rng,
) -> Result<Vec<u8>, SynthError> {
    let bl = alg.block_len();
    let iv = rng.bytes(bl);
    let pad = bl - plain.len() % bl;
    let mut data = plain.to_vec();
    match padding {
        BlockPadding::Pkcs7 => data.extend(std::iter::repeat_n(pad as u8, pad)),
        BlockPadding::Random => {
            data.extend(rng.bytes(pad - 1));
            data.push(pad as u8);
        }
    }
    let mut c =
        Crypter::new(alg.cipher(), Mode::Encrypt, key, Some(&iv)).map_err(ossl("CBC key"))?;
    c.pad(false);
    let mut out = vec![0u8; data.len() + bl];
    let mut n = c.update(&data, &mut out).map_err(ossl("CBC encrypt"))?;
    n += c.finalize(&mut out[n..]).map_err(ossl("CBC encrypt"))?;
    out.truncate(n);
    let mut cv = iv;
    cv.extend(out);
    Ok(cv)
}

/// RSA key transport: XML Encryption `rsa-oaep-mgf1p` (SHA-1, MGF1-SHA1, no label) or
/// `rsa-1_5` (PKCS#1 v1.5, the `*Rsa15` suites).
pub fn rsa_wrap(public: &PKey<Public>, key: &[u8], oaep: bool) -> Result<Vec<u8>, SynthError> {
    let rsa = public
        .rsa()
        .map_err(ossl("service certificate key is not RSA"))?;
    let mut out = vec![0u8; rsa.size() as usize];
    let n = rsa
        .public_encrypt(
            key,
            &mut out,
            if oaep {
                Padding::PKCS1_OAEP
            } else {
                Padding::PKCS1
            },
        )
        .map_err(ossl("RSA key wrap"))?;
    out.truncate(n);
    Ok(out)
}

/// RSASSA-PKCS1-v1_5 (`rsa-sha1` / `rsa-sha256`).
pub fn rsa_sign(alg: HashAlg, key: &PKey<Private>, data: &[u8]) -> Result<Vec<u8>, SynthError> {
    let mut s = Signer::new(alg.md(), key).map_err(ossl("RSA sign"))?;
    s.update(data).map_err(ossl("RSA sign"))?;
    s.sign_to_vec().map_err(ossl("RSA sign"))
}

pub fn b64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn unb64(s: &str) -> Vec<u8> {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.decode(s).unwrap()
    }

    // Known answers from the spec sheet §5.4 (MONO-T DKT vector; CW-TMC ComputedKey).
    #[test]
    fn p_sha1_known_answers() {
        let key = unb64("eX2EeE969RCv/5Lx8OIGLHtJrSD5PzVzO3tTy9JxU58=");
        let k = derive_key(&key, &[0u8; 256], 32).unwrap();
        assert_eq!(b64(&k), "50UfLeg58TbfADujVeafUAS8typGX9LvqLOXezK/eJY=");
        let ce = unb64("1TmBzNeSMhkxqHU+yWuwplJDS7NejEdnFlgRbGPyAOI=");
        let se = unb64("X10bPPRFJzVr13nwxYYVLpmd5Fsu6RR7jkF5xtCV/kM=");
        let sct = p_sha1(&ce, &se, 0, 32).unwrap();
        assert_eq!(b64(&sct), "H/N/QJpAIzvX652dTmpSKfx5jvchdVlWNaSPiPkNuP8=");
        let d = derive_key(&sct, &unb64("aodds8qECZCZJepNDkSK8A=="), 24).unwrap();
        assert_eq!(b64(&d), "HvD4Am1A5OMSPygSU0Rvxse4T2fnJmEe");
    }

    #[test]
    fn cbc_roundtrip_with_openssl_padding() {
        let mut rng = Rng::new(Some(7)).unwrap();
        let key = [3u8; 32];
        let cv = cbc_encrypt(
            BlockAlg::Aes256,
            &key,
            b"hello world",
            BlockPadding::Pkcs7,
            &mut rng,
        )
        .unwrap();
        assert_eq!(cv.len(), 32);
        let plain = openssl::symm::decrypt(Cipher::aes_256_cbc(), &key, Some(&cv[..16]), &cv[16..])
            .unwrap();
        assert_eq!(plain, b"hello world");
    }

    #[test]
    fn seeded_rng_is_deterministic() {
        let a = Rng::new(Some(1)).unwrap().bytes(40);
        let b = Rng::new(Some(1)).unwrap().bytes(40);
        assert_eq!(a, b);
        assert_ne!(a, Rng::new(Some(2)).unwrap().bytes(40));
    }
}
