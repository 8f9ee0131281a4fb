//! Live capture in the GUI: the toolbar's state (interface, BPF filter, save path, drop
//! counters), the worker thread that owns the [`LiveCapture`] and an `Analyzer` and sends
//! settled messages over a channel, and [`append`], which grows the on-screen analysis
//! (with a provisional session list) while the capture runs. When the capture stops, the
//! worker's final report replaces the provisional one.
//!
//! Without the `live` feature the toolbar only says that live capture is unavailable.

use super::Command;
use std::collections::HashMap;
use wcfscope_core::analyzer::{Analysis, Settled, Summary};
use wcfscope_core::model::{
    CaptureFormat, CaptureInfo, MessageKind, Report, SessionInfo, REPORT_VERSION,
};

#[cfg(feature = "live")]
use std::sync::atomic::{AtomicBool, Ordering};
#[cfg(feature = "live")]
use std::sync::mpsc::{Receiver, TryRecvError};
#[cfg(feature = "live")]
use std::sync::Arc;
#[cfg(feature = "live")]
use wcfscope_core::live::LiveCapture;

/// One capture device as the picker shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRow {
    pub name: String,
    pub description: Option<String>,
    pub addresses: Vec<String>,
    pub flags: Vec<&'static str>,
}

impl DeviceRow {
    /// "lo — 127.0.0.1/8 ::1 [up, running, loopback]".
    pub fn label(&self) -> String {
        let mut s = self.name.clone();
        if !self.addresses.is_empty() {
            s.push_str(" — ");
            s.push_str(&self.addresses.join(" "));
        }
        if !self.flags.is_empty() {
            s.push_str(&format!(" [{}]", self.flags.join(", ")));
        }
        if let Some(d) = &self.description {
            s.push_str(&format!(" ({d})"));
        }
        s
    }
}

/// The kernel's and the interface's packet counters, from `LiveEvent::Stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DropStats {
    pub received: u32,
    pub dropped: u32,
    pub if_dropped: u32,
}

/// What the worker sends the UI.
pub enum LiveMsg {
    /// Messages settled since the last batch, and the packets seen so far.
    Batch {
        packets: u64,
        settled: Vec<Settled>,
    },
    Stats(DropStats),
    /// A non-fatal capture or save error (shown in the banner).
    Error(String),
    /// The capture ended: the last settled messages and the rest of the report.
    Done(Vec<Settled>, Box<Summary>),
}

/// What one [`CaptureState::poll`] brought in.
#[derive(Default)]
pub struct Polled {
    pub settled: Vec<Settled>,
    pub packets: Option<u64>,
    pub errors: Vec<String>,
    pub done: Option<(Vec<Settled>, Box<Summary>)>,
}

/// A running capture, seen from the UI.
#[cfg(feature = "live")]
pub struct Running {
    pub interface: String,
    stop: Arc<AtomicBool>,
    rx: Receiver<LiveMsg>,
}

/// Closing the window (or dropping the state) stops the capture too.
#[cfg(feature = "live")]
impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The toolbar's state.
#[derive(Default)]
pub struct CaptureState {
    pub devices: Vec<DeviceRow>,
    /// Why the device list is empty (e.g. no permission to list).
    pub devices_error: Option<String>,
    pub interface: Option<String>,
    pub filter: String,
    /// The filter text last checked, and libpcap's complaint about it.
    checked_filter: Option<String>,
    pub filter_error: Option<String>,
    /// Save the packets here (pcapng, or pcap when it ends in .pcap); empty: do not save.
    pub save_path: String,
    pub stats: Option<DropStats>,
    pub packets: u64,
    #[cfg(feature = "live")]
    pub running: Option<Running>,
    /// Session id → position in the provisional `report.sessions` while live.
    pub by_id: HashMap<String, usize>,
}

/// True when this build can capture.
pub const LIVE_SUPPORTED: bool = cfg!(feature = "live");

