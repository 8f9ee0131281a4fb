//! `Envelope::parse` leaves a plain message's Body payload without a tree (it is checked,
//! not built). Nothing the analyzer reads may change because of that: on every SOAP message
//! of the conformance vectors, of generated secure sessions and of hand-made plain ones, the
//! skimmed envelope and the whole tree give the same SOAP version, addressing, fault, kind,
//! body text, security inventory and SCT references; and `--redact-keys` still masks a
//! Password deep in a plain payload.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use wcfscope_core::analyzer::{analyze_files, Options};
use wcfscope_core::soap::{classify, Envelope};
use wcfscope_core::synth::{generate, Pki, Scenario};
use wcfscope_core::wssec::{inventory, sct_references};
use wcfscope_e2e::repo_path;

/// What the analyzer reads from an envelope, as one comparable string.
fn reading(env: &Envelope) -> String {
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{}\n{}\n{}\n{:?}\n{:?}",
        env.version,
        env.addressing,
        env.fault,
        classify(env, env.addressing.action.as_deref()),
        env.body_inner_xml(),
        env.body_encrypted(),
        env.security_header().is_some(),
        inventory(env),
        sct_references(env),
    )
}

/// Compares the two parses of `bytes`; returns whether the skimmed one left anything out
/// (None when the bytes are not a SOAP envelope at all).
fn compare(name: &str, bytes: &[u8]) -> Option<bool> {
    compare_owned(name, bytes);
    let whole = Envelope::parse_whole(bytes);
    let skimmed = Envelope::parse(bytes);
    match (&whole, &skimmed) {
        (Ok(w), Ok(s)) => {
            assert_eq!(reading(w), reading(s), "{name}");
            assert!(!w.doc.skimmed, "{name}");
            Some(s.doc.skimmed)
        }
        (Err(w), Err(s)) => {
            assert_eq!(w.to_string(), s.to_string(), "{name}");
            None
        }
        _ => panic!(
            "{name}: whole {:?} vs skimmed {:?}",
            whole.err(),
            skimmed.err()
        ),
    }
}

/// `Envelope::parse_owned` (the bytes handed over, kept as the source without a copy)
/// reads exactly what `Envelope::parse` reads, keeps the same source bytes, and on an
/// error gives the bytes back unchanged.
fn compare_owned(name: &str, bytes: &[u8]) {
    let borrowed = Envelope::parse(bytes);
    match (&borrowed, Envelope::parse_owned(bytes.to_vec())) {
        (Ok(b), Ok(o)) => {
            assert_eq!(reading(b), reading(&o), "{name}");
            assert_eq!(b.doc.source, o.doc.source, "{name}");
        }
        (Err(b), Err((o, back))) => {
            assert_eq!(b.to_string(), o.to_string(), "{name}");
            assert_eq!(back, bytes, "{name}: bytes given back");
        }
        (b, o) => panic!(
            "{name}: parse {:?} vs parse_owned {:?}",
            b.as_ref().err(),
            o.err()
        ),
    }
}

#[test]
fn parse_owned_reads_the_same_on_every_encoding_and_error() {
    let good =
        plain("<x:Order xmlns:x=\"urn:o\"><x:Id>7</x:Id><x:Note>R&amp;D é</x:Note></x:Order>");
    let utf16 = |le: bool| {
        let mut out = if le {
            vec![0xFF, 0xFE]
        } else {
            vec![0xFE, 0xFF]
        };
        for unit in good.encode_utf16() {
            out.extend(if le {
                unit.to_le_bytes()
            } else {
                unit.to_be_bytes()
            });
        }
        out
    };
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend(good.as_bytes());
    let mut bad_utf8 = good.as_bytes().to_vec();
    let at = bad_utf8.len() / 2;
    bad_utf8[at] = 0xFF;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("plain", good.as_bytes().to_vec()),
        ("utf-8 bom", bom),
        ("utf-16le", utf16(true)),
        ("utf-16be", utf16(false)),
        ("utf-16 without bom", b"<\0a\0/\0>\0".to_vec()),
        ("invalid utf-8", bad_utf8),
        ("not soap", b"<a xmlns=\"urn:x\"><b/></a>".to_vec()),
        (
            "no body",
            b"<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"/>".to_vec(),
        ),
        ("malformed", good.replace("</x:Id>", "</x:Ix>").into_bytes()),
        ("truncated", good.as_bytes()[..good.len() - 9].to_vec()),
        ("empty", Vec::new()),
    ];
    for (name, bytes) in &cases {
        compare_owned(name, bytes);
    }
}

