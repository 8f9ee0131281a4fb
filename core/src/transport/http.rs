//! The transport stage: turns the TCP reassembler's [`StreamEvent`]s into HTTP/1.x
//! [`TransportFrame`]s. Per stream it detects the protocol from the bytes (any port), works out
//! which direction carries the requests (the TCP layer may have guessed the client wrong on a
//! capture that starts mid-stream), pairs request n with response n, and hands each direction
//! to a [`Framer`].

use super::framer::{End, Framer};
use super::head::RequestTraits;
use super::startline::Kind;
use super::TransportFrame;
use crate::model::{Diagnostic, FlowDirection, TransportKind};
use crate::net::StreamEvent;
use std::collections::{BTreeMap, VecDeque};

/// Bounds that keep hostile or broken traffic from exhausting memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Largest header section (start line and fields).
    pub max_head: usize,
    /// Largest body kept, as it was on the wire (de-chunked); the rest is dropped.
    pub max_body: usize,
    /// Largest body after decompression.
    pub max_decoded: usize,
    /// Largest decompression ratio, enforced once the output passes `ratio_floor` bytes.
    pub max_ratio: usize,
    pub ratio_floor: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_head: 64 * 1024,
            max_body: 256 * 1024 * 1024,
            max_decoded: 64 * 1024 * 1024,
            max_ratio: 1000,
            ratio_floor: 1024 * 1024,
        }
    }
}

/// Requests waiting for their response, at most; older ones are forgotten beyond that.
const MAX_PENDING: usize = 1024;

/// A request waiting for its response.
#[derive(Debug, Clone, Copy)]
struct Pending {
    exchange: u64,
    traits: RequestTraits,
}

/// What a stream's two framers share: the protocol verdict, the roles, the request queue.
#[derive(Debug)]
pub(crate) struct StreamCtx {
    pub stream: usize,
    kind: TransportKind,
    /// The direction that carries requests, once the first start line told.
    request_dir: Option<FlowDirection>,
    /// Framing stopped for good (not HTTP, or the connection switched protocols).
    stopped: bool,
    /// The one per-stream diagnostic about the protocol was given.
    reported: bool,
    pending: VecDeque<Pending>,
    next_exchange: u64,
}

impl StreamCtx {
    fn new(stream: usize) -> Self {
        StreamCtx {
            stream,
            kind: TransportKind::Unknown,
            request_dir: None,
            stopped: false,
            reported: false,
            pending: VecDeque::new(),
            next_exchange: 0,
        }
    }

    pub fn stopped(&self) -> bool {
        self.stopped
    }

    pub fn kind_unknown(&self) -> bool {
        self.kind == TransportKind::Unknown
    }

    /// The kind of start line expected in `dir`, once roles are known.
    pub fn expect(&self, dir: FlowDirection) -> Option<Kind> {
        self.request_dir.map(|r| {
            if r == dir {
                Kind::Request
            } else {
                Kind::Response
            }
        })
    }

    /// A start line of `kind` was found in `dir`: the stream is HTTP, and the first one fixes
    /// the roles.
    pub fn found_start(&mut self, dir: FlowDirection, kind: Kind, diags: &mut Vec<Diagnostic>) {
        self.kind = TransportKind::Http;
        if self.request_dir.is_some() {
            return;
        }
        let request_dir = if kind == Kind::Request {
            dir
        } else {
            other(dir)
        };
        self.request_dir = Some(request_dir);
        if request_dir == FlowDirection::ServerToClient {
            diags.push(Diagnostic::info(format!(
                "stream {}: HTTP requests flow from the side taken for the server; client and server roles swapped",
                self.stream
            )));
        }
    }

    pub fn request_started(
        &mut self,
        method: &str,
        diags: &mut Vec<Diagnostic>,
    ) -> (u64, RequestTraits) {
        let traits = RequestTraits {
            head: method.eq_ignore_ascii_case("HEAD"),
            connect: method.eq_ignore_ascii_case("CONNECT"),
        };
        let exchange = self.take_exchange();
        if self.pending.len() >= MAX_PENDING {
            if let Some(old) = self.pending.pop_front() {
                diags.push(Diagnostic::warning(format!(
                    "stream {}: more than {MAX_PENDING} requests without a response; exchange {} given up",
                    self.stream, old.exchange
                )));
            }
        }
        self.pending.push_back(Pending { exchange, traits });
        (exchange, traits)
    }

