//! TCP reassembly: turns segments into in-order byte streams per direction.
//!
//! Offsets are u64 counted from the first byte of each direction (the byte after the SYN, or
//! the first byte seen when the capture starts mid-stream); 32-bit sequence numbers are
//! mapped to offsets relative to the next expected byte with wrapping arithmetic, so
//! wrap-around needs no special case.
//!
//! Policy, in one place:
//! - the first copy of a byte wins; a later copy that differs is reported (within the
//!   [`HISTORY`] bytes kept after delivery, and for bytes held out of order);
//! - data beyond a hole is held until the hole fills, until the peer acknowledges past the
//!   hole (which proves the bytes were sent; acted on [`ACK_PROOF_DELAY`] packets later, as
//!   captures can show an ACK just before the data it acknowledges), until the direction holds [`MAX_PENDING_DIR`]
//!   bytes (or all directions [`MAX_PENDING_TOTAL`]), or until the end; then a `Gap` names
//!   the missing range and the held bytes follow. Bytes are never invented; bytes that
//!   turn up later for a range already declared a gap cannot be put back and are named in
//!   a diagnostic instead;
//! - keep-alives (0 or 1 byte one below the next expected byte) are ignored;
//! - a SYN (without ACK) with a new sequence number on a 4-tuple that has seen FIN, RST or
//!   data starts a new stream.

use super::{NetLimits, StreamEvent};
use crate::model::{Diagnostic, FlowDirection, Timestamp};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;

/// Bytes kept per direction after delivery, to compare retransmissions against.
pub const HISTORY: usize = 8 * 1024;
/// Out-of-order bytes held per direction before the first hole is declared a gap.
pub const MAX_PENDING_DIR: usize = 4 * 1024 * 1024;
/// Out-of-order bytes held over all connections.
pub const MAX_PENDING_TOTAL: usize = 256 * 1024 * 1024;
/// Differing-retransmission diagnostics per stream direction (then one "more" note).
const MAX_DIFF_REPORTS: u32 = 5;
/// An acknowledgement proves a hole's bytes were sent only once this many more packets of the
/// connection went by: captures merged from several queues or interfaces can show an ACK
/// just before the data it acknowledges.
const ACK_PROOF_DELAY: u64 = 3;
/// Closed connections are forgotten after this much idle capture time.
const CLOSED_LINGER_NANOS: i64 = 120 * 1_000_000_000;

/// One TCP segment, as decoded from a packet.
pub(crate) struct Segment<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub ack: u32,
    pub syn: bool,
    pub ack_flag: bool,
    pub fin: bool,
    pub rst: bool,
    /// Captured payload (may be shorter than `len` when the snaplen cut it).
    pub payload: &'a [u8],
    /// Payload length on the wire (sequence space used, without SYN/FIN).
    pub len: usize,
}

struct Piece {
    bytes: Vec<u8>,
    ts: Option<Timestamp>,
}

#[derive(Default)]
struct Dir {
    /// Sequence number of offset 0, once known.
    base: Option<u32>,
    /// Offset of the next byte to deliver (everything below was delivered or declared a gap).
    next: u64,
    pending: BTreeMap<u64, Piece>,
    pending_bytes: usize,
    /// The last delivered bytes, ending at `next` (a gap clears it).
    history: VecDeque<u8>,
    fin: Option<u64>,
    /// Highest offset the peer acknowledged, and the connection's packet count then.
    acked: u64,
    acked_at: u64,
    /// The peer's latest raw acknowledgement number for this direction.
    peer_ack: Option<u32>,
    closed: bool,
    diff_reports: u32,
    /// The latest holes declared gaps, [start, end), so bytes that turn up for them later
    /// can be named (at most [`REMEMBERED_GAPS`]).
    gaps: VecDeque<(u64, u64)>,
    late_reports: u32,
}

/// Declared gaps remembered per direction, to report bytes arriving after their gap.
const REMEMBERED_GAPS: usize = 8;

/// Late retransmissions after a close fall within this distance of the old stream's bytes.
const LATE_BEFORE: i128 = 64 * 1024;
const LATE_AFTER: i128 = 1024 * 1024;

impl Dir {
    /// Whether `seq` lies in or near the bytes this direction already carried.
    fn near_old_data(&self, seq: u32) -> bool {
        self.offset(seq)
            .is_some_and(|o| o >= -LATE_BEFORE && o <= i128::from(self.next) + LATE_AFTER)
    }

