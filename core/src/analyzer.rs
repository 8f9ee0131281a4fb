//! Drives the pipeline stages over a source and builds the report.
//!
//! [`Analyzer`] is fed packets (from a file or, later, a live device) and pushes them
//! through `net` → `transport` → `soap` → `wssec`/`session`. [`analyze_files`] is what the
//! CLI and the GUI's loader call: it reads a capture (or a conversation of .xml message
//! files), reports progress, can be cancelled, and returns an [`Analysis`].

use crate::capture::{sniff_format, FileSource, Packet, SourceEvent};
use crate::model::{
    CaptureFormat, CaptureInfo, Decryption, Diagnostic, FlowDirection, Gap, HttpInfo, MessageDetail,
    MessageDirection, MessageInfo, MessageKind, Report, ScVersion, SignatureSummary, StreamInfo, Timestamp,
    TransportKind, REPORT_VERSION,
};
use crate::net::{NetStage, StreamEvent};
use crate::session::{group_sessions, MessageContext, SecurityStage, SessionClues};
use crate::soap::{action_from_http, classify, Envelope, SoapError};
use crate::transport::{TransportFrame, TransportStage};
use crate::wssec::{self, ns};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// How to analyse.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Key specifications as the CLI takes them: `PATH[:PASSWORD]` or `hex:HEX`.
    pub keys: Vec<String>,
    /// Session keys the user typed: (SCT Identifier, key bytes).
    pub sct_keys: Vec<(String, Vec<u8>)>,
    /// Allowed clock skew for Timestamp checks, in seconds (default 300).
    pub clock_skew_secs: Option<u64>,
    /// Replace every `key_hex` in the report by null.
    pub redact_keys: bool,
}

/// Progress of a long analysis, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub packets: u64,
    pub messages: usize,
}

/// Why nothing at all could be analysed (everything else is a diagnostic in the report).
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    #[error("{0}")]
    Unreadable(String),
    #[error("cancelled")]
    Cancelled,
}

/// The result of an analysis.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub report: Report,
    /// One per message, same indices as `report.messages`.
    pub details: Vec<MessageDetail>,
}

/// Largest .xml message file accepted.
const MAX_XML_FILE: u64 = 64 * 1024 * 1024;
/// Report progress every this many packets.
const PROGRESS_EVERY: u64 = 2048;

/// Analyses one capture file, or several .xml files (each one SOAP envelope) taken in
/// order as one conversation.
pub fn analyze_files(
    paths: &[PathBuf],
    options: &Options,
    on_progress: &mut dyn FnMut(Progress),
    cancel: &AtomicBool,
) -> Result<Analysis, AnalyzeError> {
    let first = paths.first().ok_or_else(|| AnalyzeError::Unreadable("no input file given".into()))?;
    let formats = paths.iter().map(|p| sniff_path(p)).collect::<Result<Vec<_>, _>>()?;
    if formats.iter().all(|f| *f == CaptureFormat::Xml) {
        return analyze_xml_files(paths, options);
    }
    if paths.len() > 1 {
        return Err(AnalyzeError::Unreadable(
            "several files can only be analysed together when each is one .xml SOAP message".into(),
        ));
    }
    let mut source = FileSource::open(first).map_err(|e| AnalyzeError::Unreadable(e.to_string()))?;
    let mut analyzer = Analyzer::new(display_path(first), source.format(), options.clone());
    let mut packets = 0u64;
    while let Some(event) = source.next_event() {
        match event {
            SourceEvent::Packet(p) => {
                analyzer.push_packet(&p);
                packets += 1;
                if packets % PROGRESS_EVERY == 0 {
                    if cancel.load(Ordering::Relaxed) {
                        return Err(AnalyzeError::Cancelled);
                    }
                    on_progress(Progress {
                        bytes_done: source.bytes_read(),
                        bytes_total: source.total_bytes().unwrap_or(0),
                        packets,
                        messages: analyzer.messages.len(),
                    });
                }
            }
            SourceEvent::Diagnostic(d) => analyzer.diagnostics.push(d),
        }
    }
    on_progress(Progress {
        bytes_done: source.bytes_read(),
        bytes_total: source.total_bytes().unwrap_or(0),
        packets,
        messages: analyzer.messages.len(),
    });
    let analysis = analyzer.finish();
    if packets == 0 {
        let why = analysis
            .report
            .diagnostics
            .iter()
            .find(|d| d.level == crate::model::Level::Error)
            .map(|d| d.message.clone())
            .unwrap_or_else(|| "the capture holds no packets".into());
        return Err(AnalyzeError::Unreadable(format!("{}: {why}", display_path(first))));
    }
    Ok(analysis)
}

