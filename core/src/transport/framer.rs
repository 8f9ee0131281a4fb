//! The HTTP/1.x framer of one direction of one TCP stream: a state machine fed in-order bytes,
//! gaps and the close, emitting one [`TransportFrame`] per message as soon as it is complete.
//!
//! It keeps only what it must: a partial header section (≤ the head cap), a partial start
//! line while resynchronising (≤ [`MAX_START_LINE`]), a partial chunk-size or trailer line,
//! and the body of the message in progress (≤ the body cap). Anything else is consumed at once.

use super::chunked::{Dechunker, Progress};
use super::decode::{content_codings, decode_codings, DecodeLimits};
use super::head::{
    body_framing, find_head_end, parse_head, parse_lenient, transfer_codings, Framing, Head,
    RequestTraits,
};
use super::http::{HttpLimits, StreamCtx};
use super::startline::{
    classify_line, find_embedded, quick_prefix, sniff, Kind, Prefix, Sniff, MAX_START_LINE,
};
use super::{HttpMessage, TransportFrame};
use crate::model::{Diagnostic, FlowDirection, MessageDirection, Timestamp};
use std::collections::VecDeque;

/// How many leading bytes of a direction are remembered for the "not HTTP" diagnostic.
const FIRST_BYTES: usize = 8;

/// Why the framer is looking for a message start (for the diagnostic on skipped bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SeekReason {
    /// Start of the capture: bytes before the first message mean it started mid-stream.
    Start,
    /// After a gap.
    Gap,
    /// After a message: bytes that are not a message start are garbage.
    Between,
}

/// How the direction's stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// FIN/RST (or the reassembler's own end): a body delimited by the close is complete.
    Closed,
    /// End of the capture with the direction still open.
    CaptureEnd,
}

enum State {
    /// At offset 0, before the first bytes are checked for TLS / net.tcp.
    Sniff,
    /// Looking for a start line. `line_start`: the next byte begins a line. `scanned`: bytes of
    /// the candidate line already searched for its end.
    Seek {
        line_start: bool,
        scanned: usize,
    },
    /// Accumulating a header section that begins at `pos`.
    Head {
        kind: Kind,
        scanned: usize,
    },
    Body {
        msg: Box<Msg>,
        body: BodyState,
    },
    /// Not (or no longer) HTTP, or closed: bytes are dropped.
    Ignore,
}

enum BodyState {
    Length(u64),
    Chunked(Dechunker),
    UntilClose,
}

/// A message being framed.
struct Msg {
    kind: Kind,
    exchange: u64,
    ts: Option<Timestamp>,
    ts_end: Option<Timestamp>,
    http: HttpMessage,
    body: Vec<u8>,
    /// A gap cut the body: later bytes are not appended (the body is the prefix seen).
    cut: bool,
    /// The body cap was hit.
    truncated: bool,
    /// The Content-Length, capped at the body cap (None for other framings).
    announced: Option<usize>,
    errors: Vec<String>,
}

/// At most this much of a Content-Length body is allocated before its bytes arrive: the
/// length is only a claim, and every open stream may hold a message in progress (larger
/// bodies grow as they arrive).
const BODY_PREALLOCATION: usize = 64 * 1024;
/// When a Content-Length body outgrows its room, the room grows to the announced length,
/// but to at most this many times the bytes that really arrived. A large body then moves
/// once or twice instead of at every doubling (a 300 KB body was copied four times over),
/// while a false claim still costs memory only in proportion to real bytes.
const BODY_GROWTH_FACTOR: usize = 16;
/// A body of unknown length (chunked, or until close) starts with this much room...
const UNKNOWN_LENGTH_FIRST_ROOM: usize = 16 * 1024;
/// ...and grows fourfold while under this size, twofold after: each growth moves the bytes
/// so far, and doubling from a packet's worth had moved a chunked body's bytes once more in
/// all (a few per cent of `analyze`). The room stays at most four times what arrived, and
/// within the body cap.
const UNKNOWN_LENGTH_FAST_GROWTH_UNTIL: usize = 1024 * 1024;

