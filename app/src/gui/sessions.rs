//! The session list: one row per secure session with its key source, endpoints, message
//! count and verdict tally; a row selects the session's first message, and a button starts
//! the walkthrough.

use super::facts::Loaded;
use super::labels::{short_session, Verdict};
use super::theme;
use super::Command;
use wcfscope_core::model::KeySource;

/// One line of the list.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    pub index: usize,
    pub title: String,
    pub key: String,
    pub endpoints: String,
    /// Counts per verdict in `Verdict::ALL` order.
    pub tally: [usize; 4],
    pub first_msg: Option<usize>,
}

pub fn rows(l: &Loaded) -> Vec<SessionRow> {
    let report = &l.analysis.report;
    report
        .sessions
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut tally = [0; 4];
            for &m in &s.messages {
                if let Some(f) = l.facts.get(m) {
                    if let Some(k) = Verdict::ALL.iter().position(|v| *v == f.verdict) {
                        tally[k] += 1;
                    }
                }
            }
            let key = match s.key_source {
                Some(KeySource::Computed) => "key computed from the entropies",
                Some(KeySource::EncryptedKey) => "key from an EncryptedKey",
                Some(KeySource::BinarySecret) => "key sent as BinarySecret",
                Some(KeySource::Manual) => "key typed in",
                None => "no key",
            };
            let version = match s.version {
                Some(wcfscope_core::model::ScVersion::Feb2005) => " · WS-SC 2005/02",
                Some(wcfscope_core::model::ScVersion::V13) => " · WS-SC 1.3",
                None => "",
            };
            SessionRow {
                index: i,
                title: format!("S{} {}", i + 1, short_session(&s.id)),
                key: format!("{key}{version}"),
                endpoints: format!(
                    "{} ↔ {}",
                    s.client.as_deref().unwrap_or("?"),
                    s.server.as_deref().unwrap_or("?")
                ),
                tally,
                first_msg: s.messages.iter().copied().min(),
            }
        })
        .collect()
}

pub fn show(
    ui: &mut egui::Ui,
    rows: &[SessionRow],
    l: &Loaded,
    selected: Option<usize>,
    dark: bool,
) -> Vec<Command> {
    let mut cmds = Vec::new();
    ui.strong(format!("Sessions ({})", rows.len()));
    if rows.is_empty() {
        ui.weak("No secure session in this capture.");
    }
    let sel_session = selected
        .and_then(|m| l.facts.get(m))
        .and_then(|f| f.session);
    egui::ScrollArea::vertical()
        .id_salt("sessions")
        .max_height(ui.available_height() * 0.55)
        .auto_shrink([false, true])
        .show(ui, |ui| {
            for r in rows {
                let frame =
                    egui::Frame::group(ui.style())
                        .inner_margin(4.0)
                        .stroke(egui::Stroke::new(
                            if sel_session == Some(r.index) {
                                1.5
                            } else {
                                0.5
                            },
                            theme::session_color(r.index, dark),
                        ));
                frame.show(ui, |ui| {
                    ui.set_width(ui.available_width());
                    let id = &l.analysis.report.sessions[r.index].id;
                    if ui
                        .add(
                            egui::Label::new(
                                egui::RichText::new(&r.title)
                                    .strong()
                                    .color(theme::session_color(r.index, dark)),
                            )
                            .sense(egui::Sense::click()),
                        )
                        .on_hover_text(id)
                        .clicked()
                    {
                        if let Some(m) = r.first_msg {
                            cmds.push(Command::Select(m));
                        }
                    }
                    ui.weak(&r.key);
                    ui.weak(&r.endpoints);
                    ui.horizontal(|ui| {
                        for (k, v) in Verdict::ALL.iter().enumerate() {
                            if r.tally[k] > 0 {
                                ui.colored_label(
                                    theme::verdict_color(*v, dark),
                                    format!("{} {}", r.tally[k], v.word()),
                                );
                            }
                        }
                    });
                    if ui.small_button("▶ Step through the handshake").clicked() {
                        cmds.push(Command::StartWalkthrough(r.index));
                    }
                });
            }
        });
    cmds
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::gui::sample;

    #[test]
    fn sample_sessions() {
        let l = Loaded::new(sample::analysis());
        let r = rows(&l);
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].title, "S1 6a1d2c3e");
        assert_eq!(r[0].key, "key computed from the entropies · WS-SC 2005/02");
        assert_eq!(r[0].tally, [8, 0, 0, 0]);
        assert_eq!(r[1].tally, [5, 1, 0, 0]);
        assert_eq!(r[2].tally, [0, 0, 2, 0]);
        assert_eq!(r[2].key, "no key · WS-SC 2005/02");
        assert_eq!(r[1].first_msg, Some(6));
    }
}
