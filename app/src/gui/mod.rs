//! The desktop inspector (eframe/egui) over `wcfscope_core`.
//!
//! [`WcfApp`] owns the state; each view lives in its own module, draws a view-model built
//! from the [`Analysis`](wcfscope_core::analyzer::Analysis) and returns [`Command`]s that
//! [`WcfApp::apply`] carries out after the frame, so widget code has no side effects.
//! Loading runs on a worker thread ([`loader`]); results are drained in `App::logic`.

pub mod capture;
pub mod details;
pub mod facts;
pub mod graph;
pub mod keys;
pub mod labels;
pub mod launch;
pub mod loader;
pub mod messages;
#[doc(hidden)]
pub mod sample;
pub mod sessions;
pub mod status;
pub mod theme;
pub mod timeline;
pub mod walkthrough;
pub mod xml;

use facts::Loaded;
use keys::{KeyEntry, KeyRing, PendingKey};
use loader::{AnalyzeFn, Job};
use serde::{Deserialize, Serialize};
use status::Banner;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver};
use wcfscope_core::analyzer::AnalyzeError;
use zeroize::Zeroizing;

/// What a view asks the app to do. Applied after the frame by [`WcfApp::apply`].
#[must_use]
pub enum Command {
    /// Analyse these files (one capture, or .xml messages as one conversation).
    Open(Vec<PathBuf>),
    OpenDialog,
    AddKeyDialog,
    /// Ask for the password of a key file (dialog).
    AskPassword(PathBuf),
    CancelPassword,
    AddKey {
        path: PathBuf,
        password: Option<Zeroizing<String>>,
    },
    RemoveKey(usize),
    /// Parse the typed `ID=HEX` session key and add it.
    AddSctKey,
    RemoveSctKey(usize),
    Select(usize),
    StartWalkthrough(usize),
    WalkStep(usize),
    EndWalkthrough,
    CancelLoad,
    SetDark(bool),
    DismissBanner,
    ClearRecent,
    ToggleDiagnostics,
    /// Files dropped on the window or picked in a dialog: captures open, keys ask a password.
    Files(Vec<PathBuf>),
    /// List the capture interfaces again.
    RefreshDevices,
    /// Start a live capture with the toolbar's settings.
    StartCapture,
    StopCapture,
}

/// What survives a restart (paths only, never keys or passwords).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Persisted {
    pub recent: Vec<PathBuf>,
    pub dark: bool,
}

impl Default for Persisted {
    fn default() -> Self {
        Persisted {
            recent: Vec::new(),
            dark: true,
        }
    }
}

const MAX_RECENT: usize = 10;
const STORAGE_KEY: &str = "wcfscope";

impl Persisted {
    pub fn remember(&mut self, path: &Path) {
        self.recent.retain(|p| p != path);
        self.recent.insert(0, path.to_path_buf());
        self.recent.truncate(MAX_RECENT);
    }
}

/// What to open at start.
#[derive(Default)]
pub struct Startup {
    pub files: Vec<PathBuf>,
    pub keys: Vec<String>,
    /// Shown when nothing could be opened (e.g. the demo is missing).
    pub banner: Option<Banner>,
}

