//! Review: what a "valid" verdict is bound to, beyond the classic wrapping cases of
//! `session_wrapping.rs`: a Body no signature covers, a signature that "endorses" only
//! itself, two Timestamps, clear content beside the Body's EncryptedData.
//!
//! Every signed part is written here in exclusive-c14n form by hand; digests, HMAC and
//! AES-CBC are computed with openssl over those literal bytes (not with the analyzer).

use openssl::hash::{hash, MessageDigest};
use openssl::pkey::PKey;
use openssl::sign::Signer;
use openssl::symm::{encrypt, Cipher};
use wcfscope_core::analyzer::{Analyzer, Options};
use wcfscope_core::model::{
    CaptureFormat, CheckStatus, MessageInfo, SignatureRole, SignatureSummary,
};

const S: &str = "http://www.w3.org/2003/05/soap-envelope";
const U: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
const O: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
const C: &str = "http://schemas.xmlsoap.org/ws/2005/02/sc";
const E: &str = "http://www.w3.org/2001/04/xmlenc#";
const SCT: &str = "urn:uuid:0000bind-0000-0000-0000-000000000001";
const KEY: [u8; 32] = [0x5a; 32];
const EXC: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENV_SIG: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

fn b64(b: &[u8]) -> String {
    openssl::base64::encode_block(b)
}

/// One Reference: URI, transforms, the canonical octets it digests (written by hand).
struct Ref<'a> {
    uri: &'a str,
    transforms: &'a [&'a str],
    canonical: String,
}

