//! A capture writer for tests, written independently of `wcfscope_core::capture` and `net`:
//! it turns TCP conversations (built from given HTTP message bytes) into real pcap/pcapng
//! file bytes, with control over everything the reassembler has to cope with —
//! segmentation (MSS or explicit sizes), reordering, loss, identical and differing
//! retransmissions, overlapping segments, IPv4 fragmentation, mid-stream starts, sequence
//! wrap-around, keep-alives, FIN/RST — and over the container: classic pcap in both byte
//! orders with micro- or nanosecond timestamps, and pcapng with several interfaces of
//! different link types, per-interface `if_tsresol`/`if_tsoffset`, EPB/SPB/obsolete
//! packet blocks and comments.
//!
//! Formats follow the pcap and pcapng specifications (draft-ietf-opsawg-pcap,
//! draft-ietf-opsawg-pcapng) and the LINKTYPE_* registry; header layouts follow RFC 791
//! (IPv4), RFC 8200 (IPv6), RFC 9293 (TCP), IEEE 802.1Q, and the Linux `SLL`/`SLL2` and BSD
//! loopback pseudo-headers as documented at tcpdump.org.

use std::net::{IpAddr, SocketAddr};

/// Direction of a segment within a [`Conversation`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Client to server.
    C2S,
    /// Server to client.
    S2C,
}

impl Dir {
    fn idx(self) -> usize {
        match self {
            Dir::C2S => 0,
            Dir::S2C => 1,
        }
    }
}

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

/// One TCP segment, before it is wrapped in IP and a link layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seg {
    pub dir: Dir,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    pub payload: Vec<u8>,
}

/// A TCP conversation: segments in the order they will be written, plus each direction's
/// intended stream bytes (so tests can craft arbitrary extra segments: overlaps,
/// retransmissions, keep-alives).
#[derive(Debug, Clone)]
pub struct Conversation {
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub isn: [u32; 2],
    pub mss: usize,
    /// The bytes each direction sent, in stream order (offset 0 = first byte after the SYN).
    pub stream: [Vec<u8>; 2],
    pub segs: Vec<Seg>,
}

impl Conversation {
    /// A conversation with ISNs 1000 (client) and 5000 (server) and MSS 1460; nothing sent yet.
    pub fn new(client: &str, server: &str) -> Conversation {
        Conversation {
            client: client.parse().expect("client address"),
            server: server.parse().expect("server address"),
            isn: [1000, 5000],
            mss: 1460,
            stream: [Vec::new(), Vec::new()],
            segs: Vec::new(),
        }
    }

    pub fn isns(mut self, client: u32, server: u32) -> Self {
        self.isn = [client, server];
        self
    }

    pub fn mss(mut self, mss: usize) -> Self {
        self.mss = mss.max(1);
        self
    }

    /// Sequence number of stream offset `off` in `dir` (first data byte is ISN + 1).
    pub fn seq_at(&self, dir: Dir, off: usize) -> u32 {
        self.isn[dir.idx()].wrapping_add(1).wrapping_add(off as u32)
    }

    fn ack_for(&self, dir: Dir) -> u32 {
        let other = match dir {
            Dir::C2S => Dir::S2C,
            Dir::S2C => Dir::C2S,
        };
        self.seq_at(other, self.stream[other.idx()].len())
    }

    /// SYN, SYN-ACK, ACK.
    pub fn handshake(&mut self) -> &mut Self {
        let (c, s) = (self.isn[0], self.isn[1]);
        self.segs.push(seg(Dir::C2S, c, 0, SYN, vec![]));
        self.segs
            .push(seg(Dir::S2C, s, c.wrapping_add(1), SYN | ACK, vec![]));
        self.segs.push(seg(
            Dir::C2S,
            c.wrapping_add(1),
            s.wrapping_add(1),
            ACK,
            vec![],
        ));
        self
    }

    /// Appends `bytes` to `dir`'s stream, cut into MSS-sized segments (PSH on the last).
    pub fn send(&mut self, dir: Dir, bytes: &[u8]) -> &mut Self {
        let sizes: Vec<usize> = bytes.chunks(self.mss).map(|c| c.len()).collect();
        self.send_sizes(dir, bytes, &sizes)
    }

