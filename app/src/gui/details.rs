//! Message details in tabs: Overview, Security (tokens, derived keys, the key-derivation
//! graph, signatures with per-reference verdicts, checks, what was computed), XML (raw or
//! decrypted, pretty-printed, coloured, foldable, searchable, copyable), HTTP headers, Hex.

use super::facts::{fmt_abs, fmt_rel, Loaded};
use super::graph::{self, DeriveGraph};
use super::labels::{endpoints_of, short_session, Verdict};
use super::messages::{decryption_word, signature_word};
use super::theme;
use super::xml::{self, Tok, XmlLine};
use super::Command;
use egui::text::LayoutJob;
use egui::{Color32, FontId, RichText, TextFormat};
use std::collections::BTreeSet;
use wcfscope_core::model::{CheckStatus, MessageDetail, SignatureVerdict};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tab {
    #[default]
    Overview,
    Security,
    Xml,
    Http,
    Hex,
}

impl Tab {
    pub const ALL: [Tab; 5] = [Tab::Overview, Tab::Security, Tab::Xml, Tab::Http, Tab::Hex];
    pub fn title(self) -> &'static str {
        match self {
            Tab::Overview => "Overview",
            Tab::Security => "Security",
            Tab::Xml => "XML",
            Tab::Http => "HTTP",
            Tab::Hex => "Hex",
        }
    }
}

/// Pretty-printed XML of one message, cached until the selection or the toggle changes.
#[derive(Debug, Clone, Default)]
pub struct XmlCache {
    pub key: Option<(usize, bool)>,
    pub lines: Vec<XmlLine>,
    pub cut: bool,
    pub folded: BTreeSet<usize>,
    pub visible: Vec<usize>,
    pub source: String,
}

#[derive(Debug, Clone, Default)]
pub struct DetailsState {
    pub tab: Tab,
    /// Show the decrypted envelope (when there is one) instead of the wire bytes.
    pub decrypted: bool,
    pub query: String,
    pub xml: XmlCache,
    /// Jump to this visible-line index on the next frame (search "next").
    pub jump_to: Option<usize>,
    pub match_cursor: usize,
    pub graph: Option<(usize, DeriveGraph)>,
}

impl DetailsState {
    pub fn new() -> Self {
        DetailsState {
            decrypted: true,
            ..Default::default()
        }
    }

    /// Makes sure the XML cache holds message `msg` in the current raw/decrypted mode.
    pub fn prepare_xml(&mut self, msg: usize, d: &MessageDetail) {
        let want_dec = self.decrypted && d.decrypted_xml.is_some();
        if self.xml.key == Some((msg, want_dec)) {
            return;
        }
        let source = if want_dec {
            d.decrypted_xml.clone().unwrap_or_default()
        } else {
            String::from_utf8_lossy(&d.raw[..d.raw.len().min(xml::MAX_INPUT)]).into_owned()
        };
        let (lines, cut) = xml::pretty(&source);
        let visible = (0..lines.len()).collect();
        self.xml = XmlCache {
            key: Some((msg, want_dec)),
            lines,
            cut,
            folded: BTreeSet::new(),
            visible,
            source,
        };
    }

    /// Lines (indices into `xml.lines`) containing the query, case-insensitive.
    pub fn matches(&self) -> Vec<usize> {
        let q = self.query.to_lowercase();
        if q.is_empty() {
            return Vec::new();
        }
        self.xml
            .lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.text.to_lowercase().contains(&q))
            .map(|(i, _)| i)
            .collect()
    }

    pub fn toggle_fold(&mut self, line: usize) {
        if !self.xml.folded.remove(&line) {
            self.xml.folded.insert(line);
        }
        self.xml.visible = xml::visible_lines(&self.xml.lines, &self.xml.folded);
    }

    /// The pretty text as shown (all lines, indented), for "Copy".
    pub fn pretty_text(&self) -> String {
        let mut s = String::new();
        for l in &self.xml.lines {
            s.push_str(&"  ".repeat(l.depth));
            s.push_str(&l.text);
            s.push('\n');
        }
        s
    }
}