pub(crate) struct Framer {
    dir: FlowDirection,
    limits: HttpLimits,
    /// Unconsumed bytes; `buf[pos..]` is what the state machine has not eaten yet.
    buf: Vec<u8>,
    pos: usize,
    /// Stream offset of `buf[0]`.
    buf_off: u64,
    /// (stream offset where a Data event's bytes start, its timestamp), for the buffered range.
    segs: VecDeque<(u64, Option<Timestamp>)>,
    state: State,
    seek_reason: SeekReason,
    /// Skipped bytes that were not blank, and the offset of the first one.
    skipped: u64,
    skipped_from: u64,
    /// A gap forced a resynchronisation: which request the next response answers is uncertain.
    after_gap: bool,
    pub first_bytes: Vec<u8>,
    pub seen_bytes: u64,
}

impl Framer {
    pub fn new(dir: FlowDirection, limits: HttpLimits) -> Self {
        Framer {
            dir,
            limits,
            buf: Vec::new(),
            pos: 0,
            buf_off: 0,
            segs: VecDeque::new(),
            state: State::Sniff,
            seek_reason: SeekReason::Start,
            skipped: 0,
            skipped_from: 0,
            after_gap: false,
            first_bytes: Vec::new(),
            seen_bytes: 0,
        }
    }

    fn label(&self, ctx: &StreamCtx) -> String {
        let d = match self.dir {
            FlowDirection::ClientToServer => "c2s",
            FlowDirection::ServerToClient => "s2c",
        };
        format!("stream {} {d}", ctx.stream)
    }

    /// In-order bytes at stream offset `offset`.
    pub fn data(
        &mut self,
        offset: u64,
        bytes: &[u8],
        ts: Option<Timestamp>,
        ctx: &mut StreamCtx,
        out: &mut Vec<TransportFrame>,
        diags: &mut Vec<Diagnostic>,
    ) {
        if self.first_bytes.len() < FIRST_BYTES {
            let n = (FIRST_BYTES - self.first_bytes.len()).min(bytes.len());
            self.first_bytes.extend_from_slice(&bytes[..n]);
        }
        self.seen_bytes = self.seen_bytes.saturating_add(bytes.len() as u64);
        if self.stop_if_ctx_stopped(ctx) {
            return;
        }
        let next = self.next_offset();
        if offset > next {
            // The reassembler should have said so; treat the hole as a gap.
            self.gap(next, offset - next, ctx, out, diags);
        }
        let next = self.next_offset();
        let overlap = next.saturating_sub(offset);
        let Some(bytes) = usize::try_from(overlap).ok().and_then(|o| bytes.get(o..)) else {
            return;
        };
        if bytes.is_empty() {
            return;
        }
        match self.segs.back() {
            Some(&(_, last)) if last == ts => {}
            _ => self.segs.push_back((next, ts)),
        }
        if self.append_passing_body(bytes) {
            return;
        }
        self.buf.extend_from_slice(bytes);
        self.run(ctx, out, diags);
    }

    /// Appends `bytes` (already recorded in `segs`) straight to the body of the message
    /// being read when they lie wholly inside its Content-Length, or inside the current
    /// chunk of a chunked body, and nothing is buffered before them: the buffer would only
    /// pass them through, so this saves a copy of nearly every body byte. The bytes that end
    /// the body or a chunk always take the general path. False when it does not apply.
    fn append_passing_body(&mut self, bytes: &[u8]) -> bool {
        if self.pos != 0 || !self.buf.is_empty() {
            return false;
        }
        let len = bytes.len() as u64;
        let State::Body { body, .. } = &mut self.state else {
            return false;
        };
        // Taken off what the framing still expects, when the bytes lie wholly inside it
        // (the Dechunker checks that itself).
        let taken = match body {
            BodyState::Length(left) if len < *left => {
                *left -= len;
                true
            }
            BodyState::Chunked(d) => d.skip_data(len),
            _ => false,
        };
        if !taken {
            return false;
        }
        let ts_end = self.ts_at(self.buf_off.saturating_add(len).saturating_sub(1));
        let max_body = self.limits.max_body;
        let State::Body { msg, .. } = &mut self.state else {
            return false;
        };
        msg.append(bytes, max_body);
        msg.ts_end = ts_end;
        self.buf_off = self.buf_off.saturating_add(len);
        while self.segs.len() >= 2 && self.segs[1].0 <= self.buf_off {
            self.segs.pop_front();
        }
        true
    }