fn sniff_path(path: &Path) -> Result<CaptureFormat, AnalyzeError> {
    let mut head = [0u8; 64];
    let mut file = std::fs::File::open(path)
        .map_err(|e| AnalyzeError::Unreadable(format!("cannot open {}: {e}", path.display())))?;
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) => return Err(AnalyzeError::Unreadable(format!("cannot read {}: {e}", path.display()))),
        }
    }
    if n == 0 {
        return Err(AnalyzeError::Unreadable(format!("{}: the file is empty", path.display())));
    }
    sniff_format(&head[..n]).ok_or_else(|| {
        let magic: Vec<String> = head[..n.min(4)].iter().map(|b| format!("{b:02x}")).collect();
        AnalyzeError::Unreadable(format!(
            "{}: not a pcap, pcapng or XML file (first bytes {})",
            path.display(),
            magic.join(" ")
        ))
    })
}

fn analyze_xml_files(paths: &[PathBuf], options: &Options) -> Result<Analysis, AnalyzeError> {
    let mut analyzer =
        Analyzer::new(paths.iter().map(|p| display_path(p)).collect::<Vec<_>>().join(", "), CaptureFormat::Xml, options.clone());
    let mut read_any = false;
    for path in paths {
        let bytes = match read_bounded(path, MAX_XML_FILE) {
            Ok(b) => b,
            Err(e) => {
                analyzer.diagnostics.push(Diagnostic::error(e));
                continue;
            }
        };
        read_any = true;
        analyzer.push_xml_message(&display_path(path), bytes);
    }
    if !read_any {
        let why = analyzer.diagnostics.first().map(|d| d.message.clone()).unwrap_or_default();
        return Err(AnalyzeError::Unreadable(why));
    }
    Ok(analyzer.finish())
}

fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() as u64 > max {
        return Err(format!("{}: larger than {max} bytes, not read", path.display()));
    }
    Ok(bytes)
}

fn display_path(p: &Path) -> String {
    p.display().to_string()
}

/// Per-stream bookkeeping for the report's `streams`.
#[derive(Debug, Clone)]
struct StreamState {
    client: String,
    server: String,
    gaps: Vec<Gap>,
}

/// A message on its way through the pipeline, before sessions are known.
struct Pending {
    info: MessageInfo,
    detail: MessageDetail,
    clues: SessionClues,
    /// (stream, exchange) of an HTTP message, to pair requests with responses.
    exchange: Option<(usize, u64)>,
}

/// The incremental pipeline: feed packets (or .xml messages), then `finish`.
pub struct Analyzer {
    path: String,
    format: CaptureFormat,
    security: SecurityStage,
    net: NetStage,
    transport: TransportStage,
    streams: Vec<StreamState>,
    stream_index: HashMap<usize, usize>,
    messages: Vec<Pending>,
    diagnostics: Vec<Diagnostic>,
    packets: u64,
    first_ts: Option<Timestamp>,
    last_ts: Option<Timestamp>,
    events: Vec<StreamEvent>,
    frames: Vec<TransportFrame>,
    /// How many messages `drain_new_messages` has handed out.
    drained: usize,
}

