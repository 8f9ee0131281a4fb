//! egui_kittest interaction tests: each view driven the way a user would, through the
//! accessibility tree (open, select, step the walkthrough, filter, add keys).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use egui_kittest::kittest::Queryable;
use std::path::PathBuf;
use support::*;
use wcfscope::gui::labels::Verdict;
use wcfscope::gui::Command;

/// The text is on screen (possibly more than once: e.g. an error in the table and the details).
fn shows(h: &egui_kittest::Harness<'static, wcfscope::gui::WcfApp>, text: &str) {
    assert!(
        h.query_all_by_label_contains(text).count() >= 1,
        "{text:?} is not shown"
    );
}

fn opened() -> (egui_kittest::Harness<'static, wcfscope::gui::WcfApp>, Calls) {
    let calls = Calls::default();
    let mut h = harness(app(calls.clone()));
    // The same command the file dialog and drag-and-drop produce.
    h.state_mut()
        .apply(Command::Files(vec![PathBuf::from("captures").join(SAMPLE)]));
    settle(&mut h);
    (h, calls)
}

#[test]
fn opening_a_capture_fills_every_view() {
    let (h, _) = opened();
    let app = h.state();
    assert_eq!(app.loaded.as_ref().unwrap().len(), 18);
    assert_eq!(app.timeline.rows.len(), 18);
    assert_eq!(
        app.persisted.recent,
        vec![PathBuf::from("captures").join(SAMPLE)]
    );
    // The first message is selected; session list, keys and status bar are drawn.
    assert_eq!(app.selected, Some(0));
    assert!(h.query_all_by_label("S1 6a1d2c3e").count() >= 1);
    assert!(h.query_all_by_label("S2 7b2e3d4f").count() >= 1);
    h.get_by_label("18 messages");
    // Status bar and session S2's tally.
    assert_eq!(h.query_all_by_label("1 failed").count(), 2);
    shows(&h, "No keys");
}

#[test]
fn an_unreadable_file_shows_a_banner_not_a_crash() {
    let calls = Calls::default();
    let mut h = harness(app(calls));
    h.state_mut()
        .apply(Command::Open(vec![PathBuf::from("notes.txt")]));
    settle(&mut h);
    assert!(h.state().loaded.is_none());
    shows(&h, "Could not read notes.txt");
    h.get_by_label("Dismiss").click();
    h.run_steps(4);
    assert!(h.state().banner.is_none());
}

#[test]
fn clicking_a_table_row_selects_and_shows_details() {
    let (mut h, _) = opened();
    h.get_by_label("Filter").focus();
    h.get_by_label("Filter").type_text("action:Multiply");
    h.run_steps(4);
    h.get_by_label("Multiply").click();
    h.run_steps(4);
    assert_eq!(h.state().selected, Some(10));
    // Overview tab: the error list for the failed message.
    shows(&h, "digest mismatch");
    // Security tab: per-reference verdicts.
    h.get_by_label("Security").click();
    h.run_steps(4);
    h.get_by_label("#_1 -> s:Body");
    shows(&h, "canonical bytes digested");
    // XML tab toggles raw/decrypted.
    h.get_by_label("XML").click();
    h.run_steps(4);
    h.get_by_label("Raw").click();
    h.run_steps(4);
    assert!(h.state().details.xml.source.contains("CipherValue"));
    // Hex tab.
    h.get_by_label("Hex").click();
    h.run_steps(4);
    shows(&h, "00000000  3c 73 3a 45");
}

#[test]
fn arrow_keys_move_along_the_timeline() {
    let (mut h, _) = opened();
    h.key_press(egui::Key::ArrowDown);
    h.run_steps(4);
    assert_eq!(h.state().selected, Some(1));
    h.key_press(egui::Key::ArrowDown);
    h.key_press(egui::Key::ArrowDown);
    h.run_steps(4);
    h.key_press(egui::Key::ArrowUp);
    h.run_steps(4);
    assert_eq!(h.state().selected, Some(2));
}

#[test]
fn stepping_through_the_handshake() {
    let (mut h, _) = opened();
    h.get_all_by_label("▶ Step through the handshake")
        .next()
        .unwrap()
        .click();
    h.run_steps(4);
    assert_eq!(h.state().selected, Some(2));
    shows(&h, "Step 1 of 8 · RST/SCT Issue");
    shows(&h, "Opened EncryptedKey #_7");
    h.get_by_label("Next ▶").click();
    h.run_steps(4);
    assert_eq!(h.state().selected, Some(3));
    shows(&h, "from the two entropies");
    h.get_by_label("Next ▶").click();
    h.run_steps(4);
    h.get_by_label("◀ Previous").click();
    h.run_steps(4);
    assert_eq!(h.state().walk.as_ref().unwrap().current, 1);
    h.get_by_label("× Close").click();
    h.run_steps(4);
    assert!(h.state().walk.is_none());
}

#[test]
fn filtering_the_table() {
    let (mut h, _) = opened();
    h.get_by_label("Filter").focus();
    h.get_by_label("Filter").type_text("verdict:failed");
    h.run_steps(3);
    assert_eq!(h.state().table.rows, vec![10]);
    h.get_by_label("1 of 18");
    h.get_by_label("×").click();
    h.run_steps(4);
    assert_eq!(h.state().table.rows.len(), 18);
}