    /// `length` bytes at `offset` never arrived.
    pub fn gap(
        &mut self,
        offset: u64,
        length: u64,
        ctx: &mut StreamCtx,
        out: &mut Vec<TransportFrame>,
        diags: &mut Vec<Diagnostic>,
    ) {
        if self.stop_if_ctx_stopped(ctx) {
            return;
        }
        let next = self.next_offset();
        let end = offset.saturating_add(length);
        if end <= next {
            return;
        }
        let lost = end - next;
        let at = next;
        let what = format!("a gap of {lost} bytes at stream offset {at}");
        let state = std::mem::replace(&mut self.state, State::Ignore);
        // Whatever stays buffered sits before the gap and can no longer complete.
        let resync = match state {
            State::Sniff | State::Seek { .. } => true,
            State::Head { kind, .. } => {
                let head_bytes = self.buf.len() - self.pos;
                let why = format!("header section cut by {what} ({head_bytes} bytes seen)");
                self.emit_partial_head(kind, why, ctx, out, diags);
                true
            }
            State::Body { mut msg, body } => {
                let why = format!("body cut by {what}");
                match body {
                    BodyState::Length(remaining) if lost < remaining => {
                        msg.note_cut(why);
                        self.state = State::Body {
                            msg,
                            body: BodyState::Length(remaining - lost),
                        };
                        false
                    }
                    BodyState::Chunked(mut d) if d.data_remaining().is_some_and(|r| lost < r) => {
                        d.skip_data(lost);
                        msg.note_cut(why);
                        self.state = State::Body {
                            msg,
                            body: BodyState::Chunked(d),
                        };
                        false
                    }
                    BodyState::UntilClose => {
                        msg.note_cut(why);
                        self.state = State::Body {
                            msg,
                            body: BodyState::UntilClose,
                        };
                        false
                    }
                    BodyState::Length(_) | BodyState::Chunked(_) => {
                        msg.note_cut(why);
                        self.emit(*msg, false, ctx, out);
                        true
                    }
                }
            }
            State::Ignore => false,
        };
        self.buf.clear();
        self.pos = 0;
        self.buf_off = end;
        self.segs.clear();
        if resync {
            self.state = State::Seek {
                line_start: true,
                scanned: 0,
            };
            self.seek_reason = SeekReason::Gap;
            self.skipped = 0;
            self.after_gap = true;
        }
    }

    /// No more bytes will come.
    pub fn close(
        &mut self,
        end: End,
        ctx: &mut StreamCtx,
        out: &mut Vec<TransportFrame>,
        diags: &mut Vec<Diagnostic>,
    ) {
        let how = match end {
            End::Closed => "connection closed",
            End::CaptureEnd => "capture ended",
        };
        let state = std::mem::replace(&mut self.state, State::Ignore);
        if !ctx.stopped() {
            match state {
                State::Seek { .. } if !ctx.kind_unknown() => {
                    // Bytes skipped since the last message, and a held partial line.
                    let held = self.buf.len() - self.pos;
                    self.skip(held);
                    if self.skipped > 0 {
                        let label = self.label(ctx);
                        diags.push(Diagnostic::warning(format!(
                            "{label}: {} bytes from offset {} to the end are not part of any HTTP message",
                            self.skipped, self.skipped_from
                        )));
                    }
                }
                State::Sniff | State::Seek { .. } | State::Ignore => {}
                State::Head { kind, .. } => {
                    let n = self.buf.len() - self.pos;
                    let why = format!("{how} inside the header section ({n} bytes seen)");
                    self.emit_partial_head(kind, why, ctx, out, diags);
                }
                State::Body { mut msg, body } => {
                    let complete = match body {
                        BodyState::UntilClose if end == End::Closed => true,
                        BodyState::UntilClose => {
                            msg.errors.push(format!(
                                "{how} before the connection closed (body delimited by the close)"
                            ));
                            false
                        }
                        BodyState::Length(remaining) => {
                            msg.errors.push(format!(
                                "{how} {remaining} bytes before the end of the body"
                            ));
                            false
                        }
                        BodyState::Chunked(d) if d.only_final_crlf_missing() => {
                            // Seen from servers that close right after the last chunk.
                            msg.errors
                                .push(format!("{how} before the chunked body's final CRLF"));
                            end == End::Closed
                        }
                        BodyState::Chunked(d) => {
                            msg.errors
                                .push(format!("{how} inside {} of the chunked body", d.position()));
                            false
                        }
                    };
                    let complete = complete && !msg.cut && !msg.truncated;
                    self.emit(*msg, complete, ctx, out);
                }
            }
        }
        self.buf = Vec::new();
        self.pos = 0;
        self.segs.clear();
    }

