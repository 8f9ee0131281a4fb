//! The message table: a virtualised `egui_extras` table with sortable columns and a filter
//! box. [`TableModel`] (filter + sort → the visible message indices) is plain data, tested
//! without drawing.

use super::facts::{fmt_abs, fmt_rel, Loaded};
use super::labels::{short_session, Verdict};
use super::theme;
use super::Command;
use egui_extras::{Column, TableBuilder};
use wcfscope_core::model::{Decryption, MessageDirection, SignatureSummary};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Index,
    Time,
    Session,
    Name,
    Verdict,
    Errors,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableModel {
    pub filter: String,
    pub sort: SortKey,
    pub descending: bool,
    /// Message indices in display order (after filter and sort).
    pub rows: Vec<usize>,
}

impl Default for TableModel {
    fn default() -> Self {
        TableModel {
            filter: String::new(),
            sort: SortKey::Index,
            descending: false,
            rows: Vec::new(),
        }
    }
}

/// Does one filter term match a message? Terms are `field:value` (action, text, session,
/// verdict, kind) or a bare word matched against all of them; case-insensitive.
fn term_matches(l: &Loaded, i: usize, term: &str) -> bool {
    let m = &l.analysis.report.messages[i];
    let f = &l.facts[i];
    let (field, value) = match term.split_once(':') {
        Some((k, v)) if ["action", "text", "session", "verdict", "kind"].contains(&k) => {
            (Some(k), v)
        }
        _ => (None, term),
    };
    let has = |s: &str| s.to_lowercase().contains(value);
    let session_id = m.session.as_deref().unwrap_or("");
    let session_tag = f.session.map(|s| format!("s{}", s + 1)).unwrap_or_default();
    match field {
        Some("action") => m.action.as_deref().is_some_and(has) || has(&f.name),
        Some("text") => m.body.as_deref().is_some_and(has),
        Some("session") => has(session_id) || session_tag == value,
        Some("verdict") => {
            f.verdict.word().replace(' ', "") == value.replace(' ', "") || has(f.verdict.word())
        }
        Some("kind") => has(&format!("{:?}", m.kind)),
        _ => {
            m.action.as_deref().is_some_and(has)
                || has(&f.name)
                || has(session_id)
                || session_tag == value
                || has(f.verdict.word())
                || m.body.as_deref().is_some_and(has)
                || m.errors.iter().any(|e| has(e))
        }
    }
}

impl TableModel {
    /// Recomputes `rows` from the analysis, the filter and the sort.
    pub fn refresh(&mut self, l: &Loaded) {
        let lower = self.filter.to_lowercase();
        let terms: Vec<&str> = lower.split_whitespace().collect();
        let mut rows: Vec<usize> = (0..l.len())
            .filter(|&i| terms.iter().all(|t| term_matches(l, i, t)))
            .collect();
        let msgs = &l.analysis.report.messages;
        match self.sort {
            SortKey::Index => {}
            SortKey::Time => rows.sort_by_key(|&i| (msgs[i].ts, i)),
            SortKey::Session => {
                rows.sort_by_key(|&i| (l.facts[i].session.is_none(), l.facts[i].session, i))
            }
            SortKey::Name => {
                rows.sort_by(|&a, &b| l.facts[a].name.cmp(&l.facts[b].name).then(a.cmp(&b)))
            }
            SortKey::Verdict => rows.sort_by_key(|&i| (l.facts[i].verdict, i)),
            SortKey::Errors => rows.sort_by_key(|&i| (std::cmp::Reverse(msgs[i].errors.len()), i)),
        }
        if self.descending {
            rows.reverse();
        }
        self.rows = rows;
    }

    /// Clicking a header: sort by it, or flip the direction if it already sorts.
    pub fn click_header(&mut self, key: SortKey, l: &Loaded) {
        if self.sort == key {
            self.descending = !self.descending;
        } else {
            self.sort = key;
            self.descending = false;
        }
        self.refresh(l);
    }
}

