//! `wcfscope c14n`, `wcfscope verify` and `wcfscope decrypt` as a user runs them, on the
//! third-party vectors under `tests/vectors/` (expected results from their README, see
//! `tests/vectors/ORIGIN.md`): exact output bytes and exit statuses. Complements
//! `tests/xmldsig_cli.rs` (HMAC vectors, digest-mismatch display, merlin-xmlenc-five
//! symmetric keys) with the c14n command, RSA signatures with embedded or given keys, and
//! the aleksey-xmlenc-01 and OAEP decryptions.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Output;

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors")
}

fn path(sub: &str) -> String {
    vectors().join(sub).display().to_string()
}

fn read(sub: &str) -> Vec<u8> {
    std::fs::read(vectors().join(sub)).unwrap_or_else(|e| panic!("{sub}: {e}"))
}

fn run(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_wcfscope"))
        .args(args)
        .output()
        .unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const MERLIN_C14N: &str =
    "santuario-xml-security-java/src/test/resources/ie/baltimore/merlin-examples/merlin-exc-c14n-one";
const MERLIN_ENC: &str =
    "santuario-xml-security-java/src/test/resources/ie/baltimore/merlin-examples/merlin-xmlenc-five";
const ALEKSEY_DSIG: &str = "xmlsec/tests/aleksey-xmldsig-01";
const ALEKSEY_ENC: &str = "xmlsec/tests/aleksey-xmlenc-01";
const MERLIN_DSIG: &str = "xmlsec/tests/merlin-xmldsig-twenty-three";

#[test]
fn c14n_subtree_reproduces_the_merlin_exc_c14n_outputs() {
    let doc = path(&format!("{MERLIN_C14N}/exc-signature.xml"));
    let cases: [(&[&str], &str); 4] = [
        (&[], "c14n-0.txt"),
        (&["--inclusive-prefixes", "bar #default"], "c14n-1.txt"),
        (&["--with-comments"], "c14n-2.txt"),
        (
            &["--with-comments", "--inclusive-prefixes", "bar #default"],
            "c14n-3.txt",
        ),
    ];
    for (extra, expected) in cases {
        let mut args = vec!["c14n", "--exclusive", "--subtree", "to-be-signed"];
        args.extend_from_slice(extra);
        args.push(&doc);
        let o = run(&args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", err(&o));
        assert_eq!(
            out(&o),
            String::from_utf8(read(&format!("{MERLIN_C14N}/{expected}"))).unwrap(),
            "{args:?}"
        );
    }
}

#[test]
fn c14n_of_a_canonical_document_is_itself() {
    // Exclusive c14n is idempotent on its own output (a whole document now).
    for name in ["c14n-0.txt", "c14n-2.txt"] {
        let sub = format!("{MERLIN_C14N}/{name}");
        let mut args = vec!["c14n", "--exclusive"];
        if name == "c14n-2.txt" {
            args.push("--with-comments");
        }
        let p = path(&sub);
        args.push(&p);
        let o = run(&args);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", err(&o));
        assert_eq!(o.stdout, read(&sub), "{name}");
    }
}

#[test]
fn c14n_inclusive_and_11_of_a_whole_spec_example() {
    // The exc-c14n spec's example 2.2.1, whole document: inclusive 1.0 and 1.1 agree here
    // (no xml:base), the comment-less forms lose nothing (there are no comments), and
    // the element that example canonicalises appears in the output with its namespaces.
    let sub = "santuario-xml-security-java/src/test/resources/org/apache/xml/security/c14n/inExcl/example2_2_1.xml";
    let p = path(sub);
    let a = run(&["c14n", &p]);
    let b = run(&["c14n", "--c14n11", &p]);
    assert_eq!(a.status.code(), Some(0), "{}", err(&a));
    assert_eq!(b.status.code(), Some(0), "{}", err(&b));
    assert_eq!(a.stdout, b.stdout);
    let text = out(&a);
    assert!(
        text.starts_with("<n0:local xmlns:n0=\"foo:bar\" xmlns:n3=\"ftp://example.org\">"),
        "{text}"
    );
    assert!(
        text.contains("<n1:elem2 xmlns:n1=\"http://example.net\" xml:lang=\"en\">"),
        "{text}"
    );
    // Exclusive drops the unused n3 declaration on the root.
    let e = run(&["c14n", "--exclusive", &p]);
    assert!(
        out(&e).starts_with("<n0:local xmlns:n0=\"foo:bar\">"),
        "{}",
        out(&e)
    );
}

#[test]
fn c14n_errors_exit_1_and_say_why() {
    let doc = path(&format!("{MERLIN_C14N}/exc-signature.xml"));
    let o = run(&["c14n", "--exclusive", "--subtree", "no-such-id", &doc]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(err(&o).contains("no-such-id"), "{}", err(&o));
    assert!(o.stdout.is_empty());

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.xml");
    std::fs::write(&bad, b"<a><b></a>").unwrap();
    let o = run(&["c14n", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("bad.xml"), "{}", err(&o));

    let o = run(&["c14n", "/nonexistent/doc.xml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("/nonexistent/doc.xml"), "{}", err(&o));

    // Documents with a DTD are refused (no DTD processing), by name.
    let o = run(&[
        "c14n",
        &path(&format!("{ALEKSEY_ENC}/enc-des3cbc-keyname-element.xml")),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("DOCTYPE"), "{}", err(&o));
}

#[test]
fn verify_rsa_signatures_with_embedded_and_given_keys() {
    for name in [
        "enveloping-sha1-rsa-sha1.xml",
        "enveloping-sha256-rsa-sha256.xml",
    ] {
        let o = run(&["verify", &path(&format!("{ALEKSEY_DSIG}/{name}"))]);
        let text = out(&o);
        assert_eq!(o.status.code(), Some(0), "{name}: {text}{}", err(&o));
        assert!(text.contains("Signature 1 <Signature>: VALID"), "{text}");
        assert!(text.contains("embedded X509Certificate"), "{text}");
        assert!(text.contains("1 of 1 signature(s) valid"), "{text}");
    }
    // Enveloped, key given as a PEM public key file.
    let o = run(&[
        "verify",
        &path(&format!("{ALEKSEY_DSIG}/enveloped-sha1-rsa-sha1.xml")),
        "--key",
        &path("xmlsec/tests/keys/rsa/rsa-4096-pubkey.pem"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    // RSAKeyValue in KeyInfo.
    let o = run(&[
        "verify",
        &path(&format!("{MERLIN_DSIG}/signature-enveloping-rsa.xml")),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    // HMAC-SHA256 with the README's key (ASCII "secret"), given as hex.
    let key = format!("hex:{}", hex(&read("xmlsec/tests/keys/hmackey.bin")));
    let o = run(&[
        "verify",
        &path(&format!("{ALEKSEY_DSIG}/enveloping-sha256-hmac-sha256.xml")),
        "--key",
        &key,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    // 80-bit HMAC-SHA1 is the minimum allowed: valid.
    let o = run(&[
        "verify",
        &path(&format!(
            "{MERLIN_DSIG}/signature-enveloping-hmac-sha1-40.xml"
        )),
        "--key",
        &key,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
}

#[test]
fn verify_tampered_or_wrong_key_rsa_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("tampered.xml");
    let text = String::from_utf8(read(&format!(
        "{ALEKSEY_DSIG}/enveloping-sha256-rsa-sha256.xml"
    )))
    .unwrap();
    assert!(text.contains("some text"));
    std::fs::write(&f, text.replacen("some text", "some test", 1)).unwrap();
    let o = run(&["verify", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", out(&o));
    assert!(
        out(&o).contains("digest mismatch at reference 1"),
        "{}",
        out(&o)
    );
    // Enveloped RSA verified with another RSA key: the SignatureValue fails.
    let o = run(&[
        "verify",
        &path(&format!("{ALEKSEY_DSIG}/enveloped-sha1-rsa-sha1.xml")),
        "--key",
        &path("xmlsec/tests/keys/rsa/rsa-2048-cert.pem"),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}{}", out(&o), err(&o));
    assert!(out(&o).contains("INVALID"), "{}", out(&o));
}

#[test]
fn decrypt_aleksey_and_oaep_vectors_to_their_expected_bytes() {
    let aes128 = format!(
        "name:test-aes128=hex:{}",
        hex(&read(&format!("{ALEKSEY_ENC}/test-aes128.bin")))
    );
    let des = format!(
        "name:test-des=hex:{}",
        hex(&read(&format!("{ALEKSEY_ENC}/test-des.bin")))
    );
    let rsa = path("xmlsec/tests/keys/rsa/rsa-4096-key.pem");
    let cases = [
        ("enc-aes128cbc-keyname", &aes128),
        ("enc-des3cbc-keyname", &des),
        ("enc-aes256-kt-rsa_oaep_sha1", &rsa),
        ("enc-aes256-kt-rsa_oaep_sha1_mgf1_sha1", &rsa),
    ];
    for (name, key) in cases {
        let o = run(&[
            "decrypt",
            &path(&format!("{ALEKSEY_ENC}/{name}.xml")),
            "--key",
            key,
        ]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", err(&o));
        assert_eq!(
            o.stdout,
            read(&format!("{ALEKSEY_ENC}/{name}.data")),
            "{name}"
        );
        assert!(
            err(&o).contains("1 of 1 EncryptedData opened"),
            "{name}: {}",
            err(&o)
        );
    }
    // OAEP with SHA-256 digest and a label, to a file.
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("plain.txt");
    let o = run(&[
        "decrypt",
        &path(&format!(
            "{MERLIN_ENC}/encrypt-data-tripledes-cbc-rsa-oaep-mgf1p-sha256.xml"
        )),
        "--key",
        &path(&format!("{MERLIN_ENC}/rsa.p8")),
        "--out",
        dest.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    assert_eq!(std::fs::read(&dest).unwrap(), b"top secret message\n");
    // Key wrap: AES-192 KEK around an AES-128 content key.
    let o = run(&[
        "decrypt",
        &path(&format!(
            "{MERLIN_ENC}/encrypt-content-aes128-cbc-kw-aes192.xml"
        )),
        "--key",
        "name:jeb=hex:6162636465666768696a6b6c6d6e6f707172737475767778",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert_eq!(o.stdout, read(&format!("{MERLIN_ENC}/plaintext.xml")));
}

#[test]
fn decrypt_with_a_wrong_key_exits_1_and_keeps_the_document() {
    let sub = format!("{ALEKSEY_ENC}/enc-aes128cbc-keyname.xml");
    // Right name, wrong bytes.
    let o = run(&[
        "decrypt",
        &path(&sub),
        "--key",
        "name:test-aes128=hex:00112233445566778899aabbccddeeff",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(!err(&o).is_empty());
    assert_eq!(o.stdout, read(&sub), "the document is written unchanged");
    // A wrong RSA key for the key transport.
    let o = run(&[
        "decrypt",
        &path(&format!("{ALEKSEY_ENC}/enc-aes256-kt-rsa_oaep_sha1.xml")),
        "--key",
        &path(&format!("{MERLIN_ENC}/rsa.p8")),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(!err(&o).is_empty());
}
