//! The sequence diagram: one lane per endpoint, one row per message (time runs downward),
//! arrows labelled and coloured by verdict, phase bars per session, a time ruler.
//!
//! [`TimelineModel`] is built once per analysis and holds everything the view needs; the
//! view draws only the rows inside the scroll viewport, so 100 000 messages cost the same
//! per frame as 30.

use super::facts::{fmt_abs, fmt_rel, Loaded};
use super::labels::{endpoints_of, Phase, Verdict};
use super::theme;
use super::Command;
use egui::{pos2, vec2, Align2, FontId, Key, Rect, Sense, Stroke};
use wcfscope_core::model::MessageDirection;

/// An endpoint column.
#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    pub name: String,
    pub service: bool,
}

/// One arrow.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub msg: usize,
    pub from: usize,
    pub to: usize,
}

/// A session's phase drawn as a bar spanning rows `first..=last` in gutter column `slot`.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseSpan {
    pub session: usize,
    pub phase: Phase,
    pub first: usize,
    pub last: usize,
    pub slot: usize,
}

pub const MAX_SLOTS: usize = 4;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimelineModel {
    pub lanes: Vec<Lane>,
    /// In time order.
    pub rows: Vec<Row>,
    pub spans: Vec<PhaseSpan>,
    /// Message index → row.
    pub row_of_msg: Vec<usize>,
}

impl TimelineModel {
    pub fn build(l: &Loaded) -> TimelineModel {
        let report = &l.analysis.report;
        let n = report.messages.len();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| (report.messages[i].ts.map(|t| t.0), i));

        // Lanes: clients left in order of first appearance, services right.
        let mut clients: Vec<String> = Vec::new();
        let mut services: Vec<String> = Vec::new();
        let mut ends = Vec::with_capacity(n);
        for &i in &order {
            let (c, s) = endpoints_of(&report.messages[i], &report.streams);
            if !clients.contains(&c) {
                clients.push(c.clone());
            }
            if !services.contains(&s) {
                services.push(s.clone());
            }
            ends.push((c, s));
        }
        let lanes: Vec<Lane> = clients
            .iter()
            .map(|c| Lane {
                name: c.clone(),
                service: false,
            })
            .chain(services.iter().map(|s| Lane {
                name: s.clone(),
                service: true,
            }))
            .collect();
        let lane_of = |name: &str| lanes.iter().position(|l| l.name == name).unwrap_or(0);

        let mut row_of_msg = vec![0; n];
        let mut rows = Vec::with_capacity(n);
        for (r, (&i, (c, s))) in order.iter().zip(ends.iter()).enumerate() {
            let (c, s) = (lane_of(c), lane_of(s));
            let (from, to) = match report.messages[i].direction {
                MessageDirection::Request => (c, s),
                MessageDirection::Response => (s, c),
            };
            row_of_msg[i] = r;
            rows.push(Row { msg: i, from, to });
        }

