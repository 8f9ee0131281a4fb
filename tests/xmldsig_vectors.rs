//! XML Signature conformance: xmlsec's copies of merlin-xmldsig-twenty-three and the
//! aleksey-xmldsig-01 subset, with the expectations of the vectors README; plus tampering and
//! signature-wrapping checks on them.

use std::path::PathBuf;

use openssl::pkey::PKey;
use wcfscope_core::xml::Document;
use wcfscope_core::xmlsec::{
    verify_all, ReferenceProblem, SignatureResult, SignatureVerdict, StandaloneResolver,
};
use zeroize::Zeroizing;

const MERLIN: &str = "xmlsec/tests/merlin-xmldsig-twenty-three";
const ALEKSEY: &str = "xmlsec/tests/aleksey-xmldsig-01";

fn vector(sub: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(sub);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn hmac_resolver() -> StandaloneResolver {
    let mut r = StandaloneResolver::new();
    let key = vector("xmlsec/tests/keys/hmackey.bin");
    assert_eq!(key, b"secret");
    r.add_symmetric(None, Zeroizing::new(key));
    r
}

fn verify_bytes(bytes: &[u8], r: &StandaloneResolver) -> Vec<SignatureResult> {
    let doc = Document::parse(bytes).unwrap();
    verify_all(&doc, r)
}

fn verify_one(sub: &str, r: &StandaloneResolver) -> SignatureResult {
    let mut v = verify_bytes(&vector(sub), r);
    assert_eq!(v.len(), 1, "{sub}: one signature expected");
    v.remove(0)
}

fn assert_valid(sub: &str, r: &StandaloneResolver) -> SignatureResult {
    let s = verify_one(sub, r);
    assert_eq!(
        s.verdict,
        SignatureVerdict::Valid,
        "{sub}: {:#?}",
        s.references
    );
    assert!(
        s.references.iter().all(|x| x.digest_valid == Some(true)),
        "{sub}"
    );
    assert!(!s.canonical_signed_info.is_empty());
    s
}

/// Changes one character of `needle` (its first occurrence) in a copy of the vector.
fn tamper(bytes: &[u8], needle: &str, replacement: &str) -> Vec<u8> {
    let s = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(s.contains(needle), "needle {needle:?} not in vector");
    s.replacen(needle, replacement, 1).into_bytes()
}

#[test]
fn merlin_hmac_sha1_enveloping_is_valid_and_tampering_breaks_it() {
    let r = hmac_resolver();
    let sub = format!("{MERLIN}/signature-enveloping-hmac-sha1.xml");
    let s = assert_valid(&sub, &r);
    assert_eq!(s.references[0].element_name.as_deref(), Some("Object"));
    assert_eq!(
        s.references[0].canonical_bytes,
        br#"<Object xmlns="http://www.w3.org/2000/09/xmldsig#" Id="object">some text</Object>"#
    );
    assert!(s.key_source.unwrap().contains("hex:"));
    // Signed content changed: digest mismatch names the reference, URI and digest.
    let bad = verify_bytes(&tamper(&vector(&sub), "some text", "some texT"), &r);
    match &bad[0].verdict {
        SignatureVerdict::Invalid { reason } => {
            assert!(
                reason.contains("digest mismatch at reference 1 (URI #object, sha1)"),
                "{reason}"
            )
        }
        v => panic!("{v:?}"),
    }
    // Wrong key: the SignatureValue does not verify.
    let mut wrong = StandaloneResolver::new();
    wrong.add_symmetric(None, Zeroizing::new(b"secreT".to_vec()));
    let s = verify_one(&sub, &wrong);
    match &s.verdict {
        SignatureVerdict::Invalid { reason } => {
            assert!(
                reason.contains("SignatureValue does not verify"),
                "{reason}"
            );
            assert!(
                reason.contains("http://www.w3.org/2000/09/xmldsig#hmac-sha1"),
                "{reason}"
            );
        }
        v => panic!("{v:?}"),
    }
    // No key at all.
    let s = verify_one(&sub, &StandaloneResolver::new());
    assert!(
        matches!(s.verdict, SignatureVerdict::NoKey { .. }),
        "{:?}",
        s.verdict
    );
}

#[test]
fn merlin_hmac_sha1_truncated_to_80_bits_is_valid() {
    // The file is named -40 but says HMACOutputLength 80: the minimum for SHA-1.
    assert_valid(
        &format!("{MERLIN}/signature-enveloping-hmac-sha1-40.xml"),
        &hmac_resolver(),
    );
}

#[test]
fn merlin_rsa_enveloping_with_rsakeyvalue_is_valid() {
    let sub = format!("{MERLIN}/signature-enveloping-rsa.xml");
    let s = assert_valid(&sub, &StandaloneResolver::new());
    assert!(s.key_source.unwrap().contains("RSAKeyValue"));
    let bad = verify_bytes(
        &tamper(&vector(&sub), "<SignatureValue>", "<SignatureValue>AAAA"),
        &StandaloneResolver::new(),
    );
    assert!(
        matches!(bad[0].verdict, SignatureVerdict::Invalid { .. }),
        "{:?}",
        bad[0].verdict
    );
}

/// Merlin files this engine deliberately does not check, each with the reason; the engine
/// must report them as "error" (could not check), never as valid or invalid.
#[test]
fn merlin_out_of_scope_files_are_reported_unchecked() {
    let cases: [(&str, &str, &str); 13] = [
        (
            "signature-enveloping-dsa.xml",
            "DSA out of scope",
            "unsupported SignatureMethod http://www.w3.org/2000/09/xmldsig#dsa-sha1",
        ),
        (
            "signature-enveloped-dsa.xml",
            "DSA out of scope",
            "dsa-sha1",
        ),
        (
            "signature-enveloping-b64-dsa.xml",
            "DSA out of scope (and the base64 transform)",
            "dsa-sha1",
        ),
        (
            "signature-external-dsa.xml",
            "external URI http://www.w3.org/TR/xml-stylesheet; DSA",
            "unsupported external URI http://www.w3.org/TR/xml-stylesheet",
        ),
        (
            "signature-external-b64-dsa.xml",
            "external URI; DSA",
            "unsupported external URI",
        ),
        (
            "signature-keyname.xml",
            "external URI; DSA certificate by KeyName",
            "unsupported external URI",
        ),
        (
            "signature-retrievalmethod-rawx509crt.xml",
            "external URI; DSA; RetrievalMethod to a file",
            "unsupported external URI",
        ),
        (
            "signature-x509-crt.xml",
            "external URI; DSA",
            "unsupported external URI",
        ),
        (
            "signature-x509-crt-crl.xml",
            "external URI; DSA; CRL checking (must fail: revoked)",
            "unsupported external URI",
        ),
        (
            "signature-x509-is.xml",
            "external URI; DSA",
            "unsupported external URI",
        ),
        (
            "signature-x509-ski.xml",
            "external URI; DSA",
            "unsupported external URI",
        ),
        (
            "signature-x509-sn.xml",
            "external URI; DSA",
            "unsupported external URI",
        ),
        (
            "signature.xml",
            "DOCTYPE refused by the parser; DSA, XPath, XSLT, Manifest",
            "",
        ),
    ];
    for (file, why, expect) in cases {
        let bytes = vector(&format!("{MERLIN}/{file}"));
        let Ok(doc) = Document::parse(&bytes) else {
            assert!(expect.is_empty(), "{file} ({why}) should parse");
            continue;
        };
        let results = verify_all(&doc, &hmac_resolver());
        assert_eq!(results.len(), 1, "{file}");
        match &results[0].verdict {
            SignatureVerdict::Error { reason } => {
                assert!(reason.contains(expect), "{file} ({why}): {reason}")
            }
            v => panic!("{file} ({why}) must be unchecked, got {v:?}"),
        }
    }
}

#[test]
fn aleksey_hmac_files() {
    let r = hmac_resolver();
    for f in [
        "enveloping-sha1-hmac-sha1.xml",
        "enveloping-sha1-hmac-sha1-64.xml",
        "enveloping-sha256-hmac-sha256.xml",
    ] {
        assert_valid(&format!("{ALEKSEY}/{f}"), &r);
    }
    // The MAC matches, but 80 bits is below half of SHA-256: refused (CVE-2009-0217).
    let s = verify_one(
        &format!("{ALEKSEY}/enveloping-sha256-hmac-sha256-64.xml"),
        &r,
    );
    match &s.verdict {
        SignatureVerdict::Invalid { reason } => {
            assert!(reason.contains("HMACOutputLength 80"), "{reason}");
            assert!(
                reason.contains("http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"),
                "{reason}"
            );
        }
        v => panic!("must be rejected: {v:?}"),
    }
    assert!(s.references.iter().all(|x| x.digest_valid == Some(true)));
}

#[test]
fn aleksey_rsa_files() {
    for f in [
        "enveloping-sha1-rsa-sha1.xml",
        "enveloping-sha256-rsa-sha256.xml",
    ] {
        let s = assert_valid(&format!("{ALEKSEY}/{f}"), &StandaloneResolver::new());
        assert!(s.key_source.unwrap().contains("X509Certificate"), "{f}");
    }
    // Enveloped, with the XPath not(ancestor-or-self::dsig:Signature) idiom; key from a PEM.
    let mut r = StandaloneResolver::new();
    let pem = vector("xmlsec/tests/keys/rsa/rsa-4096-pubkey.pem");
    r.add_public_key(
        PKey::public_key_from_pem(&pem).unwrap(),
        "rsa-4096-pubkey.pem",
    );
    let sub = format!("{ALEKSEY}/enveloped-sha1-rsa-sha1.xml");
    let s = assert_valid(&sub, &r);
    assert_eq!(s.references[0].element_name.as_deref(), Some("#document"));
    let bad = verify_bytes(&tamper(&vector(&sub), "Hello, World!", "Hello, World?"), &r);
    assert!(
        matches!(&bad[0].verdict, SignatureVerdict::Invalid { reason } if reason.contains("digest mismatch")),
        "{:?}",
        bad[0].verdict
    );
    // A different key: the SignatureValue fails.
    let mut other = StandaloneResolver::new();
    let pem = vector("xmlsec/tests/keys/rsa/rsa-2048-cert.pem");
    other
        .add_certificate(
            openssl::x509::X509::from_pem(&pem).unwrap(),
            "rsa-2048-cert.pem",
        )
        .unwrap();
    let s = verify_one(&sub, &other);
    assert!(
        matches!(s.verdict, SignatureVerdict::Invalid { .. }),
        "{:?}",
        s.verdict
    );
}

#[test]
fn duplicate_ids_are_refused_as_signature_wrapping() {
    let sub = format!("{MERLIN}/signature-enveloping-hmac-sha1.xml");
    // A second element with Id="object" placed before the Signature's own Object.
    let wrapped = tamper(
        &vector(&sub),
        "<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\">",
        "<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><Object Id=\"object\">evil</Object>",
    );
    let s = verify_bytes(&wrapped, &hmac_resolver());
    match &s[0].verdict {
        SignatureVerdict::Invalid { reason } => assert!(reason.contains("ambiguous"), "{reason}"),
        v => panic!("{v:?}"),
    }
    assert_eq!(s[0].references[0].resolved, None);
}

#[test]
fn unsupported_transform_is_named_with_the_reference() {
    let sub = format!("{MERLIN}/signature-enveloping-hmac-sha1.xml");
    let odd = tamper(
        &vector(&sub),
        "<Reference URI=\"#object\">",
        "<Reference URI=\"#object\"><Transforms><Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xslt-19991116\"/></Transforms>",
    );
    let s = verify_bytes(&odd, &hmac_resolver());
    let r = &s[0].references[0];
    assert_eq!(r.problem, Some(ReferenceProblem::Unsupported));
    let e = r.error.as_deref().unwrap();
    assert!(
        e.contains("unsupported transform http://www.w3.org/TR/1999/REC-xslt-19991116 in reference 1 (URI #object)"),
        "{e}"
    );
    assert_eq!(r.digest_valid, None);
    // SignedInfo itself was changed, so the SignatureValue fails too: invalid wins.
    assert!(
        matches!(s[0].verdict, SignatureVerdict::Invalid { .. }),
        "{:?}",
        s[0].verdict
    );
}

/// merlin-xmlenc-five's encsig-* files: HMAC signatures whose key is an EncryptedKey inside
/// the Signature's KeyInfo (key wrap or RSA key transport). Their only Reference is an
/// external URI, so the verdict is "not checked", but the SignatureValue is checked with
/// the unwrapped key and must verify.
#[test]
fn merlin_encsig_hmac_keys_from_encrypted_keys() {
    const ENC: &str =
        "santuario-xml-security-java/src/test/resources/ie/baltimore/merlin-examples/merlin-xmlenc-five";
    let mut r = StandaloneResolver::new();
    for (name, key) in [
        ("job", &b"abcdefghijklmnop"[..]),
        ("jeb", b"abcdefghijklmnopqrstuvwx"),
        ("jed", b"abcdefghijklmnopqrstuvwxyz012345"),
    ] {
        r.add_symmetric(Some(name.into()), Zeroizing::new(key.to_vec()));
    }
    let rsa = PKey::private_key_from_pkcs8(&vector(&format!("{ENC}/rsa.p8"))).unwrap();
    r.add_private_key(rsa, None, "rsa.p8");
    for (f, how) in [
        ("encsig-sha256-hmac-sha256-kw-aes128.xml", "kw-aes128"),
        ("encsig-sha384-hmac-sha384-kw-aes192.xml", "kw-aes192"),
        ("encsig-sha512-hmac-sha512-kw-aes256.xml", "kw-aes256"),
        ("encsig-hmac-sha256-rsa-1_5.xml", "rsa-1_5"),
        ("encsig-hmac-sha256-rsa-oaep-mgf1p.xml", "rsa-oaep-mgf1p"),
    ] {
        let s = verify_one(&format!("{ENC}/{f}"), &r);
        assert_eq!(s.signature_value_valid, Some(true), "{f}: {:?}", s.verdict);
        assert!(
            s.key_source.as_deref().unwrap().contains(how),
            "{f}: {:?}",
            s.key_source
        );
        match &s.verdict {
            SignatureVerdict::Error { reason } => {
                assert!(reason.contains("unsupported external URI"), "{f}: {reason}")
            }
            v => panic!("{f}: {v:?}"),
        }
    }
    // Without the key-encryption key there is no HMAC key.
    let s = verify_one(
        &format!("{ENC}/encsig-sha256-hmac-sha256-kw-aes128.xml"),
        &StandaloneResolver::new(),
    );
    assert_eq!(s.signature_value_valid, None);
    assert!(!s.verdict.is_valid());
}