pub fn show(
    ui: &mut egui::Ui,
    st: &mut DetailsState,
    l: &Loaded,
    msg: usize,
    dark: bool,
) -> Vec<Command> {
    let mut cmds = Vec::new();
    let Some(m) = l.analysis.report.messages.get(msg) else {
        return cmds;
    };
    let empty = MessageDetail::default();
    let d = l.analysis.details.get(msg).unwrap_or(&empty);
    let f = &l.facts[msg];
    ui.horizontal(|ui| {
        ui.label(
            RichText::new(format!("#{msg} {}", f.name))
                .strong()
                .size(14.0),
        );
        ui.colored_label(theme::verdict_color(f.verdict, dark), f.verdict.word());
        if !m.errors.is_empty() {
            ui.colored_label(
                theme::verdict_color(Verdict::Failed, dark),
                format!("{} error(s)", m.errors.len()),
            );
        }
    });
    ui.horizontal(|ui| {
        for t in Tab::ALL {
            ui.selectable_value(&mut st.tab, t, t.title());
        }
    });
    ui.separator();
    match st.tab {
        Tab::Overview => overview(ui, l, msg, dark, &mut cmds),
        Tab::Security => security(ui, st, l, msg, d, dark),
        Tab::Xml => xml_tab(ui, st, msg, d, dark),
        Tab::Http => http(ui, d),
        Tab::Hex => hex(ui, &d.raw),
    }
    cmds
}

fn kv(ui: &mut egui::Ui, k: &str, v: impl Into<String>) {
    ui.label(RichText::new(k).weak());
    let v: String = v.into();
    ui.add(egui::Label::new(RichText::new(v).monospace()).wrap());
    ui.end_row();
}

fn overview(ui: &mut egui::Ui, l: &Loaded, msg: usize, dark: bool, cmds: &mut Vec<Command>) {
    let m = &l.analysis.report.messages[msg];
    let f = &l.facts[msg];
    let (client, service) = endpoints_of(m, &l.analysis.report.streams);
    egui::ScrollArea::vertical()
        .id_salt("overview")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            errors_list(ui, &m.errors, dark);
            egui::Grid::new("overview_grid")
                .num_columns(2)
                .striped(true)
                .spacing([12.0, 3.0])
                .show(ui, |ui| {
                    kv(
                        ui,
                        "Action",
                        m.action.clone().unwrap_or_else(|| "(none)".into()),
                    );
                    kv(
                        ui,
                        "Kind",
                        format!(
                            "{:?} · {} · phase {}",
                            m.kind,
                            format!("{:?}", m.direction).to_lowercase(),
                            f.phase.word()
                        ),
                    );
                    kv(
                        ui,
                        "Time",
                        format!(
                            "{} UTC ({} from first message)",
                            fmt_abs(m.ts.map(|t| t.0)),
                            fmt_rel(f.rel_ns)
                        ),
                    );
                    kv(
                        ui,
                        "From, to",
                        match m.direction {
                            wcfscope_core::model::MessageDirection::Request => {
                                format!("{client} -> {service}")
                            }
                            wcfscope_core::model::MessageDirection::Response => {
                                format!("{service} -> {client}")
                            }
                        },
                    );
                    kv(
                        ui,
                        "TCP stream",
                        m.stream
                            .map(|s| s.to_string())
                            .unwrap_or_else(|| "—".into()),
                    );
                    kv(
                        ui,
                        "MessageID",
                        m.message_id.clone().unwrap_or_else(|| "—".into()),
                    );
                    kv(
                        ui,
                        "RelatesTo",
                        m.relates_to.clone().unwrap_or_else(|| "—".into()),
                    );
                    kv(ui, "To", m.to.clone().unwrap_or_else(|| "—".into()));
                    if let Some(h) = &m.http {
                        let line = match (&h.method, &h.path, h.status) {
                            (Some(me), Some(p), _) => format!("{me} {p}"),
                            (_, _, Some(s)) => format!("status {s}"),
                            _ => "—".into(),
                        };
                        kv(
                            ui,
                            "HTTP",
                            format!("{line} · {}", h.content_type.clone().unwrap_or_default()),
                        );
                    }
                    kv(
                        ui,
                        "SOAP",
                        m.soap_version
                            .map(|v| format!("{v:?}"))
                            .unwrap_or_else(|| "—".into()),
                    );
                    kv(
                        ui,
                        "Protection",
                        format!(
                            "{} · signature {}",
                            decryption_word(m.decryption),
                            signature_word(m.signature)
                        ),
                    );
                    ui.label(RichText::new("Session").weak());
                    ui.horizontal(|ui| match (f.session, &m.session) {
                        (Some(s), Some(id)) => {
                            // Short id (the full one on hover) so the row never widens the panel.
                            ui.colored_label(theme::session_color(s, dark), session_label(s, id))
                                .on_hover_text(id);
                            if ui.small_button("Step through the handshake").clicked() {
                                cmds.push(Command::StartWalkthrough(s));
                            }
                        }
                        (None, Some(id)) => {
                            ui.monospace(id);
                        }
                        _ => {
                            ui.weak("none");
                        }
                    });
                    ui.end_row();
                });
        });
}

