//! Tests of the pcap and pcapng readers over captures built byte by byte here (the builder
//! shares no code with the readers).

use super::*;
use crate::model::Level;

/// Writes integers in a chosen byte order.
struct W {
    big: bool,
    b: Vec<u8>,
}

impl W {
    fn new(big: bool) -> Self {
        W { big, b: Vec::new() }
    }
    fn u16(&mut self, v: u16) -> &mut Self {
        self.b.extend(if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
        self
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.b.extend(if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
        self
    }
    fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.b.extend_from_slice(v);
        self
    }
    fn pad4(&mut self) -> &mut Self {
        while self.b.len() & 3 != 0 {
            self.b.push(0);
        }
        self
    }
}

fn pcap_header(big: bool, nanos: bool, link: u32, snaplen: u32) -> Vec<u8> {
    let mut w = W::new(big);
    w.u32(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 })
        .u16(2)
        .u16(4)
        .u32(0)
        .u32(0);
    w.u32(snaplen).u32(link);
    w.b
}

fn pcap_record(big: bool, secs: u32, frac: u32, data: &[u8], orig: u32) -> Vec<u8> {
    let mut w = W::new(big);
    w.u32(secs)
        .u32(frac)
        .u32(data.len() as u32)
        .u32(orig)
        .bytes(data);
    w.b
}

/// A pcapng block: type, total length, body (padded), total length.
fn block(big: bool, t: u32, body: &[u8]) -> Vec<u8> {
    let mut inner = W::new(big);
    inner.bytes(body).pad4();
    let len = inner.b.len() as u32 + 12;
    let mut w = W::new(big);
    w.u32(t).u32(len).bytes(&inner.b).u32(len);
    w.b
}

fn opt(big: bool, code: u16, val: &[u8]) -> Vec<u8> {
    let mut w = W::new(big);
    w.u16(code).u16(val.len() as u16).bytes(val).pad4();
    w.b
}

fn end_opt(big: bool) -> Vec<u8> {
    opt(big, 0, &[])
}

fn shb(big: bool) -> Vec<u8> {
    let mut w = W::new(big);
    w.u32(0x1A2B_3C4D)
        .u16(1)
        .u16(0)
        .u32(0xffff_ffff)
        .u32(0xffff_ffff);
    block(big, 0x0A0D_0D0A, &w.b)
}

fn idb(big: bool, link: u16, snaplen: u32, opts: &[Vec<u8>]) -> Vec<u8> {
    let mut w = W::new(big);
    w.u16(link).u16(0).u32(snaplen);
    for o in opts {
        w.bytes(o);
    }
    if !opts.is_empty() {
        w.bytes(&end_opt(big));
    }
    block(big, 1, &w.b)
}

fn epb(big: bool, iface: u32, ts: u64, data: &[u8], comments: &[&str]) -> Vec<u8> {
    let mut w = W::new(big);
    w.u32(iface)
        .u32((ts >> 32) as u32)
        .u32(ts as u32)
        .u32(data.len() as u32);
    w.u32(data.len() as u32).bytes(data).pad4();
    for c in comments {
        w.bytes(&opt(big, 1, c.as_bytes()));
    }
    if !comments.is_empty() {
        w.bytes(&end_opt(big));
    }
    block(big, 6, &w.b)
}

fn spb(big: bool, data: &[u8]) -> Vec<u8> {
    let mut w = W::new(big);
    w.u32(data.len() as u32).bytes(data);
    block(big, 3, &w.b)
}

fn obsolete_pb(big: bool, iface: u16, ts: u64, data: &[u8]) -> Vec<u8> {
    let mut w = W::new(big);
    w.u16(iface)
        .u16(0)
        .u32((ts >> 32) as u32)
        .u32(ts as u32)
        .u32(data.len() as u32);
    w.u32(data.len() as u32).bytes(data);
    block(big, 2, &w.b)
}

