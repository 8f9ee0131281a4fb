//! L2–L4: link-layer decode, IPv4/IPv6 (with IPv4 fragment reassembly) through etherparse,
//! and TCP reassembly per direction.
//!
//! [`NetStage`] is fed packets in capture order and emits [`StreamEvent`]s: in-order stream
//! bytes per direction, gaps (bytes that never arrived, with their position), and closes.
//! It never papers over a gap.
//!
//! Submodules: `link` strips link-layer headers, `defrag` reassembles IP fragments,
//! `tcp` reassembles streams. IP and TCP headers are parsed with etherparse (lax slicing, so
//! packets cut by the snaplen still yield what they hold). Checksums are not verified:
//! captures taken on the sending host carry offloaded, not-yet-filled checksums.

mod defrag;
mod link;
mod tcp;

pub use tcp::{HISTORY, MAX_PENDING_DIR, MAX_PENDING_TOTAL};

use crate::capture::Packet;
use crate::model::{Diagnostic, FlowDirection, Timestamp};
use etherparse::{IpNumber, Ipv6ExtensionSlice, LaxIpSlice, TcpSlice};
use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};

/// What the TCP reassembler emits, in capture order.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// A new TCP connection was seen. `stream` ids follow the order of each stream's first
    /// packet. `client` is the SYN sender, or a best guess for a capture that starts mid-stream.
    Opened {
        stream: usize,
        client: SocketAddr,
        server: SocketAddr,
        ts: Option<Timestamp>,
    },
    /// Contiguous bytes at `offset` (relative to the first byte seen in that direction).
    Data {
        stream: usize,
        dir: FlowDirection,
        offset: u64,
        bytes: Vec<u8>,
        ts: Option<Timestamp>,
    },
    /// `length` bytes at `offset` are missing from the capture.
    Gap {
        stream: usize,
        dir: FlowDirection,
        offset: u64,
        length: u64,
        ts: Option<Timestamp>,
    },
    /// No more bytes will come in this direction (FIN, RST or end of capture).
    Closed {
        stream: usize,
        dir: FlowDirection,
        ts: Option<Timestamp>,
    },
    Diagnostic(Diagnostic),
}

/// Bounds on what [`NetStage`] holds; the defaults suit captures of any size. Worst case
/// memory is about `max_connections` × 2 × [`HISTORY`] (bytes kept to compare
/// retransmissions) plus `max_pending_total` (out-of-order bytes) plus IP fragments
/// (1024 datagrams of at most 64 KiB).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetLimits {
    /// TCP connections tracked at once (closed ones count until forgotten).
    pub max_connections: usize,
    /// Out-of-order bytes held per stream direction.
    pub max_pending_dir: usize,
    /// Out-of-order bytes held over all streams.
    pub max_pending_total: usize,
}

impl Default for NetLimits {
    fn default() -> Self {
        NetLimits {
            max_connections: 10_000,
            max_pending_dir: MAX_PENDING_DIR,
            max_pending_total: MAX_PENDING_TOTAL,
        }
    }
}

/// Packet counts kept by [`NetStage`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetStats {
    pub packets: u64,
    /// Frames that carry no IP (ARP, LLC, ...).
    pub non_ip: u64,
    /// IP packets that carry no TCP (UDP, ICMP, ...).
    pub non_tcp: u64,
    pub tcp_segments: u64,
    /// IP fragments received (TCP ones; others are counted as non-TCP).
    pub fragments: u64,
    /// Frames whose link, IP or TCP header could not be decoded.
    pub malformed: u64,
    /// TCP streams opened so far.
    pub streams: usize,
}

/// At most this many diagnostics from this stage; later ones are counted and summarised.
const MAX_DIAGNOSTICS: u64 = 500;

/// The L2–L4 stage: feed packets in capture order, collect [`StreamEvent`]s.
pub struct NetStage {
    tcp: tcp::Tcp,
    defrag: defrag::Defrag,
    stats: NetStats,
    packet_diags: u64,
}

impl Default for NetStage {
    fn default() -> Self {
        NetStage::new()
    }
}

/// What the IP layer found in a packet: a TCP segment's bytes, or nothing to do.
struct IpTcp<'a> {
    src: IpAddr,
    dst: IpAddr,
    /// TCP header and payload: the packet's own bytes, or reassembled from fragments.
    bytes: Cow<'a, [u8]>,
    /// TCP header + payload length claimed by the IP header (more than `bytes` when cut).
    claimed: usize,
}

