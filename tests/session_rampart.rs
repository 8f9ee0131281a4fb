//! The Apache Rampart WS-SecureConversation exchange (sample04: rst04, rstr04, req04,
//! res04, creq04, cres04) analysed as one .xml conversation, against the results stated in
//! the vectors README (section 1).

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use wcfscope_core::analyzer::{analyze_files, Analysis, Analyzer, Options};
use wcfscope_core::model::{
    CaptureFormat, CheckStatus, Decryption, KeySource, SignatureRole, SignatureSummary,
};
use wcfscope_e2e::repo_path;

const MSGS: &str = "tests/vectors/apache-rampart-samples/msgs";
const KEYS: &str = "tests/vectors/apache-rampart-samples/keys/2007-2008/pem-derived";
const NAMES: [&str; 6] = ["rst04", "rstr04", "req04", "res04", "creq04", "cres04"];

fn options() -> Options {
    let k = |f: &str| repo_path(&format!("{KEYS}/{f}")).display().to_string();
    Options {
        keys: vec![
            k("service.cert.pem"),
            k("service.key.pem"),
            k("client.cert.pem"),
            k("client.key.pem"),
        ],
        ..Options::default()
    }
}

fn paths() -> Vec<PathBuf> {
    NAMES
        .iter()
        .map(|n| repo_path(&format!("{MSGS}/{n}.xml")))
        .collect()
}

/// The conversation with rstr04's capture artefact (a chunk-size line `e9d` inside a
/// CipherValue) removed in memory, as the README says; the file itself is untouched.
fn corrected() -> Analysis {
    let mut a = Analyzer::new("rampart".into(), CaptureFormat::Xml, options());
    for (n, p) in NAMES.iter().zip(paths()) {
        let mut bytes = std::fs::read(&p).unwrap();
        if *n == "rstr04" {
            let s = String::from_utf8(bytes).unwrap();
            assert_eq!(s.matches("\ne9d\n").count(), 1);
            bytes = s.replacen("\ne9d\n", "\n", 1).into_bytes();
        }
        a.push_xml_message(n, bytes);
    }
    a.finish()
}

#[test]
fn as_stored_reports_the_chunk_artefact() {
    let a = analyze_files(&paths(), &options(), &mut |_| {}, &AtomicBool::new(false)).unwrap();
    let r = &a.report;
    assert_eq!(r.messages.len(), 6);
    // rst04 opens with the service key.
    assert_eq!(
        r.messages[0].decryption,
        Decryption::Ok,
        "{:?}",
        r.messages[0].errors
    );
    let rstr = &r.messages[1];
    assert_eq!(rstr.decryption, Decryption::Failed);
    assert!(
        rstr.errors
            .iter()
            .any(|e| e.contains("'e9d'") && e.contains("chunk-size")),
        "{:#?}",
        rstr.errors
    );
    // The damaged EncryptedData is rstr04's encrypted signature; its Body opens, so the SCT
    // key (the clear BinarySecret) is still learned and the later messages decrypt.
    assert_eq!(r.messages[1].signature, SignatureSummary::Error);
    assert_eq!(
        r.sessions[0].key_hex.as_deref(),
        Some("596af1b3323d460e48cb99258adf12745b7e5f4e697b03416efa2db183ed5fd0")
    );
    for m in &r.messages[2..] {
        assert_eq!(
            m.decryption,
            Decryption::Ok,
            "message {}: {:#?}",
            m.index,
            m.errors
        );
    }
}

#[test]
fn corrected_copy_decrypts_and_learns_the_sct_key() {
    let a = corrected();
    let r = &a.report;
    for m in &r.messages {
        assert_eq!(
            m.decryption,
            Decryption::Ok,
            "message {}: {:#?}",
            m.index,
            m.errors
        );
    }
    let s = r
        .sessions
        .iter()
        .find(|s| s.id == "urn:uuid:20189D76AA5794EBCA12142275347662")
        .unwrap();
    assert_eq!(
        s.key_hex.as_deref(),
        Some("596af1b3323d460e48cb99258adf12745b7e5f4e697b03416efa2db183ed5fd0")
    );
    assert_eq!(s.key_source, Some(KeySource::BinarySecret));
    assert!(r.messages[2]
        .body
        .as_deref()
        .unwrap()
        .contains("<param0>Hello world1</param0>"));
    let _ = SignatureSummary::Valid;
}

