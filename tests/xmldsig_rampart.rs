//! XML Signature over real captured WS-Security traffic (Apache Rampart samples), with the
//! keys and expectations of the vectors README (section 1):
//! - the 2024 captures verify as stored (SAML 1.1 assertion signatures by `AssertionID`,
//!   InclusiveNamespaces PrefixList, HMAC keyed by an EncryptedKey's key);
//! - the 2008/2011 captures were pretty-printed after capture: as stored, their `strip`
//!   references are digest mismatches (a verifier must say so), and after the README's
//!   normalisation of an in-memory copy they verify;
//! - rst04's endorsing signature covers the *encrypted* primary signature: decrypt, then
//!   verify on the decrypted view.

use std::path::PathBuf;

use openssl::x509::X509;
use wcfscope_core::xml::Document;
use wcfscope_core::xmlsec::{
    decrypt_document, verify_all, ReferenceProblem, SignatureResult, SignatureVerdict,
    StandaloneResolver,
};
use zeroize::Zeroizing;

const R: &str = "apache-rampart-samples";

fn vector(sub: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(sub);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn msg(name: &str) -> String {
    String::from_utf8(vector(&format!("{R}/msgs/{name}.xml"))).unwrap()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn resolver(cert: Option<&str>, hmac_hex: Option<&str>) -> StandaloneResolver {
    let mut r = StandaloneResolver::new();
    if let Some(c) = cert {
        let pem = vector(&format!("{R}/keys/{c}.cert.pem"));
        r.add_certificate(X509::from_pem(&pem).unwrap(), c).unwrap();
    }
    if let Some(h) = hmac_hex {
        r.add_symmetric(None, Zeroizing::new(hex(h)));
    }
    r
}

fn verify(text: &str, r: &StandaloneResolver) -> Vec<SignatureResult> {
    verify_all(&Document::parse(text.as_bytes()).unwrap(), r)
}

fn by_id<'a>(results: &'a [SignatureResult], id: Option<&str>) -> &'a SignatureResult {
    results
        .iter()
        .find(|s| s.id.as_deref() == id)
        .unwrap_or_else(|| panic!("no signature {id:?}"))
}

/// Byte range of the element whose start tag carries `Id="id"` (any prefix), through its end
/// tag. Plain string search: the test must not lean on the parser under test.
fn element_range(s: &str, id_attr: &str) -> (usize, usize) {
    let at = s
        .find(id_attr)
        .unwrap_or_else(|| panic!("{id_attr} not found"));
    let start = s[..at].rfind('<').unwrap();
    let name: String = s[start + 1..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '>')
        .collect();
    let close = format!("</{name}>");
    let end = start + s[start..].find(&close).unwrap() + close.len();
    (start, end)
}

/// Replaces every whitespace-only run between `>` and `<` inside `range` by `with`.
fn normalise(s: &str, (start, end): (usize, usize), with: &str) -> String {
    let inner = &s[start..end];
    let mut out = String::with_capacity(inner.len());
    let mut rest = inner;
    while let Some(gt) = rest.find('>') {
        out.push_str(&rest[..=gt]);
        rest = &rest[gt + 1..];
        let ws = rest.len() - rest.trim_start().len();
        if ws > 0 && rest[ws..].starts_with('<') {
            out.push_str(with);
            rest = &rest[ws..];
        }
    }
    out.push_str(rest);
    format!("{}{}{}", &s[..start], out, &s[end..])
}

/// `strip` on the referenced elements, `nl` on the signature's SignedInfo.
fn normalised(text: &str, sig_id: &str, strip_ids: &[&str]) -> String {
    let mut t = text.to_string();
    for id in strip_ids {
        let range = element_range(&t, &format!("Id=\"{id}\""));
        t = normalise(&t, range, "");
    }
    let (sig_start, _) = element_range(&t, &format!("Id=\"{sig_id}\""));
    let si_rel = t[sig_start..].find(":SignedInfo").unwrap();
    let si_start = sig_start + t[sig_start..sig_start + si_rel].rfind('<').unwrap();
    let si_end = si_start + t[si_start..].find("SignedInfo>").unwrap();
    let si_end = si_start + t[si_start..si_end].len() + t[si_end..].find('>').unwrap() + 1;
    let si_end = si_end + t[si_end..].find("SignedInfo>").unwrap() + "SignedInfo>".len();
    normalise(&t, (si_start, si_end), "\n")
}

