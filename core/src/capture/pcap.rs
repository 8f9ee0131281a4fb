//! Classic libpcap files: the 24-byte file header, then 16-byte record headers each followed
//! by the captured bytes. Both byte orders, microsecond (a1b2c3d4) and nanosecond
//! (a1b23c4d) magic.
//!
//! Old patched tcpdumps wrote longer record headers: the standard 16 bytes, then fields of
//! their own, which are skipped (Wireshark's wiretap/libpcap.c names the variants; editcap
//! still writes them). Alexey Kuznetsov's Linux patches used the magic a1b2cd34 with 24-byte
//! headers (`modpcap`), SuSE 6.3 the same magic with 28 (`suse6_3pcap`); Red Hat 6.1 wrote
//! 24-byte headers and Nokia IPSO 20-byte ones under the standard magic (`rh6_1pcap`,
//! `nokiapcap`). The file header doesn't say which, so the first records decide
//! ([`PcapReader::detect_record_header`]).
//!
//! Damage handling: a record header is "plausible" when its captured length fits the
//! snaplen (or [`MAX_RECORD`]) and its fraction-of-second field is in range. A plausible
//! record is accepted when the bytes after it are the end of the file or another plausible
//! header; otherwise, if a strictly plausible record (see [`PcapReader::candidate`]) starts
//! inside it, its length was wrong and reading resumes there. After a bad header the reader
//! scans forward byte by byte for a strict candidate.

use super::resync::Resync;
use super::window::Window;
use super::{
    CaptureError, Endian, LinkType, Out, Packet, Reader, MAX_RECORD, MAX_RESYNC_RECORD,
    NEIGHBOUR_TS_NANOS,
};
use crate::model::{Diagnostic, Timestamp};

const FILE_HEADER: usize = 24;
/// The standard record header: seconds, fraction, captured and original length.
const RECORD_HEADER: usize = 16;
/// Record header sizes to try, first the usual one, under the standard magic (standard,
/// Red Hat 6.1, Nokia) and under the modified magic a1b2cd34 (Kuznetsov, SuSE 6.3).
const STANDARD_MAGIC_HEADERS: [usize; 3] = [RECORD_HEADER, 24, 20];
const MODIFIED_MAGIC_HEADERS: [usize; 2] = [24, 28];
/// How many records in a row must read cleanly for a header size to be chosen.
const DETECT_RECORDS: usize = 3;
/// Look-ahead bound of that check: records beyond it are not waited for (a huge first
/// record must not make the reader hold several of them at once).
const DETECT_LOOKAHEAD: usize = 1024 * 1024;
/// Largest original length believed for a resynchronisation candidate (jumbo frames and
/// GRO/TSO super-packets are well below this).
const MAX_CANDIDATE_ORIG: u32 = 1024 * 1024;
/// Snaplen used when judging lengths, at least this (libpcap's default is 262144).
const MIN_SNAPLEN: u32 = 262_144;

struct RecordHeader {
    secs: u32,
    frac: u32,
    incl: u32,
    orig: u32,
}

pub(crate) struct PcapReader {
    w: Window,
    end: Endian,
    nanos: bool,
    link: LinkType,
    snaplen: u32,
    /// Bytes in each record header: 16, or more in the old variants (module documentation).
    record_header: usize,
    last_ts: Option<Timestamp>,
    done: bool,
}

impl PcapReader {
    pub(crate) fn new(mut w: Window, name: &str, out: &mut Out) -> Result<Self, CaptureError> {
        let Some(h) = w.peek(0, FILE_HEADER).map(<[u8]>::to_vec) else {
            return Err(CaptureError::Invalid {
                path: name.to_string(),
                reason: format!("pcap file header truncated (needs {FILE_HEADER} bytes)"),
            });
        };
        let (big, nanos, modified) = match h[0..4] {
            [0xa1, 0xb2, 0xc3, 0xd4] => (true, false, false),
            [0xd4, 0xc3, 0xb2, 0xa1] => (false, false, false),
            [0xa1, 0xb2, 0x3c, 0x4d] => (true, true, false),
            [0x4d, 0x3c, 0xb2, 0xa1] => (false, true, false),
            [0xa1, 0xb2, 0xcd, 0x34] => (true, false, true),
            [0x34, 0xcd, 0xb2, 0xa1] => (false, false, true),
            _ => {
                return Err(CaptureError::Invalid {
                    path: name.to_string(),
                    reason: "bad pcap magic".into(),
                })
            }
        };
        let end = Endian { big };
        let snaplen = end.u32(&h, 16);
        // The upper bits of the link-type field carry FCS information; the type is the low 16.
        let code = end.u32(&h, 20) & 0xffff;
        let link = LinkType::from_code(code);
        if !link.is_supported() {
            out.diag(Diagnostic::warning(format!(
                "pcap link type {code} is not supported; all packets in this file are skipped"
            )));
        }
        w.advance(FILE_HEADER);
        let mut reader = PcapReader {
            w,
            end,
            nanos,
            link,
            snaplen,
            record_header: RECORD_HEADER,
            last_ts: None,
            done: false,
        };
        let sizes: &[usize] = if modified {
            &MODIFIED_MAGIC_HEADERS
        } else {
            &STANDARD_MAGIC_HEADERS
        };
        reader.detect_record_header(sizes, out);
        Ok(reader)
    }

