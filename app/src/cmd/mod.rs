//! One module per subcommand. Each has `Args` (clap) and `run(Args) -> anyhow::Result<u8>`
//! returning the process exit status.

pub mod analyze;
pub mod c14n;
pub mod capture;
pub mod decrypt;
pub mod gui;
pub mod progress;
pub mod verify;

/// Output format of `analyze` and `capture`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}