    /// Pairs a (final) response with the oldest unanswered request. After a gap forced a
    /// resynchronisation of the responses (`after_gap`), whole responses may have been lost:
    /// the response is then paired with the newest request, since without pipelining (WCF's
    /// case) only the newest can still be waiting.
    pub fn response_started(
        &mut self,
        after_gap: bool,
        diags: &mut Vec<Diagnostic>,
    ) -> (u64, RequestTraits) {
        if after_gap && self.pending.len() > 1 {
            let keep = self.pending.len() - 1;
            let lost: Vec<String> = self
                .pending
                .drain(..keep)
                .map(|p| p.exchange.to_string())
                .collect();
            diags.push(Diagnostic::warning(format!(
                "stream {}: after a gap in the responses, request(s) of exchange {} left without a response",
                self.stream,
                lost.join(", ")
            )));
        }
        match self.pending.pop_front() {
            Some(p) => (p.exchange, p.traits),
            None => {
                let exchange = self.take_exchange();
                diags.push(Diagnostic::info(format!(
                    "stream {}: response (exchange {exchange}) to a request not in the capture",
                    self.stream
                )));
                (exchange, RequestTraits::default())
            }
        }
    }

    fn take_exchange(&mut self) -> u64 {
        let e = self.next_exchange;
        self.next_exchange += 1;
        e
    }

    /// The connection switched protocols (101, or a tunnel after CONNECT): stop framing.
    pub fn leave_http(&mut self, exchange: u64, diags: &mut Vec<Diagnostic>) {
        self.stopped = true;
        diags.push(Diagnostic::info(format!(
            "stream {}: connection switched protocols after exchange {exchange}; later bytes are not HTTP and not framed",
            self.stream
        )));
    }

    pub fn not_http_tls(&mut self, first: &[u8], diags: &mut Vec<Diagnostic>) {
        self.stopped = true;
        if !std::mem::replace(&mut self.reported, true) {
            diags.push(Diagnostic::info(format!(
                "stream {}: not HTTP (TLS, first bytes {})",
                self.stream,
                hex_prefix(first)
            )));
        }
    }

    pub fn nettcp(&mut self, dir: FlowDirection, diags: &mut Vec<Diagnostic>) {
        self.stopped = true;
        self.kind = TransportKind::Nettcp;
        if dir == FlowDirection::ServerToClient {
            // The preamble is sent by the client.
            self.request_dir = Some(dir);
        }
        if !std::mem::replace(&mut self.reported, true) {
            diags.push(Diagnostic::info(format!(
                "stream {}: net.tcp (.NET Message Framing preamble 00 01 00); not decoded",
                self.stream
            )));
        }
    }
}

fn other(dir: FlowDirection) -> FlowDirection {
    match dir {
        FlowDirection::ClientToServer => FlowDirection::ServerToClient,
        FlowDirection::ServerToClient => FlowDirection::ClientToServer,
    }
}

/// "16 03 01 …" (at most 8 bytes shown).
fn hex_prefix(bytes: &[u8]) -> String {
    let mut s: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
    s.push("…".to_owned());
    s.join(" ")
}

struct Stream {
    ctx: StreamCtx,
    c2s: Framer,
    s2c: Framer,
    closed: [bool; 2],
}

impl Stream {
    fn framer(&mut self, dir: FlowDirection) -> (&mut Framer, &mut StreamCtx) {
        match dir {
            FlowDirection::ClientToServer => (&mut self.c2s, &mut self.ctx),
            FlowDirection::ServerToClient => (&mut self.s2c, &mut self.ctx),
        }
    }

    /// The request direction first, so that at the end a request precedes its response.
    fn directions(&self) -> [FlowDirection; 2] {
        let first = self
            .ctx
            .request_dir
            .unwrap_or(FlowDirection::ClientToServer);
        [first, other(first)]
    }

    /// One info diagnostic for a stream that carried bytes but never HTTP.
    fn report_if_not_http(&mut self, diags: &mut Vec<Diagnostic>) {
        let ctx = &mut self.ctx;
        if ctx.reported || ctx.kind != TransportKind::Unknown {
            return;
        }
        let first = if self.c2s.first_bytes.is_empty() {
            &self.s2c.first_bytes
        } else {
            &self.c2s.first_bytes
        };
        if first.is_empty() {
            return;
        }
        ctx.reported = true;
        let text = first
            .iter()
            .all(|&b| b == b'\r' || b == b'\n' || b == b'\t' || (0x20..0x7f).contains(&b));
        let what = if text {
            format!(
                "text, first bytes \"{}…\"",
                String::from_utf8_lossy(first).escape_debug()
            )
        } else {
            format!("binary data, first bytes {}", hex_prefix(first))
        };
        let seen = self.c2s.seen_bytes.saturating_add(self.s2c.seen_bytes);
        diags.push(Diagnostic::info(format!(
            "stream {}: not HTTP ({what}; {seen} bytes)",
            ctx.stream
        )));
    }
}