fn errors_list(ui: &mut egui::Ui, errors: &[String], dark: bool) {
    if errors.is_empty() {
        return;
    }
    egui::Frame::group(ui.style())
        .fill(theme::verdict_color(Verdict::Failed, dark).gamma_multiply(0.12))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.colored_label(
                theme::verdict_color(Verdict::Failed, dark),
                RichText::new("Errors").strong(),
            );
            for e in errors {
                ui.label(format!("• {e}"));
            }
        });
}

fn security(
    ui: &mut egui::Ui,
    st: &mut DetailsState,
    l: &Loaded,
    msg: usize,
    d: &MessageDetail,
    dark: bool,
) {
    let m = &l.analysis.report.messages[msg];
    if st.graph.as_ref().map(|g| g.0) != Some(msg) {
        st.graph = Some((msg, DeriveGraph::build(&d.steps)));
    }
    egui::ScrollArea::both()
        .id_salt("security")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            errors_list(ui, &m.errors, dark);
            let sec = &m.security;
            section(ui, "Tokens (header order)");
            if sec.tokens.is_empty() {
                ui.weak("none");
            }
            for t in &sec.tokens {
                ui.monospace(format!(
                    "{:<14} {}  {}",
                    t.token_type,
                    t.id.as_deref().map(|i| format!("#{i}")).unwrap_or_default(),
                    t.reference.as_deref().unwrap_or("")
                ));
            }
            section(ui, "Derived keys");
            if sec.derived_keys.is_empty() {
                ui.weak("none");
            } else {
                egui::Grid::new("dkt")
                    .striped(true)
                    .spacing([10.0, 2.0])
                    .show(ui, |ui| {
                        for h in ["Id", "From", "Usage", "Label", "Nonce", "Offset", "Length"] {
                            ui.strong(h);
                        }
                        ui.end_row();
                        for k in &sec.derived_keys {
                            let o = |s: &Option<String>| s.clone().unwrap_or_else(|| "—".into());
                            ui.monospace(o(&k.id));
                            ui.monospace(o(&k.base));
                            ui.label(o(&k.usage));
                            ui.monospace(o(&k.label));
                            ui.monospace(o(&k.nonce));
                            ui.monospace(
                                k.offset
                                    .map(|v| v.to_string())
                                    .unwrap_or_else(|| "—".into()),
                            );
                            ui.monospace(
                                k.length
                                    .map(|v| v.to_string())
                                    .unwrap_or_else(|| "—".into()),
                            );
                            ui.end_row();
                        }
                    });
            }
            section(ui, "Key derivation");
            match &st.graph {
                Some((_, g)) if !g.is_empty() => graph::show(ui, g),
                _ => {
                    ui.weak("no key derivation recorded for this message");
                }
            }
            section(ui, "Signatures");
            if sec.signatures.is_empty() {
                ui.weak("unsigned");
            }
            for s in &sec.signatures {
                let v = match s.verdict {
                    SignatureVerdict::Valid => Verdict::Valid,
                    SignatureVerdict::Invalid | SignatureVerdict::Error => Verdict::Failed,
                    SignatureVerdict::NoKey => Verdict::NoKey,
                };
                ui.horizontal(|ui| {
                    ui.colored_label(
                        theme::verdict_color(v, dark),
                        RichText::new(format!("{:?}", s.verdict).to_lowercase()).strong(),
                    );
                    ui.label(format!(
                        "{:?} signature {}",
                        s.role,
                        s.id.as_deref().map(|i| format!("#{i}")).unwrap_or_default()
                    ));
                    ui.weak(
                        s.algorithm
                            .as_deref()
                            .map(|a| a.rsplit('#').next().unwrap_or(a))
                            .unwrap_or(""),
                    );
                });
                for r in &s.references {
                    let (mark, vv) = match r.digest_valid {
                        Some(true) => ("✔", Verdict::Valid),
                        Some(false) => ("✖", Verdict::Failed),
                        None => ("?", Verdict::NoKey),
                    };
                    ui.horizontal(|ui| {
                        ui.add_space(16.0);
                        ui.colored_label(theme::verdict_color(vv, dark), mark);
                        ui.monospace(format!(
                            "{} -> {}",
                            r.uri,
                            r.element.as_deref().unwrap_or("(unresolved)")
                        ));
                    });
                }
            }
            if !sec.checks.is_empty() {
                section(ui, "Checks");
                for c in &sec.checks {
                    let v = match c.status {
                        CheckStatus::Ok => Verdict::Valid,
                        CheckStatus::Warning => Verdict::NoKey,
                        CheckStatus::Error => Verdict::Failed,
                    };
                    ui.horizontal(|ui| {
                        ui.colored_label(
                            theme::verdict_color(v, dark),
                            format!("{:?}", c.status).to_lowercase(),
                        );
                        ui.label(format!("{}: {}", c.name, c.detail));
                    });
                }
            }
            section(ui, "What wcfscope computed");
            if d.steps.is_empty() {
                ui.weak("nothing recorded");
            }
            for s in &d.steps {
                ui.label(format!("• {}", s.title));
                for line in &s.details {
                    ui.add(
                        egui::Label::new(RichText::new(format!("    {line}")).monospace().small())
                            .wrap(),
                    );
                }
            }
        });
}