/// The whole app.
pub struct WcfApp {
    pub persisted: Persisted,
    pub analyze: AnalyzeFn,
    /// New keys re-run only the security stage over the messages already read
    /// (`analyzer::rerun_security`) instead of `analyze` over the files again. On with the
    /// real analyzer; tests that substitute `analyze` leave it off.
    pub security_rerun: bool,
    /// The files the current analysis came from.
    pub files: Vec<PathBuf>,
    pub loaded: Option<Loaded>,
    pub timeline: timeline::TimelineModel,
    pub timeline_state: timeline::TimelineState,
    pub table: messages::TableModel,
    pub session_rows: Vec<sessions::SessionRow>,
    pub selected: Option<usize>,
    pub walk: Option<walkthrough::Walkthrough>,
    pub details: details::DetailsState,
    pub keys: KeyRing,
    /// What the key files hold (from the last analysis run).
    pub key_facts: Vec<keys::KeyFacts>,
    pub pending_key: Option<PendingKey>,
    pub sct_input: String,
    pub sct_error: Option<String>,
    pub job: Option<Job>,
    pub banner: Option<Banner>,
    pub show_diagnostics: bool,
    /// The live-capture toolbar and its running capture.
    pub capture: capture::CaptureState,
    /// (picked in the key dialog?, paths) from the file dialog thread.
    dialog_rx: Option<Receiver<(bool, Vec<PathBuf>)>>,
    repaint: Option<egui::Context>,
    commands: Vec<Command>,
}

impl WcfApp {
    pub fn new(persisted: Persisted, analyze: AnalyzeFn) -> WcfApp {
        WcfApp {
            persisted,
            analyze,
            security_rerun: false,
            files: Vec::new(),
            loaded: None,
            timeline: Default::default(),
            timeline_state: Default::default(),
            table: Default::default(),
            session_rows: Vec::new(),
            selected: None,
            walk: None,
            details: details::DetailsState::new(),
            keys: KeyRing::default(),
            key_facts: Vec::new(),
            pending_key: None,
            sct_input: String::new(),
            sct_error: None,
            job: None,
            banner: None,
            show_diagnostics: false,
            capture: capture::CaptureState::default(),
            dialog_rx: None,
            repaint: None,
            commands: Vec::new(),
        }
    }

    /// Applies the start-up request: keys, banner, then the files.
    pub fn start(&mut self, s: Startup) {
        for k in &s.keys {
            self.keys.files.push(KeyEntry::from_cli(k));
        }
        self.banner = s.banner;
        if !s.files.is_empty() {
            self.apply(Command::Open(s.files));
        }
    }

    /// Lets the worker wake the UI when it has news.
    pub fn set_repaint_context(&mut self, ctx: egui::Context) {
        self.repaint = Some(ctx);
    }

    pub fn is_loading(&self) -> bool {
        self.job.is_some()
    }

    fn start_job(&mut self, files: Vec<PathBuf>, rerun: bool) {
        if let Some(j) = &self.job {
            j.cancel();
        }
        self.job = Some(Job::start(
            files,
            self.keys.options(),
            self.analyze.clone(),
            rerun,
            self.repaint.clone(),
        ));
    }

    /// Takes a finished analysis (or its error) into the app.
    fn finish(
        &mut self,
        mut job: Job,
        result: Result<wcfscope_core::analyzer::Analysis, AnalyzeError>,
    ) {
        if !matches!(result, Err(AnalyzeError::Cancelled)) {
            self.key_facts = std::mem::take(&mut job.key_facts);
        }
        match result {
            Ok(analysis) => {
                let keep = job.rerun
                    && self.loaded.as_ref().map(|l| l.len())
                        == Some(analysis.report.messages.len());
                let loaded = Loaded::new(analysis);
                self.timeline = timeline::TimelineModel::build(&loaded);
                self.session_rows = sessions::rows(&loaded);
                self.table.refresh(&loaded);
                if let Some(first) = job.files.first() {
                    self.persisted.remember(first);
                }
                self.files = job.files;
                let walk_session = self.walk.as_ref().map(|w| (w.session, w.current));
                self.loaded = Some(loaded);
                self.details.xml.key = None;
                self.details.graph = None;
                if keep {
                    if let (Some((s, cur)), Some(l)) = (walk_session, &self.loaded) {
                        self.walk = walkthrough::Walkthrough::build(l, s).map(|mut w| {
                            w.current = cur.min(w.steps.len().saturating_sub(1));
                            w
                        });
                    }
                } else {
                    self.walk = None;
                    self.selected = self.timeline.rows.first().map(|r| r.msg);
                }
                if self.banner.as_ref().is_some_and(|b| b.error) {
                    self.banner = None;
                }
            }
            Err(AnalyzeError::Cancelled) => {
                self.banner = Some(Banner {
                    text: "Loading cancelled.".into(),
                    error: false,
                });
            }
            Err(e) => {
                let name = job
                    .files
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                self.banner = Some(Banner {
                    text: format!("Could not read {name}: {e}"),
                    error: true,
                });
            }
        }
    }

