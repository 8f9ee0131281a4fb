//! In-process stage breakdown on the same capture: how fast the pipeline runs when cut
//! after each stage, so a slow end-to-end figure can be pinned on a stage. Each pass reads
//! the file from the start: capture only; + TCP reassembly; + HTTP framing; + an XML tree of
//! every message body; or, instead, the tree to depth 3 only (`Document::parse_shallow`:
//! envelope, header blocks, body's top element); or the SOAP envelope as `analyze` parses
//! it (`Envelope::parse`: whole Header, the Body's payload checked but not built unless a
//! later stage reads it). All on one thread: `analyze` itself spreads the work over cores.

use std::path::Path;
use std::time::Instant;
use wcfscope_core::capture::{FileSource, SourceEvent};
use wcfscope_core::net::NetStage;
use wcfscope_core::soap::Envelope;
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
    /// `Envelope::parse`, what `analyze` does.
    Envelope,
}

struct Pass {
    secs: f64,
    /// CPU seconds of this process during the pass (Linux /proc), when readable.
    cpu_secs: Option<f64>,
    packets: u64,
    frames: u64,
    body_bytes: u64,
    xml_ok: u64,
}

fn pass(file: &Path, upto: Upto) -> Result<Pass, String> {
    let started = Instant::now();
    let cpu_start = process_cpu_secs();
    let mut source = FileSource::open(file).map_err(|e| e.to_string())?;
    let mut net = NetStage::new();
    let mut transport = TransportStage::new();
    let (mut events, mut frames, mut diags) = (Vec::new(), Vec::new(), Vec::new());
    let mut p = Pass {
        secs: 0.0,
        cpu_secs: None,
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
                Upto::Envelope => Envelope::parse(&f.body).is_ok(),
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
    p.cpu_secs = cpu_start.zip(process_cpu_secs()).map(|(a, b)| b - a);
    Ok(p)
}

/// User + system CPU seconds of this process so far, from `/proc/self/stat` (fields 14 and
/// 15, in clock ticks of 1/100 s on Linux); None elsewhere.
fn process_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: split after it.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Prints one line per cut of the pipeline.
pub fn breakdown(file: &Path, mb: f64) -> Result<(), String> {
    println!("stage breakdown (in process, one pass each; wall clock, and CPU time when known):");
    for (name, upto) in [
        ("capture read", Upto::Capture),
        ("+ TCP reassembly", Upto::Tcp),
        ("+ HTTP framing", Upto::Http),
        ("+ XML tree of each body", Upto::Xml),
        ("+ XML tree, depth 3 only", Upto::XmlShallow),
        ("+ SOAP envelope (analyze)", Upto::Envelope),
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
            Upto::Envelope => format!("{} of {} bodies SOAP envelopes", p.xml_ok, p.frames),
        };
        let cpu = p
            .cpu_secs
            .filter(|&c| c > 0.0)
            .map(|c| format!("{:8.1} MB/s CPU", mb / c))
            .unwrap_or_default();
        println!(
            "  {name:<26} {:6.2} s {:8.1} MB/s wall {cpu}   ({detail})",
            p.secs,
            mb / p.secs
        );
    }
    Ok(())
}