impl Analyzer {
    pub fn new(path: String, format: CaptureFormat, options: Options) -> Analyzer {
        let mut diagnostics = Vec::new();
        let security = SecurityStage::new(&options, &mut diagnostics);
        Analyzer {
            path,
            format,
            security,
            net: NetStage::new(),
            transport: TransportStage::new(),
            streams: Vec::new(),
            stream_index: HashMap::new(),
            messages: Vec::new(),
            diagnostics,
            packets: 0,
            first_ts: None,
            last_ts: None,
            events: Vec::new(),
            frames: Vec::new(),
            drained: 0,
        }
    }

    /// Number of messages framed so far.
    pub fn message_count(&self) -> usize {
        self.messages.len()
    }

    /// Messages framed since the last call, for live output. Their `session` is the SCT
    /// they refer to in clear (final grouping and pairing happen in `finish`).
    pub fn drain_new_messages(&mut self) -> Vec<MessageInfo> {
        let start = self.drained.min(self.messages.len());
        self.drained = self.messages.len();
        self.messages[start..]
            .iter()
            .map(|p| {
                let mut m = p.info.clone();
                m.session = p.clues.scts.first().cloned();
                m
            })
            .collect()
    }

    /// Feeds one captured packet.
    pub fn push_packet(&mut self, packet: &Packet) {
        self.packets += 1;
        if let Some(ts) = packet.ts {
            self.first_ts = Some(self.first_ts.map_or(ts, |f| f.min(ts)));
            self.last_ts = Some(self.last_ts.map_or(ts, |l| l.max(ts)));
        }
        let mut events = std::mem::take(&mut self.events);
        self.net.push(packet, &mut events);
        self.drain_events(&mut events);
        self.events = events;
    }

    /// Feeds a diagnostic from the source.
    pub fn push_diagnostic(&mut self, d: Diagnostic) {
        self.diagnostics.push(d);
    }

    fn drain_events(&mut self, events: &mut Vec<StreamEvent>) {
        let mut frames = std::mem::take(&mut self.frames);
        for ev in events.drain(..) {
            match &ev {
                StreamEvent::Opened { stream, client, server, .. } => {
                    self.stream_index.insert(*stream, self.streams.len());
                    self.streams.push(StreamState {
                        client: client.to_string(),
                        server: server.to_string(),
                        gaps: Vec::new(),
                    });
                }
                StreamEvent::Gap { stream, dir, offset, length, .. } => {
                    if let Some(s) = self.stream_index.get(stream).and_then(|&i| self.streams.get_mut(i)) {
                        s.gaps.push(Gap { direction: *dir, offset: *offset, length: *length });
                    }
                }
                StreamEvent::Diagnostic(d) => self.diagnostics.push(d.clone()),
                _ => {}
            }
            self.transport.push(&ev, &mut frames, &mut self.diagnostics);
        }
        for frame in frames.drain(..) {
            self.push_frame(frame);
        }
        self.frames = frames;
    }