    /// Maps a sequence number to an offset near `next` (within ±2 GiB).
    fn offset(&self, seq: u32) -> Option<i128> {
        let base = self.base?;
        let next_seq = base.wrapping_add(self.next as u32);
        let delta = seq.wrapping_sub(next_seq) as i32;
        Some(i128::from(self.next) + i128::from(delta))
    }
}

struct Conn {
    stream: usize,
    client: SocketAddr,
    dirs: [Dir; 2],
    /// ISN of each direction's SYN, if seen.
    syn: [Option<u32>; 2],
    /// FIN, RST or data seen: a new SYN now means a new connection.
    used: bool,
    last_ts: Option<Timestamp>,
    last_active: u64,
    /// Packets seen on this connection.
    packets: u64,
}

impl Conn {
    fn finished(&self) -> bool {
        self.dirs[0].closed && self.dirs[1].closed
    }
}

/// Key of a connection: both endpoints, lower first, so both directions find it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Key(SocketAddr, SocketAddr);

fn key(a: SocketAddr, b: SocketAddr) -> Key {
    if a <= b {
        Key(a, b)
    } else {
        Key(b, a)
    }
}

/// Hashes each endpoint as one or two integers: the derived hash fed the hasher the
/// address family, every octet and the port one call at a time, about 1 % of `analyze`
/// (a lookup per segment). IPv6 flow label and scope are left out, which keeps equal keys
/// hashing equal.
impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        for end in [self.0, self.1] {
            match end {
                SocketAddr::V4(v4) => {
                    state.write_u64((u64::from(v4.ip().to_bits()) << 16) | u64::from(v4.port()))
                }
                SocketAddr::V6(v6) => {
                    state.write_u128(v6.ip().to_bits());
                    state.write_u16(v6.port());
                }
            }
        }
    }
}

const DIRS: [FlowDirection; 2] = [FlowDirection::ClientToServer, FlowDirection::ServerToClient];

fn dir_name(d: usize) -> &'static str {
    if d == 0 {
        "c2s"
    } else {
        "s2c"
    }
}

pub(crate) struct Tcp {
    /// Looked up for every packet: a fast hasher, still randomly seeded per process so a
    /// hostile capture cannot pick colliding connection keys.
    conns: HashMap<Key, Conn, foldhash::fast::RandomState>,
    next_stream: usize,
    pending_total: usize,
    counter: u64,
    last_sweep: Option<i64>,
    limits: NetLimits,
    /// Data buffers the consumer handed back ([`Tcp::recycle`]), reused for in-order
    /// payloads instead of an allocation per segment.
    spare: Vec<Vec<u8>>,
}

/// Data buffers kept for reuse (the consumer returns a packet's before the next packet).
const SPARE_BUFFERS: usize = 8;
/// Larger buffers (a reassembled run of held-back segments) are not kept.
const SPARE_BUFFER_MAX: usize = 256 * 1024;

/// Emission context for one packet: where events go and which timestamp they carry.
struct Ctx<'o> {
    out: &'o mut Vec<StreamEvent>,
    ts: Option<Timestamp>,
    stream: usize,
    spare: &'o mut Vec<Vec<u8>>,
}

