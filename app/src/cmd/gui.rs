//! The GUI entry point (until the GUI lands: prints the analysis of the file).

use std::path::PathBuf;

pub fn run(_file: Option<PathBuf>, _keys: Vec<String>) -> anyhow::Result<u8> {
    anyhow::bail!("the GUI is not implemented yet")
}
