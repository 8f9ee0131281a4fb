//! Keyring against files made by the `openssl` command-line tool (an independent producer):
//! every PEM/DER/PKCS#12 variant, passwords, computed SKIs, issuer+serial, and RSA decryption
//! of ciphertexts made by `openssl pkeyutl`.

use std::path::{Path, PathBuf};
use std::process::Command;

use wcfscope_core::keys::{
    to_hex, FixedPassword, KeyError, KeySpec, Keyring, NoPassword, OaepDigest, RsaPadding,
};

const PASSWORD: &str = "s3cret:with colon";

/// Runs `openssl ARGS` in `dir`, returning stdout; panics with stderr on failure.
fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl command-line tool");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn unhex(s: &str) -> Vec<u8> {
    let s = s.trim();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// SHA-1 fingerprint of a PEM certificate as `openssl x509 -fingerprint` prints it.
fn fingerprint(dir: &Path, cert: &str) -> String {
    let out = String::from_utf8(openssl(
        dir,
        &["x509", "-in", cert, "-noout", "-fingerprint", "-sha1"],
    ))
    .unwrap();
    out.trim()
        .rsplit('=')
        .next()
        .unwrap()
        .replace(':', "")
        .to_ascii_lowercase()
}

struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    thumbprint: String,
}

impl Fixture {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// An RSA-2048 key and a self-signed v1 certificate (no extensions) with a 30-digit serial
/// and an organisation name that needs quoting, in every format.
fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let d = dir.as_path();
    openssl(
        d,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "key.pem",
        ],
    );
    openssl(
        d,
        &[
            "req",
            "-new",
            "-key",
            "key.pem",
            "-subj",
            "/C=US/ST=Wash/O=Foo, Inc./CN=Test Service",
            "-out",
            "req.csr",
        ],
    );
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "req.csr",
            "-signkey",
            "key.pem",
            "-days",
            "2",
            "-set_serial",
            "123456789012345678901234567890",
            "-out",
            "cert.pem",
        ],
    );
    let pass = format!("pass:{PASSWORD}");
    let p = pass.as_str();
    openssl(
        d,
        &[
            "x509", "-in", "cert.pem", "-outform", "DER", "-out", "cert.der",
        ],
    );
    openssl(d, &["pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem"]);
    openssl(
        d,
        &[
            "pkey", "-in", "key.pem", "-pubout", "-outform", "DER", "-out", "pub.der",
        ],
    );
    openssl(
        d,
        &[
            "rsa",
            "-in",
            "key.pem",
            "-traditional",
            "-out",
            "key-pkcs1.pem",
        ],
    );
    openssl(
        d,
        &[
            "rsa",
            "-in",
            "key.pem",
            "-traditional",
            "-outform",
            "DER",
            "-out",
            "key-pkcs1.der",
        ],
    );
    openssl(
        d,
        &[
            "pkcs8",
            "-topk8",
            "-nocrypt",
            "-in",
            "key.pem",
            "-outform",
            "DER",
            "-out",
            "key-pkcs8.der",
        ],
    );
    openssl(
        d,
        &[
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-in",
            "key.pem",
            "-passout",
            p,
            "-out",
            "key-enc.pem",
        ],
    );
    openssl(
        d,
        &[
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-128-cbc",
            "-in",
            "key.pem",
            "-passout",
            p,
            "-outform",
            "DER",
            "-out",
            "key-enc.der",
        ],
    );
    openssl(
        d,
        &[
            "rsa",
            "-in",
            "key.pem",
            "-traditional",
            "-aes128",
            "-passout",
            p,
            "-out",
            "key-legacy-enc.pem",
        ],
    );
    openssl(
        d,
        &[
            "pkcs12",
            "-export",
            "-inkey",
            "key.pem",
            "-in",
            "cert.pem",
            "-passout",
            p,
            "-out",
            "modern.pfx",
        ],
    );
    openssl(
        d,
        &[
            "pkcs12",
            "-export",
            "-legacy",
            "-inkey",
            "key.pem",
            "-in",
            "cert.pem",
            "-passout",
            p,
            "-out",
            "legacy.pfx",
        ],
    );
    openssl(
        d,
        &[
            "pkcs12",
            "-export",
            "-inkey",
            "key.pem",
            "-in",
            "cert.pem",
            "-passout",
            "pass:",
            "-out",
            "nopass.pfx",
        ],
    );
    openssl(
        d,
        &[
            "crl2pkcs7",
            "-nocrl",
            "-certfile",
            "cert.pem",
            "-outform",
            "DER",
            "-out",
            "bundle.p7b",
        ],
    );
    openssl(
        d,
        &[
            "crl2pkcs7",
            "-nocrl",
            "-certfile",
            "cert.pem",
            "-out",
            "bundle-pem.p7b",
        ],
    );
    // Certificate and PKCS#1 key in one file, with the text openssl puts around blocks.
    let both = [
        b"Bag Attributes\n    friendlyName: test\nsubject=whatever\n".to_vec(),
        std::fs::read(d.join("cert.pem")).unwrap(),
        b"\r\n".to_vec(),
        std::fs::read(d.join("key-pkcs1.pem")).unwrap(),
    ]
    .concat();
    std::fs::write(d.join("both.pem"), both).unwrap();
    let thumbprint = fingerprint(d, "cert.pem");
    Fixture {
        _tmp: tmp,
        dir,
        thumbprint,
    }
}

