//! Differential test against xmlsec1 (libxmlsec1, an independent implementation): documents
//! xmlsec1 encrypts — AES-CBC, Triple-DES-CBC, AES-GCM; data keys by KeyName, by RSA-OAEP
//! and RSA-1.5 key transport, by AES and Triple-DES key wrap; Type Element and Content —
//! decrypt with ours back to the original document, byte for byte; a ciphertext with one
//! character changed never yields the original plaintext. Keys are generated for the test
//! with the `openssl` command line. Without xmlsec1 or openssl, the test says so and passes.

use std::process::Command;

use openssl::pkey::PKey;
use wcfscope_core::xml::Document;
use wcfscope_core::xmlsec::{decrypt_document, DecryptOutcome, StandaloneResolver};
use zeroize::Zeroizing;

fn tool_available(name: &str) -> bool {
    Command::new(name).arg("version").output().is_ok()
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The document to encrypt: `p:Payment` uses a prefix declared on its parent, and the root
/// has a default namespace, so the plaintext only parses in context.
const DOC: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<Order xmlns=\"urn:order\" xmlns:p=\"urn:pay\"><Item>spade</Item><p:Payment Id=\"pay\"><p:Card>1234 5678</p:Card><Note>&lt;fragile&gt; &amp; dear</Note></p:Payment></Order>\n";

const XENC: &str = "http://www.w3.org/2001/04/xmlenc#";

fn template(ty: &str, cipher: &str, key_info: &str) -> String {
    format!(
        "<EncryptedData xmlns=\"{XENC}\" Type=\"{XENC}{ty}\"><EncryptionMethod Algorithm=\"{cipher}\"/>\
         <KeyInfo xmlns=\"http://www.w3.org/2000/09/xmldsig#\">{key_info}</KeyInfo>\
         <CipherData><CipherValue/></CipherData></EncryptedData>"
    )
}

fn encrypted_key(method: &str, kek_name: Option<&str>) -> String {
    let ki = kek_name
        .map(|n| format!("<KeyInfo xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><KeyName>{n}</KeyName></KeyInfo>"))
        .unwrap_or_default();
    format!(
        "<EncryptedKey xmlns=\"{XENC}\"><EncryptionMethod Algorithm=\"{XENC}{method}\"/>{ki}<CipherData><CipherValue/></CipherData></EncryptedKey>"
    )
}

#[test]
fn xmlsec1_encrypted_documents_decrypt_to_the_original() {
    if !tool_available("xmlsec1") || !tool_available("openssl") {
        println!("xmlsec1 or openssl not installed: differential encryption test skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    run(Command::new("openssl")
        .args(["genrsa", "-out"])
        .arg(p("key.pem"))
        .arg("2048"));
    run(Command::new("openssl")
        .args(["rsa", "-pubout", "-in"])
        .arg(p("key.pem"))
        .arg("-out")
        .arg(p("pub.pem")));
    for (file, len) in [
        ("aes128.bin", "16"),
        ("aes256.bin", "32"),
        ("des.bin", "24"),
        ("kek.bin", "32"),
        ("kek3.bin", "24"),
    ] {
        run(Command::new("openssl")
            .args(["rand", "-out"])
            .arg(p(file))
            .arg(len));
    }
    std::fs::write(p("doc.xml"), DOC).unwrap();

    let mut ours = StandaloneResolver::new();
    for (name, file) in [
        ("k128", "aes128.bin"),
        ("k256", "aes256.bin"),
        ("kdes", "des.bin"),
        ("kek", "kek.bin"),
        ("kek3", "kek3.bin"),
    ] {
        ours.add_symmetric(
            Some(name.into()),
            Zeroizing::new(std::fs::read(p(file)).unwrap()),
        );
    }
    let pkey = PKey::private_key_from_pem(&std::fs::read(p("key.pem")).unwrap()).unwrap();
    ours.add_private_key(pkey, None, "key.pem");

    let keyname = |n: &str| format!("<KeyName>{n}</KeyName>");
    // (case, Type, cipher URI, KeyInfo content, xmlsec1 key options)
    let cases: Vec<(&str, &str, String, String, Vec<String>)> = vec![
        (
            "aes128-cbc KeyName",
            "Element",
            format!("{XENC}aes128-cbc"),
            keyname("k128"),
            vec![
                "--aeskey:k128".into(),
                p("aes128.bin").display().to_string(),
            ],
        ),
        (
            "tripledes-cbc KeyName",
            "Element",
            format!("{XENC}tripledes-cbc"),
            keyname("kdes"),
            vec!["--deskey:kdes".into(), p("des.bin").display().to_string()],
        ),
        (
            "aes256-cbc Content",
            "Content",
            format!("{XENC}aes256-cbc"),
            keyname("k256"),
            vec![
                "--aeskey:k256".into(),
                p("aes256.bin").display().to_string(),
            ],
        ),
        (
            "aes128-gcm KeyName",
            "Element",
            "http://www.w3.org/2009/xmlenc11#aes128-gcm".into(),
            keyname("k128"),
            vec![
                "--aeskey:k128".into(),
                p("aes128.bin").display().to_string(),
            ],
        ),
        (
            "aes256-cbc rsa-oaep-mgf1p",
            "Element",
            format!("{XENC}aes256-cbc"),
            encrypted_key("rsa-oaep-mgf1p", None),
            vec![
                "--pubkey-pem".into(),
                p("pub.pem").display().to_string(),
                "--session-key".into(),
                "aes-256".into(),
            ],
        ),
        (
            "aes128-cbc rsa-1_5",
            "Content",
            format!("{XENC}aes128-cbc"),
            encrypted_key("rsa-1_5", None),
            vec![
                "--pubkey-pem".into(),
                p("pub.pem").display().to_string(),
                "--session-key".into(),
                "aes-128".into(),
            ],
        ),
        (
            "aes192-cbc kw-aes256",
            "Element",
            format!("{XENC}aes192-cbc"),
            encrypted_key("kw-aes256", Some("kek")),
            vec![
                "--aeskey:kek".into(),
                p("kek.bin").display().to_string(),
                "--session-key".into(),
                "aes-192".into(),
            ],
        ),
        (
            "tripledes-cbc kw-tripledes",
            "Element",
            format!("{XENC}tripledes-cbc"),
            encrypted_key("kw-tripledes", Some("kek3")),
            vec![
                "--deskey:kek3".into(),
                p("kek3.bin").display().to_string(),
                "--session-key".into(),
                "des-192".into(),
            ],
        ),
    ];
    for (case, ty, cipher, key_info, opts) in &cases {
        std::fs::write(p("tmpl.xml"), template(ty, cipher, key_info)).unwrap();
        run(Command::new("xmlsec1")
            .arg("--encrypt")
            .args(opts)
            .arg("--xml-data")
            .arg(p("doc.xml"))
            .args(["--node-name", "urn:pay:Payment", "--output"])
            .arg(p("enc.xml"))
            .arg(p("tmpl.xml")));
        let enc = std::fs::read(p("enc.xml")).unwrap();
        assert!(
            !String::from_utf8_lossy(&enc).contains("1234 5678"),
            "{case}: not encrypted"
        );
        let doc = Document::parse(&enc).unwrap_or_else(|e| panic!("{case}: {e}"));
        let d = decrypt_document(&doc, &ours);
        assert_eq!(d.results.len(), 1, "{case}");
        assert!(
            d.results[0].is_decrypted(),
            "{case}: {:?}",
            d.results[0].outcome
        );
        assert_eq!(d.results[0].algorithm, *cipher, "{case}");
        let view = d
            .decrypted
            .as_ref()
            .unwrap_or_else(|| panic!("{case}: {:?}", d.splice_error));
        assert_eq!(String::from_utf8_lossy(&view.doc.source), DOC, "{case}");

        // One character of the data's CipherValue changed: never the original plaintext.
        let text = String::from_utf8(enc).unwrap();
        let last_cv = text.rfind("<CipherValue>").unwrap() + "<CipherValue>".len() + 30;
        let mut tampered = text.clone().into_bytes();
        tampered[last_cv] = if tampered[last_cv] == b'A' {
            b'B'
        } else {
            b'A'
        };
        let d = decrypt_document(&Document::parse(&tampered).unwrap(), &ours);
        match &d.results[0].outcome {
            DecryptOutcome::Decrypted { plaintext } => {
                assert!(
                    !String::from_utf8_lossy(plaintext).contains("1234 5678</p:Card><Note>"),
                    "{case}"
                )
            }
            DecryptOutcome::Failed { reason } if cipher.contains("gcm") => {
                assert!(reason.contains("tag mismatch"), "{case}: {reason}")
            }
            DecryptOutcome::Failed { .. } => {}
            other => panic!("{case}: {other:?}"),
        }
    }
}
