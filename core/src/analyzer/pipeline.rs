//! The incremental pipeline: packets (or .xml messages) in, settled messages out.
//!
//! A message is *settled* when nothing later can change it: a response at once; a request
//! when its response arrived, when its stream closed, or when too many messages queue
//! behind it. Settled messages leave in index order through [`Analyzer::take_settled`];
//! only unsettled ones are held, so memory stays bounded on captures of any size.

use super::message::{
    declared_soap, describe_http, empty_message, is_response_kind, sc_version,
    security_header_has_encrypted_data, start_line,
};
use super::reader::{raw_body, FrameItem, Item, ReadSummary, Reader};
use super::Options;
use crate::capture::Packet;
use crate::model::{
    CaptureFormat, CaptureInfo, Decryption, DeferredBody, Diagnostic, FlowDirection, Gap, HttpInfo,
    MessageDetail, MessageDirection, MessageInfo, SessionInfo, SignatureSummary, StreamInfo,
    TransportKind,
};
use crate::net::StreamEvent;
use crate::session::{session_of, MessageContext, SecurityStage, SessionClues, SessionRegistry};
use crate::soap::{action_from_http, classify, Envelope, SoapError};
use crate::wssec;
use std::collections::{HashMap, VecDeque};

/// Messages held unsettled at most; past this the oldest is settled without its pair.
const MAX_UNSETTLED: usize = 4096;

/// A message ready for output.
#[derive(Debug, Clone)]
pub struct Settled {
    pub info: MessageInfo,
    pub detail: MessageDetail,
}

/// Everything of the report but the messages, known at the end.
#[derive(Debug, Clone)]
pub struct Summary {
    pub capture: CaptureInfo,
    pub streams: Vec<StreamInfo>,
    pub sessions: Vec<SessionInfo>,
    pub diagnostics: Vec<crate::model::Diagnostic>,
    /// `diagnostics[..this]` came from reading the capture; the rest from the security stage.
    pub security_diagnostics_from: usize,
}

/// Per-stream bookkeeping for the report's `streams`.
#[derive(Debug, Clone)]
struct StreamState {
    client: String,
    server: String,
    gaps: Vec<Gap>,
    closed_dirs: u8,
}

/// A message on its way through the pipeline, before it is settled.
struct Pending {
    info: MessageInfo,
    detail: MessageDetail,
    clues: SessionClues,
    /// (stream, exchange) of an HTTP message, which pairs a request with its response.
    exchange: Option<(usize, u64)>,
    /// For a request: the clues of its response once it arrived.
    response_clues: Option<SessionClues>,
}

/// Feed packets (or .xml messages), take settled messages, then `finish`.
pub struct Analyzer {
    path: String,
    format: CaptureFormat,
    skip_details: bool,
    security: SecurityStage,
    /// `Options::json_bodies`.
    json_bodies: bool,
    /// Packets → TCP → HTTP (unused when another thread reads: see `parallel.rs`).
    reader: Reader,
    streams: Vec<StreamState>,
    /// net stream id → index in `streams` (they coincide today; kept explicit).
    stream_index: HashMap<usize, usize>,
    /// Unsettled messages in index order.
    pending: VecDeque<Pending>,
    /// Settled messages not yet taken.
    settled: Vec<Settled>,
    /// Requests waiting for their response: (stream, exchange) → message index.
    open_requests: HashMap<(usize, u64), usize>,
    next_index: usize,
    sessions: SessionRegistry,
    /// Diagnostics of reading the capture (capture, TCP, HTTP, SOAP).
    diagnostics: Vec<Diagnostic>,
    /// Diagnostics of the security stage (keys, sessions), reported after the others.
    security_diagnostics: Vec<Diagnostic>,
    items: Vec<Item>,
}

