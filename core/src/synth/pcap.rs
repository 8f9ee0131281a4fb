//! Packet synthesis and capture writers, independent of `crate::capture`/`crate::net`:
//! Ethernet + IPv4/IPv6 + TCP frames (correct IP and TCP checksums) for a client/server
//! connection with a 3-way handshake, MSS-sized segments, ACKs and a FIN close, written as
//! pcapng (SHB, one Ethernet IDB, EPBs) or classic pcap.

use std::net::IpAddr;

/// One frame and its capture time (nanoseconds since the Unix epoch).
#[derive(Clone, Debug)]
pub struct Packet {
    pub ts_nanos: i64,
    pub frame: Vec<u8>,
}

pub const MSS: usize = 1460;

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    ToServer,
    ToClient,
}

#[derive(Clone, Debug)]
pub struct Endpoint {
    pub mac: [u8; 6],
    pub ip: IpAddr,
    pub port: u16,
}

/// A TCP connection being written out packet by packet.
pub struct TcpConn {
    client: Endpoint,
    server: Endpoint,
    /// Next sequence number each side will send.
    c_seq: u32,
    s_seq: u32,
    ip_id: u16,
}

impl TcpConn {
    pub fn new(client: Endpoint, server: Endpoint, c_isn: u32, s_isn: u32) -> TcpConn {
        TcpConn {
            client,
            server,
            c_seq: c_isn,
            s_seq: s_isn,
            ip_id: (c_isn >> 16) as u16,
        }
    }

    /// SYN, SYN/ACK, ACK, 100 µs apart starting at `t`; returns the time after.
    pub fn handshake(&mut self, out: &mut Vec<Packet>, t: i64) -> i64 {
        let mss = (MSS as u16).to_be_bytes();
        let opts = [2, 4, mss[0], mss[1]];
        self.emit(out, t, Dir::ToServer, SYN, &[], &opts);
        self.c_seq = self.c_seq.wrapping_add(1);
        self.emit(out, t + 100_000, Dir::ToClient, SYN | ACK, &[], &opts);
        self.s_seq = self.s_seq.wrapping_add(1);
        self.emit(out, t + 200_000, Dir::ToServer, ACK, &[], &[]);
        t + 300_000
    }

    /// Sends `data` in MSS-sized segments (PSH on the last), the receiver ACKing every
    /// second segment and the last. Segments are 20 µs apart; returns the time after.
    pub fn send(&mut self, out: &mut Vec<Packet>, mut t: i64, dir: Dir, data: &[u8]) -> i64 {
        let chunks: Vec<&[u8]> = data.chunks(MSS).collect();
        let n = chunks.len();
        for (i, c) in chunks.into_iter().enumerate() {
            let flags = if i + 1 == n { PSH | ACK } else { ACK };
            self.emit(out, t, dir, flags, c, &[]);
            match dir {
                Dir::ToServer => self.c_seq = self.c_seq.wrapping_add(c.len() as u32),
                Dir::ToClient => self.s_seq = self.s_seq.wrapping_add(c.len() as u32),
            }
            t += 20_000;
            if i % 2 == 1 || i + 1 == n {
                let back = match dir {
                    Dir::ToServer => Dir::ToClient,
                    Dir::ToClient => Dir::ToServer,
                };
                self.emit(out, t, back, ACK, &[], &[]);
                t += 20_000;
            }
        }
        t
    }

    /// Client-initiated close: FIN/ACK, FIN/ACK, ACK.
    pub fn close(&mut self, out: &mut Vec<Packet>, t: i64) -> i64 {
        self.emit(out, t, Dir::ToServer, FIN | ACK, &[], &[]);
        self.c_seq = self.c_seq.wrapping_add(1);
        self.emit(out, t + 100_000, Dir::ToClient, FIN | ACK, &[], &[]);
        self.s_seq = self.s_seq.wrapping_add(1);
        self.emit(out, t + 200_000, Dir::ToServer, ACK, &[], &[]);
        t + 300_000
    }

