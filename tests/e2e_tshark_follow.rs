//! Live differential test against tshark: for every TCP stream of many captures, the bytes
//! `net::NetStage` reassembles per direction equal what `tshark -r F -q -z
//! follow,tcp,raw,N` prints. Streams are matched by their 4-tuple (and order, for a reused
//! 4-tuple), never by number.
//!
//! The captures: every capture in `captures/` and `tests/data/`; captures written by the
//! test capture builder (reordering, identical retransmissions, overlaps, wrap-around,
//! IPv4 fragments, IPv6, VLAN/QinQ, SLL/SLL2/NULL/raw, several interfaces); and copies made
//! by Wireshark's own tools: `editcap -F pcap` / `-F pcapng` (format), `editcap -C 14 -T
//! rawip` (Ethernet → raw IP link type), `reordercap` (frames sorted by timestamps the
//! builder permuted, i.e. reordering done by an independent tool) and `mergecap` (two
//! captures of different link types interleaved into one multi-interface pcapng).
//! Without tshark on the PATH the test says so and passes; a missing editcap, mergecap or
//! reordercap only skips the copies that tool makes.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use wcfscope_core::capture::{FileSource, SourceEvent};
use wcfscope_core::model::FlowDirection;
use wcfscope_core::net::{NetStage, StreamEvent};
use wcfscope_e2e::capture_builder::*;
use wcfscope_e2e::repo_path;