    fn push_frame(&mut self, frame: TransportFrame) {
        let http = frame.http.as_ref();
        let content_type = http.and_then(|h| h.content_type()).map(str::to_string);
        let parsed = looks_like_xml(&frame.body).then(|| Envelope::parse(&frame.body));
        // SOAP by its media type or SOAPAction header, or by an Envelope near the start.
        let declared_soap = content_type.as_deref().is_some_and(|c| c.to_ascii_lowercase().contains("soap"))
            || http.is_some_and(|h| h.header("SOAPAction").is_some())
            || frame.body[..frame.body.len().min(512)].windows(8).any(|w| w == b"Envelope");
        let what = || {
            format!(
                "stream {}: {}",
                frame.stream,
                http.map(|h| describe_http(h, frame.direction)).unwrap_or_else(|| "message".to_string())
            )
        };
        match &parsed {
            Some(Ok(_)) => {}
            // Invalid XML or a non-SOAP document where SOAP was announced: keep it as a
            // message with its error, so the conversation shows where it broke.
            Some(Err(_)) if declared_soap || !frame.complete => {}
            Some(Err(e)) => {
                self.diagnostics.push(Diagnostic::info(format!("{}: body skipped: {e}", what())));
                return;
            }
            None if frame.body.is_empty() && !(declared_soap && !frame.complete) => return,
            None if !declared_soap => {
                self.diagnostics.push(Diagnostic::info(format!(
                    "{}: body is not SOAP/XML ({}, {} bytes)",
                    what(),
                    content_type.as_deref().unwrap_or("no content type"),
                    frame.body.len()
                )));
                return;
            }
            None => {}
        }
        let index = self.messages.len();
        let mut info = empty_message(index, frame.direction);
        info.ts = frame.ts;
        info.stream = Some(frame.stream);
        info.complete = frame.complete;
        info.errors.extend(frame.errors.iter().cloned());
        info.http = http.map(|h| HttpInfo {
            method: h.method.clone(),
            path: h.path.clone(),
            status: h.status,
            content_type: content_type.clone(),
        });
        let mut detail = MessageDetail {
            raw: frame.body.clone(),
            http_start_line: http.map(|h| start_line(h)),
            http_headers: http.map(|h| h.headers.clone()).unwrap_or_default(),
            ..MessageDetail::default()
        };
        let (client, server) = self
            .stream_index
            .get(&frame.stream)
            .and_then(|&i| self.streams.get(i))
            .map(|s| (Some(s.client.clone()), Some(s.server.clone())))
            .unwrap_or((None, None));
        let http_action = http.and_then(action_from_http);
        let mut clues = SessionClues { client, server, ..SessionClues::default() };
        let parsed = parsed.unwrap_or_else(|| Err(SoapError::NotXml));
        self.fill_from_soap(&mut info, &mut detail, &mut clues, &frame.body, parsed, http_action);
        self.messages.push(Pending { info, detail, clues, exchange: Some((frame.stream, frame.exchange)) });
    }

    /// Feeds one .xml file holding a SOAP envelope (a one-message capture).
    pub fn push_xml_message(&mut self, name: &str, bytes: Vec<u8>) {
        let index = self.messages.len();
        let mut info = empty_message(index, MessageDirection::Request);
        let mut detail = MessageDetail { raw: bytes.clone(), ..MessageDetail::default() };
        let mut clues = SessionClues::default();
        let parsed = Envelope::parse(&bytes);
        if !self.fill_from_soap(&mut info, &mut detail, &mut clues, &bytes, parsed, None) {
            self.diagnostics.push(Diagnostic::error(format!("{name}: {}", info.errors.join("; "))));
            return;
        }
        // Without HTTP, a message answering another says so with RelatesTo or its kind.
        let response_kind = matches!(
            info.kind,
            MessageKind::SctIssueResponse
                | MessageKind::SctCancelResponse
                | MessageKind::SctRenewResponse
                | MessageKind::SctAmendResponse
                | MessageKind::Fault
        );
        if info.relates_to.is_some() || response_kind {
            info.direction = MessageDirection::Response;
        }
        self.messages.push(Pending { info, detail, clues, exchange: None });
    }

    /// Parses the SOAP envelope into `info`; false when the bytes are not a SOAP envelope.
    fn fill_from_soap(
        &mut self,
        info: &mut MessageInfo,
        detail: &mut MessageDetail,
        clues: &mut SessionClues,
        bytes: &[u8],
        parsed: Result<Envelope, SoapError>,
        http_action: Option<String>,
    ) -> bool {
        let env = match parsed {
            Ok(env) => env,
            Err(e) => {
                info.errors.push(e.to_string());
                info.body = Some(String::from_utf8_lossy(bytes).into_owned());
                info.decryption = Decryption::NotEncrypted;
                return false;
            }
        };
        info.soap_version = Some(env.version);
        let action = env.addressing.action.clone().or(http_action);
        info.kind = classify(&env, action.as_deref());
        info.action = action;
        info.message_id = env.addressing.message_id.clone();
        info.relates_to = env.addressing.relates_to.clone();
        info.to = env.addressing.to.clone();
        info.encrypted = env.body_encrypted();
        info.decryption = if info.encrypted { Decryption::NoKey } else { Decryption::NotEncrypted };
        info.body = Some(env.body_inner_xml());
        info.security = wssec::inventory(&env);
        info.signature = if info.security.signatures.is_empty() && !security_header_has_encrypted_data(&env) {
            SignatureSummary::Unsigned
        } else {
            SignatureSummary::NoKey
        };
        if let Some(f) = &env.fault {
            info.errors.push(format!(
                "SOAP fault: {}{}",
                f.code.as_deref().unwrap_or("(no code)"),
                f.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default()
            ));
        }
        clues.scts = wssec::sct_references(&env);
        clues.version = sc_version(&env, info.action.as_deref());
        let ts = info.ts;
        self.security.process(MessageContext { env: &env, ts, info, detail, clues }, &mut self.diagnostics);
        true
    }