    fn emit(
        &mut self,
        out: &mut Vec<Packet>,
        t: i64,
        dir: Dir,
        flags: u8,
        payload: &[u8],
        opts: &[u8],
    ) {
        let (src, dst, seq, ack) = match dir {
            Dir::ToServer => (&self.client, &self.server, self.c_seq, self.s_seq),
            Dir::ToClient => (&self.server, &self.client, self.s_seq, self.c_seq),
        };
        // The first SYN carries no acknowledgement.
        let ack = if flags == SYN { 0 } else { ack };
        self.ip_id = self.ip_id.wrapping_add(1);
        let frame = frame(src, dst, seq, ack, flags, payload, opts, self.ip_id);
        out.push(Packet { ts_nanos: t, frame });
    }
}

#[allow(clippy::too_many_arguments)]
fn frame(
    src: &Endpoint,
    dst: &Endpoint,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
    opts: &[u8],
    ip_id: u16,
) -> Vec<u8> {
    // TCP header (options padded to 4 bytes).
    let mut opts = opts.to_vec();
    while opts.len() & 3 != 0 {
        opts.push(1); // NOP
    }
    let hlen = 20 + opts.len();
    let mut tcp = Vec::with_capacity(hlen + payload.len());
    tcp.extend_from_slice(&src.port.to_be_bytes());
    tcp.extend_from_slice(&dst.port.to_be_bytes());
    tcp.extend_from_slice(&seq.to_be_bytes());
    tcp.extend_from_slice(&ack.to_be_bytes());
    tcp.push(((hlen / 4) as u8) << 4);
    tcp.push(flags);
    tcp.extend_from_slice(&64240u16.to_be_bytes()); // window
    tcp.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
    tcp.extend_from_slice(&opts);
    tcp.extend_from_slice(payload);

    let mut f = Vec::with_capacity(14 + 40 + tcp.len());
    f.extend_from_slice(&dst.mac);
    f.extend_from_slice(&src.mac);
    match (src.ip, dst.ip) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let mut pseudo = Vec::with_capacity(12);
            pseudo.extend_from_slice(&s.octets());
            pseudo.extend_from_slice(&d.octets());
            pseudo.extend_from_slice(&[0, 6]);
            pseudo.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
            let c = checksum(&[&pseudo, &tcp]);
            tcp[16..18].copy_from_slice(&c.to_be_bytes());
            f.extend_from_slice(&[0x08, 0x00]);
            let mut ip = vec![0x45, 0];
            ip.extend_from_slice(&((20 + tcp.len()) as u16).to_be_bytes());
            ip.extend_from_slice(&ip_id.to_be_bytes());
            ip.extend_from_slice(&[0x40, 0, 128, 6, 0, 0]); // DF, TTL 128 (Windows), TCP
            ip.extend_from_slice(&s.octets());
            ip.extend_from_slice(&d.octets());
            let c = checksum(&[&ip]);
            ip[10..12].copy_from_slice(&c.to_be_bytes());
            f.extend_from_slice(&ip);
        }
        (s, d) => {
            let (s, d) = (v6(s), v6(d));
            let mut pseudo = Vec::with_capacity(40);
            pseudo.extend_from_slice(&s);
            pseudo.extend_from_slice(&d);
            pseudo.extend_from_slice(&(tcp.len() as u32).to_be_bytes());
            pseudo.extend_from_slice(&[0, 0, 0, 6]);
            let c = checksum(&[&pseudo, &tcp]);
            tcp[16..18].copy_from_slice(&c.to_be_bytes());
            f.extend_from_slice(&[0x86, 0xdd]);
            f.extend_from_slice(&[0x60, 0, 0, 0]);
            f.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
            f.extend_from_slice(&[6, 128]);
            f.extend_from_slice(&s);
            f.extend_from_slice(&d);
        }
    }
    f.extend_from_slice(&tcp);
    f
}

fn v6(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V6(a) => a.octets(),
        IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
    }
}

