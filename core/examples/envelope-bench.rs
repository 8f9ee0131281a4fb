//! Throughput of `Envelope::parse` alone (the SOAP stage as `analyze` runs it) over every
//! message body of a capture, for iterating on the XML skim without the rest of the
//! pipeline in the profile. `make bench` remains the benchmark of record.
//!
//! Usage: `cargo run --release -p wcfscope-core --example envelope-bench -- FILE [RUNS]`
//! (the capture `make bench` generates is under `target/bench/`).

/// The binary's allocator (app/src/main.rs).
#[cfg(unix)]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;
use wcfscope_core::analyzer::{run_on_threads, Options};
use wcfscope_core::soap::Envelope;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(file) = args.next().map(PathBuf::from) else {
        eprintln!("usage: envelope-bench FILE [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(5);
    // The bodies, as the transport stage delivered them (kept in each message's detail).
    let mut bodies = Vec::new();
    let cancel = AtomicBool::new(false);
    if let Err(e) = run_on_threads(
        std::slice::from_ref(&file),
        &Options::default(),
        1,
        &mut |_| {},
        &cancel,
        &mut |s| bodies.push(s.detail.raw),
    ) {
        eprintln!("{e}");
        std::process::exit(1);
    }
    let mb = bodies.iter().map(Vec::len).sum::<usize>() as f64 / 1e6;
    for _ in 0..runs {
        let started = Instant::now();
        let parsed = bodies.iter().filter(|b| Envelope::parse(b).is_ok()).count();
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{parsed} of {} bodies parsed, {mb:.1} MB in {secs:.3} s: {:.1} MB/s",
            bodies.len(),
            mb / secs
        );
    }
}