    /// Appends `bytes` to `dir`'s stream, cut into segments of the given sizes (the last
    /// size repeats until everything is sent).
    pub fn send_sizes(&mut self, dir: Dir, bytes: &[u8], sizes: &[usize]) -> &mut Self {
        let mut at = 0;
        let mut k = 0;
        while at < bytes.len() {
            let n = sizes
                .get(k)
                .or(sizes.last())
                .copied()
                .unwrap_or(self.mss)
                .max(1)
                .min(bytes.len() - at);
            let off = self.stream[dir.idx()].len();
            let seq = self.seq_at(dir, off);
            let ack = self.ack_for(dir);
            let flags = if at + n == bytes.len() {
                PSH | ACK
            } else {
                ACK
            };
            self.stream[dir.idx()].extend_from_slice(&bytes[at..at + n]);
            self.segs
                .push(seg(dir, seq, ack, flags, bytes[at..at + n].to_vec()));
            at += n;
            k += 1;
        }
        self
    }

    /// A pure ACK from `dir`.
    pub fn ack(&mut self, dir: Dir) -> &mut Self {
        let s = seg(
            dir,
            self.seq_at(dir, self.stream[dir.idx()].len()),
            self.ack_for(dir),
            ACK,
            vec![],
        );
        self.segs.push(s);
        self
    }

    /// A keep-alive from `dir`: sequence number one below the next, with one garbage byte
    /// (as BSD stacks send) or none (as Linux sends).
    pub fn keepalive(&mut self, dir: Dir, garbage_byte: bool) -> &mut Self {
        let next = self.seq_at(dir, self.stream[dir.idx()].len());
        let payload = if garbage_byte { vec![0u8] } else { vec![] };
        let s = seg(dir, next.wrapping_sub(1), self.ack_for(dir), ACK, payload);
        self.segs.push(s);
        self
    }

    /// A FIN from `dir` after everything it sent.
    pub fn fin(&mut self, dir: Dir) -> &mut Self {
        let s = seg(
            dir,
            self.seq_at(dir, self.stream[dir.idx()].len()),
            self.ack_for(dir),
            FIN | ACK,
            vec![],
        );
        self.segs.push(s);
        self
    }

    pub fn rst(&mut self, dir: Dir) -> &mut Self {
        let s = seg(
            dir,
            self.seq_at(dir, self.stream[dir.idx()].len()),
            self.ack_for(dir),
            RST | ACK,
            vec![],
        );
        self.segs.push(s);
        self
    }

    /// A segment carrying `dir`'s stream bytes `off..off+len` (clamped), e.g. for an
    /// overlapping or retransmitted copy. It acknowledges what the segment first carrying
    /// `off` acknowledged (an ACK of bytes the peer has not sent yet would be impossible).
    pub fn segment_at(&self, dir: Dir, off: usize, len: usize) -> Seg {
        let s = &self.stream[dir.idx()];
        let end = (off + len).min(s.len());
        let ack = self
            .seg_index_at(dir, off)
            .map_or_else(|| self.ack_for(dir), |i| self.segs[i].ack);
        seg(
            dir,
            self.seq_at(dir, off),
            ack,
            PSH | ACK,
            s[off.min(end)..end].to_vec(),
        )
    }

    /// Index in `segs` of the data segment of `dir` whose payload contains stream offset `off`.
    pub fn seg_index_at(&self, dir: Dir, off: usize) -> Option<usize> {
        let target = self.seq_at(dir, off);
        self.segs.iter().position(|s| {
            s.dir == dir
                && !s.payload.is_empty()
                && target.wrapping_sub(s.seq) < s.payload.len() as u32
        })
    }

    /// Removes the segments at `indices` (loss).
    pub fn drop_segs(&mut self, indices: &[usize]) -> &mut Self {
        let mut i = 0;
        self.segs.retain(|_| {
            let keep = !indices.contains(&i);
            i += 1;
            keep
        });
        self
    }

    /// Moves segment `from` to position `to` (reordering).
    pub fn move_seg(&mut self, from: usize, to: usize) -> &mut Self {
        let s = self.segs.remove(from);
        self.segs.insert(to.min(self.segs.len()), s);
        self
    }

    /// Inserts a copy of segment `i` at position `at` (identical retransmission).
    pub fn retransmit(&mut self, i: usize, at: usize) -> &mut Self {
        let s = self.segs[i].clone();
        self.segs.insert(at.min(self.segs.len()), s);
        self
    }