impl Ctx<'_> {
    fn deliver(&mut self, d: usize, dir: &mut Dir, total: &mut usize) {
        while let Some(entry) = dir.pending.first_entry() {
            if *entry.key() != dir.next {
                break;
            }
            let piece = entry.remove();
            dir.pending_bytes -= piece.bytes.len();
            *total = total.saturating_sub(piece.bytes.len());
            self.emit_data(d, dir, piece.bytes, piece.ts);
        }
    }

    /// Emits `bytes` as the next in-order data of direction `d`, remembering their tail in
    /// the direction's history.
    fn emit_data(&mut self, d: usize, dir: &mut Dir, bytes: Vec<u8>, ts: Option<Timestamp>) {
        let offset = dir.next;
        dir.next += bytes.len() as u64;
        // Only the last HISTORY bytes are kept; copied as a slice (a memcpy).
        let tail = &bytes[bytes.len().saturating_sub(HISTORY)..];
        let excess = (dir.history.len() + tail.len()).saturating_sub(HISTORY);
        dir.history.drain(..excess);
        dir.history.extend(tail.iter());
        self.out.push(StreamEvent::Data {
            stream: self.stream,
            dir: DIRS[d],
            offset,
            bytes,
            ts,
        });
    }

    fn gap_to(&mut self, d: usize, dir: &mut Dir, to: u64) {
        if to > dir.next {
            self.out.push(StreamEvent::Gap {
                stream: self.stream,
                dir: DIRS[d],
                offset: dir.next,
                length: to - dir.next,
                ts: self.ts,
            });
            if dir.gaps.len() == REMEMBERED_GAPS {
                dir.gaps.pop_front();
            }
            dir.gaps.push_back((dir.next, to));
            dir.next = to;
            dir.history.clear();
        }
    }

    /// Declares the first hole a gap and delivers what follows it.
    fn skip_hole(&mut self, d: usize, dir: &mut Dir, total: &mut usize) -> bool {
        let Some(&k) = dir.pending.keys().next() else {
            return false;
        };
        self.gap_to(d, dir, k);
        self.deliver(d, dir, total);
        true
    }

    /// Holes the peer acknowledged past were sent but not captured: declares them gaps.
    fn settle_acked(&mut self, d: usize, dir: &mut Dir, total: &mut usize) {
        let ack = dir.acked;
        while !dir.closed && dir.next < ack {
            match dir.pending.keys().next() {
                Some(&first) if first <= ack => {
                    self.skip_hole(d, dir, total);
                }
                Some(_) => break,
                None => {
                    // Everything up to a FIN that the peer acknowledged was sent.
                    if let Some(f) = dir.fin.filter(|&f| ack > f) {
                        self.gap_to(d, dir, f);
                    }
                    break;
                }
            }
        }
        self.close_if_done(d, dir, total);
    }

    /// Flushes everything held, then the bytes proven sent but never seen (acknowledged by
    /// the peer or before the FIN), then closes the direction.
    fn close(&mut self, d: usize, dir: &mut Dir, total: &mut usize) {
        if dir.closed {
            return;
        }
        while self.skip_hole(d, dir, total) {}
        // The FIN itself uses one sequence number, so when it is known it bounds the data.
        let proven = dir.fin.unwrap_or(dir.acked);
        self.gap_to(d, dir, proven);
        dir.closed = true;
        dir.history = VecDeque::new();
        self.out.push(StreamEvent::Closed {
            stream: self.stream,
            dir: DIRS[d],
            ts: self.ts,
        });
    }

    fn close_if_done(&mut self, d: usize, dir: &mut Dir, total: &mut usize) {
        if !dir.closed && dir.fin.is_some_and(|f| dir.next >= f) && dir.pending.is_empty() {
            self.close(d, dir, total);
        }
    }
}

impl Tcp {
    pub(crate) fn new(limits: NetLimits) -> Self {
        Tcp {
            conns: HashMap::default(),
            next_stream: 0,
            pending_total: 0,
            counter: 0,
            last_sweep: None,
            limits,
            spare: Vec::new(),
        }
    }

    pub(crate) fn streams(&self) -> usize {
        self.next_stream
    }

    fn open(&mut self, seg: &Segment<'_>, ts: Option<Timestamp>, out: &mut Vec<StreamEvent>) {
        let (s, d) = (seg.src, seg.dst);
        let src_is_client = if seg.syn && !seg.ack_flag {
            true
        } else if seg.syn {
            false
        } else if s.port() != d.port() {
            // Mid-stream: the ephemeral (higher) port is the client's, as a rule of thumb.
            s.port() > d.port()
        } else {
            true
        };
        let (client, server) = if src_is_client { (s, d) } else { (d, s) };
        let stream = self.next_stream;
        self.next_stream += 1;
        out.push(StreamEvent::Opened {
            stream,
            client,
            server,
            ts,
        });
        self.conns.insert(
            key(s, d),
            Conn {
                stream,
                client,
                dirs: [Dir::default(), Dir::default()],
                syn: [None, None],
                used: false,
                last_ts: ts,
                last_active: self.counter,
                packets: 0,
            },
        );
    }