pub fn show(
    ui: &mut egui::Ui,
    t: &mut TableModel,
    l: &Loaded,
    selected: Option<usize>,
    dark: bool,
) -> Vec<Command> {
    let mut cmds = Vec::new();
    ui.horizontal(|ui| {
        ui.strong("Messages");
        let label = ui.label("Filter");
        let edit = egui::TextEdit::singleline(&mut t.filter)
            .hint_text("filter: words, action:Add, session:S1, verdict:failed, text:…")
            .desired_width(340.0);
        if ui.add(edit).labelled_by(label.id).changed() {
            t.refresh(l);
        }
        if !t.filter.is_empty()
            && ui
                .small_button("×")
                .on_hover_text("Clear the filter")
                .clicked()
        {
            t.filter.clear();
            t.refresh(l);
        }
        ui.weak(format!("{} of {}", t.rows.len(), l.len()));
    });
    let msgs = &l.analysis.report.messages;
    let mut clicked_header = None;
    let arrow = |t: &TableModel, k: SortKey| {
        if t.sort == k {
            if t.descending {
                " ⏷"
            } else {
                " ⏶"
            }
        } else {
            ""
        }
    };
    let header_button =
        |ui: &mut egui::Ui, label: &str, k: SortKey, t: &TableModel, out: &mut Option<SortKey>| {
            if ui
                .add(
                    egui::Button::new(
                        egui::RichText::new(format!("{label}{}", arrow(t, k))).strong(),
                    )
                    .frame(false),
                )
                .clicked()
            {
                *out = Some(k);
            }
        };
    // Cells are plain text: clicks go to the row, not to text selection.
    ui.style_mut().interaction.selectable_labels = false;
    TableBuilder::new(ui)
        .id_salt("messages")
        .striped(true)
        .sense(egui::Sense::click())
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(Column::exact(44.0))
        .column(Column::exact(108.0))
        .column(Column::exact(84.0))
        .column(Column::exact(52.0))
        .column(Column::initial(150.0).at_least(80.0).clip(true))
        .column(Column::exact(66.0))
        .column(Column::initial(130.0).at_least(80.0).clip(true))
        .column(Column::remainder().clip(true))
        .header(20.0, |mut h| {
            h.col(|ui| header_button(ui, "#", SortKey::Index, t, &mut clicked_header));
            h.col(|ui| header_button(ui, "Time", SortKey::Time, t, &mut clicked_header));
            h.col(|ui| header_button(ui, "Session", SortKey::Session, t, &mut clicked_header));
            h.col(|ui| {
                ui.strong("Dir");
            });
            h.col(|ui| header_button(ui, "Message", SortKey::Name, t, &mut clicked_header));
            h.col(|ui| header_button(ui, "Verdict", SortKey::Verdict, t, &mut clicked_header));
            h.col(|ui| {
                ui.strong("Decrypt / Sign");
            });
            h.col(|ui| header_button(ui, "Errors", SortKey::Errors, t, &mut clicked_header));
        })
        .body(|body| {
            body.rows(18.0, t.rows.len(), |mut row| {
                let i = t.rows[row.index()];
                let m = &msgs[i];
                let f = &l.facts[i];
                row.set_selected(selected == Some(i));
                row.col(|ui| {
                    ui.monospace(i.to_string());
                });
                row.col(|ui| {
                    ui.monospace(fmt_rel(f.rel_ns))
                        .on_hover_text(fmt_abs(m.ts.map(|t| t.0)));
                });
                row.col(|ui| {
                    if let Some(s) = f.session {
                        ui.colored_label(
                            theme::session_color(s, dark),
                            format!(
                                "S{} {}",
                                s + 1,
                                short_session(m.session.as_deref().unwrap_or(""))
                            ),
                        );
                    }
                });
                row.col(|ui| {
                    ui.label(match m.direction {
                        MessageDirection::Request => "➡ req",
                        MessageDirection::Response => "⬅ resp",
                    });
                });
                row.col(|ui| {
                    ui.label(&f.name)
                        .on_hover_text(m.action.as_deref().unwrap_or("(no action)"));
                });
                row.col(|ui| {
                    ui.colored_label(theme::verdict_color(f.verdict, dark), f.verdict.word());
                });
                row.col(|ui| {
                    ui.label(format!(
                        "{} / {}",
                        decryption_word(m.decryption),
                        signature_word(m.signature)
                    ));
                });
                row.col(|ui| {
                    if let Some(e) = m.errors.first() {
                        let more = if m.errors.len() > 1 {
                            format!(" (+{})", m.errors.len() - 1)
                        } else {
                            String::new()
                        };
                        ui.colored_label(
                            theme::verdict_color(Verdict::Failed, dark),
                            format!("{e}{more}"),
                        );
                    }
                });
                if row.response().clicked() {
                    cmds.push(Command::Select(i));
                }
            });
        });
    if let Some(k) = clicked_header {
        t.click_header(k, l);
    }
    cmds
}

pub fn decryption_word(d: Decryption) -> &'static str {
    match d {
        Decryption::Ok => "decrypted",
        Decryption::Failed => "FAILED",
        Decryption::NoKey => "no key",
        Decryption::NotEncrypted => "clear",
    }
}

pub fn signature_word(s: SignatureSummary) -> &'static str {
    match s {
        SignatureSummary::Valid => "valid",
        SignatureSummary::Invalid => "INVALID",
        SignatureSummary::NoKey => "no key",
        SignatureSummary::Unsigned => "unsigned",
        SignatureSummary::Error => "ERROR",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::gui::sample;

    fn model(filter: &str) -> Vec<usize> {
        let l = Loaded::new(sample::analysis());
        let mut t = TableModel {
            filter: filter.into(),
            ..Default::default()
        };
        t.refresh(&l);
        t.rows
    }

    #[test]
    fn filters() {
        assert_eq!(model("").len(), 18);
        assert_eq!(model("verdict:failed"), vec![10]);
        assert_eq!(model("verdict:nokey"), vec![12, 13]);
        assert_eq!(model("action:Add"), vec![4, 5]);
        assert_eq!(model("session:s2"), vec![6, 7, 10, 11, 16, 17]);
        assert_eq!(model("session:7b2e3d4f cancel"), vec![16, 17]);
        assert_eq!(model("text:115.99"), vec![1, 5, 9, 11, 13]);
        assert_eq!(model("digest"), vec![10]);
        assert!(model("nothing-matches-this").is_empty());
    }

    #[test]
    fn sorting() {
        let l = Loaded::new(sample::analysis());
        let mut t = TableModel::default();
        t.refresh(&l);
        t.click_header(SortKey::Verdict, &l);
        assert_eq!(t.rows.first(), Some(&2)); // first valid
        assert_eq!(&t.rows[13..], &[10, 12, 13, 0, 1]);
        t.click_header(SortKey::Verdict, &l);
        assert_eq!(t.rows.first(), Some(&1));
        t.click_header(SortKey::Errors, &l);
        assert_eq!(t.rows.first(), Some(&10));
    }
}
