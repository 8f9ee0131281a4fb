//! IP fragment reassembly (IPv4, and IPv6 fragment headers).
//!
//! Datagrams are keyed by (source, destination, protocol, identification). Overlapping
//! fragments: the first copy wins (a differing later copy is reported once per datagram).
//! Everything is bounded: fragments and bytes per datagram, datagrams pending, and age in
//! capture time ([`TIMEOUT_NANOS`]).

use crate::model::{Diagnostic, Timestamp};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

/// Incomplete datagrams are dropped after this much capture time (RFC 791 suggests up to
/// 15 s for the first timer, Linux uses 30 s; 60 s is generous).
pub(crate) const TIMEOUT_NANOS: i64 = 60 * 1_000_000_000;
/// Datagrams being reassembled at once.
pub(crate) const MAX_PENDING: usize = 1024;
/// Fragments per datagram (a 64 KiB datagram in 8-byte pieces would be 8192; real ones use
/// MTU-sized pieces).
pub(crate) const MAX_FRAGMENTS: usize = 1024;
/// Largest datagram payload (IPv4 total length and IPv6 payload length are 16-bit).
pub(crate) const MAX_BYTES: usize = 65_535;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct FragKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: u8,
    pub id: u32,
}

struct Datagram {
    pieces: BTreeMap<usize, Vec<u8>>,
    total: Option<usize>,
    first_ts: Option<Timestamp>,
    first_frame: u64,
    seq: u64,
    reported_overlap: bool,
}

#[derive(Default)]
pub(crate) struct Defrag {
    pending: HashMap<FragKey, Datagram>,
    counter: u64,
    last_expiry: Option<i64>,
}

impl Defrag {
    /// Adds one fragment; returns the whole payload when this completes the datagram.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn add(
        &mut self,
        key: FragKey,
        offset: usize,
        more: bool,
        data: &[u8],
        ts: Option<Timestamp>,
        frame: u64,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<Vec<u8>> {
        self.expire(ts, diags);
        let end = offset.saturating_add(data.len());
        if end > MAX_BYTES {
            diags.push(Diagnostic::warning(format!(
                "frame {frame}: IP fragment (id {:#x}) ends at byte {end}, beyond the \
                 {MAX_BYTES}-byte datagram limit; dropped",
                key.id
            )));
            return None;
        }
        if !self.pending.contains_key(&key) && self.pending.len() >= MAX_PENDING {
            self.evict_oldest(diags);
        }
        self.counter += 1;
        let seq = self.counter;
        let d = self.pending.entry(key).or_insert_with(|| Datagram {
            pieces: BTreeMap::new(),
            total: None,
            first_ts: ts,
            first_frame: frame,
            seq,
            reported_overlap: false,
        });
        if !more {
            match d.total {
                Some(t) if t != end => {
                    diags.push(Diagnostic::warning(format!(
                        "frame {frame}: IP datagram id {:#x} from {} has two last fragments \
                         (ending at {t} and {end}); the first is kept",
                        key.id, key.src
                    )));
                }
                Some(_) => {}
                None => d.total = Some(end),
            }
        }
        let differs = insert_first_wins(&mut d.pieces, offset, data);
        if differs && !d.reported_overlap {
            d.reported_overlap = true;
            diags.push(Diagnostic::warning(format!(
                "frame {frame}: IP datagram id {:#x} from {}: overlapping fragment bytes differ; \
                 the first copy is kept",
                key.id, key.src
            )));
        }
        if d.pieces.len() > MAX_FRAGMENTS {
            diags.push(Diagnostic::warning(format!(
                "frame {frame}: IP datagram id {:#x} from {} has more than {MAX_FRAGMENTS} \
                 fragments; dropped",
                key.id, key.src
            )));
            self.pending.remove(&key);
            return None;
        }
        let total = d.total?;
        let mut covered = 0;
        for (&k, v) in &d.pieces {
            if k > covered {
                return None;
            }
            covered = covered.max(k + v.len());
        }
        if covered < total {
            return None;
        }
        let d = self.pending.remove(&key)?;
        let mut out = Vec::with_capacity(total);
        for (k, v) in d.pieces {
            // Pieces never overlap (first wins on insert), so each extends the previous.
            if k == out.len() {
                out.extend_from_slice(&v);
            }
        }
        out.truncate(total);
        Some(out)
    }

    fn evict_oldest(&mut self, diags: &mut Vec<Diagnostic>) {
        if let Some((&key, d)) = self.pending.iter().min_by_key(|(_, d)| d.seq) {
            diags.push(Diagnostic::warning(format!(
                "IP datagram id {:#x} from {} (first fragment in frame {}) dropped incomplete: \
                 more than {MAX_PENDING} datagrams being reassembled",
                key.id, key.src, d.first_frame
            )));
            self.pending.remove(&key);
        }
    }

