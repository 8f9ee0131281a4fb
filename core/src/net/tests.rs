//! Tests of the L2–L4 stage over packets built byte by byte here (no etherparse, no code
//! shared with the decoder).

use super::*;
use crate::capture::LinkType;
use crate::model::FlowDirection::{ClientToServer as C2S, ServerToClient as S2C};

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const FIN: u8 = 0x01;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;

const A: [u8; 4] = [10, 0, 0, 1];
const B: [u8; 4] = [10, 0, 0, 2];

fn ipv4(
    src: [u8; 4],
    dst: [u8; 4],
    proto: u8,
    id: u16,
    frag: u16,
    mf: bool,
    body: &[u8],
) -> Vec<u8> {
    let total = (20 + body.len()) as u16;
    let flags_frag = (u16::from(mf) << 13) | frag;
    let mut v = vec![0x45, 0];
    v.extend(total.to_be_bytes());
    v.extend(id.to_be_bytes());
    v.extend(flags_frag.to_be_bytes());
    v.extend([64, proto, 0, 0]);
    v.extend(src);
    v.extend(dst);
    v.extend(body);
    v
}

fn tcp(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend(sport.to_be_bytes());
    v.extend(dport.to_be_bytes());
    v.extend(seq.to_be_bytes());
    v.extend(ack.to_be_bytes());
    v.extend([5 << 4, flags]);
    v.extend(65535u16.to_be_bytes());
    v.extend([0, 0, 0, 0]);
    v.extend(payload);
    v
}

/// One TCP/IPv4 packet as raw IP. `from_a`: sent by 10.0.0.1:50000 to 10.0.0.2:80.
fn seg(from_a: bool, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    if from_a {
        ipv4(
            A,
            B,
            6,
            1,
            0,
            false,
            &tcp(50000, 80, seq, ack, flags, payload),
        )
    } else {
        ipv4(
            B,
            A,
            6,
            1,
            0,
            false,
            &tcp(80, 50000, seq, ack, flags, payload),
        )
    }
}

struct Run {
    stage: NetStage,
    events: Vec<StreamEvent>,
    n: u64,
}

impl Run {
    fn new() -> Self {
        Run {
            stage: NetStage::new(),
            events: Vec::new(),
            n: 0,
        }
    }
    fn with(limits: NetLimits) -> Self {
        Run {
            stage: NetStage::with_limits(limits),
            events: Vec::new(),
            n: 0,
        }
    }
    fn push_link(&mut self, link: LinkType, data: Vec<u8>) {
        self.n += 1;
        let p = Packet {
            number: self.n,
            ts: Some(Timestamp::from_secs_nanos(1000 + self.n as i64, 0)),
            link,
            interface: 0,
            orig_len: data.len() as u32,
            data,
            comments: Vec::new(),
        };
        self.stage.push(&p, &mut self.events);
    }
    fn push(&mut self, data: Vec<u8>) {
        self.push_link(LinkType::RawIp, data);
    }
    fn finish(mut self) -> Vec<StreamEvent> {
        self.stage.finish(&mut self.events);
        self.events
    }
}

/// Reassembles one direction from events, checking offsets are contiguous; gaps are
/// returned separately and their bytes left out.
fn bytes_of(ev: &[StreamEvent], stream: usize, dir: FlowDirection) -> (Vec<u8>, Vec<(u64, u64)>) {
    let mut out = Vec::new();
    let mut gaps = Vec::new();
    let mut pos = 0u64;
    for e in ev {
        match e {
            StreamEvent::Data {
                stream: s,
                dir: d,
                offset,
                bytes,
                ..
            } if *s == stream && *d == dir => {
                assert_eq!(*offset, pos, "data not contiguous");
                pos += bytes.len() as u64;
                out.extend(bytes);
            }
            StreamEvent::Gap {
                stream: s,
                dir: d,
                offset,
                length,
                ..
            } if *s == stream && *d == dir => {
                assert_eq!(*offset, pos, "gap not contiguous");
                pos += length;
                gaps.push((*offset, *length));
            }
            _ => {}
        }
    }
    (out, gaps)
}