fn read_all(bytes: Vec<u8>) -> (Vec<Packet>, Vec<Diagnostic>) {
    let src = FileSource::from_reader("test".into(), std::io::Cursor::new(bytes)).unwrap();
    let mut pkts = Vec::new();
    let mut diags = Vec::new();
    for ev in src {
        match ev {
            SourceEvent::Packet(p) => pkts.push(p),
            SourceEvent::Diagnostic(d) => diags.push(d),
        }
    }
    (pkts, diags)
}

fn frame(i: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|k| i.wrapping_mul(31).wrapping_add(k as u8))
        .collect()
}

#[test]
fn pcap_both_byte_orders_micro_and_nano() {
    for big in [false, true] {
        for nanos in [false, true] {
            let mut f = pcap_header(big, nanos, 1, 65535);
            f.extend(pcap_record(big, 1_700_000_000, 123_456, &frame(1, 60), 60));
            f.extend(pcap_record(big, 1_700_000_001, 999, &frame(2, 20), 1514));
            let (p, d) = read_all(f);
            assert!(d.is_empty(), "{d:?}");
            assert_eq!(p.len(), 2);
            assert_eq!(p[0].number, 1);
            assert_eq!(p[1].number, 2);
            assert_eq!(p[0].data, frame(1, 60));
            assert_eq!(p[1].orig_len, 1514);
            assert_eq!(p[0].link, LinkType::Ethernet);
            let frac0 = if nanos { 123_456 } else { 123_456_000 };
            assert_eq!(
                p[0].ts,
                Some(Timestamp::from_secs_nanos(1_700_000_000, frac0))
            );
            let frac1 = if nanos { 999 } else { 999_000 };
            assert_eq!(
                p[1].ts,
                Some(Timestamp::from_secs_nanos(1_700_000_001, frac1))
            );
        }
    }
}

/// The old patched tcpdumps' pcap variants: extra bytes after each standard record header,
/// under the magic a1b2cd34 (24 or 28 bytes in all) or the standard one (24 or 20).
#[test]
fn pcap_variants_with_longer_record_headers() {
    for big in [false, true] {
        for (modified, header) in [(true, 24), (true, 28), (false, 24), (false, 20)] {
            let mut f = pcap_header(big, false, 1, 65535);
            if modified {
                let magic = if big {
                    [0xa1, 0xb2, 0xcd, 0x34]
                } else {
                    [0x34, 0xcd, 0xb2, 0xa1]
                };
                f[..4].copy_from_slice(&magic);
            }
            let frames: Vec<Vec<u8>> = (1..=4).map(|i| frame(i, 40 + usize::from(i))).collect();
            for (k, data) in frames.iter().enumerate() {
                let mut r = pcap_record(big, 1_700_000_000 + k as u32, 250, data, 1514);
                // The variant's own fields (interface index, protocol, packet type, …) sit
                // between the standard header and the data.
                let extra: Vec<u8> = (0..header - 16).map(|b| 0xe0 | b as u8).collect();
                r.splice(16..16, extra);
                f.extend(r);
            }
            let what = format!("big {big}, modified magic {modified}, {header}-byte headers");
            let (p, d) = read_all(f);
            assert_eq!(
                p.iter().map(|p| p.data.clone()).collect::<Vec<_>>(),
                frames,
                "{what}"
            );
            assert_eq!(
                p[3].ts,
                Some(Timestamp::from_secs_nanos(1_700_000_003, 250_000)),
                "{what}"
            );
            assert_eq!(d.len(), 1, "{what}: {d:?}");
            assert!(
                d[0].message.contains(&format!("{header}-byte headers")),
                "{what}: {}",
                d[0].message
            );
        }
    }
}