    /// Bytes held while waiting for more (tests check the bound).
    #[cfg(test)]
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Stream offset of `buf[i]` (saturating: offsets come from the capture, not from us).
    fn off_at(&self, i: usize) -> u64 {
        self.buf_off.saturating_add(i as u64)
    }

    fn next_offset(&self) -> u64 {
        self.off_at(self.buf.len())
    }

    fn stop_if_ctx_stopped(&mut self, ctx: &StreamCtx) -> bool {
        if ctx.stopped() && !matches!(self.state, State::Ignore) {
            self.state = State::Ignore;
            self.buf = Vec::new();
            self.pos = 0;
        }
        matches!(self.state, State::Ignore)
    }

    /// Timestamp of the Data event that carried the byte at `off`.
    fn ts_at(&self, off: u64) -> Option<Timestamp> {
        let i = self.segs.partition_point(|s| s.0 <= off);
        self.segs.get(i.saturating_sub(1)).and_then(|s| s.1)
    }

    fn run(
        &mut self,
        ctx: &mut StreamCtx,
        out: &mut Vec<TransportFrame>,
        diags: &mut Vec<Diagnostic>,
    ) {
        let mut idle = 0;
        loop {
            if self.stop_if_ctx_stopped(ctx) {
                return;
            }
            let before = self.pos;
            if !self.step(ctx, out, diags) {
                break;
            }
            // Every state change without consuming leads to one that consumes; this guard only
            // makes a hang impossible should that ever stop being true.
            idle = if self.pos == before { idle + 1 } else { 0 };
            if idle > 8 {
                self.pos = (self.pos + 1).min(self.buf.len());
                self.state = State::Seek {
                    line_start: false,
                    scanned: 0,
                };
                idle = 0;
            }
        }
        self.buf.drain(..self.pos);
        self.buf_off = self.off_at(self.pos);
        self.pos = 0;
        while self.segs.len() >= 2 && self.segs[1].0 <= self.buf_off {
            self.segs.pop_front();
        }
    }

    /// One step of the state machine; false when it needs more bytes.
    fn step(
        &mut self,
        ctx: &mut StreamCtx,
        out: &mut Vec<TransportFrame>,
        diags: &mut Vec<Diagnostic>,
    ) -> bool {
        if self.pos >= self.buf.len() {
            return false;
        }
        let state = std::mem::replace(&mut self.state, State::Ignore);
        match state {
            State::Sniff => self.step_sniff(ctx, diags),
            State::Seek {
                line_start,
                scanned,
            } => self.step_seek(line_start, scanned, ctx, diags),
            State::Head { kind, scanned } => self.step_head(kind, scanned, ctx, out, diags),
            State::Body { msg, body } => self.step_body(msg, body, ctx, out),
            State::Ignore => {
                self.pos = self.buf.len();
                false
            }
        }
    }