/// Frames HTTP/1.x messages out of reassembled TCP streams.
pub struct TransportStage {
    limits: HttpLimits,
    streams: BTreeMap<usize, Stream>,
}

impl Default for TransportStage {
    fn default() -> Self {
        Self::new()
    }
}

impl TransportStage {
    pub fn new() -> Self {
        Self::with_limits(HttpLimits::default())
    }

    pub fn with_limits(limits: HttpLimits) -> Self {
        TransportStage {
            limits,
            streams: BTreeMap::new(),
        }
    }

    fn stream(&mut self, id: usize) -> &mut Stream {
        let limits = self.limits;
        self.streams.entry(id).or_insert_with(|| Stream {
            ctx: StreamCtx::new(id),
            c2s: Framer::new(FlowDirection::ClientToServer, limits),
            s2c: Framer::new(FlowDirection::ServerToClient, limits),
            closed: [false; 2],
        })
    }

    /// Feeds one event; complete messages are appended to `out` at once.
    pub fn push(
        &mut self,
        ev: &StreamEvent,
        out: &mut Vec<TransportFrame>,
        diags: &mut Vec<Diagnostic>,
    ) {
        match ev {
            StreamEvent::Opened { stream, .. } => {
                self.stream(*stream);
            }
            StreamEvent::Data {
                stream,
                dir,
                offset,
                bytes,
                ts,
            } => {
                let (framer, ctx) = self.stream(*stream).framer(*dir);
                framer.data(*offset, bytes, *ts, ctx, out, diags);
            }
            StreamEvent::Gap {
                stream,
                dir,
                offset,
                length,
                ..
            } => {
                let (framer, ctx) = self.stream(*stream).framer(*dir);
                framer.gap(*offset, *length, ctx, out, diags);
            }
            StreamEvent::Closed { stream, dir, .. } => {
                let s = self.stream(*stream);
                let i = usize::from(*dir == FlowDirection::ServerToClient);
                if !s.closed[i] {
                    s.closed[i] = true;
                    let (framer, ctx) = s.framer(*dir);
                    framer.close(End::Closed, ctx, out, diags);
                }
                if s.closed == [true, true] {
                    s.report_if_not_http(diags);
                }
            }
            // The reassembler's own diagnostics are passed on by the analyzer, not here.
            StreamEvent::Diagnostic(_) => {}
        }
    }

    /// End of the capture: every message still in progress is emitted, incomplete.
    pub fn finish(&mut self, out: &mut Vec<TransportFrame>, diags: &mut Vec<Diagnostic>) {
        for s in self.streams.values_mut() {
            for dir in s.directions() {
                let i = usize::from(dir == FlowDirection::ServerToClient);
                if !s.closed[i] {
                    s.closed[i] = true;
                    let (framer, ctx) = s.framer(dir);
                    framer.close(End::CaptureEnd, ctx, out, diags);
                }
            }
            s.report_if_not_http(diags);
        }
    }

    /// The most bytes any one direction holds while waiting for more (tests check the bound).
    #[cfg(test)]
    pub(crate) fn max_buffered(&self) -> usize {
        self.streams
            .values()
            .map(|s| s.c2s.buffered().max(s.s2c.buffered()))
            .max()
            .unwrap_or(0)
    }

    /// What the stream carries, as far as seen: `Http` once a message start was found.
    pub fn transport_of(&self, stream: usize) -> TransportKind {
        self.streams
            .get(&stream)
            .map_or(TransportKind::Unknown, |s| s.ctx.kind)
    }

    /// True when HTTP requests (or a net.tcp preamble) were seen flowing server-to-client, i.e.
    /// the TCP layer's guess of the client was wrong; frames still carry the right
    /// Request/Response direction.
    pub fn roles_swapped(&self, stream: usize) -> bool {
        self.streams
            .get(&stream)
            .is_some_and(|s| s.ctx.request_dir == Some(FlowDirection::ServerToClient))
    }
}