    /// Processes one segment.
    pub(crate) fn segment(
        &mut self,
        seg: &Segment<'_>,
        ts: Option<Timestamp>,
        frame: u64,
        out: &mut Vec<StreamEvent>,
    ) {
        self.counter += 1;
        self.sweep(ts);
        let k = key(seg.src, seg.dst);
        // Some(restart) for a known connection: one lookup decides both.
        let known = match self.conns.get(&k) {
            None => None,
            Some(c) => {
                let d = usize::from(seg.src != c.client);
                let new_syn = seg.syn && !seg.ack_flag && c.syn[d] != Some(seg.seq);
                // After both sides closed, a SYN-ACK or data far from the old sequence space
                // is a new connection whose SYN the capture missed, not a late retransmission.
                let data_seq = seg.seq.wrapping_add(u32::from(seg.syn));
                let reused =
                    c.finished() && (seg.syn || seg.len > 0) && !c.dirs[d].near_old_data(data_seq);
                Some((new_syn && (c.used || c.finished())) || reused)
            }
        };
        if known == Some(true) {
            if let Some(mut old) = self.conns.remove(&k) {
                self.close_conn(&mut old, ts, out);
            }
        }
        if known != Some(false) {
            if self.conns.len() >= self.limits.max_connections {
                self.evict(out);
            }
            self.open(seg, ts, out);
        }
        let counter = self.counter;
        let Some(conn) = self.conns.get_mut(&k) else {
            return;
        };
        conn.last_ts = ts.or(conn.last_ts);
        conn.last_active = counter;
        if conn.finished() {
            // Late ACKs and retransmissions after both sides closed.
            return;
        }
        let d = usize::from(seg.src != conn.client);
        let stream = conn.stream;
        let mut ctx = Ctx {
            out,
            ts,
            stream,
            spare: &mut self.spare,
        };
        let total = &mut self.pending_total;

        if seg.rst {
            conn.used = true;
            for i in 0..2 {
                ctx.close(i, &mut conn.dirs[i], total);
            }
            return;
        }
        if seg.syn {
            conn.syn[d] = Some(seg.seq);
            let dir = &mut conn.dirs[d];
            if dir.next == 0 && dir.pending.is_empty() {
                dir.base = Some(seg.seq.wrapping_add(1));
            }
        }
        let data_seq = seg.seq.wrapping_add(u32::from(seg.syn));
        let this = &conn.dirs[d];
        // Mid-stream, a keep-alive can be the first segment seen in a direction; the peer's
        // acknowledgement number (the next byte it expects) gives it away.
        let early_keepalive = this.base.is_none()
            && seg.len <= 1
            && !seg.fin
            && this.peer_ack == Some(data_seq.wrapping_add(1));
        if (seg.len > 0 || seg.fin) && !early_keepalive {
            conn.used = true;
            let this = &mut conn.dirs[d];
            if this.base.is_none() {
                this.base = Some(data_seq);
            }
            if let Some(off) = this.offset(data_seq) {
                insert(
                    &mut ctx,
                    d,
                    this,
                    off,
                    seg,
                    total,
                    frame,
                    self.limits.max_pending_dir,
                );
                if seg.fin {
                    let fin = (off + seg.len as i128).max(0) as u64;
                    if this.fin.is_none() {
                        this.fin = Some(fin);
                    }
                }
                ctx.close_if_done(d, this, total);
            }
        }
        conn.packets += 1;
        if seg.ack_flag {
            let p = 1 - d;
            let peer = &mut conn.dirs[p];
            peer.peer_ack = Some(seg.ack);
            if let Some(ack) = peer.offset(seg.ack) {
                if ack > i128::from(peer.acked) {
                    peer.acked = u64::try_from(ack).unwrap_or(0);
                    peer.acked_at = conn.packets;
                }
            }
        }
        for p in 0..2 {
            let dir = &mut conn.dirs[p];
            if conn.packets >= dir.acked_at + ACK_PROOF_DELAY {
                ctx.settle_acked(p, dir, total);
            }
        }
        if self.pending_total > self.limits.max_pending_total {
            let dir = &mut conn.dirs[d];
            while ctx.skip_hole(d, dir, &mut self.pending_total) {}
        }
    }

    fn close_conn(&mut self, c: &mut Conn, ts: Option<Timestamp>, out: &mut Vec<StreamEvent>) {
        let mut ctx = Ctx {
            out,
            ts: ts.or(c.last_ts),
            stream: c.stream,
            spare: &mut self.spare,
        };
        for i in 0..2 {
            ctx.close(i, &mut c.dirs[i], &mut self.pending_total);
        }
    }