        // Phase spans: per session and phase, the first and last row holding one.
        let mut spans: Vec<PhaseSpan> = Vec::new();
        let mut open: std::collections::HashMap<(usize, u8), usize> = Default::default();
        for (r, row) in rows.iter().enumerate() {
            let f = &l.facts[row.msg];
            let Some(s) = f.session else { continue };
            let key = (s, f.phase as u8);
            match open.get(&key) {
                Some(&k) => spans[k].last = r,
                None => {
                    open.insert(key, spans.len());
                    spans.push(PhaseSpan {
                        session: s,
                        phase: f.phase,
                        first: r,
                        last: r,
                        slot: 0,
                    });
                }
            }
        }
        // Slots: a session keeps one gutter column; sessions that overlap in time get
        // different ones (greedy interval colouring, wrapping at MAX_SLOTS).
        let mut session_range: std::collections::BTreeMap<usize, (usize, usize)> =
            Default::default();
        for sp in &spans {
            let e = session_range
                .entry(sp.session)
                .or_insert((sp.first, sp.last));
            e.0 = e.0.min(sp.first);
            e.1 = e.1.max(sp.last);
        }
        let mut by_start: Vec<(usize, (usize, usize))> = session_range.into_iter().collect();
        by_start.sort_by_key(|(_, (a, _))| *a);
        let mut slot_end: [Option<usize>; MAX_SLOTS] = [None; MAX_SLOTS];
        let mut slot_of: std::collections::HashMap<usize, usize> = Default::default();
        for (k, (s, (a, b))) in by_start.iter().enumerate() {
            let slot = (0..MAX_SLOTS)
                .find(|&j| slot_end[j].is_none_or(|e| e < *a))
                .unwrap_or(k % MAX_SLOTS);
            slot_end[slot] = Some(*b);
            slot_of.insert(*s, slot);
        }
        for sp in &mut spans {
            sp.slot = slot_of.get(&sp.session).copied().unwrap_or(0);
        }
        TimelineModel {
            lanes,
            rows,
            spans,
            row_of_msg,
        }
    }

    /// The message before/after `msg` in time order (arrow keys).
    pub fn step(&self, msg: Option<usize>, delta: isize) -> Option<usize> {
        if self.rows.is_empty() {
            return None;
        }
        let row = match msg.and_then(|m| self.row_of_msg.get(m)) {
            Some(&r) => (r as isize + delta).clamp(0, self.rows.len() as isize - 1) as usize,
            None => 0,
        };
        Some(self.rows[row].msg)
    }

    /// Rows `first..last` intersecting a viewport `[y0, y1)` of rows `row_h` tall.
    pub fn visible_rows(&self, y0: f32, y1: f32, row_h: f32) -> std::ops::Range<usize> {
        let n = self.rows.len();
        let first = ((y0 / row_h).floor().max(0.0) as usize).min(n);
        let last = (((y1 / row_h).ceil().max(0.0) as usize) + 1).min(n);
        first..last.max(first)
    }

    /// A text rendering for tests: one line per row.
    pub fn to_text(&self, l: &Loaded) -> String {
        let mut out = String::new();
        out.push_str(
            &self
                .lanes
                .iter()
                .map(|l| l.name.as_str())
                .collect::<Vec<_>>()
                .join(" | "),
        );
        out.push('\n');
        for row in &self.rows {
            let f = &l.facts[row.msg];
            let arrow = if row.from < row.to { "->" } else { "<-" };
            out.push_str(&format!(
                "{:>3} {} {}{}{} {} [{}] {}\n",
                row.msg,
                fmt_rel(f.rel_ns),
                row.from.min(row.to),
                arrow,
                row.from.max(row.to),
                f.name,
                f.verdict.word(),
                f.session
                    .map(|s| format!("S{} {}", s + 1, f.phase.word()))
                    .unwrap_or_default(),
            ));
        }
        out
    }
}

/// Transient view state: zoom and pending scroll.
#[derive(Debug, Clone)]
pub struct TimelineState {
    pub row_h: f32,
    /// Scroll the selection into view on the next frame.
    pub scroll_to_selection: bool,
}

impl Default for TimelineState {
    fn default() -> Self {
        TimelineState {
            row_h: BASE_ROW_H,
            scroll_to_selection: false,
        }
    }
}

const BASE_ROW_H: f32 = 24.0;
const RULER_W: f32 = 168.0;
/// Room for the phase names right of the phase bars.
const PHASE_LABEL_W: f32 = 62.0;
const SLOT_W: f32 = 9.0;

/// What the timeline needs from the app.
pub struct TimelineCtx<'a> {
    pub loaded: &'a Loaded,
    pub model: &'a TimelineModel,
    pub selected: Option<usize>,
    /// The walkthrough's current message, drawn with a halo.
    pub highlight: Option<usize>,
    pub dark: bool,
}