    fn step_sniff(&mut self, ctx: &mut StreamCtx, diags: &mut Vec<Diagnostic>) -> bool {
        let avail = &self.buf[self.pos..];
        let at_start = self.off_at(self.pos) == 0;
        let verdict = if at_start && ctx.kind_unknown() {
            sniff(avail)
        } else {
            Sniff::Other
        };
        match verdict {
            Sniff::NeedMore => {
                self.state = State::Sniff;
                false
            }
            Sniff::Tls => {
                ctx.not_http_tls(&self.first_bytes, diags);
                false
            }
            Sniff::NetTcp => {
                ctx.nettcp(self.dir, diags);
                false
            }
            Sniff::Other => {
                self.state = State::Seek {
                    line_start: true,
                    scanned: 0,
                };
                true
            }
        }
    }

    fn step_seek(
        &mut self,
        line_start: bool,
        scanned: usize,
        ctx: &mut StreamCtx,
        diags: &mut Vec<Diagnostic>,
    ) -> bool {
        let avail = &self.buf[self.pos..];
        let expect = ctx.expect(self.dir);
        let from = scanned.min(avail.len());
        let newline = avail[from..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|p| from + p);
        if line_start && quick_prefix(avail, expect) == Prefix::Maybe {
            match newline {
                Some(p) if p <= MAX_START_LINE => {
                    if let Some(kind) = classify_line(&avail[..p], expect) {
                        self.report_skip(ctx, diags);
                        ctx.found_start(self.dir, kind, diags);
                        self.state = State::Head { kind, scanned: 0 };
                        return true;
                    }
                }
                None if avail.len() <= MAX_START_LINE => {
                    self.state = State::Seek {
                        line_start: true,
                        scanned: avail.len(),
                    };
                    return false;
                }
                _ => {}
            }
        }
        // No message starts here. One may start inside this line, after bytes that do not end
        // in a newline (a body's tail): look once the line is complete.
        match newline {
            Some(p) => {
                let line_from = p.saturating_sub(MAX_START_LINE);
                let skip = match find_embedded(&avail[line_from..p], expect) {
                    Some((i, _)) => line_from + i,
                    None => p + 1,
                };
                self.skip(skip);
                self.state = State::Seek {
                    line_start: true,
                    scanned: 0,
                };
                true
            }
            None if avail.len() > MAX_START_LINE => {
                // Keep only a tail that could still hold the start line.
                self.skip(avail.len() - MAX_START_LINE);
                self.state = State::Seek {
                    line_start: false,
                    scanned: MAX_START_LINE,
                };
                true
            }
            None => {
                self.state = State::Seek {
                    line_start: false,
                    scanned: avail.len(),
                };
                false
            }
        }
    }

    /// Skips `n` bytes that are not part of any message, counting those that are not blank.
    fn skip(&mut self, n: usize) {
        let skipped = &self.buf[self.pos..self.pos + n];
        let is_blank = |b: &u8| matches!(b, b'\r' | b'\n' | b' ' | b'\t');
        if let Some(first) = skipped.iter().position(|b| !is_blank(b)) {
            if self.skipped == 0 {
                self.skipped_from = self.off_at(self.pos + first);
            }
            self.skipped += skipped.iter().filter(|b| !is_blank(b)).count() as u64;
        }
        self.pos += n;
    }

    /// Reports bytes skipped before the message start just found.
    fn report_skip(&mut self, ctx: &StreamCtx, diags: &mut Vec<Diagnostic>) {
        if self.skipped == 0 {
            return;
        }
        let (n, from, to) = (self.skipped, self.skipped_from, self.off_at(self.pos));
        let label = self.label(ctx);
        diags.push(match self.seek_reason {
            SeekReason::Start => Diagnostic::info(format!(
                "{label}: skipped {n} bytes before the first HTTP message at offset {to} (capture started mid-stream?)"
            )),
            SeekReason::Gap => Diagnostic::warning(format!(
                "{label}: after a gap, skipped {n} bytes from offset {from} to resynchronise on the HTTP message at offset {to}"
            )),
            SeekReason::Between => Diagnostic::warning(format!(
                "{label}: skipped {n} bytes at offset {from} that do not start an HTTP message; resynchronised at offset {to}"
            )),
        });
        self.skipped = 0;
    }