/// libpcap's verdict on a filter: None when it compiles (or is empty).
pub fn filter_message(filter: &str) -> Option<String> {
    if filter.trim().is_empty() {
        return None;
    }
    #[cfg(feature = "live")]
    {
        wcfscope_core::live::check_filter(filter.trim())
            .err()
            .map(|e| e.to_string())
    }
    #[cfg(not(feature = "live"))]
    {
        None
    }
}

impl CaptureState {
    pub fn is_running(&self) -> bool {
        #[cfg(feature = "live")]
        {
            self.running.is_some()
        }
        #[cfg(not(feature = "live"))]
        {
            false
        }
    }

    /// Re-checks the filter when its text changed since the last check.
    pub fn validate_filter(&mut self) {
        if self.checked_filter.as_deref() != Some(self.filter.as_str()) {
            self.filter_error = filter_message(&self.filter);
            self.checked_filter = Some(self.filter.clone());
        }
    }

    /// Start is possible with live support, an interface picked, a valid filter and no
    /// capture running.
    pub fn can_start(&self) -> bool {
        LIVE_SUPPORTED
            && self.interface.as_deref().is_some_and(|i| !i.is_empty())
            && self.filter_error.is_none()
            && !self.is_running()
    }

    /// Lists the devices (keeps the picked interface if it is still there; otherwise
    /// picks the first that is up, preferring a non-loopback one).
    pub fn refresh_devices(&mut self) {
        #[cfg(feature = "live")]
        match wcfscope_core::live::list_devices() {
            Ok(list) => {
                self.devices_error = None;
                self.devices = list
                    .into_iter()
                    .map(|d| DeviceRow {
                        name: d.name,
                        description: d.description,
                        addresses: d.addresses,
                        flags: d.flags,
                    })
                    .collect();
            }
            Err(e) => {
                self.devices.clear();
                self.devices_error = Some(e.to_string());
            }
        }
        let known = self
            .interface
            .as_ref()
            .is_some_and(|i| self.devices.iter().any(|d| &d.name == i));
        if !known {
            self.interface = self
                .devices
                .iter()
                .find(|d| d.flags.contains(&"up") && !d.flags.contains(&"loopback"))
                .or_else(|| self.devices.first())
                .map(|d| d.name.clone());
        }
    }

    /// Starts capturing on the picked interface (the Start button's code path). Errors
    /// (permission with its per-OS fix, bad filter, unwritable save file) come back as text.
    #[cfg(feature = "live")]
    pub fn start(
        &mut self,
        options: wcfscope_core::analyzer::Options,
        repaint: Option<egui::Context>,
    ) -> Result<(), String> {
        use wcfscope_core::live::{CaptureWriter, LiveConfig, SaveFormat};
        if self.is_running() {
            return Err("a capture is already running".into());
        }
        self.validate_filter();
        if let Some(e) = &self.filter_error {
            return Err(e.clone());
        }
        let interface = match self.interface.as_deref() {
            Some(i) if !i.is_empty() => i.to_owned(),
            _ => return Err("pick an interface first".into()),
        };
        let mut config = LiveConfig::new(interface.clone());
        let filter = self.filter.trim();
        config.filter = (!filter.is_empty()).then(|| filter.to_owned());
        let writer = match self.save_path.trim() {
            "" => None,
            p => {
                let path = std::path::PathBuf::from(p);
                let file = std::fs::File::create(&path)
                    .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
                Some(
                    CaptureWriter::new(
                        std::io::BufWriter::new(file),
                        SaveFormat::for_path(&path),
                        config.snaplen.max(0) as u32,
                    )
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
                )
            }
        };
        let capture = LiveCapture::start(&config).map_err(|e| e.to_string())?;
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel();
        let flag = stop.clone();
        let name = format!("live:{interface}");
        std::thread::Builder::new()
            .name("wcfscope-live".into())
            .spawn(move || worker(capture, writer, name, options, flag, tx, repaint))
            .map_err(|e| format!("cannot start the capture thread: {e}"))?;
        self.stats = None;
        self.packets = 0;
        self.by_id.clear();
        self.running = Some(Running {
            interface,
            stop,
            rx,
        });
        Ok(())
    }