/// A file with a single record is detected too, and an ordinary file never gets a note.
#[test]
fn pcap_variant_detection_on_short_files() {
    let mut f = pcap_header(false, false, 1, 65535);
    f[..4].copy_from_slice(&[0x34, 0xcd, 0xb2, 0xa1]);
    let mut r = pcap_record(false, 5, 0, &frame(1, 30), 30);
    r.splice(16..16, [0u8; 12]);
    f.extend(r);
    let (p, d) = read_all(f);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].data, frame(1, 30));
    assert!(d[0].message.contains("28-byte headers"), "{d:?}");

    let mut f = pcap_header(false, false, 1, 65535);
    f.extend(pcap_record(false, 5, 0, &frame(1, 30), 30));
    let (p, d) = read_all(f);
    assert_eq!(p.len(), 1);
    assert!(d.is_empty(), "{d:?}");
    // Header only: no records to tell by, no note.
    let (p, d) = read_all(pcap_header(false, false, 1, 65535));
    assert!(p.is_empty() && d.is_empty(), "{d:?}");
}

#[test]
fn pcap_truncated_tail_keeps_earlier_packets() {
    let mut f = pcap_header(false, false, 101, 65535);
    f.extend(pcap_record(false, 10, 0, &frame(1, 40), 40));
    f.extend(pcap_record(false, 11, 0, &frame(2, 40), 40));
    f.truncate(f.len() - 7);
    let n = f.len();
    let (p, d) = read_all(f);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].link, LinkType::RawIp);
    assert_eq!(d.len(), 1);
    assert!(
        d[0].message.contains(&format!("truncated at byte {n}")),
        "{}",
        d[0].message
    );
    // A cut inside a record header.
    let mut f = pcap_header(false, false, 1, 65535);
    f.extend(pcap_record(false, 10, 0, &frame(1, 40), 40));
    f.extend([1, 2, 3]);
    let (p, d) = read_all(f);
    assert_eq!(p.len(), 1);
    assert!(
        d[0].message.contains("truncated at byte 83"),
        "{}",
        d[0].message
    );
}

#[test]
fn pcap_bad_length_is_reported_and_reading_resumes() {
    let mut f = pcap_header(false, false, 1, 65535);
    f.extend(pcap_record(false, 10, 0, &frame(1, 40), 40));
    let bad_at = f.len();
    let mut bad = pcap_record(false, 10, 5, &frame(2, 40), 40);
    bad[8..12].copy_from_slice(&0x7fff_0000u32.to_le_bytes());
    f.extend(bad);
    f.extend(pcap_record(false, 11, 0, &frame(3, 40), 40));
    f.extend(pcap_record(false, 12, 0, &frame(4, 40), 40));
    let (p, d) = read_all(f);
    assert_eq!(
        p.iter().map(|p| p.data.clone()).collect::<Vec<_>>(),
        vec![frame(1, 40), frame(3, 40), frame(4, 40)]
    );
    assert_eq!(d.len(), 1);
    assert!(
        d[0].message.contains(&format!("record at byte {bad_at}")),
        "{}",
        d[0].message
    );
    assert!(
        d[0].message.contains("exceeds the snaplen"),
        "{}",
        d[0].message
    );
}

#[test]
fn pcap_plausible_but_wrong_length_is_caught_by_the_next_header() {
    // Length made longer than the record: the record it swallows starts a valid chain, so
    // the damaged record is dropped and reading resumes there.
    let mut f = pcap_header(true, false, 1, 65535);
    f.extend(pcap_record(true, 10, 0, &frame(1, 40), 40));
    let mut bad = pcap_record(true, 10, 5, &frame(2, 100), 100);
    bad[8..12].copy_from_slice(&120u32.to_be_bytes());
    f.extend(bad);
    f.extend(pcap_record(true, 11, 0, &frame(3, 40), 40));
    f.extend(pcap_record(true, 12, 0, &frame(4, 40), 40));
    let (p, d) = read_all(f);
    let got: Vec<Vec<u8>> = p.iter().map(|p| p.data.clone()).collect();
    assert_eq!(got, vec![frame(1, 40), frame(3, 40), frame(4, 40)]);
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(
        d[0].message.contains("record at byte 80"),
        "{}",
        d[0].message
    );
    assert!(
        d[0].message.contains("record at byte 196"),
        "{}",
        d[0].message
    );

    // Length made shorter: indistinguishable from a snaplen cut, so the shortened packet is
    // kept and the garbage after it is reported and skipped.
    let mut f = pcap_header(true, false, 1, 65535);
    f.extend(pcap_record(true, 10, 0, &frame(1, 40), 40));
    let mut bad = pcap_record(true, 10, 5, &frame(2, 100), 100);
    bad[8..12].copy_from_slice(&70u32.to_be_bytes());
    f.extend(bad);
    f.extend(pcap_record(true, 11, 0, &frame(3, 40), 40));
    let (p, d) = read_all(f);
    let got: Vec<Vec<u8>> = p.iter().map(|p| p.data.clone()).collect();
    assert_eq!(got, vec![frame(1, 40), frame(2, 70), frame(3, 40)]);
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(
        d[0].message.contains("record at byte 166"),
        "{}",
        d[0].message
    );
    assert!(
        d[0].message.contains("skipped 30 bytes"),
        "{}",
        d[0].message
    );
}