    /// Shows a (live or final) analysis in place of the current one, keeping the selection
    /// and the walkthrough (followed by session id, since positions may change).
    fn show_live(&mut self, analysis: wcfscope_core::analyzer::Analysis) {
        let walk = self.walk.as_ref().and_then(|w| {
            let l = self.loaded.as_ref()?;
            Some((
                l.analysis.report.sessions.get(w.session)?.id.clone(),
                w.current,
            ))
        });
        let loaded = Loaded::new(analysis);
        self.timeline = timeline::TimelineModel::build(&loaded);
        self.session_rows = sessions::rows(&loaded);
        self.table.refresh(&loaded);
        if self.selected.is_none_or(|m| m >= loaded.len()) {
            self.selected = self.timeline.rows.first().map(|r| r.msg);
        }
        self.walk = walk.and_then(|(id, cur)| {
            let s = loaded
                .analysis
                .report
                .sessions
                .iter()
                .position(|s| s.id == id)?;
            walkthrough::Walkthrough::build(&loaded, s).map(|mut w| {
                w.current = cur.min(w.steps.len().saturating_sub(1));
                w
            })
        });
        self.loaded = Some(loaded);
    }

    /// Takes what the capture worker sent since the last frame (one batch per frame).
    fn poll_capture(&mut self) {
        let polled = self.capture.poll();
        if let Some(e) = polled.errors.last() {
            self.banner = Some(Banner {
                text: e.clone(),
                error: true,
            });
        }
        let news = !polled.settled.is_empty() || polled.done.is_some();
        if !news && polled.packets.is_none() {
            return;
        }
        if !news {
            if let (Some(l), Some(p)) = (&mut self.loaded, polled.packets) {
                l.analysis.report.capture.packets = p;
            }
            return;
        }
        let Some(mut analysis) = self.loaded.take().map(|l| l.analysis) else {
            return;
        };
        if let Some(p) = polled.packets {
            analysis.report.capture.packets = p;
        }
        capture::append(&mut analysis, &mut self.capture.by_id, polled.settled);
        if let Some((rest, summary)) = polled.done {
            analysis = capture::finish(analysis, rest, *summary);
            // New keys re-analyse the saved file, if there is one.
            let saved = PathBuf::from(self.capture.save_path.trim());
            self.files = if self.capture.save_path.trim().is_empty() {
                Vec::new()
            } else {
                vec![saved]
            };
        }
        self.show_live(analysis);
    }

    /// The non-drawing half of a frame: finished loads and file-dialog results (eframe
    /// calls it even while the window is hidden).
    pub fn logic(&mut self, ctx: &egui::Context) {
        if self.capture.is_running() {
            self.poll_capture();
            // The worker wakes the UI on news; this keeps the counters fresh regardless.
            ctx.request_repaint_after(std::time::Duration::from_millis(250));
        }
        if let Some(job) = &mut self.job {
            if let Some(result) = job.poll() {
                if let Some(job) = self.job.take() {
                    self.finish(job, result);
                }
            } else {
                // Keep the progress bar moving while the worker runs.
                ctx.request_repaint_after(std::time::Duration::from_millis(100));
            }
        }
        if let Some(rx) = &self.dialog_rx {
            match rx.try_recv() {
                Ok((key, paths)) => {
                    self.dialog_rx = None;
                    if key {
                        // Whatever its extension, a file picked in the key dialog is a key.
                        if let Some(p) = paths.into_iter().next() {
                            self.apply(Command::AskPassword(p));
                        }
                    } else if !paths.is_empty() {
                        self.apply(Command::Files(paths));
                    }
                }
                Err(std::sync::mpsc::TryRecvError::Disconnected) => self.dialog_rx = None,
                Err(std::sync::mpsc::TryRecvError::Empty) => {}
            }
        }
    }

