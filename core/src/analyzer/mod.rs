//! Drives the pipeline stages over a source and builds the report.
//!
//! [`Analyzer`] is fed packets (from a file or a live device) or whole .xml messages and
//! pushes them through `net` → `transport` → `soap` → `wssec`/`session`. Messages come out
//! as soon as they are *settled* (their pairing and session known), so a capture of any
//! size is analysed in bounded memory. [`run`] drives a file through it and hands each
//! settled message to a callback (the CLI streams them out); [`analyze_files`] collects
//! everything into an [`Analysis`] (the GUI).

mod input;
mod message;
mod parallel;
mod pipeline;
mod reader;

pub use input::{display_name, STDIN_PATH};
pub use pipeline::{Analyzer, Settled, Summary};

use input::Input;

use crate::capture::{FileSource, SourceEvent};
use crate::model::{CaptureFormat, MessageDetail, MessageInfo, Report, REPORT_VERSION};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use zeroize::Zeroizing;

/// How to analyse. Its `Debug` shows how many keys there are, never the key specs (they may
/// carry passwords) or key bytes.
#[derive(Clone, Default)]
pub struct Options {
    /// Key specifications as the CLI takes them: `PATH[:PASSWORD]` or `hex:HEX`.
    pub keys: Vec<String>,
    /// Session keys the user typed: (SCT Identifier, key bytes).
    pub sct_keys: Vec<(String, Zeroizing<Vec<u8>>)>,
    /// Allowed clock skew for Timestamp checks, in seconds (default 300).
    pub clock_skew_secs: Option<u64>,
    /// Replace every `key_hex` in the report by null.
    pub redact_keys: bool,
    /// Leave `MessageDetail`s empty (the CLI has no use for raw bytes and decrypted views).
    pub skip_details: bool,
    /// The report's bodies are only written as JSON ([`crate::report::JsonReportWriter`]):
    /// a plain message keeps its own bytes as `MessageInfo::body_deferred`, from which the
    /// writer escapes the body, instead of a copy in `body` (which stays None).
    pub json_bodies: bool,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("keys", &format_args!("[{} key specs]", self.keys.len()))
            .field(
                "sct_keys",
                &format_args!("[{} session keys]", self.sct_keys.len()),
            )
            .field("clock_skew_secs", &self.clock_skew_secs)
            .field("redact_keys", &self.redact_keys)
            .field("skip_details", &self.skip_details)
            .field("json_bodies", &self.json_bodies)
            .finish()
    }
}

/// Progress of a long analysis, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub packets: u64,
    pub messages: usize,
}

/// Why nothing at all could be analysed (everything else is a diagnostic in the report).
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    #[error("{0}")]
    Unreadable(String),
    #[error("cancelled")]
    Cancelled,
}

/// The result of an analysis.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub report: Report,
    /// One per message, same indices as `report.messages`.
    pub details: Vec<MessageDetail>,
    /// `report.diagnostics[..this]` came from reading the capture (capture, TCP, HTTP,
    /// SOAP); the rest from the security stage, which [`rerun_security`] replaces.
    pub security_diagnostics_from: usize,
}

/// Runs the security stage again over an analysis's messages with other keys, without
/// re-reading the capture (the GUI's "add a key"). Needs the messages' raw bytes: an
/// analysis made with `Options::skip_details` has none and comes back unchanged.
pub fn rerun_security(previous: &Analysis, options: &Options) -> Analysis {
    if previous.details.len() != previous.report.messages.len()
        || previous
            .details
            .iter()
            .zip(&previous.report.messages)
            .any(|(d, m)| d.raw.is_empty() && m.body.is_some())
    {
        return previous.clone();
    }
    let mut analyzer = Analyzer::new(
        previous.report.capture.path.clone(),
        previous.report.capture.format,
        Options {
            skip_details: false,
            json_bodies: false,
            ..options.clone()
        },
    );
    for (m, d) in previous.report.messages.iter().zip(&previous.details) {
        let stream = m.stream.and_then(|s| previous.report.streams.get(s));
        analyzer.replay_message(m, d, stream);
    }
    let carried = previous
        .report
        .diagnostics
        .get(..previous.security_diagnostics_from)
        .unwrap_or(&[]);
    analyzer.finish_replay(
        previous.report.capture.clone(),
        previous.report.streams.clone(),
        carried.to_vec(),
    )
}

