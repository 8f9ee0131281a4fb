//! Pixel snapshots of the main views, rendered with wgpu on whatever adapter exists
//! (Mesa lavapipe on CI). One image per main view, compared with a tolerance. Without a
//! GPU adapter the tests print why and pass. Update with `UPDATE_SNAPSHOTS=1`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use egui_kittest::kittest::Queryable;
use egui_kittest::{Harness, SnapshotOptions};
use std::path::PathBuf;
use support::*;
use wcfscope::gui::{Command, WcfApp};

/// A wgpu renderer, or None (with the reason printed) when no adapter is available.
fn renderer() -> Option<egui_kittest::wgpu::WgpuTestRenderer> {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(egui_kittest::wgpu::WgpuTestRenderer::new);
    std::panic::set_hook(prev);
    match r {
        Ok(r) => Some(r),
        Err(e) => {
            let why = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            eprintln!(
                "SKIPPED: no wgpu adapter for snapshot tests ({why}); install mesa-vulkan-drivers"
            );
            None
        }
    }
}

fn snap_harness(dark: bool) -> Option<Harness<'static, WcfApp>> {
    let r = renderer()?;
    let mut a = app(Calls::default());
    a.persisted.dark = dark;
    let mut h = Harness::builder()
        .with_size([1440.0, 900.0])
        .renderer(r)
        .build_ui_state(
            |ui, app: &mut WcfApp| {
                let ctx = ui.ctx().clone();
                app.logic(&ctx);
                app.ui(ui);
            },
            a,
        );
    h.state_mut()
        .apply(Command::Open(vec![PathBuf::from("captures").join(SAMPLE)]));
    settle(&mut h);
    Some(h)
}

fn options() -> SnapshotOptions {
    // Software rasterisers differ slightly between Mesa versions (anti-aliasing, text).
    SnapshotOptions::new()
        .threshold(2.0)
        .max_failed_pixels(4000)
}

#[test]
fn snapshot_main_dark() {
    let Some(mut h) = snap_harness(true) else {
        return;
    };
    h.state_mut().apply(Command::Select(10));
    h.run_steps(3);
    h.snapshot_options("main_dark", &options());
}

#[test]
fn snapshot_security_light() {
    let Some(mut h) = snap_harness(false) else {
        return;
    };
    h.state_mut().apply(Command::Select(2));
    h.run_steps(2);
    h.get_by_label("Security").click();
    h.run_steps(3);
    h.snapshot_options("security_light", &options());
}

#[test]
fn snapshot_walkthrough_and_xml() {
    let Some(mut h) = snap_harness(true) else {
        return;
    };
    h.state_mut().apply(Command::StartWalkthrough(1));
    h.state_mut().apply(Command::WalkStep(4));
    h.run_steps(2);
    h.get_by_label("XML").click();
    h.run_steps(3);
    h.snapshot_options("walkthrough_xml", &options());
}

#[test]
fn snapshot_key_password_dialog() {
    let Some(mut h) = snap_harness(true) else {
        return;
    };
    h.state_mut()
        .apply(Command::Files(vec![PathBuf::from("/keys/service.pfx")]));
    h.run_steps(3);
    h.snapshot_options("key_password", &options());
}