    /// Runs every queued command.
    pub fn apply_pending(&mut self) {
        let cmds = std::mem::take(&mut self.commands);
        for c in cmds {
            self.apply(c);
        }
    }

    pub fn apply(&mut self, cmd: Command) {
        match cmd {
            Command::Open(files) => {
                if self.capture.is_running() {
                    self.banner = Some(Banner {
                        text: "Stop the live capture before opening a file.".into(),
                        error: false,
                    });
                    return;
                }
                self.walk = None;
                self.start_job(files, false);
            }
            Command::Files(paths) => {
                let (keys, captures): (Vec<PathBuf>, Vec<PathBuf>) =
                    paths.into_iter().partition(|p| keys::is_key_file(p));
                if let Some(k) = keys.into_iter().next() {
                    self.pending_key = Some(PendingKey {
                        path: k,
                        password: Zeroizing::new(String::new()),
                    });
                }
                if !captures.is_empty() {
                    self.apply(Command::Open(captures));
                }
            }
            Command::OpenDialog => self.dialog(false),
            Command::AddKeyDialog => self.dialog(true),
            Command::AskPassword(path) => {
                self.pending_key = Some(PendingKey {
                    path,
                    password: Zeroizing::new(String::new()),
                });
            }
            Command::CancelPassword => self.pending_key = None,
            Command::AddKey { path, password } => {
                self.pending_key = None;
                self.keys
                    .files
                    .retain(|k| k.path.as_deref() != Some(path.as_path()));
                self.keys.files.push(KeyEntry::file(path, password));
                self.rerun();
            }
            Command::RemoveKey(i) => {
                if i < self.keys.files.len() {
                    self.keys.files.remove(i);
                    self.rerun();
                }
            }
            Command::AddSctKey => match keys::parse_sct_input(&self.sct_input) {
                Ok(k) => {
                    self.sct_error = None;
                    self.sct_input.clear();
                    self.keys.sct.retain(|o| o.id != k.id);
                    self.keys.sct.push(k);
                    self.rerun();
                }
                Err(e) => self.sct_error = Some(e),
            },
            Command::RemoveSctKey(i) => {
                if i < self.keys.sct.len() {
                    self.keys.sct.remove(i);
                    self.rerun();
                }
            }
            Command::Select(m) => {
                if self.loaded.as_ref().is_some_and(|l| m < l.len()) {
                    self.selected = Some(m);
                    self.timeline_state.scroll_to_selection = true;
                    if let Some(w) = &mut self.walk {
                        w.follow(m);
                    }
                }
            }
            Command::StartWalkthrough(s) => {
                if let Some(l) = &self.loaded {
                    self.walk = walkthrough::Walkthrough::build(l, s);
                    if let Some(m) = self.walk.as_ref().and_then(|w| w.current_msg()) {
                        self.apply(Command::Select(m));
                    }
                }
            }
            Command::WalkStep(k) => {
                if let Some(w) = &mut self.walk {
                    w.current = k.min(w.steps.len().saturating_sub(1));
                    if let Some(m) = w.current_msg() {
                        self.apply(Command::Select(m));
                    }
                }
            }
            Command::EndWalkthrough => self.walk = None,
            Command::CancelLoad => {
                if let Some(j) = &self.job {
                    j.cancel();
                }
            }
            Command::SetDark(d) => self.persisted.dark = d,
            Command::DismissBanner => self.banner = None,
            Command::ClearRecent => self.persisted.recent.clear(),
            Command::ToggleDiagnostics => self.show_diagnostics = !self.show_diagnostics,
            Command::RefreshDevices => self.capture.refresh_devices(),
            Command::StartCapture => self.start_capture(),
            Command::StopCapture => self.capture.request_stop(),
        }
    }

