//! Reassembly compared with tshark: `captures/http-loopback.pcapng` is a real HTTP exchange
//! captured on loopback (`tshark -i lo`, python http.server and curl: two GETs of a 10 KB file
//! and a POST), and `tests/data/http-loopback.follow-N.txt` are
//! `tshark -r captures/http-loopback.pcapng -qz follow,tcp,raw,N` for its three streams.
//! `tests/data/http-loopback.pcap` is the same capture converted by `editcap -F pcap`;
//! `tests/data/http-shuffled.pcap` is that pcap with records reordered by a script (frame
//! order 1-5, 4 again (a retransmission), 8, 7, 6, 9-13, 15, 14, 16-35: the server's body
//! before its headers), with `http-shuffled.follow-N.txt` from tshark 4.0.17 on it.
//! `tests/data/http-sll.pcapng` and `http-sll2.pcapng` are one GET of a 3000-byte file
//! captured with `tshark -i any` (Linux cooked v1) and `tshark -i any -y LINUX_SLL2`.

use std::collections::BTreeMap;
use std::path::Path;
use wcfscope_core::capture::{FileSource, SourceEvent};
use wcfscope_core::model::FlowDirection;
use wcfscope_core::net::{NetStage, StreamEvent};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// (node 0 = first packet's sender, node 0 bytes, node 1 bytes) from tshark's raw follow.
fn tshark_follow(name: &str, n: usize) -> (String, Vec<u8>, Vec<u8>) {
    let text =
        std::fs::read_to_string(root().join(format!("tests/data/{name}.follow-{n}.txt"))).unwrap();
    let mut node0 = String::new();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for line in text.lines() {
        if let Some(addr) = line.strip_prefix("Node 0: ") {
            node0 = addr.to_string();
        } else if let Some(hex) = line.strip_prefix('\t') {
            b.extend(unhex(hex.trim()));
        } else if !line.is_empty() && line.bytes().all(|c| c.is_ascii_hexdigit()) {
            a.extend(unhex(line));
        }
    }
    (node0, a, b)
}

struct Stream {
    client: String,
    c2s: Vec<u8>,
    s2c: Vec<u8>,
    gaps: usize,
    closed: usize,
}

fn reassemble(path: &Path) -> (BTreeMap<usize, Stream>, Vec<String>) {
    let src = FileSource::open(path).unwrap();
    let mut net = NetStage::new();
    let mut ev = Vec::new();
    let mut diags = Vec::new();
    for e in src {
        match e {
            SourceEvent::Packet(p) => net.push(&p, &mut ev),
            SourceEvent::Diagnostic(d) => diags.push(d.message),
        }
    }
    net.finish(&mut ev);
    let mut streams = BTreeMap::new();
    for e in ev {
        match e {
            StreamEvent::Opened { stream, client, .. } => {
                streams.insert(
                    stream,
                    Stream {
                        client: client.to_string(),
                        c2s: vec![],
                        s2c: vec![],
                        gaps: 0,
                        closed: 0,
                    },
                );
            }
            StreamEvent::Data {
                stream,
                dir,
                offset,
                bytes,
                ..
            } => {
                let s = streams.get_mut(&stream).unwrap();
                let v = if dir == FlowDirection::ClientToServer {
                    &mut s.c2s
                } else {
                    &mut s.s2c
                };
                assert_eq!(offset, v.len() as u64);
                v.extend(bytes);
            }
            StreamEvent::Gap { stream, .. } => streams.get_mut(&stream).unwrap().gaps += 1,
            StreamEvent::Closed { stream, .. } => streams.get_mut(&stream).unwrap().closed += 1,
            StreamEvent::Diagnostic(d) => diags.push(d.message),
        }
    }
    (streams, diags)
}

fn check(path: &Path, follow: &str) {
    check_n(path, follow, 3);
}

fn check_n(path: &Path, follow: &str, count: usize) {
    let (streams, diags) = reassemble(path);
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(streams.len(), count);
    for (n, s) in &streams {
        let (node0, a, b) = tshark_follow(follow, *n);
        // In this capture every stream starts with the client's SYN, so node 0 is the client.
        assert_eq!(s.client, node0);
        assert_eq!(s.c2s, a, "stream {n} client bytes");
        assert_eq!(s.s2c, b, "stream {n} server bytes");
        assert!(
            s.c2s.len() > 80 && s.s2c.len() > 300,
            "stream {n} carried an exchange"
        );
        assert_eq!((s.gaps, s.closed), (0, 2));
    }
}

#[test]
fn pcapng_loopback_http_matches_tshark() {
    check(
        &root().join("captures/http-loopback.pcapng"),
        "http-loopback",
    );
}

#[test]
fn pcap_loopback_http_matches_tshark() {
    check(
        &root().join("tests/data/http-loopback.pcap"),
        "http-loopback",
    );
}

#[test]
fn reordered_and_duplicated_segments_match_tshark() {
    check(
        &root().join("tests/data/http-shuffled.pcap"),
        "http-shuffled",
    );
}

#[test]
fn linux_cooked_v1_and_v2_captures_match_tshark() {
    check_n(&root().join("tests/data/http-sll.pcapng"), "http-sll", 1);
    check_n(&root().join("tests/data/http-sll2.pcapng"), "http-sll2", 1);
}