fn tool(name: &str) -> bool {
    Command::new(name)
        .arg("-v")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// "127.0.0.1:80", "[::1]:80" or "::1:80" (tshark's spellings) as a socket address.
fn parse_node(s: &str) -> Option<SocketAddr> {
    let s = s.trim();
    if let Ok(a) = s.parse() {
        return Some(a);
    }
    let (ip, port) = s.rsplit_once(':')?;
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    Some(SocketAddr::new(ip.parse().ok()?, port.parse().ok()?))
}

/// One tshark-followed stream: node 0 (first packet's sender), node 1, bytes each sent.
#[derive(Debug)]
struct Followed {
    n: usize,
    node0: SocketAddr,
    node1: SocketAddr,
    bytes0: Vec<u8>,
    bytes1: Vec<u8>,
}

fn tshark(args: &[&str], file: &Path) -> String {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(file)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tshark {args:?} {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every TCP stream tshark finds in `file`, followed in raw mode.
fn tshark_follow(file: &Path) -> Vec<Followed> {
    let ids = tshark(&["-T", "fields", "-e", "tcp.stream"], file);
    let count = ids
        .lines()
        .filter_map(|l| l.trim().parse::<usize>().ok())
        .max()
        .map_or(0, |m| m + 1);
    let mut out = Vec::new();
    // Several -z follow options per run; tshark prints one block each.
    for chunk in (0..count).collect::<Vec<_>>().chunks(50) {
        let mut args = vec!["-q".to_string()];
        for n in chunk {
            args.push("-z".into());
            args.push(format!("follow,tcp,raw,{n}"));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let text = tshark(&args, file);
        let mut cur: Option<Followed> = None;
        for line in text.lines() {
            if let Some(n) = line.strip_prefix("Filter: tcp.stream eq ") {
                if let Some(f) = cur.take() {
                    out.push(f);
                }
                cur = Some(Followed {
                    n: n.trim().parse().unwrap(),
                    node0: "0.0.0.0:0".parse().unwrap(),
                    node1: "0.0.0.0:0".parse().unwrap(),
                    bytes0: vec![],
                    bytes1: vec![],
                });
            } else if let Some(f) = cur.as_mut() {
                if let Some(a) = line.strip_prefix("Node 0: ") {
                    f.node0 = parse_node(a).unwrap_or(f.node0);
                } else if let Some(a) = line.strip_prefix("Node 1: ") {
                    f.node1 = parse_node(a).unwrap_or(f.node1);
                } else if let Some(hex) = line.strip_prefix('\t') {
                    f.bytes1.extend(unhex(hex.trim()));
                } else if !line.is_empty() && line.bytes().all(|c| c.is_ascii_hexdigit()) {
                    f.bytes0.extend(unhex(line));
                }
            }
        }
        if let Some(f) = cur.take() {
            out.push(f);
        }
    }
    out.sort_by_key(|f| f.n);
    out
}

#[derive(Debug, Default)]
struct Ours {
    client: Option<SocketAddr>,
    server: Option<SocketAddr>,
    c2s: Vec<u8>,
    s2c: Vec<u8>,
    gaps: usize,
}

fn ours(file: &Path) -> Vec<Ours> {
    let src = FileSource::open(file).unwrap();
    let mut net = NetStage::new();
    let mut ev = Vec::new();
    for e in src {
        if let SourceEvent::Packet(p) = e {
            net.push(&p, &mut ev);
        }
    }
    net.finish(&mut ev);
    let mut streams: BTreeMap<usize, Ours> = BTreeMap::new();
    for e in ev {
        match e {
            StreamEvent::Opened {
                stream,
                client,
                server,
                ..
            } => {
                let s = streams.entry(stream).or_default();
                s.client = Some(client);
                s.server = Some(server);
            }
            StreamEvent::Data {
                stream,
                dir,
                offset,
                bytes,
                ..
            } => {
                let s = streams.entry(stream).or_default();
                let v = if dir == FlowDirection::ClientToServer {
                    &mut s.c2s
                } else {
                    &mut s.s2c
                };
                // After a gap the offset jumps; the gap is counted and fails the comparison.
                assert!(offset >= v.len() as u64, "data events never go back");
                v.extend(bytes);
            }
            StreamEvent::Gap { stream, .. } => streams.entry(stream).or_default().gaps += 1,
            _ => {}
        }
    }
    streams.into_values().collect()
}

/// Compares every stream of `file`; returns how many streams carried bytes.
fn compare(file: &Path) -> usize {
    let name = file.display().to_string();
    let theirs = tshark_follow(file);
    let mut mine = ours(file);
    let mut used = vec![false; mine.len()];
    let mut with_bytes = 0;
    for f in &theirs {
        if f.bytes0.is_empty() && f.bytes1.is_empty() {
            continue;
        }
        with_bytes += 1;
        let k = (0..mine.len())
            .find(|&k| {
                !used[k] && {
                    let s = &mine[k];
                    let pair = (s.client, s.server);
                    pair == (Some(f.node0), Some(f.node1)) || pair == (Some(f.node1), Some(f.node0))
                }
            })
            .unwrap_or_else(|| {
                panic!(
                    "{name}: tshark stream {} ({} ↔ {}) not among ours: {:?}",
                    f.n,
                    f.node0,
                    f.node1,
                    mine.iter()
                        .map(|s| (s.client, s.server))
                        .collect::<Vec<_>>()
                )
            });
        used[k] = true;
        let s = &mut mine[k];
        assert_eq!(s.gaps, 0, "{name}: stream {} has gaps", f.n);
        let (from0, from1) = if s.client == Some(f.node0) {
            (&s.c2s, &s.s2c)
        } else {
            (&s.s2c, &s.c2s)
        };
        assert!(
            *from0 == f.bytes0,
            "{name}: tshark stream {} bytes from {}: ours {} bytes, tshark {} bytes, first difference at {:?}",
            f.n,
            f.node0,
            from0.len(),
            f.bytes0.len(),
            from0.iter().zip(&f.bytes0).position(|(a, b)| a != b)
        );
        assert!(
            *from1 == f.bytes1,
            "{name}: tshark stream {} bytes from {}: ours {} bytes, tshark {} bytes, first difference at {:?}",
            f.n,
            f.node1,
            from1.len(),
            f.bytes1.len(),
            from1.iter().zip(&f.bytes1).position(|(a, b)| a != b)
        );
    }
    // And we found no stream with bytes that tshark does not know.
    for (k, s) in mine.iter().enumerate() {
        assert!(
            used[k] || (s.c2s.is_empty() && s.s2c.is_empty()),
            "{name}: our stream {k} ({:?} → {:?}, {}+{} bytes) is not one of tshark's",
            s.client,
            s.server,
            s.c2s.len(),
            s.s2c.len()
        );
    }
    with_bytes
}

/// Runs a conversion tool; a refusal it explains (e.g. several link types cannot go into
/// classic pcap) skips that copy.
fn run(cmd: &mut Command) -> bool {
    match cmd.output() {
        Ok(o) if o.status.success() => true,
        Ok(o) => {
            let why = String::from_utf8_lossy(&o.stderr);
            assert!(why.contains("can't be written"), "{cmd:?}: {why}");
            println!("skipped {cmd:?}: {}", why.trim());
            false
        }
        Err(_) => false,
    }
}

/// A few HTTP exchanges, with bodies of varied sizes, as one direction's message bytes.
fn http_exchange(i: usize, size: usize) -> (Vec<u8>, Vec<u8>) {
    let body: Vec<u8> = (0..size).map(|k| b'a' + ((k * 7 + i) % 26) as u8).collect();
    (
        http_request(&format!("/svc/{i}"), &[("Content-Type", "text/xml")], &body),
        http_response(200, &[("Content-Type", "text/xml")], &body[..size / 2]),
    )
}

fn conversation(client: &str, server: &str, mss: usize, isn: (u32, u32)) -> Conversation {
    let mut c = Conversation::new(client, server)
        .mss(mss)
        .isns(isn.0, isn.1);
    c.handshake();
    for (i, size) in [300usize, 5000, 17, 2900].into_iter().enumerate() {
        let (q, p) = http_exchange(i, size);
        c.send(Dir::C2S, &q);
        c.ack(Dir::S2C);
        c.send(Dir::S2C, &p);
        c.ack(Dir::C2S);
    }
    c.fin(Dir::C2S).fin(Dir::S2C).ack(Dir::C2S);
    c
}

/// Reorders data segments within runs of one direction and adds identical retransmissions
/// and overlapping copies — what both implementations must agree on.
fn roughen(c: &mut Conversation, seed: u64) {
    let mut rng = wcfscope_e2e::Rng::new(seed);
    let n = c.segs.len();
    let mut i = 3;
    while i < n {
        let dir = c.segs[i].dir;
        let mut j = i;
        while j < n && j - i < 4 && c.segs[j].dir == dir && !c.segs[j].payload.is_empty() {
            j += 1;
        }
        if j > i + 1 {
            c.segs[i..j].reverse();
        }
        i = j.max(i + 1);
    }
    for _ in 0..6 {
        let k = 3 + rng.below(c.segs.len() - 3);
        if !c.segs[k].payload.is_empty() {
            let at = (k + 1 + rng.below(3)).min(c.segs.len());
            c.retransmit(k, at);
        }
    }
    // Overlapping copies of stream ranges, arriving right after the range's first segment.
    for _ in 0..4 {
        let dir = if rng.below(2) == 0 {
            Dir::C2S
        } else {
            Dir::S2C
        };
        let len = c.stream[match dir {
            Dir::C2S => 0,
            Dir::S2C => 1,
        }]
        .len();
        let off = rng.below(len.saturating_sub(200).max(1));
        let s = c.segment_at(dir, off, 150 + rng.below(400));
        if let Some(k) = c.seg_index_at(dir, off) {
            c.insert(k + 1, s);
        }
    }
}

/// The builder captures, written into `dir`.
fn builder_captures(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let t0 = 1_700_000_000_000_000_000i64;
    let mut write = |name: &str, bytes: Vec<u8>| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        out.push(p);
    };
    // Ethernet pcap: two connections, rough, one wrapping its sequence numbers.
    let mut a = conversation("10.1.0.1:40000", "10.1.0.2:80", 1460, (1000, 5000));
    roughen(&mut a, 1);
    let mut b = conversation(
        "10.1.0.3:40001",
        "10.1.0.4:8080",
        536,
        (u32::MAX - 4000, u32::MAX - 100),
    );
    roughen(&mut b, 2);
    let mut fr = frames(&a, Link::Ethernet, 0, t0, 1_000, None);
    fr.extend(frames(&b, Link::Ethernet, 0, t0 + 500, 1_000, None));
    fr.sort_by_key(|f| f.ts_ns);
    write(
        "builder-eth.pcap",
        pcap(Link::Ethernet, PcapFormat::default(), &fr),
    );
    // IPv4 fragments over VLAN, big-endian nanosecond pcap.
    let c = conversation("10.2.0.1:40002", "10.2.0.2:80", 1460, (7, 9));
    write(
        "builder-frag-vlan.pcap",
        pcap(
            Link::Vlan(12),
            PcapFormat {
                big_endian: true,
                nanos: true,
                ..PcapFormat::default()
            },
            &frames(&c, Link::Vlan(12), 0, t0, 1_000, Some(400)),
        ),
    );
    // pcapng, several interfaces and link types, IPv6 among them.
    let links = [
        Link::QinQ(3, 4),
        Link::Sll2,
        Link::Null,
        Link::Raw,
        Link::Sll,
    ];
    let ifaces: Vec<Iface> = links
        .iter()
        .enumerate()
        .map(|(i, l)| Iface {
            tsresol: Some(if i % 2 == 0 { 9 } else { 6 }),
            ..Iface::new(*l)
        })
        .collect();
    let mut fr = Vec::new();
    for (i, link) in links.iter().enumerate() {
        let (cl, sv) = if i % 2 == 1 {
            (
                format!("[2001:db8::{}]:4100{i}", i + 1),
                format!("[2001:db8:1::{}]:80", i + 1),
            )
        } else {
            (format!("10.3.{i}.1:4100{i}"), format!("10.3.{i}.2:80"))
        };
        let mut c = conversation(&cl, &sv, 700 + 100 * i, (i as u32 * 77, i as u32 * 99));
        roughen(&mut c, 10 + i as u64);
        fr.extend(frames(
            &c,
            *link,
            i as u32,
            t0 + i as i64 * 300,
            1_000,
            None,
        ));
    }
    fr.sort_by_key(|f| f.ts_ns);
    write(
        "builder-multi.pcapng",
        pcapng(&ifaces, &fr, PacketBlock::Enhanced, false),
    );
    out
}

/// A builder capture in sending order whose timestamps say a different (arrival) order;
/// `reordercap` turns it into the reordered capture.
fn unsorted_capture(dir: &Path) -> PathBuf {
    let c = conversation("10.4.0.1:40100", "10.4.0.2:80", 400, (123, 456));
    let t0 = 1_700_000_100_000_000_000i64;
    let mut fr = frames(&c, Link::Ethernet, 0, t0, 1_000_000, None);
    // Swap the timestamps of pairs of data frames of the same direction, a few apart.
    let mut i = 3;
    while i + 2 < fr.len() {
        let (ts_a, ts_b) = (fr[i].ts_ns, fr[i + 2].ts_ns);
        if c.segs[i].dir == c.segs[i + 2].dir
            && !c.segs[i].payload.is_empty()
            && !c.segs[i + 2].payload.is_empty()
            && (i..=i + 2).all(|k| c.segs[k].dir == c.segs[i].dir)
        {
            fr[i].ts_ns = ts_b;
            fr[i + 2].ts_ns = ts_a;
        }
        i += 3;
    }
    let p = dir.join("unsorted.pcapng");
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
    p
}

fn repo_captures() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in ["captures", "tests/data"] {
        for e in std::fs::read_dir(repo_path(d)).unwrap() {
            let p = e.unwrap().path();
            if matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("pcap" | "pcapng")
            ) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Whether the first frame is untagged Ethernet carrying IP (14 bytes to chop).
fn is_ethernet(file: &Path) -> bool {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(file)
        .args(["-c", "1", "-T", "fields", "-e", "frame.protocols"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).starts_with("eth:ethertype:ip")
}

#[test]
fn reassembled_bytes_equal_tshark_follow_for_every_stream() {
    if !tool("tshark") {
        println!("tshark not installed: differential reassembly test skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut files = repo_captures();
    assert!(files.len() >= 5, "{files:?}");
    files.extend(builder_captures(dir.path()));
    let originals = files.clone();

    // Copies made by Wireshark's tools.
    if tool("editcap") {
        for (i, f) in originals.iter().enumerate() {
            let pcap = dir.path().join(format!("conv{i}.pcap"));
            if run(Command::new("editcap")
                .args(["-F", "pcap"])
                .arg(f)
                .arg(&pcap))
            {
                files.push(pcap.clone());
                // And back to pcapng (editcap writes its own SHB/IDB/EPB layout).
                let ng = dir.path().join(format!("conv{i}.pcapng"));
                if run(Command::new("editcap")
                    .args(["-F", "pcapng"])
                    .arg(&pcap)
                    .arg(&ng))
                {
                    files.push(ng);
                }
            }
            if is_ethernet(f) {
                let raw = dir.path().join(format!("raw{i}.pcap"));
                if run(Command::new("editcap")
                    .args(["-F", "pcap", "-C", "14", "-T", "rawip"])
                    .arg(f)
                    .arg(&raw))
                {
                    assert!(!is_ethernet(&raw));
                    files.push(raw);
                }
            }
        }
    } else {
        println!("editcap not installed: format and link-type copies skipped");
    }
    if tool("reordercap") {
        let unsorted = unsorted_capture(dir.path());
        let sorted = dir.path().join("reordered.pcapng");
        let out = Command::new("reordercap")
            .arg(&unsorted)
            .arg(&sorted)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // "N frames, M out of order": the tool did reorder something.
        let said = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            said.contains("out of order") && !said.contains(" 0 out of order"),
            "reordercap: {said}"
        );
        files.push(sorted);
    } else {
        println!("reordercap not installed: reordered copy skipped");
    }
    if tool("mergecap") {
        let merged = dir.path().join("merged.pcapng");
        let eth = repo_path("captures/http-loopback.pcapng");
        let sll = repo_path("tests/data/http-sll2.pcapng");
        let multi = dir.path().join("builder-multi.pcapng");
        if run(Command::new("mergecap")
            .arg("-w")
            .arg(&merged)
            .arg(&eth)
            .arg(&sll)
            .arg(&multi))
        {
            files.push(merged);
        }
    } else {
        println!("mergecap not installed: merged copy skipped");
    }

    // tshark runs mostly wait on its start-up: compare four files at a time.
    let total: usize = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|w| {
                let files = &files;
                scope.spawn(move || {
                    let mut n = 0;
                    for f in files.iter().skip(w).step_by(4) {
                        let streams = compare(f);
                        assert!(
                            streams > 0,
                            "{}: tshark found no stream with bytes",
                            f.display()
                        );
                        n += streams;
                    }
                    n
                })
            })
            .collect();
        workers.into_iter().map(|h| h.join().unwrap()).sum()
    });
    println!(
        "{} captures, {total} streams compared with tshark",
        files.len()
    );
    assert!(files.len() >= 12);
}
