//! Shared by the GUI tests: an app wired to a fake analyzer that serves the sample
//! analysis, and a harness that drives it through the same `logic` + `ui` path as eframe.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use egui_kittest::Harness;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use wcfscope::gui::loader::AnalyzeFn;
use wcfscope::gui::{sample, Persisted, WcfApp};
use wcfscope_core::analyzer::{AnalyzeError, Options, Progress};
use wcfscope_core::model::{Decryption, KeySource, SignatureSummary};

pub const SAMPLE: &str = "sample-two-sessions.pcapng";

/// Every call's options (key specs included), for assertions.
pub type Calls = Arc<Mutex<Vec<Options>>>;

/// Serves the sample for `SAMPLE`, "unreadable" for anything else. A typed SCT key for the
/// unknown session makes its two messages decrypt, as the real re-run would.
pub fn fake_analyzer(calls: Calls) -> AnalyzeFn {
    Arc::new(
        move |paths: &[PathBuf],
              opts: &Options,
              progress: &mut dyn FnMut(Progress),
              _c: &AtomicBool| {
            calls.lock().unwrap().push(opts.clone());
            progress(Progress {
                bytes_done: 10,
                bytes_total: 10,
                packets: 212,
                messages: 18,
            });
            if !paths.iter().any(|p| p.ends_with(SAMPLE)) {
                return Err(AnalyzeError::Unreadable(format!(
                    "{}: not a pcap or pcapng file (bad magic 3c3f786d)",
                    paths[0].display()
                )));
            }
            let mut a = sample::analysis();
            if opts
                .sct_keys
                .iter()
                .any(|(id, _)| id == sample::SESSION_UNKNOWN)
            {
                for i in [12, 13] {
                    a.report.messages[i].decryption = Decryption::Ok;
                    a.report.messages[i].signature = SignatureSummary::Valid;
                }
                a.report.sessions[2].key_source = Some(KeySource::Manual);
            }
            Ok(a)
        },
    )
}

pub fn app(calls: Calls) -> WcfApp {
    WcfApp::new(Persisted::default(), fake_analyzer(calls))
}

pub fn harness(app: WcfApp) -> Harness<'static, WcfApp> {
    harness_with(app, false)
}

/// `any_text`: the text comes from a real capture and may hold any character, so a
/// missing glyph draws a box (as in the app) instead of failing the test.
pub fn harness_with(app: WcfApp, any_text: bool) -> Harness<'static, WcfApp> {
    let mut b = Harness::builder().with_size([1440.0, 900.0]);
    if any_text {
        b = b.allow_missing_glyphs();
    }
    b.build_ui_state(
        |ui, app: &mut WcfApp| {
            let ctx = ui.ctx().clone();
            app.logic(&ctx);
            app.ui(ui);
        },
        app,
    )
}

/// Steps the harness until the background analysis is done (bounded).
pub fn settle(h: &mut Harness<'static, WcfApp>) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while std::time::Instant::now() < deadline {
        h.step();
        if !h.state().is_loading() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert!(!h.state().is_loading(), "the analysis did not finish");
    h.run_steps(3);
}