    fn step_head(
        &mut self,
        kind: Kind,
        scanned: usize,
        ctx: &mut StreamCtx,
        out: &mut Vec<TransportFrame>,
        diags: &mut Vec<Diagnostic>,
    ) -> bool {
        let avail = &self.buf[self.pos..];
        let search = avail.len().min(self.limits.max_head);
        let n = match find_head_end(&avail[..search], scanned) {
            Ok(n) => n,
            Err(_) if avail.len() > self.limits.max_head => {
                let at = self.off_at(self.pos);
                let why = format!(
                    "header section at stream offset {at} larger than the {} cap",
                    size_text(self.limits.max_head)
                );
                let head = parse_lenient(&avail[..search], kind);
                // Skip the start line only: the search for the next message goes on from there.
                let line = avail
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(avail.len(), |p| p + 1);
                let (ts, ts_end) = (
                    self.ts_at(at),
                    self.ts_at(at.saturating_add(search as u64).saturating_sub(1)),
                );
                self.pos += line;
                if let Some((mut msg, _, _)) =
                    self.start_message(kind, head, ts, ts_end, ctx, diags)
                {
                    msg.errors.push(why);
                    self.emit(msg, false, ctx, out);
                }
                self.enter_seek(SeekReason::Between);
                return true;
            }
            Err(resume) => {
                self.state = State::Head {
                    kind,
                    scanned: resume,
                };
                return false;
            }
        };
        let head = parse_head(&avail[..n], kind);
        let at = self.off_at(self.pos);
        let (ts, ts_end) = (
            self.ts_at(at),
            self.ts_at(at.saturating_add(n as u64).saturating_sub(1)),
        );
        self.pos += n;
        let Some((msg, framing, traits)) = self.start_message(kind, head, ts, ts_end, ctx, diags)
        else {
            // An interim (1xx) response: not the answer to the request.
            self.enter_seek(SeekReason::Between);
            return true;
        };
        let switching = msg.kind == Kind::Response
            && (msg.http.status == Some(101)
                || (traits.connect && msg.http.status.is_some_and(|s| (200..300).contains(&s))));
        match framing {
            _ if switching => {
                let exchange = msg.exchange;
                self.emit(msg, true, ctx, out);
                ctx.leave_http(exchange, diags);
            }
            Framing::Empty | Framing::Length(0) => {
                self.emit(msg, true, ctx, out);
                self.enter_seek(SeekReason::Between);
            }
            Framing::Length(n) => {
                let mut msg = Box::new(msg);
                // Room for the announced body up front (bounded, since the length is only a
                // claim), instead of growing and copying it as it arrives.
                let announced = usize::try_from(n)
                    .unwrap_or(usize::MAX)
                    .min(self.limits.max_body);
                msg.announced = Some(announced);
                msg.body.reserve(announced.min(BODY_PREALLOCATION));
                self.state = State::Body {
                    msg,
                    body: BodyState::Length(n),
                }
            }
            Framing::Chunked => {
                self.state = State::Body {
                    msg: Box::new(msg),
                    body: BodyState::Chunked(Dechunker::new()),
                }
            }
            Framing::UntilClose => {
                self.state = State::Body {
                    msg: Box::new(msg),
                    body: BodyState::UntilClose,
                }
            }
        }
        true
    }