    /// Ends the input: flushes every stage and builds the analysis.
    pub fn finish(mut self) -> Analysis {
        let mut events = std::mem::take(&mut self.events);
        self.net.finish(&mut events);
        self.drain_events(&mut events);
        let mut frames = std::mem::take(&mut self.frames);
        self.transport.finish(&mut frames, &mut self.diagnostics);
        for frame in frames.drain(..) {
            self.push_frame(frame);
        }
        self.build()
    }

    fn build(mut self) -> Analysis {
        let streams: Vec<StreamInfo> = self
            .streams
            .iter()
            .enumerate()
            .map(|(id, s)| {
                let swapped = self.transport.roles_swapped(id);
                let (client, server) =
                    if swapped { (s.server.clone(), s.client.clone()) } else { (s.client.clone(), s.server.clone()) };
                let gaps = s
                    .gaps
                    .iter()
                    .map(|g| Gap {
                        direction: if swapped { flip(g.direction) } else { g.direction },
                        ..g.clone()
                    })
                    .collect();
                StreamInfo { id, client, server, transport: self.transport.transport_of(id), gaps }
            })
            .collect();
        let mut messages = Vec::with_capacity(self.messages.len());
        let mut details = Vec::with_capacity(self.messages.len());
        let mut clues = Vec::with_capacity(self.messages.len());
        let mut exchanges: HashMap<(usize, u64), Vec<usize>> = HashMap::new();
        for (i, p) in self.messages.into_iter().enumerate() {
            if let Some(key) = p.exchange {
                exchanges.entry(key).or_default().push(i);
            }
            let mut c = p.clues;
            // Streams whose roles the transport stage flipped: the report's client/server.
            if let Some(st) = p.info.stream.and_then(|s| streams.get(s)) {
                c.client = Some(st.client.clone());
                c.server = Some(st.server.clone());
            }
            messages.push(p.info);
            details.push(p.detail);
            clues.push(c);
        }
        pair_messages(&mut messages, &exchanges);
        let mut sessions = group_sessions(&mut messages, &clues);
        self.security.finish(&mut sessions, &mut self.diagnostics);
        let transport_kinds: Vec<TransportKind> = streams.iter().map(|s| s.transport).collect();
        let _ = transport_kinds;
        let report = Report {
            report_version: REPORT_VERSION,
            capture: CaptureInfo {
                path: self.path,
                format: self.format,
                packets: self.packets,
                first_ts: self.first_ts,
                last_ts: self.last_ts,
            },
            streams,
            sessions,
            messages,
            diagnostics: self.diagnostics,
        };
        Analysis { report, details }
    }
}

fn flip(d: FlowDirection) -> FlowDirection {
    match d {
        FlowDirection::ClientToServer => FlowDirection::ServerToClient,
        FlowDirection::ServerToClient => FlowDirection::ClientToServer,
    }
}

