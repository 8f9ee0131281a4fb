//! Review: `--redact-keys` removes key material from what the analysis reports, not only
//! `key_hex`. In the demo capture the RST and RSTR carry the client and server entropy as
//! `BinarySecret`; the SCT key is P_SHA1(client entropy, server entropy), so a report that
//! shows both entropies shows the key. Checked against the key computed here with openssl's
//! HMAC (independent of the analyzer's P_SHA1).

use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use std::sync::atomic::AtomicBool;
use wcfscope_core::analyzer::{analyze_files, Analysis, Options};
use wcfscope_e2e::repo_path;

fn analyse(redact_keys: bool) -> Analysis {
    let opts = Options {
        keys: vec![format!(
            "{}:wcfscope-demo",
            repo_path("assets/demo-pki/service.pfx").display()
        )],
        redact_keys,
        ..Options::default()
    };
    analyze_files(
        &[repo_path("captures/demo-calculator.pcapng")],
        &opts,
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap()
}

/// Text of every `…BinarySecret …>TEXT<` in `s`.
fn binary_secrets(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find("BinarySecret") {
        rest = &rest[i + "BinarySecret".len()..];
        let Some(gt) = rest.find('>') else { break };
        if rest[..gt].ends_with('/') {
            continue;
        }
        let Some(lt) = rest[gt + 1..].find('<') else {
            break;
        };
        let text = rest[gt + 1..gt + 1 + lt].trim();
        if !text.is_empty() {
            out.push(text.to_string());
        }
        rest = &rest[gt + 1..];
    }
    out
}

/// P_SHA1(secret, seed) for the first 32 bytes (RFC 2246 §5), with openssl's HMAC.
fn p_sha1_32(secret: &[u8], seed: &[u8]) -> Vec<u8> {
    let key = PKey::hmac(secret).unwrap();
    let hmac = |data: &[u8]| {
        let mut s = Signer::new(MessageDigest::sha1(), &key).unwrap();
        s.update(data).unwrap();
        s.sign_to_vec().unwrap()
    };
    let mut a = hmac(seed);
    let mut out = Vec::new();
    while out.len() < 32 {
        out.extend(hmac(&[a.as_slice(), seed].concat()));
        a = hmac(&a);
    }
    out.truncate(32);
    out
}

#[test]
fn redacted_report_holds_no_entropy_that_gives_the_session_key() {
    let clear = analyse(false);
    let secrets: Vec<String> = clear
        .report
        .messages
        .iter()
        .flat_map(|m| binary_secrets(m.body.as_deref().unwrap_or("")))
        .collect();
    // The premise: unredacted, the bodies show both entropies and they give the session key.
    assert!(secrets.len() >= 2, "{secrets:?}");
    let b64 = |s: &str| openssl::base64::decode_block(s).unwrap();
    let key_hex = clear.report.sessions[0].key_hex.clone().unwrap();
    let k = p_sha1_32(&b64(&secrets[0]), &b64(&secrets[1]));
    let hex: String = k.iter().map(|b| format!("{b:02x}")).collect();
    assert!(
        key_hex.starts_with(&hex[..key_hex.len().min(64)]),
        "{key_hex} vs {hex}"
    );

    let red = analyse(true);
    assert!(red.report.sessions.iter().all(|s| s.key_hex.is_none()));
    let json = serde_json::to_string(&red.report).unwrap();
    for s in &secrets {
        assert!(
            !json.contains(s.as_str()),
            "entropy {s} still in the redacted report"
        );
    }
    for d in &red.details {
        for s in &secrets {
            let x = d.decrypted_xml.as_deref().unwrap_or("");
            assert!(!x.contains(s.as_str()), "entropy {s} in a decrypted view");
        }
    }
    // Still decrypted and verified, only masked.
    assert!(red
        .report
        .messages
        .iter()
        .all(|m| m.signature == wcfscope_core::model::SignatureSummary::Valid));
    assert!(
        json.contains("BinarySecret"),
        "the element stays, its content is masked"
    );
}
