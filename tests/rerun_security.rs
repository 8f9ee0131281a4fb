//! Adding a key re-runs the security stage over the messages already read, without
//! re-reading the capture, and gives the same report as analysing with the key at once.

use std::sync::atomic::AtomicBool;
use wcfscope_core::analyzer::{analyze_files, rerun_security, Options};
use wcfscope_e2e::repo_path;

const DEMO_KEY: &str = "assets/demo-pki/service.pfx:wcfscope-demo";

fn analyse(keys: Vec<String>) -> wcfscope_core::analyzer::Analysis {
    let options = Options {
        keys,
        ..Options::default()
    };
    analyze_files(
        &[repo_path("captures/demo-calculator.pcapng")],
        &options,
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap()
}

#[test]
fn rerun_with_a_new_key_equals_a_fresh_analysis_with_that_key() {
    let key = repo_path(DEMO_KEY.split(':').next().unwrap())
        .display()
        .to_string()
        + ":wcfscope-demo";
    let without = analyse(vec![]);
    assert!(without
        .report
        .messages
        .iter()
        .all(|m| m.signature != wcfscope_core::model::SignatureSummary::Valid));
    let options = Options {
        keys: vec![key.clone()],
        ..Options::default()
    };
    let rerun = rerun_security(&without, &options);
    let fresh = analyse(vec![key]);
    assert_eq!(rerun.report.messages, fresh.report.messages);
    assert_eq!(rerun.report.sessions, fresh.report.sessions);
    assert_eq!(rerun.report.streams, fresh.report.streams);
    assert_eq!(rerun.report.capture, fresh.report.capture);
    assert_eq!(rerun.report.diagnostics, fresh.report.diagnostics);
    assert_eq!(rerun.details, fresh.details);
    assert!(rerun
        .report
        .messages
        .iter()
        .all(|m| m.signature == wcfscope_core::model::SignatureSummary::Valid));

    // And back: removing the key makes the verdicts "no key" again.
    let back = rerun_security(&rerun, &Options::default());
    assert_eq!(back.report.messages, without.report.messages);
    assert_eq!(back.report.sessions, without.report.sessions);
}

#[test]
fn an_analysis_without_raw_bytes_is_returned_unchanged() {
    let mut a = analyse(vec![]);
    for d in &mut a.details {
        d.raw.clear();
    }
    let r = rerun_security(&a, &Options::default());
    assert_eq!(r.report.messages, a.report.messages);
}