impl NetStage {
    pub fn new() -> Self {
        NetStage::with_limits(NetLimits::default())
    }

    pub fn with_limits(limits: NetLimits) -> Self {
        NetStage {
            tcp: tcp::Tcp::new(limits),
            defrag: defrag::Defrag::default(),
            stats: NetStats::default(),
            packet_diags: 0,
        }
    }

    pub fn stats(&self) -> NetStats {
        NetStats {
            streams: self.tcp.streams(),
            ..self.stats
        }
    }

    fn malformed(&mut self, frame: u64, what: String, out: &mut Vec<StreamEvent>) {
        self.stats.malformed += 1;
        out.push(StreamEvent::Diagnostic(Diagnostic::warning(format!(
            "frame {frame}: {what}"
        ))));
    }

    /// Drops diagnostics beyond [`MAX_DIAGNOSTICS`] from the events added since `start`.
    fn cap_diagnostics(&mut self, out: &mut Vec<StreamEvent>, start: usize) {
        // Nearly every packet brings no diagnostic: then nothing to count or move.
        let new = out.get(start..).unwrap_or_default();
        if !new.iter().any(|e| matches!(e, StreamEvent::Diagnostic(_))) {
            return;
        }
        let mut tail = out.split_off(start.min(out.len()));
        tail.retain(|e| {
            if !matches!(e, StreamEvent::Diagnostic(_)) {
                return true;
            }
            self.packet_diags += 1;
            self.packet_diags <= MAX_DIAGNOSTICS
        });
        out.append(&mut tail);
    }

    /// Decodes one packet and feeds any TCP segment in it to the reassembler.
    pub fn push(&mut self, pkt: &Packet, out: &mut Vec<StreamEvent>) {
        let start = out.len();
        self.decode(pkt, out);
        self.cap_diagnostics(out, start);
    }

    fn decode(&mut self, pkt: &Packet, out: &mut Vec<StreamEvent>) {
        self.stats.packets += 1;
        let ip = match link::network_layer(pkt.link, &pkt.data) {
            link::L3::Ip(ip) => ip,
            link::L3::NotIp => {
                self.stats.non_ip += 1;
                return;
            }
            link::L3::Malformed(why) => return self.malformed(pkt.number, why, out),
        };
        let mut diags = Vec::new();
        let found = self.ip_layer(ip, pkt, &mut diags);
        out.extend(diags.into_iter().map(StreamEvent::Diagnostic));
        let seg = match found {
            Ok(Some(seg)) => seg,
            Ok(None) => return,
            Err(why) => return self.malformed(pkt.number, why, out),
        };
        let tcp = match TcpSlice::from_slice(&seg.bytes) {
            Ok(t) => t,
            Err(e) => return self.malformed(pkt.number, format!("malformed TCP header: {e}"), out),
        };
        self.stats.tcp_segments += 1;
        let header = usize::from(tcp.data_offset()) * 4;
        let segment = tcp::Segment {
            src: SocketAddr::new(seg.src, tcp.source_port()),
            dst: SocketAddr::new(seg.dst, tcp.destination_port()),
            seq: tcp.sequence_number(),
            ack: tcp.acknowledgment_number(),
            syn: tcp.syn(),
            ack_flag: tcp.ack(),
            fin: tcp.fin(),
            rst: tcp.rst(),
            payload: tcp.payload(),
            len: seg.claimed.saturating_sub(header).max(tcp.payload().len()),
        };
        self.tcp.segment(&segment, pkt.ts, pkt.number, out);
    }

