//! The WCF client ↔ CoreWCF exchange (TransportWithMessageCredential + SecureConversation,
//! Feb2005) analysed as one .xml conversation: the SCT key follows from the two entropies
//! (ComputedKey P_SHA1) and signs 03 and 05 directly (vectors README section 2).

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use wcfscope_core::analyzer::{analyze_files, Analyzer, Options};
use wcfscope_core::model::{CaptureFormat, CheckStatus, KeySource, MessageKind, SignatureSummary};
use wcfscope_e2e::repo_path;

const DIR: &str = "tests/vectors/corewcf-transport-message-credential";
const FILES: [&str; 6] = [
    "01-rst-sct-request",
    "02-rstr-sct-response",
    "03-service-request",
    "04-service-response",
    "05-sct-cancel-request",
    "06-sct-cancel-response",
];
const SCT: &str = "urn:uuid:40859149-0ab7-4ee2-a7cc-22bc21adfe08";
const KEY: &str = "1ff37f409a40233bd7eb9d9d4e6a5229fc798ef72175595635a48f88f90db8ff";

fn paths() -> Vec<PathBuf> {
    FILES
        .iter()
        .map(|f| repo_path(&format!("{DIR}/{f}.xml")))
        .collect()
}

#[test]
fn computed_key_from_the_entropies() {
    let a = analyze_files(
        &paths(),
        &Options::default(),
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    let r = &a.report;
    assert_eq!(r.messages[0].kind, MessageKind::SctIssue);
    assert_eq!(r.messages[1].kind, MessageKind::SctIssueResponse);
    let s = r.sessions.iter().find(|s| s.id == SCT).expect("session");
    assert_eq!(s.key_hex.as_deref(), Some(KEY));
    assert_eq!(s.key_source, Some(KeySource::Computed));
    assert_eq!(s.issued_by_msg, Some(0));
    assert!(
        s.messages.contains(&2) && s.messages.contains(&4),
        "{:?}",
        s.messages
    );
    // As stored (pretty-printed by the documentation) 03 and 05 do not verify; the check
    // explains that they do once whitespace-only text nodes are removed.
    for i in [2, 4] {
        let m = &r.messages[i];
        assert_eq!(
            m.signature,
            SignatureSummary::Invalid,
            "message {i}: {:#?}",
            m.errors
        );
        let w = m
            .security
            .checks
            .iter()
            .find(|c| c.name == "whitespace")
            .expect("whitespace check");
        assert_eq!(w.status, CheckStatus::Warning);
        assert!(
            w.detail
                .contains("removing every whitespace-only text node"),
            "{}",
            w.detail
        );
    }
}

#[test]
fn normalised_copies_verify_with_the_computed_key() {
    let mut a = Analyzer::new("corewcf".into(), CaptureFormat::Xml, Options::default());
    for (f, p) in FILES.iter().zip(paths()) {
        let s = std::fs::read_to_string(&p).unwrap();
        a.push_xml_message(
            f,
            wcfscope_e2e::whitespace::normalise(&s, false).into_bytes(),
        );
    }
    let r = a.finish().report;
    for i in [2, 4] {
        let m = &r.messages[i];
        assert_eq!(
            m.signature,
            SignatureSummary::Valid,
            "message {i}: {:#?}",
            m.errors
        );
        let sig = &m.security.signatures[0];
        assert!(sig.algorithm.as_deref().unwrap().ends_with("hmac-sha1"));
        assert!(sig.references.iter().all(|r| r.digest_valid == Some(true)));
        assert!(
            sig.references
                .iter()
                .any(|r| r.element.as_deref() == Some("u:Timestamp")),
            "{:?}",
            sig.references
        );
    }
    assert_eq!(
        r.sessions
            .iter()
            .find(|s| s.id == SCT)
            .unwrap()
            .key_hex
            .as_deref(),
        Some(KEY)
    );
}

/// Swapping the entropies (a classic mistake) must not verify: the known answer guards the
/// argument order. Here: a manual key that is wrong gives "invalid", not "valid".
#[test]
fn a_wrong_manual_key_does_not_verify() {
    let only = [repo_path(&format!("{DIR}/03-service-request.xml"))];
    let mut a = Analyzer::new(
        "x".into(),
        CaptureFormat::Xml,
        Options {
            sct_keys: vec![(SCT.into(), vec![0x11; 32].into())],
            ..Options::default()
        },
    );
    let s = std::fs::read_to_string(&only[0]).unwrap();
    a.push_xml_message(
        "03",
        wcfscope_e2e::whitespace::normalise(&s, false).into_bytes(),
    );
    let r = a.finish().report;
    assert_eq!(r.messages[0].signature, SignatureSummary::Invalid);
    let s = &r.sessions[0];
    assert_eq!(s.key_source, Some(KeySource::Manual));
    // And the right manual key (--sct-key, Identifier in upper case) verifies without any
    // bootstrap.
    let mut a = Analyzer::new(
        "x".into(),
        CaptureFormat::Xml,
        Options {
            sct_keys: vec![(
                SCT.to_uppercase().replace("URN:UUID:", "urn:uuid:"),
                (0..32)
                    .map(|i| u8::from_str_radix(&KEY[2 * i..2 * i + 2], 16).unwrap())
                    .collect::<Vec<u8>>()
                    .into(),
            )],
            ..Options::default()
        },
    );
    let s = std::fs::read_to_string(&only[0]).unwrap();
    a.push_xml_message(
        "03",
        wcfscope_e2e::whitespace::normalise(&s, false).into_bytes(),
    );
    let r = a.finish().report;
    assert_eq!(
        r.messages[0].signature,
        SignatureSummary::Valid,
        "{:#?}",
        r.messages[0].errors
    );
    assert_eq!(r.sessions[0].key_hex.as_deref(), Some(KEY));
    assert_eq!(r.sessions[0].key_source, Some(KeySource::Manual));
}