/// The README's normalisation applied to in-memory copies (whitespace between tags removed,
/// a newline inside clear SignedInfo elements), plus the chunk line removed: every
/// signature then verifies, as the README states.
#[test]
fn normalised_copies_verify() {
    let mut a = Analyzer::new("rampart".into(), CaptureFormat::Xml, options());
    for (n, p) in NAMES.iter().zip(paths()) {
        let mut s = std::fs::read_to_string(&p).unwrap();
        if *n == "rstr04" {
            s = s.replacen("\ne9d\n", "\n", 1);
        }
        a.push_xml_message(
            n,
            wcfscope_e2e::whitespace::normalise(&s, true).into_bytes(),
        );
    }
    let a = a.finish();
    let r = &a.report;
    for m in &r.messages {
        assert_eq!(
            m.decryption,
            Decryption::Ok,
            "message {}: {:#?}",
            m.index,
            m.errors
        );
        assert_eq!(
            m.signature,
            SignatureSummary::Valid,
            "message {}: {:#?}",
            m.index,
            m.errors
        );
        assert!(m.errors.is_empty(), "message {}: {:#?}", m.index, m.errors);
        assert!(!m.security.checks.iter().any(|c| c.name == "whitespace"));
    }
    // rst04: primary HMAC (encrypted, over the Timestamp) and endorsing RSA over the primary.
    let sigs = &r.messages[0].security.signatures;
    assert_eq!(sigs.len(), 2);
    assert!(sigs.iter().any(|s| s.role == SignatureRole::Primary
        && s.algorithm.as_deref().unwrap().ends_with("hmac-sha1")));
    assert!(sigs.iter().any(|s| s.role == SignatureRole::Endorsing
        && s.algorithm.as_deref().unwrap().ends_with("rsa-sha1")));
    // rstr04 confirms both of rst04's signatures.
    let sc = r.messages[1]
        .security
        .checks
        .iter()
        .find(|c| c.name == "signature-confirmation")
        .unwrap();
    assert_eq!(sc.status, CheckStatus::Ok, "{}", sc.detail);
    let s = &r.sessions[0];
    assert_eq!(s.messages, vec![0, 1, 2, 3, 4, 5]);
    assert_eq!(
        s.key_hex.as_deref(),
        Some("596af1b3323d460e48cb99258adf12745b7e5f4e697b03416efa2db183ed5fd0")
    );
    assert_eq!(s.issued_by_msg, Some(0));
    assert_eq!(s.cancelled_by_msg, Some(4));
    // The decrypted bodies are the README's plaintexts.
    assert!(r.messages[2]
        .body
        .as_deref()
        .unwrap()
        .contains("<param0>Hello world1</param0>"));
    assert!(r.messages[4]
        .body
        .as_deref()
        .unwrap()
        .contains("CancelTarget"));
    assert!(r.messages[5]
        .body
        .as_deref()
        .unwrap()
        .contains("RequestedTokenCancelled"));
    // DerivedKeyTokens are labelled with what they served.
    let dks = &r.messages[2].security.derived_keys;
    assert!(dks.iter().any(|d| d.usage.as_deref() == Some("encryption")));
    assert!(dks.iter().any(|d| d.usage.as_deref() == Some("signature")));
    // The walkthrough tells how the key was learned; no key bytes appear in steps.
    let steps = &a.details[1].steps;
    assert!(steps
        .iter()
        .any(|s| s.title.contains("Learned the key of SCT")));
    let key_hex = "596af1b3323d460e48cb99258adf12745b7e5f4e697b03416efa2db183ed5fd0";
    for d in &a.details {
        for s in &d.steps {
            assert!(!format!("{s:?}").contains(key_hex));
        }
    }
}

/// As stored, the signatures over pretty-printed outer elements do not verify: a correct
/// verifier says so, and the `whitespace` check explains why.
#[test]
fn as_stored_signatures_are_invalid_with_an_explanation() {
    let a = corrected();
    for m in &a.report.messages {
        assert_eq!(
            m.signature,
            SignatureSummary::Invalid,
            "message {}",
            m.index
        );
        let w = m
            .security
            .checks
            .iter()
            .find(|c| c.name == "whitespace")
            .unwrap();
        assert_eq!(w.status, CheckStatus::Warning);
        assert!(w.detail.contains("pretty-printed"));
        assert!(
            m.errors.iter().any(|e| e.contains("digest")),
            "{:#?}",
            m.errors
        );
    }
    // The key is learned all the same (decryption does not depend on the signatures).
    assert_eq!(
        a.report.sessions[0].key_source,
        Some(KeySource::BinarySecret)
    );
}