    /// Asks the worker to stop; its final report arrives through [`CaptureState::poll`].
    pub fn request_stop(&self) {
        #[cfg(feature = "live")]
        if let Some(r) = &self.running {
            r.stop.store(true, Ordering::Relaxed);
        }
    }

    /// Drains the worker's channel (all of it: one batch per frame).
    pub fn poll(&mut self) -> Polled {
        // Only the live build fills it.
        #[cfg_attr(not(feature = "live"), allow(unused_mut))]
        let mut out = Polled::default();
        #[cfg(feature = "live")]
        {
            let mut finished = false;
            if let Some(r) = &self.running {
                loop {
                    match r.rx.try_recv() {
                        Ok(LiveMsg::Batch { packets, settled }) => {
                            out.packets = Some(packets);
                            out.settled.extend(settled);
                        }
                        Ok(LiveMsg::Stats(s)) => self.stats = Some(s),
                        Ok(LiveMsg::Error(e)) => out.errors.push(e),
                        Ok(LiveMsg::Done(rest, summary)) => {
                            out.done = Some((rest, summary));
                            finished = true;
                            break;
                        }
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Disconnected) => {
                            out.errors.push("the capture stopped unexpectedly".into());
                            finished = true;
                            break;
                        }
                    }
                }
            }
            if let Some(p) = out.packets {
                self.packets = p;
            }
            if finished {
                self.running = None;
            }
        }
        out
    }

    /// The status-area text: packets and drop counters.
    pub fn status_text(&self) -> String {
        let mut s = format!("{} packets", self.packets);
        if let Some(st) = self.stats {
            s.push_str(&format!(
                " · {} received · {} dropped by the kernel · {} by the interface",
                st.received, st.dropped, st.if_dropped
            ));
        }
        s
    }
}

/// Sends what the worker saw since the last batch, at most this often (the UI drains
/// everything each frame anyway; this keeps the channel short under load).
#[cfg(feature = "live")]
const BATCH_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

#[cfg(feature = "live")]
fn worker(
    capture: LiveCapture,
    mut writer: Option<wcfscope_core::live::CaptureWriter<std::io::BufWriter<std::fs::File>>>,
    name: String,
    options: wcfscope_core::analyzer::Options,
    stop: Arc<AtomicBool>,
    tx: std::sync::mpsc::Sender<LiveMsg>,
    repaint: Option<egui::Context>,
) {
    use std::sync::mpsc::RecvTimeoutError;
    use std::time::{Duration, Instant};
    use wcfscope_core::analyzer::Analyzer;
    use wcfscope_core::live::LiveEvent;
    let wake = || {
        if let Some(c) = &repaint {
            c.request_repaint();
        }
    };
    let mut analyzer = Analyzer::new(name, CaptureFormat::Pcapng, options);
    let mut packets = 0u64;
    let mut pending: Vec<Settled> = Vec::new();
    let mut last_sent = Instant::now();
    let mut packets_sent = 0u64;
    loop {
        if stop.load(Ordering::Relaxed) {
            capture.request_stop();
        }
        match capture.events.recv_timeout(Duration::from_millis(50)) {
            Ok(LiveEvent::Packet(p)) => {
                packets += 1;
                if let Some(w) = writer.as_mut() {
                    if let Err(e) = w.write_packet(&p) {
                        let _ = tx.send(LiveMsg::Error(format!(
                            "cannot write the capture file, saving stopped: {e}"
                        )));
                        writer = None;
                    }
                }
                analyzer.push_packet(&p);
                pending.extend(analyzer.take_settled());
            }
            Ok(LiveEvent::Stats {
                received,
                dropped,
                if_dropped,
            }) => {
                let _ = tx.send(LiveMsg::Stats(DropStats {
                    received,
                    dropped,
                    if_dropped,
                }));
                wake();
            }
            Ok(LiveEvent::Error(e)) => {
                let _ = tx.send(LiveMsg::Error(format!("capture error: {e}")));
                wake();
            }
            Ok(LiveEvent::Stopped) | Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {}
        }
        // Only news wakes the UI: new messages, or packets since the last batch.
        if last_sent.elapsed() >= BATCH_EVERY && (!pending.is_empty() || packets != packets_sent) {
            last_sent = Instant::now();
            packets_sent = packets;
            if tx
                .send(LiveMsg::Batch {
                    packets,
                    settled: std::mem::take(&mut pending),
                })
                .is_err()
            {
                // The UI is gone: nobody will ask us to stop.
                capture.request_stop();
            }
            wake();
        }
    }
    if let Some(w) = writer {
        if let Err(e) = std::io::Write::flush(&mut w.into_inner()) {
            let _ = tx.send(LiveMsg::Error(format!("cannot save the capture: {e}")));
        }
    }
    let _ = tx.send(LiveMsg::Batch {
        packets,
        settled: pending,
    });
    // A bug in the analyzer must not leave the UI waiting forever.
    let parts = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| analyzer.finish_parts()));
    match parts {
        Ok((rest, summary)) => {
            let _ = tx.send(LiveMsg::Done(rest, Box::new(summary)));
        }
        Err(_) => {
            let _ = tx.send(LiveMsg::Error(
                "internal error: the analysis of the capture crashed".into(),
            ));
        }
    }
    wake();
}