    /// Starts a live capture with the toolbar's settings and the key manager's keys; the
    /// window then shows an empty analysis that grows as messages settle.
    fn start_capture(&mut self) {
        #[cfg(feature = "live")]
        {
            let mut options = self.keys.options();
            // The details (raw bytes, decrypted XML) are what the GUI shows; keep them.
            options.skip_details = false;
            match self.capture.start(options, self.repaint.clone()) {
                Ok(()) => {
                    if let Some(j) = self.job.take() {
                        j.cancel();
                    }
                    let iface = self.capture.interface.clone().unwrap_or_default();
                    self.files.clear();
                    self.walk = None;
                    self.selected = None;
                    self.details.xml.key = None;
                    self.details.graph = None;
                    self.show_live(capture::empty_analysis(&iface));
                    if self.banner.as_ref().is_some_and(|b| b.error) {
                        self.banner = None;
                    }
                }
                Err(e) => {
                    self.banner = Some(Banner {
                        text: e,
                        error: true,
                    })
                }
            }
        }
        #[cfg(not(feature = "live"))]
        {
            self.banner = Some(Banner {
                text: wcfscope_core::live::NO_LIVE_SUPPORT.into(),
                error: true,
            });
        }
    }

    /// New keys: run the security stage again over the messages already read, without
    /// re-reading the capture (the capture stays on screen meanwhile). An analysis without
    /// the messages' raw bytes is analysed from its files again.
    fn rerun(&mut self) {
        if self.files.is_empty() {
            return;
        }
        let has_raw = self.security_rerun
            && self.loaded.as_ref().is_some_and(|l| {
                let a = &l.analysis;
                a.details.len() == a.report.messages.len()
                    && a.details.iter().all(|d| !d.raw.is_empty())
                    && !a.details.is_empty()
            });
        let files = self.files.clone();
        match self.loaded.as_ref().filter(|_| has_raw) {
            Some(loaded) => {
                if let Some(j) = &self.job {
                    j.cancel();
                }
                let previous = std::sync::Arc::new(loaded.analysis.clone());
                let security_only: AnalyzeFn = std::sync::Arc::new(move |_, options, _, _| {
                    Ok(wcfscope_core::analyzer::rerun_security(&previous, options))
                });
                self.job = Some(Job::start(
                    files,
                    self.keys.options(),
                    security_only,
                    true,
                    self.repaint.clone(),
                ));
            }
            None => self.start_job(files, true),
        }
    }

    /// Opens a native file dialog on its own thread so the UI keeps drawing.
    fn dialog(&mut self, key: bool) {
        if self.dialog_rx.is_some() {
            return;
        }
        let (tx, rx) = channel();
        let repaint = self.repaint.clone();
        let spawned = std::thread::Builder::new()
            .name("wcfscope-dialog".into())
            .spawn(move || {
                let d = rfd::FileDialog::new();
                let picked = if key {
                    d.set_title("Add a key")
                        .add_filter("Keys", &["pfx", "p12", "pem", "key", "der"])
                        .add_filter("All files", &["*"])
                        .pick_file()
                        .map(|p| vec![p])
                } else {
                    d.set_title("Open a capture")
                        .add_filter(
                            "Captures and messages",
                            &["pcap", "pcapng", "cap", "xml", "gz"],
                        )
                        .add_filter("All files", &["*"])
                        .pick_files()
                };
                let _ = tx.send((key, picked.unwrap_or_default()));
                if let Some(c) = repaint {
                    c.request_repaint();
                }
            });
        match spawned {
            Ok(_) => self.dialog_rx = Some(rx),
            Err(e) => {
                self.banner = Some(Banner {
                    text: format!("Cannot open a file dialog: {e}"),
                    error: true,
                })
            }
        }
    }

