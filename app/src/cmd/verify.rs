//! `wcfscope verify`.

use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The XML document.
    pub file: PathBuf,
}

pub fn run(_args: Args) -> anyhow::Result<u8> {
    anyhow::bail!("verify is not implemented yet")
}
