//! Packet sources: pcap and pcapng files (and, behind the `live` feature, live devices).
//!
//! A source yields [`SourceEvent`]s: packets with their link type and timestamp, and
//! diagnostics for what could not be read (a corrupt record, a truncated file). A source
//! never stops at the first bad record when more can be read after it.
//!
//! The file readers ([`FileSource`]) parse records and blocks themselves, over a bounded
//! forward-only window (`window.rs`), rather than through `pcap-file`: the library stops at the
//! first bad record, while a capture taken from a crashed machine or cut by a full disk still
//! holds good packets after the damage. Owning the parsing lets us name the byte offset of
//! each problem, scan forward for the next plausible record or block, and keep memory bounded
//! (no record larger than [`MAX_RECORD`]; look-ahead while resynchronising at most
//! [`MAX_RESYNC_RECORD`]).
//!
//! What is not here: link-layer decoding (the `net` stage does that), XML message files
//! (`analyzer`), live capture (the `live` feature).

mod pcap;
mod pcapng;
mod resync;
mod window;

use crate::model::{CaptureFormat, Diagnostic, Timestamp};
use std::collections::VecDeque;
use std::io::Read;
use std::path::Path;

/// Largest record or block accepted while reading normally (anything larger is corruption).
pub const MAX_RECORD: usize = 256 * 1024 * 1024;
/// Largest record or block accepted as a resynchronisation candidate after corruption: a
/// candidate is only believed once its whole body and the header after it were checked.
pub const MAX_RESYNC_RECORD: usize = 16 * 1024 * 1024;
/// At most this many diagnostics per source; further ones are counted and summarised once.
pub const MAX_DIAGNOSTICS: usize = 500;

/// Link-layer type of a packet, from the pcap LINKTYPE_* registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// LINKTYPE_ETHERNET (1), possibly with 802.1Q / QinQ tags.
    Ethernet,
    /// LINKTYPE_LINUX_SLL (113).
    LinuxSll,
    /// LINKTYPE_LINUX_SLL2 (276).
    LinuxSll2,
    /// LINKTYPE_NULL (0) and LINKTYPE_LOOP (108): BSD loopback, 4-byte family header.
    Null,
    /// LINKTYPE_RAW (101) and DLT_RAW (12/14): raw IPv4 or IPv6, version nibble decides.
    RawIp,
    /// LINKTYPE_IPV4 (228).
    Ipv4,
    /// LINKTYPE_IPV6 (229).
    Ipv6,
    /// Anything else: kept so diagnostics can name it.
    Other(u32),
}

impl LinkType {
    /// Maps a LINKTYPE_* (or, for 12/14, a DLT_*) code to the variants we decode.
    pub fn from_code(code: u32) -> LinkType {
        match code {
            1 => LinkType::Ethernet,
            113 => LinkType::LinuxSll,
            276 => LinkType::LinuxSll2,
            0 | 108 => LinkType::Null,
            101 | 12 | 14 => LinkType::RawIp,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            other => LinkType::Other(other),
        }
    }

    /// Whether the `net` stage can decode packets of this link type.
    pub fn is_supported(self) -> bool {
        !matches!(self, LinkType::Other(_))
    }
}

/// One captured packet.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    /// 1-based frame number in the source, as Wireshark counts.
    pub number: u64,
    pub ts: Option<Timestamp>,
    pub link: LinkType,
    /// pcapng interface id (0 for classic pcap).
    pub interface: u32,
    /// Captured bytes (may be shorter than `orig_len` when the snaplen cut it).
    pub data: Vec<u8>,
    pub orig_len: u32,
    /// pcapng `opt_comment`s on the packet block, if any.
    pub comments: Vec<String>,
}

/// What a source yields.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceEvent {
    Packet(Packet),
    Diagnostic(Diagnostic),
}

/// Errors that stop a source before it yields anything.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("cannot open {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a pcap, pcapng or XML file (first bytes {magic})")]
    UnknownFormat { path: String, magic: String },
    #[error("{path}: {reason}")]
    Invalid { path: String, reason: String },
}

