//! Keyring over third-party key files (copied byte for byte into tests/vectors/): thumbprints,
//! subjects, SKI, issuer+serial, legacy-encrypted PKCS#12, key/certificate pairing, passwords.

use std::path::PathBuf;

use wcfscope_core::keys::{
    legacy_provider_loaded, to_hex, FixedPassword, KeyError, KeyId, KeySpec, Keyring, NoPassword,
};

fn vector(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(rel)
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

const INTEROP: &str = "wss4j-oasis-interop-keys/interop/keys";
const MERLIN: &str =
    "santuario-xml-security-java/src/test/resources/ie/baltimore/merlin-examples/merlin-xmlenc-five";
const RAMPART_2007: &str = "apache-rampart-samples/keys/2007-2008/pem-derived";
const RAMPART_2009: &str = "apache-rampart-samples/keys/2009/pem-derived";

fn load(ring: &mut Keyring, rel: &str, password: Option<&str>) -> Result<Vec<KeyId>, KeyError> {
    ring.load_file(&vector(rel), password, &NoPassword)
}

#[test]
fn alice_pfx_rc2_40_needs_the_legacy_provider() {
    let mut ring = Keyring::new();
    let path = vector(&format!("{INTEROP}/alice.pfx"));
    let spec = KeySpec::parse(&format!("{}:password", path.display())).unwrap();
    let ids = ring.load(&spec, &NoPassword).unwrap();
    assert!(
        legacy_provider_loaded(),
        "alice.pfx uses pbeWithSHA1And40BitRC2-CBC"
    );
    let alice = ring
        .find_by_thumbprint_sha1(&unhex("6e0e88f36ebb8744d470f62f604d03ea4ebe5094"))
        .expect("Alice by thumbprint");
    assert!(ids.contains(&alice.id()));
    assert!(alice.has_private_key());
    assert_eq!(
        alice.subject(),
        Some("CN=Alice, OU=OASIS Interop Test Cert, O=OASIS")
    );
    assert_eq!(alice.issuer(), Some("CN=OASIS Interop Test CA, O=OASIS"));
    // 0x33a6047fb155631fed6721178150a899
    assert_eq!(
        alice.serial(),
        Some("68652640310044618358965661752471103641")
    );
    assert_eq!(
        alice.thumbprint_hex().as_deref(),
        Some("6e0e88f36ebb8744d470f62f604d03ea4ebe5094")
    );
    assert_eq!(
        alice.ski().map(to_hex).as_deref(),
        Some("0ae25d13507675415dd5d90b652cd0e6f8fa3188")
    );
    assert_eq!(alice.source(), path.as_path());
    let nb = alice.not_before().unwrap();
    let na = alice.not_after().unwrap();
    assert!(nb < na);
    assert_eq!(
        ring.find_by_ski(&unhex("0ae25d13507675415dd5d90b652cd0e6f8fa3188"))
            .map(|e| e.id()),
        Some(alice.id())
    );
    assert_eq!(ring.private_keys().count(), 1);
}

#[test]
fn bob_and_wssip_pfx() {
    let mut ring = Keyring::new();
    load(&mut ring, &format!("{INTEROP}/bob.pfx"), Some("password")).unwrap();
    let bob = ring
        .find_by_thumbprint_sha1(&unhex("350334201beea6502d11342f93eea09fc0b5df01"))
        .unwrap();
    assert!(bob.has_private_key());
    assert_eq!(
        bob.ski().map(to_hex).as_deref(),
        Some("5de839e6f4722b76610048447fe613d33f7ce8bd")
    );
    // WssIP.pfx: 3DES-shrouded key, RC2-40 certificates, plus the CA chain.
    let ids = load(&mut ring, &format!("{INTEROP}/WssIP.pfx"), Some("password")).unwrap();
    let subjects: Vec<String> = ids
        .iter()
        .map(|id| ring.entry(*id).unwrap().subject().unwrap().to_string())
        .collect();
    assert!(subjects.contains(&"CN=WssIP, OU=OASIS Interop Test Cert, O=OASIS".to_string()));
    assert!(subjects.contains(&"CN=OASIS Interop Test CA, O=OASIS".to_string()));
    assert!(subjects.contains(&"CN=OASIS Interop Test Root, O=OASIS".to_string()));
    let with_key: Vec<_> = ring
        .private_keys()
        .map(|k| k.entry().subject().unwrap().to_string())
        .collect();
    assert_eq!(with_key.len(), 2, "{with_key:?}");
}

#[test]
fn wrong_and_missing_passwords() {
    let rel = format!("{INTEROP}/alice.pfx");
    let mut ring = Keyring::new();
    let err = load(&mut ring, &rel, Some("passw0rd")).unwrap_err();
    assert!(matches!(err, KeyError::WrongPassword { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("wrong password for {}", vector(&rel).display())
    );
    let err = load(&mut ring, &rel, None).unwrap_err();
    assert!(matches!(err, KeyError::PasswordRequired { .. }), "{err:?}");
    assert!(err.to_string().contains("WCFSCOPE_KEY_PASSWORD"));
    // From a password source: a wrong one, then nothing more.
    let err = ring
        .load_file(&vector(&rel), None, &FixedPassword::new("nope"))
        .unwrap_err();
    assert!(matches!(err, KeyError::WrongPassword { .. }), "{err:?}");
    assert!(ring.is_empty());
    ring.load_file(&vector(&rel), None, &FixedPassword::new("password"))
        .unwrap();
    assert_eq!(ring.private_keys().count(), 1);
    // A NUL in a password is refused, not a panic inside OpenSSL's binding.
    let err = load(&mut Keyring::new(), &rel, Some("pass\0word")).unwrap_err();
    assert!(matches!(err, KeyError::PasswordHasNul { .. }), "{err:?}");
}

#[test]
fn der_certificate_then_pfx_pairs_up() {
    let mut ring = Keyring::new();
    let cer = load(&mut ring, &format!("{INTEROP}/Alice.cer"), None).unwrap();
    assert_eq!(cer.len(), 1);
    assert!(!ring.entry(cer[0]).unwrap().has_private_key());
    let pfx = load(&mut ring, &format!("{INTEROP}/alice.pfx"), Some("password")).unwrap();
    assert_eq!(pfx, cer, "same certificate, same entry");
    assert_eq!(ring.entries().count(), 1);
    assert!(ring.entry(cer[0]).unwrap().has_private_key());
}

#[test]
fn merlin_ids_p12_holds_several_keys_and_matches_rsa_p8() {
    let mut ring = Keyring::new();
    load(
        &mut ring,
        &format!("{MERLIN}/ids.p12"),
        Some("Our Little Secret"),
    )
    .unwrap();
    // RSA, DSA and two DH keys; OpenSSL's PKCS12_parse alone would return only the first.
    assert_eq!(ring.private_keys().count(), 4, "{ring:?}");
    let before = ring.entries().count();
    let ids = load(&mut ring, &format!("{MERLIN}/rsa.p8"), None).unwrap();
    assert_eq!(
        ring.entries().count(),
        before,
        "rsa.p8 is the RSA key of ids.p12"
    );
    let rsa = ring.entry(ids[0]).unwrap();
    assert!(rsa.has_private_key());
    assert_eq!(
        rsa.subject(),
        Some("CN=Merlin Hughes, OU=X/Secure, O=Baltimore Technologies Ltd., ST=Dublin, C=IE")
    );
    assert!(ring.warnings().is_empty(), "{:?}", ring.warnings());
}

#[test]
fn merlin_rsa_p8_alone_is_a_bare_key() {
    let mut ring = Keyring::new();
    let ids = load(&mut ring, &format!("{MERLIN}/rsa.p8"), None).unwrap();
    let e = ring.entry(ids[0]).unwrap();
    assert!(e.has_private_key());
    assert!(e.certificate().is_none() && e.subject().is_none() && e.thumbprint_sha1().is_none());
    assert!(
        e.label().starts_with("RSA 1024-bit key from "),
        "{}",
        e.label()
    );
    assert_eq!(ring.private_keys().count(), 1);
}

#[test]
fn rampart_pem_certificate_and_key_from_two_files() {
    let mut ring = Keyring::new();
    let key_ids = load(&mut ring, &format!("{RAMPART_2007}/service.key.pem"), None).unwrap();
    let cert_ids = load(&mut ring, &format!("{RAMPART_2007}/service.cert.pem"), None).unwrap();
    assert_eq!(key_ids, cert_ids);
    let service = ring
        .find_by_thumbprint_sha1(&unhex("1d82f7ef5373a0eb36f88036e150e40467141503"))
        .unwrap();
    assert!(service.has_private_key());
    assert_eq!(
        service.subject(),
        Some("CN=Sample Service, OU=Rampart, O=Apache, L=Colombo, ST=Western, C=LK")
    );
    assert_eq!(
        service.source(),
        vector(&format!("{RAMPART_2007}/service.cert.pem"))
    );
    assert_eq!(
        service.private_key_source(),
        Some(vector(&format!("{RAMPART_2007}/service.key.pem")).as_path())
    );
    // Issuer + serial (0x46C96501), in the forms WCF, WSS4J and OpenSSL print.
    for issuer in [
        "CN=Sample Service, OU=Rampart, O=Apache, L=Colombo, S=Western, C=LK",
        "C=LK,ST=Western,L=Colombo,O=Apache,OU=Rampart,CN=Sample Service",
        "cn=sample service;ou=rampart;o=apache;l=colombo;st=western;c=lk",
    ] {
        let found = ring.find_by_issuer_serial(issuer, "1187603713");
        assert_eq!(found.map(|e| e.id()), Some(service.id()), "{issuer}");
    }
    assert!(ring
        .find_by_issuer_serial(
            "CN=Sample Client, OU=Rampart, O=Apache, L=Colombo, ST=Western, C=LK",
            "1187603713"
        )
        .is_none());
    assert!(ring
        .find_by_issuer_serial(
            "CN=Sample Service, OU=Rampart, O=Apache, L=Colombo, ST=Western, C=LK",
            "1187603714"
        )
        .is_none());
    assert!(ring
        .find_by_issuer_serial("CN=Sample Service", "not a number")
        .is_none());

    load(&mut ring, &format!("{RAMPART_2007}/client.cert.pem"), None).unwrap();
    assert!(ring
        .find_by_thumbprint_sha1(&unhex("089f88e753398689f35a91b5da02b22f0b1712b9"))
        .is_some_and(|e| !e.has_private_key()));
}

#[test]
fn rampart_sts_ski_computed_like_wss4j_and_email_alias() {
    let mut ring = Keyring::new();
    load(&mut ring, &format!("{RAMPART_2009}/sts.cert.pem"), None).unwrap();
    load(&mut ring, &format!("{RAMPART_2009}/service.cert.pem"), None).unwrap();
    load(&mut ring, &format!("{RAMPART_2009}/client.cert.pem"), None).unwrap();
    let sts = ring
        .find_by_thumbprint_sha1(&unhex("a785a1c5e51a900a1d08d7ee4aa6034d4bd2a4ed"))
        .unwrap();
    // The certificate is v3 without a SubjectKeyIdentifier extension; res06.xml's
    // KeyIdentifier (QPkKfPznZDFJGq/oiksEGVjRV+w=) is RFC 3280 method (1).
    assert!(sts.ski_extension().is_none());
    let ski = unhex("40f90a7cfce76431491aafe88a4b041958d157ec");
    assert_eq!(ring.find_by_ski(&ski).map(|e| e.id()), Some(sts.id()));
    // Method (2): 0100 followed by the low 60 bits of the same SHA-1.
    let mut m2 = ski[12..].to_vec();
    m2[0] = 0x40 | (m2[0] & 0x0f);
    assert_eq!(ring.find_by_ski(&m2).map(|e| e.id()), Some(sts.id()));
    assert!(ring.find_by_ski(&ski[..19]).is_none());
    assert!(ring.find_by_ski(&[]).is_none());
    // 0x47B2C379; E= and EMAILADDRESS= are the same attribute.
    for issuer in [
        "E=nandana@apache.org, CN=Sample STS, OU=Rampart, O=Apache, L=Colombo, S=Western, C=LK",
        "CN=Sample STS,OU=Rampart,O=Apache,L=Colombo,ST=Western,C=LK,EMAILADDRESS=nandana@apache.org",
        "1.2.840.113549.1.9.1=#16126e616e64616e61406170616368652e6f7267, CN=Sample STS, OU=Rampart, O=Apache, L=Colombo, ST=Western, C=LK",
    ] {
        let found = ring.find_by_issuer_serial(issuer, "1202897785");
        assert_eq!(found.map(|e| e.id()), Some(sts.id()), "{issuer}");
    }
    for (tp, hex) in [
        ("service", "6aa78f8ee673135973c0c32daae92cbcd26c6e62"),
        ("client", "6c3545cd92fa8c998796a895942474b2541eb10b"),
    ] {
        assert!(ring.find_by_thumbprint_sha1(&unhex(hex)).is_some(), "{tp}");
    }
}

#[test]
fn xmlsec_rsa_4096_key_cert_and_public_key() {
    let mut ring = Keyring::new();
    let k = load(&mut ring, "xmlsec/tests/keys/rsa/rsa-4096-key.pem", None).unwrap();
    let c = load(&mut ring, "xmlsec/tests/keys/rsa/rsa-4096-cert.pem", None).unwrap();
    let p = load(&mut ring, "xmlsec/tests/keys/rsa/rsa-4096-pubkey.pem", None).unwrap();
    assert_eq!(k, c);
    assert_eq!(p, c, "the bare public key is the same key");
    let e = ring.entry(c[0]).unwrap();
    assert_eq!(
        e.thumbprint_hex().as_deref(),
        Some("129bc97fa7a16d5af45a86284f55ca41c7387236")
    );
    assert_eq!(
        e.ski_extension().map(to_hex).as_deref(),
        Some("eb4ccc2ca09fcd0dea9d7033001cd136976043c4")
    );
    assert_eq!(
        ring.find_by_public_key(&e.public_key()).map(|x| x.id()),
        Some(e.id())
    );
    // A public key alone (another file) is an entry without certificate or private key.
    let mut only = Keyring::new();
    let ids = load(&mut only, "xmlsec/tests/keys/rsa/rsa-4096-pubkey.pem", None).unwrap();
    let pubkey = only.entry(ids[0]).unwrap();
    assert!(!pubkey.has_private_key() && pubkey.certificate().is_none());
    assert_eq!(only.private_keys().count(), 0);
}

#[test]
fn debug_and_display_never_show_key_bytes() {
    let mut ring = Keyring::new();
    load(&mut ring, &format!("{RAMPART_2007}/service.key.pem"), None).unwrap();
    load(&mut ring, &format!("{RAMPART_2007}/service.cert.pem"), None).unwrap();
    load(&mut ring, &format!("{MERLIN}/rsa.p8"), None).unwrap();
    ring.add_symmetric(Some("job"), b"abcdefghijklmnop".to_vec().into());
    ring.add_sct_key(
        "urn:uuid:20189D76AA5794EBCA12142275347662",
        unhex("596af1b3323d460e48cb99258adf12745b7e5f4e697b03416efa2db183ed5fd0"),
    );
    let mut shown = format!("{ring:?}");
    for e in ring.entries() {
        shown.push_str(&format!("{e} {e:?} "));
    }
    for k in ring.private_keys() {
        shown.push_str(&format!("{k:?}"));
    }
    for s in ring.symmetric_keys() {
        shown.push_str(&format!("{s:?}"));
    }
    for s in ring.sct_keys() {
        shown.push_str(&format!("{s:?}"));
    }
    assert!(shown.contains("1d82f7ef5373a0eb36f88036e150e40467141503"));
    assert!(shown.contains("CN=Sample Service"));
    for secret in ["abcdefghijklmnop", "97, 98, 99", "596af1b3", "89, 106, 241"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    // No line of the private key's base64 body.
    let pem = std::fs::read_to_string(vector(&format!("{RAMPART_2007}/service.key.pem"))).unwrap();
    for line in pem.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!shown.contains(line), "key PEM line in {shown}");
    }
    // No long hex runs except 40-digit thumbprints: no modulus, exponent or key bytes.
    let mut run = 0;
    for c in shown.chars() {
        run = if c.is_ascii_hexdigit() { run + 1 } else { 0 };
        assert!(run <= 40, "hex run over 40 digits in {shown}");
    }
}

#[test]
fn symmetric_and_sct_keys() {
    let mut ring = Keyring::new();
    let spec = KeySpec::parse("name:job=hex:6162636465666768696a6b6c6d6e6f70").unwrap();
    let ids = ring.load(&spec, &NoPassword).unwrap();
    assert_eq!(
        ring.symmetric_by_id(ids[0]).unwrap().key(),
        b"abcdefghijklmnop"
    );
    assert_eq!(ring.symmetric("job").unwrap().key(), b"abcdefghijklmnop");
    assert!(ring.symmetric("bob").is_none());
    ring.load(&KeySpec::parse("hex:00112233").unwrap(), &NoPassword)
        .unwrap();
    assert_eq!(ring.symmetric_keys().count(), 2);
    assert!(ring
        .symmetric_keys()
        .any(|k| k.name().is_none() && k.key() == [0, 0x11, 0x22, 0x33]));

    ring.add_sct_key_arg(
        "urn:uuid:20189D76AA5794EBCA12142275347662=596af1b3323d460e48cb99258adf12745b7e5f4e697b03416efa2db183ed5fd0",
    )
    .unwrap();
    let want = unhex("596af1b3323d460e48cb99258adf12745b7e5f4e697b03416efa2db183ed5fd0");
    assert_eq!(
        ring.sct_key("urn:uuid:20189D76AA5794EBCA12142275347662"),
        Some(&want[..])
    );
    assert_eq!(
        ring.sct_key("urn:uuid:20189d76aa5794ebca12142275347662"),
        Some(&want[..])
    );
    assert!(ring.sct_key("urn:uuid:other").is_none());
    ring.add_sct_key("urn:uuid:20189D76AA5794EBCA12142275347662", vec![1, 2, 3]);
    assert_eq!(ring.sct_keys().count(), 1, "same id replaces");
    assert!(ring.add_sct_key_arg("urn:uuid:x=zz").is_err());
}

#[test]
fn missing_and_garbage_files() {
    let mut ring = Keyring::new();
    let err = ring
        .load_file(&vector("does/not/exist.pfx"), None, &NoPassword)
        .unwrap_err();
    assert!(matches!(err, KeyError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("does/not/exist.pfx"));
    // A text file that is neither PEM nor DER.
    let err = ring
        .load_file(&vector("ORIGIN.md"), None, &NoPassword)
        .unwrap_err();
    assert!(matches!(err, KeyError::Unrecognized { .. }), "{err:?}");
}

#[test]
fn truncated_and_corrupted_files_fail_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let sources = [
        format!("{INTEROP}/alice.pfx"),
        format!("{INTEROP}/Alice.cer"),
        format!("{MERLIN}/rsa.p8"),
        format!("{RAMPART_2007}/service.key.pem"),
    ];
    for rel in &sources {
        let data = std::fs::read(vector(rel)).unwrap();
        let target = tmp.path().join("k");
        let step = (data.len() / 40).max(1);
        for cut in (0..data.len()).step_by(step) {
            std::fs::write(&target, &data[..cut]).unwrap();
            let r = Keyring::new().load_file(&target, Some("password"), &NoPassword);
            assert!(r.is_err(), "{rel} cut at {cut} loaded");
        }
        for pos in (0..data.len()).step_by(step) {
            let mut bad = data.clone();
            bad[pos] ^= 0x5a;
            std::fs::write(&target, &bad).unwrap();
            // Either outcome is fine; it must not panic or hang.
            let _ = Keyring::new().load_file(&target, Some("password"), &NoPassword);
        }
    }
}
