//! A WSS 1.1 EncryptedHeader (spec sheet §9.5): a signed header encrypted as
//! `k:EncryptedHeader/e:EncryptedData`, keyed directly by an SCT given with --sct-key. The
//! header is decrypted, the signature over its plaintext verifies, and the report says it
//! was encrypted. Built by hand: AES-256-CBC, SHA-1 and HMAC-SHA1 with openssl over literal
//! exclusive-c14n bytes, independently of the analyzer.

use openssl::hash::{hash, MessageDigest};
use openssl::pkey::PKey;
use openssl::sign::Signer;
use openssl::symm::{encrypt, Cipher};
use wcfscope_core::analyzer::{Analyzer, Options};
use wcfscope_core::model::{CaptureFormat, Decryption, SignatureSummary};

const S: &str = "http://www.w3.org/2003/05/soap-envelope";
const U: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
const O: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
const K: &str = "http://docs.oasis-open.org/wss/oasis-wss-wssecurity-secext-1.1.xsd";
const C: &str = "http://schemas.xmlsoap.org/ws/2005/02/sc";
const SCT: &str = "urn:uuid:eeeeeeee-0000-0000-0000-00000000000e";
const KEY: [u8; 32] = [0x5a; 32];

fn b64(b: &[u8]) -> String {
    openssl::base64::encode_block(b)
}

fn reference(uri: &str, canonical: &str) -> String {
    let d = hash(MessageDigest::sha1(), canonical.as_bytes()).unwrap();
    format!(
        r##"<Reference URI="#{uri}"><Transforms><Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"></Transform></Transforms><DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"></DigestMethod><DigestValue>{}</DigestValue></Reference>"##,
        b64(&d)
    )
}

fn message(header_text_on_wire: &str) -> String {
    let header_plain =
        format!(r#"<h:Secret xmlns:h="urn:h" u:Id="h1">{header_text_on_wire}</h:Secret>"#);
    let header_canon =
        format!(r#"<h:Secret xmlns:h="urn:h" xmlns:u="{U}" u:Id="h1">top secret</h:Secret>"#);
    let body_canon = format!(
        r#"<s:Body xmlns:s="{S}" xmlns:u="{U}" u:Id="b"><m:Op xmlns:m="urn:m">1</m:Op></s:Body>"#
    );
    let si = format!(
        r#"<SignedInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"></CanonicalizationMethod><SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#hmac-sha1"></SignatureMethod>{}{}</SignedInfo>"#,
        reference("b", &body_canon),
        reference("h1", &header_canon)
    );
    let k = PKey::hmac(&KEY).unwrap();
    let mut signer = Signer::new(MessageDigest::sha1(), &k).unwrap();
    signer.update(si.as_bytes()).unwrap();
    let sig_value = signer.sign_to_vec().unwrap();
    let si_doc = si.replacen(
        r#"<SignedInfo xmlns="http://www.w3.org/2000/09/xmldsig#">"#,
        "<SignedInfo>",
        1,
    );
    let iv = [7u8; 16];
    let ct = encrypt(
        Cipher::aes_256_cbc(),
        &KEY,
        Some(&iv),
        header_plain.as_bytes(),
    )
    .unwrap();
    let cipher_value = b64(&[iv.as_slice(), &ct].concat());
    format!(
        r##"<s:Envelope xmlns:s="{S}" xmlns:u="{U}"><s:Header><o:Security xmlns:o="{O}" s:mustUnderstand="1"><c:SecurityContextToken xmlns:c="{C}" u:Id="sct"><c:Identifier>{SCT}</c:Identifier></c:SecurityContextToken><e:ReferenceList xmlns:e="http://www.w3.org/2001/04/xmlenc#"><e:DataReference URI="#eh1"/></e:ReferenceList><Signature xmlns="http://www.w3.org/2000/09/xmldsig#">{si_doc}<SignatureValue>{}</SignatureValue><KeyInfo><o:SecurityTokenReference><o:Reference URI="#sct"/></o:SecurityTokenReference></KeyInfo></Signature></o:Security><k:EncryptedHeader xmlns:k="{K}" u:Id="eh1"><e:EncryptedData xmlns:e="http://www.w3.org/2001/04/xmlenc#" Type="http://www.w3.org/2001/04/xmlenc#Element"><e:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes256-cbc"/><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><o:SecurityTokenReference xmlns:o="{O}"><o:Reference URI="#sct"/></o:SecurityTokenReference></KeyInfo><e:CipherData><e:CipherValue>{cipher_value}</e:CipherValue></e:CipherData></e:EncryptedData></k:EncryptedHeader></s:Header><s:Body u:Id="b"><m:Op xmlns:m="urn:m">1</m:Op></s:Body></s:Envelope>"##,
        b64(&sig_value)
    )
}

fn analyse(xml: &str) -> (wcfscope_core::model::MessageInfo, Option<String>) {
    let mut a = Analyzer::new(
        "eh".into(),
        CaptureFormat::Xml,
        Options {
            sct_keys: vec![(SCT.into(), KEY.to_vec().into())],
            ..Options::default()
        },
    );
    a.push_xml_message("m", xml.as_bytes().to_vec());
    let mut an = a.finish();
    (
        an.report.messages.remove(0),
        an.details.remove(0).decrypted_xml,
    )
}

#[test]
fn encrypted_header_is_decrypted_and_its_signature_verifies() {
    let (m, view) = analyse(&message("top secret"));
    assert_eq!(m.decryption, Decryption::Ok, "{:#?}", m.errors);
    assert_eq!(m.signature, SignatureSummary::Valid, "{:#?}", m.errors);
    assert!(view.unwrap().contains(">top secret</h:Secret>"));
    let cov = m
        .security
        .checks
        .iter()
        .find(|c| c.name == "coverage")
        .unwrap();
    assert!(cov.detail.contains("encrypted: h:Secret"), "{}", cov.detail);
    let sig = &m.security.signatures[0];
    assert!(sig
        .references
        .iter()
        .any(|r| r.element.as_deref() == Some("h:Secret") && r.digest_valid == Some(true)));
}

#[test]
fn altered_encrypted_header_is_invalid() {
    let (m, _) = analyse(&message("top secreT"));
    assert_eq!(m.decryption, Decryption::Ok);
    assert_eq!(m.signature, SignatureSummary::Invalid, "{:#?}", m.errors);
    assert!(
        m.errors.iter().any(|e| e.contains("#h1")),
        "{:#?}",
        m.errors
    );
}
