//! `wcfscope analyze`: the headless report (text timeline or the JSON contract).

use anyhow::Context;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use wcfscope_core::analyzer::{analyze_files, AnalyzeError, Options};
use wcfscope_core::report;

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A .pcap/.pcapng capture, or one or more .xml files each holding one SOAP envelope.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Key to load: PATH[:PASSWORD] (.pfx/.p12, PEM, DER) or hex:HEX.
    #[arg(long = "key", value_name = "KEY")]
    pub keys: Vec<String>,
    /// A session key: SCT Identifier = key in hex.
    #[arg(long = "sct-key", value_name = "ID=HEX")]
    pub sct_keys: Vec<String>,
    /// Allowed clock skew for Timestamp checks, in seconds.
    #[arg(long = "clock-skew", value_name = "SECONDS")]
    pub clock_skew: Option<u64>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Write the report here instead of standard output.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Report every session key as null and mask UsernameToken passwords.
    #[arg(long)]
    pub redact_keys: bool,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let mut sct_keys = Vec::new();
    for spec in &args.sct_keys {
        sct_keys.push(parse_sct_key(spec)?);
    }
    let options = Options {
        keys: args.keys.clone(),
        sct_keys,
        clock_skew_secs: args.clock_skew,
        redact_keys: args.redact_keys,
    };
    let cancel = AtomicBool::new(false);
    let mut analysis = match analyze_files(&args.files, &options, &mut |_| {}, &cancel) {
        Ok(a) => a,
        Err(AnalyzeError::Unreadable(why)) => {
            eprintln!("wcfscope: {why}");
            return Ok(1);
        }
        Err(e) => return Err(e.into()),
    };
    if args.redact_keys {
        report::redact(&mut analysis.report);
    }
    let text = match args.format {
        Format::Json => report::to_json(&analysis.report) + "\n",
        Format::Text => report::to_text(&analysis.report),
    };
    match &args.out {
        Some(path) => std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(0)
}

/// `ID=HEX` → (ID, key bytes). The ID itself may contain '=' only before the last one.
fn parse_sct_key(spec: &str) -> anyhow::Result<(String, Vec<u8>)> {
    let (id, hex) = spec
        .rsplit_once('=')
        .with_context(|| format!("--sct-key {spec:?}: expected ID=HEX"))?;
    let hex: String = hex.chars().filter(|c| !c.is_whitespace()).collect();
    if hex.len() % 2 != 0 || hex.is_empty() {
        anyhow::bail!("--sct-key {id}: the key must be an even number of hex digits");
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .with_context(|| format!("--sct-key {id}: not hex"))?;
    Ok((id.trim().to_string(), bytes))
}