    /// Makes room in the connection table: forgets closed connections first, then closes
    /// the least recently active open ones.
    fn evict(&mut self, out: &mut Vec<StreamEvent>) {
        let max = self.limits.max_connections;
        let target = max.saturating_sub(max / 10 + 1);
        let mut all: Vec<(bool, u64, Key)> = self
            .conns
            .iter()
            .map(|(k, c)| (!c.finished(), c.last_active, *k))
            .collect();
        all.sort();
        let excess = self.conns.len().saturating_sub(target);
        let mut closed_open = 0;
        for (open, _, k) in all.into_iter().take(excess) {
            if let Some(mut c) = self.conns.remove(&k) {
                if open {
                    closed_open += 1;
                    let ts = c.last_ts;
                    self.close_conn(&mut c, ts, out);
                }
            }
        }
        if closed_open > 0 {
            out.push(StreamEvent::Diagnostic(Diagnostic::warning(format!(
                "more than {} TCP connections tracked at once: closed the {closed_open} least \
                 recently active ones early",
                self.limits.max_connections
            ))));
        }
    }

    /// Forgets connections closed long ago (by capture time), every 10 s of capture time.
    fn sweep(&mut self, ts: Option<Timestamp>) {
        let Some(now) = ts.map(Timestamp::as_nanos) else {
            return;
        };
        if self
            .last_sweep
            .is_some_and(|l| now.saturating_sub(l) < 10_000_000_000)
        {
            return;
        }
        self.last_sweep = Some(now);
        self.conns.retain(|_, c| {
            !(c.finished()
                && c.last_ts
                    .is_some_and(|t| now.saturating_sub(t.as_nanos()) > CLOSED_LINGER_NANOS))
        });
    }

    /// Takes back the buffer of a consumed [`StreamEvent::Data`] for reuse.
    pub(crate) fn recycle(&mut self, bytes: Vec<u8>) {
        if self.spare.len() < SPARE_BUFFERS && bytes.capacity() <= SPARE_BUFFER_MAX {
            self.spare.push(bytes);
        }
    }

    /// End of capture: flush and close every open direction, in stream order.
    pub(crate) fn finish(&mut self, out: &mut Vec<StreamEvent>) {
        let mut all: Vec<Conn> = self.conns.drain().map(|(_, c)| c).collect();
        all.sort_by_key(|c| c.stream);
        for mut c in all {
            let ts = c.last_ts;
            self.close_conn(&mut c, ts, out);
        }
        self.pending_total = 0;
    }
}

