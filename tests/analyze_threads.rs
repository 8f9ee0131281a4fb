//! A capture analysed on several threads (reader, parsers, the caller) gives exactly the
//! report one thread gives: same messages in the same order, same sessions, verdicts,
//! streams and diagnostics. Checked on the sample captures, on generated secure sessions
//! long enough to span many batches (with a tampered call), and on mutated captures whose
//! damage lands anywhere in a batch.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use wcfscope_core::analyzer::{run_on_threads, AnalyzeError, Options};
use wcfscope_core::model::Report;
use wcfscope_core::report::{to_json, JsonReportWriter};
use wcfscope_core::synth::{generate, Pki, Scenario, TamperKind};
use wcfscope_e2e::{mutate, repo_path, Rng};

fn options(json_bodies: bool) -> Options {
    Options {
        keys: vec![format!(
            "{}:wcfscope-demo",
            repo_path("assets/demo-pki/service.pfx").display()
        )],
        json_bodies,
        ..Options::default()
    }
}

/// The whole report as JSON, or the error, on `threads` threads; also how many times the
/// progress callback ran.
fn analyse(path: &Path, threads: usize) -> (Result<String, String>, usize) {
    analyse_with(path, threads, false)
}

fn analyse_with(path: &Path, threads: usize, json_bodies: bool) -> (Result<String, String>, usize) {
    let mut messages = Vec::new();
    let mut progress_calls = 0;
    let result = run_on_threads(
        &[path.to_path_buf()],
        &options(json_bodies),
        threads,
        &mut |_| progress_calls += 1,
        &AtomicBool::new(false),
        &mut |s| messages.push(s.info),
    );
    let json = match result {
        Ok(summary) => Ok(to_json(&summary.into_report(messages))),
        Err(AnalyzeError::Unreadable(why)) => Err(why),
        Err(e) => Err(e.to_string()),
    };
    (json, progress_calls)
}

/// The report as `analyze --format json` streams it (`redact`: `--redact-keys`), with or
/// without `Options::json_bodies` (bodies left in the messages' bytes for the writer).
/// Also counts the messages whose body reached the writer deferred.
fn stream(path: &Path, threads: usize, json_bodies: bool, redact: bool) -> Option<Vec<u8>> {
    let mut writer = JsonReportWriter::begin(Vec::new(), redact).unwrap();
    let mut deferred = 0;
    let summary = run_on_threads(
        &[path.to_path_buf()],
        &options(json_bodies),
        threads,
        &mut |_| {},
        &AtomicBool::new(false),
        &mut |mut s| {
            deferred += usize::from(s.info.body_deferred.is_some());
            writer.message(&mut s.info).unwrap();
        },
    )
    .ok()?;
    if !json_bodies {
        assert_eq!(deferred, 0);
    }
    DEFERRED.fetch_add(deferred, Ordering::Relaxed);
    Some(writer.end(&summary).unwrap())
}

/// Messages written from deferred bodies so far (so a test can tell the path was taken).
static DEFERRED: AtomicUsize = AtomicUsize::new(0);

fn assert_same_on_any_threads(path: &Path) -> Result<String, String> {
    let (one, progress) = analyse(path, 1);
    assert!(progress >= 1, "{}: no progress reported", path.display());
    for threads in [2, 3, 4] {
        let (many, _) = analyse(path, threads);
        assert_eq!(one, many, "{} on {threads} threads", path.display());
    }
    // Bodies left in the messages' bytes give the same report, whether the streaming
    // writer escapes them (redacting or not) or the report is collected whole.
    let (collected, _) = analyse_with(path, 2, true);
    assert_eq!(one, collected, "{}: json_bodies, collected", path.display());
    for redact in [false, true] {
        let copied = stream(path, 1, false, redact);
        for threads in [1, 2] {
            let deferred = stream(path, threads, true, redact);
            assert!(
                copied == deferred,
                "{}: json_bodies on {threads} threads, redact {redact}",
                path.display()
            );
        }
        if let (Some(json), Ok(whole)) = (&copied, &one) {
            if !redact {
                let streamed: serde_json::Value = serde_json::from_slice(json).unwrap();
                let collected: serde_json::Value = serde_json::from_str(whole).unwrap();
                assert_eq!(streamed, collected, "{}: streamed report", path.display());
            }
        }
    }
    one
}

fn sample_captures() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(repo_path("captures"))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    out.retain(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"));
    out.sort();
    out
}

#[test]
fn sample_captures_give_the_same_report_on_any_number_of_threads() {
    let captures = sample_captures();
    assert!(captures.len() >= 3, "sample captures missing");
    let mut messages = 0;
    for capture in &captures {
        let json = assert_same_on_any_threads(capture).unwrap();
        let report: Report = serde_json::from_str(&json).unwrap();
        messages += report.messages.len();
    }
    assert!(messages > 10, "{messages}");
    assert!(
        DEFERRED.load(Ordering::Relaxed) > 10,
        "no body was deferred"
    );
}

#[test]
fn long_secure_sessions_give_the_same_report_on_any_number_of_threads() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::demo().unwrap();
    let scenarios = [
        Scenario::default().sessions(2).calls(60),
        Scenario::default()
            .calls(40)
            .tamper(0, 17, TamperKind::BodyCiphertextFlip),
    ];
    for (i, sc) in scenarios.iter().enumerate() {
        let out = generate(sc, &pki).unwrap();
        let path = dir.path().join(format!("s{i}.pcapng"));
        std::fs::write(&path, &out.pcapng).unwrap();
        let json = assert_same_on_any_threads(&path).unwrap();
        let report: Report = serde_json::from_str(&json).unwrap();
        // Long enough to cross many batches of the threaded reader.
        assert!(report.capture.packets > 500, "{}", report.capture.packets);
        assert_eq!(report.messages.len(), out.messages.len());
    }
}

#[test]
fn mutated_captures_give_the_same_result_on_any_number_of_threads() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::demo().unwrap();
    let long = generate(&Scenario::default().calls(30), &pki)
        .unwrap()
        .pcapng;
    let mut originals: Vec<Vec<u8>> = sample_captures()
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    originals.push(long);
    let mut rng = Rng::new(0x07e1_ead5);
    let mut readable = 0;
    for (i, original) in originals.iter().enumerate() {
        for round in 0..12 {
            let mut data = mutate(original, &mut rng);
            if round % 2 == 0 {
                data = mutate(&data, &mut rng);
            }
            let path = dir.path().join(format!("m{i}-{round}.pcapng"));
            std::fs::write(&path, &data).unwrap();
            readable += usize::from(assert_same_on_any_threads(&path).is_ok());
        }
    }
    assert!(
        readable > 20,
        "too few mutated captures were readable: {readable}"
    );
}
