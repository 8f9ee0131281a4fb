//! The status bar (capture, counts per verdict, sessions, diagnostics, load progress with
//! cancel) and the banner shown above everything for a file that could not be read.

use super::facts::Loaded;
use super::labels::Verdict;
use super::loader::Job;
use super::theme;
use super::Command;

/// A message across the top of the window.
#[derive(Debug, Clone, PartialEq)]
pub struct Banner {
    pub text: String,
    pub error: bool,
}

/// The status line as text (also what tests check).
pub fn summary(l: &Loaded) -> String {
    let c = l.verdict_counts();
    let r = &l.analysis.report;
    format!(
        "{} messages · {} sessions · {} valid · {} failed · {} no key · {} clear · {} packets · {} diagnostics",
        l.len(),
        r.sessions.len(),
        c[0],
        c[1],
        c[2],
        c[3],
        r.capture.packets,
        r.diagnostics.len()
    )
}

pub fn show(ui: &mut egui::Ui, l: Option<&Loaded>, job: Option<&Job>, dark: bool) -> Vec<Command> {
    let mut cmds = Vec::new();
    ui.horizontal(|ui| {
        if let Some(job) = job {
            let name = job
                .files
                .first()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            ui.label(if job.rerun {
                "Re-analysing with the new keys…"
            } else {
                "Loading"
            });
            ui.weak(name);
            let p = job.progress;
            let bar = match job.fraction() {
                Some(f) => egui::ProgressBar::new(f).show_percentage(),
                None => egui::ProgressBar::new(0.0).animate(true),
            };
            ui.add(
                bar.desired_width(180.0)
                    .text(format!("{} packets · {} messages", p.packets, p.messages)),
            );
            if ui.small_button("Cancel").clicked() {
                cmds.push(Command::CancelLoad);
            }
            ui.separator();
        }
        match l {
            Some(l) => {
                ui.weak(&l.analysis.report.capture.path);
                ui.separator();
                let c = l.verdict_counts();
                ui.label(format!("{} messages", l.len()));
                ui.label(format!("{} sessions", l.analysis.report.sessions.len()));
                for (k, v) in Verdict::ALL.iter().enumerate() {
                    ui.colored_label(
                        theme::verdict_color(*v, dark),
                        format!("{} {}", c[k], v.word()),
                    );
                }
                let diags = l.analysis.report.diagnostics.len();
                if diags > 0 && ui.small_button(format!("{diags} diagnostics")).clicked() {
                    cmds.push(Command::ToggleDiagnostics);
                }
            }
            None if job.is_none() => {
                ui.weak("No capture open · File > Open… or drop a .pcap/.pcapng here");
            }
            None => {}
        }
    });
    cmds
}

pub fn banner(ui: &mut egui::Ui, b: &Banner, dark: bool) -> Vec<Command> {
    let mut cmds = Vec::new();
    let color = if b.error {
        theme::verdict_color(Verdict::Failed, dark)
    } else {
        theme::verdict_color(Verdict::NoKey, dark)
    };
    egui::Frame::new()
        .fill(color.gamma_multiply(0.18))
        .stroke(egui::Stroke::new(1.0, color))
        .inner_margin(6.0)
        .corner_radius(3.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                ui.colored_label(color, if b.error { "⚠" } else { "ℹ" });
                ui.add(egui::Label::new(&b.text).wrap());
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if ui.small_button("Dismiss").clicked() {
                        cmds.push(Command::DismissBanner);
                    }
                });
            });
        });
    cmds
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::gui::sample;

    #[test]
    fn summary_counts() {
        let l = Loaded::new(sample::analysis());
        assert_eq!(summary(&l), "18 messages · 3 sessions · 13 valid · 1 failed · 2 no key · 2 clear · 212 packets · 2 diagnostics");
    }
}