/// An HMAC-SHA1 Signature keyed by the SCT (`#sct`) over `refs`.
fn signature(id: Option<&str>, refs: &[Ref<'_>]) -> String {
    let mut refs_xml = String::new();
    for r in refs {
        let digest = hash(MessageDigest::sha1(), r.canonical.as_bytes()).unwrap();
        let t: String = r
            .transforms
            .iter()
            .map(|a| format!(r#"<Transform Algorithm="{a}"></Transform>"#))
            .collect();
        refs_xml.push_str(&format!(
            r#"<Reference URI="{}"><Transforms>{t}</Transforms><DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"></DigestMethod><DigestValue>{}</DigestValue></Reference>"#,
            r.uri,
            b64(&digest)
        ));
    }
    let signed_info = format!(
        r#"<SignedInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><CanonicalizationMethod Algorithm="{EXC}"></CanonicalizationMethod><SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#hmac-sha1"></SignatureMethod>{refs_xml}</SignedInfo>"#
    );
    let key = PKey::hmac(&KEY).unwrap();
    let mut signer = Signer::new(MessageDigest::sha1(), &key).unwrap();
    signer.update(signed_info.as_bytes()).unwrap();
    let value = signer.sign_to_vec().unwrap();
    let in_doc = signed_info.replacen(
        r#"<SignedInfo xmlns="http://www.w3.org/2000/09/xmldsig#">"#,
        "<SignedInfo>",
        1,
    );
    let id = id.map(|i| format!(r#" Id="{i}""#)).unwrap_or_default();
    format!(
        r##"<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"{id}>{in_doc}<SignatureValue>{}</SignatureValue><KeyInfo><o:SecurityTokenReference><o:Reference URI="#sct"/></o:SecurityTokenReference></KeyInfo></Signature>"##,
        b64(&value)
    )
}

fn envelope(header: &str, sec: &str, body: &str) -> String {
    format!(
        r#"<s:Envelope xmlns:s="{S}" xmlns:u="{U}"><s:Header><a:Action xmlns:a="http://www.w3.org/2005/08/addressing">urn:echo</a:Action><o:Security xmlns:o="{O}" s:mustUnderstand="1"><c:SecurityContextToken xmlns:c="{C}" u:Id="sct"><c:Identifier>{SCT}</c:Identifier></c:SecurityContextToken>{sec}</o:Security>{header}</s:Header><s:Body u:Id="body">{body}</s:Body></s:Envelope>"#
    )
}

const ECHO: &str = r#"<m:Echo xmlns:m="urn:m">transfer 10 to alice</m:Echo>"#;

fn body_ref(inner: &str) -> Ref<'static> {
    Ref {
        uri: "#body",
        transforms: &[EXC],
        canonical: format!(r#"<s:Body xmlns:s="{S}" xmlns:u="{U}" u:Id="body">{inner}</s:Body>"#),
    }
}

const TS: &str = r#"<u:Timestamp u:Id="ts"><u:Created>2024-05-01T10:00:00.000Z</u:Created><u:Expires>2024-05-01T10:05:00.000Z</u:Expires></u:Timestamp>"#;

fn ts_ref() -> Ref<'static> {
    Ref {
        uri: "#ts",
        transforms: &[EXC],
        canonical: format!(
            r#"<u:Timestamp xmlns:u="{U}" u:Id="ts"><u:Created>2024-05-01T10:00:00.000Z</u:Created><u:Expires>2024-05-01T10:05:00.000Z</u:Expires></u:Timestamp>"#
        ),
    }
}

fn analyse(xml: &str) -> MessageInfo {
    let mut a = Analyzer::new(
        "bind".into(),
        CaptureFormat::Xml,
        Options {
            sct_keys: vec![(SCT.into(), KEY.to_vec().into())],
            ..Options::default()
        },
    );
    a.push_xml_message("m", xml.as_bytes().to_vec());
    a.finish().report.messages.remove(0)
}

fn check<'a>(m: &'a MessageInfo, name: &str) -> &'a wcfscope_core::model::CheckInfo {
    m.security.checks.iter().find(|c| c.name == name).unwrap()
}

#[test]
fn baseline_body_and_timestamp_signed_is_valid_without_errors() {
    let sig = signature(None, &[ts_ref(), body_ref(ECHO)]);
    let m = analyse(&envelope("", &format!("{TS}{sig}"), ECHO));
    assert_eq!(m.signature, SignatureSummary::Valid, "{:#?}", m.errors);
    assert!(m.errors.is_empty(), "{:#?}", m.errors);
}

#[test]
fn a_valid_signature_that_does_not_cover_the_body_marks_the_body_unauthenticated() {
    let sig = signature(None, &[ts_ref()]);
    let m = analyse(&envelope("", &format!("{TS}{sig}"), ECHO));
    // The signature itself is valid (it verifies over the Timestamp) ...
    assert_eq!(m.signature, SignatureSummary::Valid, "{:#?}", m.errors);
    // ... but the Body shown is not what anyone signed, and the report must say so.
    assert!(
        m.errors
            .iter()
            .any(|e| e.contains("Body shown is not covered by any signature")),
        "{:#?}",
        m.errors
    );
    assert!(check(&m, "coverage").detail.contains("not signed: Body"));
}

#[test]
fn a_signature_referencing_only_itself_endorses_nothing() {
    let primary = signature(None, &[ts_ref(), body_ref(ECHO)]);
    // Enveloped-signature over itself: the node-set is empty, the digest is SHA-1("").
    let selfish = signature(
        Some("sig2"),
        &[Ref {
            uri: "#sig2",
            transforms: &[ENV_SIG, EXC],
            canonical: String::new(),
        }],
    );
    let m = analyse(&envelope("", &format!("{TS}{primary}{selfish}"), ECHO));
    let s2 = m
        .security
        .signatures
        .iter()
        .find(|s| s.id.as_deref() == Some("sig2"))
        .unwrap();
    assert_ne!(
        s2.role,
        SignatureRole::Endorsing,
        "{:#?}",
        m.security.signatures
    );
    assert_ne!(m.signature, SignatureSummary::Valid);
    assert!(
        m.errors.iter().any(|e| e.contains("itself")),
        "{:#?}",
        m.errors
    );
}

#[test]
fn two_timestamps_fail_the_timestamp_check() {
    // The signed Timestamp (stale) second; an unsigned one first, which a naive check reads.
    let fresh = r#"<u:Timestamp><u:Created>2030-01-01T00:00:00.000Z</u:Created><u:Expires>2030-01-01T00:05:00.000Z</u:Expires></u:Timestamp>"#;
    let sig = signature(None, &[ts_ref(), body_ref(ECHO)]);
    let m = analyse(&envelope("", &format!("{fresh}{TS}{sig}"), ECHO));
    let ts = check(&m, "timestamp");
    assert_eq!(ts.status, CheckStatus::Error, "{}", ts.detail);
    assert!(ts.detail.contains("2 Timestamp"), "{}", ts.detail);
    assert!(check(&m, "coverage")
        .detail
        .contains("not signed: Timestamp"));
}

/// `<e:EncryptedData Type=Content>` of `plain` with AES-256-CBC under the SCT key.
fn encrypted(plain: &str) -> String {
    let iv = [7u8; 16];
    let ct = encrypt(Cipher::aes_256_cbc(), &KEY, Some(&iv), plain.as_bytes()).unwrap();
    format!(
        r##"<e:EncryptedData xmlns:e="{E}" Id="ed" Type="{E}Content"><e:EncryptionMethod Algorithm="{E}aes256-cbc"/><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><o:SecurityTokenReference xmlns:o="{O}"><o:Reference URI="#sct"/></o:SecurityTokenReference></KeyInfo><e:CipherData><e:CipherValue>{}</e:CipherValue></e:CipherData></e:EncryptedData>"##,
        b64(&[iv.as_slice(), &ct].concat())
    )
}

#[test]
fn clear_content_beside_the_bodys_encrypted_data_is_not_called_encrypted() {
    let evil = r#"<m:Evil xmlns:m="urn:m">in clear</m:Evil>"#;
    // Signed over the decrypted view (sign-then-encrypt), so the signature is valid.
    let sig = signature(None, &[ts_ref(), body_ref(&format!("{ECHO}{evil}"))]);
    let body = format!("{}{evil}", encrypted(ECHO));
    let m = analyse(&envelope("", &format!("{TS}{sig}"), &body));
    assert_eq!(m.signature, SignatureSummary::Valid, "{:#?}", m.errors);
    let cov = check(&m, "coverage");
    assert!(cov.detail.contains("in clear"), "{}", cov.detail);
    assert!(
        m.errors.iter().any(|e| e.contains("<m:Evil>")),
        "{:#?}",
        m.errors
    );
    // Fully encrypted: no such complaint.
    let sig = signature(None, &[ts_ref(), body_ref(ECHO)]);
    let m = analyse(&envelope("", &format!("{TS}{sig}"), &encrypted(ECHO)));
    assert_eq!(m.signature, SignatureSummary::Valid, "{:#?}", m.errors);
    assert!(check(&m, "coverage").detail.contains("encrypted: Body"));
    assert!(m.errors.is_empty(), "{:#?}", m.errors);
}

#[test]
fn a_signed_header_hidden_in_the_security_header_does_not_vouch_for_the_one_shown() {
    const A: &str = "http://www.w3.org/2005/08/addressing";
    let signed_to = format!(r#"<a:To xmlns:a="{A}" u:Id="to">https://bank/good</a:To>"#);
    let to_ref = Ref {
        uri: "#to",
        transforms: &[EXC],
        canonical: format!(
            r#"<a:To xmlns:a="{A}" xmlns:u="{U}" u:Id="to">https://bank/good</a:To>"#
        ),
    };
    let sig = signature(None, &[ts_ref(), to_ref, body_ref(ECHO)]);
    // In place among the headers: valid.
    let m = analyse(&envelope(&signed_to, &format!("{TS}{sig}"), ECHO));
    assert_eq!(m.signature, SignatureSummary::Valid, "{:#?}", m.errors);
    // Moved into the Security header, a different To shown among the headers: not valid.
    let shown_to = format!(r#"<a:To xmlns:a="{A}">https://evil/</a:To>"#);
    let m = analyse(&envelope(&shown_to, &format!("{TS}{signed_to}{sig}"), ECHO));
    assert_ne!(m.signature, SignatureSummary::Valid, "{:#?}", m.errors);
    assert!(
        m.errors
            .iter()
            .any(|e| e.contains("inside the Security header")),
        "{:#?}",
        m.errors
    );
}

#[test]
fn encrypt_before_sign_verifies_over_the_ciphertext_and_shows_its_plaintext() {
    // WCF MessageProtectionOrder.EncryptBeforeSign: the Body is encrypted first and the
    // clear signature digests the Body holding the EncryptedData.
    let encd = encrypted(ECHO);
    let canonical = encd
        .replace(
            r#"<e:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes256-cbc"/>"#,
            r#"<e:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes256-cbc"></e:EncryptionMethod>"#,
        )
        .replace(
            r##"<o:Reference URI="#sct"/>"##,
            r##"<o:Reference URI="#sct"></o:Reference>"##,
        );
    let sig = signature(None, &[ts_ref(), body_ref(&canonical)]);
    let m = analyse(&envelope("", &format!("{TS}{sig}"), &encd));
    assert_eq!(m.signature, SignatureSummary::Valid, "{:#?}", m.errors);
    assert!(m.errors.is_empty(), "{:#?}", m.errors);
    assert_eq!(m.body.as_deref(), Some(ECHO));
    assert!(check(&m, "coverage")
        .detail
        .contains("signed: Body, Timestamp"));
    // One ciphertext bit changed: invalid, on the view and on the message as received.
    let b64 = encd
        .split("<e:CipherValue>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();
    let mut raw = openssl::base64::decode_block(&b64).unwrap();
    raw[20] ^= 1;
    let tampered = encd.replace(&b64, &openssl::base64::encode_block(&raw));
    let m = analyse(&envelope("", &format!("{TS}{sig}"), &tampered));
    assert_ne!(m.signature, SignatureSummary::Valid, "{:#?}", m.errors);
}

#[test]
fn an_id_hidden_inside_an_encrypted_header_plaintext_makes_the_reference_ambiguous() {
    // The genuine signed Body, plus an encrypted header block whose plaintext carries an
    // element with the same Id: after decryption the Id names two elements.
    let sig = signature(None, &[ts_ref(), body_ref(ECHO)]);
    let hidden = encrypted(&format!(
        r#"<x:Note xmlns:x="urn:x" xmlns:u="{U}" u:Id="body">transfer 10000 to mallory</x:Note>"#
    ));
    let m = analyse(&envelope(&hidden, &format!("{TS}{sig}"), ECHO));
    assert_ne!(m.signature, SignatureSummary::Valid, "{:#?}", m.errors);
    assert!(
        m.errors.iter().any(|e| e.contains("ambiguous")),
        "{:#?}",
        m.errors
    );
}