#[test]
fn captures_from_2024_verify_as_stored() {
    let ek_key = "8b161f809a6fedbf301d9543ee07255b";
    // req05: HMAC keyed by the EncryptedKey's key, and the STS-issued SAML assertion signed
    // by the 2009 service key (X509Certificate embedded in the assertion).
    let r = resolver(Some("2009/pem-derived/service"), Some(ek_key));
    let v = verify(&msg("req05"), &r);
    assert_eq!(v.len(), 2);
    for s in &v {
        assert_eq!(s.verdict, SignatureVerdict::Valid, "req05 {:?}", s.id);
    }
    let saml = by_id(&v, None);
    assert_eq!(
        saml.references[0].element_name.as_deref(),
        Some("saml1:Assertion")
    );
    assert_eq!(
        by_id(&v, Some("SIG-7c8b1190-df25-498d-8b99-9eae6497162d"))
            .references
            .len(),
        3
    );

    let v = verify(&msg("res05"), &resolver(None, Some(ek_key)));
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].verdict, SignatureVerdict::Valid);
    assert_eq!(v[0].references.len(), 4);

    // req06: RSA-SHA1 by the 2009 client (BinarySecurityToken), PrefixList "wsse wsa soapenv".
    let v = verify(
        &msg("req06"),
        &resolver(Some("2009/pem-derived/client"), None),
    );
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].verdict, SignatureVerdict::Valid);

    // res06: the STS's signature and the SAML assertion's, both by the STS key.
    let v = verify(&msg("res06"), &resolver(Some("2009/pem-derived/sts"), None));
    assert_eq!(v.len(), 2);
    assert!(
        v.iter().all(|s| s.verdict == SignatureVerdict::Valid),
        "{v:#?}"
    );

    // The wrong certificate: the RSA signature fails, the SAML one (embedded cert) stands.
    let v = verify(
        &msg("res06"),
        &resolver(Some("2009/pem-derived/client"), None),
    );
    assert!(matches!(
        by_id(&v, Some("SIG-156fe56c-33bf-4857-936e-9cafa98bb14c")).verdict,
        SignatureVerdict::Invalid { .. }
    ));
    assert_eq!(by_id(&v, None).verdict, SignatureVerdict::Valid);
}

struct Pretty {
    msg: &'static str,
    sig: &'static str,
    cert: Option<&'static str>,
    hmac: Option<&'static str>,
    strip: &'static [&'static str],
    chunk: Option<&'static str>,
    /// Signed before encryption (Rampart sample03): verify the decrypted view, opened with
    /// this private key.
    decrypt_with: Option<&'static str>,
}

const PRETTY: [Pretty; 6] = [
    Pretty {
        msg: "req02",
        sig: "Signature-24833256",
        cert: None,
        hmac: Some("c936b148695ff5182e5dbec67049ca5208e8f93a787634a81eda4c09e5092c91"),
        strip: &["Id-17427094", "Timestamp-671035"],
        chunk: None,
        decrypt_with: None,
    },
    Pretty {
        msg: "res02",
        sig: "Signature-9131644",
        cert: None,
        hmac: Some("c936b148695ff5182e5dbec67049ca5208e8f93a787634a81eda4c09e5092c91"),
        strip: &["Id-3113238", "Timestamp-6068467"],
        chunk: None,
        decrypt_with: None,
    },
    Pretty {
        msg: "req03",
        sig: "Signature-10233621",
        cert: Some("2007-2008/pem-derived/client"),
        hmac: None,
        strip: &["Id-3808966", "Timestamp-27682895"],
        chunk: Some("5f0"),
        decrypt_with: Some("2007-2008/pem-derived/service"),
    },
    Pretty {
        msg: "res03",
        sig: "Signature-27790058",
        cert: Some("2007-2008/pem-derived/service"),
        hmac: None,
        strip: &["Id-14098944", "Timestamp-12626425"],
        chunk: Some("1d6"),
        decrypt_with: Some("2007-2008/pem-derived/client"),
    },
    Pretty {
        msg: "req09",
        sig: "Signature-2",
        cert: None,
        hmac: Some("77de73b221bebb01bb5c8349a35b843dc243a09a3038a7e15463c5bded54d2bd"),
        strip: &["Timestamp-1"],
        chunk: None,
        decrypt_with: None,
    },
    Pretty {
        msg: "res09",
        sig: "Signature-6",
        cert: None,
        hmac: Some("77de73b221bebb01bb5c8349a35b843dc243a09a3038a7e15463c5bded54d2bd"),
        strip: &["Id-2097953288", "Timestamp-4"],
        chunk: None,
        decrypt_with: None,
    },
];

