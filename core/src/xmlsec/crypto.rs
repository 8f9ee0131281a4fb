//! The cryptographic primitives XML Signature and XML Encryption need, over openssl:
//! digests, HMAC (with truncation rules), RSA signature verification, block decryption as
//! XML Encryption defines it, RFC 3394 AES key unwrap, RFC 3217 Triple-DES key unwrap and
//! RSA key transport with an in-memory private key.
//!
//! Every error names the algorithm (by URI) and the reason, so callers can pass it on as is.

use openssl::hash::hash;
use openssl::memcmp;
use openssl::pkey::{HasPublic, PKey, PKeyRef, Private};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Signer, Verifier};
use openssl::symm::{Cipher, Crypter, Mode};
use zeroize::Zeroizing;

use super::algorithms::{BlockCipher, DigestAlgorithm, KeyTransport, KeyWrap, SignatureMethod};

/// Why a cryptographic operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("{algorithm}: key is {got} bytes, expected {expected}")]
    KeyLength {
        algorithm: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("{algorithm}: ciphertext of {len} bytes is malformed: {reason}")]
    CiphertextLength {
        algorithm: &'static str,
        len: usize,
        reason: &'static str,
    },
    #[error(
        "{algorithm}: bad padding (last byte {pad:#04x} is not a pad length 1..={block}; wrong key?)"
    )]
    BadPadding {
        algorithm: &'static str,
        pad: u8,
        block: usize,
    },
    #[error("{algorithm}: authentication tag mismatch (wrong key or modified ciphertext)")]
    TagMismatch { algorithm: &'static str },
    #[error("{algorithm}: key unwrap integrity check failed (wrong key-encryption key or corrupted EncryptedKey)")]
    UnwrapIntegrity { algorithm: &'static str },
    #[error("{algorithm}: RSA decryption failed (wrong private key, or padding does not match)")]
    RsaDecrypt { algorithm: &'static str },
    #[error("HMACOutputLength {bits} refused for {algorithm}: {reason}")]
    HmacOutputLength {
        algorithm: String,
        bits: u64,
        reason: String,
    },
    #[error("{algorithm}: {reason}")]
    Other { algorithm: String, reason: String },
}

fn openssl_err(algorithm: impl Into<String>, e: openssl::error::ErrorStack) -> CryptoError {
    CryptoError::Other {
        algorithm: algorithm.into(),
        reason: format!("openssl: {e}"),
    }
}

/// Hashes `data`.
pub fn digest(alg: DigestAlgorithm, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    hash(alg.message_digest(), data)
        .map(|d| d.to_vec())
        .map_err(|e| openssl_err(alg.uri(), e))
}

/// Full-length HMAC of `data` under `key`.
pub fn hmac(alg: DigestAlgorithm, key: &[u8], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let name = format!("hmac-{}", alg.name());
    let pkey = PKey::hmac(key).map_err(|e| openssl_err(name.clone(), e))?;
    let mut signer =
        Signer::new(alg.message_digest(), &pkey).map_err(|e| openssl_err(name.clone(), e))?;
    signer
        .update(data)
        .map_err(|e| openssl_err(name.clone(), e))?;
    signer.sign_to_vec().map_err(|e| openssl_err(name, e))
}

/// The number of MAC bytes to compare for an `HMACOutputLength` (bits), or the full length
/// when absent. Refuses truncation below max(80, half the hash output) bits and lengths that
/// are not a multiple of 8 (XML Signature 1.1 §6.3.1, after CVE-2009-0217).
pub fn hmac_output_bytes(alg: DigestAlgorithm, bits: Option<u64>) -> Result<usize, CryptoError> {
    let full_bits = (alg.output_len() * 8) as u64;
    let Some(bits) = bits else {
        return Ok(alg.output_len());
    };
    let algorithm = format!("hmac-{}", alg.name());
    let min = 80.max(full_bits / 2);
    let refuse = |reason: String| CryptoError::HmacOutputLength {
        algorithm: algorithm.clone(),
        bits,
        reason,
    };
    if bits < min {
        return Err(refuse(format!(
            "below the minimum of {min} bits (max of 80 and half the {full_bits}-bit hash; CVE-2009-0217)"
        )));
    }
    if bits > full_bits {
        return Err(refuse(format!(
            "longer than the {full_bits}-bit hash output"
        )));
    }
    if bits % 8 != 0 {
        return Err(refuse("not a multiple of 8".to_string()));
    }
    Ok((bits / 8) as usize)
}

/// Verifies an (optionally truncated) HMAC in constant time. `Ok(false)` means the MAC does
/// not match; errors are refusals (truncation rules) or openssl failures.
pub fn verify_hmac(
    alg: DigestAlgorithm,
    key: &[u8],
    data: &[u8],
    mac: &[u8],
    output_length_bits: Option<u64>,
) -> Result<bool, CryptoError> {
    let len = hmac_output_bytes(alg, output_length_bits)?;
    let full = hmac(alg, key, data)?;
    if mac.len() != len {
        return Ok(false);
    }
    Ok(memcmp::eq(&full[..len], mac))
}

/// Verifies an RSA signature (PKCS#1 v1.5 or PSS per `method`). `Ok(false)` on mismatch,
/// including malformed signature values.
pub fn verify_rsa<T: HasPublic>(
    method: SignatureMethod,
    key: &PKeyRef<T>,
    data: &[u8],
    signature: &[u8],
) -> Result<bool, CryptoError> {
    let name = method.name();
    let md = method.digest().message_digest();
    let mut verifier = Verifier::new(md, key).map_err(|e| openssl_err(name.clone(), e))?;
    match method {
        SignatureMethod::RsaPkcs1(_) => {
            verifier
                .set_rsa_padding(Padding::PKCS1)
                .map_err(|e| openssl_err(name.clone(), e))?;
        }
        SignatureMethod::RsaPss(_) => {
            verifier
                .set_rsa_padding(Padding::PKCS1_PSS)
                .map_err(|e| openssl_err(name.clone(), e))?;
            verifier
                .set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)
                .map_err(|e| openssl_err(name.clone(), e))?;
            verifier
                .set_rsa_mgf1_md(md)
                .map_err(|e| openssl_err(name.clone(), e))?;
        }
        SignatureMethod::Hmac(_) => {
            return Err(CryptoError::Other {
                algorithm: name,
                reason: "an HMAC method cannot be verified with a public key".into(),
            })
        }
    }
    verifier.update(data).map_err(|e| openssl_err(name, e))?;
    // openssl reports some malformed signatures (wrong length, bad encoding) as errors;
    // for a verifier they are simply "does not verify".
    Ok(verifier.verify(signature).unwrap_or(false))
}

fn cbc_cipher(c: BlockCipher) -> Cipher {
    match c {
        BlockCipher::TripleDesCbc => Cipher::des_ede3_cbc(),
        BlockCipher::Aes128Cbc => Cipher::aes_128_cbc(),
        BlockCipher::Aes192Cbc => Cipher::aes_192_cbc(),
        BlockCipher::Aes256Cbc => Cipher::aes_256_cbc(),
        BlockCipher::Aes128Gcm => Cipher::aes_128_gcm(),
        BlockCipher::Aes192Gcm => Cipher::aes_192_gcm(),
        BlockCipher::Aes256Gcm => Cipher::aes_256_gcm(),
    }
}

/// Runs a cipher without padding over `input` (whole blocks), returning the output.
fn raw_crypt(
    algorithm: &'static str,
    cipher: Cipher,
    mode: Mode,
    key: &[u8],
    iv: Option<&[u8]>,
    input: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let mut c = Crypter::new(cipher, mode, key, iv).map_err(|e| openssl_err(algorithm, e))?;
    c.pad(false);
    let mut out = Zeroizing::new(vec![0u8; input.len() + cipher.block_size()]);
    let mut n = c
        .update(input, &mut out)
        .map_err(|e| openssl_err(algorithm, e))?;
    n += c
        .finalize(&mut out[n..])
        .map_err(|e| openssl_err(algorithm, e))?;
    out.truncate(n);
    Ok(out)
}

/// Decrypts a CipherValue per XML Encryption §5.2: the IV is prepended to the ciphertext.
/// CBC: the last plaintext byte gives the pad length (1..=block size) and the other pad
/// bytes are arbitrary, so only that byte is checked (not PKCS#7). GCM (XML Encryption 1.1
/// §5.2.4): 12-byte IV prefix, 16-byte tag suffix.
pub fn decrypt_block(
    alg: BlockCipher,
    key: &[u8],
    data: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let algorithm = alg.uri();
    if key.len() != alg.key_len() {
        return Err(CryptoError::KeyLength {
            algorithm,
            expected: alg.key_len(),
            got: key.len(),
        });
    }
    let cipher = cbc_cipher(alg);
    if alg.is_gcm() {
        const IV: usize = 12;
        const TAG: usize = 16;
        if data.len() < IV + TAG {
            return Err(CryptoError::CiphertextLength {
                algorithm,
                len: data.len(),
                reason: "shorter than the 12-byte IV plus the 16-byte tag",
            });
        }
        let (iv, rest) = data.split_at(IV);
        let (ct, tag) = rest.split_at(rest.len() - TAG);
        let mut c = Crypter::new(cipher, Mode::Decrypt, key, Some(iv))
            .map_err(|e| openssl_err(algorithm, e))?;
        c.set_tag(tag).map_err(|e| openssl_err(algorithm, e))?;
        let mut out = Zeroizing::new(vec![0u8; ct.len() + cipher.block_size()]);
        let mut n = c
            .update(ct, &mut out)
            .map_err(|e| openssl_err(algorithm, e))?;
        n += c
            .finalize(&mut out[n..])
            .map_err(|_| CryptoError::TagMismatch { algorithm })?;
        out.truncate(n);
        return Ok(out);
    }
    let block = cipher.block_size();
    if data.len() < 2 * block || !data.len().is_multiple_of(block) {
        return Err(CryptoError::CiphertextLength {
            algorithm,
            len: data.len(),
            reason: "not an IV plus a whole number (at least one) of cipher blocks",
        });
    }
    let (iv, ct) = data.split_at(block);
    let mut out = raw_crypt(algorithm, cipher, Mode::Decrypt, key, Some(iv), ct)?;
    let pad = out.last().copied().unwrap_or(0);
    if pad == 0 || usize::from(pad) > block {
        return Err(CryptoError::BadPadding {
            algorithm,
            pad,
            block,
        });
    }
    let keep = out.len() - usize::from(pad);
    out.truncate(keep);
    Ok(out)
}

/// The RFC 3394 default initial value.
const AES_KW_IV: [u8; 8] = [0xA6; 8];

/// RFC 3394 §2.2.2 AES key unwrap (index-based form), checking the initial value A6…A6.
pub fn aes_key_unwrap(
    wrap: KeyWrap,
    kek: &[u8],
    wrapped: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let algorithm = wrap.uri();
    let cipher = match wrap {
        KeyWrap::Aes128 => Cipher::aes_128_ecb(),
        KeyWrap::Aes192 => Cipher::aes_192_ecb(),
        KeyWrap::Aes256 => Cipher::aes_256_ecb(),
        KeyWrap::TripleDes => return tripledes_key_unwrap(kek, wrapped),
    };
    if kek.len() != wrap.kek_len() {
        return Err(CryptoError::KeyLength {
            algorithm,
            expected: wrap.kek_len(),
            got: kek.len(),
        });
    }
    if wrapped.len() < 24 || !wrapped.len().is_multiple_of(8) {
        return Err(CryptoError::CiphertextLength {
            algorithm,
            len: wrapped.len(),
            reason: "AES key wrap output must be a multiple of 8 bytes and at least 24",
        });
    }
    let n = wrapped.len() / 8 - 1;
    let mut a = [0u8; 8];
    a.copy_from_slice(&wrapped[..8]);
    let mut r = Zeroizing::new(wrapped[8..].to_vec());
    let mut block = Zeroizing::new([0u8; 16]);
    for j in (0..6u64).rev() {
        for i in (1..=n).rev() {
            let t = j * n as u64 + i as u64;
            let tb = t.to_be_bytes();
            for (x, y) in a.iter_mut().zip(tb.iter()) {
                *x ^= y;
            }
            block[..8].copy_from_slice(&a);
            block[8..].copy_from_slice(&r[(i - 1) * 8..i * 8]);
            let b = raw_crypt(algorithm, cipher, Mode::Decrypt, kek, None, &block[..])?;
            if b.len() != 16 {
                return Err(CryptoError::Other {
                    algorithm: algorithm.into(),
                    reason: "short AES output".into(),
                });
            }
            a.copy_from_slice(&b[..8]);
            r[(i - 1) * 8..i * 8].copy_from_slice(&b[8..16]);
        }
    }
    if !memcmp::eq(&a, &AES_KW_IV) {
        return Err(CryptoError::UnwrapIntegrity { algorithm });
    }
    Ok(r)
}

/// The fixed IV of the first (outer) decryption of the CMS Triple-DES key wrap
/// (RFC 3217 §3.1 step 9, XML Encryption §5.6.2).
const TRIPLEDES_KW_IV: [u8; 8] = [0x4a, 0xdd, 0xa2, 0x2c, 0x79, 0xe8, 0x21, 0x05];

/// RFC 3217 §3.2 Triple-DES key unwrap: CBC-decrypt with the fixed IV, reverse the octets,
/// split off the IV, CBC-decrypt again, check the SHA-1 key checksum.
pub fn tripledes_key_unwrap(kek: &[u8], wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let algorithm = KeyWrap::TripleDes.uri();
    if kek.len() != 24 {
        return Err(CryptoError::KeyLength {
            algorithm,
            expected: 24,
            got: kek.len(),
        });
    }
    // RFC 3217 wraps exactly one three-key Triple-DES key: 24 + 8 (ICV) + 8 (IV) = 40 bytes.
    // Other key sizes (e.g. an AES key) use the same construction in XML Encryption, so any
    // multiple of 8 of at least 24 is accepted.
    if wrapped.len() < 24 || !wrapped.len().is_multiple_of(8) {
        return Err(CryptoError::CiphertextLength {
            algorithm,
            len: wrapped.len(),
            reason: "Triple-DES key wrap output must be a multiple of 8 bytes and at least 24",
        });
    }
    let cipher = Cipher::des_ede3_cbc();
    let temp3 = raw_crypt(
        algorithm,
        cipher,
        Mode::Decrypt,
        kek,
        Some(&TRIPLEDES_KW_IV),
        wrapped,
    )?;
    let mut temp2 = temp3;
    temp2.reverse();
    let (iv, temp1) = temp2.split_at(8);
    let cekicv = raw_crypt(algorithm, cipher, Mode::Decrypt, kek, Some(iv), temp1)?;
    let (cek, icv) = cekicv.split_at(cekicv.len() - 8);
    let check = digest(DigestAlgorithm::Sha1, cek)?;
    if !memcmp::eq(&check[..8], icv) {
        return Err(CryptoError::UnwrapIntegrity { algorithm });
    }
    Ok(Zeroizing::new(cek.to_vec()))
}

/// Unwraps a key with any supported key-wrap algorithm.
pub fn key_unwrap(
    wrap: KeyWrap,
    kek: &[u8],
    wrapped: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    match wrap {
        KeyWrap::TripleDes => tripledes_key_unwrap(kek, wrapped),
        _ => aes_key_unwrap(wrap, kek, wrapped),
    }
}

/// RSA key transport with an in-memory private key (the standalone CLI path; the keyring
/// offers the same through its own entries).
pub fn rsa_decrypt(
    key: &PKey<Private>,
    transport: &KeyTransport,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    use openssl::pkey_ctx::PkeyCtx;
    let algorithm = match transport {
        KeyTransport::RsaPkcs1v15 => super::algorithms::KT_RSA_1_5,
        KeyTransport::RsaOaep { .. } => super::algorithms::KT_RSA_OAEP_11,
    };
    let fail = |e: openssl::error::ErrorStack| openssl_err(algorithm, e);
    let mut ctx = PkeyCtx::new(key).map_err(fail)?;
    ctx.decrypt_init().map_err(fail)?;
    match transport {
        KeyTransport::RsaPkcs1v15 => ctx.set_rsa_padding(Padding::PKCS1).map_err(fail)?,
        KeyTransport::RsaOaep {
            digest,
            mgf1_digest,
            label,
        } => {
            ctx.set_rsa_padding(Padding::PKCS1_OAEP).map_err(fail)?;
            let md =
                openssl::md::Md::from_nid(digest.message_digest().type_()).ok_or_else(|| {
                    CryptoError::Other {
                        algorithm: algorithm.into(),
                        reason: "digest unavailable".into(),
                    }
                })?;
            let mgf = openssl::md::Md::from_nid(mgf1_digest.message_digest().type_()).ok_or_else(
                || CryptoError::Other {
                    algorithm: algorithm.into(),
                    reason: "digest unavailable".into(),
                },
            )?;
            ctx.set_rsa_oaep_md(md).map_err(fail)?;
            ctx.set_rsa_mgf1_md(mgf).map_err(fail)?;
            if !label.is_empty() {
                ctx.set_rsa_oaep_label(label).map_err(fail)?;
            }
        }
    }
    let mut out = Zeroizing::new(Vec::new());
    ctx.decrypt_to_vec(ciphertext, &mut out)
        .map_err(|_| CryptoError::RsaDecrypt { algorithm })?;
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn rfc3394_section4_vectors() {
        let kek256 = h("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F");
        let cases: [(KeyWrap, &[u8], &str, &str); 4] = [
            (
                KeyWrap::Aes128,
                &kek256[..16],
                "00112233445566778899AABBCCDDEEFF",
                "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5",
            ),
            (
                KeyWrap::Aes192,
                &kek256[..24],
                "00112233445566778899AABBCCDDEEFF",
                "96778B25AE6CA435F92B5B97C050AED2468AB8A17AD84E5D",
            ),
            (
                KeyWrap::Aes256,
                &kek256[..],
                "00112233445566778899AABBCCDDEEFF",
                "64E8C3F9CE0F5BA263E9777905818A2A93C8191E7D6E8AE7",
            ),
            (
                KeyWrap::Aes256,
                &kek256[..],
                "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
                "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21",
            ),
        ];
        for (wrap, kek, key, ct) in cases {
            let got = key_unwrap(wrap, kek, &h(ct)).unwrap();
            assert_eq!(&got[..], &h(key)[..], "{wrap:?}");
            // One flipped bit must fail the integrity check.
            let mut bad = h(ct);
            bad[5] ^= 1;
            assert_eq!(
                key_unwrap(wrap, kek, &bad),
                Err(CryptoError::UnwrapIntegrity {
                    algorithm: wrap.uri()
                })
            );
        }
        assert!(matches!(
            key_unwrap(KeyWrap::Aes128, &kek256, &h("00")),
            Err(CryptoError::KeyLength { .. })
        ));
    }

    /// Cross-check against OpenSSL's own RFC 3217 implementation (cipher "DES3-WRAP").
    #[test]
    fn tripledes_unwrap_matches_openssl_des3_wrap() {
        let kek = h("255e0d1c07b646dfb3134cc843ba8aa71f025b7c0838251f");
        let cek = h("2923bf85e06dd6ae529149f1f1bae9eab3a7da3d860d3e98");
        let cipher = openssl::cipher::Cipher::fetch(None, "DES3-WRAP", None).unwrap();
        let mut c = openssl::cipher_ctx::CipherCtx::new().unwrap();
        c.encrypt_init(Some(&cipher), Some(&kek), None).unwrap();
        let mut wrapped = Vec::new();
        c.cipher_update_vec(&cek, &mut wrapped).unwrap();
        c.cipher_final_vec(&mut wrapped).unwrap();
        assert_eq!(wrapped.len(), 40);
        let got = tripledes_key_unwrap(&kek, &wrapped).unwrap();
        assert_eq!(&got[..], &cek[..]);
        let mut bad = wrapped.clone();
        bad[20] ^= 0x80;
        assert!(matches!(
            tripledes_key_unwrap(&kek, &bad),
            Err(CryptoError::UnwrapIntegrity { .. })
        ));
        let mut other_kek = kek.clone();
        other_kek[0] ^= 0x02;
        assert!(tripledes_key_unwrap(&other_kek, &wrapped).is_err());
    }

    #[test]
    fn gcm_mcgrew_viega_test_cases_2_and_3() {
        // "The Galois/Counter Mode of Operation", test case 2: K=0, IV=0, P=0^128.
        let mut data = vec![0u8; 12];
        data.extend(h("0388dace60b6a392f328c2b971b2fe78"));
        data.extend(h("ab6e47d42cec13bdf53a67b21257bddf"));
        let pt = decrypt_block(BlockCipher::Aes128Gcm, &[0u8; 16], &data).unwrap();
        assert_eq!(&pt[..], &[0u8; 16]);
        let mut bad = data.clone();
        bad[12] ^= 1;
        assert!(matches!(
            decrypt_block(BlockCipher::Aes128Gcm, &[0u8; 16], &bad),
            Err(CryptoError::TagMismatch { .. })
        ));
        // Test case 3.
        let key = h("feffe9928665731c6d6a8f9467308308");
        let mut data = h("cafebabefacedbaddecaf888");
        data.extend(h(
            "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e\
                       21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
        ));
        data.extend(h("4d5c2af327cd64a62cf35abd2ba6fab4"));
        let pt = decrypt_block(BlockCipher::Aes128Gcm, &key, &data).unwrap();
        assert_eq!(
            &pt[..],
            &h(
                "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
                                1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"
            )[..]
        );
    }

    fn cbc_encrypt(cipher: Cipher, key: &[u8], iv: &[u8], pt: &[u8]) -> Vec<u8> {
        let mut c = Crypter::new(cipher, Mode::Encrypt, key, Some(iv)).unwrap();
        c.pad(false);
        let mut out = vec![0u8; pt.len() + 16];
        let n = c.update(pt, &mut out).unwrap();
        let m = c.finalize(&mut out[n..]).unwrap();
        out.truncate(n + m);
        let mut all = iv.to_vec();
        all.extend(out);
        all
    }

    #[test]
    fn cbc_padding_only_last_byte_counts() {
        let key = b"abcdefghijklmnop";
        let iv = [7u8; 16];
        // "hello" + 10 random-looking pad bytes + the length byte 11 (not PKCS#7).
        let mut pt = b"hello".to_vec();
        pt.extend([0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 11]);
        let ct = cbc_encrypt(Cipher::aes_128_cbc(), key, &iv, &pt);
        assert_eq!(
            &decrypt_block(BlockCipher::Aes128Cbc, key, &ct).unwrap()[..],
            b"hello"
        );
        // Pad byte 0 and pad byte > block size are refused.
        for last in [0u8, 17] {
            let mut pt2 = pt.clone();
            *pt2.last_mut().unwrap() = last;
            let ct = cbc_encrypt(Cipher::aes_128_cbc(), key, &iv, &pt2);
            assert_eq!(
                decrypt_block(BlockCipher::Aes128Cbc, key, &ct),
                Err(CryptoError::BadPadding {
                    algorithm: BlockCipher::Aes128Cbc.uri(),
                    pad: last,
                    block: 16
                })
            );
        }
        // A full block of padding (16) is fine.
        let mut pt3 = b"0123456789abcdef".to_vec();
        pt3.extend([16u8; 16]);
        let ct = cbc_encrypt(Cipher::aes_128_cbc(), key, &iv, &pt3);
        assert_eq!(
            &decrypt_block(BlockCipher::Aes128Cbc, key, &ct).unwrap()[..],
            b"0123456789abcdef"
        );
        // Triple-DES: block 8.
        let k3 = b"abcdefghijklmnopqrstuvwx";
        let ct = cbc_encrypt(
            Cipher::des_ede3_cbc(),
            k3,
            &[1u8; 8],
            b"abc\x99\x98\x97\x96\x05",
        );
        assert_eq!(
            &decrypt_block(BlockCipher::TripleDesCbc, k3, &ct).unwrap()[..],
            b"abc"
        );
        // Ragged ciphertext and wrong key length.
        assert!(matches!(
            decrypt_block(BlockCipher::TripleDesCbc, k3, &ct[..12]),
            Err(CryptoError::CiphertextLength { .. })
        ));
        assert!(matches!(
            decrypt_block(BlockCipher::Aes256Cbc, key, &ct),
            Err(CryptoError::KeyLength { .. })
        ));
    }

    #[test]
    fn hmac_known_answers_and_truncation_rules() {
        // RFC 2202 / RFC 4231 test case 2.
        let data = b"what do ya want for nothing?";
        assert_eq!(
            hmac(DigestAlgorithm::Sha1, b"Jefe", data).unwrap(),
            h("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")
        );
        let full = hmac(DigestAlgorithm::Sha256, b"Jefe", data).unwrap();
        assert_eq!(
            full,
            h("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        );
        assert!(verify_hmac(DigestAlgorithm::Sha256, b"Jefe", data, &full, None).unwrap());
        assert!(verify_hmac(
            DigestAlgorithm::Sha256,
            b"Jefe",
            data,
            &full[..16],
            Some(128)
        )
        .unwrap());
        assert!(!verify_hmac(DigestAlgorithm::Sha256, b"Jefe", data, &full[..16], None).unwrap());
        assert!(!verify_hmac(DigestAlgorithm::Sha256, b"jefe", data, &full, None).unwrap());
        // 80 bits is the SHA-1 minimum, but below half of SHA-256.
        let sha1 = hmac(DigestAlgorithm::Sha1, b"Jefe", data).unwrap();
        assert!(verify_hmac(DigestAlgorithm::Sha1, b"Jefe", data, &sha1[..10], Some(80)).unwrap());
        assert!(matches!(
            verify_hmac(
                DigestAlgorithm::Sha256,
                b"Jefe",
                data,
                &full[..10],
                Some(80)
            ),
            Err(CryptoError::HmacOutputLength { bits: 80, .. })
        ));
        assert!(hmac_output_bytes(DigestAlgorithm::Sha1, Some(40)).is_err());
        assert!(hmac_output_bytes(DigestAlgorithm::Sha1, Some(0)).is_err());
        assert!(hmac_output_bytes(DigestAlgorithm::Sha1, Some(84)).is_err());
        assert!(hmac_output_bytes(DigestAlgorithm::Sha1, Some(168)).is_err());
        assert_eq!(
            hmac_output_bytes(DigestAlgorithm::Sha512, Some(256)).unwrap(),
            32
        );
    }

    #[test]
    fn digests_known_answers() {
        assert_eq!(
            digest(DigestAlgorithm::Sha1, b"abc").unwrap(),
            h("a9993e364706816aba3e25717850c26c9cd0d89d")
        );
        assert_eq!(
            digest(DigestAlgorithm::Sha224, b"abc").unwrap(),
            h("23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7")
        );
        assert_eq!(
            digest(DigestAlgorithm::Sha256, b"abc").unwrap(),
            h("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert_eq!(digest(DigestAlgorithm::Sha384, b"abc").unwrap().len(), 48);
        assert_eq!(
            digest(DigestAlgorithm::Sha512, b"abc").unwrap()[..4],
            h("ddaf35a1")[..]
        );
    }

    #[test]
    fn rsa_sign_verify_and_key_transport_round_trip() {
        use openssl::encrypt::Encrypter;
        use openssl::rsa::Rsa;
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        for d in [
            DigestAlgorithm::Sha1,
            DigestAlgorithm::Sha256,
            DigestAlgorithm::Sha384,
            DigestAlgorithm::Sha512,
        ] {
            let mut s = Signer::new(d.message_digest(), &key).unwrap();
            s.update(b"signed info").unwrap();
            let sig = s.sign_to_vec().unwrap();
            assert!(verify_rsa(SignatureMethod::RsaPkcs1(d), &key, b"signed info", &sig).unwrap());
            assert!(!verify_rsa(SignatureMethod::RsaPkcs1(d), &key, b"signed infO", &sig).unwrap());
            assert!(!verify_rsa(
                SignatureMethod::RsaPkcs1(d),
                &key,
                b"signed info",
                &sig[1..]
            )
            .unwrap());
            let mut s = Signer::new(d.message_digest(), &key).unwrap();
            s.set_rsa_padding(Padding::PKCS1_PSS).unwrap();
            s.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH).unwrap();
            s.set_rsa_mgf1_md(d.message_digest()).unwrap();
            s.update(b"signed info").unwrap();
            let sig = s.sign_to_vec().unwrap();
            assert!(verify_rsa(SignatureMethod::RsaPss(d), &key, b"signed info", &sig).unwrap());
            assert!(!verify_rsa(SignatureMethod::RsaPkcs1(d), &key, b"signed info", &sig).unwrap());
        }
        // OAEP with SHA-256, MGF1-SHA-1 and a label.
        let mut e = Encrypter::new(&key).unwrap();
        e.set_rsa_padding(Padding::PKCS1_OAEP).unwrap();
        e.set_rsa_oaep_md(openssl::hash::MessageDigest::sha256())
            .unwrap();
        e.set_rsa_mgf1_md(openssl::hash::MessageDigest::sha1())
            .unwrap();
        e.set_rsa_oaep_label(b"12345678").unwrap();
        let mut ct = vec![0u8; e.encrypt_len(b"0123456789abcdef").unwrap()];
        let n = e.encrypt(b"0123456789abcdef", &mut ct).unwrap();
        ct.truncate(n);
        let t = KeyTransport::RsaOaep {
            digest: DigestAlgorithm::Sha256,
            mgf1_digest: DigestAlgorithm::Sha1,
            label: b"12345678".to_vec(),
        };
        assert_eq!(
            &rsa_decrypt(&key, &t, &ct).unwrap()[..],
            b"0123456789abcdef"
        );
        let wrong = KeyTransport::RsaOaep {
            digest: DigestAlgorithm::Sha256,
            mgf1_digest: DigestAlgorithm::Sha1,
            label: vec![],
        };
        assert!(matches!(
            rsa_decrypt(&key, &wrong, &ct),
            Err(CryptoError::RsaDecrypt { .. })
        ));
    }
}