    /// Inserts a copy of segment `i` with every payload byte XOR-ed with `xor` at `at`
    /// (a retransmission whose bytes differ from the first copy).
    pub fn retransmit_differing(&mut self, i: usize, at: usize, xor: u8) -> &mut Self {
        let mut s = self.segs[i].clone();
        for b in &mut s.payload {
            *b ^= xor;
        }
        self.segs.insert(at.min(self.segs.len()), s);
        self
    }

    pub fn insert(&mut self, at: usize, s: Seg) -> &mut Self {
        self.segs.insert(at.min(self.segs.len()), s);
        self
    }

    /// Drops everything before the first data segment of either direction (a capture
    /// started mid-stream: no SYN seen), and also `skip` more segments after that.
    pub fn start_mid_stream(&mut self, skip: usize) -> &mut Self {
        let first = self
            .segs
            .iter()
            .position(|s| !s.payload.is_empty())
            .unwrap_or(0);
        self.segs.drain(..(first + skip).min(self.segs.len()));
        self
    }
}

fn seg(dir: Dir, seq: u32, ack: u32, flags: u8, payload: Vec<u8>) -> Seg {
    Seg {
        dir,
        seq,
        ack,
        flags,
        window: 65535,
        payload,
    }
}

/// The Internet checksum (RFC 1071) over `data` with an initial sum.
fn inet_checksum(mut sum: u32, data: &[u8]) -> u16 {
    for ch in data.chunks(2) {
        let w = if ch.len() == 2 {
            u16::from_be_bytes([ch[0], ch[1]])
        } else {
            u16::from_be_bytes([ch[0], 0])
        };
        sum += u32::from(w);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn pseudo_sum(src: IpAddr, dst: IpAddr, len: usize) -> u32 {
    let mut b = Vec::new();
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            b.extend(s.octets());
            b.extend(d.octets());
            b.extend([0, 6]);
            b.extend((len as u16).to_be_bytes());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            b.extend(s.octets());
            b.extend(d.octets());
            b.extend((len as u32).to_be_bytes());
            b.extend([0, 0, 0, 6]);
        }
        _ => panic!("mixed address families"),
    }
    b.chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum()
}

/// TCP header (20 bytes, no options) + payload, with a correct checksum.
pub fn tcp_bytes(src: SocketAddr, dst: SocketAddr, s: &Seg) -> Vec<u8> {
    let mut t = Vec::with_capacity(20 + s.payload.len());
    t.extend(src.port().to_be_bytes());
    t.extend(dst.port().to_be_bytes());
    t.extend(s.seq.to_be_bytes());
    t.extend(s.ack.to_be_bytes());
    t.push(5 << 4);
    t.push(s.flags);
    t.extend(s.window.to_be_bytes());
    t.extend([0, 0, 0, 0]);
    t.extend(&s.payload);
    let c = inet_checksum(pseudo_sum(src.ip(), dst.ip(), t.len()), &t);
    t[16..18].copy_from_slice(&c.to_be_bytes());
    t
}

/// IP datagrams carrying `l4` (protocol 6) from `src` to `dst`. IPv4 datagrams are cut into
/// fragments whose payloads are at most `frag_payload` bytes (rounded down to a multiple of
/// 8) when given; IPv6 is never fragmented.
pub fn ip_packets(
    src: IpAddr,
    dst: IpAddr,
    id: u16,
    l4: &[u8],
    frag_payload: Option<usize>,
) -> Vec<Vec<u8>> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let step = frag_payload
                .map(|n| (n / 8).max(1) * 8)
                .unwrap_or(usize::MAX);
            let mut out = Vec::new();
            let mut at = 0;
            loop {
                let n = step.min(l4.len() - at);
                let more = at + n < l4.len();
                let mut h = vec![0x45, 0];
                h.extend(((20 + n) as u16).to_be_bytes());
                h.extend(id.to_be_bytes());
                let fo = ((at / 8) as u16) | if more { 0x2000 } else { 0 };
                h.extend(fo.to_be_bytes());
                h.extend([64, 6, 0, 0]);
                h.extend(s.octets());
                h.extend(d.octets());
                let c = inet_checksum(0, &h);
                h[10..12].copy_from_slice(&c.to_be_bytes());
                h.extend(&l4[at..at + n]);
                out.push(h);
                at += n;
                if !more {
                    break;
                }
            }
            out
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let mut h = vec![0x60, 0, 0, 0];
            h.extend((l4.len() as u16).to_be_bytes());
            h.extend([6, 64]);
            h.extend(s.octets());
            h.extend(d.octets());
            h.extend(l4);
            vec![h]
        }
        _ => panic!("mixed address families"),
    }
}

