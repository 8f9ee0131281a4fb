//! Generator of the benchmark capture: many HTTP/1.1 SOAP 1.2 exchanges (WCF-like
//! envelopes with WS-Addressing headers) over many persistent TCP connections, written as
//! pcapng with Ethernet/IPv4/TCP headers built here by hand.
//!
//! It shares no code with the analyzer on purpose: the capture must not be shaped by the
//! reader it measures. Realism that costs the reader work: 1460-byte segments, interleaved
//! connections, delayed ACKs, some chunked responses, a little reordering, some
//! retransmissions, bodies from a few hundred bytes to a few hundred kilobytes.

use std::collections::VecDeque;
use std::io::{self, Write};

/// Deterministic pseudo-random numbers (splitmix64), so every run writes the same file.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in lo..=hi.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
    /// True with probability `per_mille` / 1000.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.next() % 1000 < per_mille
    }
}

/// What the generator wrote, for the benchmark's printout.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub bytes: u64,
    pub packets: u64,
    pub connections: u64,
    pub exchanges: u64,
    pub chunked: u64,
    pub reordered: u64,
    pub retransmitted: u64,
}

const MSS: usize = 1460;
/// Connections open at once.
const ACTIVE: usize = 48;
const SERVER_IP: [u8; 4] = [10, 1, 0, 10];
const SERVER_PORT: u16 = 8080;

struct Conn {
    client_ip: [u8; 4],
    client_port: u16,
    /// Next sequence numbers: client → server, server → client.
    cseq: u32,
    sseq: u32,
    exchanges_left: u32,
    /// Frames (Ethernet onwards) waiting to be written, in wire order.
    queue: VecDeque<Vec<u8>>,
    closed: bool,
}

/// Writes pcapng blocks with a running timestamp.
struct PcapngOut<W: Write> {
    w: W,
    ts_us: u64,
    stats: Stats,
}

impl<W: Write> PcapngOut<W> {
    fn new(mut w: W) -> io::Result<Self> {
        // Section Header Block: byte-order magic, version 1.0, section length unknown (-1).
        let mut shb = Vec::new();
        shb.extend_from_slice(&0x0a0d_0d0a_u32.to_le_bytes());
        shb.extend_from_slice(&28u32.to_le_bytes());
        shb.extend_from_slice(&0x1a2b_3c4d_u32.to_le_bytes());
        shb.extend_from_slice(&1u16.to_le_bytes());
        shb.extend_from_slice(&0u16.to_le_bytes());
        shb.extend_from_slice(&(-1i64).to_le_bytes());
        shb.extend_from_slice(&28u32.to_le_bytes());
        // Interface Description Block: LINKTYPE_ETHERNET, snaplen 262144, default µs resolution.
        let mut idb = Vec::new();
        idb.extend_from_slice(&1u32.to_le_bytes());
        idb.extend_from_slice(&20u32.to_le_bytes());
        idb.extend_from_slice(&1u16.to_le_bytes());
        idb.extend_from_slice(&0u16.to_le_bytes());
        idb.extend_from_slice(&262_144u32.to_le_bytes());
        idb.extend_from_slice(&20u32.to_le_bytes());
        w.write_all(&shb)?;
        w.write_all(&idb)?;
        let bytes = (shb.len() + idb.len()) as u64;
        Ok(PcapngOut {
            w,
            ts_us: 1_767_225_600_000_000,
            stats: Stats {
                bytes,
                ..Stats::default()
            },
        })
    }

    /// One Enhanced Packet Block.
    fn packet(&mut self, frame: &[u8], rng: &mut Rng) -> io::Result<()> {
        self.ts_us += rng.range(5, 400);
        let pad = (4 - frame.len() % 4) % 4;
        let total = 32 + frame.len() + pad;
        let mut h = [0u8; 28];
        h[0..4].copy_from_slice(&6u32.to_le_bytes());
        h[4..8].copy_from_slice(&(total as u32).to_le_bytes());
        h[8..12].copy_from_slice(&0u32.to_le_bytes());
        h[12..16].copy_from_slice(&((self.ts_us >> 32) as u32).to_le_bytes());
        h[16..20].copy_from_slice(&(self.ts_us as u32).to_le_bytes());
        h[20..24].copy_from_slice(&(frame.len() as u32).to_le_bytes());
        h[24..28].copy_from_slice(&(frame.len() as u32).to_le_bytes());
        self.w.write_all(&h)?;
        self.w.write_all(frame)?;
        self.w.write_all(&[0u8; 3][..pad])?;
        self.w.write_all(&(total as u32).to_le_bytes())?;
        self.stats.bytes += total as u64;
        self.stats.packets += 1;
        Ok(())
    }
}

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;

