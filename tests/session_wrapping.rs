//! Signature wrapping: a verdict is bound to what the message shows. A message whose
//! HMAC signature (keyed directly by an SCT, given with --sct-key) covers the Body is
//! rearranged the classic ways — Body moved into a header with a fake Body shown,
//! duplicated Ids, a signed Body hidden in the Security header, two Bodies — and none may
//! come out valid.
//!
//! The messages are written by hand already in exclusive-c14n form where it matters (the
//! signed Body and SignedInfo), so digests and the HMAC are computed here with openssl over
//! those literal bytes, independently of the analyzer's canonicalizer.

use openssl::hash::{hash, MessageDigest};
use openssl::pkey::PKey;
use openssl::sign::Signer;
use wcfscope_core::analyzer::{Analyzer, Options};
use wcfscope_core::model::{CaptureFormat, Report, SignatureSummary};

const S: &str = "http://www.w3.org/2003/05/soap-envelope";
const U: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
const O: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
const C: &str = "http://schemas.xmlsoap.org/ws/2005/02/sc";
const SCT: &str = "urn:uuid:0000wrap-0000-0000-0000-000000000001";
const KEY: [u8; 32] = [0x42; 32];

fn b64(b: &[u8]) -> String {
    openssl::base64::encode_block(b)
}

/// The genuine Body in canonical form (as exc-c14n renders it out of the Envelope).
fn signed_body(id_attr: &str) -> String {
    format!(
        r#"<s:Body xmlns:s="{S}" xmlns:u="{U}"{id_attr}><m:Echo xmlns:m="urn:m">transfer 10 to alice</m:Echo></s:Body>"#
    )
}