#[test]
fn sorting_by_a_column_header() {
    let (mut h, _) = opened();
    h.get_by_label("Verdict").click();
    h.run_steps(4);
    assert_eq!(h.state().table.rows.last(), Some(&1));
    h.get_by_label("Verdict ⏶").click();
    h.run_steps(4);
    assert_eq!(h.state().table.rows.first(), Some(&1));
}

#[test]
fn typing_a_session_key_reruns_the_analysis() {
    let (mut h, calls) = opened();
    assert_eq!(
        h.state().loaded.as_ref().unwrap().facts[12].verdict,
        Verdict::NoKey
    );
    let input = format!(
        "{}=00112233445566778899aabbccddeeff",
        wcfscope::gui::sample::SESSION_UNKNOWN
    );
    h.get_by_label("Session key").focus();
    h.get_by_label("Session key").type_text(&input);
    h.run_steps(4);
    h.get_by_label("Add SCT key").click();
    h.run_steps(1);
    settle(&mut h);
    let app = h.state();
    assert_eq!(app.keys.sct.len(), 1);
    assert_eq!(
        app.loaded.as_ref().unwrap().facts[12].verdict,
        Verdict::Valid
    );
    let last = calls.lock().unwrap().last().cloned().unwrap();
    assert_eq!(last.sct_keys[0].1[..4], [0x00, 0x11, 0x22, 0x33]);
    shows(&h, "SCT 00000000 (16 bytes, typed)");
}

#[test]
fn a_bad_session_key_says_why() {
    let (mut h, _) = opened();
    h.get_by_label("Session key").focus();
    h.get_by_label("Session key").type_text("no-equals-sign");
    h.run_steps(4);
    h.get_by_label("Add SCT key").click();
    h.run_steps(4);
    shows(&h, "expected ID=HEX");
}

#[test]
fn dropping_a_key_file_asks_its_password_then_reruns() {
    let (mut h, calls) = opened();
    h.state_mut()
        .apply(Command::Files(vec![PathBuf::from("/keys/service.pfx")]));
    h.run_steps(4);
    h.get_by_label("Password").focus();
    h.get_by_label("Password").type_text("s3cret");
    h.run_steps(4);
    h.get_by_label("Add key").click();
    h.run_steps(1);
    settle(&mut h);
    let last = calls.lock().unwrap().last().cloned().unwrap();
    assert_eq!(last.keys, vec!["/keys/service.pfx:s3cret".to_string()]);
    h.get_by_label("🔑 service.pfx");
    h.get_by_label("password: set (not stored)");
    // The recent list never holds keys or passwords.
    let persisted = serde_json::to_string(&h.state().persisted).unwrap();
    assert!(
        !persisted.contains("s3cret") && !persisted.contains("service.pfx"),
        "{persisted}"
    );
    // Remove it again: the analysis re-runs without it.
    h.get_by_label("Remove").click();
    h.run_steps(1);
    settle(&mut h);
    assert!(calls.lock().unwrap().last().unwrap().keys.is_empty());
}

#[test]
fn theme_switch() {
    let (mut h, _) = opened();
    assert!(h.state().persisted.dark);
    h.get_by_label("☀ Light").click();
    h.run_steps(4);
    assert!(!h.state().persisted.dark);
}

#[test]
fn a_hundred_thousand_messages_stay_drawable() {
    // Only the rows in view are laid out: drawing, scrolling to the end and stepping with
    // the keyboard all work on 100 000 messages (no timing is asserted).
    let big = std::sync::Arc::new(wcfscope::gui::sample::large(100_000));
    let analyzer: wcfscope::gui::loader::AnalyzeFn = std::sync::Arc::new(
        move |_: &[PathBuf],
              _: &wcfscope_core::analyzer::Options,
              _: &mut dyn FnMut(wcfscope_core::analyzer::Progress),
              _: &std::sync::atomic::AtomicBool| Ok((*big).clone()),
    );
    let mut h = harness(wcfscope::gui::WcfApp::new(Default::default(), analyzer));
    h.state_mut()
        .apply(Command::Open(vec![PathBuf::from("big.pcapng")]));
    settle(&mut h);
    assert_eq!(h.state().timeline.rows.len(), 100_000);
    h.state_mut().apply(Command::Select(99_998));
    h.run_steps(3);
    h.key_press(egui::Key::ArrowDown);
    h.run_steps(3);
    assert_eq!(h.state().selected, Some(99_999));
    shows(&h, "#99999");
}

/// A file "dropped" on the window, as the windowing integration would deliver it.
#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        Err("not read by wcfscope (it opens the path)".into())
    }
}

#[test]
fn drag_and_drop_of_a_capture_and_a_key() {
    let calls = Calls::default();
    let mut h = harness(app(calls.clone()));
    h.input_mut().dropped_files = vec![std::sync::Arc::new(Dropped(
        PathBuf::from("captures").join(SAMPLE),
    ))];
    h.step();
    settle(&mut h);
    assert_eq!(h.state().loaded.as_ref().unwrap().len(), 18);
    h.input_mut().dropped_files = vec![std::sync::Arc::new(Dropped(PathBuf::from(
        "/k/service.p12",
    )))];
    h.run_steps(4);
    h.get_by_label("Password");
    h.get_by_label("Cancel").click();
    h.run_steps(4);
    assert!(h.state().pending_key.is_none());
    assert!(h.state().keys.files.is_empty());
}