    /// Drops datagrams older than the timeout (checked at most once per capture second).
    fn expire(&mut self, ts: Option<Timestamp>, diags: &mut Vec<Diagnostic>) {
        let Some(now) = ts.map(Timestamp::as_nanos) else {
            return;
        };
        if self
            .last_expiry
            .is_some_and(|l| now.saturating_sub(l) < 1_000_000_000)
        {
            return;
        }
        self.last_expiry = Some(now);
        let mut old: Vec<(FragKey, u64, u64)> = self
            .pending
            .iter()
            .filter(|(_, d)| {
                d.first_ts
                    .is_some_and(|t| now.saturating_sub(t.as_nanos()) > TIMEOUT_NANOS)
            })
            .map(|(k, d)| (*k, d.seq, d.first_frame))
            .collect();
        old.sort_by_key(|o| o.1);
        for (key, _, frame) in old {
            self.pending.remove(&key);
            diags.push(Diagnostic::warning(format!(
                "IP datagram id {:#x} from {} (first fragment in frame {frame}) still incomplete \
                 after {} s of capture time; dropped",
                key.id,
                key.src,
                TIMEOUT_NANOS / 1_000_000_000
            )));
        }
    }

    /// Datagrams still incomplete at the end of the capture, reported and dropped.
    pub(crate) fn finish(&mut self, diags: &mut Vec<Diagnostic>) {
        let mut left: Vec<(FragKey, Datagram)> = self.pending.drain().collect();
        left.sort_by_key(|(_, d)| d.seq);
        for (key, d) in left {
            diags.push(Diagnostic::warning(format!(
                "IP datagram id {:#x} from {} (first fragment in frame {}) incomplete at the end \
                 of the capture; dropped",
                key.id, key.src, d.first_frame
            )));
        }
    }
}

/// Inserts `data` at `offset` into non-overlapping `pieces`, keeping bytes already present.
/// Returns whether any overlapping byte differed from the copy kept.
pub(crate) fn insert_first_wins(
    pieces: &mut BTreeMap<usize, Vec<u8>>,
    offset: usize,
    data: &[u8],
) -> bool {
    let end = offset + data.len();
    let mut overlapping: Vec<(usize, usize)> = Vec::new();
    if let Some((&k, v)) = pieces.range(..offset).next_back() {
        if k + v.len() > offset {
            overlapping.push((k, v.len()));
        }
    }
    overlapping.extend(pieces.range(offset..end).map(|(&k, v)| (k, v.len())));
    let mut differs = false;
    let mut cur = offset;
    let mut fresh: Vec<(usize, usize)> = Vec::new();
    for (k, len) in overlapping {
        if k > cur {
            fresh.push((cur, k));
        }
        let (s, e) = (k.max(offset), (k + len).min(end));
        if s < e {
            if let Some(old) = pieces.get(&k) {
                differs |= old.get(s - k..e - k) != data.get(s - offset..e - offset);
            }
        }
        cur = cur.max(k + len);
    }
    if cur < end {
        fresh.push((cur, end));
    }
    for (s, e) in fresh {
        if let Some(bytes) = data.get(s - offset..e - offset) {
            if !bytes.is_empty() {
                pieces.insert(s, bytes.to_vec());
            }
        }
    }
    differs
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn first_copy_wins_and_differences_are_seen() {
        let mut p = BTreeMap::new();
        assert!(!insert_first_wins(&mut p, 10, b"abcdef"));
        assert!(!insert_first_wins(&mut p, 8, b"XXabcde"));
        assert!(insert_first_wins(&mut p, 14, b"eFGH"));
        assert!(insert_first_wins(&mut p, 12, b"Z"));
        let joined: Vec<u8> = p.values().flatten().copied().collect();
        assert_eq!(joined, b"XXabcdefGH");
        assert_eq!(p.keys().copied().collect::<Vec<_>>(), vec![8, 10, 16]);
    }

    #[test]
    fn out_of_order_fragments_reassemble() {
        let mut d = Defrag::default();
        let key = FragKey {
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            proto: 6,
            id: 7,
        };
        let mut diags = Vec::new();
        assert!(d
            .add(key, 16, false, b"CCCC", None, 1, &mut diags)
            .is_none());
        assert!(d
            .add(key, 0, true, b"AAAAAAAA", None, 2, &mut diags)
            .is_none());
        let whole = d
            .add(key, 8, true, b"BBBBBBBB", None, 3, &mut diags)
            .unwrap();
        assert_eq!(whole, b"AAAAAAAABBBBBBBBCCCC");
        assert!(diags.is_empty());
    }

    #[test]
    fn stale_datagrams_expire() {
        let mut d = Defrag::default();
        let key = FragKey {
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            proto: 6,
            id: 9,
        };
        let mut diags = Vec::new();
        let t0 = Timestamp::from_secs_nanos(100, 0);
        let t1 = Timestamp::from_secs_nanos(200, 0);
        assert!(d
            .add(key, 0, true, b"AAAAAAAA", Some(t0), 1, &mut diags)
            .is_none());
        assert!(d
            .add(key, 8, false, b"BB", Some(t1), 2, &mut diags)
            .is_none());
        assert_eq!(diags.len(), 1);
        assert!(diags[0].message.contains("still incomplete"));
    }
}