impl Analyzer {
    pub fn new(path: String, format: CaptureFormat, options: Options) -> Analyzer {
        let mut security_diagnostics = Vec::new();
        let security = SecurityStage::new(&options, &mut security_diagnostics);
        Analyzer {
            path,
            format,
            skip_details: options.skip_details,
            security,
            json_bodies: options.json_bodies,
            reader: Reader::new(!options.json_bodies),
            streams: Vec::new(),
            stream_index: HashMap::new(),
            pending: VecDeque::new(),
            settled: Vec::new(),
            open_requests: HashMap::new(),
            next_index: 0,
            sessions: SessionRegistry::default(),
            diagnostics: Vec::new(),
            security_diagnostics,
            items: Vec::new(),
        }
    }

    /// A reader for another thread, making bodies as this analyzer wants them.
    pub(super) fn new_reader(&self) -> Reader {
        Reader::new(!self.json_bodies)
    }

    /// Number of messages framed so far.
    pub fn message_count(&self) -> usize {
        self.next_index
    }

    /// Messages settled since the last call, in index order.
    /// Drained in place, so the list keeps its room for the next ones.
    pub fn take_settled(&mut self) -> std::vec::Drain<'_, Settled> {
        self.settled.drain(..)
    }

    /// Feeds one captured packet.
    pub fn push_packet(&mut self, packet: &Packet) {
        let mut items = std::mem::take(&mut self.items);
        self.reader.push_packet(packet, &mut items);
        self.apply(&mut items);
        self.items = items;
    }

    /// Feeds a diagnostic from the source.
    pub fn push_diagnostic(&mut self, d: Diagnostic) {
        self.diagnostics.push(d);
    }

    /// Applies what the reading half saw, in order (see `reader.rs`).
    pub(super) fn apply(&mut self, items: &mut Vec<Item>) {
        for item in items.drain(..) {
            match item {
                Item::Stream(ev) => self.stream_event(ev),
                Item::Diagnostic(d) => self.diagnostics.push(d),
                Item::Frame(frame) => self.push_frame(*frame),
                Item::PacketEnd => self.settle(false),
            }
        }
    }

    fn stream_event(&mut self, ev: StreamEvent) {
        match ev {
            StreamEvent::Opened {
                stream,
                client,
                server,
                ..
            } => {
                self.stream_index.insert(stream, self.streams.len());
                self.streams.push(StreamState {
                    client: client.to_string(),
                    server: server.to_string(),
                    gaps: Vec::new(),
                    closed_dirs: 0,
                });
            }
            StreamEvent::Gap {
                stream,
                dir,
                offset,
                length,
                ..
            } => {
                if let Some(s) = self.stream_mut(stream) {
                    s.gaps.push(Gap {
                        direction: dir,
                        offset,
                        length,
                    });
                }
            }
            StreamEvent::Closed { stream, .. } => {
                if let Some(s) = self.stream_mut(stream) {
                    s.closed_dirs = s.closed_dirs.saturating_add(1);
                }
            }
            StreamEvent::Diagnostic(d) => self.diagnostics.push(d),
            StreamEvent::Data { .. } => {}
        }
    }

    fn stream_mut(&mut self, stream: usize) -> Option<&mut StreamState> {
        let i = *self.stream_index.get(&stream)?;
        self.streams.get_mut(i)
    }

    /// (client, server) of a stream as the report shows them (roles fixed by HTTP).
    fn endpoints(&self, stream: usize, roles_swapped: bool) -> (Option<String>, Option<String>) {
        let Some(s) = self
            .stream_index
            .get(&stream)
            .and_then(|&i| self.streams.get(i))
        else {
            return (None, None);
        };
        if roles_swapped {
            (Some(s.server.clone()), Some(s.client.clone()))
        } else {
            (Some(s.client.clone()), Some(s.server.clone()))
        }
    }

    fn push_frame(&mut self, mut item: FrameItem) {
        let (parsed, body_text) = match item.take_parsed() {
            Some(p) => (Some(p.envelope), p.body_text),
            None => (None, None),
        };
        let (frame, roles_swapped) = (item.frame, item.roles_swapped);
        let http = frame.http.as_ref();
        let raw = raw_body(&frame, parsed.as_ref());
        let declared = declared_soap(http, raw);
        let what = || {
            format!(
                "stream {}: {}",
                frame.stream,
                http.map(|h| describe_http(h, frame.direction))
                    .unwrap_or_else(|| "message".to_string())
            )
        };
        match &parsed {
            Some(Ok(_)) => {}
            // Invalid XML or a non-SOAP document where SOAP was announced (or a message cut
            // short): kept as a message with its error, so the conversation shows where it broke.
            Some(Err(_)) if declared || !frame.complete => {}
            Some(Err(e)) => {
                self.diagnostics
                    .push(Diagnostic::info(format!("{}: body skipped: {e}", what())));
                return;
            }
            None if raw.is_empty() && (frame.complete || !declared) => return,
            None if !declared => {
                let content_type = http
                    .and_then(|h| h.content_type())
                    .unwrap_or("no content type");
                self.diagnostics.push(Diagnostic::info(format!(
                    "{}: body is not SOAP/XML ({content_type}, {} bytes)",
                    what(),
                    raw.len()
                )));
                return;
            }
            None => {}
        }
        let mut info = empty_message(self.next_index, frame.direction);
        info.ts = frame.ts;
        info.stream = Some(frame.stream);
        info.complete = frame.complete;
        info.errors.extend(frame.errors.iter().cloned());
        info.http = http.map(|h| HttpInfo {
            method: h.method.clone(),
            path: h.path.clone(),
            status: h.status,
            content_type: h.content_type().map(str::to_string),
        });
        let mut detail = MessageDetail::default();
        if !self.skip_details {
            detail.raw = raw.to_vec();
            detail.frame_errors = frame.errors.clone();
            detail.http_start_line = http.map(start_line);
            detail.http_headers = http.map(|h| h.headers.clone()).unwrap_or_default();
        }
        let (client, server) = self.endpoints(frame.stream, roles_swapped);
        let mut clues = SessionClues {
            client,
            server,
            ..SessionClues::default()
        };
        let parsed = parsed.unwrap_or(Err(SoapError::NotXml));
        // `frame.body` holds the bytes whenever the parse failed, the one case they are read.
        if let Some(env) = self.fill_from_soap(
            &mut info,
            &mut clues,
            &frame.body,
            parsed,
            body_text,
            http.and_then(action_from_http),
        ) {
            self.run_security(env, &mut info, &mut detail, &mut clues);
        }
        self.enqueue(info, detail, clues, Some((frame.stream, frame.exchange)));
    }

    /// Feeds one .xml file holding a SOAP envelope (a one-message capture).
    pub fn push_xml_message(&mut self, name: &str, bytes: Vec<u8>) {
        let mut info = empty_message(self.next_index, MessageDirection::Request);
        let mut detail = MessageDetail::default();
        let mut clues = SessionClues::default();
        let parsed = Envelope::parse(&bytes);
        let Some(env) = self.fill_from_soap(&mut info, &mut clues, &bytes, parsed, None, None)
        else {
            self.diagnostics.push(Diagnostic::error(format!(
                "{name}: {}",
                info.errors.join("; ")
            )));
            return;
        };
        // Without HTTP, a message answering another says so with RelatesTo or its kind.
        if info.relates_to.is_some() || is_response_kind(info.kind) {
            info.direction = MessageDirection::Response;
        }
        self.run_security(env, &mut info, &mut detail, &mut clues);
        if !self.skip_details {
            detail.raw = bytes;
        }
        self.enqueue(info, detail, clues, None);
    }

    /// Reads the SOAP envelope into `info` and `clues`; None (with the error in `info`)
    /// when the bytes are not a SOAP envelope. `body_text` is the Body's inner XML when a
    /// parser thread already copied it out; otherwise [`Analyzer::keep_body`] gives the
    /// report its body once the security stage ran.
    fn fill_from_soap(
        &mut self,
        info: &mut MessageInfo,
        clues: &mut SessionClues,
        bytes: &[u8],
        parsed: Result<Envelope, SoapError>,
        body_text: Option<String>,
        http_action: Option<String>,
    ) -> Option<Envelope> {
        let env = match parsed {
            Ok(env) => env,
            Err(e) => {
                info.errors.push(e.to_string());
                info.body = Some(String::from_utf8_lossy(bytes).into_owned());
                return None;
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
        info.decryption = if info.encrypted {
            Decryption::NoKey
        } else {
            Decryption::NotEncrypted
        };
        if body_text.is_some() {
            info.body = body_text;
        }
        info.security = wssec::inventory(&env);
        info.signature =
            if info.security.signatures.is_empty() && !security_header_has_encrypted_data(&env) {
                SignatureSummary::Unsigned
            } else {
                SignatureSummary::NoKey
            };
        if let Some(f) = &env.fault {
            info.errors.push(format!(
                "SOAP fault: {}{}",
                f.code.as_deref().unwrap_or("(no code)"),
                f.reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ));
        }
        clues.scts = wssec::sct_references(&env);
        clues.version = sc_version(&env, info.action.as_deref());
        Some(env)
    }

    /// Decrypts and verifies the message with the security stage (in capture order), then
    /// gives the report its body if nothing did.
    fn run_security(
        &mut self,
        env: Envelope,
        info: &mut MessageInfo,
        detail: &mut MessageDetail,
        clues: &mut SessionClues,
    ) {
        let ts = info.ts;
        self.security.process(
            MessageContext {
                env: &env,
                ts,
                info,
                detail,
                clues,
            },
            &mut self.security_diagnostics,
        );
        self.keep_body(env, info);
    }

    /// The report's body when neither a parser thread nor the security stage set it: with
    /// `Options::json_bodies` it stays in the message's own bytes (`body_deferred`) for the
    /// JSON writer, otherwise the Body's inner XML is copied out.
    fn keep_body(&self, mut env: Envelope, info: &mut MessageInfo) {
        if info.body.is_some() || info.body_deferred.is_some() {
            return;
        }
        let content = env.doc.element(env.body).map(|e| e.content_span.clone());
        match content {
            Some(content) if self.json_bodies => {
                info.body_deferred = Some(DeferredBody {
                    source: std::mem::take(&mut env.doc.source),
                    content,
                });
            }
            _ => info.body = Some(env.body_inner_xml()),
        }
    }

    /// Re-processes a message of an earlier analysis from its raw bytes (see
    /// `analyzer::rerun_security`): what the capture said (time, stream, HTTP, pairing) is
    /// kept; SOAP, security and session are worked out again.
    pub(super) fn replay_message(
        &mut self,
        old: &MessageInfo,
        old_detail: &MessageDetail,
        stream: Option<&StreamInfo>,
    ) {
        let mut info = empty_message(self.next_index, old.direction);
        info.ts = old.ts;
        info.stream = old.stream;
        info.http = old.http.clone();
        info.complete = old.complete;
        info.paired_with = old.paired_with;
        info.errors = old_detail.frame_errors.clone();
        let mut detail = MessageDetail {
            raw: old_detail.raw.clone(),
            frame_errors: old_detail.frame_errors.clone(),
            http_start_line: old_detail.http_start_line.clone(),
            http_headers: old_detail.http_headers.clone(),
            ..MessageDetail::default()
        };
        let mut clues = SessionClues {
            client: stream.map(|s| s.client.clone()),
            server: stream.map(|s| s.server.clone()),
            ..SessionClues::default()
        };
        let http_action = old.http.as_ref().and_then(|_| {
            action_from_http(&crate::transport::HttpMessage {
                headers: old_detail.http_headers.clone(),
                ..Default::default()
            })
        });
        let parsed = Envelope::parse(&old_detail.raw);
        if let Some(env) = self.fill_from_soap(
            &mut info,
            &mut clues,
            &old_detail.raw,
            parsed,
            None,
            http_action,
        ) {
            self.run_security(env, &mut info, &mut detail, &mut clues);
        }
        let index = self.next_index;
        self.next_index += 1;
        info.index = index;
        self.pending.push_back(Pending {
            info,
            detail,
            clues,
            exchange: None,
            response_clues: None,
        });
    }

    /// Ends a replay: pairs as before, settles everything, and builds the analysis with the
    /// capture's own facts carried over.
    pub(super) fn finish_replay(
        mut self,
        capture: CaptureInfo,
        streams: Vec<StreamInfo>,
        carried: Vec<Diagnostic>,
    ) -> super::Analysis {
        // Pairing is known from the earlier analysis; give each request its response's clues.
        for i in 0..self.pending.len() {
            if self.pending[i].info.direction != MessageDirection::Request {
                continue;
            }
            if let Some(resp) = self.pending[i].info.paired_with {
                let clues = self.pending.get(resp).map(|p| p.clues.clone());
                self.pending[i].response_clues = clues;
            }
        }
        self.settle(true);
        let mut sessions = std::mem::take(&mut self.sessions).into_sessions();
        self.security
            .finish(&mut sessions, &mut self.security_diagnostics);
        let mut diagnostics = carried;
        let security_diagnostics_from = diagnostics.len();
        diagnostics.append(&mut self.security_diagnostics);
        let (messages, details) = self.settled.into_iter().map(|s| (s.info, s.detail)).unzip();
        let summary = Summary {
            capture,
            streams,
            sessions,
            diagnostics,
            security_diagnostics_from,
        };
        super::Analysis {
            report: summary.into_report(messages),
            details,
            security_diagnostics_from,
        }
    }

    fn enqueue(
        &mut self,
        info: MessageInfo,
        detail: MessageDetail,
        clues: SessionClues,
        exchange: Option<(usize, u64)>,
    ) {
        let index = self.next_index;
        self.next_index += 1;
        let mut info = info;
        info.index = index;
        if let Some(key) = exchange {
            match info.direction {
                MessageDirection::Request => {
                    self.open_requests.insert(key, index);
                }
                MessageDirection::Response => {
                    if let Some(req) = self.open_requests.remove(&key) {
                        info.paired_with = Some(req);
                        if let Some(p) = self.pending_mut(req) {
                            p.info.paired_with = Some(index);
                            p.response_clues = Some(clues.clone());
                        }
                    }
                }
            }
        }
        self.pending.push_back(Pending {
            info,
            detail,
            clues,
            exchange,
            response_clues: None,
        });
    }

    fn pending_mut(&mut self, index: usize) -> Option<&mut Pending> {
        let front = self.pending.front()?.info.index;
        self.pending.get_mut(index.checked_sub(front)?)
    }

    /// Moves settled messages from the head of the queue to the output.
    fn settle(&mut self, all: bool) {
        while let Some(head) = self.pending.front() {
            let ready = all
                || self.pending.len() > MAX_UNSETTLED
                || match (head.info.direction, head.exchange) {
                    (_, None) => false, // message files settle at the end (pairing by RelatesTo)
                    (MessageDirection::Response, _) => true,
                    (MessageDirection::Request, Some((stream, _))) => {
                        head.info.paired_with.is_some()
                            || self
                                .stream_index
                                .get(&stream)
                                .and_then(|&i| self.streams.get(i))
                                .is_some_and(|s| s.closed_dirs >= 2)
                    }
                };
            if !ready {
                break;
            }
            let Some(mut p) = self.pending.pop_front() else {
                break;
            };
            if let Some(key) = p.exchange {
                if self.open_requests.get(&key) == Some(&p.info.index) {
                    self.open_requests.remove(&key);
                }
            }
            p.info.session = session_of(&p.clues, p.info.kind, p.response_clues.as_ref());
            self.sessions.add(&p.info, &p.clues);
            self.settled.push(Settled {
                info: p.info,
                detail: p.detail,
            });
        }
    }

    /// Pairs message-file conversations: RelatesTo = MessageID, else a response right after
    /// an unpaired request.
    fn pair_message_files(&mut self) {
        let by_id: HashMap<String, usize> = self
            .pending
            .iter()
            .enumerate()
            .filter(|(_, p)| p.exchange.is_none() && p.info.direction == MessageDirection::Request)
            .filter_map(|(i, p)| p.info.message_id.clone().map(|id| (id, i)))
            .collect();
        for i in 0..self.pending.len() {
            let p = &self.pending[i];
            if p.exchange.is_some()
                || p.info.direction != MessageDirection::Response
                || p.info.paired_with.is_some()
            {
                continue;
            }
            let by_relates = p
                .info
                .relates_to
                .as_ref()
                .and_then(|r| by_id.get(r))
                .copied();
            let unpaired_request = |j: usize| {
                let q = &self.pending[j];
                q.info.direction == MessageDirection::Request
                    && q.info.paired_with.is_none()
                    && q.exchange.is_none()
            };
            let previous = i.checked_sub(1).filter(|&j| unpaired_request(j));
            let Some(req) = by_relates.filter(|&r| unpaired_request(r)).or(previous) else {
                continue;
            };
            let (req_index, resp_index) =
                (self.pending[req].info.index, self.pending[i].info.index);
            let clues = self.pending[i].clues.clone();
            self.pending[req].info.paired_with = Some(resp_index);
            self.pending[req].response_clues = Some(clues);
            self.pending[i].info.paired_with = Some(req_index);
        }
    }

    /// Ends the input and returns the whole analysis of every message not yet taken with
    /// [`Analyzer::take_settled`] (all of them, if it was never called).
    pub fn finish(self) -> super::Analysis {
        let (settled, summary) = self.finish_parts();
        let (messages, details) = settled.into_iter().map(|s| (s.info, s.detail)).unzip();
        let security_diagnostics_from = summary.security_diagnostics_from;
        super::Analysis {
            report: summary.into_report(messages),
            details,
            security_diagnostics_from,
        }
    }

    /// Ends the input: flushes every stage; returns the last settled messages and the
    /// rest of the report (for callers that stream messages out).
    pub fn finish_parts(mut self) -> (Vec<Settled>, Summary) {
        let mut items = std::mem::take(&mut self.items);
        self.reader.finish(&mut items);
        self.apply(&mut items);
        let read = self.reader.summary();
        self.conclude(read)
    }

    /// Ends an analysis whose reading half ran elsewhere and whose items were all applied:
    /// pairs, settles everything and builds the rest of the report.
    pub(super) fn conclude(mut self, read: ReadSummary) -> (Vec<Settled>, Summary) {
        self.pair_message_files();
        self.settle(true);
        let streams = self.stream_infos(&read.stream_transport);
        let mut sessions = std::mem::take(&mut self.sessions).into_sessions();
        self.security
            .finish(&mut sessions, &mut self.security_diagnostics);
        let security_diagnostics_from = self.diagnostics.len();
        self.diagnostics.append(&mut self.security_diagnostics);
        let summary = Summary {
            capture: CaptureInfo {
                path: self.path,
                format: self.format,
                packets: read.packets,
                first_ts: read.first_ts,
                last_ts: read.last_ts,
            },
            streams,
            sessions,
            diagnostics: self.diagnostics,
            security_diagnostics_from,
        };
        (self.settled, summary)
    }

    /// `transport`: per stream in opening order, (roles swapped, transport).
    fn stream_infos(&self, transport: &[(bool, TransportKind)]) -> Vec<StreamInfo> {
        self.streams
            .iter()
            .enumerate()
            .map(|(id, s)| {
                let (swapped, kind) = transport
                    .get(id)
                    .copied()
                    .unwrap_or((false, TransportKind::Unknown));
                let (client, server) = if swapped {
                    (s.server.clone(), s.client.clone())
                } else {
                    (s.client.clone(), s.server.clone())
                };
                let gaps = s
                    .gaps
                    .iter()
                    .map(|g| Gap {
                        direction: if swapped {
                            flip(g.direction)
                        } else {
                            g.direction
                        },
                        ..g.clone()
                    })
                    .collect();
                StreamInfo {
                    id,
                    client,
                    server,
                    transport: kind,
                    gaps,
                }
            })
            .collect()
    }
}

fn flip(d: FlowDirection) -> FlowDirection {
    match d {
        FlowDirection::ClientToServer => FlowDirection::ServerToClient,
        FlowDirection::ServerToClient => FlowDirection::ClientToServer,
    }
}