#[test]
fn pcap_inserted_garbage_is_skipped() {
    let mut f = pcap_header(false, true, 1, 0);
    f.extend(pcap_record(false, 10, 0, &frame(1, 40), 40));
    let at = f.len();
    f.extend([0xffu8; 37]);
    f.extend(pcap_record(false, 11, 0, &frame(3, 40), 40));
    let (p, d) = read_all(f);
    assert_eq!(p.len(), 2);
    assert_eq!(p[1].data, frame(3, 40));
    assert_eq!(p[1].number, 2);
    assert!(
        d[0].message.contains(&format!("at byte {at}")),
        "{}",
        d[0].message
    );
    assert!(
        d[0].message.contains(&format!(
            "skipped 37 bytes to the next plausible record at byte {}",
            at + 37
        )),
        "{}",
        d[0].message
    );
}

#[test]
fn pcap_unsupported_link_type_reported_once_packets_skipped() {
    let mut f = pcap_header(false, false, 147, 65535);
    f.extend(pcap_record(false, 10, 0, &frame(1, 40), 40));
    f.extend(pcap_record(false, 11, 0, &frame(2, 40), 40));
    let (p, d) = read_all(f);
    assert!(p.is_empty());
    assert_eq!(d.len(), 1);
    assert!(d[0].message.contains("link type 147"));
}

#[test]
fn link_type_codes() {
    for (code, lt) in [
        (1, LinkType::Ethernet),
        (113, LinkType::LinuxSll),
        (276, LinkType::LinuxSll2),
        (0, LinkType::Null),
        (108, LinkType::Null),
        (101, LinkType::RawIp),
        (12, LinkType::RawIp),
        (14, LinkType::RawIp),
        (228, LinkType::Ipv4),
        (229, LinkType::Ipv6),
        (105, LinkType::Other(105)),
    ] {
        assert_eq!(LinkType::from_code(code), lt);
    }
}