/// Internet checksum (RFC 1071) over the concatenation of `parts`.
fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    let mut odd: Option<u8> = None;
    for p in parts {
        for &b in p.iter() {
            match odd.take() {
                None => odd = Some(b),
                Some(h) => sum += u32::from(u16::from_be_bytes([h, b])),
            }
        }
    }
    if let Some(h) = odd {
        sum += u32::from(u16::from_be_bytes([h, 0]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

const LINKTYPE_ETHERNET: u16 = 1;
const SNAPLEN: u32 = 262_144;

/// pcapng: Section Header Block, one Ethernet Interface Description Block (microsecond
/// timestamps, the default `if_tsresol`), one Enhanced Packet Block per frame.
pub fn write_pcapng(packets: &[Packet]) -> Vec<u8> {
    let mut out = Vec::new();
    // SHB: byte-order magic, version 1.0, section length unknown (-1), an shb_userappl option.
    let mut body = Vec::new();
    body.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
    body.extend_from_slice(&1u16.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&(-1i64).to_le_bytes());
    push_option(&mut body, 4, b"wcfscope synth");
    body.extend_from_slice(&[0, 0, 0, 0]); // opt_endofopt
    push_block(&mut out, 0x0A0D_0D0A, &body);
    // IDB.
    let mut body = Vec::new();
    body.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&SNAPLEN.to_le_bytes());
    push_block(&mut out, 1, &body);
    for p in packets {
        let micros = p.ts_nanos.div_euclid(1000) as u64;
        let mut body = Vec::with_capacity(20 + p.frame.len() + 3);
        body.extend_from_slice(&0u32.to_le_bytes()); // interface 0
        body.extend_from_slice(&((micros >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(micros as u32).to_le_bytes());
        body.extend_from_slice(&(p.frame.len() as u32).to_le_bytes());
        body.extend_from_slice(&(p.frame.len() as u32).to_le_bytes());
        body.extend_from_slice(&p.frame);
        while body.len() & 3 != 0 {
            body.push(0);
        }
        push_block(&mut out, 6, &body);
    }
    out
}

fn push_option(body: &mut Vec<u8>, code: u16, value: &[u8]) {
    body.extend_from_slice(&code.to_le_bytes());
    body.extend_from_slice(&(value.len() as u16).to_le_bytes());
    body.extend_from_slice(value);
    while body.len() & 3 != 0 {
        body.push(0);
    }
}

fn push_block(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
    let total = (12 + body.len()) as u32;
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&total.to_le_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&total.to_le_bytes());
}

/// Classic libpcap file, microsecond timestamps, little-endian.
pub fn write_pcap(packets: &[Packet]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xA1B2_C3D4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&SNAPLEN.to_le_bytes());
    out.extend_from_slice(&u32::from(LINKTYPE_ETHERNET).to_le_bytes());
    for p in packets {
        let secs = p.ts_nanos.div_euclid(1_000_000_000) as u32;
        let micros = (p.ts_nanos.rem_euclid(1_000_000_000) / 1000) as u32;
        out.extend_from_slice(&secs.to_le_bytes());
        out.extend_from_slice(&micros.to_le_bytes());
        out.extend_from_slice(&(p.frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&(p.frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&p.frame);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn checksums_verify_to_zero() {
        let c = Endpoint {
            mac: [2, 0, 0, 0, 0, 1],
            ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            port: 50000,
        };
        let s = Endpoint {
            mac: [2, 0, 0, 0, 0, 2],
            ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            port: 80,
        };
        let mut conn = TcpConn::new(c, s, 1000, 9000);
        let mut pk = Vec::new();
        let t = conn.handshake(&mut pk, 0);
        conn.send(&mut pk, t, Dir::ToServer, &[7u8; 3001]);
        // SYN, SYN/ACK, ACK, then 3 data segments and 2 ACKs.
        assert_eq!(pk.len(), 8);
        for p in &pk {
            let ip = &p.frame[14..34];
            assert_eq!(checksum(&[ip]), 0);
            let tcp = &p.frame[34..];
            let mut pseudo = ip[12..20].to_vec();
            pseudo.extend_from_slice(&[0, 6]);
            pseudo.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
            assert_eq!(checksum(&[&pseudo, tcp]), 0);
        }
        assert_eq!(pk[3].frame.len(), 14 + 20 + 20 + MSS);
    }
}