/// Guesses the file format from its first bytes (never from the file name).
pub fn sniff_format(head: &[u8]) -> Option<CaptureFormat> {
    match head {
        [0xd4, 0xc3, 0xb2, 0xa1, ..]
        | [0xa1, 0xb2, 0xc3, 0xd4, ..]
        | [0x4d, 0x3c, 0xb2, 0xa1, ..]
        | [0xa1, 0xb2, 0x3c, 0x4d, ..]
        // The modified format of old patched Linux tcpdumps (pcap.rs).
        | [0x34, 0xcd, 0xb2, 0xa1, ..]
        | [0xa1, 0xb2, 0xcd, 0x34, ..] => Some(CaptureFormat::Pcap),
        [0x0a, 0x0d, 0x0d, 0x0a, ..] => Some(CaptureFormat::Pcapng),
        _ => {
            let text = head.strip_prefix(&[0xef, 0xbb, 0xbf]).unwrap_or(head);
            let first = text.iter().find(|b| !b.is_ascii_whitespace());
            (first == Some(&b'<')).then_some(CaptureFormat::Xml)
        }
    }
}

/// Events a reader has produced but not yet handed out, plus the bookkeeping shared by the
/// pcap and pcapng readers: frame numbers and the diagnostic cap.
#[derive(Default)]
pub(crate) struct Out {
    queue: VecDeque<SourceEvent>,
    frames: u64,
    diagnostics: usize,
    suppressed: usize,
    /// Packet buffers handed back by the consumer ([`FileSource::recycle`]), reused for
    /// the next packets instead of an allocation per packet.
    spare: Vec<Vec<u8>>,
}

/// Packet buffers kept for reuse: the consumer returns each packet before it asks for the
/// next, so a few suffice.
const SPARE_BUFFERS: usize = 8;
/// Larger buffers (a jumbo or reassembled record) are not kept.
const SPARE_BUFFER_MAX: usize = 256 * 1024;

impl Out {
    /// The number of the next packet record (counted even when the packet is skipped, so
    /// numbers match Wireshark's).
    pub(crate) fn next_frame(&mut self) -> u64 {
        self.frames += 1;
        self.frames
    }

    pub(crate) fn packet(&mut self, p: Packet) {
        self.queue.push_back(SourceEvent::Packet(p));
    }

    /// `data` in a packet buffer: a recycled one when there is one.
    pub(crate) fn packet_data(&mut self, data: &[u8]) -> Vec<u8> {
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(data);
        buf
    }

    pub(crate) fn diag(&mut self, d: Diagnostic) {
        if self.diagnostics < MAX_DIAGNOSTICS {
            self.diagnostics += 1;
            self.queue.push_back(SourceEvent::Diagnostic(d));
        } else {
            self.suppressed += 1;
        }
    }

    fn pop(&mut self) -> Option<SourceEvent> {
        self.queue.pop_front()
    }

    /// The summary of suppressed diagnostics, once, at the end.
    fn finish(&mut self) {
        if self.suppressed > 0 {
            let n = std::mem::take(&mut self.suppressed);
            self.queue
                .push_back(SourceEvent::Diagnostic(Diagnostic::warning(format!(
                    "{n} further capture diagnostics were suppressed (limit {MAX_DIAGNOSTICS})"
                ))));
        }
    }
}

/// A reader over one capture format: `step` reads one record or block (or resynchronises
/// after damage) and queues what it found; false means the end of the input.
pub(crate) trait Reader: Send {
    fn step(&mut self, out: &mut Out) -> bool;
    fn bytes_read(&self) -> u64;
}

/// A pcap or pcapng capture read from a file or any byte stream, packet by packet.
pub struct FileSource {
    name: String,
    format: CaptureFormat,
    reader: Box<dyn Reader>,
    out: Out,
    total: Option<u64>,
    done: bool,
}

impl std::fmt::Debug for FileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSource")
            .field("name", &self.name)
            .field("format", &self.format)
            .field("bytes_read", &self.reader.bytes_read())
            .field("total", &self.total)
            .finish()
    }
}

