//! The user story on the real demo capture with the real analyzer: open the capture,
//! see that nothing can be opened without the key, add the service's .pfx through the
//! password dialog, and see every message decrypted and verified; then step through
//! the handshake.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use egui_kittest::kittest::Queryable;
use std::path::{Path, PathBuf};
use support::{harness_with, settle};
use wcfscope::gui::labels::Verdict;
use wcfscope::gui::{launch, loader, Command, Persisted, WcfApp};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
fn demo_without_key_then_with_key() {
    let cap = repo().join(launch::DEMO_CAPTURE);
    let key = repo().join(launch::DEMO_KEY);
    if !cap.is_file() || !key.is_file() {
        eprintln!("SKIPPED: the demo capture or key is not in the repository");
        return;
    }
    // As the real app: a new key re-runs only the security stage.
    let mut app = WcfApp::new(Persisted::default(), loader::core_analyzer());
    app.security_rerun = true;
    let mut h = harness_with(app, true);
    h.state_mut().apply(Command::Files(vec![cap]));
    settle(&mut h);
    {
        let l = h.state().loaded.as_ref().expect("the demo loads");
        assert_eq!(l.len(), 12);
        assert_eq!(l.facts[0].name, "RST/SCT Issue");
        assert_eq!(l.facts[1].name, "RSTR/SCT");
        assert_eq!(l.facts[2].name, "Add");
        assert_eq!(l.facts[10].name, "SCT Cancel");
        // Without the service key the bootstrap cannot be opened.
        assert_eq!(l.facts[0].verdict, Verdict::NoKey);
        assert_eq!(h.state().timeline.lanes.len(), 2);
    }

    // Add the key the way a user does: drop it, type the password, confirm.
    h.state_mut().apply(Command::Files(vec![key]));
    h.run_steps(3);
    h.get_by_label("Password").focus();
    h.get_by_label("Password").type_text(launch::DEMO_PASSWORD);
    h.run_steps(3);
    h.get_by_label("Add key").click();
    h.run_steps(1);
    settle(&mut h);
    {
        let l = h.state().loaded.as_ref().unwrap();
        let verdicts: Vec<Verdict> = l.facts.iter().map(|f| f.verdict).collect();
        assert!(
            verdicts.iter().all(|v| *v == Verdict::Valid),
            "{verdicts:?}"
        );
        assert_eq!(l.analysis.report.sessions.len(), 1);
    }

    // The key manager says what the file holds and which session it opened.
    h.run_steps(3);
    let shown = |t: &str| h.query_all_by_label_contains(t).count() >= 1;
    assert!(shown("private key: present"));
    assert!(shown("thumbprint "));
    assert!(shown("opened: S1"), "the key names the session it opened");

    // Walk the handshake: every step has something computed to tell.
    h.get_by_label("▶ Step through the handshake").click();
    h.run_steps(4);
    let w = h.state().walk.clone().unwrap();
    assert_eq!(w.steps.len(), 12);
    assert!(
        !w.steps[0].computed.is_empty(),
        "the Issue step says what was computed"
    );
    assert!(w.steps[0].outcome.contains("decrypted"));
    h.get_by_label("Next ▶").click();
    h.run_steps(4);
    assert_eq!(h.state().selected, Some(1));
}