    /// Picks the first of `sizes` (the usual one first) under which the first records read
    /// cleanly, and says so when it is not the standard 16. When none does (a damaged
    /// start), the first stays and the damage handling takes over.
    fn detect_record_header(&mut self, sizes: &[usize], out: &mut Out) {
        let chosen = sizes
            .iter()
            .copied()
            .find(|&size| self.records_read_cleanly_with(size));
        let size = chosen
            .or_else(|| sizes.first().copied())
            .unwrap_or(RECORD_HEADER);
        self.record_header = size;
        if size != RECORD_HEADER {
            out.diag(Diagnostic::info(format!(
                "pcap records have {size}-byte headers (a patched tcpdump's variant of the \
                 format); the {} bytes after the standard 16 are skipped",
                size - RECORD_HEADER
            )));
        }
    }

    /// Whether the first [`DETECT_RECORDS`] records (or all of them, in a shorter file, at
    /// least one) have plausible headers under `size`-byte record headers, each with its
    /// captured length within its original length and its time near the one before, and
    /// end exactly where the next begins. Leaves `record_header` at `size` (what
    /// [`PcapReader::header_at`] reads by); the caller then sets the chosen one.
    fn records_read_cleanly_with(&mut self, size: usize) -> bool {
        self.record_header = size;
        let mut off = 0;
        let mut last = None;
        for read in 0..DETECT_RECORDS {
            if self.w.at_end(off) || (read > 0 && off > DETECT_LOOKAHEAD) {
                return read > 0;
            }
            let Some(h) = self.header_at(off) else {
                return false;
            };
            let ts = self.ts(&h);
            if self.problem(&h).is_some() || h.incl > h.orig || !Self::near(ts, last) {
                return false;
            }
            let next = off + size + h.incl as usize;
            if read > 0 && next > DETECT_LOOKAHEAD {
                // A plausible header is enough this far ahead.
                return true;
            }
            // (The first record is read whole here, as reading it would anyway.)
            if self.w.fill(next) < next {
                return false;
            }
            last = Some(ts);
            off = next;
        }
        true
    }

    fn frac_limit(&self) -> u32 {
        if self.nanos {
            1_000_000_000
        } else {
            1_000_000
        }
    }

    fn max_len(&self) -> u32 {
        match self.snaplen {
            0 => MAX_RECORD as u32,
            s => s.max(MIN_SNAPLEN).min(MAX_RECORD as u32),
        }
    }

    fn header_at(&mut self, off: usize) -> Option<RecordHeader> {
        let end = self.end;
        let b = self.w.peek(off, self.record_header)?;
        Some(RecordHeader {
            secs: end.u32(b, 0),
            frac: end.u32(b, 4),
            incl: end.u32(b, 8),
            orig: end.u32(b, 12),
        })
    }

    /// Why a header read in normal order is implausible, if it is.
    fn problem(&self, h: &RecordHeader) -> Option<String> {
        if h.incl > self.max_len() {
            return Some(
                if self.snaplen != 0 && h.incl > self.snaplen.max(MIN_SNAPLEN) {
                    format!(
                        "captured length {} exceeds the snaplen {}",
                        h.incl, self.snaplen
                    )
                } else {
                    format!(
                        "captured length {} exceeds the {} MiB limit",
                        h.incl,
                        MAX_RECORD >> 20
                    )
                },
            );
        }
        if h.frac >= self.frac_limit() {
            let unit = if self.nanos {
                "nanoseconds"
            } else {
                "microseconds"
            };
            return Some(format!("{unit} field {} is out of range", h.frac));
        }
        None
    }

    fn ts(&self, h: &RecordHeader) -> Timestamp {
        let nanos = if self.nanos {
            h.frac
        } else {
            h.frac.saturating_mul(1000)
        };
        Timestamp::from_secs_nanos(i64::from(h.secs), nanos)
    }

    fn near(a: Timestamp, b: Option<Timestamp>) -> bool {
        b.is_none_or(|b| (a.as_nanos().saturating_sub(b.as_nanos())).abs() <= NEIGHBOUR_TS_NANOS)
    }

