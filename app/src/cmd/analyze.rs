//! `wcfscope analyze`.

use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A .pcap/.pcapng capture, or one or more .xml files each holding one SOAP envelope.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

pub fn run(_args: Args) -> anyhow::Result<u8> {
    anyhow::bail!("analyze is not implemented yet")
}