/// A link layer to wrap IP datagrams in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Ethernet,
    /// Ethernet with one 802.1Q tag (VLAN id).
    Vlan(u16),
    /// Ethernet with an 802.1ad outer tag and an 802.1Q inner tag.
    QinQ(u16, u16),
    /// Linux cooked capture v1.
    Sll,
    /// Linux cooked capture v2.
    Sll2,
    /// BSD loopback (LINKTYPE_NULL): 4-byte address family in the capturing host's byte
    /// order, here little-endian; AF_INET6 as Darwin's 30.
    Null,
    /// LINKTYPE_LOOP (OpenBSD): address family in network byte order; AF_INET6 as 24.
    Loop,
    /// LINKTYPE_RAW: bare IPv4 or IPv6.
    Raw,
    /// LINKTYPE_IPV4 / LINKTYPE_IPV6.
    Ipv4,
    Ipv6,
}

impl Link {
    /// The LINKTYPE_* code written in the file header or interface block.
    pub fn code(self) -> u16 {
        match self {
            Link::Ethernet | Link::Vlan(_) | Link::QinQ(..) => 1,
            Link::Sll => 113,
            Link::Sll2 => 276,
            Link::Null => 0,
            Link::Loop => 108,
            Link::Raw => 101,
            Link::Ipv4 => 228,
            Link::Ipv6 => 229,
        }
    }

    /// The frame bytes for one IP datagram.
    pub fn wrap(self, ip: &[u8]) -> Vec<u8> {
        let v6 = ip.first().map(|b| b >> 4) == Some(6);
        let ethertype: u16 = if v6 { 0x86dd } else { 0x0800 };
        let mut f = Vec::with_capacity(ip.len() + 24);
        let macs = [
            0x02, 0, 0, 0, 0, 0x02, // destination
            0x02, 0, 0, 0, 0, 0x01, // source
        ];
        match self {
            Link::Ethernet => {
                f.extend(macs);
                f.extend(ethertype.to_be_bytes());
            }
            Link::Vlan(id) => {
                f.extend(macs);
                f.extend(0x8100u16.to_be_bytes());
                f.extend((id & 0x0fff).to_be_bytes());
                f.extend(ethertype.to_be_bytes());
            }
            Link::QinQ(outer, inner) => {
                f.extend(macs);
                f.extend(0x88a8u16.to_be_bytes());
                f.extend((outer & 0x0fff).to_be_bytes());
                f.extend(0x8100u16.to_be_bytes());
                f.extend((inner & 0x0fff).to_be_bytes());
                f.extend(ethertype.to_be_bytes());
            }
            Link::Sll => {
                // packet type (0 = to us), ARPHRD_ETHER, address length, 8 address bytes, protocol.
                f.extend(0u16.to_be_bytes());
                f.extend(1u16.to_be_bytes());
                f.extend(6u16.to_be_bytes());
                f.extend([0x02, 0, 0, 0, 0, 0x01, 0, 0]);
                f.extend(ethertype.to_be_bytes());
            }
            Link::Sll2 => {
                // protocol, reserved, interface index, ARPHRD, packet type, address length, 8 address bytes.
                f.extend(ethertype.to_be_bytes());
                f.extend(0u16.to_be_bytes());
                f.extend(2u32.to_be_bytes());
                f.extend(1u16.to_be_bytes());
                f.push(0);
                f.push(6);
                f.extend([0x02, 0, 0, 0, 0, 0x01, 0, 0]);
            }
            Link::Null => {
                // AF_INET = 2; AF_INET6 = 30 (BSD/macOS), host byte order (little-endian here).
                let af: u32 = if v6 { 30 } else { 2 };
                f.extend(af.to_le_bytes());
            }
            Link::Loop => {
                let af: u32 = if v6 { 24 } else { 2 };
                f.extend(af.to_be_bytes());
            }
            Link::Raw | Link::Ipv4 | Link::Ipv6 => {}
        }
        f.extend(ip);
        f
    }
}

/// One frame to write: timestamp in nanoseconds since the epoch, interface, bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub ts_ns: i64,
    pub iface: u32,
    pub data: Vec<u8>,
    pub comment: Option<String>,
}