/// Largest .xml message file accepted.
const MAX_XML_FILE: u64 = 64 * 1024 * 1024;
/// Report progress (and look at the cancel flag) every this many packets.
const PROGRESS_EVERY: u64 = 4096;

/// Analyses one capture file, or several .xml files (each one SOAP envelope) taken in
/// order as one conversation, and collects the whole analysis.
pub fn analyze_files(
    paths: &[PathBuf],
    options: &Options,
    on_progress: &mut dyn FnMut(Progress),
    cancel: &AtomicBool,
) -> Result<Analysis, AnalyzeError> {
    let mut messages = Vec::new();
    let mut details = Vec::new();
    let summary = run(paths, options, on_progress, cancel, &mut |s: Settled| {
        messages.push(s.info);
        details.push(s.detail);
    })?;
    let security_diagnostics_from = summary.security_diagnostics_from;
    Ok(Analysis {
        report: summary.into_report(messages),
        details,
        security_diagnostics_from,
    })
}

/// Analyses like [`analyze_files`] but hands each message to `on_message` as soon as it is
/// settled, in index order, and returns the rest of the report at the end. A capture file
/// is read, parsed and analysed on as many threads as the machine has cores (the result is
/// the same as on one: [`run_on_threads`]).
pub fn run(
    paths: &[PathBuf],
    options: &Options,
    on_progress: &mut dyn FnMut(Progress),
    cancel: &AtomicBool,
    on_message: &mut dyn FnMut(Settled),
) -> Result<Summary, AnalyzeError> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    run_on_threads(paths, options, cores, on_progress, cancel, on_message)
}

/// [`run`] with `threads` threads for a capture file (the calling thread and a reader
/// thread among them; all of them parse message bodies); 1 runs everything on the calling
/// thread. Any
/// number gives the same messages and report.
pub fn run_on_threads(
    paths: &[PathBuf],
    options: &Options,
    threads: usize,
    on_progress: &mut dyn FnMut(Progress),
    cancel: &AtomicBool,
    on_message: &mut dyn FnMut(Settled),
) -> Result<Summary, AnalyzeError> {
    let [only] = paths else {
        return run_several_files(paths, options, on_message);
    };
    // One input, opened once: it may be a pipe or standard input, which can't be reopened.
    let input = Input::open(only)?;
    if input.format == CaptureFormat::Xml {
        return run_xml_messages(input.name.clone(), [Ok(input)], options, on_message);
    }
    let name = input.name.clone();
    let size = input.size;
    let source = FileSource::from_reader(name.clone(), input.into_reader())
        .map_err(|e| AnalyzeError::Unreadable(e.to_string()))?
        .with_total_bytes(size);
    let analyzer = Analyzer::new(name.clone(), source.format(), options.clone());
    let (rest, summary) = if threads > 1 {
        parallel::analyze(source, analyzer, threads, on_progress, cancel, on_message)?
    } else {
        analyze_here(source, analyzer, on_progress, cancel, on_message)?
    };
    if summary.capture.packets == 0 {
        let why = summary
            .diagnostics
            .iter()
            .find(|d| d.level == crate::model::Level::Error)
            .map(|d| d.message.clone())
            .unwrap_or_else(|| "the capture holds no packets".into());
        return Err(AnalyzeError::Unreadable(format!("{name}: {why}")));
    }
    for s in rest {
        on_message(s);
    }
    Ok(summary)
}