fn cert_only(file: &str) -> bool {
    file.starts_with("cert.") || file.starts_with("bundle")
}

#[test]
fn every_format_loads_and_pairs_with_the_certificate() {
    let f = fixture();
    let passwords = FixedPassword::new(PASSWORD);
    // (file, needs a password, holds the certificate)
    let cases = [
        ("cert.pem", false, true),
        ("cert.der", false, true),
        ("bundle.p7b", false, true),
        ("bundle-pem.p7b", false, true),
        ("both.pem", false, true),
        ("key.pem", false, false),
        ("key-pkcs1.pem", false, false),
        ("key-pkcs1.der", false, false),
        ("key-pkcs8.der", false, false),
        ("key-enc.pem", true, false),
        ("key-enc.der", true, false),
        ("key-legacy-enc.pem", true, false),
        ("modern.pfx", true, true),
        ("legacy.pfx", true, true),
        ("nopass.pfx", false, true),
        ("pub.pem", false, false),
        ("pub.der", false, false),
    ];
    for (file, needs_password, has_cert) in cases {
        let mut ring = Keyring::new();
        let path = f.path(file);
        if needs_password {
            let err = ring.load_file(&path, None, &NoPassword).unwrap_err();
            assert!(
                matches!(err, KeyError::PasswordRequired { .. }),
                "{file}: {err:?}"
            );
            let err = ring
                .load_file(&path, Some("wrong"), &NoPassword)
                .unwrap_err();
            assert!(
                matches!(err, KeyError::WrongPassword { .. }),
                "{file}: {err:?}"
            );
            assert_eq!(
                err.to_string(),
                format!("wrong password for {}", path.display())
            );
            // The explicit password, through the CLI grammar (it contains ':').
            let spec = KeySpec::parse(&format!("{}:{PASSWORD}", path.display())).unwrap();
            ring.load(&spec, &NoPassword)
                .unwrap_or_else(|e| panic!("{file}: {e}"));
            // And through a password source.
            Keyring::new()
                .load_file(&path, None, &passwords)
                .unwrap_or_else(|e| panic!("{file} via source: {e}"));
        } else {
            ring.load_file(&path, None, &NoPassword)
                .unwrap_or_else(|e| panic!("{file}: {e}"));
        }
        let is_public_only = file.starts_with("pub");
        assert_eq!(
            ring.private_keys().count(),
            usize::from(!is_public_only && !cert_only(file)),
            "{file}"
        );
        if !has_cert {
            // The certificate loaded afterwards joins the same entry.
            ring.load_file(&f.path("cert.pem"), None, &NoPassword)
                .unwrap();
        }
        assert_eq!(ring.entries().count(), 1, "{file}: {ring:?}");
        let e = ring.entries().next().unwrap();
        assert_eq!(
            e.thumbprint_hex().as_deref(),
            Some(f.thumbprint.as_str()),
            "{file}"
        );
        assert_eq!(
            e.has_private_key(),
            !is_public_only && !cert_only(file),
            "{file}"
        );
        assert!(ring.warnings().is_empty(), "{file}: {:?}", ring.warnings());
    }
}