/// Frames for a conversation's segments, in `segs` order: timestamps `start_ns`,
/// `start_ns + step_ns`, …; IPv4 identification counting up from 1; IPv4 datagrams
/// fragmented as [`ip_packets`] says (each fragment its own frame, same timestamp).
pub fn frames(
    conv: &Conversation,
    link: Link,
    iface: u32,
    start_ns: i64,
    step_ns: i64,
    frag_payload: Option<usize>,
) -> Vec<Frame> {
    let mut out = Vec::new();
    for (i, s) in conv.segs.iter().enumerate() {
        let (src, dst) = match s.dir {
            Dir::C2S => (conv.client, conv.server),
            Dir::S2C => (conv.server, conv.client),
        };
        let l4 = tcp_bytes(src, dst, s);
        let ts = start_ns + step_ns * i as i64;
        for ip in ip_packets(src.ip(), dst.ip(), i as u16 + 1, &l4, frag_payload) {
            out.push(Frame {
                ts_ns: ts,
                iface,
                data: link.wrap(&ip),
                comment: None,
            });
        }
    }
    out
}

/// Classic pcap options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcapFormat {
    pub big_endian: bool,
    pub nanos: bool,
    pub snaplen: u32,
}

impl Default for PcapFormat {
    fn default() -> Self {
        PcapFormat {
            big_endian: false,
            nanos: false,
            snaplen: 262_144,
        }
    }
}

struct W {
    be: bool,
    b: Vec<u8>,
}

impl W {
    fn u16(&mut self, v: u16) {
        let x = if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.b.extend(x);
    }
    fn u32(&mut self, v: u32) {
        let x = if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.b.extend(x);
    }
    fn u64(&mut self, v: u64) {
        let x = if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.b.extend(x);
    }
}

/// A classic pcap file of `frames` (all of link type `link`, interfaces ignored).
/// Timestamps are truncated to the file's resolution.
pub fn pcap(link: Link, fmt: PcapFormat, frames: &[Frame]) -> Vec<u8> {
    let mut w = W {
        be: fmt.big_endian,
        b: Vec::new(),
    };
    w.u32(if fmt.nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
    w.u16(2);
    w.u16(4);
    w.u32(0);
    w.u32(0);
    w.u32(fmt.snaplen);
    w.u32(u32::from(link.code()));
    for f in frames {
        let secs = f.ts_ns.div_euclid(1_000_000_000);
        let ns = f.ts_ns.rem_euclid(1_000_000_000);
        let frac = if fmt.nanos { ns } else { ns / 1000 };
        let cap = f.data.len().min(fmt.snaplen as usize);
        w.u32(secs as u32);
        w.u32(frac as u32);
        w.u32(cap as u32);
        w.u32(f.data.len() as u32);
        w.b.extend(&f.data[..cap]);
    }
    w.b
}

/// One pcapng interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iface {
    pub link: Link,
    /// `if_tsresol` byte: high bit clear = 10^-n seconds, set = 2^-n; None = omitted (µs).
    pub tsresol: Option<u8>,
    /// `if_tsoffset` in seconds, added to every timestamp; None = omitted.
    pub tsoffset: Option<i64>,
    pub snaplen: u32,
}

impl Iface {
    pub fn new(link: Link) -> Iface {
        Iface {
            link,
            tsresol: None,
            tsoffset: None,
            snaplen: 0,
        }
    }
}

/// Which block carries each packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketBlock {
    Enhanced,
    /// Simple Packet Block: no timestamp, interface 0 only.
    Simple,
    /// The obsolete Packet Block (type 2).
    Obsolete,
}