    /// This frame's input: dropped files and keyboard shortcuts (read in the ui pass, where
    /// the input belongs to exactly one frame).
    fn input(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect()
        });
        if !dropped.is_empty() {
            self.apply(Command::Files(dropped));
        }
        // Keyboard shortcuts.
        let (open, key) = ctx.input_mut(|i| {
            (
                i.consume_key(egui::Modifiers::COMMAND, egui::Key::O),
                i.consume_key(egui::Modifiers::COMMAND, egui::Key::K),
            )
        });
        if open {
            self.apply(Command::OpenDialog);
        }
        if key {
            self.apply(Command::AddKeyDialog);
        }
    }

    /// Draws the whole window; commands are applied at the end.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.input(&ctx);
        theme::apply(&ctx, self.persisted.dark);
        let dark = self.persisted.dark;
        let mut cmds: Vec<Command> = Vec::new();

        egui::Panel::top("menu").show(ui, |ui| {
            egui::MenuBar::new().ui(ui, |ui| {
                ui.menu_button("File", |ui| {
                    if ui.button("Open capture…  (Ctrl+O)").clicked() {
                        cmds.push(Command::OpenDialog);
                    }
                    ui.menu_button("Open recent", |ui| {
                        if self.persisted.recent.is_empty() {
                            ui.weak("(none)");
                        }
                        for p in &self.persisted.recent {
                            if ui.button(p.display().to_string()).clicked() {
                                cmds.push(Command::Open(vec![p.clone()]));
                            }
                        }
                        ui.separator();
                        if ui.button("Clear list").clicked() {
                            cmds.push(Command::ClearRecent);
                        }
                    });
                    if ui.button("Add key…  (Ctrl+K)").clicked() {
                        cmds.push(Command::AddKeyDialog);
                    }
                    ui.separator();
                    if ui.button("Quit").clicked() {
                        ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
                    }
                });
                ui.menu_button("View", |ui| {
                    if ui.radio(dark, "Dark").clicked() {
                        cmds.push(Command::SetDark(true));
                    }
                    if ui.radio(!dark, "Light").clicked() {
                        cmds.push(Command::SetDark(false));
                    }
                });
                ui.separator();
                ui.label(egui::RichText::new("wcfscope").strong());
                if let Some(l) = &self.loaded {
                    ui.weak(&l.analysis.report.capture.path);
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    let label = if dark { "☀ Light" } else { "🌙 Dark" };
                    if ui.small_button(label).clicked() {
                        cmds.push(Command::SetDark(!dark));
                    }
                });
            });
            if let Some(b) = &self.banner {
                cmds.extend(status::banner(ui, b, dark));
            }
        });

        egui::Panel::top("capture").show(ui, |ui| {
            cmds.extend(capture::toolbar(ui, &mut self.capture));
        });

        egui::Panel::bottom("status").show(ui, |ui| {
            cmds.extend(status::show(
                ui,
                self.loaded.as_ref(),
                self.job.as_ref(),
                dark,
            ));
            if self.capture.is_running() || self.capture.stats.is_some() {
                ui.weak(format!("Live: {}", self.capture.status_text()));
            }
        });

        egui::Panel::left("side")
            .resizable(true)
            .default_size(240.0)
            .size_range(180.0..=480.0)
            .show(ui, |ui| {
                if let Some(l) = &self.loaded {
                    cmds.extend(sessions::show(
                        ui,
                        &self.session_rows,
                        l,
                        self.selected,
                        dark,
                    ));
                    ui.separator();
                }
                egui::ScrollArea::vertical()
                    .id_salt("keys_scroll")
                    .show(ui, |ui| {
                        cmds.extend(keys::show(
                            ui,
                            &self.keys,
                            &self.key_facts,
                            &mut self.sct_input,
                            &self.sct_error,
                            self.loaded.as_ref(),
                            dark,
                        ));
                    });
            });

        if let Some(l) = &self.loaded {
            egui::Panel::right("details")
                .resizable(true)
                .default_size(470.0)
                .size_range(320.0..=900.0)
                .show(ui, |ui| {
                    if let Some(w) = &self.walk {
                        egui::Frame::group(ui.style()).show(ui, |ui| {
                            ui.set_width(ui.available_width());
                            cmds.extend(walkthrough::show(ui, w, l, dark));
                        });
                        ui.add_space(4.0);
                    }
                    match self.selected {
                        Some(m) => cmds.extend(details::show(ui, &mut self.details, l, m, dark)),
                        None => {
                            ui.weak("Select a message on the timeline or in the table.");
                        }
                    }
                });
            egui::CentralPanel::default().show(ui, |ui| {
                egui::Panel::bottom("table")
                    .resizable(true)
                    .default_size(240.0)
                    .show(ui, |ui| {
                        cmds.extend(messages::show(ui, &mut self.table, l, self.selected, dark));
                    });
                let c = timeline::TimelineCtx {
                    loaded: l,
                    model: &self.timeline,
                    selected: self.selected,
                    highlight: self.walk.as_ref().and_then(|w| w.current_msg()),
                    dark,
                };
                cmds.extend(timeline::show(ui, &mut self.timeline_state, &c));
            });
        } else {
            egui::CentralPanel::default().show(ui, |ui| {
                cmds.extend(self.welcome(ui));
            });
        }

        if self.show_diagnostics {
            if let Some(l) = &self.loaded {
                let mut open = true;
                egui::Window::new("Diagnostics")
                    .open(&mut open)
                    .default_size([520.0, 300.0])
                    .show(&ctx, |ui| {
                        egui::ScrollArea::vertical().show(ui, |ui| {
                            for d in &l.analysis.report.diagnostics {
                                ui.horizontal(|ui| {
                                    let v = match d.level {
                                        wcfscope_core::model::Level::Error => {
                                            labels::Verdict::Failed
                                        }
                                        wcfscope_core::model::Level::Warning => {
                                            labels::Verdict::NoKey
                                        }
                                        wcfscope_core::model::Level::Info => labels::Verdict::Clear,
                                    };
                                    ui.colored_label(
                                        theme::verdict_color(v, dark),
                                        format!("{:?}", d.level).to_lowercase(),
                                    );
                                    if let Some(m) = d.msg {
                                        if ui.small_button(format!("#{m}")).clicked() {
                                            cmds.push(Command::Select(m));
                                        }
                                    }
                                    ui.add(egui::Label::new(&d.message).wrap());
                                });
                            }
                        });
                    });
                if !open {
                    cmds.push(Command::ToggleDiagnostics);
                }
            }
        }

        if let Some(p) = &mut self.pending_key {
            if let Some(c) = keys::password_dialog(&ctx, p) {
                cmds.push(c);
            }
        }

        // Files hovering over the window: say what a drop will do.
        let hovering = ctx.input(|i| !i.raw.hovered_files.is_empty());
        if hovering {
            let screen = ctx.content_rect();
            let painter = ctx.layer_painter(egui::LayerId::new(
                egui::Order::Foreground,
                egui::Id::unique("drop"),
            ));
            painter.rect_filled(screen, 0.0, egui::Color32::from_black_alpha(160));
            painter.text(
                screen.center(),
                egui::Align2::CENTER_CENTER,
                "Drop a capture to open it, or a key file to add it",
                egui::FontId::proportional(22.0),
                egui::Color32::WHITE,
            );
        }

        self.commands.extend(cmds);
        self.apply_pending();
    }

    fn welcome(&self, ui: &mut egui::Ui) -> Vec<Command> {
        let mut cmds = Vec::new();
        ui.vertical_centered(|ui| {
            ui.add_space(ui.available_height() * 0.25);
            ui.heading("wcfscope");
            ui.label("Decrypt and verify WCF secure sessions in a packet capture.");
            ui.add_space(8.0);
            if let Some(job) = &self.job {
                ui.label(format!(
                    "Loading {}…",
                    job.files
                        .first()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default()
                ));
                let bar = match job.fraction() {
                    Some(f) => egui::ProgressBar::new(f).show_percentage(),
                    None => egui::ProgressBar::new(0.0).animate(true),
                };
                ui.add(bar.desired_width(320.0));
                if ui.button("Cancel").clicked() {
                    cmds.push(Command::CancelLoad);
                }
                return;
            }
            if ui.button("Open a capture…").clicked() {
                cmds.push(Command::OpenDialog);
            }
            ui.weak("or drop a .pcap/.pcapng (and the service's .pfx) on this window");
            if !self.persisted.recent.is_empty() {
                ui.add_space(12.0);
                ui.strong("Recent");
                for p in &self.persisted.recent {
                    if ui.link(p.display().to_string()).clicked() {
                        cmds.push(Command::Open(vec![p.clone()]));
                    }
                }
            }
        });
        cmds
    }
}