    /// Whether a record starting `off` bytes past the read position looks real enough to
    /// resume at: plausible header, sane lengths, timestamp near the last good one, and
    /// followed by the end of the file or another plausible header near in time.
    fn candidate(&mut self, off: usize) -> bool {
        let Some(h) = self.header_at(off) else {
            return false;
        };
        if self.problem(&h).is_some()
            || h.incl > h.orig
            || h.orig > MAX_CANDIDATE_ORIG
            || h.incl as usize > MAX_RESYNC_RECORD
        {
            return false;
        }
        let ts = self.ts(&h);
        if !Self::near(ts, self.last_ts) {
            return false;
        }
        let next = off + self.record_header + h.incl as usize;
        if self.w.at_end(next) {
            // Exactly at the end is fine; a record running past the end is not believed.
            return self.w.fill(next) >= next;
        }
        match self.header_at(next) {
            Some(n) => self.problem(&n).is_none() && Self::near(self.ts(&n), Some(ts)),
            // A partial header at the very end: a truncated tail, still a fine place to resume.
            None => true,
        }
    }

    /// Finds the first candidate record in `from..limit` bytes past the read position
    /// (`limit` None: up to the end of the file). Scanning past the window's start would need
    /// unbounded look-ahead, so callers with a limit keep it to one record's length.
    fn scan(&mut self, from: usize, limit: Option<usize>) -> Option<usize> {
        let mut off = from;
        loop {
            if limit.is_some_and(|l| off >= l) || self.w.at_end(off) {
                return None;
            }
            if self.candidate(off) {
                return Some(off);
            }
            off += 1;
        }
    }
}

impl Resync for PcapReader {
    const UNIT: &'static str = "pcap record";
    fn window(&mut self) -> &mut Window {
        &mut self.w
    }
    fn plausible_at(&mut self, off: usize) -> bool {
        self.candidate(off)
    }
    fn stop(&mut self) {
        self.done = true;
    }
}

impl Reader for PcapReader {
    fn bytes_read(&self) -> u64 {
        self.w.pos()
    }

    fn step(&mut self, out: &mut Out) -> bool {
        if self.done {
            return false;
        }
        let at = self.w.pos();
        if self.w.at_end(0) {
            if let Some(e) = self.w.take_error() {
                out.diag(Diagnostic::error(format!("read error at byte {at}: {e}")));
            }
            return false;
        }
        let Some(h) = self.header_at(0) else {
            let size = self.record_header;
            let left = self.w.fill(size);
            out.diag(Diagnostic::warning(format!(
                "pcap file truncated at byte {}: record header at byte {at} has only {left} of \
                 {size} bytes",
                at + left as u64
            )));
            return false;
        };
        if let Some(p) = self.problem(&h) {
            self.resync(p, out);
            return !self.done;
        }
        let len = self.record_header + h.incl as usize;
        let avail = self.w.fill(len);
        if avail < len {
            // Either the file was cut inside this record, or the length is damaged and a real
            // record follows somewhere inside the claimed length.
            if let Some(y) = self.scan(1, None) {
                out.diag(Diagnostic::warning(format!(
                    "pcap record at byte {at}: captured length {} runs past the end of the \
                     file; resuming at the next plausible record at byte {}",
                    h.incl,
                    at + y as u64
                )));
                self.w.advance(y);
                return true;
            }
            out.diag(Diagnostic::warning(format!(
                "pcap file truncated at byte {}: record at byte {at} needs {len} bytes, only \
                 {avail} present; packets before it were read",
                at + avail as u64
            )));
            return false;
        }
        let consistent = self.w.at_end(len)
            || match self.header_at(len) {
                Some(n) => self.problem(&n).is_none(),
                None => true,
            };
        if !consistent {
            if let Some(y) = self.scan(1, Some(len)) {
                out.diag(Diagnostic::warning(format!(
                    "pcap record at byte {at}: captured length {} does not lead to a valid \
                     record; resuming at the plausible record at byte {}",
                    h.incl,
                    at + y as u64
                )));
                self.w.advance(y);
                return true;
            }
        }
        let number = out.next_frame();
        let ts = self.ts(&h);
        self.last_ts = Some(ts);
        if self.link.is_supported() {
            let data = self
                .w
                .peek(self.record_header, h.incl as usize)
                .map(|d| out.packet_data(d));
            out.packet(Packet {
                number,
                ts: Some(ts),
                link: self.link,
                interface: 0,
                data: data.unwrap_or_default(),
                orig_len: h.orig,
                comments: Vec::new(),
            });
        }
        self.w.advance(len);
        true
    }
}
