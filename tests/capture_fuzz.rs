//! Robustness: hundreds of randomly damaged copies of real captures (bit flips, truncations,
//! inserted, removed, overwritten and duplicated bytes) go through `FileSource` and
//! `NetStage`; nothing may panic or hang, and every event must stay within what the input
//! could produce. Deterministic: a fixed-seed xorshift drives the damage.

use std::path::Path;
use wcfscope_core::capture::{FileSource, SourceEvent};
use wcfscope_core::net::{NetStage, StreamEvent};

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn mutate(rng: &mut XorShift, orig: &[u8]) -> Vec<u8> {
    let mut v = orig.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = v.len().max(1);
        match rng.below(6) {
            0 => {
                for _ in 0..1 + rng.below(16) {
                    let i = rng.below(len);
                    if let Some(b) = v.get_mut(i) {
                        *b ^= 1 << rng.below(8);
                    }
                }
            }
            1 => v.truncate(rng.below(len)),
            2 => {
                let at = rng.below(len);
                let n = 1 + rng.below(64);
                let junk = rng.bytes(n);
                v.splice(at.min(v.len())..at.min(v.len()), junk);
            }
            3 => {
                let at = rng.below(len).min(v.len());
                let end = (at + 1 + rng.below(200)).min(v.len());
                v.drain(at..end);
            }
            4 => {
                let at = rng.below(len);
                let n = 1 + rng.below(32);
                for k in at..(at + n).min(v.len()) {
                    v[k] = rng.next() as u8;
                }
            }
            _ => {
                let at = rng.below(len).min(v.len());
                let end = (at + 1 + rng.below(300)).min(v.len());
                let dup = v[at..end].to_vec();
                v.splice(end..end, dup);
            }
        }
    }
    v
}

/// Runs a capture through both stages; returns (packets, events).
fn run(bytes: Vec<u8>) -> (usize, usize) {
    let len = bytes.len();
    let Ok(mut src) = FileSource::from_reader("fuzz".into(), std::io::Cursor::new(bytes)) else {
        return (0, 0);
    };
    let mut net = NetStage::new();
    let mut ev: Vec<StreamEvent> = Vec::new();
    let (mut packets, mut events) = (0, 0);
    let mut last_read = 0;
    while let Some(e) = src.next_event() {
        events += 1;
        // Every event consumes input or is one of a bounded number of notes.
        assert!(events <= len + 600, "too many events for {len} bytes");
        assert!(src.bytes_read() >= last_read);
        last_read = src.bytes_read();
        if let SourceEvent::Packet(p) = e {
            packets += 1;
            net.push(&p, &mut ev);
        }
    }
    assert!(src.bytes_read() <= len as u64);
    net.finish(&mut ev);
    for e in &ev {
        if let StreamEvent::Data { bytes, .. } = e {
            assert!(bytes.len() <= len);
        }
    }
    (packets, events)
}

fn fuzz(path: &str, seed: u64, rounds: usize) {
    let orig = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap();
    let (clean, _) = run(orig.clone());
    assert!(clean > 30);
    let mut rng = XorShift(seed);
    let mut some_survived = 0;
    for _ in 0..rounds {
        let (packets, _) = run(mutate(&mut rng, &orig));
        if packets > 0 {
            some_survived += 1;
        }
    }
    // Damage is local: most damaged copies still yield packets.
    assert!(some_survived > rounds / 2, "{some_survived} of {rounds}");
}

#[test]
fn damaged_pcap_copies_never_panic_or_hang() {
    fuzz("tests/data/http-loopback.pcap", 0x9e37_79b9_7f4a_7c15, 300);
}

#[test]
fn damaged_pcapng_copies_never_panic_or_hang() {
    fuzz("captures/http-loopback.pcapng", 0x2545_f491_4f6c_dd1d, 300);
}

#[test]
fn megabytes_of_garbage_after_a_header_are_scanned_once() {
    let mut rng = XorShift(7);
    let mut pcap = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    pcap.extend(65535u32.to_le_bytes());
    pcap.extend(1u32.to_le_bytes());
    pcap.extend(rng.bytes(4 << 20));
    run(pcap);
    let mut ng =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/http-loopback.pcapng"))
            .unwrap();
    ng.truncate(2000);
    ng.extend(rng.bytes(4 << 20));
    run(ng);
}
