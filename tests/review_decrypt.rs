//! Review: what makes an EncryptedData "decrypted". A plaintext must be able to stand where
//! the EncryptedData stood: Type Element means one element (XML Encryption 1.1 §3.5.1), an
//! XML declaration cannot sit inside a document, and one plaintext that does not fit the
//! document must not take the other plaintexts' decrypted view with it. Also: a wrong key,
//! a truncated GCM tag, a key of the wrong length fail cleanly.
//!
//! Ciphertexts are made here with openssl (`symm::encrypt`), not with the analyzer.

use openssl::symm::{encrypt, encrypt_aead, Cipher};
use wcfscope_core::xml::Document;
use wcfscope_core::xmlsec::{decrypt_document, DecryptOutcome, StandaloneResolver};
use zeroize::Zeroizing;

const KEY: [u8; 32] = [0x11; 32];
const XENC: &str = "http://www.w3.org/2001/04/xmlenc#";

fn cbc(plain: &[u8]) -> Vec<u8> {
    let iv = [3u8; 16];
    let ct = encrypt(Cipher::aes_256_cbc(), &KEY, Some(&iv), plain).unwrap();
    [iv.as_slice(), &ct].concat()
}

fn gcm(plain: &[u8]) -> Vec<u8> {
    let iv = [4u8; 12];
    let mut tag = [0u8; 16];
    let ct = encrypt_aead(Cipher::aes_256_gcm(), &KEY, Some(&iv), &[], plain, &mut tag).unwrap();
    [iv.as_slice(), &ct, &tag].concat()
}

fn ed(ty: &str, alg: &str, data: &[u8]) -> String {
    format!(
        r#"<e:EncryptedData xmlns:e="{XENC}" Type="{XENC}{ty}"><e:EncryptionMethod Algorithm="{alg}"/><e:CipherData><e:CipherValue>{}</e:CipherValue></e:CipherData></e:EncryptedData>"#,
        openssl::base64::encode_block(data)
    )
}

fn resolver(key: &[u8]) -> StandaloneResolver {
    let mut r = StandaloneResolver::new();
    r.add_symmetric(None, Zeroizing::new(key.to_vec()));
    r
}

fn outcomes(xml: &str, key: &[u8]) -> (Vec<DecryptOutcome>, Option<String>) {
    let doc = Document::parse(xml.as_bytes()).unwrap();
    let d = decrypt_document(&doc, &resolver(key));
    let view = d
        .decrypted
        .map(|v| String::from_utf8(v.doc.source.clone()).unwrap());
    (d.results.into_iter().map(|r| r.outcome).collect(), view)
}

const CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes256-cbc";
const GCM: &str = "http://www.w3.org/2009/xmlenc11#aes256-gcm";

fn failed(o: &DecryptOutcome, needle: &str) -> bool {
    matches!(o, DecryptOutcome::Failed { reason } if reason.contains(needle))
}

#[test]
fn type_element_must_decrypt_to_one_element() {
    for plain in ["just text", "<a/><b/>", "<a/>tail"] {
        let xml = format!("<r>{}</r>", ed("Element", CBC, &cbc(plain.as_bytes())));
        let (o, _) = outcomes(&xml, &KEY);
        assert!(failed(&o[0], "not one element"), "{plain}: {o:?}");
    }
    // Content may be anything well-formed; Element with surrounding whitespace is one element.
    let xml = format!("<r>{}</r>", ed("Content", CBC, &cbc(b"<a/>text<b/>")));
    let (o, view) = outcomes(&xml, &KEY);
    assert!(matches!(o[0], DecryptOutcome::Decrypted { .. }), "{o:?}");
    assert_eq!(view.unwrap(), "<r><a/>text<b/></r>");
    let xml = format!("<r>{}</r>", ed("Element", CBC, &cbc(b"\n<a x='1'/>\n")));
    let (o, _) = outcomes(&xml, &KEY);
    assert!(matches!(o[0], DecryptOutcome::Decrypted { .. }), "{o:?}");
}

#[test]
fn an_xml_declaration_in_one_plaintext_fails_it_and_spares_the_others() {
    let bad = ed("Element", CBC, &cbc(br#"<?xml version="1.0"?><x/>"#));
    let good = ed("Element", CBC, &cbc(b"<y>fine</y>"));
    let (o, view) = outcomes(&format!("<r>{bad}{good}</r>"), &KEY);
    assert!(failed(&o[0], "XML declaration"), "{o:?}");
    assert!(matches!(o[1], DecryptOutcome::Decrypted { .. }), "{o:?}");
    let view = view.expect("the good plaintext is still spliced");
    assert!(view.contains("<y>fine</y>"), "{view}");
}

#[test]
fn a_plaintext_too_deep_for_its_place_fails_alone() {
    // Fits the fragment parser's depth limit alone, not at depth 3 of the document.
    let deep = format!("{}{}", "<n>".repeat(255), "</n>".repeat(255));
    let bad = ed("Element", CBC, &cbc(deep.as_bytes()));
    let good = ed("Element", CBC, &cbc(b"<y>fine</y>"));
    let (o, view) = outcomes(&format!("<r><s><t>{bad}</t></s>{good}</r>"), &KEY);
    assert!(matches!(o[1], DecryptOutcome::Decrypted { .. }), "{o:?}");
    let view = view.expect("a decrypted view");
    assert!(view.contains("<y>fine</y>"), "{view}");
    // The deep one is either in the view or failed with a reason, never silently lost.
    match &o[0] {
        DecryptOutcome::Decrypted { .. } => assert!(view.contains("<n><n>")),
        DecryptOutcome::Failed { reason } => assert!(reason.contains("does not fit"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn wrong_key_bad_tag_and_wrong_key_length_fail_cleanly() {
    let plain = b"<m:Echo xmlns:m=\"urn:m\">transfer 10 to alice</m:Echo>";
    // CBC with a wrong key: padding may pass by chance, the XML check must not.
    for k in 0u8..64 {
        let wrong = [k ^ 0x80; 32];
        let xml = format!("<r>{}</r>", ed("Content", CBC, &cbc(plain)));
        let (o, view) = outcomes(&xml, &wrong);
        assert!(
            matches!(o[0], DecryptOutcome::Failed { .. }),
            "key {k}: {o:?}"
        );
        assert!(view.is_none());
    }
    // GCM: flipped tag bit, truncated tag.
    let mut data = gcm(plain);
    let n = data.len();
    data[n - 1] ^= 1;
    let (o, _) = outcomes(&format!("<r>{}</r>", ed("Content", GCM, &data)), &KEY);
    assert!(matches!(o[0], DecryptOutcome::Failed { .. }), "{o:?}");
    let data = gcm(plain);
    let (o, _) = outcomes(
        &format!("<r>{}</r>", ed("Content", GCM, &data[..n - 4])),
        &KEY,
    );
    assert!(matches!(o[0], DecryptOutcome::Failed { .. }), "{o:?}");
    let (o, _) = outcomes(&format!("<r>{}</r>", ed("Content", GCM, &data)), &KEY);
    assert!(matches!(o[0], DecryptOutcome::Decrypted { .. }), "{o:?}");
    // A 16-byte key for aes256-cbc: not used (the resolver has no 32-byte key) — no key.
    let (o, _) = outcomes(
        &format!("<r>{}</r>", ed("Content", CBC, &cbc(plain))),
        &[1u8; 16],
    );
    assert!(!matches!(o[0], DecryptOutcome::Decrypted { .. }), "{o:?}");
}