fn section(ui: &mut egui::Ui, title: &str) {
    ui.add_space(4.0);
    ui.label(RichText::new(title).strong());
}

fn tok_color(t: Tok, dark: bool) -> Color32 {
    match (t, dark) {
        (Tok::Punct, true) => Color32::from_gray(0x80),
        (Tok::Punct, false) => Color32::from_gray(0x80),
        (Tok::Name, true) => Color32::from_rgb(0x6c, 0xb6, 0xff),
        (Tok::Name, false) => Color32::from_rgb(0x00, 0x50, 0xa8),
        (Tok::AttrName, true) => Color32::from_rgb(0xc5, 0x9b, 0xf0),
        (Tok::AttrName, false) => Color32::from_rgb(0x80, 0x30, 0xa0),
        (Tok::AttrValue, true) => Color32::from_rgb(0xe5, 0xb5, 0x67),
        (Tok::AttrValue, false) => Color32::from_rgb(0xa0, 0x50, 0x00),
        (Tok::Text, true) => Color32::from_gray(0xe0),
        (Tok::Text, false) => Color32::from_gray(0x20),
        (Tok::Comment, _) => Color32::from_rgb(0x6a, 0x99, 0x55),
    }
}

fn xml_tab(ui: &mut egui::Ui, st: &mut DetailsState, msg: usize, d: &MessageDetail, dark: bool) {
    st.prepare_xml(msg, d);
    let has_dec = d.decrypted_xml.is_some();
    let matches = st.matches();
    ui.horizontal(|ui| {
        ui.add_enabled_ui(has_dec, |ui| {
            let before = st.decrypted;
            ui.selectable_value(&mut st.decrypted, false, "Raw");
            ui.selectable_value(&mut st.decrypted, true, "Decrypted");
            if before != st.decrypted {
                st.xml.key = None;
            }
        });
        if !has_dec {
            ui.weak("(nothing decrypted)");
        }
        ui.separator();
        let r = ui.add(
            egui::TextEdit::singleline(&mut st.query)
                .hint_text("search")
                .desired_width(140.0),
        );
        if r.changed() {
            st.match_cursor = 0;
            if let Some(&first) = st.matches().first() {
                st.jump_to = Some(first);
            }
        }
        if !st.query.is_empty() {
            ui.weak(format!("{} lines", matches.len()));
            if ui.small_button("⏷").on_hover_text("Next match").clicked() && !matches.is_empty() {
                st.match_cursor = (st.match_cursor + 1) % matches.len();
                st.jump_to = Some(matches[st.match_cursor]);
            }
        }
        ui.separator();
        if ui
            .small_button("Copy")
            .on_hover_text("Copy the pretty-printed XML")
            .clicked()
        {
            ui.ctx().copy_text(st.pretty_text());
        }
        if ui.small_button("Copy as received").clicked() {
            ui.ctx().copy_text(st.xml.source.clone());
        }
        if ui.small_button("Expand all").clicked() {
            st.xml.folded.clear();
            st.xml.visible = (0..st.xml.lines.len()).collect();
        }
    });
    if st.xml.cut {
        ui.weak(format!(
            "Only the first {} MiB are shown.",
            xml::MAX_INPUT >> 20
        ));
    }
    // A jump unfolds everything so the target is visible.
    if st.jump_to.is_some() && !st.xml.folded.is_empty() {
        st.xml.folded.clear();
        st.xml.visible = (0..st.xml.lines.len()).collect();
    }
    let row_h = ui.text_style_height(&egui::TextStyle::Monospace) + 1.0;
    let mut area = egui::ScrollArea::both()
        .id_salt("xml")
        .auto_shrink([false, false]);
    if let Some(t) = st.jump_to.take() {
        area = area.vertical_scroll_offset((t as f32 * row_h - 60.0).max(0.0));
    }
    let q = st.query.to_lowercase();
    let mut toggle = None;
    let n = st.xml.visible.len();
    area.show_rows(ui, row_h, n, |ui, range| {
        for vi in range {
            let li = st.xml.visible[vi];
            let line = &st.xml.lines[li];
            ui.horizontal(|ui| {
                ui.spacing_mut().item_spacing.x = 0.0;
                if line.fold_end.is_some() {
                    let icon = if st.xml.folded.contains(&li) {
                        "⏵"
                    } else {
                        "⏷"
                    };
                    if ui
                        .add(
                            egui::Button::new(RichText::new(icon).small())
                                .frame(false)
                                .min_size(egui::vec2(14.0, row_h - 1.0)),
                        )
                        .clicked()
                    {
                        toggle = Some(li);
                    }
                } else {
                    ui.add_space(14.0);
                }
                ui.add_space(line.depth.min(40) as f32 * 14.0);
                let mut job = LayoutJob::default();
                let font = FontId::monospace(12.0);
                let hit = !q.is_empty() && line.text.to_lowercase().contains(&q);
                for (range, tok) in xml::highlight(&line.text) {
                    let mut fmt = TextFormat::simple(font.clone(), tok_color(tok, dark));
                    if hit {
                        fmt.background =
                            theme::verdict_color(Verdict::NoKey, dark).gamma_multiply(0.3);
                    }
                    job.append(&line.text[range], 0.0, fmt);
                }
                if st.xml.folded.contains(&li) {
                    job.append(
                        "  …",
                        0.0,
                        TextFormat::simple(font, tok_color(Tok::Punct, dark)),
                    );
                }
                ui.add(egui::Label::new(job).extend());
            });
        }
    });
    if let Some(li) = toggle {
        st.toggle_fold(li);
    }
}