/// Pairs requests with responses: by HTTP exchange on a stream, else (message files) by
/// RelatesTo = MessageID, else a response right after a request.
fn pair_messages(messages: &mut [MessageInfo], exchanges: &HashMap<(usize, u64), Vec<usize>>) {
    for members in exchanges.values() {
        let req = members.iter().copied().find(|&i| messages[i].direction == MessageDirection::Request);
        let resp = members.iter().copied().find(|&i| messages[i].direction == MessageDirection::Response);
        if let (Some(a), Some(b)) = (req, resp) {
            messages[a].paired_with = Some(b);
            messages[b].paired_with = Some(a);
        }
    }
    let by_id: HashMap<String, usize> = messages
        .iter()
        .enumerate()
        .filter(|(_, m)| m.direction == MessageDirection::Request && m.stream.is_none())
        .filter_map(|(i, m)| m.message_id.clone().map(|id| (id, i)))
        .collect();
    for i in 0..messages.len() {
        if messages[i].stream.is_some() || messages[i].direction != MessageDirection::Response {
            continue;
        }
        let by_relates = messages[i].relates_to.as_ref().and_then(|r| by_id.get(r)).copied();
        let previous = i
            .checked_sub(1)
            .filter(|&p| messages[p].direction == MessageDirection::Request && messages[p].paired_with.is_none());
        if let Some(req) = by_relates.filter(|&r| messages[r].paired_with.is_none()).or(previous) {
            messages[req].paired_with = Some(i);
            messages[i].paired_with = Some(req);
        }
    }
}

fn empty_message(index: usize, direction: MessageDirection) -> MessageInfo {
    MessageInfo {
        index,
        ts: None,
        stream: None,
        direction,
        http: None,
        soap_version: None,
        action: None,
        message_id: None,
        relates_to: None,
        to: None,
        kind: MessageKind::Application,
        session: None,
        encrypted: false,
        decryption: Decryption::NotEncrypted,
        signature: SignatureSummary::Unsigned,
        body: None,
        security: Default::default(),
        errors: Vec::new(),
        complete: true,
        paired_with: None,
    }
}

fn security_header_has_encrypted_data(env: &Envelope) -> bool {
    env.security_header().is_some_and(|sec| {
        crate::soap::child_elements(&env.doc, sec).any(|c| crate::soap::is(&env.doc, c, ns::XENC, "EncryptedData"))
    })
}

fn sc_version(env: &Envelope, action: Option<&str>) -> Option<ScVersion> {
    if let Some(a) = action {
        if a.starts_with(ns::TRUST_1_3) || a.starts_with(ns::SC_1_3) {
            return Some(ScVersion::V13);
        }
        if a.starts_with(ns::TRUST_2005_02) || a.starts_with(ns::SC_2005_02) {
            return Some(ScVersion::Feb2005);
        }
    }
    let doc = &env.doc;
    crate::soap::descendants(doc, env.envelope).find_map(|n| {
        let e = crate::soap::element(doc, n)?;
        match e.name.ns.as_deref()? {
            ns::SC_1_3 | ns::TRUST_1_3 => Some(ScVersion::V13),
            ns::SC_2005_02 | ns::TRUST_2005_02 => Some(ScVersion::Feb2005),
            _ => None,
        }
    })
}

/// True when the bytes start (after a BOM and whitespace) with `<`.
fn looks_like_xml(body: &[u8]) -> bool {
    let body = body.strip_prefix(&[0xef, 0xbb, 0xbf]).unwrap_or(body);
    body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<')
}

fn describe_http(h: &crate::transport::HttpMessage, dir: MessageDirection) -> String {
    match dir {
        MessageDirection::Request => format!(
            "HTTP {} {}",
            h.method.as_deref().unwrap_or("?"),
            h.path.as_deref().unwrap_or("?")
        ),
        MessageDirection::Response => format!("HTTP response {}", h.status.map(|s| s.to_string()).unwrap_or_default()),
    }
}

fn start_line(h: &crate::transport::HttpMessage) -> String {
    match (&h.method, h.status) {
        (Some(m), _) => format!("{m} {} {}", h.path.as_deref().unwrap_or(""), h.version),
        (None, Some(s)) => format!("{} {s} {}", h.version, h.reason.as_deref().unwrap_or("")),
        _ => h.version.clone(),
    }
}