#[test]
fn computed_ski_both_methods_and_openssl_hash_ski() {
    let f = fixture();
    let d = f.dir.as_path();
    // Method (1) computed independently: SHA-1 of the RSAPublicKey DER, which is exactly the
    // subjectPublicKey BIT STRING's value for an RSA key.
    openssl(
        d,
        &[
            "rsa",
            "-in",
            "key.pem",
            "-RSAPublicKey_out",
            "-outform",
            "DER",
            "-out",
            "rsapub.der",
        ],
    );
    let dgst = String::from_utf8(openssl(d, &["dgst", "-sha1", "-r", "rsapub.der"])).unwrap();
    let method1 = unhex(dgst.split_whitespace().next().unwrap());
    let mut method2 = method1[12..].to_vec();
    method2[0] = 0x40 | (method2[0] & 0x0f);

    let mut ring = Keyring::new();
    ring.load_file(&f.path("cert.pem"), None, &NoPassword)
        .unwrap();
    let e = ring.entries().next().unwrap();
    assert!(
        e.ski_extension().is_none(),
        "the v1 certificate has no extensions"
    );
    assert_eq!(e.ski(), Some(&method1[..]));
    assert_eq!(ring.find_by_ski(&method1).map(|x| x.id()), Some(e.id()));
    assert_eq!(ring.find_by_ski(&method2).map(|x| x.id()), Some(e.id()));
    let mut other = method1.clone();
    other[0] ^= 1;
    assert!(ring.find_by_ski(&other).is_none());

    // OpenSSL's own `subjectKeyIdentifier=hash` is method (1) as well.
    std::fs::write(d.join("ext.cnf"), "subjectKeyIdentifier=hash\n").unwrap();
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "req.csr",
            "-signkey",
            "key.pem",
            "-days",
            "2",
            "-set_serial",
            "7",
            "-extfile",
            "ext.cnf",
            "-out",
            "cert-ski.pem",
        ],
    );
    let mut ring = Keyring::new();
    ring.load_file(&d.join("cert-ski.pem"), None, &NoPassword)
        .unwrap();
    let e = ring.entries().next().unwrap();
    assert_eq!(e.ski_extension().map(to_hex), Some(to_hex(&method1)));
}

#[test]
fn issuer_and_serial() {
    let f = fixture();
    let mut ring = Keyring::new();
    ring.load_file(&f.path("both.pem"), None, &NoPassword)
        .unwrap();
    let e = ring.entries().next().unwrap();
    assert_eq!(e.serial(), Some("123456789012345678901234567890"));
    assert_eq!(
        e.issuer(),
        Some(r"CN=Test Service, O=Foo\, Inc., ST=Wash, C=US")
    );
    assert_eq!(e.subject(), e.issuer(), "self-signed");
    for issuer in [
        r"CN=Test Service, O=Foo\, Inc., ST=Wash, C=US",
        r#"CN=Test Service, O="Foo, Inc.", S=Wash, C=US"#,
        "C=US,ST=Wash,O=Foo\\2C Inc.,CN=Test Service",
        "  cn = TEST   SERVICE ,o=\"foo, inc.\";st=wash;c=us  ",
    ] {
        for serial in [
            "123456789012345678901234567890",
            " 123456789012345678901234567890 ",
            "0123456789012345678901234567890",
        ] {
            assert_eq!(
                ring.find_by_issuer_serial(issuer, serial).map(|x| x.id()),
                Some(e.id()),
                "{issuer} / {serial}"
            );
        }
    }
    assert!(ring
        .find_by_issuer_serial(
            "CN=Test Service, O=Foo, ST=Wash, C=US",
            "123456789012345678901234567890"
        )
        .is_none());
    assert!(ring
        .find_by_issuer_serial(
            "CN=Test Service, O=Foo\\, Inc., ST=Wash, C=US",
            "123456789012345678901234567891"
        )
        .is_none());
    assert!(ring
        .find_by_issuer_serial(
            "CN=Test Service, O=Foo\\, Inc., ST=Wash",
            "123456789012345678901234567890"
        )
        .is_none());
}

