//! What the fuzz targets share: the analyzer run end to end, the way `wcfscope analyze`
//! runs it, over bytes the fuzzer chose. A panic, a hang or an allocation beyond
//! libFuzzer's limit anywhere in it is a finding.

use std::io::Cursor;
use wcfscope_core::analyzer::{Analyzer, Options};
use wcfscope_core::capture::{FileSource, SourceEvent};
use wcfscope_core::model::CaptureFormat;
use wcfscope_core::report::{to_json, to_text};
use wcfscope_core::synth::pcap::{write_pcap, Dir, Endpoint, Packet, TcpConn};

/// A symmetric key for every message, so encrypted and signed parts are tried, not only
/// skipped for lack of a key.
const KEY_HEX: &str = "hex:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn options() -> Options {
    Options {
        keys: vec![KEY_HEX.to_owned()],
        ..Options::default()
    }
}

/// Both renderings of the finished analysis, as the CLI would write them.
fn render(analyzer: Analyzer) {
    let analysis = analyzer.finish();
    let _ = to_json(&analysis.report);
    let _ = to_text(&analysis.report);
}

/// The bytes as a capture file (pcap, pcapng, or anything else, which is refused).
pub fn capture(bytes: &[u8]) {
    let Ok(source) = FileSource::from_reader("fuzz".into(), Cursor::new(bytes.to_vec())) else {
        return;
    };
    let mut analyzer = Analyzer::new("fuzz".into(), source.format(), options());
    for event in source {
        match event {
            SourceEvent::Packet(p) => {
                analyzer.push_packet(&p);
                analyzer.take_settled().for_each(drop);
            }
            SourceEvent::Diagnostic(d) => analyzer.push_diagnostic(d),
        }
    }
    render(analyzer);
}

/// The bytes as the two directions of one TCP connection on port 80: the first byte says
/// where the client's bytes end, and both sides are cut into segments at every byte that
/// equals the second. HTTP framing, bodies and SOAP get the fuzzer's bytes directly,
/// without it having to learn the capture format first.
pub fn http_stream(bytes: &[u8]) {
    let [split, cut, rest @ ..] = bytes else {
        return;
    };
    let at = usize::from(*split) * rest.len() / 256;
    let (request, response) = rest.split_at(at);
    let client = Endpoint {
        mac: [2, 0, 0, 0, 0, 1],
        ip: std::net::IpAddr::from([10, 0, 0, 1]),
        port: 40000,
    };
    let server = Endpoint {
        mac: [2, 0, 0, 0, 0, 2],
        ip: std::net::IpAddr::from([10, 0, 0, 2]),
        port: 80,
    };
    let mut conn = TcpConn::new(client, server, 1, 1_000_000);
    let mut packets: Vec<Packet> = Vec::new();
    let mut t = conn.handshake(&mut packets, 1_700_000_000_000_000_000);
    for (dir, data) in [(Dir::ToServer, request), (Dir::ToClient, response)] {
        for piece in data.split_inclusive(|b| b == cut) {
            t = conn.send(&mut packets, t, dir, piece);
        }
    }
    conn.close(&mut packets, t);
    capture(&write_pcap(&packets));
}

/// The bytes as one .xml SOAP message file.
pub fn xml_message(bytes: &[u8]) {
    let mut analyzer = Analyzer::new("fuzz.xml".into(), CaptureFormat::Xml, options());
    analyzer.push_xml_message("fuzz.xml", bytes.to_vec());
    render(analyzer);
}