pub fn show(ui: &mut egui::Ui, st: &mut TimelineState, c: &TimelineCtx<'_>) -> Vec<Command> {
    let mut cmds = Vec::new();
    toolbar(ui, st, c.dark);

    // Arrow keys move the selection when no text field has the keyboard.
    if !ui.ctx().egui_wants_keyboard_input() {
        let (down, up) = ui.input(|i| (i.key_pressed(Key::ArrowDown), i.key_pressed(Key::ArrowUp)));
        let delta = down as isize - up as isize;
        if delta != 0 {
            if let Some(m) = c.model.step(c.selected, delta) {
                cmds.push(Command::Select(m));
            }
        }
    }
    // Ctrl + wheel zooms.
    if ui.rect_contains_pointer(ui.available_rect_before_wrap()) {
        let zoom = ui.input(|i| i.zoom_delta());
        if zoom != 1.0 {
            st.row_h = (st.row_h * zoom).clamp(12.0, 96.0);
        }
    }

    let full = ui.available_rect_before_wrap();
    let lanes_x0 = full.left() + RULER_W + SLOT_W * MAX_SLOTS as f32 + PHASE_LABEL_W;
    let lanes_x1 = full.right() - 40.0;
    let n_lanes = c.model.lanes.len().max(1);
    // Lanes spread over the whole width, the outer ones inset by half a label.
    let lane_x = move |i: usize| {
        let inset = 70.0;
        let w = (lanes_x1 - lanes_x0 - 2.0 * inset).max(40.0);
        if n_lanes == 1 {
            return lanes_x0 + inset + w * 0.5;
        }
        lanes_x0 + inset + w * i as f32 / (n_lanes - 1) as f32
    };
    let spacing = if n_lanes > 1 {
        lane_x(1) - lane_x(0)
    } else {
        f32::INFINITY
    };

    // Lane headers (fixed above the scrolling rows).
    let (hdr, _) = ui.allocate_exact_size(vec2(full.width(), 20.0), Sense::hover());
    let painter = ui.painter_at(hdr);
    let strong = ui.visuals().strong_text_color();
    let weak = ui.visuals().weak_text_color();
    painter.text(
        pos2(hdr.left() + 4.0, hdr.center().y),
        Align2::LEFT_CENTER,
        "time (abs · rel)",
        FontId::proportional(11.0),
        weak,
    );
    for (i, lane) in c.model.lanes.iter().enumerate() {
        // Elide names wider than the gap between lanes (about 6.5 px per character).
        let max_chars = ((spacing / 6.5) as usize).max(6);
        let name: String = if lane.name.chars().count() > max_chars {
            lane.name
                .chars()
                .take(max_chars - 1)
                .chain(std::iter::once('…'))
                .collect()
        } else {
            lane.name.clone()
        };
        painter.text(
            pos2(lane_x(i), hdr.center().y),
            Align2::CENTER_CENTER,
            name,
            FontId::proportional(12.0),
            strong,
        );
    }

    let row_h = st.row_h;
    let total_h = row_h * c.model.rows.len() as f32;
    let mut area = egui::ScrollArea::vertical()
        .id_salt("timeline")
        .auto_shrink([false, false]);
    if st.scroll_to_selection {
        if let Some(&r) = c.selected.and_then(|m| c.model.row_of_msg.get(m)) {
            // Centre the row unless it is already visible (checked against last frame's offset).
            let y = r as f32 * row_h;
            let state = egui::scroll_area::State::load(ui.ctx(), ui.make_persistent_id("timeline"));
            let view_h = ui.available_height();
            let off = state.map(|s| s.clamped_offset().y).unwrap_or(0.0);
            if y < off || y + row_h > off + view_h {
                area = area.vertical_scroll_offset((y - view_h / 2.0).max(0.0));
            }
        }
        st.scroll_to_selection = false;
    }
    area.show_viewport(ui, |ui, viewport| {
        let (rect, resp) =
            ui.allocate_exact_size(vec2(ui.available_width(), total_h.max(1.0)), Sense::click());
        let painter = ui.painter();
        let visible = c.model.visible_rows(viewport.min.y, viewport.max.y, row_h);
        let y_of = |r: usize| rect.top() + r as f32 * row_h;
        let clip_top = rect.top() + viewport.min.y;
        let clip_bot = rect.top() + viewport.max.y;

        // Lifelines.
        let line = Stroke::new(1.0, ui.visuals().widgets.noninteractive.bg_stroke.color);
        for i in 0..c.model.lanes.len() {
            painter.vline(lane_x(i), clip_top..=clip_bot, line);
        }

        // Phase bars for the spans that reach into the viewport.
        for sp in &c.model.spans {
            if sp.last < visible.start || sp.first >= visible.end {
                continue;
            }
            let x = rect.left() + RULER_W + 4.0 + sp.slot as f32 * SLOT_W;
            let y0 = y_of(sp.first).max(clip_top) + 3.0;
            let y1 = (y_of(sp.last) + row_h).min(clip_bot) - 3.0;
            let r = Rect::from_min_max(pos2(x, y0), pos2(x + SLOT_W - 3.0, y1.max(y0 + 2.0)));
            painter.rect_filled(r, 2.0, theme::phase_color(sp.phase, c.dark));
            painter.rect_stroke(
                r,
                2.0,
                Stroke::new(1.0, theme::session_color(sp.session, c.dark)),
                egui::StrokeKind::Outside,
            );
        }

        let small = FontId::monospace(10.5);
        let label_font = FontId::proportional(12.0);
        for r in visible.clone() {
            let row = &c.model.rows[r];
            let f = &c.loaded.facts[row.msg];
            let m = &c.loaded.analysis.report.messages[row.msg];
            let y = y_of(r);
            let row_rect = Rect::from_min_size(pos2(rect.left(), y), vec2(rect.width(), row_h));
            if c.selected == Some(row.msg) {
                painter.rect_filled(
                    row_rect,
                    0.0,
                    ui.visuals().selection.bg_fill.gamma_multiply(0.45),
                );
            } else if r % 2 == 1 {
                painter.rect_filled(row_rect, 0.0, ui.visuals().faint_bg_color);
            }
            // Ruler: absolute and relative time.
            let mid = y + row_h * 0.5;
            painter.text(
                pos2(rect.left() + 4.0, mid),
                Align2::LEFT_CENTER,
                fmt_abs(m.ts.map(|t| t.0)),
                small.clone(),
                weak,
            );
            painter.text(
                pos2(rect.left() + RULER_W - 2.0, mid),
                Align2::RIGHT_CENTER,
                fmt_rel(f.rel_ns),
                small.clone(),
                weak,
            );

            let color = theme::verdict_color(f.verdict, c.dark);
            let (x0, x1) = (lane_x(row.from), lane_x(row.to));
            let ay = y + row_h * 0.62;
            let width = if c.highlight == Some(row.msg) || c.selected == Some(row.msg) {
                2.5
            } else {
                1.5
            };
            if c.highlight == Some(row.msg) {
                painter.line_segment(
                    [pos2(x0, ay), pos2(x1, ay)],
                    Stroke::new(7.0, color.gamma_multiply(0.35)),
                );
            }
            painter.line_segment([pos2(x0, ay), pos2(x1, ay)], Stroke::new(width, color));
            let dir = if x1 >= x0 { 1.0 } else { -1.0 };
            painter.add(egui::Shape::convex_polygon(
                vec![
                    pos2(x1, ay),
                    pos2(x1 - dir * 8.0, ay - 4.0),
                    pos2(x1 - dir * 8.0, ay + 4.0),
                ],
                color,
                Stroke::NONE,
            ));
            let session_tag = f
                .session
                .map(|s| format!("S{} ", s + 1))
                .unwrap_or_default();
            let label = format!("{session_tag}{}", f.name);
            let lx = (x0 + x1) * 0.5;
            let galley_color = if f.verdict == Verdict::Clear {
                weak
            } else {
                color
            };
            painter.text(
                pos2(lx, ay - 2.0),
                Align2::CENTER_BOTTOM,
                label,
                label_font.clone(),
                galley_color,
            );
            if let Some(s) = f.session {
                let sc = theme::session_color(s, c.dark);
                painter.circle_filled(pos2(x0 + dir * 5.0, ay), 3.0, sc);
            }
        }
        // Phase names at the top of each visible span.
        for sp in &c.model.spans {
            if sp.first < visible.start || sp.first >= visible.end {
                continue;
            }
            let x = rect.left() + RULER_W + 4.0 + MAX_SLOTS as f32 * SLOT_W + 2.0;
            painter.text(
                pos2(x, y_of(sp.first) + 2.0),
                Align2::LEFT_TOP,
                format!("S{} {}", sp.session + 1, sp.phase.word()),
                FontId::proportional(9.5),
                theme::phase_color(sp.phase, c.dark),
            );
        }

        if resp.clicked() {
            if let Some(p) = resp.interact_pointer_pos() {
                let r = ((p.y - rect.top()) / row_h).floor();
                if r >= 0.0 && (r as usize) < c.model.rows.len() {
                    cmds.push(Command::Select(c.model.rows[r as usize].msg));
                }
            }
        }
    });
    cmds
}

