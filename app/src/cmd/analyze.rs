//! `wcfscope analyze`: the headless report (text timeline or the JSON contract).

use anyhow::Context;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use wcfscope_core::analyzer::{AnalyzeError, Options};
use wcfscope_core::keys::parse_sct_key_arg;
use wcfscope_core::report::{JsonReportWriter, TextReportWriter};

use super::progress::ProgressLine;
use super::Format;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A .pcap/.pcapng capture, or one or more .xml files each holding one SOAP envelope;
    /// `-` reads the capture (or one message) from standard input.
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
    /// Threads for a capture file (default: one per core; 1 = all on one thread). The
    /// report is the same whatever the number.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let mut sct_keys = Vec::new();
    for spec in &args.sct_keys {
        sct_keys.push(parse_sct_key_arg(spec)?);
    }
    let options = Options {
        keys: args.keys.clone(),
        sct_keys,
        clock_skew_secs: args.clock_skew,
        redact_keys: args.redact_keys,
        skip_details: true,
        // The JSON writer takes bodies escaped in advance; redaction works on text.
        json_bodies: matches!(args.format, Format::Json) && !args.redact_keys,
    };
    let out: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot write {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let cancel = AtomicBool::new(false);
    let title = args
        .files
        .iter()
        .map(|p| wcfscope_core::analyzer::display_name(p))
        .collect::<Vec<_>>()
        .join(", ");
    // Messages are written as they settle, so a capture of any size streams through.
    let mut writer = match args.format {
        Format::Json => Writer::Json(JsonReportWriter::begin(out, args.redact_keys)?),
        Format::Text => Writer::Text(TextReportWriter::begin(out, &title, args.redact_keys)?),
    };
    let mut write_error = None;
    let threads = args.threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
        usize::from,
    );
    // On a terminal, a progress line on standard error while a large capture is read;
    // not when the report itself streams to that terminal, where the two would interleave.
    let report_on_terminal = args.out.is_none() && std::io::stdout().is_terminal();
    let mut progress_line = if report_on_terminal {
        None
    } else {
        ProgressLine::on_terminal(&title)
    };
    let result = wcfscope_core::analyzer::run_on_threads(
        &args.files,
        &options,
        threads,
        &mut |p| {
            if let Some(line) = &mut progress_line {
                line.update(p, std::time::Instant::now());
            }
        },
        &cancel,
        &mut |mut s| {
            if write_error.is_none() {
                if let Err(e) = writer.message(&mut s.info) {
                    write_error = Some(e);
                    // Nobody reads the rest: stop reading the capture.
                    cancel.store(true, Ordering::Relaxed);
                }
            }
        },
    );
    if let Some(line) = &mut progress_line {
        line.finish();
    }
    // A closed pipe (`… | head`) among these ends the run quietly (main.rs).
    if let Some(e) = write_error {
        return Err(e).context("cannot write the report");
    }
    match result {
        Ok(summary) => {
            writer.end(&summary).context("cannot write the report")?;
            Ok(0)
        }
        Err(AnalyzeError::Unreadable(why)) => {
            // Nothing was written but the report's opening: write none of it, and leave no
            // half file behind.
            writer.abandon();
            if let Some(path) = &args.out {
                remove_if_plain_file(path);
            }
            eprintln!("wcfscope: {why}");
            Ok(1)
        }
        Err(e) => Err(e.into()),
    }
}

/// Removes a report file left half written, but only a plain file: `--out /dev/null` (or
/// any device, pipe or symlink) must never be unlinked, which as root would delete the
/// system's /dev/null.
fn remove_if_plain_file(path: &std::path::Path) {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file()) {
        let _ = std::fs::remove_file(path);
    }
}

enum Writer {
    Json(JsonReportWriter<Box<dyn Write>>),
    Text(TextReportWriter<Box<dyn Write>>),
}

impl Writer {
    fn message(&mut self, m: &mut wcfscope_core::model::MessageInfo) -> std::io::Result<()> {
        match self {
            Writer::Json(w) => w.message(m),
            Writer::Text(w) => w.message(m),
        }
    }
    fn abandon(self) {
        match self {
            Writer::Json(w) => w.abandon(),
            Writer::Text(w) => drop(w),
        }
    }
    fn end(self, summary: &wcfscope_core::analyzer::Summary) -> std::io::Result<()> {
        match self {
            Writer::Json(w) => w.end(summary).map(drop),
            Writer::Text(w) => w.end(summary).map(drop),
        }
    }
}
