//! End to end from capture bytes to the report: captures written by the test capture builder
//! (`tests/support/capture_builder.rs`, independent of core's readers) go through
//! `analyze_files`, and the report's messages, kinds, actions, bodies, pairing,
//! completeness, streams, gaps and diagnostics are checked for every capture, network and
//! HTTP situation issue 2 (items 3–8) lists.

use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;

use wcfscope_core::analyzer::{analyze_files, Analysis, Options};
use wcfscope_core::model::{
    CaptureFormat, FlowDirection, Gap, Level, MessageDirection, MessageKind, Report, SoapVersion,
    Timestamp, TransportKind,
};
use wcfscope_e2e::capture_builder::*;

const S11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const S12: &str = "http://www.w3.org/2003/05/soap-envelope";
const WSA10: &str = "http://www.w3.org/2005/08/addressing";
const WSA04: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
const ADD_ACTION: &str = "http://tempuri.org/ICalculator/Add";
const ADD_REPLY: &str = "http://tempuri.org/ICalculator/AddResponse";
/// 2024-05-01T10:00:00Z.
const T0: i64 = 1_714_557_600 * 1_000_000_000;

/// Writes `bytes` to a temporary file with extension `ext` and analyses it.
fn analyze(bytes: &[u8], ext: &str) -> Analysis {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("capture.{ext}"));
    std::fs::write(&path, bytes).unwrap();
    let cancel = AtomicBool::new(false);
    analyze_files(&[path], &Options::default(), &mut |_| {}, &cancel).unwrap()
}