fn toolbar(ui: &mut egui::Ui, st: &mut TimelineState, dark: bool) {
    ui.horizontal(|ui| {
        ui.strong("Timeline");
        if ui
            .small_button("−")
            .on_hover_text("Zoom out (Ctrl+wheel)")
            .clicked()
        {
            st.row_h = (st.row_h / 1.25).max(12.0);
        }
        if ui
            .small_button("+")
            .on_hover_text("Zoom in (Ctrl+wheel)")
            .clicked()
        {
            st.row_h = (st.row_h * 1.25).min(96.0);
        }
        if ui.small_button("1:1").clicked() {
            st.row_h = BASE_ROW_H;
        }
        ui.separator();
        for v in Verdict::ALL {
            let (r, _) = ui.allocate_exact_size(vec2(18.0, 10.0), Sense::hover());
            ui.painter().line_segment(
                [r.left_center(), r.right_center()],
                Stroke::new(2.0, theme::verdict_color(v, dark)),
            );
            ui.label(
                egui::RichText::new(match v {
                    Verdict::Valid => "decrypted & valid",
                    Verdict::Failed => "failed",
                    Verdict::NoKey => "no key",
                    Verdict::Clear => "clear text",
                })
                .small(),
            );
        }
        ui.separator();
        for p in [Phase::Bootstrap, Phase::Session, Phase::Close] {
            let (r, _) = ui.allocate_exact_size(vec2(8.0, 10.0), Sense::hover());
            ui.painter()
                .rect_filled(r, 2.0, theme::phase_color(p, dark));
            ui.label(egui::RichText::new(p.word()).small());
        }
    });
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::gui::sample;

    #[test]
    fn sample_timeline_as_text() {
        let l = Loaded::new(sample::analysis());
        let m = TimelineModel::build(&l);
        let text = m.to_text(&l);
        let expected = "\
client 10.0.0.5 | client 10.0.0.7 | service 10.0.0.10:8000
  0 +0.0 ms 0->2 Get [clear] 
  1 +4.0 ms 0<-2 GetResponse [clear] 
  2 +120.0 ms 0->2 RST/SCT Issue [valid] S1 bootstrap
  3 +161.0 ms 0<-2 RSTR/SCT [valid] S1 bootstrap
  4 +190.0 ms 0->2 Add [valid] S1 session
  5 +197.0 ms 0<-2 AddResponse [valid] S1 session
  6 +240.0 ms 1->2 RST/SCT Issue [valid] S2 bootstrap
  7 +279.0 ms 1<-2 RSTR/SCT [valid] S2 bootstrap
  8 +300.0 ms 0->2 Subtract [valid] S1 session
  9 +306.0 ms 0<-2 SubtractResponse [valid] S1 session
 10 +350.0 ms 1->2 Multiply [failed] S2 session
 11 +358.0 ms 1<-2 MultiplyResponse [valid] S2 session
 12 +400.0 ms 1->2 Divide [no key] S3 session
 13 +409.0 ms 1<-2 DivideResponse [no key] S3 session
 14 +500.0 ms 0->2 SCT Cancel [valid] S1 close
 15 +507.0 ms 0<-2 RSTR/SCT Cancel [valid] S1 close
 16 +520.0 ms 1->2 SCT Cancel [valid] S2 close
 17 +526.0 ms 1<-2 RSTR/SCT Cancel [valid] S2 close
";
        assert_eq!(text, expected);
    }

    #[test]
    fn spans_and_slots() {
        let l = Loaded::new(sample::analysis());
        let m = TimelineModel::build(&l);
        let s1: Vec<_> = m.spans.iter().filter(|s| s.session == 0).collect();
        assert_eq!(s1.len(), 3);
        assert_eq!(
            (s1[0].phase, s1[0].first, s1[0].last),
            (Phase::Bootstrap, 2, 3)
        );
        assert_eq!(
            (s1[1].phase, s1[1].first, s1[1].last),
            (Phase::Session, 4, 9)
        );
        assert_eq!(
            (s1[2].phase, s1[2].first, s1[2].last),
            (Phase::Close, 14, 15)
        );
        // Sessions 1 and 2 overlap in time, so they get different gutter columns.
        let slot = |s| m.spans.iter().find(|sp| sp.session == s).map(|sp| sp.slot);
        assert_ne!(slot(0), slot(1));
    }

    #[test]
    fn stepping_and_visible_rows() {
        let l = Loaded::new(sample::analysis());
        let m = TimelineModel::build(&l);
        assert_eq!(m.step(None, 1), Some(0));
        assert_eq!(m.step(Some(0), -1), Some(0));
        assert_eq!(m.step(Some(4), 1), Some(5));
        assert_eq!(m.step(Some(17), 1), Some(17));
        assert_eq!(m.visible_rows(48.0, 96.0, 24.0), 2..5);
        assert_eq!(m.visible_rows(-10.0, 10_000.0, 24.0), 0..18);
    }

    #[test]
    fn large_model_is_linear_and_virtualised() {
        let l = Loaded::new(sample::large(100_000));
        let m = TimelineModel::build(&l);
        assert_eq!(m.rows.len(), 100_000);
        let vis = m.visible_rows(1_200_000.0, 1_200_600.0, 24.0);
        assert!(vis.len() <= 27, "{vis:?}");
    }
}