/// Places a segment's captured payload at offset `off` of direction `d`.
#[allow(clippy::too_many_arguments)]
fn insert(
    ctx: &mut Ctx<'_>,
    d: usize,
    dir: &mut Dir,
    off: i128,
    seg: &Segment<'_>,
    total: &mut usize,
    frame: u64,
    max_pending_dir: usize,
) {
    let data = seg.payload;
    if data.is_empty() {
        return;
    }
    let next = i128::from(dir.next);
    // Keep-alive: zero or one byte just below the next expected byte.
    if seg.len <= 1 && off == next - 1 && !seg.fin {
        return;
    }
    // Bytes before the start of the capture's view of this direction are lost.
    let skip = usize::try_from((-off).max(0)).unwrap_or(usize::MAX);
    let Some(data) = data.get(skip..) else { return };
    let off = (off.max(0)) as u64;
    let end = off + data.len() as u64;

    // Part already delivered: a retransmission; compare with the bytes we still remember.
    if off < dir.next {
        report_late(ctx, d, dir, off, end, frame);
        let hist_start = dir.next - dir.history.len() as u64;
        let (s, e) = (off.max(hist_start), end.min(dir.next));
        if s < e {
            let old = dir
                .history
                .range((s - hist_start) as usize..(e - hist_start) as usize);
            let new = &data[(s - off) as usize..(e - off) as usize];
            if let Some(at) = old.zip(new).position(|(a, b)| a != b) {
                report_diff(ctx, d, dir, s + at as u64, frame);
            }
        }
    }
    if end <= dir.next {
        return;
    }
    let from = off.max(dir.next);
    let data = &data[(from - off) as usize..];
    if from == dir.next && dir.pending.is_empty() {
        // In order with nothing held back (nearly every segment): delivered at once, as
        // `deliver` would deliver it after holding it.
        let mut bytes = ctx.spare.pop().unwrap_or_default();
        bytes.clear();
        bytes.extend_from_slice(data);
        ctx.emit_data(d, dir, bytes, ctx.ts);
        return;
    }
    let mut fresh: Vec<(u64, u64)> = Vec::new();
    let mut overlapping: Vec<(u64, u64)> = Vec::new();
    if let Some((&k, p)) = dir.pending.range(..from).next_back() {
        if k + p.bytes.len() as u64 > from {
            overlapping.push((k, p.bytes.len() as u64));
        }
    }
    overlapping.extend(
        dir.pending
            .range(from..end)
            .map(|(&k, p)| (k, p.bytes.len() as u64)),
    );
    let mut cur = from;
    let mut differs_at = None;
    for (k, len) in overlapping {
        if k > cur {
            fresh.push((cur, k));
        }
        let (s, e) = (k.max(from), (k + len).min(end));
        if s < e && differs_at.is_none() {
            if let Some(p) = dir.pending.get(&k) {
                let old = &p.bytes[(s - k) as usize..(e - k) as usize];
                let new = &data[(s - from) as usize..(e - from) as usize];
                differs_at = old
                    .iter()
                    .zip(new)
                    .position(|(a, b)| a != b)
                    .map(|i| s + i as u64);
            }
        }
        cur = cur.max(k + len);
    }
    if cur < end {
        fresh.push((cur, end));
    }
    if let Some(at) = differs_at {
        report_diff(ctx, d, dir, at, frame);
    }
    for (s, e) in fresh {
        let bytes = data[(s - from) as usize..(e - from) as usize].to_vec();
        dir.pending_bytes += bytes.len();
        *total += bytes.len();
        dir.pending.insert(s, Piece { bytes, ts: ctx.ts });
    }
    ctx.deliver(d, dir, total);
    while dir.pending_bytes > max_pending_dir {
        ctx.skip_hole(d, dir, total);
    }
}

/// Bytes `off..end` that fall in a range already declared a gap: the segment came later
/// than reassembly waits for (more than [`ACK_PROOF_DELAY`] packets after the peer's ACK, or
/// past the held-data limits; typically in captures merged out of order). They cannot be put back; say so, once per
/// gap and at most [`MAX_DIFF_REPORTS`] times per direction.
fn report_late(ctx: &mut Ctx<'_>, d: usize, dir: &mut Dir, off: u64, end: u64, frame: u64) {
    let Some(i) = dir.gaps.iter().position(|&(s, e)| off < e && end > s) else {
        return;
    };
    let Some((gap_start, gap_end)) = dir.gaps.remove(i) else {
        return;
    };
    dir.late_reports += 1;
    if dir.late_reports > MAX_DIFF_REPORTS {
        return;
    }
    let (s, e) = (off.max(gap_start), end.min(gap_end));
    ctx.out
        .push(StreamEvent::Diagnostic(Diagnostic::warning(format!(
            "stream {} {}: frame {frame} carries {} bytes at offset {s} that were already \
             reported missing (the gap of {} bytes at offset {gap_start}): the segment came \
             after reassembly had stopped waiting for it (the peer had acknowledged past it \
             {ACK_PROOF_DELAY}+ packets earlier, or too much data was held behind it), as in \
             captures merged out of order; those bytes are not in the reassembled stream",
            ctx.stream,
            dir_name(d),
            e - s,
            gap_end - gap_start,
        ))));
}

fn report_diff(ctx: &mut Ctx<'_>, d: usize, dir: &mut Dir, at: u64, frame: u64) {
    dir.diff_reports += 1;
    let msg = if dir.diff_reports <= MAX_DIFF_REPORTS {
        format!(
            "stream {} {}: frame {frame} retransmits bytes at offset {at} that differ from the \
             copy already seen; the first copy is kept",
            ctx.stream,
            dir_name(d)
        )
    } else if dir.diff_reports == MAX_DIFF_REPORTS + 1 {
        format!(
            "stream {} {}: further differing retransmissions not reported",
            ctx.stream,
            dir_name(d)
        )
    } else {
        return;
    };
    ctx.out
        .push(StreamEvent::Diagnostic(Diagnostic::warning(msg)));
}
