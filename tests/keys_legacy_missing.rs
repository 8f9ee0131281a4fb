//! When OpenSSL's legacy provider cannot be loaded, a Windows-style RC2-40 .pfx fails with an
//! error that says so (not "wrong password"). Its own test binary: the provider is loaded at
//! most once per process, and OPENSSL_MODULES must point nowhere before that happens.

use std::path::PathBuf;

use wcfscope_core::keys::{legacy_provider_loaded, KeyError, Keyring, NoPassword};

#[test]
fn rc2_pfx_without_legacy_provider_names_the_cause() {
    let empty = tempfile::tempdir().unwrap();
    // OpenSSL reads OPENSSL_MODULES when it loads a provider module.
    std::env::set_var("OPENSSL_MODULES", empty.path());
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors/wss4j-oasis-interop-keys/interop/keys/alice.pfx");
    let mut ring = Keyring::new();
    let err = ring
        .load_file(&path, Some("password"), &NoPassword)
        .unwrap_err();
    assert!(
        matches!(err, KeyError::LegacyProviderUnavailable { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("legacy provider") && msg.contains("alice.pfx"),
        "{msg}"
    );
    assert!(!legacy_provider_loaded());
    // A wrong password is still reported as such: the MAC check needs no legacy cipher.
    let err = ring
        .load_file(&path, Some("nope"), &NoPassword)
        .unwrap_err();
    assert!(matches!(err, KeyError::WrongPassword { .. }), "{err:?}");
}
