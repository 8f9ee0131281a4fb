//! In-process stage breakdown on the same capture: how fast the pipeline runs when cut
//! after each stage, so a slow end-to-end figure can be pinned on a stage. Each pass reads
//! the file from the start: capture only; + TCP reassembly; + HTTP framing; + an XML tree of
//! every message body (what `analyze` builds before SOAP and WS-Security look at it); or,
//! instead, the tree to depth 3 only (`Document::parse_shallow`: envelope, header blocks,
//! body's top element), what an analyzer that parses message bodies lazily would pay.

use std::path::Path;
use std::time::Instant;
use wcfscope_core::capture::{FileSource, SourceEvent};
use wcfscope_core::net::NetStage;
use wcfscope_core::transport::TransportStage;
use wcfscope_core::xml::Document;

/// How far a pass runs the pipeline.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Upto {
    Capture,
    Tcp,
    Http,
    Xml,
    /// `Document::parse_shallow` to depth 3 instead of a whole tree.
    XmlShallow,
}

struct Pass {
    secs: f64,
    packets: u64,
    frames: u64,
    body_bytes: u64,
    xml_ok: u64,
}

fn pass(file: &Path, upto: Upto) -> Result<Pass, String> {
    let started = Instant::now();
    let mut source = FileSource::open(file).map_err(|e| e.to_string())?;
    let mut net = NetStage::new();
    let mut transport = TransportStage::new();
    let (mut events, mut frames, mut diags) = (Vec::new(), Vec::new(), Vec::new());
    let mut p = Pass {
        secs: 0.0,
        packets: 0,
        frames: 0,
        body_bytes: 0,
        xml_ok: 0,
    };
    let drain = |frames: &mut Vec<wcfscope_core::transport::TransportFrame>, p: &mut Pass| {
        for f in frames.drain(..) {
            p.frames += 1;
            p.body_bytes += f.body.len() as u64;
            let ok = match upto {
                Upto::Xml => Document::parse(&f.body).is_ok(),
                Upto::XmlShallow => Document::parse_shallow(&f.body, 3).is_ok(),
                _ => false,
            };
            p.xml_ok += u64::from(ok);
        }
    };
    while let Some(ev) = source.next_event() {
        let SourceEvent::Packet(pkt) = ev else {
            continue;
        };
        p.packets += 1;
        if upto == Upto::Capture {
            continue;
        }
        net.push(&pkt, &mut events);
        if upto >= Upto::Http {
            for ev in events.iter() {
                transport.push(ev, &mut frames, &mut diags);
            }
            drain(&mut frames, &mut p);
        }
        events.clear();
    }
    if upto >= Upto::Tcp {
        net.finish(&mut events);
    }
    if upto >= Upto::Http {
        for ev in events.iter() {
            transport.push(ev, &mut frames, &mut diags);
        }
        transport.finish(&mut frames, &mut diags);
        drain(&mut frames, &mut p);
    }
    p.secs = started.elapsed().as_secs_f64();
    Ok(p)
}

/// Prints one line per cut of the pipeline.
pub fn breakdown(file: &Path, mb: f64) -> Result<(), String> {
    println!("stage breakdown (in process, one pass each, wall clock):");
    for (name, upto) in [
        ("capture read", Upto::Capture),
        ("+ TCP reassembly", Upto::Tcp),
        ("+ HTTP framing", Upto::Http),
        ("+ XML tree of each body", Upto::Xml),
        ("+ XML tree, depth 3 only", Upto::XmlShallow),
    ] {
        let p = pass(file, upto)?;
        let detail = match upto {
            Upto::Capture | Upto::Tcp => format!("{} packets", p.packets),
            Upto::Http => format!(
                "{} HTTP messages, {:.1} MB of bodies",
                p.frames,
                p.body_bytes as f64 / 1e6
            ),
            Upto::Xml | Upto::XmlShallow => {
                format!("{} of {} bodies well-formed", p.xml_ok, p.frames)
            }
        };
        println!(
            "  {name:<24} {:6.2} s  {:8.1} MB/s   ({detail})",
            p.secs,
            mb / p.secs
        );
    }
    Ok(())
}
