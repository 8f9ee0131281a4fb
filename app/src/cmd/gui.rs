//! `wcfscope [FILE] [--key KEY]...`: opens the inspector window (see `wcfscope::gui`).

use std::path::PathBuf;

pub fn run(file: Option<PathBuf>, keys: Vec<String>) -> anyhow::Result<u8> {
    wcfscope::gui::run(file, keys)
}