/// An empty analysis to grow while capturing on `interface`.
pub fn empty_analysis(interface: &str) -> Analysis {
    Analysis {
        report: Report {
            report_version: REPORT_VERSION,
            capture: CaptureInfo {
                path: format!("live:{interface}"),
                format: CaptureFormat::Pcapng,
                packets: 0,
                first_ts: None,
                last_ts: None,
            },
            streams: Vec::new(),
            sessions: Vec::new(),
            messages: Vec::new(),
            diagnostics: Vec::new(),
        },
        details: Vec::new(),
        security_diagnostics_from: 0,
    }
}

/// Appends settled messages to a live analysis, adding each to its provisional session
/// (created at the session's first message; `by_id` maps ids to positions). The message's
/// index becomes its position, so `report.messages[i].index == i` holds as in a file report.
pub fn append(a: &mut Analysis, by_id: &mut HashMap<String, usize>, batch: Vec<Settled>) {
    for s in batch {
        let mut info = s.info;
        let i = a.report.messages.len();
        info.index = i;
        if let Some(t) = info.ts {
            let c = &mut a.report.capture;
            c.first_ts = Some(c.first_ts.map_or(t, |f| f.min(t)));
            c.last_ts = Some(c.last_ts.map_or(t, |l| l.max(t)));
        }
        if let Some(id) = &info.session {
            let k = *by_id.entry(id.clone()).or_insert_with(|| {
                a.report.sessions.push(SessionInfo {
                    id: id.clone(),
                    instance: None,
                    version: None,
                    key_hex: None,
                    key_source: None,
                    client: None,
                    server: None,
                    issued_by_msg: None,
                    cancelled_by_msg: None,
                    messages: Vec::new(),
                });
                a.report.sessions.len() - 1
            });
            if let Some(session) = a.report.sessions.get_mut(k) {
                session.messages.push(i);
                match info.kind {
                    MessageKind::SctIssueResponse if session.issued_by_msg.is_none() => {
                        session.issued_by_msg = Some(i)
                    }
                    MessageKind::SctCancel if session.cancelled_by_msg.is_none() => {
                        session.cancelled_by_msg = Some(i)
                    }
                    _ => {}
                }
            }
        }
        a.report.messages.push(info);
        a.details.push(s.detail);
    }
}