fn xml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            xml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "xml") {
            out.push(p);
        }
    }
}

#[test]
fn vectors_and_generated_sessions_read_the_same_skimmed_or_whole() {
    let mut files = Vec::new();
    xml_files(&repo_path("tests/vectors"), &mut files);
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::demo().unwrap();
    for sc in [
        Scenario::default().calls(2).cancel(true),
        Scenario::default().secure_session(false).calls(2),
    ] {
        let out = generate(&sc, &pki).unwrap();
        let sub = dir.path().join(format!("{}", files.len()));
        std::fs::create_dir_all(&sub).unwrap();
        files.extend(out.write_xml_files(&sub).unwrap());
    }
    let mut envelopes = 0;
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        envelopes += usize::from(compare(&f.display().to_string(), &bytes).is_some());
    }
    assert!(
        envelopes > 30,
        "too few SOAP envelopes compared: {envelopes}"
    );
}

const PLAIN_HEAD: &str = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:Action s:mustUnderstand="1">http://tempuri.org/IShop/Order</a:Action><a:MessageID>urn:uuid:1</a:MessageID><a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo></s:Header><s:Body>"#;
const PLAIN_TAIL: &str = "</s:Body></s:Envelope>";

fn plain(payload: &str) -> String {
    format!("{PLAIN_HEAD}{payload}{PLAIN_TAIL}")
}

#[test]
fn plain_payloads_are_skimmed_unless_something_reads_them() {
    // (payload, skimmed?)
    let cases = [
        (
            r#"<Order xmlns="http://tempuri.org/"><o xmlns:b="urn:b"><b:Id>1</b:Id><b:Note>a &amp; b</b:Note></o></Order>"#,
            true,
        ),
        // Password anywhere: --redact-keys masks it, so the tree is needed.
        (
            r#"<Login xmlns="http://tempuri.org/"><c><Password>hunter2</Password></c></Login>"#,
            false,
        ),
        // A SecurityContextToken deep in a payload is an SCT reference.
        (
            r#"<Wrap xmlns="urn:w"><x><c:SecurityContextToken xmlns:c="http://schemas.xmlsoap.org/ws/2005/02/sc"><c:Identifier>urn:uuid:9</c:Identifier></c:SecurityContextToken></x></Wrap>"#,
            false,
        ),
        // Found only after another payload was already skipped: parsed again whole.
        (
            r#"<First xmlns="urn:f"><deep><deeper/></deep></First><Second xmlns="urn:s"><e:EncryptedData xmlns:e="http://www.w3.org/2001/04/xmlenc#"/></Second>"#,
            false,
        ),
        // A fault's code and reason are below the Body's top element.
        (
            r#"<s:Fault><s:Code><s:Value>s:Receiver</s:Value></s:Code><s:Reason><s:Text xml:lang="en">boom</s:Text></s:Reason></s:Fault>"#,
            false,
        ),
        // Malformed deep inside: rejected exactly as by a whole parse.
        (r#"<Order xmlns="urn:o"><a><p:b/></a></Order>"#, false),
        (r#"<Order xmlns="urn:o"><a x="<"/></Order>"#, false),
    ];
    for (payload, expect_skimmed) in cases {
        let doc = plain(payload);
        let skimmed = compare(payload, doc.as_bytes());
        if expect_skimmed {
            assert_eq!(skimmed, Some(true), "{payload}");
        } else {
            assert_ne!(skimmed, Some(true), "{payload}");
        }
    }
}

#[test]
fn redact_keys_masks_a_password_deep_in_a_plain_payload() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("login.xml");
    std::fs::write(
        &path,
        plain(r#"<Login xmlns="http://tempuri.org/"><c><d><Password>hunter2</Password></d></c></Login>"#),
    )
    .unwrap();
    let options = Options {
        redact_keys: true,
        ..Options::default()
    };
    let a = analyze_files(&[path], &options, &mut |_| {}, &AtomicBool::new(false)).unwrap();
    let body = a.report.messages[0].body.clone().unwrap();
    assert!(!body.contains("hunter2"), "{body}");
    assert!(body.contains("<Password>****</Password>"), "{body}");
}