    /// Parses the IP header(s); returns the TCP bytes when the packet (or the datagram it
    /// completes) carries TCP.
    fn ip_layer<'a>(
        &mut self,
        ip: &'a [u8],
        pkt: &Packet,
        diags: &mut Vec<Diagnostic>,
    ) -> Result<Option<IpTcp<'a>>, String> {
        let (slice, _ext_err) =
            LaxIpSlice::from_slice(ip).map_err(|e| format!("malformed IP header: {e}"))?;
        let (src, dst) = (slice.source_addr(), slice.destination_addr());
        match &slice {
            LaxIpSlice::Ipv4(v4) => {
                let h = v4.header();
                let p = v4.payload();
                if h.protocol() != IpNumber::TCP {
                    self.stats.non_tcp += 1;
                    return Ok(None);
                }
                let claimed = usize::from(h.total_len()).saturating_sub(usize::from(h.ihl()) * 4);
                if !p.fragmented {
                    return Ok(Some(IpTcp {
                        src,
                        dst,
                        bytes: Cow::Borrowed(p.payload),
                        claimed,
                    }));
                }
                self.stats.fragments += 1;
                let key = defrag::FragKey {
                    src,
                    dst,
                    proto: 6,
                    id: u32::from(h.identification()),
                };
                let offset = usize::from(h.fragments_offset().byte_offset());
                Ok(self
                    .defrag
                    .add(
                        key,
                        offset,
                        h.more_fragments(),
                        p.payload,
                        pkt.ts,
                        pkt.number,
                        diags,
                    )
                    .map(|bytes| IpTcp {
                        src,
                        dst,
                        claimed: bytes.len(),
                        bytes: Cow::Owned(bytes),
                    }))
            }
            LaxIpSlice::Ipv6(v6) => {
                let p = v6.payload();
                if !p.fragmented {
                    if p.ip_number != IpNumber::TCP {
                        self.stats.non_tcp += 1;
                        return Ok(None);
                    }
                    let claimed = match v6.header().payload_length() {
                        0 => p.payload.len(),
                        n => usize::from(n).saturating_sub(v6.extensions().slice().len()),
                    };
                    return Ok(Some(IpTcp {
                        src,
                        dst,
                        bytes: Cow::Borrowed(p.payload),
                        claimed,
                    }));
                }
                // Fragmented: the fragment payload starts right after the fragment header
                // (etherparse may have read on into what it took for further headers).
                let mut at = 0;
                let mut frag = None;
                for ext in v6.extensions().clone() {
                    let len = match &ext {
                        Ipv6ExtensionSlice::HopByHop(s)
                        | Ipv6ExtensionSlice::Routing(s)
                        | Ipv6ExtensionSlice::DestinationOptions(s) => s.slice().len(),
                        Ipv6ExtensionSlice::Fragment(f) => f.slice().len(),
                        Ipv6ExtensionSlice::Authentication(a) => a.slice().len(),
                    };
                    at += len;
                    if let Ipv6ExtensionSlice::Fragment(f) = ext {
                        frag = Some(f);
                        break;
                    }
                }
                let Some(f) = frag else {
                    return Err("IPv6 packet marked fragmented without a fragment header".into());
                };
                if f.next_header() != IpNumber::TCP {
                    self.stats.non_tcp += 1;
                    return Ok(None);
                }
                self.stats.fragments += 1;
                let rest = ip.get(40..).unwrap_or(&[]);
                let limit = match v6.header().payload_length() {
                    0 => rest.len(),
                    n => usize::from(n).min(rest.len()),
                };
                let data = rest.get(at..limit).unwrap_or(&[]);
                let key = defrag::FragKey {
                    src,
                    dst,
                    proto: 6,
                    id: f.identification(),
                };
                let offset = usize::from(f.fragment_offset().byte_offset());
                Ok(self
                    .defrag
                    .add(
                        key,
                        offset,
                        f.more_fragments(),
                        data,
                        pkt.ts,
                        pkt.number,
                        diags,
                    )
                    .map(|bytes| IpTcp {
                        src,
                        dst,
                        claimed: bytes.len(),
                        bytes: Cow::Owned(bytes),
                    }))
            }
        }
    }

    /// Hands back the bytes of a consumed [`StreamEvent::Data`], so a later segment reuses
    /// the buffer (optional: dropping them costs an allocation later, nothing else).
    pub fn recycle(&mut self, bytes: Vec<u8>) {
        self.tcp.recycle(bytes);
    }

    /// End of capture: incomplete IP datagrams are reported; held TCP data beyond holes
    /// becomes Gap + Data; every open direction is closed.
    pub fn finish(&mut self, out: &mut Vec<StreamEvent>) {
        let start = out.len();
        let mut diags = Vec::new();
        self.defrag.finish(&mut diags);
        out.extend(diags.into_iter().map(StreamEvent::Diagnostic));
        self.tcp.finish(out);
        self.cap_diagnostics(out, start);
        if self.packet_diags > MAX_DIAGNOSTICS {
            out.push(StreamEvent::Diagnostic(Diagnostic::warning(format!(
                "{} further network diagnostics were suppressed (limit {MAX_DIAGNOSTICS})",
                self.packet_diags - MAX_DIAGNOSTICS
            ))));
            self.packet_diags = MAX_DIAGNOSTICS;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
