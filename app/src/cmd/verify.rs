//! `wcfscope verify FILE.xml [--key KEY]...`: checks every XML Signature in a document and
//! prints each signature and reference with its verdict.
//!
//! Exit status (ARCHITECTURE.md, "CLI contract"): 0 when every signature is valid, 3 when at
//! least one is invalid, 1 when none could be checked (no signature, no key, unsupported
//! algorithm) or some could not be checked and none is invalid.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use wcfscope_core::keys::{KeySpec, Keyring, StandardPasswords};
use wcfscope_core::xml::Document;
use wcfscope_core::xmlsec::util::b64;
use wcfscope_core::xmlsec::{verify_all, SignatureResult, SignatureVerdict, StandaloneResolver};

/// Canonical bytes shown on a digest mismatch, at most.
const SHOW_CANONICAL: usize = 4096;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The XML document.
    pub file: PathBuf,
    /// Key to verify with: PATH[:PASSWORD] (.pfx/.p12, PEM, DER certificate or key),
    /// hex:HEX (an HMAC key), or name:NAME=hex:HEX (matched against ds:KeyName). Repeatable.
    /// Without one, keys embedded in KeyInfo (X509Certificate, RSAKeyValue) are used.
    #[arg(long = "key", value_name = "KEY")]
    pub keys: Vec<String>,
}

/// Loads `--key` arguments into a keyring and wraps it in the standalone resolver.
pub fn load_resolver(keys: &[String]) -> anyhow::Result<StandaloneResolver> {
    let mut ring = Keyring::new();
    for arg in keys {
        let spec = KeySpec::parse(arg).with_context(|| "bad --key argument".to_string())?;
        ring.load(&spec, &StandardPasswords)
            .with_context(|| format!("loading --key {spec:?}"))?;
    }
    for w in ring.warnings() {
        eprintln!("wcfscope: warning: {w}");
    }
    Ok(StandaloneResolver::from_keyring(&ring))
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let resolver = load_resolver(&args.keys)?;
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let doc =
        Document::parse(&bytes).with_context(|| format!("parsing {}", args.file.display()))?;
    let results = verify_all(&doc, &resolver);
    print!(
        "{}",
        render(&args.file.display().to_string(), &doc, &results)
    );
    Ok(exit_status(&results))
}

/// The exit status for a set of results (see the module documentation).
pub fn exit_status(results: &[SignatureResult]) -> u8 {
    if results.is_empty() {
        1
    } else if results
        .iter()
        .any(|r| matches!(r.verdict, SignatureVerdict::Invalid { .. }))
    {
        3
    } else if results.iter().all(|r| r.verdict.is_valid()) {
        0
    } else {
        1
    }
}

fn verdict_line(v: &SignatureVerdict) -> String {
    match v {
        SignatureVerdict::Valid => "VALID".to_string(),
        SignatureVerdict::Invalid { reason } => format!("INVALID: {reason}"),
        SignatureVerdict::NoKey { reason } => format!("NO KEY: {reason}"),
        SignatureVerdict::Error { reason } => format!("NOT CHECKED: {reason}"),
    }
}

/// The human-readable report.
pub fn render(file: &str, doc: &Document, results: &[SignatureResult]) -> String {
    let mut o = String::new();
    if results.is_empty() {
        let _ = writeln!(o, "{file}: no ds:Signature element");
        return o;
    }
    let _ = writeln!(o, "{file}: {} signature(s)", results.len());
    for (i, s) in results.iter().enumerate() {
        let name = doc
            .element(s.node)
            .map(|e| e.name.qualified())
            .unwrap_or_default();
        let id =
            s.id.as_deref()
                .map(|i| format!(" Id=\"{i}\""))
                .unwrap_or_default();
        let _ = writeln!(
            o,
            "\nSignature {} <{name}{id}>: {}",
            i + 1,
            verdict_line(&s.verdict)
        );
        let _ = writeln!(o, "  CanonicalizationMethod {}", s.signed_info_method);
        let _ = writeln!(o, "  SignatureMethod        {}", s.signature_method_uri);
        let sv = match s.signature_value_valid {
            Some(true) => "verifies",
            Some(false) => "DOES NOT VERIFY",
            None => "not checked",
        };
        let _ = writeln!(o, "  SignatureValue         {sv}");
        if let Some(k) = &s.key_source {
            let _ = writeln!(o, "  Key                    {k}");
        }
        for r in &s.references {
            let target = r
                .element_name
                .as_deref()
                .map(|n| format!(" -> <{n}>"))
                .unwrap_or_default();
            let status = match (r.digest_valid, &r.error) {
                (Some(true), _) => "digest ok".to_string(),
                (Some(false), _) => "DIGEST MISMATCH".to_string(),
                (None, Some(e)) => format!("not checked: {e}"),
                (None, None) => "not checked".to_string(),
            };
            let uri = r.uri.as_deref().unwrap_or("(none)");
            let _ = writeln!(o, "  Reference {} URI {uri}{target}: {status}", r.label());
            if !r.transforms.is_empty() {
                let _ = writeln!(o, "    Transforms   {}", r.transforms.join(", "));
            }
            let _ = writeln!(o, "    DigestMethod {}", r.digest_method);
            if let Some(c) = &r.computed_digest {
                let _ = writeln!(o, "    computed     {}", b64(c));
                let _ = writeln!(o, "    claimed      {}", b64(&r.claimed_digest));
            }
            if r.digest_valid == Some(false) {
                let n = r.canonical_bytes.len();
                let shown = &r.canonical_bytes[..n.min(SHOW_CANONICAL)];
                let _ = writeln!(
                    o,
                    "    canonical bytes digested ({n} bytes{}):",
                    if n > SHOW_CANONICAL {
                        format!(", first {SHOW_CANONICAL} shown; `wcfscope c14n` prints them all")
                    } else {
                        String::new()
                    }
                );
                let _ = writeln!(o, "{}", String::from_utf8_lossy(shown));
            }
        }
    }
    let valid = results.iter().filter(|r| r.verdict.is_valid()).count();
    let _ = writeln!(o, "\n{valid} of {} signature(s) valid", results.len());
    o
}
