//! Without the key, what a message's signatures cover is unknown: the coverage check must
//! say so rather than claim nothing was signed.

use std::sync::atomic::AtomicBool;
use wcfscope_core::analyzer::{analyze_files, Options};
use wcfscope_core::model::CheckStatus;
use wcfscope_e2e::repo_path;

#[test]
fn coverage_is_unknown_when_signatures_could_not_be_read() {
    let a = analyze_files(
        &[repo_path("captures/demo-calculator.pcapng")],
        &Options::default(),
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    let first = &a.report.messages[0];
    let coverage = first
        .security
        .checks
        .iter()
        .find(|c| c.name == "coverage")
        .unwrap();
    assert_eq!(coverage.status, CheckStatus::Warning);
    assert!(
        coverage.detail.starts_with("signed: unknown ("),
        "{}",
        coverage.detail
    );
    assert!(
        coverage.detail.contains("not shown to be signed: Body"),
        "{}",
        coverage.detail
    );
    assert!(
        !coverage.detail.contains("signed: nothing"),
        "{}",
        coverage.detail
    );
}