/// A SOAP envelope: version namespace, WS-Addressing namespace and header blocks (None = no
/// addressing headers), body content.
fn envelope(soap: &str, wsa: Option<(&str, &str)>, body: &str) -> String {
    let (decl, headers) = match wsa {
        Some((ns, headers)) => (format!(" xmlns:a=\"{ns}\""), headers.to_string()),
        None => (String::new(), String::new()),
    };
    format!(
        "<s:Envelope xmlns:s=\"{soap}\"{decl}><s:Header>{headers}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    )
}

fn req_headers(action: &str, id: &str) -> String {
    format!(
        "<a:Action s:mustUnderstand=\"1\">{action}</a:Action><a:MessageID>{id}</a:MessageID>\
         <a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo>\
         <a:To s:mustUnderstand=\"1\">http://service.test/calc</a:To>"
    )
}

fn resp_headers(action: &str, relates: &str) -> String {
    format!(
        "<a:Action s:mustUnderstand=\"1\">{action}</a:Action><a:RelatesTo>{relates}</a:RelatesTo>"
    )
}

fn add_body(n: usize) -> String {
    format!("<Add xmlns=\"http://tempuri.org/\"><a>{n}</a><b>2</b></Add>")
}

fn add_result(n: usize) -> String {
    format!(
        "<AddResponse xmlns=\"http://tempuri.org/\"><AddResult>{}</AddResult></AddResponse>",
        n + 2
    )
}

/// A SOAP 1.2 / WS-Addressing 1.0 Add request number `n` over HTTP.
fn add_request(n: usize) -> Vec<u8> {
    let env = envelope(
        S12,
        Some((
            WSA10,
            &req_headers(ADD_ACTION, &format!("urn:uuid:req-{n}")),
        )),
        &add_body(n),
    );
    http_request(
        "/calc",
        &[("Content-Type", "application/soap+xml; charset=utf-8")],
        env.as_bytes(),
    )
}

fn add_response(n: usize) -> Vec<u8> {
    let env = envelope(
        S12,
        Some((
            WSA10,
            &resp_headers(ADD_REPLY, &format!("urn:uuid:req-{n}")),
        )),
        &add_result(n),
    );
    http_response(
        200,
        &[("Content-Type", "application/soap+xml; charset=utf-8")],
        env.as_bytes(),
    )
}

/// A conversation with a handshake and `n` request/response exchanges, closed with FINs.
fn exchanges(client: &str, server: &str, n: usize, mss: usize) -> Conversation {
    let mut c = Conversation::new(client, server).mss(mss);
    c.handshake();
    for i in 0..n {
        c.send(Dir::C2S, &add_request(i));
        c.ack(Dir::S2C);
        c.send(Dir::S2C, &add_response(i));
        c.ack(Dir::C2S);
    }
    c.fin(Dir::C2S).fin(Dir::S2C).ack(Dir::C2S);
    c
}

fn pcap_of(c: &Conversation, link: Link) -> Vec<u8> {
    pcap(
        link,
        PcapFormat::default(),
        &frames(c, link, 0, T0, 1_000_000, None),
    )
}

/// Asserts the report holds exactly `n` complete Add exchanges, each request paired with
/// its response, over stream `stream`, in order from message `first`.
fn assert_exchanges(r: &Report, first: usize, n: usize, stream: usize) {
    assert_exchanges_from(r, first, 0, n, stream)
}

/// Like [`assert_exchanges`] for exchanges `ex0..ex0 + n`.
fn assert_exchanges_from(r: &Report, first: usize, ex0: usize, n: usize, stream: usize) {
    assert!(
        r.messages.len() >= first + 2 * n,
        "{} messages: {:#?}",
        r.messages.len(),
        r.messages
    );
    for k in 0..n {
        let i = ex0 + k;
        let (q, p) = (first + 2 * k, first + 2 * k + 1);
        let (req, resp) = (&r.messages[q], &r.messages[p]);
        assert_eq!(req.direction, MessageDirection::Request, "message {q}");
        assert_eq!(resp.direction, MessageDirection::Response, "message {p}");
        assert_eq!(req.action.as_deref(), Some(ADD_ACTION), "message {q}");
        assert_eq!(resp.action.as_deref(), Some(ADD_REPLY), "message {p}");
        assert_eq!(
            req.message_id.as_deref(),
            Some(format!("urn:uuid:req-{i}").as_str())
        );
        assert_eq!(
            resp.relates_to.as_deref(),
            Some(format!("urn:uuid:req-{i}").as_str())
        );
        assert_eq!(req.kind, MessageKind::Application);
        assert_eq!(resp.kind, MessageKind::Application);
        assert_eq!(req.soap_version, Some(SoapVersion::Soap12));
        assert!(req.complete && resp.complete, "exchange {i} complete");
        assert_eq!(req.paired_with, Some(p));
        assert_eq!(resp.paired_with, Some(q));
        assert_eq!(req.stream, Some(stream));
        assert_eq!(resp.stream, Some(stream));
        let body = req.body.as_deref().unwrap_or_default();
        assert!(
            body.contains(&format!("<a>{i}</a>")),
            "request {i} body: {body}"
        );
        let body = resp.body.as_deref().unwrap_or_default();
        assert!(
            body.contains(&format!("<AddResult>{}</AddResult>", i + 2)),
            "response {i} body: {body}"
        );
        let http = req.http.as_ref().unwrap();
        assert_eq!(http.method.as_deref(), Some("POST"));
        assert_eq!(http.path.as_deref(), Some("/calc"));
        assert_eq!(resp.http.as_ref().unwrap().status, Some(200));
    }
}

fn warnings(r: &Report) -> Vec<&str> {
    r.diagnostics
        .iter()
        .filter(|d| d.level >= Level::Warning)
        .map(|d| d.message.as_str())
        .collect()
}

fn has_diag(r: &Report, needle: &str) -> bool {
    r.diagnostics
        .iter()
        .any(|d| d.message.to_lowercase().contains(&needle.to_lowercase()))
}

#[test]
fn every_link_type_in_classic_pcap() {
    let links = [
        Link::Ethernet,
        Link::Vlan(42),
        Link::QinQ(100, 200),
        Link::Sll,
        Link::Sll2,
        Link::Null,
        Link::Loop,
        Link::Raw,
        Link::Ipv4,
    ];
    for link in links {
        let c = exchanges("10.0.0.1:49152", "10.0.0.2:80", 2, 1460);
        let a = analyze(&pcap_of(&c, link), "pcap");
        let r = &a.report;
        assert_eq!(r.capture.format, CaptureFormat::Pcap, "{link:?}");
        assert_eq!(r.messages.len(), 4, "{link:?}: {:?}", r.diagnostics);
        assert_exchanges(r, 0, 2, 0);
        assert_eq!(r.streams.len(), 1);
        assert_eq!(r.streams[0].client, "10.0.0.1:49152");
        assert_eq!(r.streams[0].server, "10.0.0.2:80");
        assert_eq!(r.streams[0].transport, TransportKind::Http);
        assert!(r.streams[0].gaps.is_empty());
        assert!(warnings(r).is_empty(), "{link:?}: {:?}", warnings(r));
    }
}

#[test]
fn ipv6_over_every_link_type_that_carries_it() {
    for link in [
        Link::Ethernet,
        Link::Vlan(7),
        Link::Sll,
        Link::Sll2,
        Link::Null,
        Link::Raw,
        Link::Ipv6,
    ] {
        let c = exchanges("[2001:db8::1]:50000", "[2001:db8::2]:8080", 2, 1200);
        let r = analyze(&pcap_of(&c, link), "pcap").report;
        assert_eq!(r.messages.len(), 4, "{link:?}: {:?}", r.diagnostics);
        assert_exchanges(&r, 0, 2, 0);
        assert_eq!(r.streams[0].client, "[2001:db8::1]:50000");
        assert_eq!(r.streams[0].server, "[2001:db8::2]:8080");
    }
}

#[test]
fn pcap_byte_orders_and_resolutions_keep_exact_timestamps() {
    let c = exchanges("10.0.0.1:49152", "10.0.0.2:80", 1, 1460);
    // Step 1.234567891 ms: the nanosecond file keeps it all, the microsecond one truncates.
    let step = 1_234_567_891;
    let fr = frames(&c, Link::Ethernet, 0, T0 + 123_456_789, step, None);
    // The request's last (only) segment is segs[3] (after the handshake); the response's is segs[5].
    let req_ts = T0 + 123_456_789 + 3 * step;
    let resp_ts = T0 + 123_456_789 + 5 * step;
    for big_endian in [false, true] {
        for nanos in [false, true] {
            let fmt = PcapFormat {
                big_endian,
                nanos,
                ..PcapFormat::default()
            };
            let r = analyze(&pcap(Link::Ethernet, fmt, &fr), "pcap").report;
            let case = format!("big_endian={big_endian} nanos={nanos}");
            assert_eq!(r.messages.len(), 2, "{case}: {:?}", r.diagnostics);
            assert_exchanges(&r, 0, 1, 0);
            let trunc = |t: i64| if nanos { t } else { t - t % 1000 };
            assert_eq!(r.messages[0].ts, Some(Timestamp(trunc(req_ts))), "{case}");
            assert_eq!(r.messages[1].ts, Some(Timestamp(trunc(resp_ts))), "{case}");
            assert_eq!(
                r.capture.first_ts,
                Some(Timestamp(trunc(T0 + 123_456_789))),
                "{case}"
            );
            assert_eq!(r.capture.packets, fr.len() as u64, "{case}");
        }
    }
}

#[test]
fn pcapng_multi_interface_with_per_interface_resolution_and_offset() {
    // Four interfaces, four link types, four clocks: µs default; ns; 2^-10 s with an offset
    // of 1000 s; 10^-3 s with an offset of T0's seconds.
    let ifaces = vec![
        Iface::new(Link::Ethernet),
        Iface {
            tsresol: Some(9),
            ..Iface::new(Link::Sll)
        },
        Iface {
            tsresol: Some(0x80 | 10),
            tsoffset: Some(1000),
            ..Iface::new(Link::Raw)
        },
        Iface {
            tsresol: Some(3),
            tsoffset: Some(T0 / 1_000_000_000),
            ..Iface::new(Link::Vlan(5))
        },
    ];
    let addrs = [
        ("10.0.0.1:40001", "10.0.0.2:80"),
        ("10.0.1.1:40002", "10.0.1.2:80"),
        ("[2001:db8::5]:40003", "[2001:db8::6]:80"),
        ("10.0.3.1:40004", "10.0.3.2:80"),
    ];
    // Steps exactly representable in each interface's units: 3 ms (µs), 1.234567891 s (ns),
    // 4/1024 s = 3.90625 ms (2^-10 s), 3 ms (ms). Starts are whole seconds.
    let steps: [i64; 4] = [3_000_000, 1_234_567_891, 3_906_250, 3_000_000];
    let mut all = Vec::new();
    let mut expected_req_ts = Vec::new();
    for (i, (cl, sv)) in addrs.iter().enumerate() {
        let c = exchanges(cl, sv, 1, 1460);
        let start = T0 + (i as i64) * 10_000_000_000;
        let fr = frames(&c, ifaces[i].link, i as u32, start, steps[i], None);
        expected_req_ts.push(start + 3 * steps[i]);
        all.extend(fr);
    }
    let mut comment_frame = all[0].clone();
    comment_frame.comment = Some("first SYN".into());
    all[0] = comment_frame;
    for big_endian in [false, true] {
        let bytes = pcapng(&ifaces, &all, PacketBlock::Enhanced, big_endian);
        let r = analyze(&bytes, "pcapng").report;
        assert_eq!(r.capture.format, CaptureFormat::Pcapng);
        assert_eq!(
            r.messages.len(),
            8,
            "big_endian={big_endian}: {:?}",
            r.diagnostics
        );
        assert_eq!(r.streams.len(), 4);
        for i in 0..4 {
            assert_exchanges(&r, 2 * i, 1, i);
            assert_eq!(r.streams[i].client, addrs[i].0);
            assert_eq!(
                r.messages[2 * i].ts,
                Some(Timestamp(expected_req_ts[i])),
                "interface {i} (big_endian={big_endian})"
            );
        }
        assert!(warnings(&r).is_empty(), "{:?}", warnings(&r));
    }
}

#[test]
fn pcapng_simple_and_obsolete_packet_blocks() {
    let c = exchanges("10.0.0.1:49152", "10.0.0.2:80", 2, 700);
    let fr = frames(&c, Link::Ethernet, 0, T0, 1_000_000, None);
    for block in [PacketBlock::Simple, PacketBlock::Obsolete] {
        let r = analyze(
            &pcapng(&[Iface::new(Link::Ethernet)], &fr, block, false),
            "pcapng",
        )
        .report;
        assert_eq!(r.messages.len(), 4, "{block:?}: {:?}", r.diagnostics);
        assert_exchanges(&r, 0, 2, 0);
        if block == PacketBlock::Simple {
            // A Simple Packet Block has no timestamp.
            assert_eq!(r.messages[0].ts, None);
        } else {
            assert_eq!(r.messages[0].ts, Some(Timestamp(T0 + 3 * 1_000_000)));
        }
    }
}

#[test]
fn ipv4_fragments_are_reassembled() {
    let c = exchanges("10.0.0.1:49152", "10.0.0.2:80", 2, 1460);
    // Every datagram cut into 8..=64-byte fragments.
    for frag in [64usize, 200, 8] {
        let fr = frames(&c, Link::Ethernet, 0, T0, 1_000, Some(frag));
        assert!(fr.len() > c.segs.len());
        let r = analyze(&pcap(Link::Ethernet, PcapFormat::default(), &fr), "pcap").report;
        assert_eq!(
            r.messages.len(),
            4,
            "fragments of {frag}: {:?}",
            r.diagnostics
        );
        assert_exchanges(&r, 0, 2, 0);
        assert!(warnings(&r).is_empty(), "{:?}", warnings(&r));
    }
    // Fragments delivered in reverse order within each datagram.
    let mut fr = Vec::new();
    for (i, s) in c.segs.iter().enumerate() {
        let (src, dst) = if s.dir == Dir::C2S {
            (c.client, c.server)
        } else {
            (c.server, c.client)
        };
        let mut ips = ip_packets(
            src.ip(),
            dst.ip(),
            i as u16 + 1,
            &tcp_bytes(src, dst, s),
            Some(96),
        );
        ips.reverse();
        for ip in ips {
            fr.push(Frame {
                ts_ns: T0 + i as i64 * 1000,
                iface: 0,
                data: Link::Raw.wrap(&ip),
                comment: None,
            });
        }
    }
    let r = analyze(&pcap(Link::Raw, PcapFormat::default(), &fr), "pcap").report;
    assert_eq!(
        r.messages.len(),
        4,
        "reversed fragments: {:?}",
        r.diagnostics
    );
    assert_exchanges(&r, 0, 2, 0);
}

#[test]
fn small_segments_out_of_order_delivery_and_retransmissions() {
    let mut c = Conversation::new("192.168.1.10:51000", "192.168.1.20:80").mss(37);
    c.handshake();
    c.send(Dir::C2S, &add_request(0));
    c.send(Dir::S2C, &add_response(0));
    c.send_sizes(Dir::C2S, &add_request(1), &[1, 2, 3, 5, 8, 13, 21, 34, 55]);
    c.send(Dir::S2C, &add_response(1));
    c.fin(Dir::C2S).fin(Dir::S2C);
    // Reverse blocks of up to five segments within each run of one direction's data
    // (later data before earlier; the peer's ACKs of it still come after it).
    let n = c.segs.len();
    let mut i = 3;
    while i < n {
        let dir = c.segs[i].dir;
        let mut j = i;
        while j < n && j - i < 5 && c.segs[j].dir == dir && !c.segs[j].payload.is_empty() {
            j += 1;
        }
        c.segs[i..j.max(i + 1)].reverse();
        i = j.max(i + 1);
    }
    // Identical retransmissions of a few segments, some long after.
    c.retransmit(10, 12).retransmit(20, 40).retransmit(4, n);
    let r = analyze(&pcap_of(&c, Link::Ethernet), "pcap").report;

    assert_eq!(r.messages.len(), 4, "{:?}", r.diagnostics);
    assert_exchanges(&r, 0, 2, 0);
    assert!(r.streams[0].gaps.is_empty());
    assert!(
        warnings(&r).is_empty(),
        "identical retransmissions are normal: {:?}",
        warnings(&r)
    );
}

#[test]
fn differing_retransmission_first_copy_wins_and_is_noted() {
    let mut c = Conversation::new("10.0.0.1:49152", "10.0.0.2:80").mss(100);
    c.handshake();
    c.send(Dir::C2S, &add_request(0));
    c.send(Dir::S2C, &add_response(0));
    c.fin(Dir::C2S).fin(Dir::S2C);
    let i = c.seg_index_at(Dir::C2S, 250).unwrap();
    // The differing copy arrives right after the original: the original must win.
    c.retransmit_differing(i, i + 1, 0x20);
    let r = analyze(&pcap_of(&c, Link::Ethernet), "pcap").report;
    assert_eq!(r.messages.len(), 2, "{:?}", r.diagnostics);
    assert_exchanges(&r, 0, 1, 0);
    assert!(
        r.diagnostics.iter().any(|d| d.level >= Level::Warning
            && d.message.contains("stream 0 c2s")
            && d.message.contains("at offset 200")
            && d.message.contains("differ")),
        "differing retransmission noted with its position: {:?}",
        r.diagnostics
    );
}

#[test]
fn overlapping_segments_first_copy_wins() {
    let mut c = Conversation::new("10.0.0.1:49152", "10.0.0.2:80").mss(64);
    c.handshake();
    c.send(Dir::C2S, &add_request(0));
    c.send(Dir::S2C, &add_response(0));
    c.fin(Dir::C2S).fin(Dir::S2C);
    // A segment spanning the end of one and the start of the next, inserted early, and one
    // that covers three segments arriving after them; plus a partial overlap carrying
    // different bytes in its overlapping part, after the original.
    let a = c.segment_at(Dir::C2S, 40, 60);
    let b = c.segment_at(Dir::C2S, 128, 200);
    let mut d = c.segment_at(Dir::S2C, 10, 100);
    let last_s2c = c.seg_index_at(Dir::S2C, 100).unwrap();
    c.insert(4, a);
    c.insert(12, b);
    for x in &mut d.payload[..54] {
        *x = b'#';
    }
    c.insert(last_s2c + 3, d);
    let r = analyze(&pcap_of(&c, Link::Ethernet), "pcap").report;
    assert_eq!(r.messages.len(), 2, "{:?}", r.diagnostics);
    assert_exchanges(&r, 0, 1, 0);
    assert!(!r.messages[1].body.as_deref().unwrap().contains('#'));
    assert!(r.streams[0].gaps.is_empty());
}

#[test]
fn keepalives_and_zero_byte_acks_add_no_bytes() {
    let mut c = Conversation::new("10.0.0.1:49152", "10.0.0.2:80");
    c.handshake();
    c.send(Dir::C2S, &add_request(0));
    c.send(Dir::S2C, &add_response(0));
    c.keepalive(Dir::C2S, true)
        .keepalive(Dir::S2C, false)
        .keepalive(Dir::C2S, false);
    c.keepalive(Dir::S2C, true);
    c.send(Dir::C2S, &add_request(1));
    c.keepalive(Dir::C2S, true);
    c.send(Dir::S2C, &add_response(1));
    c.fin(Dir::C2S).fin(Dir::S2C);
    let r = analyze(&pcap_of(&c, Link::Ethernet), "pcap").report;
    assert_eq!(r.messages.len(), 4, "{:?}", r.diagnostics);
    assert_exchanges(&r, 0, 2, 0);
    assert!(r.streams[0].gaps.is_empty());
}

#[test]
fn sequence_number_wrap_around() {
    // Both ISNs a few hundred bytes below 2^32: the streams wrap inside the first message.
    let mut c = Conversation::new("10.0.0.1:49152", "10.0.0.2:80")
        .isns(u32::MAX - 300, u32::MAX - 5)
        .mss(128);
    c.handshake();
    for i in 0..3 {
        c.send(Dir::C2S, &add_request(i));
        c.send(Dir::S2C, &add_response(i));
    }
    c.fin(Dir::C2S).fin(Dir::S2C);
    // Reorder across the wrap point too.
    c.move_seg(5, 8);
    let r = analyze(&pcap_of(&c, Link::Ethernet), "pcap").report;
    assert_eq!(r.messages.len(), 6, "{:?}", r.diagnostics);
    assert_exchanges(&r, 0, 3, 0);
    assert!(r.streams[0].gaps.is_empty());
}

#[test]
fn mid_stream_start_resynchronises_at_the_next_message() {
    let mut c = Conversation::new("10.0.0.1:49152", "10.0.0.2:80").mss(90);
    c.handshake();
    for i in 0..3 {
        c.send(Dir::C2S, &add_request(i));
        c.send(Dir::S2C, &add_response(i));
    }
    c.fin(Dir::C2S).fin(Dir::S2C);
    // The capture starts after the handshake and the first two request segments.
    c.start_mid_stream(2);
    let r = analyze(&pcap_of(&c, Link::Ethernet), "pcap").report;
    // Exchange 0's request lost its first 180 bytes: the parser skips the rest of it,
    // then decodes response 0 (unpaired: its request was never seen) and the two later
    // exchanges, fully and paired.
    let skipped = add_request(0).len() - 180;
    // The diagnostic counts the non-blank bytes skipped.
    let nonblank = add_request(0)[180..]
        .iter()
        .filter(|b| !b" \t\r\n".contains(b))
        .count();
    assert_eq!(r.messages.len(), 5, "{:?}", r.messages);
    let resp0 = &r.messages[0];
    assert_eq!(resp0.direction, MessageDirection::Response);
    assert_eq!(resp0.relates_to.as_deref(), Some("urn:uuid:req-0"));
    assert!(resp0.complete);
    assert_eq!(resp0.paired_with, None);
    assert_exchanges_from(&r, 1, 1, 2, 0);
    // The client is still the right side although no SYN was seen.
    assert_eq!(r.streams[0].client, "10.0.0.1:49152");
    assert_eq!(r.streams[0].server, "10.0.0.2:80");
    assert!(
        has_diag(
            &r,
            &format!("stream 0 c2s: skipped {nonblank} bytes before the first HTTP message at offset {skipped} (capture started mid-stream?)")
        ),
        "{:?}",
        r.diagnostics
    );
}

#[test]
fn a_gap_inside_a_body_makes_that_message_incomplete_and_later_ones_decode() {
    let mut c = Conversation::new("10.0.0.1:49152", "10.0.0.2:80").mss(100);
    c.handshake();
    let r0 = add_request(0);
    for i in 0..3 {
        c.send(Dir::C2S, &add_request(i));
        c.send(Dir::S2C, &add_response(i));
    }
    c.fin(Dir::C2S).fin(Dir::S2C);
    // Lose the request-0 segment holding bytes 200..300 (inside the body).
    let lost = c.seg_index_at(Dir::C2S, 250).unwrap();
    assert!(r0.len() > 300);
    c.drop_segs(&[lost]);
    let r = analyze(&pcap_of(&c, Link::Ethernet), "pcap").report;
    assert_eq!(
        r.streams[0].gaps,
        vec![Gap {
            direction: FlowDirection::ClientToServer,
            offset: 200,
            length: 100
        }]
    );
    let first = &r.messages[0];
    assert_eq!(first.direction, MessageDirection::Request);
    assert!(
        !first.complete,
        "cut request reported incomplete: {first:?}"
    );
    assert!(
        !first.body.as_deref().unwrap_or_default().is_empty(),
        "what was seen is kept"
    );
    // Everything after is decoded: response 0, then exchanges 1 and 2.
    let n = r.messages.len();
    assert_eq!(n, 6, "{:?}", r.messages);
    assert_exchanges_from(&r, 2, 1, 2, 0);
    assert!(r.messages[1].complete);
    assert_eq!(r.messages[1].relates_to.as_deref(), Some("urn:uuid:req-0"));
    assert!(
        first
            .errors
            .iter()
            .any(|e| e.contains("gap of 100 bytes at stream offset 200")),
        "the gap is named with its position: {:?}",
        first.errors
    );
}

#[test]
fn a_gap_at_the_end_of_the_capture_leaves_the_last_message_incomplete() {
    let mut c = Conversation::new("10.0.0.1:49152", "10.0.0.2:80").mss(200);
    c.handshake();
    c.send(Dir::C2S, &add_request(0));
    c.send(Dir::S2C, &add_response(0));
    // The capture ends halfway through the second request.
    let req = add_request(1);
    c.send(Dir::C2S, &req[..req.len() / 2]);
    let r = analyze(&pcap_of(&c, Link::Ethernet), "pcap").report;
    assert_exchanges(&r, 0, 1, 0);
    assert_eq!(r.messages.len(), 3, "{:?}", r.messages);
    assert!(!r.messages[2].complete);
    assert_eq!(r.messages[2].direction, MessageDirection::Request);
}

#[test]
fn pipelined_requests_pair_in_order() {
    let mut c = Conversation::new("10.0.0.1:49152", "10.0.0.2:80").mss(300);
    c.handshake();
    let mut reqs = Vec::new();
    let mut resps = Vec::new();
    for i in 0..3 {
        reqs.extend(add_request(i));
        resps.extend(add_response(i));
    }
    // All three requests in one burst (and segments straddle message boundaries), then all
    // three responses.
    c.send(Dir::C2S, &reqs);
    c.send(Dir::S2C, &resps);
    c.fin(Dir::C2S).fin(Dir::S2C);
    let r = analyze(&pcap_of(&c, Link::Ethernet), "pcap").report;
    assert_eq!(r.messages.len(), 6, "{:?}", r.diagnostics);
    let reqs: Vec<_> = r
        .messages
        .iter()
        .filter(|m| m.direction == MessageDirection::Request)
        .collect();
    let resps: Vec<_> = r
        .messages
        .iter()
        .filter(|m| m.direction == MessageDirection::Response)
        .collect();
    assert_eq!(reqs.len(), 3);
    for (i, (q, p)) in reqs.iter().zip(&resps).enumerate() {
        assert_eq!(
            q.message_id.as_deref(),
            Some(format!("urn:uuid:req-{i}").as_str())
        );
        assert_eq!(
            p.relates_to.as_deref(),
            Some(format!("urn:uuid:req-{i}").as_str())
        );
        assert_eq!(q.paired_with, Some(p.index));
        assert_eq!(p.paired_with, Some(q.index));
        assert!(q.complete && p.complete);
    }
}

#[test]
fn pipelined_requests_without_addressing_pair_by_order() {
    let mut c = Conversation::new("10.0.0.1:49152", "10.0.0.2:80").mss(300);
    c.handshake();
    let mut reqs = Vec::new();
    let mut resps = Vec::new();
    for i in 0..3 {
        let env = envelope(S11, None, &add_body(i));
        reqs.extend(http_request(
            "/calc",
            &[
                ("Content-Type", "text/xml; charset=utf-8"),
                ("SOAPAction", &format!("\"{ADD_ACTION}\"")),
            ],
            env.as_bytes(),
        ));
        let env = envelope(S11, None, &add_result(i));
        resps.extend(http_response(
            200,
            &[("Content-Type", "text/xml; charset=utf-8")],
            env.as_bytes(),
        ));
    }
    c.send(Dir::C2S, &reqs);
    c.send(Dir::S2C, &resps);
    c.fin(Dir::C2S).fin(Dir::S2C);
    let r = analyze(&pcap_of(&c, Link::Ethernet), "pcap").report;
    assert_eq!(r.messages.len(), 6, "{:?}", r.diagnostics);
    let q: Vec<_> = r
        .messages
        .iter()
        .filter(|m| m.direction == MessageDirection::Request)
        .collect();
    let p: Vec<_> = r
        .messages
        .iter()
        .filter(|m| m.direction == MessageDirection::Response)
        .collect();
    for i in 0..3 {
        assert_eq!(q[i].paired_with, Some(p[i].index), "request {i}");
        assert!(q[i]
            .body
            .as_deref()
            .unwrap()
            .contains(&format!("<a>{i}</a>")));
        assert!(p[i]
            .body
            .as_deref()
            .unwrap()
            .contains(&format!("<AddResult>{}</AddResult>", i + 2)));
        assert_eq!(
            q[i].action.as_deref(),
            Some(ADD_ACTION),
            "SOAPAction fallback"
        );
    }
}

/// `data` compressed by an independent tool: `gzip -c` or python's zlib (deflate = zlib
/// format, RFC 1950, as HTTP's "deflate" means).
fn compress(data: &[u8], how: &str) -> Option<Vec<u8>> {
    let mut cmd = match how {
        "gzip" => Command::new("gzip"),
        _ => {
            let mut c = Command::new("python3");
            c.args([
                "-c",
                "import sys,zlib; sys.stdout.buffer.write(zlib.compress(sys.stdin.buffer.read()))",
            ]);
            c
        }
    };
    if how == "gzip" {
        cmd.args(["-c", "-n"]);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    use std::io::Write;
    child.stdin.take()?.write_all(data).ok()?;
    let out = child.wait_with_output().ok()?;
    out.status.success().then_some(out.stdout)
}

#[test]
fn chunked_with_trailers_gzip_deflate_and_100_continue() {
    let req_env = envelope(
        S12,
        Some((WSA10, &req_headers(ADD_ACTION, "urn:uuid:req-0"))),
        &add_body(0),
    );
    let resp_env = envelope(
        S12,
        Some((WSA10, &resp_headers(ADD_REPLY, "urn:uuid:req-0"))),
        &add_result(0),
    );
    let ct = "application/soap+xml; charset=utf-8";
    let mut cases: Vec<(&str, Vec<u8>, Vec<u8>)> = Vec::new();
    // Chunked request body with trailers, chunked response.
    let mut q = format!("POST /calc HTTP/1.1\r\nHost: h\r\nContent-Type: {ct}\r\nTransfer-Encoding: chunked\r\n\r\n").into_bytes();
    q.extend(chunked(
        req_env.as_bytes(),
        50,
        &[("X-Checksum", "abc"), ("X-Other", "1")],
    ));
    let mut p =
        format!("HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nTransfer-Encoding: chunked\r\n\r\n")
            .into_bytes();
    p.extend(chunked(resp_env.as_bytes(), 7, &[]));
    cases.push(("chunked", q, p));
    // Expect: 100-continue, interim response, then the body and the final response.
    let mut q = format!(
        "POST /calc HTTP/1.1\r\nHost: h\r\nContent-Type: {ct}\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        req_env.len()
    )
    .into_bytes();
    q.extend(req_env.as_bytes());
    let mut p = b"HTTP/1.1 100 Continue\r\n\r\n".to_vec();
    p.extend(http_response(
        200,
        &[("Content-Type", ct)],
        resp_env.as_bytes(),
    ));
    cases.push(("100-continue", q, p));
    for how in ["gzip", "deflate"] {
        let Some(z) = compress(resp_env.as_bytes(), how) else {
            println!("no {how} compressor available: case skipped");
            continue;
        };
        let q = http_request(
            "/calc",
            &[("Content-Type", ct), ("Accept-Encoding", "gzip, deflate")],
            req_env.as_bytes(),
        );
        let p = http_response(200, &[("Content-Type", ct), ("Content-Encoding", how)], &z);
        cases.push((how, q, p.clone()));
        // Compressed and chunked at once.
        let mut pc = format!("HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nContent-Encoding: {how}\r\nTransfer-Encoding: chunked\r\n\r\n").into_bytes();
        pc.extend(chunked(&z, 16, &[("X-T", "v")]));
        cases.push((
            if how == "gzip" {
                "gzip+chunked"
            } else {
                "deflate+chunked"
            },
            http_request("/calc", &[("Content-Type", ct)], req_env.as_bytes()),
            pc,
        ));
    }
    for (name, q, p) in cases {
        let mut c = Conversation::new("10.0.0.1:49152", "10.0.0.2:80").mss(61);
        c.handshake();
        if name == "100-continue" {
            // Headers, interim response, body, final response.
            let head_end = q.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
            c.send(Dir::C2S, &q[..head_end]);
            c.send(Dir::S2C, b"HTTP/1.1 100 Continue\r\n\r\n");
            c.send(Dir::C2S, &q[head_end..]);
            c.send(Dir::S2C, &p[25..]);
        } else {
            c.send(Dir::C2S, &q);
            c.send(Dir::S2C, &p);
        }
        // A second plain exchange after it on the same connection.
        c.send(Dir::C2S, &add_request(1));
        c.send(Dir::S2C, &add_response(1));
        c.fin(Dir::C2S).fin(Dir::S2C);
        let r = analyze(&pcap_of(&c, Link::Ethernet), "pcap").report;
        assert_eq!(
            r.messages.len(),
            4,
            "{name}: {:?} {:?}",
            r.messages,
            r.diagnostics
        );
        assert_exchanges(&r, 0, 2, 0);
        assert!(warnings(&r).is_empty(), "{name}: {:?}", warnings(&r));
    }
}

#[test]
fn http_on_a_non_standard_port_is_detected_from_the_bytes() {
    for port in [8731u16, 443, 5, 65535] {
        let c = exchanges("10.0.0.1:49152", &format!("10.0.0.2:{port}"), 2, 1460);
        let r = analyze(&pcap_of(&c, Link::Ethernet), "pcap").report;
        assert_eq!(r.messages.len(), 4, "port {port}: {:?}", r.diagnostics);
        assert_exchanges(&r, 0, 2, 0);
        assert_eq!(r.streams[0].transport, TransportKind::Http);
        assert_eq!(r.streams[0].server, format!("10.0.0.2:{port}"));
    }
}

#[test]
fn soap_versions_action_fallbacks_addressing_versions_and_faults() {
    let fault11 = "<s:Fault><faultcode>s:Client</faultcode><faultstring xml:lang=\"en-US\">Bad input</faultstring></s:Fault>";
    let fault12 = "<s:Fault><s:Code><s:Value>s:Sender</s:Value></s:Code><s:Reason><s:Text xml:lang=\"en-US\">Bad input</s:Text></s:Reason></s:Fault>";
    let mut c = Conversation::new("10.0.0.1:49152", "10.0.0.2:80");
    c.handshake();
    // 1. SOAP 1.1, SOAPAction header only, no addressing; answered by a SOAP 1.1 fault.
    c.send(
        Dir::C2S,
        &http_request(
            "/calc",
            &[
                ("Content-Type", "text/xml; charset=utf-8"),
                ("SOAPAction", "\"http://tempuri.org/ICalculator/Divide\""),
            ],
            envelope(
                S11,
                None,
                "<Divide xmlns=\"http://tempuri.org/\"><a>1</a><b>0</b></Divide>",
            )
            .as_bytes(),
        ),
    );
    c.send(
        Dir::S2C,
        &http_response(
            500,
            &[("Content-Type", "text/xml; charset=utf-8")],
            envelope(S11, None, fault11).as_bytes(),
        ),
    );
    // 2. SOAP 1.2, action media-type parameter only; answered by a SOAP 1.2 fault with 2004/08 addressing.
    c.send(
        Dir::C2S,
        &http_request(
            "/calc",
            &[("Content-Type", "application/soap+xml; charset=utf-8; action=\"http://tempuri.org/ICalculator/Sub\"")],
            envelope(S12, None, "<Sub xmlns=\"http://tempuri.org/\"/>").as_bytes(),
        ),
    );
    c.send(
        Dir::S2C,
        &http_response(
            500,
            &[("Content-Type", "application/soap+xml; charset=utf-8")],
            envelope(
                S12,
                Some((
                    WSA04,
                    "<a:Action>http://schemas.xmlsoap.org/ws/2004/08/addressing/fault</a:Action>",
                )),
                fault12,
            )
            .as_bytes(),
        ),
    );
    // 3. WS-Addressing 2004/08 request and response with MessageID/RelatesTo/To.
    let hdr = "<a:Action>urn:test/Mul</a:Action><a:MessageID>uuid:m-3</a:MessageID><a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo><a:To>http://service.test/x</a:To>";
    c.send(
        Dir::C2S,
        &http_request(
            "/x",
            &[("Content-Type", "application/soap+xml")],
            envelope(S12, Some((WSA04, hdr)), "<Mul xmlns=\"urn:test\"/>").as_bytes(),
        ),
    );
    c.send(
        Dir::S2C,
        &http_response(
            200,
            &[("Content-Type", "application/soap+xml")],
            envelope(
                S12,
                Some((
                    WSA04,
                    "<a:Action>urn:test/MulResponse</a:Action><a:RelatesTo>uuid:m-3</a:RelatesTo>",
                )),
                "<MulResponse xmlns=\"urn:test\"/>",
            )
            .as_bytes(),
        ),
    );
    // 4. wsa:Action wins over a different SOAPAction.
    c.send(
        Dir::C2S,
        &http_request(
            "/x",
            &[
                ("Content-Type", "text/xml"),
                ("SOAPAction", "\"urn:other\""),
            ],
            envelope(
                S11,
                Some((WSA10, "<a:Action>urn:test/Real</a:Action>")),
                "<Real xmlns=\"urn:test\"/>",
            )
            .as_bytes(),
        ),
    );
    c.fin(Dir::C2S).fin(Dir::S2C);
    let r = analyze(&pcap_of(&c, Link::Ethernet), "pcap").report;
    let m = &r.messages;
    assert_eq!(m.len(), 7, "{:?}", r.diagnostics);
    assert_eq!(m[0].soap_version, Some(SoapVersion::Soap11));
    assert_eq!(
        m[0].action.as_deref(),
        Some("http://tempuri.org/ICalculator/Divide")
    );
    assert_eq!(m[0].kind, MessageKind::Application);
    assert_eq!(m[1].kind, MessageKind::Fault);
    assert_eq!(m[1].soap_version, Some(SoapVersion::Soap11));
    assert_eq!(m[1].http.as_ref().unwrap().status, Some(500));
    assert_eq!((m[0].paired_with, m[1].paired_with), (Some(1), Some(0)));
    assert_eq!(m[2].soap_version, Some(SoapVersion::Soap12));
    assert_eq!(
        m[2].action.as_deref(),
        Some("http://tempuri.org/ICalculator/Sub")
    );
    assert_eq!(m[3].kind, MessageKind::Fault);
    assert_eq!(m[3].soap_version, Some(SoapVersion::Soap12));
    assert_eq!((m[2].paired_with, m[3].paired_with), (Some(3), Some(2)));
    assert_eq!(m[4].action.as_deref(), Some("urn:test/Mul"));
    assert_eq!(m[4].message_id.as_deref(), Some("uuid:m-3"));
    assert_eq!(m[4].to.as_deref(), Some("http://service.test/x"));
    assert_eq!(m[5].relates_to.as_deref(), Some("uuid:m-3"));
    assert_eq!(m[5].kind, MessageKind::Application);
    assert_eq!((m[4].paired_with, m[5].paired_with), (Some(5), Some(4)));
    assert_eq!(m[6].action.as_deref(), Some("urn:test/Real"));
    assert_eq!(m[6].paired_with, None);
}

#[test]
fn message_kinds_for_every_trust_and_secure_conversation_action() {
    let feb = "http://schemas.xmlsoap.org/ws/2005/02/trust/";
    let v13 = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/";
    let table = [
        ("RST/SCT", MessageKind::SctIssue),
        ("RSTR/SCT", MessageKind::SctIssueResponse),
        ("RST/SCT/Cancel", MessageKind::SctCancel),
        ("RSTR/SCT/Cancel", MessageKind::SctCancelResponse),
        ("RST/SCT/Renew", MessageKind::SctRenew),
        ("RSTR/SCT/Renew", MessageKind::SctRenewResponse),
        ("RST/SCT/Amend", MessageKind::SctAmend),
        ("RSTR/SCT/Amend", MessageKind::SctAmendResponse),
        ("RST/Issue", MessageKind::Negotiation),
        ("RSTR/Issue", MessageKind::Negotiation),
    ];
    for base in [feb, v13] {
        let mut actions: Vec<(String, MessageKind)> = table
            .iter()
            .map(|(t, k)| (format!("{base}{t}"), *k))
            .collect();
        if base == v13 {
            actions.push((format!("{base}RSTRC/IssueFinal"), MessageKind::Negotiation));
        }
        let mut c = Conversation::new("10.0.0.1:49152", "10.0.0.2:80");
        c.handshake();
        for (i, (action, _)) in actions.iter().enumerate() {
            let hdr = req_headers(action, &format!("urn:uuid:k-{i}"));
            let body = format!("<t:RequestSecurityToken xmlns:t=\"{}\"><t:Context>c{i}</t:Context></t:RequestSecurityToken>", base.trim_end_matches('/'));
            let env = envelope(S12, Some((WSA10, &hdr)), &body);
            let dir = if action.contains("/RSTR") {
                Dir::S2C
            } else {
                Dir::C2S
            };
            let bytes = if dir == Dir::C2S {
                http_request(
                    "/sc",
                    &[("Content-Type", "application/soap+xml")],
                    env.as_bytes(),
                )
            } else {
                http_response(
                    200,
                    &[("Content-Type", "application/soap+xml")],
                    env.as_bytes(),
                )
            };
            c.send(dir, &bytes);
        }
        c.fin(Dir::C2S).fin(Dir::S2C);
        let r = analyze(&pcap_of(&c, Link::Ethernet), "pcap").report;
        assert_eq!(r.messages.len(), actions.len(), "{:?}", r.diagnostics);
        for (m, (action, kind)) in r.messages.iter().zip(&actions) {
            assert_eq!(m.action.as_deref(), Some(action.as_str()));
            assert_eq!(m.kind, *kind, "{action}");
        }
    }
}

#[test]
fn non_soap_body_invalid_xml_and_a_binary_stream_get_diagnostics_and_the_rest_decodes() {
    let mut c = Conversation::new("10.0.0.1:49152", "10.0.0.2:80");
    c.handshake();
    c.send(Dir::C2S, b"GET /index.html HTTP/1.1\r\nHost: h\r\n\r\n");
    c.send(
        Dir::S2C,
        &http_response(
            200,
            &[("Content-Type", "text/html")],
            b"<html><body>hello</body></html>",
        ),
    );
    // Declared SOAP, but the XML is broken.
    c.send(
        Dir::C2S,
        &http_request("/calc", &[("Content-Type", "application/soap+xml")], b"<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body><Add></s:Body>"),
    );
    c.send(
        Dir::S2C,
        &http_response(400, &[("Content-Type", "text/plain")], b"bad request"),
    );
    c.send(Dir::C2S, &add_request(0));
    c.send(Dir::S2C, &add_response(0));
    c.fin(Dir::C2S).fin(Dir::S2C);
    // A TLS-looking binary stream on port 443 and a raw binary protocol on another port.
    let mut tls = Conversation::new("10.0.0.1:49153", "10.0.0.2:443");
    tls.handshake();
    let mut hello = vec![
        0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4, 0x03, 0x03,
    ];
    hello.extend((0..200u32).map(|i| (i * 7) as u8));
    tls.send(Dir::C2S, &hello);
    tls.send(
        Dir::S2C,
        &[
            0x16, 0x03, 0x03, 0x00, 0x10, 0x02, 0, 0, 0x0c, 3, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0,
        ],
    );
    tls.fin(Dir::C2S).fin(Dir::S2C);
    let mut bin = Conversation::new("10.0.0.1:49154", "10.0.0.2:9000");
    bin.handshake();
    bin.send(
        Dir::C2S,
        &(0..600u32)
            .map(|i| (i * 131 % 251) as u8)
            .collect::<Vec<_>>(),
    );
    bin.fin(Dir::C2S);
    let mut fr = frames(&tls, Link::Ethernet, 0, T0, 1_000, None);
    fr.extend(frames(
        &c,
        Link::Ethernet,
        0,
        T0 + 1_000_000_000,
        1_000,
        None,
    ));
    fr.extend(frames(
        &bin,
        Link::Ethernet,
        0,
        T0 + 2_000_000_000,
        1_000,
        None,
    ));
    let r = analyze(&pcap(Link::Ethernet, PcapFormat::default(), &fr), "pcap").report;
    assert_eq!(r.streams.len(), 3, "{:?}", r.streams);
    assert_eq!(r.streams[0].transport, TransportKind::Unknown, "TLS stream");
    assert_eq!(r.streams[1].transport, TransportKind::Http);
    assert_eq!(
        r.streams[2].transport,
        TransportKind::Unknown,
        "binary stream"
    );
    // The Add exchange is decoded and paired.
    let add: Vec<_> = r
        .messages
        .iter()
        .filter(|m| m.action.as_deref() == Some(ADD_ACTION))
        .collect();
    assert_eq!(add.len(), 1, "{:?}", r.messages);
    let q = add[0];
    let p = &r.messages[q.paired_with.expect("Add paired")];
    assert_eq!(p.action.as_deref(), Some(ADD_REPLY));
    // The invalid XML message is reported with the parser's position and reason, and
    // kept (declared SOAP) without an action.
    let bad: Vec<_> = r.messages.iter().filter(|m| !m.errors.is_empty()).collect();
    assert_eq!(bad.len(), 1, "{:?}", r.messages);
    assert_eq!(bad[0].direction, MessageDirection::Request);
    assert!(
        bad[0].errors.iter().any(|e| e.starts_with("invalid XML")
            && e.contains("byte 75")
            && e.contains("mismatched end tag")),
        "{:?}",
        bad[0].errors
    );
    // Non-SOAP bodies and binary streams are named, with what they were.
    for needle in [
        "stream 0: not HTTP (TLS",
        "stream 1: HTTP response 200: body skipped: not a SOAP envelope: the root element is html",
        "stream 1: HTTP response 400: body is not SOAP/XML (text/plain, 11 bytes)",
        "stream 2: not HTTP (binary data",
    ] {
        assert!(has_diag(&r, needle), "{needle}: {:?}", r.diagnostics);
    }
    // The GET and the HTML page are not messages.
    assert_eq!(r.messages.len(), 3, "{:?}", r.messages);
}

#[test]
fn truncated_file_and_corrupt_record_in_the_middle_keep_the_rest() {
    let c1 = exchanges("10.0.0.1:49152", "10.0.0.2:80", 2, 1460);
    let c2 = exchanges("10.0.0.3:49153", "10.0.0.4:80", 2, 1460);
    let f1 = frames(&c1, Link::Ethernet, 0, T0, 1_000, None);
    let f2 = frames(&c2, Link::Ethernet, 0, T0 + 1_000_000, 1_000, None);
    let good1 = pcap(Link::Ethernet, PcapFormat::default(), &f1);
    let all: Vec<Frame> = f1.iter().chain(&f2).cloned().collect();
    let whole = pcap(Link::Ethernet, PcapFormat::default(), &all);
    let diag = |r: &Report, parts: &[String]| {
        assert!(
            r.diagnostics.iter().any(|d| d.level >= Level::Warning
                && parts.iter().all(|p| d.message.contains(p.as_str()))),
            "{parts:?}: {:?}",
            r.diagnostics
        )
    };
    // Truncated in the middle of the last record (a FIN-ACK): everything decodes.
    let cut = &whole[..whole.len() - 10];
    let r = analyze(cut, "pcap").report;
    assert_eq!(r.messages.len(), 8);
    assert_exchanges(&r, 0, 2, 0);
    assert_exchanges(&r, 4, 2, 1);
    diag(
        &r,
        &[
            format!("pcap file truncated at byte {}", cut.len()),
            "packets before it were read".into(),
        ],
    );

    // A corrupt record header (huge lengths) where the second conversation starts: that
    // record (its SYN) is skipped, the reader resynchronises at the next one, and the
    // second conversation is analysed.
    let mut bad = whole.clone();
    let at = good1.len();
    bad[at + 8..at + 16].copy_from_slice(&[0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x7f]);
    let r = analyze(&bad, "pcap").report;
    diag(
        &r,
        &[
            format!("pcap record at byte {at}: captured length 2147483647 exceeds the snaplen"),
            "next plausible record".into(),
        ],
    );
    assert_eq!(r.messages.len(), 8, "{:?}", r.messages);
    assert_exchanges(&r, 0, 2, 0);
    assert_exchanges(&r, 4, 2, 1);

    // pcapng: a block with an absurd length in the middle, then more blocks.
    let ifaces = [Iface::new(Link::Ethernet)];
    let ng1 = pcapng(&ifaces, &f1, PacketBlock::Enhanced, false);
    let ng = pcapng(&ifaces, &all, PacketBlock::Enhanced, false);
    let mut bad = ng.clone();
    let at = ng1.len();
    bad[at + 4..at + 8].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
    let r = analyze(&bad, "pcapng").report;
    diag(
        &r,
        &[
            format!("pcapng block at byte {at}: EPB"),
            "next plausible block".into(),
        ],
    );
    assert_eq!(r.messages.len(), 8, "{:?}", r.messages);
    assert_exchanges(&r, 0, 2, 0);
    assert_exchanges(&r, 4, 2, 1);

    // Truncated pcapng.
    let cut = &ng[..ng.len() - 7];
    let r = analyze(cut, "pcapng").report;
    assert_exchanges(&r, 0, 2, 0);
    assert_exchanges(&r, 4, 2, 1);
    diag(
        &r,
        &[format!("pcapng file truncated at byte {}", cut.len())],
    );
}

#[test]
fn rst_closes_and_a_new_connection_on_the_same_ports_is_a_new_stream() {
    let mut c = Conversation::new("10.0.0.1:49152", "10.0.0.2:80");
    c.handshake();
    c.send(Dir::C2S, &add_request(0));
    c.send(Dir::S2C, &add_response(0));
    c.rst(Dir::S2C);
    let mut d = Conversation::new("10.0.0.1:49152", "10.0.0.2:80").isns(900_000, 7_000_000);
    d.handshake();
    d.send(Dir::C2S, &add_request(1));
    d.send(Dir::S2C, &add_response(1));
    d.fin(Dir::C2S).fin(Dir::S2C);
    let mut fr = frames(&c, Link::Ethernet, 0, T0, 1_000, None);
    fr.extend(frames(&d, Link::Ethernet, 0, T0 + 1_000_000, 1_000, None));
    let r = analyze(&pcap(Link::Ethernet, PcapFormat::default(), &fr), "pcap").report;
    assert_eq!(r.messages.len(), 4, "{:?}", r.diagnostics);
    assert_eq!(r.streams.len(), 2, "{:?}", r.streams);
    assert_eq!(r.messages[0].stream, Some(0));
    assert_eq!(r.messages[2].stream, Some(1));
    assert_eq!(r.messages[2].message_id.as_deref(), Some("urn:uuid:req-1"));
    assert_eq!(r.messages[2].paired_with, Some(3));
}

#[test]
fn null_loopback_in_a_big_endian_file_with_little_endian_family() {
    // LINKTYPE_NULL's family is in the capturing host's order, which need not be the file's.
    let c = exchanges("10.0.0.1:49152", "10.0.0.2:80", 1, 1460);
    let fr = frames(&c, Link::Null, 0, T0, 1_000, None);
    let fmt = PcapFormat {
        big_endian: true,
        ..PcapFormat::default()
    };
    let r = analyze(&pcap(Link::Null, fmt, &fr), "pcap").report;
    assert_eq!(r.messages.len(), 2, "{:?}", r.diagnostics);
    assert_exchanges(&r, 0, 1, 0);
}

#[test]
fn zero_window_probe_then_the_same_byte_again() {
    let mut c = Conversation::new("10.0.0.1:49152", "10.0.0.2:80").mss(100);
    c.handshake();
    c.send(Dir::C2S, &add_request(0));
    c.send(Dir::S2C, &add_response(0));
    c.fin(Dir::C2S).fin(Dir::S2C);
    // Before the segment at offset 300: the server advertises a zero window, the client
    // probes with the next byte, the server acknowledges nothing new (window still 0),
    // then the data flows again from that very byte.
    let k = c.seg_index_at(Dir::C2S, 300).unwrap();
    let ack_before = Seg {
        dir: Dir::S2C,
        seq: c.seq_at(Dir::S2C, 0),
        ack: c.seq_at(Dir::C2S, 300),
        flags: ACK,
        window: 0,
        payload: vec![],
    };
    let probe = c.segment_at(Dir::C2S, 300, 1);
    c.insert(k, ack_before.clone());
    c.insert(k + 1, probe.clone());
    c.insert(k + 2, ack_before.clone());
    c.insert(k + 3, probe);
    c.insert(k + 4, ack_before);
    let r = analyze(&pcap_of(&c, Link::Ethernet), "pcap").report;
    assert_eq!(r.messages.len(), 2, "{:?}", r.diagnostics);
    assert_exchanges(&r, 0, 1, 0);
    assert!(r.streams[0].gaps.is_empty());
    assert!(warnings(&r).is_empty(), "{:?}", warnings(&r));
}

#[test]
fn an_ack_seen_just_before_the_data_it_acknowledges() {
    // Captures merged from several queues can show the peer's ACK a packet or two before
    // the data it acknowledges; that is no loss.
    let mut c = Conversation::new("10.0.0.1:49152", "10.0.0.2:80").mss(200);
    c.handshake();
    c.send(Dir::C2S, &add_request(0));
    c.ack(Dir::S2C);
    c.send(Dir::S2C, &add_response(0));
    c.ack(Dir::C2S);
    c.send(Dir::C2S, &add_request(1));
    c.ack(Dir::S2C);
    c.send(Dir::S2C, &add_response(1));
    c.fin(Dir::C2S).fin(Dir::S2C);
    // Move each pure ACK of the server two places earlier (before the last two data
    // segments of the request it acknowledges).
    let acks: Vec<usize> = (0..c.segs.len())
        .filter(|&i| {
            c.segs[i].dir == Dir::S2C && c.segs[i].payload.is_empty() && c.segs[i].flags == ACK
        })
        .collect();
    for i in acks {
        c.move_seg(i, i - 2);
    }
    let r = analyze(&pcap_of(&c, Link::Ethernet), "pcap").report;
    assert_eq!(r.messages.len(), 4, "{:?}", r.diagnostics);
    assert_exchanges(&r, 0, 2, 0);
    assert!(r.streams[0].gaps.is_empty(), "{:?}", r.streams[0].gaps);
}

#[test]
fn frames_cut_by_the_snaplen_leave_gaps_not_garbage() {
    let mut c = Conversation::new("10.0.0.1:49152", "10.0.0.2:80").mss(1000);
    c.handshake();
    c.send(Dir::C2S, &add_request(0));
    c.send(Dir::S2C, &add_response(0));
    c.send(Dir::C2S, &add_request(1));
    c.send(Dir::S2C, &add_response(1));
    c.fin(Dir::C2S).fin(Dir::S2C);
    // A 200-byte snaplen: every data frame loses its tail.
    let fmt = PcapFormat {
        snaplen: 200,
        ..PcapFormat::default()
    };
    let r = analyze(
        &pcap(
            Link::Ethernet,
            fmt,
            &frames(&c, Link::Ethernet, 0, T0, 1_000, None),
        ),
        "pcap",
    )
    .report;
    // 54 bytes of Ethernet/IP/TCP headers: each frame keeps 146 payload bytes.
    let (q, p) = (add_request(0).len() as u64, add_response(0).len() as u64);
    assert_eq!(add_request(1).len() as u64, q);
    let gap = |direction, offset, length| Gap {
        direction,
        offset,
        length,
    };
    use FlowDirection::{ClientToServer as C2S, ServerToClient as S2C};
    assert_eq!(
        r.streams[0].gaps,
        vec![
            gap(C2S, 146, q - 146),
            gap(C2S, q + 146, q - 146),
            gap(S2C, 146, p - 146),
            gap(S2C, p + 146, p - 146),
        ]
    );
    // All four messages are found (resynchronised after each gap), none complete, each
    // naming its gap.
    assert_eq!(r.messages.len(), 4, "{:?}", r.messages);
    let expect = [
        (MessageDirection::Request, q - 146, 146),
        (MessageDirection::Request, q - 146, q + 146),
        (MessageDirection::Response, p - 146, 146),
        (MessageDirection::Response, p - 146, p + 146),
    ];
    for (m, (dir, len, off)) in r.messages.iter().zip(expect) {
        assert_eq!(m.direction, dir);
        assert!(!m.complete);
        let needle = format!("body cut by a gap of {len} bytes at stream offset {off}");
        assert!(
            m.errors.iter().any(|e| e == &needle),
            "{needle}: {:?}",
            m.errors
        );
    }
}

#[test]
fn an_xml_file_is_a_one_message_capture() {
    let env = envelope(
        S12,
        Some((WSA10, &req_headers(ADD_ACTION, "urn:uuid:req-0"))),
        &add_body(0),
    );
    let a = analyze(env.as_bytes(), "xml");
    let r = &a.report;
    assert_eq!(r.capture.format, CaptureFormat::Xml);
    assert_eq!(r.messages.len(), 1);
    let m = &r.messages[0];
    assert_eq!(m.action.as_deref(), Some(ADD_ACTION));
    assert_eq!(m.message_id.as_deref(), Some("urn:uuid:req-0"));
    assert_eq!(m.soap_version, Some(SoapVersion::Soap12));
    assert!(m.stream.is_none() && m.http.is_none());
}

#[test]
fn pcapng_packet_comments_are_kept() {
    use wcfscope_core::capture::{FileSource, SourceEvent};
    let c = exchanges("10.0.0.1:49152", "10.0.0.2:80", 1, 1460);
    let mut fr = frames(&c, Link::Ethernet, 0, T0, 1_000, None);
    fr[0].comment = Some("the SYN".into());
    fr[3].comment = Some("request: ünïcode".into());
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.pcapng");
    std::fs::write(
        &p,
        pcapng(
            &[Iface::new(Link::Ethernet)],
            &fr,
            PacketBlock::Enhanced,
            false,
        ),
    )
    .unwrap();
    let comments: Vec<(u64, Vec<String>)> = FileSource::open(&p)
        .unwrap()
        .filter_map(|e| match e {
            SourceEvent::Packet(p) if !p.comments.is_empty() => Some((p.number, p.comments)),
            _ => None,
        })
        .collect();
    assert_eq!(
        comments,
        vec![
            (1, vec!["the SYN".to_string()]),
            (4, vec!["request: ünïcode".to_string()])
        ]
    );
}

#[test]
fn a_decompression_bomb_is_bounded_and_named() {
    // 100 MiB of zeros, gzip-compressed by python (about 100 KB on the wire).
    let out = Command::new("python3")
        .args([
            "-c",
            "import gzip,sys; sys.stdout.buffer.write(gzip.compress(bytes(100 << 20), 9))",
        ])
        .output();
    let Ok(out) =
        out.map(|o| o.stdout)
            .map_err(|_| ())
            .and_then(|b| if b.is_empty() { Err(()) } else { Ok(b) })
    else {
        println!("python3 not available: decompression bomb test skipped");
        return;
    };
    let mut c = Conversation::new("10.0.0.1:49152", "10.0.0.2:80");
    c.handshake();
    c.send(Dir::C2S, &add_request(0));
    c.send(
        Dir::S2C,
        &http_response(
            200,
            &[
                ("Content-Type", "application/soap+xml"),
                ("Content-Encoding", "gzip"),
            ],
            &out,
        ),
    );
    c.send(Dir::C2S, &add_request(1));
    c.send(Dir::S2C, &add_response(1));
    c.fin(Dir::C2S).fin(Dir::S2C);
    let r = analyze(&pcap_of(&c, Link::Ethernet), "pcap").report;
    assert_eq!(r.messages.len(), 4, "{:?}", r.diagnostics);
    let bomb = &r.messages[1];
    assert_eq!(bomb.direction, MessageDirection::Response);
    assert!(
        bomb.errors.iter().any(|e| e.starts_with("gzip body")
            && e.contains("cap")
            && e.contains("kept compressed")),
        "{:?}",
        bomb.errors
    );
    assert_exchanges_from(&r, 2, 1, 1, 0);
}

#[test]
fn duplicated_and_interleaved_ipv4_fragments() {
    // Every datagram's fragments sent twice, the second copy interleaved with the next
    // datagram's fragments (a fragment train retransmitted by a lossy link).
    let c = exchanges("10.0.0.1:49152", "10.0.0.2:80", 2, 1460);
    let mut fr = Vec::new();
    let mut previous: Vec<Vec<u8>> = Vec::new();
    for (i, s) in c.segs.iter().enumerate() {
        let (src, dst) = if s.dir == Dir::C2S {
            (c.client, c.server)
        } else {
            (c.server, c.client)
        };
        let ips = ip_packets(
            src.ip(),
            dst.ip(),
            i as u16 + 1,
            &tcp_bytes(src, dst, s),
            Some(120),
        );
        let ts = T0 + i as i64 * 1000;
        let mut k = 0;
        for ip in &ips {
            fr.push(Frame {
                ts_ns: ts,
                iface: 0,
                data: Link::Ethernet.wrap(ip),
                comment: None,
            });
            if let Some(old) = previous.get(k) {
                fr.push(Frame {
                    ts_ns: ts,
                    iface: 0,
                    data: Link::Ethernet.wrap(old),
                    comment: None,
                });
            }
            k += 1;
        }
        for old in previous.iter().skip(k) {
            fr.push(Frame {
                ts_ns: ts,
                iface: 0,
                data: Link::Ethernet.wrap(old),
                comment: None,
            });
        }
        previous = ips;
    }
    let r = analyze(&pcap(Link::Ethernet, PcapFormat::default(), &fr), "pcap").report;
    assert_eq!(r.messages.len(), 4, "{:?}", r.diagnostics);
    assert_exchanges(&r, 0, 2, 0);
    assert!(r.streams[0].gaps.is_empty());
}

/// Each message's raw body (kept for the GUI's detail view) is exactly the HTTP body on
/// the wire, whether the parser took the bytes over (plain UTF-8), decoded a copy (byte
/// order mark, UTF-16) or failed (invalid UTF-8, malformed XML), on one thread or several.
#[test]
fn raw_bodies_are_the_wire_bodies_for_every_encoding_and_failure() {
    let env = envelope(
        S12,
        Some((WSA10, &req_headers(ADD_ACTION, "urn:uuid:raw"))),
        &add_body(5),
    );
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend(env.as_bytes());
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in env.encode_utf16() {
        utf16.extend(unit.to_le_bytes());
    }
    let mut bad_utf8 = env.clone().into_bytes();
    let at = bad_utf8.len() / 2;
    bad_utf8[at] = 0xFE;
    let bodies: Vec<Vec<u8>> = vec![
        env.clone().into_bytes(),
        bom,
        utf16,
        bad_utf8,
        env.replace("</a>", "</b>").into_bytes(),
    ];
    let mut c = Conversation::new("10.1.0.1:50123", "10.1.0.2:80").mss(700);
    c.handshake();
    for body in &bodies {
        let req = http_request(
            "/calc",
            &[("Content-Type", "application/soap+xml; charset=utf-8")],
            body,
        );
        c.send(Dir::C2S, &req);
        c.ack(Dir::S2C);
    }
    c.fin(Dir::C2S).fin(Dir::S2C).ack(Dir::C2S);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("raw.pcap");
    std::fs::write(&path, pcap_of(&c, Link::Ethernet)).unwrap();
    for threads in [1, 3] {
        let mut settled = Vec::new();
        wcfscope_core::analyzer::run_on_threads(
            std::slice::from_ref(&path),
            &Options::default(),
            threads,
            &mut |_| {},
            &AtomicBool::new(false),
            &mut |s| settled.push(s),
        )
        .unwrap();
        assert_eq!(settled.len(), bodies.len(), "{threads} threads");
        for (i, (s, body)) in settled.iter().zip(&bodies).enumerate() {
            assert_eq!(&s.detail.raw, body, "{threads} threads, message {i}");
        }
        assert!(settled[0].info.errors.is_empty());
        assert!(!settled[3].info.errors.is_empty());
        assert!(!settled[4].info.errors.is_empty());
    }
}
