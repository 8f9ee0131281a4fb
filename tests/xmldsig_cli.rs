//! `wcfscope verify` and `wcfscope decrypt` end to end: the real binary over vector files,
//! checking output and exit statuses (0 valid / 3 invalid / 1 unchecked; decrypt 0 / 1).

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

/// The `wcfscope` binary of this workspace, built (or brought up to date) once per run.
fn wcfscope() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "-p", "wcfscope", "--bin", "wcfscope"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success(), "building wcfscope failed");
        // target/<profile>/deps/<this test> → target/<profile>/wcfscope
        let exe = std::env::current_exe().unwrap();
        let dir = exe.parent().unwrap().parent().unwrap();
        dir.join(format!("wcfscope{}", std::env::consts::EXE_SUFFIX))
    })
}

fn run(args: &[&str]) -> Output {
    Command::new(wcfscope()).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn path(sub: &str) -> String {
    vectors().join(sub).display().to_string()
}

const HMAC_SHA1: &str =
    "xmlsec/tests/merlin-xmldsig-twenty-three/signature-enveloping-hmac-sha1.xml";

#[test]
fn verify_valid_hmac_signature_exits_0() {
    let o = run(&["verify", &path(HMAC_SHA1), "--key", "hex:736563726574"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("Signature 1 <Signature>: VALID"), "{out}");
    assert!(
        out.contains("Reference 1 URI #object -> <Object>: digest ok"),
        "{out}"
    );
    assert!(out.contains("1 of 1 signature(s) valid"), "{out}");
    // The key bytes are never printed.
    assert!(
        !out.contains("736563726574") && !out.contains("secret"),
        "{out}"
    );
}

#[test]
fn verify_wrong_key_and_truncated_hmac_exit_3() {
    let o = run(&["verify", &path(HMAC_SHA1), "--key", "hex:736563726575"]);
    assert_eq!(o.status.code(), Some(3), "{}", stdout(&o));
    assert!(stdout(&o).contains("INVALID"));
    let o = run(&[
        "verify",
        &path("xmlsec/tests/aleksey-xmldsig-01/enveloping-sha256-hmac-sha256-64.xml"),
        "--key",
        "hex:736563726574",
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(3), "{out}");
    assert!(out.contains("HMACOutputLength 80 refused"), "{out}");
}

#[test]
fn verify_digest_mismatch_shows_the_canonical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("tampered.xml");
    let text = std::fs::read_to_string(vectors().join(HMAC_SHA1)).unwrap();
    std::fs::write(&f, text.replacen("some text", "some texT", 1)).unwrap();
    let o = run(&["verify", f.to_str().unwrap(), "--key", "hex:736563726574"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(3), "{out}");
    assert!(
        out.contains("digest mismatch at reference 1 (URI #object, sha1)"),
        "{out}"
    );
    assert!(out.contains("DIGEST MISMATCH"), "{out}");
    assert!(
        out.contains("canonical bytes digested (81 bytes):\n<Object xmlns=\"http://www.w3.org/2000/09/xmldsig#\" Id=\"object\">some texT</Object>"),
        "{out}"
    );
}

#[test]
fn verify_without_key_or_signature_exits_1() {
    let o = run(&["verify", &path(HMAC_SHA1)]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("NO KEY"));
    let o = run(&[
        "verify",
        &path("xmlsec/tests/aleksey-xmlenc-01/enc-aes128cbc-keyname.xml"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("no ds:Signature"));
    // DSA: unsupported algorithm → could not be checked.
    let o = run(&[
        "verify",
        &path("xmlsec/tests/merlin-xmldsig-twenty-three/signature-enveloping-dsa.xml"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o)
        .contains("unsupported SignatureMethod http://www.w3.org/2000/09/xmldsig#dsa-sha1"));
}

#[test]
fn verify_with_a_certificate_file_key() {
    // req06: RSA-SHA1 by the 2009 client, whose certificate is given as a PEM file.
    let o = run(&[
        "verify",
        &path("apache-rampart-samples/msgs/req06.xml"),
        "--key",
        &path("apache-rampart-samples/keys/2009/pem-derived/client.cert.pem"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

const MERLIN_ENC: &str =
    "santuario-xml-security-java/src/test/resources/ie/baltimore/merlin-examples/merlin-xmlenc-five";

#[test]
fn decrypt_writes_the_decrypted_document() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.xml");
    let o = run(&[
        "decrypt",
        &path(&format!("{MERLIN_ENC}/encrypt-content-tripledes-cbc.xml")),
        "--key",
        "name:bob=hex:6162636465666768696a6b6c6d6e6f707172737475767778",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        stdout(&o),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout(&o).contains("1 of 1 EncryptedData opened"));
    let expected = std::fs::read(vectors().join(format!("{MERLIN_ENC}/plaintext.xml"))).unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), expected);

    // To standard output, with an RSA private key file (DER PKCS#8).
    let o = run(&[
        "decrypt",
        &path(&format!(
            "{MERLIN_ENC}/encrypt-element-aes128-cbc-rsa-1_5.xml"
        )),
        "--key",
        &path(&format!("{MERLIN_ENC}/rsa.p8")),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.stdout, expected);

    // Opaque data at the root: the plaintext itself.
    let o = run(&[
        "decrypt",
        &path(&format!("{MERLIN_ENC}/encrypt-data-aes128-cbc.xml")),
        "--key",
        "name:job=hex:6162636465666768696a6b6c6d6e6f70",
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(o.stdout, b"top secret message\n");
}

#[test]
fn decrypt_failures_exit_1_and_name_the_reason() {
    let o = run(&[
        "decrypt",
        &path(&format!(
            "{MERLIN_ENC}/bad-encrypt-content-aes128-cbc-kw-aes192.xml"
        )),
        "--key",
        "name:jeb=hex:6162636465666768696a6b6c6d6e6f707172737475767778",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("key unwrap integrity check failed"), "{err}");
    // The document is written unchanged.
    let original = std::fs::read(vectors().join(format!(
        "{MERLIN_ENC}/bad-encrypt-content-aes128-cbc-kw-aes192.xml"
    )))
    .unwrap();
    assert_eq!(o.stdout, original);
}