    /// Pairs a new message and decides its body framing; None for interim responses.
    fn start_message(
        &mut self,
        kind: Kind,
        head: Head,
        ts: Option<Timestamp>,
        ts_end: Option<Timestamp>,
        ctx: &mut StreamCtx,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<(Msg, Framing, RequestTraits)> {
        let Head { http, mut errors } = head;
        let (exchange, traits) = match kind {
            Kind::Request => {
                let method = http.method.as_deref().unwrap_or_default();
                ctx.request_started(method, diags)
            }
            Kind::Response => {
                let status = http.status.unwrap_or(0);
                if (100..200).contains(&status) && status != 101 {
                    return None;
                }
                let after_gap = std::mem::take(&mut self.after_gap);
                ctx.response_started(after_gap, diags)
            }
        };
        let (framing, why) = body_framing(kind, &http, traits);
        errors.extend(why);
        let msg = Msg {
            kind,
            exchange,
            ts,
            ts_end,
            http,
            body: Vec::new(),
            cut: false,
            truncated: false,
            announced: None,
            errors,
        };
        Some((msg, framing, traits))
    }

    fn emit_partial_head(
        &mut self,
        kind: Kind,
        why: String,
        ctx: &mut StreamCtx,
        out: &mut Vec<TransportFrame>,
        diags: &mut Vec<Diagnostic>,
    ) {
        let avail = &self.buf[self.pos..];
        let at = self.off_at(self.pos);
        let (ts, ts_end) = (
            self.ts_at(at),
            self.ts_at(self.next_offset().saturating_sub(1)),
        );
        let head = parse_lenient(avail, kind);
        self.pos = self.buf.len();
        if let Some((mut msg, _, _)) = self.start_message(kind, head, ts, ts_end, ctx, diags) {
            msg.errors.push(why);
            self.emit(msg, false, ctx, out);
        }
    }

    fn step_body(
        &mut self,
        mut msg: Box<Msg>,
        body: BodyState,
        ctx: &mut StreamCtx,
        out: &mut Vec<TransportFrame>,
    ) -> bool {
        let start = self.pos;
        let avail = &self.buf[self.pos..];
        let max_body = self.limits.max_body;
        // The dechunker kept bytes it cannot judge yet: wait for more instead of stepping.
        let mut wait_for_more = false;
        let (next, done, error) = match body {
            BodyState::Length(remaining) => {
                let n = usize::try_from(remaining)
                    .unwrap_or(usize::MAX)
                    .min(avail.len());
                msg.append(&avail[..n], max_body);
                self.pos += n;
                let left = remaining - n as u64;
                (BodyState::Length(left), left == 0, None)
            }
            BodyState::UntilClose => {
                msg.append(avail, max_body);
                self.pos = self.buf.len();
                (BodyState::UntilClose, false, None)
            }
            BodyState::Chunked(mut d) => {
                let mut sink = std::mem::take(&mut msg.body);
                let mut trailers = std::mem::take(&mut msg.http.trailers);
                let (cut, mut truncated) = (msg.cut, msg.truncated);
                let progress = d.feed(
                    avail,
                    &mut |b: &[u8]| {
                        append_capped(&mut sink, b, cut, &mut truncated, max_body, None)
                    },
                    &mut trailers,
                );
                msg.body = sink;
                msg.http.trailers = trailers;
                if truncated && !msg.truncated {
                    msg.truncated = true;
                    msg.errors.push(cap_error(max_body));
                }
                match progress {
                    Progress::NeedMore => {
                        self.pos = self.buf.len();
                        (BodyState::Chunked(d), false, None)
                    }
                    Progress::Partial(n) => {
                        self.pos += n;
                        wait_for_more = true;
                        (BodyState::Chunked(d), false, None)
                    }
                    Progress::Done(n) => {
                        self.pos += n;
                        if d.ended_without_final_crlf() {
                            msg.errors.push(
                                "the chunked body has no final empty line: the next HTTP message starts right after it".into(),
                            );
                        }
                        (BodyState::Chunked(d), true, None)
                    }
                    Progress::Error(e) => {
                        let at = self.off_at(self.pos + e.at);
                        self.pos += (e.at + 1).min(avail.len());
                        let why = format!("{} at stream offset {at}; message cut there", e.reason);
                        (BodyState::Chunked(d), true, Some(why))
                    }
                }
            }
        };
        if self.pos > start {
            msg.ts_end = self.ts_at(self.off_at(self.pos).saturating_sub(1));
        }
        if done {
            let complete = error.is_none() && !msg.cut && !msg.truncated;
            msg.errors.extend(error);
            self.emit(*msg, complete, ctx, out);
            self.enter_seek(SeekReason::Between);
        } else {
            self.state = State::Body { msg, body: next };
        }
        !wait_for_more
    }

    fn enter_seek(&mut self, reason: SeekReason) {
        self.state = State::Seek {
            line_start: true,
            scanned: 0,
        };
        self.seek_reason = reason;
        self.skipped = 0;
    }

    /// Turns a framed message into a frame: undoes transfer and content codings, and pushes it.
    fn emit(&mut self, msg: Msg, complete: bool, ctx: &StreamCtx, out: &mut Vec<TransportFrame>) {
        let Msg {
            kind,
            exchange,
            ts,
            ts_end,
            http,
            mut body,
            mut errors,
            ..
        } = msg;
        let limits = DecodeLimits {
            max_output: self.limits.max_decoded,
            max_ratio: self.limits.max_ratio,
            ratio_floor: self.limits.ratio_floor,
        };
        if !body.is_empty() {
            let te: Vec<String> = transfer_codings(&http)
                .unwrap_or_default()
                .into_iter()
                .filter(|c| c != "chunked")
                .collect();
            if !te.is_empty() {
                body = decode_codings(body, &te, "Transfer-Encoding", limits, &mut errors);
            }
            let ce = content_codings(&http.headers);
            if !ce.is_empty() {
                body = decode_codings(body, &ce, "Content-Encoding", limits, &mut errors);
            }
        }
        let direction = match kind {
            Kind::Request => MessageDirection::Request,
            Kind::Response => MessageDirection::Response,
        };
        out.push(TransportFrame {
            stream: ctx.stream,
            direction,
            exchange,
            ts,
            ts_end,
            http: Some(http),
            body,
            complete,
            errors,
        });
    }
}

impl Msg {
    fn note_cut(&mut self, why: String) {
        self.cut = true;
        self.errors.push(why);
    }