/// A capture through the whole pipeline on the calling thread.
fn analyze_here(
    mut source: FileSource,
    mut analyzer: Analyzer,
    on_progress: &mut dyn FnMut(Progress),
    cancel: &AtomicBool,
    on_message: &mut dyn FnMut(Settled),
) -> Result<(Vec<Settled>, Summary), AnalyzeError> {
    let mut packets = 0u64;
    let progress = |source: &FileSource, packets, messages| Progress {
        bytes_done: source.bytes_read(),
        bytes_total: source.total_bytes().unwrap_or(0),
        packets,
        messages,
    };
    while let Some(event) = source.next_event() {
        match event {
            SourceEvent::Packet(p) => {
                analyzer.push_packet(&p);
                source.recycle(p);
                packets += 1;
                for s in analyzer.take_settled() {
                    on_message(s);
                }
                if packets.is_multiple_of(PROGRESS_EVERY) {
                    if cancel.load(Ordering::Relaxed) {
                        return Err(AnalyzeError::Cancelled);
                    }
                    on_progress(progress(&source, packets, analyzer.message_count()));
                }
            }
            SourceEvent::Diagnostic(d) => analyzer.push_diagnostic(d),
        }
    }
    on_progress(progress(&source, packets, analyzer.message_count()));
    Ok(analyzer.finish_parts())
}

/// Several files named at once: each must be one .xml SOAP message; they are taken in
/// order as one conversation.
fn run_several_files(
    paths: &[PathBuf],
    options: &Options,
    on_message: &mut dyn FnMut(Settled),
) -> Result<Summary, AnalyzeError> {
    if paths.is_empty() {
        return Err(AnalyzeError::Unreadable("no input file given".into()));
    }
    let title = paths
        .iter()
        .map(|p| input::display_name(p))
        .collect::<Vec<_>>()
        .join(", ");
    // Opened one at a time, each read whole in its turn and closed: holding thousands of
    // message files open at once could run out of file descriptors.
    let inputs = paths.iter().map(|path| {
        let input = Input::open(path)?;
        if input.format != CaptureFormat::Xml {
            return Err(AnalyzeError::Unreadable(
                "several files can only be analysed together when each is one .xml SOAP message"
                    .into(),
            ));
        }
        Ok(input)
    });
    run_xml_messages(title, inputs, options, on_message)
}

/// .xml message files, each one SOAP envelope, taken in order as one conversation. A file
/// that cannot be opened or is not XML fails the run (nothing has been handed out yet); one
/// that cannot be read whole becomes a diagnostic.
fn run_xml_messages(
    title: String,
    inputs: impl IntoIterator<Item = Result<Input, AnalyzeError>>,
    options: &Options,
    on_message: &mut dyn FnMut(Settled),
) -> Result<Summary, AnalyzeError> {
    let mut analyzer = Analyzer::new(title, CaptureFormat::Xml, options.clone());
    let mut errors = Vec::new();
    let mut count = 0;
    for input in inputs {
        let input = input?;
        count += 1;
        let name = input.name.clone();
        match input.read_bounded(MAX_XML_FILE) {
            Ok(bytes) => analyzer.push_xml_message(&name, bytes),
            Err(e) => {
                errors.push(e.clone());
                analyzer.push_diagnostic(crate::model::Diagnostic::error(e));
            }
        }
    }
    if errors.len() == count {
        return Err(AnalyzeError::Unreadable(errors.join("; ")));
    }
    let (rest, summary) = analyzer.finish_parts();
    if rest.is_empty() {
        let why = summary
            .diagnostics
            .iter()
            .map(|d| d.message.clone())
            .collect::<Vec<_>>()
            .join("; ");
        return Err(AnalyzeError::Unreadable(format!(
            "no SOAP message could be read: {why}"
        )));
    }
    for s in rest {
        on_message(s);
    }
    Ok(summary)
}

impl Summary {
    /// The full report, given every message in index order.
    ///
    /// A deferred body (`Options::json_bodies`) is copied out as text, so the report
    /// serializes like any other.
    pub fn into_report(self, mut messages: Vec<MessageInfo>) -> Report {
        for m in &mut messages {
            m.undefer_body();
        }
        Report {
            report_version: REPORT_VERSION,
            capture: self.capture,
            streams: self.streams,
            sessions: self.sessions,
            messages,
            diagnostics: self.diagnostics,
        }
    }
}