#[test]
fn pcapng_two_interfaces_resolutions_offsets_and_block_kinds() {
    let big = false;
    let mut f = shb(big);
    // Interface 0: Ethernet, nanosecond resolution.
    f.extend(idb(big, 1, 0, &[opt(big, 9, &[9])]));
    // Interface 1: raw IP, 2^-10 s resolution, offset +1000 s.
    f.extend(idb(
        big,
        101,
        0,
        &[opt(big, 9, &[0x8a]), opt(big, 14, &1000u64.to_le_bytes())],
    ));
    f.extend(epb(
        big,
        0,
        1_700_000_000_123_456_789,
        &frame(1, 60),
        &["first", "second"],
    ));
    f.extend(block(big, 4, &[0, 0, 0, 0])); // NRB
    f.extend(epb(big, 1, (5 << 10) | 512, &frame(2, 33), &[]));
    f.extend(block(big, 5, &[0; 12])); // ISB
    f.extend(block(big, 0x0BAD, &[1, 2, 3, 4, 5])); // custom
    f.extend(block(big, 0x999, &[1, 2, 3])); // unknown
    f.extend(spb(big, &frame(3, 21)));
    f.extend(obsolete_pb(big, 1, 3 << 10, &frame(4, 17)));
    let (p, d) = read_all(f);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].level, Level::Info);
    assert!(d[0].message.contains("0x00000999"));
    assert_eq!(p.len(), 4);
    assert_eq!(
        p.iter().map(|p| p.number).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    assert_eq!(p[0].link, LinkType::Ethernet);
    assert_eq!(
        p[0].ts,
        Some(Timestamp::from_secs_nanos(1_700_000_000, 123_456_789))
    );
    assert_eq!(
        p[0].comments,
        vec!["first".to_string(), "second".to_string()]
    );
    assert_eq!(p[0].data, frame(1, 60));
    assert_eq!((p[1].link, p[1].interface), (LinkType::RawIp, 1));
    assert_eq!(p[1].ts, Some(Timestamp::from_secs_nanos(1005, 500_000_000)));
    assert_eq!(p[1].data, frame(2, 33));
    assert_eq!(
        (p[2].link, p[2].ts, p[2].data.clone()),
        (LinkType::Ethernet, None, frame(3, 21))
    );
    assert_eq!(p[3].ts, Some(Timestamp::from_secs_nanos(1003, 0)));
    assert_eq!(p[3].interface, 1);
}

#[test]
fn pcapng_sections_with_different_byte_orders() {
    let mut f = shb(true);
    f.extend(idb(true, 113, 0, &[]));
    f.extend(epb(true, 0, 2_000_000, &frame(1, 30), &["be"]));
    f.extend(shb(false));
    f.extend(idb(false, 276, 0, &[]));
    f.extend(idb(false, 1, 0, &[]));
    f.extend(epb(false, 1, 3_000_000, &frame(2, 30), &[]));
    f.extend(epb(false, 0, 4_000_000, &frame(3, 30), &[]));
    let (p, d) = read_all(f);
    assert!(d.is_empty(), "{d:?}");
    let kinds: Vec<(LinkType, u32)> = p.iter().map(|p| (p.link, p.interface)).collect();
    assert_eq!(
        kinds,
        vec![
            (LinkType::LinuxSll, 0),
            (LinkType::Ethernet, 1),
            (LinkType::LinuxSll2, 0)
        ]
    );
    assert_eq!(p[0].ts, Some(Timestamp::from_secs_nanos(2, 0)));
    assert_eq!(p[0].comments, vec!["be".to_string()]);
}

#[test]
fn pcapng_corrupt_block_is_reported_and_reading_resumes() {
    let big = false;
    let mut f = shb(big);
    f.extend(idb(big, 1, 0, &[]));
    f.extend(epb(big, 0, 1_000_000, &frame(1, 40), &[]));
    let bad_at = f.len();
    let mut bad = epb(big, 0, 2_000_000, &frame(2, 40), &[]);
    let wrong = bad.len() as u32 + 8;
    bad[4..8].copy_from_slice(&wrong.to_le_bytes());
    f.extend(bad);
    f.extend(epb(big, 0, 3_000_000, &frame(3, 40), &[]));
    // A block with an absurd length, then garbage, then a good block.
    let bad2_at = f.len();
    f.extend([6, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 9, 9, 9]);
    f.extend(epb(big, 0, 4_000_000, &frame(4, 40), &[]));
    let (p, d) = read_all(f);
    let got: Vec<Vec<u8>> = p.iter().map(|p| p.data.clone()).collect();
    assert_eq!(got, vec![frame(1, 40), frame(3, 40), frame(4, 40)]);
    assert_eq!(d.len(), 2, "{d:?}");
    assert!(
        d[0].message.contains(&format!("block at byte {bad_at}")),
        "{}",
        d[0].message
    );
    assert!(d[0].message.contains("trailing copy"), "{}", d[0].message);
    assert!(
        d[1].message.contains(&format!("block at byte {bad2_at}")),
        "{}",
        d[1].message
    );
    assert!(
        d[1].message.contains("skipped 11 bytes"),
        "{}",
        d[1].message
    );
}