    fn append(&mut self, bytes: &[u8], max_body: usize) {
        let was = self.truncated;
        append_capped(
            &mut self.body,
            bytes,
            self.cut,
            &mut self.truncated,
            max_body,
            self.announced,
        );
        if self.truncated && !was {
            self.errors.push(cap_error(max_body));
        }
    }
}

/// Appends body bytes unless a gap already cut the body, stopping at the cap.
/// `announced` is the Content-Length (capped at the body cap), None for other framings.
fn append_capped(
    body: &mut Vec<u8>,
    bytes: &[u8],
    cut: bool,
    truncated: &mut bool,
    max_body: usize,
    announced: Option<usize>,
) {
    if cut || *truncated {
        return;
    }
    let room = max_body.saturating_sub(body.len());
    if bytes.len() > room {
        *truncated = true;
    }
    let take = &bytes[..bytes.len().min(room)];
    grow_room(body, body.len() + take.len(), announced, max_body);
    body.extend_from_slice(take);
}

/// Makes room for `needed` bytes of body, in few steps, since each step moves the bytes so
/// far. A Content-Length body grows to its announced length, but to at most
/// [`BODY_GROWTH_FACTOR`] times the bytes that arrived (the length is only a claim); a body
/// of unknown length grows fourfold from [`UNKNOWN_LENGTH_FIRST_ROOM`], twofold past
/// [`UNKNOWN_LENGTH_FAST_GROWTH_UNTIL`], within the body cap.
fn grow_room(body: &mut Vec<u8>, needed: usize, announced: Option<usize>, max_body: usize) {
    if needed <= body.capacity() {
        return;
    }
    let target = match announced {
        Some(announced) if needed <= announced => {
            announced.min(needed.saturating_mul(BODY_GROWTH_FACTOR))
        }
        _ => {
            let factor = if body.capacity() < UNKNOWN_LENGTH_FAST_GROWTH_UNTIL {
                4
            } else {
                2
            };
            body.capacity()
                .saturating_mul(factor)
                .max(UNKNOWN_LENGTH_FIRST_ROOM)
                .min(max_body)
        }
    };
    body.reserve_exact(target.max(needed) - body.len());
}

fn cap_error(max_body: usize) -> String {
    format!(
        "body larger than the {} cap; truncated",
        size_text(max_body)
    )
}

/// "256 MiB", "64 KiB" or "100 bytes".
pub(crate) fn size_text(n: usize) -> String {
    const MIB: usize = 1024 * 1024;
    if n >= MIB && n / MIB * MIB == n {
        format!("{} MiB", n / MIB)
    } else if n >= 1024 && n / 1024 * 1024 == n {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}
