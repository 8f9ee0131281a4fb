//! Quick in-process throughput of the whole analyzer (what `wcfscope analyze --format json`
//! does, report written to a sink), for iterating on performance without building the GUI
//! crate. `make bench` is the benchmark of record (it also runs tshark); this is its
//! inner loop.
//!
//! Usage: `cargo run --release -p wcfscope-core --example pipeline-bench -- FILE [RUNS]
//! [THREADS]` (threads default to one per core).
//! (the capture `make bench` generates is under `target/bench/`).

/// The binary's allocator (app/src/main.rs).
#[cfg(unix)]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;
use wcfscope_core::analyzer::{run_on_threads, Options};
use wcfscope_core::report::JsonReportWriter;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(file) = args.next().map(PathBuf::from) else {
        eprintln!("usage: pipeline-bench FILE [RUNS] [THREADS]");
        std::process::exit(2);
    };
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(3);
    let threads: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let mb = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
    let options = Options {
        skip_details: true,
        json_bodies: true,
        ..Options::default()
    };
    for _ in 0..runs {
        let started = Instant::now();
        let mut writer = match JsonReportWriter::begin(std::io::sink(), false) {
            Ok(w) => w,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        };
        let mut messages = 0usize;
        let cancel = AtomicBool::new(false);
        let summary = run_on_threads(
            std::slice::from_ref(&file),
            &options,
            threads,
            &mut |_| {},
            &cancel,
            &mut |mut s| {
                messages += 1;
                let _ = writer.message(&mut s.info);
            },
        );
        match summary {
            Ok(s) => {
                let _ = writer.end(&s);
            }
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{messages} messages, {mb:.1} MB in {secs:.2} s: {:.1} MB/s",
            mb / secs
        );
    }
}