/// A pcapng file: one section with `ifaces`, then `frames` (each frame's `iface` indexes
/// `ifaces`) in `block` blocks. Timestamps are converted to each interface's resolution
/// after subtracting its offset (truncating).
pub fn pcapng(ifaces: &[Iface], frames: &[Frame], block: PacketBlock, big_endian: bool) -> Vec<u8> {
    let mut w = W {
        be: big_endian,
        b: Vec::new(),
    };
    // Section Header Block with a shb_userappl option.
    let mut body = W {
        be: big_endian,
        b: Vec::new(),
    };
    body.u32(0x1a2b_3c4d);
    body.u16(1);
    body.u16(0);
    body.u64(u64::MAX);
    option(&mut body, 4, b"wcfscope capture_builder");
    option_end(&mut body);
    block_out(&mut w, 0x0a0d_0d0a, &body.b);
    for i in ifaces {
        let mut body = W {
            be: big_endian,
            b: Vec::new(),
        };
        body.u16(i.link.code());
        body.u16(0);
        body.u32(i.snaplen);
        if let Some(r) = i.tsresol {
            option(&mut body, 9, &[r]);
        }
        if let Some(o) = i.tsoffset {
            let x = if big_endian {
                o.to_be_bytes()
            } else {
                o.to_le_bytes()
            };
            option(&mut body, 14, &x);
        }
        option_end(&mut body);
        block_out(&mut w, 1, &body.b);
    }
    for f in frames {
        let iface = &ifaces[f.iface as usize];
        let units = ts_units(f.ts_ns, iface);
        let mut body = W {
            be: big_endian,
            b: Vec::new(),
        };
        match block {
            PacketBlock::Simple => {
                body.u32(f.data.len() as u32);
                body.b.extend(&f.data);
                pad4(&mut body.b);
                block_out(&mut w, 3, &body.b);
                continue;
            }
            PacketBlock::Enhanced => {
                body.u32(f.iface);
            }
            PacketBlock::Obsolete => {
                body.u16(f.iface as u16);
                body.u16(0);
            }
        }
        body.u32((units >> 32) as u32);
        body.u32(units as u32);
        body.u32(f.data.len() as u32);
        body.u32(f.data.len() as u32);
        body.b.extend(&f.data);
        pad4(&mut body.b);
        if let Some(c) = &f.comment {
            option(&mut body, 1, c.as_bytes());
            option_end(&mut body);
        }
        block_out(
            &mut w,
            if block == PacketBlock::Enhanced { 6 } else { 2 },
            &body.b,
        );
    }
    w.b
}

/// Timestamp units for `ts_ns` on `iface`.
pub fn ts_units(ts_ns: i64, iface: &Iface) -> u64 {
    let rel = i128::from(ts_ns) - i128::from(iface.tsoffset.unwrap_or(0)) * 1_000_000_000;
    let r = iface.tsresol.unwrap_or(6);
    let units = if r & 0x80 == 0 {
        rel * 10i128.pow(u32::from(r)) / 1_000_000_000
    } else {
        rel * (1i128 << (r & 0x7f)) / 1_000_000_000
    };
    units as u64
}

fn pad4(b: &mut Vec<u8>) {
    while !b.len().is_multiple_of(4) {
        b.push(0);
    }
}

fn option(w: &mut W, code: u16, value: &[u8]) {
    w.u16(code);
    w.u16(value.len() as u16);
    w.b.extend(value);
    pad4(&mut w.b);
}

fn option_end(w: &mut W) {
    w.u16(0);
    w.u16(0);
}

fn block_out(w: &mut W, kind: u32, body: &[u8]) {
    let total = 12 + body.len() as u32;
    w.u32(kind);
    w.u32(total);
    w.b.extend(body);
    w.u32(total);
}

/// An HTTP/1.1 request with a Content-Length body.
pub fn http_request(path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut m = format!("POST {path} HTTP/1.1\r\nHost: service.test\r\n");
    for (k, v) in headers {
        m.push_str(&format!("{k}: {v}\r\n"));
    }
    m.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut m = m.into_bytes();
    m.extend(body);
    m
}

/// An HTTP/1.1 response with a Content-Length body.
pub fn http_response(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let reason = match status {
        100 => "Continue",
        200 => "OK",
        500 => "Internal Server Error",
        _ => "Status",
    };
    let mut m = format!("HTTP/1.1 {status} {reason}\r\n");
    for (k, v) in headers {
        m.push_str(&format!("{k}: {v}\r\n"));
    }
    m.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut m = m.into_bytes();
    m.extend(body);
    m
}

/// `body` in HTTP/1.1 chunked transfer coding with the given chunk size and trailer lines.
pub fn chunked(body: &[u8], chunk: usize, trailers: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in body.chunks(chunk.max(1)) {
        out.extend(format!("{:x};ext=1\r\n", c.len()).bytes());
        out.extend(c);
        out.extend(b"\r\n");
    }
    out.extend(b"0\r\n");
    for (k, v) in trailers {
        out.extend(format!("{k}: {v}\r\n").bytes());
    }
    out.extend(b"\r\n");
    out
}