/// Ethernet II + IPv4 (no options) + TCP (no options) + payload.
fn frame(
    src: ([u8; 4], u16),
    dst: ([u8; 4], u16),
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = Vec::with_capacity(54 + payload.len());
    let (smac, dmac) = if dst.0 == SERVER_IP {
        ([0x02, 0, 0, 0, 0, 0x01], [0x02, 0, 0, 0, 0, 0x02])
    } else {
        ([0x02, 0, 0, 0, 0, 0x02], [0x02, 0, 0, 0, 0, 0x01])
    };
    f.extend_from_slice(&dmac);
    f.extend_from_slice(&smac);
    f.extend_from_slice(&0x0800u16.to_be_bytes());
    let ip_len = (20 + 20 + payload.len()) as u16;
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&ip_len.to_be_bytes());
    ip[4..6].copy_from_slice(&(seq as u16).to_be_bytes());
    ip[6] = 0x40; // don't fragment
    ip[8] = 128;
    ip[9] = 6;
    ip[12..16].copy_from_slice(&src.0);
    ip[16..20].copy_from_slice(&dst.0);
    let mut sum: u32 = ip
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    f.extend_from_slice(&ip);
    let mut tcp = [0u8; 20];
    tcp[0..2].copy_from_slice(&src.1.to_be_bytes());
    tcp[2..4].copy_from_slice(&dst.1.to_be_bytes());
    tcp[4..8].copy_from_slice(&seq.to_be_bytes());
    tcp[8..12].copy_from_slice(&ack.to_be_bytes());
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    tcp[14..16].copy_from_slice(&65_535u16.to_be_bytes());
    // TCP checksum left 0, as in captures taken on a host with checksum offload.
    f.extend_from_slice(&tcp);
    f.extend_from_slice(payload);
    f
}

const OPERATIONS: &[&str] = &[
    "GetOrders",
    "GetCustomer",
    "SubmitOrder",
    "ListInvoices",
    "GetCatalog",
    "Ping",
];
const WORDS: &[&str] = &[
    "alpha",
    "bravo",
    "delivery",
    "invoice",
    "pending",
    "shipped",
    "Zürich",
    "Ålesund",
    "north",
    "warehouse",
    "priority",
    "standard",
    "returned",
    "credit",
    "R&D",
    "<fragile>",
    "a\"quoted\"",
    "ok",
];

