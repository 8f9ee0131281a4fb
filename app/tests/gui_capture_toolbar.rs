//! The live-capture toolbar in the window: it is there on start, Start stays disabled
//! until an interface is picked, and a filter libpcap rejects is explained inline.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use egui_kittest::kittest::{NodeT, Queryable};
use support::{app, harness, Calls};

#[test]
fn toolbar_is_shown_and_start_needs_an_interface() {
    let mut h = harness(app(Calls::default()));
    h.run_steps(2);
    h.get_by_label("Live capture");
    if !wcfscope::gui::capture::LIVE_SUPPORTED {
        h.get_by_label(wcfscope_core::live::NO_LIVE_SUPPORT);
        return;
    }
    // No interface picked: Start is there but disabled.
    assert!(h.get_by_label("▶ Start").accesskit_node().is_disabled());
    h.state_mut().capture.interface = Some("lo".into());
    h.run_steps(2);
    assert!(!h.get_by_label("▶ Start").accesskit_node().is_disabled());

    // A filter libpcap cannot compile: the reason appears next to the field, Start is off.
    h.get_by_label("Capture filter").focus();
    h.get_by_label("Capture filter").type_text("tcp port");
    h.run_steps(3);
    assert_eq!(h.state().capture.filter, "tcp port");
    assert!(
        h.query_all_by_label_contains("invalid capture filter")
            .count()
            >= 1,
        "the filter error is shown"
    );
    assert!(h.get_by_label("▶ Start").accesskit_node().is_disabled());
}
