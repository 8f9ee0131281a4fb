//! Drives the pipeline stages over a source and builds the report.
//!
//! `analyze_files` is what the CLI and the GUI's loader call: it reads a capture (or a
//! conversation of .xml message files), reports progress, can be cancelled, and returns an
//! [`Analysis`]: the report plus per-message details and the framed messages, so that the
//! security stage can re-run with new keys without re-reading the capture.

use crate::model::{MessageDetail, Report};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

/// How to analyse.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Key specifications as the CLI takes them: `PATH[:PASSWORD]` or `hex:HEX`.
    pub keys: Vec<String>,
    /// Session keys the user typed: (SCT Identifier, key bytes).
    pub sct_keys: Vec<(String, Vec<u8>)>,
    /// Allowed clock skew for Timestamp checks, in seconds (default 300).
    pub clock_skew_secs: Option<u64>,
    /// Replace every `key_hex` in the report by null.
    pub redact_keys: bool,
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
}

/// Analyses one capture file, or several .xml files (each one SOAP envelope) taken in
/// order as one conversation.
pub fn analyze_files(
    paths: &[PathBuf],
    options: &Options,
    on_progress: &mut dyn FnMut(Progress),
    cancel: &AtomicBool,
) -> Result<Analysis, AnalyzeError> {
    let _ = (paths, options, on_progress, cancel);
    Err(AnalyzeError::Unreadable(
        "analysis not implemented yet".into(),
    ))
}
