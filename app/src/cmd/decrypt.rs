//! `wcfscope decrypt FILE.xml --key KEY... [--out PATH]`: decrypts every EncryptedData it
//! can and writes the document with each opened EncryptedData replaced by its plaintext
//! (to PATH, or to standard output). A document that is a single EncryptedData of opaque
//! data is written as the plaintext itself.
//!
//! The per-element report goes to standard error when the document goes to standard
//! output, else to standard output. Exit status: 0 when every EncryptedData was opened,
//! 1 otherwise (including a document without any).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use wcfscope_core::xml::Document;
use wcfscope_core::xmlsec::{decrypt_document, DecryptOutcome, Decryption};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The XML document.
    pub file: PathBuf,
    /// Key to decrypt with: PATH[:PASSWORD] (.pfx/.p12, PEM, DER private key), hex:HEX (a raw
    /// data key or key-encryption key), or name:NAME=hex:HEX (matched against ds:KeyName).
    /// Repeatable.
    #[arg(long = "key", value_name = "KEY", required = true)]
    pub keys: Vec<String>,
    /// Where to write the decrypted document (default: standard output).
    #[arg(long, short = 'o', value_name = "PATH")]
    pub out: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let resolver = super::verify::load_resolver(&args.keys)?;
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let doc =
        Document::parse(&bytes).with_context(|| format!("parsing {}", args.file.display()))?;
    let d = decrypt_document(&doc, &resolver);
    let report = render(&args.file.display().to_string(), &doc, &d);
    let output = output_bytes(&doc, &d);
    match &args.out {
        Some(path) => {
            std::fs::write(path, &output).with_context(|| format!("writing {}", path.display()))?;
            print!("{report}");
            println!("wrote {}", path.display());
        }
        None => {
            eprint!("{report}");
            std::io::stdout()
                .write_all(&output)
                .context("writing to standard output")?;
        }
    }
    let all = !d.results.is_empty() && d.results.iter().all(|r| r.is_decrypted());
    Ok(if all { 0 } else { 1 })
}

/// The bytes to write: the decrypted view; else, for a document that is one opaque
/// EncryptedData, its plaintext; else the document unchanged.
pub fn output_bytes(doc: &Document, d: &Decryption) -> Vec<u8> {
    if let Some(view) = &d.decrypted {
        return view.doc.source.clone();
    }
    if let [only] = d.results.as_slice() {
        if let (DecryptOutcome::Decrypted { plaintext }, true) =
            (&only.outcome, doc.root_element() == Some(only.node))
        {
            return plaintext.clone();
        }
    }
    doc.source.clone()
}

/// The per-EncryptedData report.
pub fn render(file: &str, doc: &Document, d: &Decryption) -> String {
    let mut o = String::new();
    if d.results.is_empty() {
        let _ = writeln!(o, "{file}: no xenc:EncryptedData element");
        return o;
    }
    for (i, r) in d.results.iter().enumerate() {
        let name = doc
            .element(r.node)
            .map(|e| e.name.qualified())
            .unwrap_or_default();
        let id =
            r.id.as_deref()
                .map(|i| format!(" Id=\"{i}\""))
                .unwrap_or_default();
        let status = match &r.outcome {
            DecryptOutcome::Decrypted { plaintext } => {
                format!("decrypted ({} bytes)", plaintext.len())
            }
            DecryptOutcome::Failed { reason } => format!("FAILED: {reason}"),
            DecryptOutcome::NoKey { reason } => format!("NO KEY: {reason}"),
        };
        let _ = writeln!(
            o,
            "EncryptedData {} <{name}{id}> Type {} {}: {status}",
            i + 1,
            r.data_type.label(),
            r.algorithm
        );
        if let Some(k) = &r.key_source {
            let _ = writeln!(o, "  key: {k}");
        }
    }
    if let Some(e) = &d.splice_error {
        let _ = writeln!(o, "decrypted document not produced: {e}");
    }
    let opened = d.results.iter().filter(|r| r.is_decrypted()).count();
    let _ = writeln!(o, "{opened} of {} EncryptedData opened", d.results.len());
    o
}