fn uuid(rng: &mut Rng) -> String {
    let a = rng.next();
    let b = rng.next();
    format!(
        "urn:uuid:{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}

fn escaped(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

/// A DataContract-style body of about `size` bytes.
fn body(rng: &mut Rng, op: &str, response: bool, size: usize) -> String {
    let mut b = String::with_capacity(size + 512);
    let el = if response {
        format!("{op}Response")
    } else {
        op.to_string()
    };
    b.push_str(&format!("<{el} xmlns=\"http://tempuri.org/\">"));
    if response {
        b.push_str(&format!(
            "<{op}Result xmlns:b=\"http://schemas.datacontract.org/2004/07/Contoso.Shop\" \
             xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\">"
        ));
    } else {
        b.push_str("<request xmlns:b=\"http://schemas.datacontract.org/2004/07/Contoso.Shop\" xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\">");
    }
    while b.len() < size {
        let id = rng.range(1, 9_999_999);
        b.push_str(&format!(
            "<b:Order><b:Id>{id}</b:Id><b:Customer>C-{:05}</b:Customer>",
            rng.range(1, 99_999)
        ));
        b.push_str(&format!(
            "<b:Amount>{}.{:02}</b:Amount>",
            rng.range(1, 99_999),
            rng.range(0, 99)
        ));
        b.push_str("<b:Created>2026-01-01T10:20:30.1234567Z</b:Created><b:Note>");
        for _ in 0..rng.range(1, 8) {
            escaped(WORDS[rng.range(0, WORDS.len() as u64 - 1) as usize], &mut b);
            b.push(' ');
        }
        b.push_str("</b:Note>");
        if rng.chance(300) {
            b.push_str("<b:Discount i:nil=\"true\"/>");
        }
        b.push_str("</b:Order>");
    }
    if response {
        b.push_str(&format!("</{op}Result>"));
    } else {
        b.push_str("</request>");
    }
    b.push_str(&format!("</{el}>"));
    b
}

fn envelope(
    rng: &mut Rng,
    op: &str,
    response: bool,
    relates_to: Option<&str>,
    size: usize,
) -> (String, String) {
    let action = if response {
        format!("http://tempuri.org/IOrderService/{op}Response")
    } else {
        format!("http://tempuri.org/IOrderService/{op}")
    };
    let id = uuid(rng);
    let mut e = String::with_capacity(size + 1024);
    e.push_str(
        "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" \
         xmlns:a=\"http://www.w3.org/2005/08/addressing\"><s:Header>",
    );
    e.push_str(&format!(
        "<a:Action s:mustUnderstand=\"1\">{action}</a:Action>"
    ));
    match relates_to {
        Some(r) => e.push_str(&format!("<a:RelatesTo>{r}</a:RelatesTo>")),
        None => {
            e.push_str(&format!("<a:MessageID>{id}</a:MessageID>"));
            e.push_str("<a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo>");
            e.push_str(
                "<a:To s:mustUnderstand=\"1\">http://shop.contoso.test:8080/Service/OrderService.svc</a:To>",
            );
        }
    }
    e.push_str("</s:Header><s:Body>");
    e.push_str(&body(rng, op, response, size));
    e.push_str("</s:Body></s:Envelope>");
    (e, id)
}

/// Body sizes: mostly small, some medium, a few large.
fn body_size(rng: &mut Rng, response: bool) -> usize {
    let r = rng.range(0, 99);
    let size = if !response || r < 60 {
        rng.range(200, 2_500)
    } else if r < 92 {
        rng.range(2_500, 30_000)
    } else {
        rng.range(30_000, 300_000)
    };
    size as usize
}

fn http_request(rng: &mut Rng, op: &str) -> (Vec<u8>, String) {
    let size = body_size(rng, false);
    let (env, id) = envelope(rng, op, false, None, size);
    let head = format!(
        "POST /Service/OrderService.svc HTTP/1.1\r\n\
         Content-Type: application/soap+xml; charset=utf-8; action=\"http://tempuri.org/IOrderService/{op}\"\r\n\
         Host: shop.contoso.test:8080\r\nContent-Length: {}\r\nAccept-Encoding: gzip, deflate\r\n\r\n",
        env.len()
    );
    let mut m = head.into_bytes();
    m.extend_from_slice(env.as_bytes());
    (m, id)
}

fn http_response(rng: &mut Rng, op: &str, relates_to: &str, stats: &mut Stats) -> Vec<u8> {
    let size = body_size(rng, true);
    let (env, _) = envelope(rng, op, true, Some(relates_to), size);
    let chunked = rng.chance(250);
    let mut m = b"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml; charset=utf-8\r\n\
         Server: Microsoft-HTTPAPI/2.0\r\nDate: Thu, 01 Jan 2026 10:20:30 GMT\r\n"
        .to_vec();
    if chunked {
        stats.chunked += 1;
        m.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
        let mut rest = env.as_bytes();
        while !rest.is_empty() {
            let n = (rng.range(512, 16_384) as usize).min(rest.len());
            m.extend_from_slice(format!("{n:x}\r\n").as_bytes());
            m.extend_from_slice(&rest[..n]);
            m.extend_from_slice(b"\r\n");
            rest = &rest[n..];
        }
        m.extend_from_slice(b"0\r\n\r\n");
    } else {
        m.extend_from_slice(format!("Content-Length: {}\r\n\r\n", env.len()).as_bytes());
        m.extend_from_slice(env.as_bytes());
    }
    m
}

/// Segments `msg` into MSS-sized data frames from one side, with delayed ACKs from the
/// other, a rare swap of two neighbouring segments and a rare retransmission.
fn segments(c: &mut Conn, msg: &[u8], from_client: bool, rng: &mut Rng, stats: &mut Stats) {
    let client = (c.client_ip, c.client_port);
    let server = (SERVER_IP, SERVER_PORT);
    let (src, dst) = if from_client {
        (client, server)
    } else {
        (server, client)
    };
    let mut frames: Vec<Vec<u8>> = Vec::new();
    // Where each data segment sits in `frames` (ACKs sit between them).
    let mut data_at: Vec<usize> = Vec::new();
    let mut retransmits: Vec<(usize, Vec<u8>)> = Vec::new();
    let (mut seq, ack) = if from_client {
        (c.cseq, c.sseq)
    } else {
        (c.sseq, c.cseq)
    };
    let chunks: Vec<&[u8]> = msg.chunks(MSS).collect();
    for (i, part) in chunks.iter().enumerate() {
        let flags = if i + 1 == chunks.len() {
            ACK | PSH
        } else {
            ACK
        };
        let f = frame(src, dst, seq, ack, flags, part);
        if rng.chance(8) {
            stats.retransmitted += 1;
            retransmits.push((frames.len() + 2, f.clone()));
        }
        data_at.push(frames.len());
        frames.push(f);
        seq = seq.wrapping_add(part.len() as u32);
        // Delayed ACK from the receiver every second segment.
        if i % 2 == 1 {
            frames.push(frame(dst, src, ack, seq, ACK, &[]));
        }
    }
    if data_at.len() >= 2 && rng.chance(60) {
        let i = rng.range(0, data_at.len() as u64 - 2) as usize;
        frames.swap(data_at[i], data_at[i + 1]);
        stats.reordered += 1;
    }
    for (at, f) in retransmits.into_iter().rev() {
        let at = at.min(frames.len());
        frames.insert(at, f);
    }
    frames.push(frame(dst, src, ack, seq, ACK, &[]));
    if from_client {
        c.cseq = seq;
    } else {
        c.sseq = seq;
    }
    c.queue.extend(frames);
}

fn open(n: u64, rng: &mut Rng, stats: &mut Stats) -> Conn {
    stats.connections += 1;
    let client_ip = [10, 2, (n / 200 % 250) as u8, (n % 200 + 20) as u8];
    let client_port = 49_152 + (n % 16_000) as u16;
    let mut c = Conn {
        client_ip,
        client_port,
        cseq: rng.next() as u32,
        sseq: rng.next() as u32,
        exchanges_left: rng.range(10, 150) as u32,
        queue: VecDeque::new(),
        closed: false,
    };
    let client = (client_ip, client_port);
    let server = (SERVER_IP, SERVER_PORT);
    c.queue
        .push_back(frame(client, server, c.cseq, 0, SYN, &[]));
    c.cseq = c.cseq.wrapping_add(1);
    c.queue
        .push_back(frame(server, client, c.sseq, c.cseq, SYN | ACK, &[]));
    c.sseq = c.sseq.wrapping_add(1);
    c.queue
        .push_back(frame(client, server, c.cseq, c.sseq, ACK, &[]));
    c
}

fn close(c: &mut Conn) {
    let client = (c.client_ip, c.client_port);
    let server = (SERVER_IP, SERVER_PORT);
    c.queue
        .push_back(frame(client, server, c.cseq, c.sseq, FIN | ACK, &[]));
    c.cseq = c.cseq.wrapping_add(1);
    c.queue
        .push_back(frame(server, client, c.sseq, c.cseq, FIN | ACK, &[]));
    c.sseq = c.sseq.wrapping_add(1);
    c.queue
        .push_back(frame(client, server, c.cseq, c.sseq, ACK, &[]));
    c.closed = true;
}

/// Writes a capture of at least `min_bytes` to `w`.
pub fn generate<W: Write>(w: W, min_bytes: u64, seed: u64) -> io::Result<Stats> {
    let mut rng = Rng::new(seed);
    let mut out = PcapngOut::new(w)?;
    let mut stats = Stats::default();
    let mut next_conn = 0u64;
    let mut conns: Vec<Conn> = Vec::new();
    let mut stopping = false;
    loop {
        if !stopping && out.stats.bytes >= min_bytes {
            stopping = true;
            for c in conns.iter_mut().filter(|c| !c.closed) {
                close(c);
            }
        }
        while !stopping && conns.len() < ACTIVE {
            conns.push(open(next_conn, &mut rng, &mut stats));
            next_conn += 1;
        }
        if conns.is_empty() {
            break;
        }
        let i = rng.range(0, conns.len() as u64 - 1) as usize;
        let c = &mut conns[i];
        if c.queue.is_empty() {
            if c.closed {
                conns.swap_remove(i);
                continue;
            }
            if c.exchanges_left == 0 || stopping {
                close(c);
            } else {
                c.exchanges_left -= 1;
                stats.exchanges += 1;
                let op = OPERATIONS[rng.range(0, OPERATIONS.len() as u64 - 1) as usize];
                let (req, id) = http_request(&mut rng, op);
                segments(c, &req, true, &mut rng, &mut stats);
                let resp = http_response(&mut rng, op, &id, &mut stats);
                segments(c, &resp, false, &mut rng, &mut stats);
            }
        }
        // A few packets of this connection, then maybe another one's.
        for _ in 0..rng.range(1, 6) {
            match conns[i].queue.pop_front() {
                Some(f) => out.packet(&f, &mut rng)?,
                None => break,
            }
        }
    }
    out.w.flush()?;
    stats.bytes = out.stats.bytes;
    stats.packets = out.stats.packets;
    Ok(stats)
}