/// The final analysis of a live session: everything shown so far plus the last settled
/// messages, with the analyzer's own sessions, streams and diagnostics.
pub fn finish(mut shown: Analysis, rest: Vec<Settled>, summary: Summary) -> Analysis {
    let mut ignored = HashMap::new();
    append(&mut shown, &mut ignored, rest);
    let details = shown.details;
    let mut messages = shown.report.messages;
    // The provisional indices are positions; the analyzer's sessions refer to its own
    // indices, which are the same when every settled message was shown in order.
    for (k, m) in messages.iter_mut().enumerate() {
        m.index = k;
    }
    let security_diagnostics_from = summary.security_diagnostics_from;
    Analysis {
        report: summary.into_report(std::mem::take(&mut messages)),
        details,
        security_diagnostics_from,
    }
}

/// The capture toolbar: interface picker, filter (checked as typed), save path,
/// Start/Stop and the counters.
pub fn toolbar(ui: &mut egui::Ui, st: &mut CaptureState) -> Vec<Command> {
    let mut cmds = Vec::new();
    ui.horizontal_wrapped(|ui| {
        ui.strong("Live capture");
        if !LIVE_SUPPORTED {
            ui.weak(wcfscope_core::live::NO_LIVE_SUPPORT);
            return;
        }
        let running = st.is_running();
        ui.add_enabled_ui(!running, |ui| {
            let shown = st
                .interface
                .clone()
                .unwrap_or_else(|| "(pick an interface)".into());
            egui::ComboBox::from_label("Interface")
                .selected_text(shown)
                .width(160.0)
                .show_ui(ui, |ui| {
                    if st.devices.is_empty() {
                        ui.weak(
                            st.devices_error
                                .as_deref()
                                .unwrap_or("no capture devices found"),
                        );
                    }
                    for d in &st.devices {
                        let picked = st.interface.as_deref() == Some(d.name.as_str());
                        if ui.selectable_label(picked, d.label()).clicked() {
                            st.interface = Some(d.name.clone());
                        }
                    }
                });
            if ui
                .small_button("⟳")
                .on_hover_text("List the interfaces again")
                .clicked()
            {
                cmds.push(Command::RefreshDevices);
            }
            let label = ui.label("Capture filter");
            let f = ui
                .add(
                    egui::TextEdit::singleline(&mut st.filter)
                        .hint_text("tcp port 8080")
                        .desired_width(160.0),
                )
                .labelled_by(label.id);
            if f.changed() {
                st.validate_filter();
            }
            let label = ui.label("Save to");
            ui.add(
                egui::TextEdit::singleline(&mut st.save_path)
                    .hint_text("(optional) capture.pcapng")
                    .desired_width(160.0),
            )
            .labelled_by(label.id);
        });
        if running {
            if ui.button("■ Stop").clicked() {
                cmds.push(Command::StopCapture);
            }
            ui.label(st.status_text());
        } else if ui
            .add_enabled(st.can_start(), egui::Button::new("▶ Start"))
            .clicked()
        {
            cmds.push(Command::StartCapture);
        } else if st.stats.is_some() {
            ui.weak(format!("last capture: {}", st.status_text()));
        }
        if let Some(e) = &st.filter_error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
    });
    cmds
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use wcfscope_core::model::MessageDetail;

    fn settled(index: usize, session: Option<&str>, kind: MessageKind) -> Settled {
        let a = crate::gui::sample::analysis();
        let mut info = a.report.messages[0].clone();
        info.index = index;
        info.session = session.map(str::to_owned);
        info.kind = kind;
        Settled {
            info,
            detail: MessageDetail::default(),
        }
    }

    #[test]
    fn start_is_disabled_without_an_interface() {
        let mut st = CaptureState::default();
        assert!(!st.can_start());
        st.interface = Some("lo".into());
        assert_eq!(st.can_start(), LIVE_SUPPORTED);
        st.interface = Some(String::new());
        assert!(!st.can_start());
    }

    #[cfg(feature = "live")]
    #[test]
    fn a_bad_filter_is_explained_and_blocks_start() {
        let mut st = CaptureState {
            interface: Some("lo".into()),
            filter: "tcp port".into(),
            ..Default::default()
        };
        st.validate_filter();
        let e = st.filter_error.clone().expect("libpcap rejects it");
        assert!(
            e.contains("invalid capture filter") && e.contains("tcp port"),
            "{e}"
        );
        assert!(!st.can_start());
        // start() refuses it too, with the same text.
        assert_eq!(st.start(Default::default(), None).unwrap_err(), e);
        st.filter = "tcp port 8080".into();
        st.validate_filter();
        assert_eq!(st.filter_error, None);
        assert!(st.can_start());
        st.filter = "  ".into();
        st.validate_filter();
        assert_eq!(st.filter_error, None);
    }

    #[test]
    fn device_label_names_addresses_and_flags() {
        let d = DeviceRow {
            name: "lo".into(),
            description: None,
            addresses: vec!["127.0.0.1/8".into(), "::1".into()],
            flags: vec!["up", "loopback"],
        };
        assert_eq!(d.label(), "lo — 127.0.0.1/8 ::1 [up, loopback]");
    }

    #[test]
    fn appending_live_messages_builds_provisional_sessions() {
        let mut a = empty_analysis("lo");
        let mut by_id = HashMap::new();
        append(
            &mut a,
            &mut by_id,
            vec![
                settled(0, Some("urn:s1"), MessageKind::SctIssue),
                settled(1, Some("urn:s1"), MessageKind::SctIssueResponse),
                settled(2, None, MessageKind::Application),
            ],
        );
        append(
            &mut a,
            &mut by_id,
            vec![
                settled(3, Some("urn:s2"), MessageKind::Application),
                settled(4, Some("urn:s1"), MessageKind::SctCancel),
            ],
        );
        let r = &a.report;
        assert_eq!(r.messages.len(), 5);
        assert_eq!(a.details.len(), 5);
        assert!(r.messages.iter().enumerate().all(|(i, m)| m.index == i));
        assert_eq!(r.sessions.len(), 2);
        assert_eq!(r.sessions[0].id, "urn:s1");
        assert_eq!(r.sessions[0].messages, vec![0, 1, 4]);
        assert_eq!(r.sessions[0].issued_by_msg, Some(1));
        assert_eq!(r.sessions[0].cancelled_by_msg, Some(4));
        assert_eq!(r.sessions[1].messages, vec![3]);
        // The views work on it: the facts point at the provisional sessions and the
        // walkthrough of the first session has its three steps.
        let l = crate::gui::facts::Loaded::new(a);
        assert_eq!(l.facts[4].session, Some(0));
        assert_eq!(l.facts[3].session, Some(1));
        let w = crate::gui::walkthrough::Walkthrough::build(&l, 0).unwrap();
        assert_eq!(w.steps.len(), 3);
        let rows = crate::gui::sessions::rows(&l);
        assert_eq!(rows.len(), 2);
    }

    #[test]
    fn finishing_keeps_shown_messages_and_takes_the_final_sessions() {
        let mut a = empty_analysis("lo");
        let mut by_id = HashMap::new();
        append(
            &mut a,
            &mut by_id,
            vec![settled(0, Some("urn:s1"), MessageKind::SctIssue)],
        );
        let sample = crate::gui::sample::analysis();
        let summary = Summary {
            capture: sample.report.capture.clone(),
            streams: sample.report.streams.clone(),
            sessions: sample.report.sessions.clone(),
            diagnostics: Vec::new(),
            security_diagnostics_from: 0,
        };
        let f = finish(
            a,
            vec![settled(1, Some("urn:s1"), MessageKind::SctIssueResponse)],
            summary,
        );
        assert_eq!(f.report.messages.len(), 2);
        assert_eq!(f.details.len(), 2);
        assert_eq!(f.report.sessions, sample.report.sessions);
    }
}