/// eframe glue: `logic` drains the worker, `ui` draws, `save` persists the recent files.
pub struct EframeApp(pub WcfApp);

impl eframe::App for EframeApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.0.logic(ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.0.ui(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, STORAGE_KEY, &self.0.persisted);
    }
}

/// Opens the window. `file` None opens the bundled demo with its demo key.
pub fn run(file: Option<PathBuf>, keys: Vec<String>) -> anyhow::Result<u8> {
    let startup = match file {
        Some(f) => Startup {
            files: vec![f],
            keys,
            banner: None,
        },
        None => {
            let cwd = std::env::current_dir().ok();
            let exe = std::env::current_exe().ok();
            match launch::find_demo(cwd.as_deref(), exe.as_deref()) {
                Some((cap, key)) => {
                    let mut keys = keys;
                    if key.is_file() {
                        keys.push(format!("{}:{}", key.display(), launch::DEMO_PASSWORD));
                    }
                    Startup { files: vec![cap], keys, banner: None }
                }
                None => Startup {
                    files: Vec::new(),
                    keys,
                    banner: Some(Banner {
                        text: format!("The demo capture ({}) was not found next to the program or in the current directory. Open a capture with File > Open….", launch::DEMO_CAPTURE),
                        error: false,
                    }),
                },
            }
        }
    };
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("wcfscope")
            .with_app_id("wcfscope")
            .with_inner_size([1440.0, 900.0])
            .with_min_inner_size([900.0, 560.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "wcfscope",
        options,
        Box::new(move |cc| {
            let persisted: Persisted = cc
                .storage
                .and_then(|s| eframe::get_value(s, STORAGE_KEY))
                .unwrap_or_default();
            let mut app = WcfApp::new(persisted, loader::core_analyzer());
            app.security_rerun = true;
            app.set_repaint_context(cc.egui_ctx.clone());
            app.capture.refresh_devices();
            app.start(startup);
            Ok(Box::new(EframeApp(app)))
        }),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))?;
    Ok(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn recent_files_are_deduplicated_capped_and_round_trip() {
        let mut p = Persisted::default();
        for i in 0..15 {
            p.remember(Path::new(&format!("c{i}.pcapng")));
        }
        p.remember(Path::new("c10.pcapng"));
        assert_eq!(p.recent.len(), MAX_RECENT);
        assert_eq!(p.recent[0], PathBuf::from("c10.pcapng"));
        assert_eq!(
            p.recent
                .iter()
                .filter(|r| r.ends_with("c10.pcapng"))
                .count(),
            1
        );
        let json = serde_json::to_string(&p).unwrap();
        let back: Persisted = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p);
        // Older or partial settings still load.
        let partial: Persisted = serde_json::from_str("{\"dark\":false}").unwrap();
        assert!(partial.recent.is_empty() && !partial.dark);
    }
}