impl FileSource {
    /// Opens a pcap or pcapng file. Fails only when nothing can be read from it at all
    /// (cannot open, unknown format, header cut short).
    pub fn open(path: &Path) -> Result<FileSource, CaptureError> {
        let name = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|source| CaptureError::Io {
            path: name.clone(),
            source,
        })?;
        let total = file.metadata().ok().map(|m| m.len());
        let mut src = FileSource::from_reader(name, file)?;
        src.total = total;
        Ok(src)
    }

    /// Reads a capture from any byte stream; `name` is used in errors and diagnostics.
    pub fn from_reader(
        name: String,
        r: impl Read + Send + 'static,
    ) -> Result<FileSource, CaptureError> {
        let mut w = window::Window::new(Box::new(r));
        let head = w.peek(0, 4).map(<[u8]>::to_vec).unwrap_or_default();
        if let Some(e) = w.take_error() {
            return Err(CaptureError::Io {
                path: name,
                source: e,
            });
        }
        let mut out = Out::default();
        let (format, reader): (CaptureFormat, Box<dyn Reader>) = match sniff_format(&head) {
            Some(CaptureFormat::Pcap) => (
                CaptureFormat::Pcap,
                Box::new(pcap::PcapReader::new(w, &name, &mut out)?),
            ),
            Some(CaptureFormat::Pcapng) => (
                CaptureFormat::Pcapng,
                Box::new(pcapng::PcapngReader::new(w)),
            ),
            Some(CaptureFormat::Xml) => {
                return Err(CaptureError::Invalid {
                    path: name,
                    reason: "an XML file, not a packet capture".into(),
                })
            }
            None => {
                let magic = head
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<Vec<_>>()
                    .join(" ");
                return Err(CaptureError::UnknownFormat { path: name, magic });
            }
        };
        Ok(FileSource {
            name,
            format,
            reader,
            out,
            total: None,
            done: false,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn format(&self) -> CaptureFormat {
        self.format
    }

    /// The next packet or diagnostic; None at the end of the capture.
    pub fn next_event(&mut self) -> Option<SourceEvent> {
        loop {
            if let Some(ev) = self.out.pop() {
                return Some(ev);
            }
            if self.done {
                return None;
            }
            if !self.reader.step(&mut self.out) {
                self.done = true;
                self.out.finish();
            }
        }
    }

    /// Bytes consumed so far (for a progress bar).
    pub fn bytes_read(&self) -> u64 {
        self.reader.bytes_read()
    }

    /// Hands a packet's buffer back once the packet is consumed, so a later packet reuses
    /// it (optional: a packet simply dropped costs an allocation later, nothing else).
    pub fn recycle(&mut self, packet: Packet) {
        let data = packet.data;
        if self.out.spare.len() < SPARE_BUFFERS && data.capacity() <= SPARE_BUFFER_MAX {
            self.out.spare.push(data);
        }
    }

    /// The same source, told the size of what it reads (a stream opened elsewhere), for
    /// progress.
    pub fn with_total_bytes(mut self, total: Option<u64>) -> FileSource {
        self.total = total;
        self
    }

    /// Size of the file, when known (not for arbitrary streams).
    pub fn total_bytes(&self) -> Option<u64> {
        self.total
    }
}

impl Iterator for FileSource {
    type Item = SourceEvent;
    fn next(&mut self) -> Option<SourceEvent> {
        self.next_event()
    }
}

/// Timestamps of neighbouring records in one capture are within this distance of each
/// other when the capture is sane; used to judge resynchronisation candidates.
pub(crate) const NEIGHBOUR_TS_NANOS: i64 = 24 * 3600 * 1_000_000_000;

/// Reads little- or big-endian integers from a slice known to be long enough (callers peek
/// the exact length first; a short slice yields 0 rather than a panic).
#[derive(Clone, Copy)]
pub(crate) struct Endian {
    pub(crate) big: bool,
}

impl Endian {
    pub(crate) fn u16(self, b: &[u8], at: usize) -> u16 {
        let mut a = [0u8; 2];
        if let Some(s) = b.get(at..at + 2) {
            a.copy_from_slice(s);
        }
        if self.big {
            u16::from_be_bytes(a)
        } else {
            u16::from_le_bytes(a)
        }
    }
    pub(crate) fn u32(self, b: &[u8], at: usize) -> u32 {
        let mut a = [0u8; 4];
        if let Some(s) = b.get(at..at + 4) {
            a.copy_from_slice(s);
        }
        if self.big {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    }
    pub(crate) fn u64(self, b: &[u8], at: usize) -> u64 {
        let mut a = [0u8; 8];
        if let Some(s) = b.get(at..at + 8) {
            a.copy_from_slice(s);
        }
        if self.big {
            u64::from_be_bytes(a)
        } else {
            u64::from_le_bytes(a)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
