//! wcfscope: the command line over wcfscope-core (and, later, the GUI).
//!
//! Each subcommand lives in `cmd/<name>.rs`; this file only parses arguments and dispatches.
//! Exit statuses follow ARCHITECTURE.md ("CLI contract").

mod cmd;

/// jemalloc: see the workspace Cargo.toml for why.
#[cfg(unix)]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "wcfscope",
    version,
    about = "Decrypt and verify WCF secure sessions in packet captures"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Capture or message file to open in the GUI (default: the bundled demo).
    file: Option<PathBuf>,
    /// Key to load: PATH[:PASSWORD] (.pfx/.p12, PEM, DER) or hex:HEX.
    #[arg(long = "key", value_name = "KEY")]
    keys: Vec<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Analyse a capture (or .xml message files, in order) and print the report.
    Analyze(cmd::analyze::Args),
    /// Capture live on an interface and print each message as it is analysed.
    Capture(cmd::capture::Args),
    /// Print the canonical form of an XML document or of one element in it.
    C14n(cmd::c14n::Args),
    /// Verify every XML Signature in a document.
    Verify(cmd::verify::Args),
    /// Decrypt every EncryptedData in a document.
    Decrypt(cmd::decrypt::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let status = match cli.command {
        Some(Command::Analyze(args)) => cmd::analyze::run(args),
        Some(Command::Capture(args)) => cmd::capture::run(args),
        Some(Command::C14n(args)) => cmd::c14n::run(args),
        Some(Command::Verify(args)) => cmd::verify::run(args),
        Some(Command::Decrypt(args)) => cmd::decrypt::run(args),
        None => cmd::gui::run(cli.file, cli.keys),
    };
    match status {
        Ok(code) => ExitCode::from(code),
        // Output piped into a reader that stopped early (`| head`): it has what it wanted.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wcfscope: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// A write to a closed pipe, anywhere in the error's chain: the reader has what it wanted,
/// so every subcommand stops quietly with success, as other command-line tools do.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