#[test]
fn rsa_decrypt_pkcs1_and_oaep_variants() {
    let f = fixture();
    let d = f.dir.as_path();
    let secret: Vec<u8> = (0u8..32)
        .map(|i| i.wrapping_mul(37).wrapping_add(5))
        .collect();
    std::fs::write(d.join("secret.bin"), &secret).unwrap();
    let mut ring = Keyring::new();
    ring.load_file(&f.path("modern.pfx"), Some(PASSWORD), &NoPassword)
        .unwrap();
    let key = ring.private_keys().next().unwrap();

    let encrypt = |name: &str, opts: &[&str]| -> Vec<u8> {
        let mut args = vec![
            "pkeyutl",
            "-encrypt",
            "-pubin",
            "-inkey",
            "pub.pem",
            "-in",
            "secret.bin",
            "-out",
            name,
        ];
        for o in opts {
            args.push("-pkeyopt");
            args.push(o);
        }
        openssl(d, &args);
        std::fs::read(d.join(name)).unwrap()
    };

    let ct = encrypt("v15.bin", &["rsa_padding_mode:pkcs1"]);
    assert_eq!(
        &key.rsa_decrypt(&ct, RsaPadding::Pkcs1v15).unwrap()[..],
        &secret[..]
    );

    let ct = encrypt("oaep1.bin", &["rsa_padding_mode:oaep"]);
    assert_eq!(
        &key.rsa_decrypt(&ct, RsaPadding::oaep_sha1()).unwrap()[..],
        &secret[..]
    );
    // The wrong padding does not yield the secret.
    assert!(key
        .rsa_decrypt(&ct, RsaPadding::Pkcs1v15)
        .map_or(true, |p| p[..] != secret[..]));

    let cases: &[(&str, &[&str], OaepDigest, OaepDigest, Option<&[u8]>)] = &[
        (
            "oaep256.bin",
            &["rsa_padding_mode:oaep", "rsa_oaep_md:sha256"],
            OaepDigest::Sha256,
            OaepDigest::Sha256,
            None,
        ),
        (
            "oaep256m1.bin",
            &[
                "rsa_padding_mode:oaep",
                "rsa_oaep_md:sha256",
                "rsa_mgf1_md:sha1",
            ],
            OaepDigest::Sha256,
            OaepDigest::Sha1,
            None,
        ),
        // The merlin-xmlenc-five OAEPparams case: label ASCII "12345678".
        (
            "oaeplabel.bin",
            &[
                "rsa_padding_mode:oaep",
                "rsa_oaep_md:sha256",
                "rsa_mgf1_md:sha1",
                "rsa_oaep_label:3132333435363738",
            ],
            OaepDigest::Sha256,
            OaepDigest::Sha1,
            Some(b"12345678"),
        ),
        (
            "oaep512.bin",
            &[
                "rsa_padding_mode:oaep",
                "rsa_oaep_md:sha512",
                "rsa_mgf1_md:sha384",
            ],
            OaepDigest::Sha512,
            OaepDigest::Sha384,
            None,
        ),
        (
            "oaep224.bin",
            &[
                "rsa_padding_mode:oaep",
                "rsa_oaep_md:sha224",
                "rsa_mgf1_md:sha224",
            ],
            OaepDigest::Sha224,
            OaepDigest::Sha224,
            None,
        ),
    ];
    for (name, opts, digest, mgf1, label) in cases {
        let ct = encrypt(name, opts);
        let padding = RsaPadding::Oaep {
            digest: *digest,
            mgf1_digest: *mgf1,
            label: label.map(<[u8]>::to_vec),
        };
        assert_eq!(
            &key.rsa_decrypt(&ct, padding.clone()).unwrap()[..],
            &secret[..],
            "{name}"
        );
        // Wrong MGF1 digest or a missing label fails with a specific error.
        let wrong = RsaPadding::Oaep {
            digest: *digest,
            mgf1_digest: if *mgf1 == OaepDigest::Sha1 {
                OaepDigest::Sha256
            } else {
                OaepDigest::Sha1
            },
            label: label.map(<[u8]>::to_vec),
        };
        let err = key.rsa_decrypt(&ct, wrong).unwrap_err();
        assert!(matches!(err, KeyError::Decrypt { .. }), "{name}: {err:?}");
        assert!(err.to_string().contains("OAEP"), "{err}");
        if label.is_some() {
            let err = key
                .rsa_decrypt(
                    &ct,
                    RsaPadding::Oaep {
                        digest: *digest,
                        mgf1_digest: *mgf1,
                        label: None,
                    },
                )
                .unwrap_err();
            assert!(matches!(err, KeyError::Decrypt { .. }), "{name}: {err:?}");
        }
    }

    // Too long for the 2048-bit modulus, and empty.
    let err = key
        .rsa_decrypt(&[1u8; 257], RsaPadding::Pkcs1v15)
        .unwrap_err();
    assert!(
        matches!(
            err,
            KeyError::CiphertextLength {
                got: 257,
                expected: 256,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(key.rsa_decrypt(&[], RsaPadding::Pkcs1v15).is_err());
    // The public key is the certificate's.
    assert!(key
        .public_key()
        .public_eq(&ring.entries().next().unwrap().public_key()));
}

#[test]
fn non_rsa_key_refuses_rsa_decrypt() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    openssl(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "ec.pem",
        ],
    );
    let mut ring = Keyring::new();
    ring.load_file(&d.join("ec.pem"), None, &NoPassword)
        .unwrap();
    let key = ring.private_keys().next().unwrap();
    let err = key
        .rsa_decrypt(&[0u8; 64], RsaPadding::Pkcs1v15)
        .unwrap_err();
    assert!(matches!(err, KeyError::NotRsa { .. }), "{err:?}");
    assert!(ring
        .entries()
        .next()
        .unwrap()
        .label()
        .starts_with("EC 256-bit key"));
}

#[test]
fn key_spec_finds_paths_containing_colons() {
    let f = fixture();
    let odd = f.dir.join("odd:name.pem");
    std::fs::copy(f.path("key-enc.pem"), &odd).unwrap();
    let arg = format!("{}:{PASSWORD}", odd.display());
    match KeySpec::parse(&arg).unwrap() {
        KeySpec::File { path, password } => {
            assert_eq!(path, odd);
            assert_eq!(password.as_deref().map(String::as_str), Some(PASSWORD));
        }
        other => panic!("{other:?}"),
    }
    let spec = KeySpec::parse(&odd.display().to_string()).unwrap();
    let mut ring = Keyring::new();
    // No password in the argument: the source supplies it.
    ring.load(&spec, &FixedPassword::new(PASSWORD)).unwrap();
    assert_eq!(ring.private_keys().count(), 1);
}

#[test]
fn multiple_keys_and_certificates_in_one_pem() {
    let f = fixture();
    let d = f.dir.as_path();
    openssl(
        d,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:1024",
            "-out",
            "key2.pem",
        ],
    );
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "key2.pem",
            "-subj",
            "/CN=Second",
            "-days",
            "2",
            "-out",
            "cert2.pem",
        ],
    );
    let all = [
        std::fs::read(d.join("cert2.pem")).unwrap(),
        std::fs::read(d.join("key-enc.pem")).unwrap(),
        std::fs::read(d.join("cert.pem")).unwrap(),
        std::fs::read(d.join("key2.pem")).unwrap(),
        b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n".to_vec(),
    ]
    .concat();
    std::fs::write(d.join("all.pem"), all).unwrap();
    let mut ring = Keyring::new();
    let ids = ring
        .load_file(&d.join("all.pem"), Some(PASSWORD), &NoPassword)
        .unwrap();
    assert_eq!(ids.len(), 2);
    assert_eq!(ring.private_keys().count(), 2);
    assert!(ring
        .entries()
        .all(|e| e.has_private_key() && e.certificate().is_some()));
    assert_eq!(ring.warnings().len(), 1, "{:?}", ring.warnings());
    assert!(ring.warnings()[0].contains("CERTIFICATE REQUEST"));
}