#[test]
fn pretty_printed_captures_fail_as_stored_and_verify_once_normalised() {
    for p in &PRETTY {
        let mut text = msg(p.msg);
        if let Some(c) = p.chunk {
            text = text.replacen(&format!("\n{c}\n"), "", 1);
        }
        if let Some(k) = p.decrypt_with {
            let pem = vector(&format!("{R}/keys/{k}.key.pem"));
            let mut dr = StandaloneResolver::new();
            dr.add_private_key(
                openssl::pkey::PKey::private_key_from_pem(&pem).unwrap(),
                None,
                k,
            );
            let d = decrypt_document(&Document::parse(text.as_bytes()).unwrap(), &dr);
            text = String::from_utf8(d.decrypted.unwrap().doc.source).unwrap();
        }
        let r = resolver(p.cert, p.hmac);
        // As stored: the pretty-printed references are digest mismatches, named as such.
        let v = verify(&text, &r);
        let s = by_id(&v, Some(p.sig));
        match &s.verdict {
            SignatureVerdict::Invalid { reason } => assert!(
                reason.contains("digest mismatch at reference"),
                "{}: {reason}",
                p.msg
            ),
            other => panic!("{}: {other:?}", p.msg),
        }
        for rr in &s.references {
            let stripped = p
                .strip
                .iter()
                .any(|id| rr.uri.as_deref() == Some(&format!("#{id}")));
            let expect = if stripped {
                Some(ReferenceProblem::DigestMismatch)
            } else {
                None
            };
            assert_eq!(rr.problem, expect, "{} {:?}", p.msg, rr.uri);
            assert!(rr.computed_digest.is_some() && !rr.canonical_bytes.is_empty());
        }
        // Normalised as the README describes: valid.
        let v = verify(&normalised(&text, p.sig, p.strip), &r);
        let s = by_id(&v, Some(p.sig));
        assert_eq!(
            s.verdict,
            SignatureVerdict::Valid,
            "{}: {:#?}",
            p.msg,
            s.references
        );
    }
}

#[test]
fn rst04_endorsing_signature_covers_the_decrypted_primary_signature() {
    let text = msg("rst04");
    // Before decryption the endorsed signature is not in the document.
    let r = resolver(Some("2007-2008/pem-derived/client"), None);
    let v = verify(&text, &r);
    let s = by_id(&v, Some("Signature-1668655"));
    assert_eq!(s.references[0].problem, Some(ReferenceProblem::NotFound));
    // Decrypt EncDataId-13994297 (with the DerivedKeyToken key), then verify the view.
    let mut dr = StandaloneResolver::new();
    dr.add_symmetric(
        None,
        Zeroizing::new(hex("adb7adcf04192e9bf01d5cf2ed53fba0")),
    );
    let d = decrypt_document(&Document::parse(text.as_bytes()).unwrap(), &dr);
    let view = String::from_utf8(d.decrypted.unwrap().doc.source).unwrap();
    let v = verify(&normalised(&view, "Signature-1668655", &[]), &r);
    let s = by_id(&v, Some("Signature-1668655"));
    assert_eq!(s.verdict, SignatureVerdict::Valid, "{:#?}", s.references);
    assert_eq!(
        s.references[0].element_name.as_deref(),
        Some("ds:Signature")
    );
}