fn http(ui: &mut egui::Ui, d: &MessageDetail) {
    egui::ScrollArea::vertical()
        .id_salt("http")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            match &d.http_start_line {
                Some(s) => {
                    ui.monospace(RichText::new(s).strong());
                }
                None => {
                    ui.weak("no HTTP start line (not an HTTP message)");
                }
            }
            egui::Grid::new("headers")
                .striped(true)
                .num_columns(2)
                .spacing([12.0, 2.0])
                .show(ui, |ui| {
                    for (k, v) in &d.http_headers {
                        ui.monospace(RichText::new(format!("{k}:")).strong());
                        ui.add(egui::Label::new(RichText::new(v).monospace()).wrap());
                        ui.end_row();
                    }
                });
            ui.weak(format!("Body: {} bytes", d.raw.len()));
        });
}

/// One hex-dump line: offset, 16 bytes in hex, printable ASCII.
pub fn hex_line(bytes: &[u8], offset: usize) -> String {
    let chunk = &bytes[offset.min(bytes.len())..(offset + 16).min(bytes.len())];
    let mut hex = String::with_capacity(50);
    for (i, b) in chunk.iter().enumerate() {
        if i == 8 {
            hex.push(' ');
        }
        hex.push_str(&format!("{b:02x} "));
    }
    let ascii: String = chunk
        .iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            }
        })
        .collect();
    format!("{offset:08x}  {hex:<49} {ascii}")
}