fn diags(ev: &[StreamEvent]) -> Vec<String> {
    ev.iter()
        .filter_map(|e| match e {
            StreamEvent::Diagnostic(d) => Some(d.message.clone()),
            _ => None,
        })
        .collect()
}

fn closed(ev: &[StreamEvent], stream: usize) -> Vec<FlowDirection> {
    ev.iter()
        .filter_map(|e| match e {
            StreamEvent::Closed { stream: s, dir, .. } if *s == stream => Some(*dir),
            _ => None,
        })
        .collect()
}

/// Handshake with ISNs 1000 (client A) and 5000 (server B).
fn handshake(r: &mut Run, isn_a: u32, isn_b: u32) {
    r.push(seg(true, isn_a, 0, SYN, b""));
    r.push(seg(false, isn_b, isn_a.wrapping_add(1), SYN | ACK, b""));
    r.push(seg(
        true,
        isn_a.wrapping_add(1),
        isn_b.wrapping_add(1),
        ACK,
        b"",
    ));
}

#[test]
fn handshake_data_and_fin_both_ways() {
    let mut r = Run::new();
    handshake(&mut r, 1000, 5000);
    r.push(seg(true, 1001, 5001, ACK | PSH, b"GET / HTTP/1.1\r\n\r\n"));
    r.push(seg(
        false,
        5001,
        1019,
        ACK | PSH,
        b"HTTP/1.1 200 OK\r\n\r\n",
    ));
    r.push(seg(true, 1019, 5020, ACK | FIN, b""));
    r.push(seg(false, 5020, 1020, ACK | FIN, b""));
    r.push(seg(true, 1020, 5021, ACK, b""));
    let ev = r.finish();
    match &ev[0] {
        StreamEvent::Opened {
            stream: 0,
            client,
            server,
            ..
        } => {
            assert_eq!(client.to_string(), "10.0.0.1:50000");
            assert_eq!(server.to_string(), "10.0.0.2:80");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        bytes_of(&ev, 0, C2S),
        (b"GET / HTTP/1.1\r\n\r\n".to_vec(), vec![])
    );
    assert_eq!(
        bytes_of(&ev, 0, S2C),
        (b"HTTP/1.1 200 OK\r\n\r\n".to_vec(), vec![])
    );
    assert_eq!(closed(&ev, 0), vec![C2S, S2C]);
    assert!(diags(&ev).is_empty());
    // Closed came at the FINs, not at the end: the final ACK came after both.
    assert!(matches!(
        ev.last(),
        Some(StreamEvent::Closed { dir: S2C, .. })
    ));
}

#[test]
fn out_of_order_and_overlap_first_copy_wins() {
    let mut r = Run::new();
    handshake(&mut r, 1000, 5000);
    r.push(seg(true, 1011, 5001, ACK, b"klmnopqrst"));
    r.push(seg(true, 1006, 5001, ACK, b"fghijklm")); // overlaps held data, same bytes
    r.push(seg(true, 1001, 5001, ACK, b"abcde"));
    r.push(seg(true, 1021, 5001, ACK, b"uvwxyz"));
    r.push(seg(true, 1003, 5001, ACK, b"cdefgh")); // identical retransmission
    let ev = r.finish();
    assert_eq!(bytes_of(&ev, 0, C2S).0, b"abcdefghijklmnopqrstuvwxyz");
    assert!(diags(&ev).is_empty(), "{:?}", diags(&ev));
    // Data events carry the timestamp of the packet that supplied those bytes.
    let first = ev.iter().find_map(|e| match e {
        StreamEvent::Data { offset: 0, ts, .. } => *ts,
        _ => None,
    });
    assert_eq!(first, Some(Timestamp::from_secs_nanos(1006, 0)));
}

#[test]
fn differing_retransmission_is_reported() {
    let mut r = Run::new();
    handshake(&mut r, 1000, 5000);
    r.push(seg(true, 1001, 5001, ACK, b"hello world"));
    r.push(seg(true, 1007, 5001, ACK, b"WORLD"));
    // And against held out-of-order data.
    r.push(seg(true, 1022, 5001, ACK, b"later"));
    r.push(seg(true, 1022, 5001, ACK, b"LATER"));
    let ev = r.finish();
    let d = diags(&ev);
    assert_eq!(d.len(), 2, "{d:?}");
    assert!(
        d[0].contains("stream 0 c2s") && d[0].contains("offset 6"),
        "{}",
        d[0]
    );
    assert!(
        d[1].contains("stream 0 c2s") && d[1].contains("offset 21"),
        "{}",
        d[1]
    );
    let (bytes, gaps) = bytes_of(&ev, 0, C2S);
    assert_eq!(bytes, b"hello worldlater");
    assert_eq!(gaps, vec![(11, 10)]);
}

#[test]
fn mid_stream_start_picks_ephemeral_port_as_client() {
    let mut r = Run::new();
    r.push(seg(false, 777_000, 123_000, ACK, b"response part 2"));
    r.push(seg(true, 123_000, 777_015, ACK, b"next request"));
    r.push(seg(false, 777_015, 123_012, ACK, b"!"));
    let ev = r.finish();
    match &ev[0] {
        StreamEvent::Opened { client, .. } => assert_eq!(client.port(), 50000),
        other => panic!("{other:?}"),
    }
    assert_eq!(bytes_of(&ev, 0, S2C).0, b"response part 2!");
    assert_eq!(bytes_of(&ev, 0, C2S).0, b"next request");
    assert_eq!(closed(&ev, 0), vec![C2S, S2C]);
}

#[test]
fn syn_ack_receiver_is_client() {
    let mut r = Run::new();
    r.push(seg(false, 5000, 1001, SYN | ACK, b""));
    r.push(seg(true, 1001, 5001, ACK, b"hi"));
    let ev = r.finish();
    match &ev[0] {
        StreamEvent::Opened { client, .. } => assert_eq!(client.port(), 50000),
        other => panic!("{other:?}"),
    }
    assert_eq!(bytes_of(&ev, 0, C2S).0, b"hi");
}

#[test]
fn sequence_wrap_around() {
    let mut r = Run::new();
    let isn = 0xFFFF_FFF0u32;
    handshake(&mut r, isn, 7);
    let mut s = isn.wrapping_add(1);
    for chunk in [b"0123456789", b"abcdefghij", b"ABCDEFGHIJ"] {
        r.push(seg(true, s, 8, ACK, chunk));
        s = s.wrapping_add(10);
    }
    r.push(seg(true, s, 8, ACK | FIN, b""));
    let ev = r.finish();
    assert_eq!(
        bytes_of(&ev, 0, C2S),
        (b"0123456789abcdefghijABCDEFGHIJ".to_vec(), vec![])
    );
    assert_eq!(closed(&ev, 0)[0], C2S);
}

#[test]
fn out_of_order_across_the_wrap() {
    let mut r = Run::new();
    let isn = 0xFFFF_FFFAu32; // data starts at 0xFFFF_FFFB and wraps after 5 bytes
    handshake(&mut r, isn, 7);
    r.push(seg(true, 0x0000_0000, 8, ACK, b"56789"));
    r.push(seg(true, 0xFFFF_FFFB, 8, ACK, b"01234"));
    r.push(seg(true, 0x0000_0005, 8, ACK, b"abc"));
    let ev = r.finish();
    assert_eq!(bytes_of(&ev, 0, C2S), (b"0123456789abc".to_vec(), vec![]));
}

#[test]
fn hole_acked_by_peer_becomes_gap_soon_after() {
    let mut r = Run::new();
    handshake(&mut r, 1000, 5000);
    r.push(seg(true, 1001, 5001, ACK, b"0123456789"));
    r.push(seg(true, 1021, 5001, ACK, b"ABCDEFGHIJ")); // 1011..1021 never captured
    r.push(seg(false, 5001, 1031, ACK, b""));
    // Not at once: the missing bytes may still show up just after their ACK.
    r.push(seg(true, 1031, 5001, ACK, b"KL"));
    r.push(seg(false, 5001, 1031, ACK, b""));
    assert!(!r
        .events
        .iter()
        .any(|e| matches!(e, StreamEvent::Gap { .. })));
    let before = r.events.len();
    r.push(seg(true, 1033, 5001, ACK, b"MN"));
    let after: Vec<StreamEvent> = r.events[before..].to_vec();
    assert!(matches!(
        after[0],
        StreamEvent::Gap {
            dir: C2S,
            offset: 10,
            length: 10,
            ..
        }
    ));
    assert!(
        matches!(&after[1], StreamEvent::Data { offset: 20, bytes, .. } if bytes == b"ABCDEFGHIJ")
    );
    assert!(matches!(&after[2], StreamEvent::Data { offset: 30, bytes, .. } if bytes == b"KL"));
    assert!(matches!(&after[3], StreamEvent::Data { offset: 32, bytes, .. } if bytes == b"MN"));
    // The missing bytes turn up after all: too late to put back, but named.
    let before = r.events.len();
    r.push(seg(true, 1011, 5001, ACK, b"abcdefghij"));
    let late: Vec<&StreamEvent> = r.events[before..].iter().collect();
    assert!(
        matches!(late.as_slice(), [StreamEvent::Diagnostic(d)]
            if d.message.contains("10 bytes at offset 10 that were already reported missing")),
        "{late:?}"
    );
    // Once per gap.
    let before = r.events.len();
    r.push(seg(true, 1011, 5001, ACK, b"abcdefghij"));
    assert_eq!(r.events.len(), before);
    let ev = r.finish();
    let (bytes, gaps) = bytes_of(&ev, 0, C2S);
    assert_eq!(
        (bytes, gaps),
        (b"0123456789ABCDEFGHIJKLMN".to_vec(), vec![(10, 10)])
    );
}

#[test]
fn unfilled_hole_flushed_at_end_and_by_buffer_limit() {
    let mut r = Run::new();
    handshake(&mut r, 1000, 5000);
    r.push(seg(true, 1001, 5001, ACK, b"aaaa"));
    r.push(seg(true, 1009, 5001, ACK, b"cccc"));
    let n = r.events.len();
    let ev = r.finish();
    assert!(matches!(
        ev[n],
        StreamEvent::Gap {
            offset: 4,
            length: 4,
            ..
        }
    ));
    assert_eq!(bytes_of(&ev, 0, C2S), (b"aaaacccc".to_vec(), vec![(4, 4)]));

    let mut r = Run::with(NetLimits {
        max_pending_dir: 16,
        ..NetLimits::default()
    });
    handshake(&mut r, 1000, 5000);
    r.push(seg(true, 1011, 5001, ACK, b"0123456789"));
    assert!(!r
        .events
        .iter()
        .any(|e| matches!(e, StreamEvent::Gap { .. })));
    r.push(seg(true, 1021, 5001, ACK, b"abcdefghij"));
    assert!(r.events.iter().any(|e| matches!(
        e,
        StreamEvent::Gap {
            offset: 0,
            length: 10,
            ..
        }
    )));
    let ev = r.finish();
    assert_eq!(
        bytes_of(&ev, 0, C2S),
        (b"0123456789abcdefghij".to_vec(), vec![(0, 10)])
    );
}

#[test]
fn keep_alives_are_ignored() {
    let mut r = Run::new();
    handshake(&mut r, 1000, 5000);
    r.push(seg(true, 1001, 5001, ACK, b"data"));
    r.push(seg(true, 1004, 5001, ACK, b"\0")); // 1-byte keep-alive, garbage byte
    r.push(seg(true, 1004, 5001, ACK, b"")); // 0-byte keep-alive
    r.push(seg(true, 1005, 5001, ACK, b"more"));
    let ev = r.finish();
    assert_eq!(bytes_of(&ev, 0, C2S), (b"datamore".to_vec(), vec![]));
    assert!(diags(&ev).is_empty(), "{:?}", diags(&ev));
}

#[test]
fn keep_alive_as_first_segment_of_a_mid_stream_capture() {
    let mut r = Run::new();
    r.push(seg(false, 9000, 4000, ACK, b"")); // server acks: client's next byte is 4000
    r.push(seg(true, 3999, 9000, ACK, b"\0")); // keep-alive
    r.push(seg(true, 4000, 9000, ACK, b"real"));
    let ev = r.finish();
    assert_eq!(bytes_of(&ev, 0, C2S), (b"real".to_vec(), vec![]));
}

#[test]
fn rst_closes_and_new_syn_starts_new_stream() {
    let mut r = Run::new();
    handshake(&mut r, 1000, 5000);
    r.push(seg(true, 1001, 5001, ACK, b"one"));
    r.push(seg(false, 5001, 1004, RST | ACK, b""));
    r.push(seg(true, 1004, 5001, ACK, b"late")); // after the reset: ignored
    handshake(&mut r, 9000, 20000);
    r.push(seg(true, 9001, 20001, ACK, b"two"));
    r.push(seg(true, 9004, 20001, ACK | FIN, b""));
    r.push(seg(false, 20001, 9005, ACK | FIN, b""));
    // New SYN after FINs: a third stream.
    handshake(&mut r, 30000, 40000);
    let ev = r.finish();
    let opened = ev
        .iter()
        .filter(|e| matches!(e, StreamEvent::Opened { .. }))
        .count();
    assert_eq!(opened, 3);
    assert_eq!(bytes_of(&ev, 0, C2S).0, b"one");
    assert_eq!(closed(&ev, 0), vec![C2S, S2C]);
    assert_eq!(bytes_of(&ev, 1, C2S).0, b"two");
    assert_eq!(closed(&ev, 1), vec![C2S, S2C]);
    assert_eq!(closed(&ev, 2), vec![C2S, S2C]);
}

#[test]
fn port_reuse_without_a_captured_syn_and_late_retransmissions() {
    let mut r = Run::new();
    handshake(&mut r, 1000, 5000);
    r.push(seg(true, 1001, 5001, ACK, b"old"));
    r.push(seg(true, 1004, 5001, ACK | FIN, b""));
    r.push(seg(false, 5001, 1005, ACK | FIN, b""));
    r.push(seg(true, 1001, 5001, ACK, b"old")); // late retransmission: same stream, ignored
                                                // The next connection's SYN was not captured; its SYN-ACK and data were.
    r.push(seg(false, 700_000_000, 300_000_001, SYN | ACK, b""));
    r.push(seg(true, 300_000_001, 700_000_001, ACK, b"new"));
    let ev = r.finish();
    let opened = ev
        .iter()
        .filter(|e| matches!(e, StreamEvent::Opened { .. }))
        .count();
    assert_eq!(opened, 2);
    assert_eq!(bytes_of(&ev, 0, C2S).0, b"old");
    assert_eq!(bytes_of(&ev, 1, C2S).0, b"new");
    assert!(diags(&ev).is_empty());
}

#[test]
fn ipv4_fragments_out_of_order() {
    let payload: Vec<u8> = (0..100u8).collect();
    let whole = tcp(50000, 80, 1001, 5001, ACK, &payload);
    // 120 bytes of TCP: fragments of 48, 48, 24 (offsets in 8-byte units).
    let f1 = ipv4(A, B, 6, 42, 0, true, &whole[0..48]);
    let f2 = ipv4(A, B, 6, 42, 6, true, &whole[48..96]);
    let f3 = ipv4(A, B, 6, 42, 12, false, &whole[96..]);
    let mut r = Run::new();
    handshake(&mut r, 1000, 5000);
    r.push(f3);
    r.push(f1);
    r.push(f2);
    let stats = r.stage.stats();
    let ev = r.finish();
    assert_eq!(bytes_of(&ev, 0, C2S), (payload, vec![]));
    assert_eq!(stats.fragments, 3);
    assert!(diags(&ev).is_empty());
}

fn ipv6(src: u8, dst: u8, next: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![0x60, 0, 0, 0];
    v.extend((body.len() as u16).to_be_bytes());
    v.extend([next, 64]);
    let mut s = [0u8; 16];
    s[0] = 0xfd;
    s[15] = src;
    v.extend(s);
    s[15] = dst;
    v.extend(s);
    v.extend(body);
    v
}

#[test]
fn ipv6_plain_and_fragmented() {
    let mut r = Run::new();
    r.push(ipv6(1, 2, 6, &tcp(50001, 443, 10, 0, SYN, b"")));
    r.push(ipv6(1, 2, 6, &tcp(50001, 443, 11, 0, ACK, b"plain ")));
    let payload: Vec<u8> = (0..40u8).collect();
    let whole = tcp(50001, 443, 17, 0, ACK, &payload);
    let frag = |off: u16, more: bool, body: &[u8]| {
        let mut v = vec![6, 0];
        v.extend(((off << 3) | u16::from(more)).to_be_bytes());
        v.extend(0xabcdu32.to_be_bytes());
        v.extend(body);
        ipv6(1, 2, 44, &v)
    };
    r.push(frag(4, false, &whole[32..]));
    r.push(frag(0, true, &whole[..32]));
    let ev = r.finish();
    let mut want = b"plain ".to_vec();
    want.extend(&payload);
    assert_eq!(bytes_of(&ev, 0, C2S), (want, vec![]));
    match &ev[0] {
        StreamEvent::Opened { client, .. } => assert_eq!(client.to_string(), "[fd00::1]:50001"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn link_layers_end_to_end() {
    let pkt = seg(true, 1, 0, ACK, b"x");
    let mut eth = vec![0u8; 12];
    eth.extend([0x88, 0xa8, 0, 1, 0x81, 0x00, 0, 2, 0x08, 0x00]);
    eth.extend(&pkt);
    let mut null = vec![2, 0, 0, 0];
    null.extend(&pkt);
    let mut sll = vec![0u8; 14];
    sll.extend([0x08, 0x00]);
    sll.extend(&pkt);
    let mut sll2 = vec![0x08, 0x00];
    sll2.extend([0u8; 18]);
    sll2.extend(&pkt);
    for (link, frame) in [
        (LinkType::Ethernet, eth),
        (LinkType::Null, null),
        (LinkType::LinuxSll, sll),
        (LinkType::LinuxSll2, sll2),
        (LinkType::Ipv4, pkt.clone()),
        (
            LinkType::Ipv6,
            ipv6(1, 2, 6, &tcp(50000, 80, 1, 0, ACK, b"x")),
        ),
    ] {
        let mut r = Run::new();
        r.push_link(link, frame);
        let ev = r.finish();
        assert_eq!(bytes_of(&ev, 0, C2S).0, b"x", "{link:?}");
    }
}

#[test]
fn malformed_and_non_tcp_packets() {
    let mut r = Run::new();
    r.push(vec![0x45, 0, 0]); // cut IPv4 header
    r.push(ipv4(A, B, 17, 1, 0, false, &[0; 8])); // UDP
    r.push(ipv4(A, B, 6, 1, 0, false, &[0; 7])); // TCP header cut
    r.push(vec![0x00, 1, 2]); // version 0: not IP
    let stats = r.stage.stats();
    let ev = r.finish();
    let d = diags(&ev);
    assert_eq!(d.len(), 2, "{d:?}");
    assert!(d[0].starts_with("frame 1: malformed IP header"), "{}", d[0]);
    assert!(
        d[1].starts_with("frame 3: malformed TCP header"),
        "{}",
        d[1]
    );
    assert_eq!((stats.non_tcp, stats.non_ip, stats.malformed), (1, 1, 2));
    assert_eq!(stats.streams, 0);
}

#[test]
fn snaplen_cut_segment_leaves_a_gap() {
    let mut r = Run::new();
    handshake(&mut r, 1000, 5000);
    let mut p = seg(true, 1001, 5001, ACK, b"0123456789");
    p.truncate(p.len() - 4); // the capture kept 6 of 10 payload bytes
    r.push(p);
    r.push(seg(true, 1011, 5001, ACK | FIN, b"abc"));
    r.push(seg(false, 5001, 1015, ACK, b""));
    let ev = r.finish();
    assert_eq!(bytes_of(&ev, 0, C2S), (b"012345abc".to_vec(), vec![(6, 4)]));
    assert_eq!(closed(&ev, 0)[0], C2S);
}

#[test]
fn connection_table_is_bounded() {
    let mut r = Run::with(NetLimits {
        max_connections: 10,
        ..NetLimits::default()
    });
    for i in 0..50u16 {
        r.push(ipv4(
            A,
            B,
            6,
            1,
            0,
            false,
            &tcp(40000 + i, 80, 1, 0, SYN, b""),
        ));
    }
    let ev = r.finish();
    let opened = ev
        .iter()
        .filter(|e| matches!(e, StreamEvent::Opened { .. }))
        .count();
    let closes = ev
        .iter()
        .filter(|e| matches!(e, StreamEvent::Closed { .. }))
        .count();
    assert_eq!(opened, 50);
    assert_eq!(closes, 100);
    assert!(diags(&ev)
        .iter()
        .any(|d| d.contains("more than 10 TCP connections")));
}

#[test]
fn long_stream_with_reordering_reassembles_exactly() {
    // 8.7 MB in 1460-byte segments, every pair swapped and every 7th sent twice.
    let mut r = Run::new();
    handshake(&mut r, 1000, 5000);
    let n = 6_000u32;
    let body = |i: u32| -> Vec<u8> {
        (0..1460u32)
            .map(|k| (i.wrapping_mul(7) ^ k) as u8)
            .collect()
    };
    let mut want = Vec::new();
    for i in 0..n {
        want.extend(body(i));
    }
    let mut i = 0;
    while i < n {
        for j in [i + 1, i] {
            if j < n {
                let seq = 1001u32.wrapping_add(j * 1460);
                r.push(seg(true, seq, 5001, ACK, &body(j)));
                if j % 7 == 0 {
                    r.push(seg(true, seq, 5001, ACK, &body(j)));
                }
            }
        }
        i += 2;
    }
    let ev = r.finish();
    let (got, gaps) = bytes_of(&ev, 0, C2S);
    assert!(gaps.is_empty());
    assert!(got == want, "reassembled stream differs");
    assert!(diags(&ev).is_empty());
}

/// Handing Data buffers back for reuse ([`NetStage::recycle`]) changes no event: payloads
/// of different sizes reuse buffers of other sizes, and retransmissions are still compared
/// with the bytes first delivered.
#[test]
fn recycled_buffers_change_nothing() {
    let packets = |r: &mut Run, recycle: bool| {
        let mut sent = Vec::new();
        handshake(r, 1000, 5000);
        let mut seq = 1001u32;
        for (i, len) in [1460usize, 3, 700, 1460, 1, 90, 1200]
            .into_iter()
            .enumerate()
        {
            let payload: Vec<u8> = (0..len).map(|k| (i * 37 + k) as u8).collect();
            sent.push(seg(true, seq, 5001, ACK, &payload));
            // A retransmission of the previous segment, changed in its last byte.
            if i == 3 {
                let mut changed = payload.clone();
                changed[len - 1] ^= 1;
                sent.push(seg(true, seq, 5001, ACK, &changed));
            }
            seq = seq.wrapping_add(len as u32);
        }
        let mut events = Vec::new();
        for p in sent {
            r.push(p);
            for ev in r.events.drain(..) {
                match ev {
                    StreamEvent::Data {
                        stream,
                        dir,
                        offset,
                        bytes,
                        ts,
                    } if recycle => {
                        events.push(StreamEvent::Data {
                            stream,
                            dir,
                            offset,
                            bytes: bytes.clone(),
                            ts,
                        });
                        r.stage.recycle(bytes);
                    }
                    other => events.push(other),
                }
            }
        }
        events
    };
    let plain = packets(&mut Run::new(), false);
    let recycled = packets(&mut Run::new(), true);
    assert_eq!(plain, recycled);
    assert_eq!(diags(&plain).len(), 1, "{:?}", diags(&plain));
}

/// Network diagnostics stop at 500, one summary names how many more there were, and the
/// data of packets between malformed ones is still delivered in order.
#[test]
fn network_diagnostics_are_capped_and_summarised() {
    let mut r = Run::new();
    handshake(&mut r, 1000, 5000);
    let mut seq = 1001u32;
    let mut sent = Vec::new();
    for i in 0..700u32 {
        r.push(vec![0x45, 0, 0]); // a cut IPv4 header: one diagnostic each
        if i % 100 == 0 {
            let payload = format!("part{i};");
            r.push(seg(true, seq, 5001, ACK, payload.as_bytes()));
            seq = seq.wrapping_add(payload.len() as u32);
            sent.extend_from_slice(payload.as_bytes());
        }
    }
    let ev = r.finish();
    let d = diags(&ev);
    assert_eq!(d.len(), 501, "{:?}", &d[d.len().saturating_sub(2)..]);
    assert!(
        d[500].contains("200 further network diagnostics were suppressed"),
        "{}",
        d[500]
    );
    assert_eq!(bytes_of(&ev, 0, C2S), (sent, vec![]));
}