fn signature() -> String {
    let canon_body = signed_body(r#" u:Id="body""#);
    let digest = hash(MessageDigest::sha1(), canon_body.as_bytes()).unwrap();
    let signed_info = format!(
        r##"<SignedInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"></CanonicalizationMethod><SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#hmac-sha1"></SignatureMethod><Reference URI="#body"><Transforms><Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"></Transform></Transforms><DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"></DigestMethod><DigestValue>{}</DigestValue></Reference></SignedInfo>"##,
        b64(&digest)
    );
    let key = PKey::hmac(&KEY).unwrap();
    let mut signer = Signer::new(MessageDigest::sha1(), &key).unwrap();
    signer.update(signed_info.as_bytes()).unwrap();
    let value = signer.sign_to_vec().unwrap();
    // In the document SignedInfo inherits the default namespace from Signature.
    let in_doc = signed_info.replacen(
        r#"<SignedInfo xmlns="http://www.w3.org/2000/09/xmldsig#">"#,
        "<SignedInfo>",
        1,
    );
    format!(
        r##"<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">{in_doc}<SignatureValue>{}</SignatureValue><KeyInfo><o:SecurityTokenReference><o:Reference URI="#sct"/></o:SecurityTokenReference></KeyInfo></Signature>"##,
        b64(&value)
    )
}

/// An envelope with `extra_header` after the Security header, `sec_extra` inside it
/// (before the Signature) and `body` as the Envelope's Body (and anything after it).
fn envelope(extra_header: &str, sec_extra: &str, body: &str) -> String {
    format!(
        r#"<s:Envelope xmlns:s="{S}" xmlns:u="{U}"><s:Header><o:Security xmlns:o="{O}" s:mustUnderstand="1"><c:SecurityContextToken xmlns:c="{C}" u:Id="sct"><c:Identifier>{SCT}</c:Identifier></c:SecurityContextToken>{sec_extra}{}</o:Security>{extra_header}</s:Header>{body}</s:Envelope>"#,
        signature()
    )
}

fn genuine_body() -> String {
    r#"<s:Body u:Id="body"><m:Echo xmlns:m="urn:m">transfer 10 to alice</m:Echo></s:Body>"#
        .to_string()
}

const EVIL: &str = r#"<s:Body><m:Echo xmlns:m="urn:m">transfer 10000 to mallory</m:Echo></s:Body>"#;
const EVIL_WITH_ID: &str =
    r#"<s:Body u:Id="body"><m:Echo xmlns:m="urn:m">transfer 10000 to mallory</m:Echo></s:Body>"#;

fn analyse(xml: &str) -> Report {
    let mut a = Analyzer::new(
        "wrap".into(),
        CaptureFormat::Xml,
        Options {
            sct_keys: vec![(SCT.into(), KEY.to_vec().into())],
            ..Options::default()
        },
    );
    a.push_xml_message("m", xml.as_bytes().to_vec());
    a.finish().report
}

#[test]
fn the_untouched_message_is_valid() {
    let r = analyse(&envelope("", "", &genuine_body()));
    let m = &r.messages[0];
    assert_eq!(m.signature, SignatureSummary::Valid, "{:#?}", m.errors);
    assert!(m.body.as_deref().unwrap().contains("to alice"));
    let cov = m
        .security
        .checks
        .iter()
        .find(|c| c.name == "coverage")
        .unwrap();
    assert!(cov.detail.contains("signed: Body"), "{}", cov.detail);
}

#[test]
fn tampered_body_is_invalid() {
    let r = analyse(&envelope("", "", &genuine_body().replace("10 to", "11 to")));
    assert_eq!(r.messages[0].signature, SignatureSummary::Invalid);
    assert!(
        r.messages[0].errors.iter().any(|e| e.contains("#body")),
        "{:#?}",
        r.messages[0].errors
    );
}

#[test]
fn body_moved_into_a_header_with_a_fake_body_is_not_valid() {
    let wrapper = format!(
        r#"<w:Wrapper xmlns:w="urn:w">{}</w:Wrapper>"#,
        genuine_body()
    );
    let r = analyse(&envelope(&wrapper, "", EVIL));
    let m = &r.messages[0];
    assert_ne!(m.signature, SignatureSummary::Valid);
    assert!(m.body.as_deref().unwrap().contains("mallory"));
    assert!(
        m.errors
            .iter()
            .any(|e| e.contains("not the message's Body")),
        "{:#?}",
        m.errors
    );
}

#[test]
fn duplicated_ids_are_not_valid() {
    let wrapper = format!(
        r#"<w:Wrapper xmlns:w="urn:w">{}</w:Wrapper>"#,
        genuine_body()
    );
    let r = analyse(&envelope(&wrapper, "", EVIL_WITH_ID));
    let m = &r.messages[0];
    assert_ne!(m.signature, SignatureSummary::Valid);
    assert!(
        m.errors.iter().any(|e| e.contains("body")),
        "{:#?}",
        m.errors
    );
    // Same with the signed Body first and the fake one (same Id) shown second in a header.
    let wrapper = format!(r#"<w:Wrapper xmlns:w="urn:w">{EVIL_WITH_ID}</w:Wrapper>"#);
    let r = analyse(&envelope(&wrapper, "", &genuine_body()));
    assert_ne!(r.messages[0].signature, SignatureSummary::Valid);
}

#[test]
fn a_second_body_in_the_security_header_is_not_valid() {
    let r = analyse(&envelope("", &genuine_body(), EVIL));
    let m = &r.messages[0];
    assert_ne!(m.signature, SignatureSummary::Valid);
    assert!(m.body.as_deref().unwrap().contains("mallory"));
}

#[test]
fn two_bodies_under_the_envelope_are_not_valid() {
    let r = analyse(&envelope("", "", &format!("{EVIL}{}", genuine_body())));
    let m = &r.messages[0];
    assert_ne!(m.signature, SignatureSummary::Valid);
    assert!(m.body.as_deref().unwrap().contains("mallory"));
    assert!(
        m.errors.iter().any(|e| e.contains("2 Body elements")),
        "{:#?}",
        m.errors
    );
}

#[test]
fn an_unknown_session_key_is_explained() {
    let mut a = Analyzer::new("wrap".into(), CaptureFormat::Xml, Options::default());
    a.push_xml_message("m", envelope("", "", &genuine_body()).into_bytes());
    let r = a.finish().report;
    assert_eq!(r.messages[0].signature, SignatureSummary::NoKey);
    assert!(
        r.diagnostics
            .iter()
            .any(|d| d.message.contains(&format!("--sct-key {SCT}=HEX"))),
        "{:#?}",
        r.diagnostics
    );
    assert_eq!(r.sessions[0].key_hex, None);
}