fn hex(ui: &mut egui::Ui, raw: &[u8]) {
    ui.weak(format!(
        "{} bytes as received (de-chunked, decompressed)",
        raw.len()
    ));
    let row_h = ui.text_style_height(&egui::TextStyle::Monospace);
    let rows = raw.len().div_ceil(16);
    egui::ScrollArea::both()
        .id_salt("hex")
        .auto_shrink([false, false])
        .show_rows(ui, row_h, rows, |ui, range| {
            for r in range {
                ui.monospace(hex_line(raw, r * 16));
            }
        });
}

/// The walkthrough / details header line for a session, shared with the session list.
pub fn session_label(i: usize, id: &str) -> String {
    format!("S{} {}", i + 1, short_session(id))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::gui::sample;

    #[test]
    fn hex_lines() {
        let b: Vec<u8> = (0u8..20).chain(b"AB".iter().copied()).collect();
        assert_eq!(
            hex_line(&b, 0),
            "00000000  00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f  ................"
        );
        // The ASCII column lines up with the full rows' (hex padded to 49 columns).
        assert_eq!(
            hex_line(&b, 16),
            "00000010  10 11 12 13 41 42                                 ....AB"
        );
    }

    #[test]
    fn xml_cache_toggles_raw_and_decrypted() {
        let a = sample::analysis();
        let mut st = DetailsState::new();
        st.prepare_xml(4, &a.details[4]);
        assert!(st.xml.source.contains("<n1>100</n1>"));
        st.decrypted = false;
        st.prepare_xml(4, &a.details[4]);
        assert!(st.xml.source.contains("CipherValue"));
        st.query = "cipherVALUE".into();
        assert_eq!(st.matches().len(), 1);
        let before = st.xml.visible.len();
        st.toggle_fold(0);
        assert_eq!(st.xml.visible, vec![0]);
        st.toggle_fold(0);
        assert_eq!(st.xml.visible.len(), before);
        assert!(st.pretty_text().contains("\n  <s:Header>\n"));
    }
}
