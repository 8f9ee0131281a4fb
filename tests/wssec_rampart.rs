//! The other Rampart exchanges (vectors README section 1, "other samples"): a per-request
//! EncryptedKey answered through EncryptedKeySHA1 (req02/res02, req09/res09: the
//! sessions-off pattern), and the WSS 1.0 asymmetric pair req03/res03 whose response is
//! encrypted for the client certificate. Messages get the README's in-memory corrections
//! (chunk-size lines removed, whitespace normalised); the files are untouched.

use wcfscope_core::analyzer::{Analyzer, Options};
use wcfscope_core::model::{CaptureFormat, CheckStatus, Decryption, Report, SignatureSummary};
use wcfscope_e2e::repo_path;
use wcfscope_e2e::whitespace::normalise;

const DIR: &str = "tests/vectors/apache-rampart-samples";

fn key(era: &str, f: &str) -> String {
    repo_path(&format!("{DIR}/keys/{era}/pem-derived/{f}"))
        .display()
        .to_string()
}

fn read(name: &str) -> String {
    std::fs::read_to_string(repo_path(&format!("{DIR}/msgs/{name}.xml"))).unwrap()
}

fn plaintext(file: &str) -> String {
    std::fs::read_to_string(repo_path(&format!("{DIR}/expected-derived/{file}"))).unwrap()
}

fn analyse(msgs: &[(&str, String)], keys: Vec<String>) -> Report {
    let mut a = Analyzer::new(
        "rampart".into(),
        CaptureFormat::Xml,
        Options {
            keys,
            ..Options::default()
        },
    );
    for (n, s) in msgs {
        a.push_xml_message(n, normalise(s, true).into_bytes());
    }
    a.finish().report
}

fn all_valid(r: &Report) {
    for m in &r.messages {
        assert_eq!(
            m.signature,
            SignatureSummary::Valid,
            "message {}: {:#?}",
            m.index,
            m.errors
        );
        assert!(
            matches!(m.decryption, Decryption::Ok | Decryption::NotEncrypted),
            "message {}: {:#?}",
            m.index,
            m.errors
        );
        assert!(m.errors.is_empty(), "message {}: {:#?}", m.index, m.errors);
    }
}

#[test]
fn req02_res02_hmac_by_encrypted_key_sha1() {
    let r = analyse(
        &[("req02", read("req02")), ("res02", read("res02"))],
        vec![
            key("2007-2008", "service.cert.pem"),
            key("2007-2008", "service.key.pem"),
        ],
    );
    all_valid(&r);
    let sc = r.messages[1]
        .security
        .checks
        .iter()
        .find(|c| c.name == "signature-confirmation")
        .unwrap();
    assert_eq!(sc.status, CheckStatus::Ok, "{}", sc.detail);
}

#[test]
fn req09_res09_aes256_and_signature_confirmation() {
    let r = analyse(
        &[("req09", read("req09")), ("res09", read("res09"))],
        vec![
            key("2009", "service.cert.pem"),
            key("2009", "service.key.pem"),
        ],
    );
    all_valid(&r);
    assert!(r.messages[0]
        .body
        .as_deref()
        .unwrap()
        .contains(plaintext("req09.EncDataId-3.plaintext.xml").as_str()));
    assert!(r.sessions.is_empty());
}

fn pair03() -> Vec<(&'static str, String)> {
    let req = read("req03");
    let res = read("res03");
    assert_eq!(req.matches("\n5f0\n").count(), 1);
    assert_eq!(res.matches("\n1d6\n").count(), 1);
    vec![
        ("req03", req.replacen("\n5f0\n", "", 1)),
        ("res03", res.replacen("\n1d6\n", "\n", 1)),
    ]
}

#[test]
fn wss10_asymmetric_response_needs_the_client_private_key() {
    // Service key and the client's certificate only: the request opens, the response is
    // encrypted for the client certificate and cannot be; the report says which key is missing.
    let r = analyse(
        &pair03(),
        vec![
            key("2007-2008", "service.cert.pem"),
            key("2007-2008", "service.key.pem"),
            key("2007-2008", "client.cert.pem"),
        ],
    );
    assert_eq!(
        r.messages[0].decryption,
        Decryption::Ok,
        "{:#?}",
        r.messages[0].errors
    );
    assert!(r.messages[0]
        .body
        .as_deref()
        .unwrap()
        .contains(plaintext("req03.EncDataId-3808966.plaintext.xml").as_str()));
    assert_eq!(
        r.messages[0].signature,
        SignatureSummary::Valid,
        "{:#?}",
        r.messages[0].errors
    );
    let res = &r.messages[1];
    assert_eq!(res.decryption, Decryption::NoKey);
    assert!(
        res.errors
            .iter()
            .any(|e| e.contains("client's private key")),
        "{:#?}",
        res.errors
    );
    assert!(
        r.diagnostics
            .iter()
            .any(|d| d.message.contains("client's private key")),
        "{:#?}",
        r.diagnostics
    );

    // With the client's private key as well, everything opens and verifies.
    let r = analyse(
        &pair03(),
        vec![
            key("2007-2008", "service.cert.pem"),
            key("2007-2008", "service.key.pem"),
            key("2007-2008", "client.cert.pem"),
            key("2007-2008", "client.key.pem"),
        ],
    );
    all_valid(&r);
    assert!(r.messages[1]
        .body
        .as_deref()
        .unwrap()
        .contains(plaintext("res03.EncDataId-14098944.plaintext.xml").as_str()));
}
