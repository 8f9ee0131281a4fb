//! End to end over generated WCF captures (the `synth` generator, which shares no XML or
//! crypto code with the analyzer): every suite / client credential / WS-SC version /
//! sessions on-off scenario decrypts and verifies with the service key, giving the
//! generator's SCT keys and plaintext bodies; tampered requests never come out valid.

use std::sync::atomic::AtomicBool;
use wcfscope_core::analyzer::{analyze_files, Options};
use wcfscope_core::model::{
    Decryption, KeySource, MessageKind, Report, ScVersion, SignatureSummary,
};
use wcfscope_core::synth::{
    generate, AlgorithmSuite, ClientCredential, Pki, Scenario, SynthOutput, TamperKind,
};
use wcfscope_e2e::repo_path;

fn service_key() -> String {
    format!(
        "{}:wcfscope-demo",
        repo_path("assets/demo-pki/service.pfx").display()
    )
}

fn client_key() -> String {
    format!(
        "{}:wcfscope-demo",
        repo_path("assets/demo-pki/client.pfx").display()
    )
}

fn run(sc: &Scenario, keys: Vec<String>) -> (SynthOutput, Report) {
    let out = generate(sc, &Pki::demo().unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.pcapng");
    std::fs::write(&path, &out.pcapng).unwrap();
    let opts = Options {
        keys,
        ..Options::default()
    };
    let a = analyze_files(&[path], &opts, &mut |_| {}, &AtomicBool::new(false)).unwrap();
    (out, a.report)
}

fn hex(k: &[u8]) -> String {
    k.iter().map(|b| format!("{b:02x}")).collect()
}

/// Everything decrypts, verifies, and matches the generator's record.
fn assert_all_good(sc: &Scenario, out: &SynthOutput, r: &Report) {
    let label = format!("{sc:?}");
    assert_eq!(r.messages.len(), out.messages.len(), "{label}");
    for (m, e) in r.messages.iter().zip(&out.messages) {
        let ctx = format!(
            "{label}\nmessage {} ({:?}): {:#?}",
            m.index, e.kind, m.errors
        );
        assert_eq!(m.kind, e.kind, "{ctx}");
        assert!(
            matches!(m.decryption, Decryption::Ok | Decryption::NotEncrypted),
            "{ctx}"
        );
        assert_eq!(
            m.decryption == Decryption::Ok,
            e.encrypted || m.decryption == Decryption::Ok,
            "{ctx}"
        );
        assert_eq!(m.signature, SignatureSummary::Valid, "{ctx}");
        assert!(m.errors.is_empty(), "{ctx}");
        assert_eq!(m.body.as_deref(), Some(e.plaintext_body.as_str()), "{ctx}");
        assert_eq!(m.session, e.session, "{ctx}");
        for c in &m.security.checks {
            assert_ne!(
                c.status,
                wcfscope_core::model::CheckStatus::Error,
                "{ctx}: {c:?}"
            );
        }
    }
    assert_eq!(r.sessions.len(), out.sessions.len(), "{label}");
    for s in &out.sessions {
        let got = r
            .sessions
            .iter()
            .find(|x| x.id == s.sct_id)
            .unwrap_or_else(|| panic!("{label}: {}", s.sct_id));
        assert_eq!(
            got.key_hex.as_deref(),
            Some(hex(&s.key).as_str()),
            "{label}"
        );
        assert_eq!(got.key_source, Some(KeySource::Computed), "{label}");
        assert_eq!(got.version, Some(s.version), "{label}");
    }
}

#[test]
fn every_suite_decrypts_and_verifies() {
    for suite in [
        AlgorithmSuite::Basic256,
        AlgorithmSuite::Basic128,
        AlgorithmSuite::TripleDes,
        AlgorithmSuite::Basic256Sha256,
    ] {
        let sc = Scenario::default().suite(suite).calls(2);
        let (out, r) = run(&sc, vec![service_key()]);
        assert_all_good(&sc, &out, &r);
    }
}

#[test]
fn credentials_versions_and_sessions_on_off() {
    let creds = [
        ClientCredential::None,
        ClientCredential::Certificate,
        ClientCredential::UserName {
            username: "alice".into(),
            password: "pw".into(),
        },
    ];
    for cred in creds {
        for version in [ScVersion::Feb2005, ScVersion::V13] {
            for session in [true, false] {
                let sc = Scenario::default()
                    .credential(cred.clone())
                    .version(version)
                    .secure_session(session)
                    .calls(2);
                let (out, r) = run(&sc, vec![service_key()]);
                assert_all_good(&sc, &out, &r);
                if !session {
                    assert!(r.sessions.is_empty());
                    // Responses were opened with the request's key, found by EncryptedKeySHA1.
                    assert!(r
                        .messages
                        .iter()
                        .filter(|m| m.kind == MessageKind::Application)
                        .all(|m| m.decryption == Decryption::Ok));
                }
                if cred == ClientCredential::Certificate {
                    let first = &r.messages[0];
                    let bst = first
                        .security
                        .tokens
                        .iter()
                        .find(|t| t.token_type == "x509")
                        .unwrap();
                    assert!(
                        bst.reference
                            .as_deref()
                            .unwrap()
                            .contains("CN=client.demo.wcfscope"),
                        "{bst:?}"
                    );
                    assert!(first
                        .security
                        .signatures
                        .iter()
                        .any(|s| s.role == wcfscope_core::model::SignatureRole::Endorsing));
                }
            }
        }
    }
}

#[test]
fn two_interleaved_sessions_on_two_connections() {
    let sc = Scenario::default().sessions(2).calls(2);
    let (out, r) = run(&sc, vec![service_key()]);
    assert_all_good(&sc, &out, &r);
    assert_eq!(r.sessions.len(), 2);
}

#[test]
fn without_the_service_key_nothing_opens_and_a_wrong_key_is_said() {
    let sc = Scenario::default().calls(1);
    let (_, r) = run(&sc, vec![client_key()]);
    assert!(r
        .messages
        .iter()
        .filter(|m| m.encrypted)
        .all(|m| m.decryption == Decryption::NoKey));
    assert!(r
        .messages
        .iter()
        .all(|m| m.signature != SignatureSummary::Valid));
    assert!(
        r.messages[0]
            .errors
            .iter()
            .any(|e| e.contains("not in the keyring")),
        "{:#?}",
        r.messages[0].errors
    );
    assert!(r.sessions.iter().all(|s| s.key_hex.is_none()));
}

#[test]
fn tampered_requests_are_never_valid() {
    for kind in [
        TamperKind::BodyCiphertextFlip,
        TamperKind::SignedHeaderAltered,
        TamperKind::WrongDigest,
        TamperKind::SignatureWrapping,
    ] {
        for session in [true, false] {
            let sc = Scenario::default()
                .calls(3)
                .secure_session(session)
                .tamper(0, 1, kind);
            let (out, r) = run(&sc, vec![service_key()]);
            let label = format!("{kind:?} session={session}");
            let mut tampered = 0;
            for (m, e) in r.messages.iter().zip(&out.messages) {
                if e.tampered {
                    tampered += 1;
                    let bad = m.signature != SignatureSummary::Valid
                        || m.decryption == Decryption::Failed;
                    assert!(bad, "{label}: message {} shown as valid: {:#?}", m.index, m);
                    assert_ne!(
                        m.signature,
                        SignatureSummary::Valid,
                        "{label}: {:#?}",
                        m.errors
                    );
                    assert!(!m.errors.is_empty(), "{label}");
                } else if e.kind != MessageKind::Fault {
                    assert_eq!(
                        m.signature,
                        SignatureSummary::Valid,
                        "{label}: message {}: {:#?}",
                        m.index,
                        m.errors
                    );
                }
            }
            assert_eq!(tampered, 1, "{label}");
        }
    }
}
