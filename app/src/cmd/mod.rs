//! One module per subcommand. Each has `Args` (clap) and `run(Args) -> anyhow::Result<u8>`
//! returning the process exit status.

pub mod analyze;
pub mod capture;
pub mod c14n;
pub mod decrypt;
pub mod gui;
pub mod verify;