#[test]
fn pcapng_truncated_tail_and_unknown_interface() {
    let big = true;
    let mut f = shb(big);
    f.extend(idb(big, 1, 0, &[]));
    f.extend(idb(big, 147, 0, &[]));
    f.extend(epb(big, 1, 1, &frame(9, 40), &[]));
    f.extend(epb(big, 5, 1, &frame(9, 40), &[]));
    f.extend(epb(big, 0, 1_000_000, &frame(1, 40), &[]));
    f.extend(epb(big, 0, 2_000_000, &frame(2, 40), &[]));
    f.truncate(f.len() - 10);
    let n = f.len();
    let (p, d) = read_all(f);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].number, 3);
    assert_eq!(d.len(), 3, "{d:?}");
    assert!(d[0].message.contains("interface 1") && d[0].message.contains("link type 147"));
    assert!(
        d[1].message.contains("interface 5 is not defined"),
        "{}",
        d[1].message
    );
    assert!(
        d[2].message.contains(&format!("truncated at byte {n}")),
        "{}",
        d[2].message
    );
}

#[test]
fn open_reports_sizes_and_rejects_non_captures() {
    let mut f = pcap_header(false, false, 1, 65535);
    f.extend(pcap_record(false, 10, 0, &frame(1, 40), 40));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.pcap");
    std::fs::write(&path, &f).unwrap();
    let mut src = FileSource::open(&path).unwrap();
    assert_eq!(src.format(), CaptureFormat::Pcap);
    assert_eq!(src.total_bytes(), Some(f.len() as u64));
    assert!(matches!(src.next_event(), Some(SourceEvent::Packet(_))));
    assert!(src.next_event().is_none());
    assert_eq!(src.bytes_read(), f.len() as u64);
    let x = FileSource::from_reader("x".into(), std::io::Cursor::new(b"<a/>".to_vec()));
    assert!(matches!(x, Err(CaptureError::Invalid { .. })));
    let y = FileSource::from_reader("y".into(), std::io::Cursor::new(b"hello".to_vec()));
    assert!(matches!(y, Err(CaptureError::UnknownFormat { .. })));
    let z = FileSource::from_reader(
        "z".into(),
        std::io::Cursor::new(vec![0xd4, 0xc3, 0xb2, 0xa1]),
    );
    assert!(matches!(z, Err(CaptureError::Invalid { .. })));
}

/// Packets read with their buffers handed back ([`FileSource::recycle`]) carry exactly the
/// bytes of packets read without: a reused buffer keeps nothing of its previous packet.
#[test]
fn recycled_packet_buffers_change_nothing() {
    let lens = [1500usize, 60, 9000, 1, 0, 1460, 64, 300_000, 20];
    for big in [false, true] {
        let mut bytes = pcap_header(big, false, 1, 400_000);
        let mut ng = shb(big);
        ng.extend(idb(big, 1, 400_000, &[]));
        for (i, &len) in lens.iter().enumerate() {
            bytes.extend(pcap_record(
                big,
                i as u32,
                0,
                &frame(i as u8, len),
                len as u32,
            ));
            ng.extend(epb(big, 0, i as u64, &frame(i as u8, len), &[]));
        }
        for file in [bytes, ng] {
            let (plain, _) = read_all(file.clone());
            let mut src =
                FileSource::from_reader("test".into(), std::io::Cursor::new(file)).unwrap();
            let mut recycled = Vec::new();
            while let Some(ev) = src.next_event() {
                if let SourceEvent::Packet(p) = ev {
                    recycled.push((p.number, p.data.clone()));
                    src.recycle(p);
                }
            }
            let plain: Vec<_> = plain.into_iter().map(|p| (p.number, p.data)).collect();
            assert_eq!(plain.len(), lens.len());
            assert_eq!(plain, recycled);
        }
    }
}
