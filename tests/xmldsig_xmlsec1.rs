//! Differential test against xmlsec1 (libxmlsec1, an independent implementation): documents
//! xmlsec1 signs — HMAC and RSA, SHA-1 and SHA-256, exclusive and inclusive c14n, an
//! `#id` reference and an enveloped `URI=""` one, with a default namespace in scope — must
//! verify with ours, and copies with one character of signed content changed must not.
//! Keys are generated for the test with the `openssl` command line. Without xmlsec1 or
//! openssl on the PATH, the test says so and passes.

use std::path::Path;
use std::process::Command;

use openssl::x509::X509;
use wcfscope_core::xml::Document;
use wcfscope_core::xmlsec::{verify_all, SignatureVerdict, StandaloneResolver};
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

const EXC: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const INC: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";

fn template(method: &str, digest: &str, c14n: &str, enveloped: bool) -> String {
    let (uri, transforms) = if enveloped {
        (
            "",
            format!(
                "<Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/><Transform Algorithm=\"{c14n}\"/>"
            ),
        )
    } else {
        ("#data", format!("<Transform Algorithm=\"{c14n}\"/>"))
    };
    let key_info = if method.contains("rsa") {
        "<KeyInfo><X509Data/></KeyInfo>"
    } else {
        ""
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <Envelope xmlns=\"urn:envelope\" xmlns:a=\"urn:a\">\n  <Data Id=\"data\" a:attr=\"x\">Hello <a:b>World</a:b> &amp; more</Data>\n  \
         <Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><SignedInfo><CanonicalizationMethod Algorithm=\"{c14n}\"/>\
         <SignatureMethod Algorithm=\"{method}\"/><Reference URI=\"{uri}\"><Transforms>{transforms}</Transforms>\
         <DigestMethod Algorithm=\"{digest}\"/><DigestValue/></Reference></SignedInfo><SignatureValue/>{key_info}</Signature>\n\
         </Envelope>\n"
    )
}

#[test]
fn xmlsec1_signed_documents_verify_and_tampered_copies_do_not() {
    if !tool_available("xmlsec1") || !tool_available("openssl") {
        println!("xmlsec1 or openssl not installed: differential signature test skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    run(Command::new("openssl")
        .args(["genrsa", "-out"])
        .arg(p("key.pem"))
        .arg("2048"));
    run(Command::new("openssl")
        .args([
            "req",
            "-new",
            "-x509",
            "-subj",
            "/CN=xmlsec1-diff",
            "-days",
            "2",
            "-key",
        ])
        .arg(p("key.pem"))
        .arg("-out")
        .arg(p("cert.pem")));
    run(Command::new("openssl")
        .args(["rand", "-out"])
        .arg(p("hmac.bin"))
        .arg("32"));

    let hmac_key = std::fs::read(p("hmac.bin")).unwrap();
    let cert = X509::from_pem(&std::fs::read(p("cert.pem")).unwrap()).unwrap();
    let mut ours = StandaloneResolver::new();
    ours.add_symmetric(None, Zeroizing::new(hmac_key));
    ours.add_certificate(cert, "cert.pem").unwrap();

    let methods = [
        (
            "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
            "http://www.w3.org/2000/09/xmldsig#sha1",
        ),
        (
            "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256",
            "http://www.w3.org/2001/04/xmlenc#sha256",
        ),
        (
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            "http://www.w3.org/2000/09/xmldsig#sha1",
        ),
        (
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "http://www.w3.org/2001/04/xmlenc#sha256",
        ),
    ];
    let mut checked = 0;
    for (method, digest) in methods {
        for c14n in [EXC, INC] {
            for enveloped in [false, true] {
                let case = format!("{method} {c14n} enveloped={enveloped}");
                let tmpl = p("tmpl.xml");
                std::fs::write(&tmpl, template(method, digest, c14n, enveloped)).unwrap();
                let signed = p("signed.xml");
                let mut cmd = Command::new("xmlsec1");
                cmd.arg("--sign");
                if method.contains("hmac") {
                    cmd.arg("--hmackey").arg(p("hmac.bin"));
                } else {
                    cmd.arg("--privkey-pem").arg(format!(
                        "{},{}",
                        p("key.pem").display(),
                        p("cert.pem").display()
                    ));
                }
                cmd.args(["--id-attr:Id", "urn:envelope:Data", "--output"])
                    .arg(&signed)
                    .arg(&tmpl);
                run(&mut cmd);
                let bytes = std::fs::read(&signed).unwrap();
                check(&bytes, &ours, &case, true);
                // One character of signed content changed.
                let text = String::from_utf8(bytes).unwrap();
                assert!(text.contains("World"), "{case}");
                let tampered = text.replacen("World", "Worle", 1);
                check(tampered.as_bytes(), &ours, &case, false);
                // And independently: xmlsec1 agrees about the original.
                verify_with_xmlsec1(&signed, method, dir.path(), &case);
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 16);
}

fn check(bytes: &[u8], r: &StandaloneResolver, case: &str, expect_valid: bool) {
    let doc = Document::parse(bytes).unwrap_or_else(|e| panic!("{case}: {e}"));
    let v = verify_all(&doc, r);
    assert_eq!(v.len(), 1, "{case}");
    if expect_valid {
        assert_eq!(
            v[0].verdict,
            SignatureVerdict::Valid,
            "{case}: {:#?}",
            v[0].references
        );
    } else {
        match &v[0].verdict {
            SignatureVerdict::Invalid { reason } => {
                assert!(
                    reason.contains("digest mismatch at reference 1"),
                    "{case}: {reason}"
                )
            }
            other => panic!("{case}: tampered copy must be invalid, got {other:?}"),
        }
    }
}

fn verify_with_xmlsec1(signed: &Path, method: &str, dir: &Path, case: &str) {
    let mut cmd = Command::new("xmlsec1");
    cmd.arg("--verify");
    if method.contains("hmac") {
        cmd.arg("--hmackey").arg(dir.join("hmac.bin"));
    } else {
        cmd.arg("--pubkey-cert-pem").arg(dir.join("cert.pem"));
    }
    cmd.args(["--id-attr:Id", "urn:envelope:Data"]).arg(signed);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{case}: xmlsec1 --verify: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
