//! pcapng files (draft-ietf-opsawg-pcapng): sections (SHB, each with its own byte order and
//! interfaces), interface descriptions (IDB: link type, snaplen, `if_tsresol`,
//! `if_tsoffset`), Enhanced, Simple and obsolete Packet Blocks. Name resolution, statistics,
//! custom and unknown blocks are skipped.
//!
//! Damage handling: a block is accepted when its total length is sane (at least 12, a
//! multiple of 4, at most [`MAX_RECORD`]) and the trailing copy of the length matches. When
//! not, the reader scans forward byte by byte (inserted or removed bytes break alignment) for
//! a candidate: a known block type with a sane length whose trailing copy matches and whose
//! fields are consistent (interface ids that exist, captured lengths that fit).

use super::resync::Resync;
use super::window::Window;
use super::{Endian, LinkType, Out, Packet, Reader, MAX_RECORD, MAX_RESYNC_RECORD};
use crate::model::{Diagnostic, Timestamp};
use std::collections::BTreeSet;

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const PB: u32 = 2;
const SPB: u32 = 3;
const NRB: u32 = 4;
const ISB: u32 = 5;
const EPB: u32 = 6;
const SJE: u32 = 9;
const DSB: u32 = 0x0A;
const CB: u32 = 0x0BAD;
const CB_NOCOPY: u32 = 0x4000_0BAD;
/// Interfaces per section beyond this are ignored (a real capture has a handful).
const MAX_INTERFACES: usize = 4096;
/// Unknown block types reported individually; later ones are skipped silently.
const MAX_REPORTED_UNKNOWN: usize = 16;

fn block_name(t: u32) -> &'static str {
    match t {
        SHB => "SHB",
        IDB => "IDB",
        PB => "Packet Block",
        SPB => "SPB",
        NRB => "NRB",
        ISB => "ISB",
        EPB => "EPB",
        SJE => "systemd journal export block",
        DSB => "decryption secrets block",
        CB | CB_NOCOPY => "custom block",
        _ => "unknown block",
    }
}

/// Smallest valid total length of a block of this type (header, fixed fields, trailer).
fn min_len(t: u32) -> usize {
    match t {
        SHB => 28,
        IDB => 20,
        PB | EPB => 32,
        SPB | NRB => 16,
        ISB => 24,
        _ => 12,
    }
}

#[derive(Clone)]
struct Interface {
    link: LinkType,
    snaplen: u32,
    /// Timestamp units per second (10^6 unless `if_tsresol` says otherwise).
    units_per_sec: u128,
    /// `if_tsoffset`: seconds added to every timestamp.
    offset_secs: i64,
}

pub(crate) struct PcapngReader {
    w: Window,
    /// What the blocks read so far set up; apart from the window so a block can be read in
    /// place, borrowed from the window, rather than copied out of it first.
    s: Sections,
    done: bool,
}

/// The state blocks build up: sections and their interfaces.
struct Sections {
    /// Byte order of the current section; None before the first SHB.
    end: Option<Endian>,
    section: u32,
    interfaces: Vec<Interface>,
    reported_unknown: BTreeSet<u32>,
}

/// One option (code, value) from an options area; stops at opt_endofopt or damage.
fn options(end: Endian, mut b: &[u8]) -> Vec<(u16, &[u8])> {
    let mut v = Vec::new();
    while b.len() >= 4 {
        let code = end.u16(b, 0);
        let len = usize::from(end.u16(b, 2));
        if code == 0 {
            break;
        }
        let padded = (len + 3) & !3;
        let Some(val) = b.get(4..4 + len) else { break };
        v.push((code, val));
        b = b.get(4 + padded..).unwrap_or(&[]);
    }
    v
}

fn comments(end: Endian, opts: &[u8]) -> Vec<String> {
    options(end, opts)
        .into_iter()
        .filter(|(c, _)| *c == 1)
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        .collect()
}

impl PcapngReader {
    pub(crate) fn new(w: Window) -> Self {
        PcapngReader {
            w,
            s: Sections {
                end: None,
                section: 0,
                interfaces: Vec::new(),
                reported_unknown: BTreeSet::new(),
            },
            done: false,
        }
    }

    /// Byte order and total length of an SHB starting `off` bytes ahead, from its BOM.
    fn shb_header(&mut self, off: usize) -> Option<(Endian, usize)> {
        let b = self.w.peek(off, 12)?;
        let big = match b[8..12] {
            [0x1A, 0x2B, 0x3C, 0x4D] => true,
            [0x4D, 0x3C, 0x2B, 0x1A] => false,
            _ => return None,
        };
        let end = Endian { big };
        Some((end, end.u32(b, 4) as usize))
    }

    /// (type, total length, byte order) of the block `off` bytes ahead, if 8 (or for an SHB
    /// 12) bytes are there and its byte order is known.
    fn block_header(&mut self, off: usize) -> Option<(u32, usize, Endian)> {
        let raw = self.w.peek(off, 8)?;
        if raw[0..4] == [0x0A, 0x0D, 0x0D, 0x0A] {
            let (end, len) = self.shb_header(off)?;
            return Some((SHB, len, end));
        }
        let end = self.s.end?;
        Some((end.u32(raw, 0), end.u32(raw, 4) as usize, end))
    }

    fn length_problem(t: u32, len: usize, cap: usize) -> Option<String> {
        if len < min_len(t) {
            Some(format!(
                "total length {len} is below the minimum {} for its type",
                min_len(t)
            ))
        } else if len & 3 != 0 {
            Some(format!("total length {len} is not a multiple of 4"))
        } else if len > cap {
            Some(format!(
                "total length {len} exceeds the {} MiB limit",
                cap >> 20
            ))
        } else {
            None
        }
    }

    /// Whether a block starting `off` bytes ahead is believable enough to resume at.
    fn candidate(&mut self, off: usize) -> bool {
        let Some((t, len, end)) = self.block_header(off) else {
            return false;
        };
        let known = matches!(
            t,
            SHB | IDB | PB | SPB | NRB | ISB | EPB | SJE | DSB | CB | CB_NOCOPY
        );
        if !known || Self::length_problem(t, len, MAX_RESYNC_RECORD).is_some() {
            return false;
        }
        let n_if = self.s.interfaces.len();
        let Some(b) = self.w.peek(off, len) else {
            return false;
        };
        if end.u32(b, len - 4) as usize != len {
            return false;
        }
        match t {
            EPB => (end.u32(b, 8) as usize) < n_if && end.u32(b, 20) as usize <= len - 32,
            PB => usize::from(end.u16(b, 8)) < n_if && end.u32(b, 20) as usize <= len - 32,
            SPB => n_if > 0,
            // The reserved field after the link type must be zero.
            IDB => end.u16(b, 10) == 0,
            _ => true,
        }
    }
}

impl Sections {
    fn timestamp(iface: &Interface, hi: u32, lo: u32) -> Timestamp {
        let units = (u128::from(hi) << 32) | u128::from(lo);
        let ups = iface.units_per_sec.max(1);
        let secs = i64::try_from(units / ups).unwrap_or(i64::MAX);
        let frac = units % ups;
        let nanos = match frac.checked_mul(1_000_000_000) {
            Some(x) => x / ups,
            None => frac / (ups / 1_000_000_000).max(1),
        };
        let nanos = u32::try_from(nanos.min(999_999_999)).unwrap_or(0);
        Timestamp::from_secs_nanos(secs.saturating_add(iface.offset_secs), nanos)
    }

    fn on_shb(&mut self, at: u64, end: Endian, b: &[u8], out: &mut Out) {
        self.end = Some(end);
        self.section += 1;
        self.interfaces.clear();
        let major = end.u16(b, 12);
        if major != 1 {
            out.diag(Diagnostic::warning(format!(
                "pcapng section header at byte {at}: major version {major} (expected 1); \
                 reading it as version 1"
            )));
        }
    }

    fn on_idb(&mut self, at: u64, end: Endian, b: &[u8], out: &mut Out) {
        let code = u32::from(end.u16(b, 8));
        let snaplen = end.u32(b, 12);
        let mut iface = Interface {
            link: LinkType::from_code(code),
            snaplen,
            units_per_sec: 1_000_000,
            offset_secs: 0,
        };
        let id = self.interfaces.len();
        for (c, v) in options(end, b.get(16..b.len() - 4).unwrap_or(&[])) {
            match (c, v) {
                (9, [r]) => {
                    let ups = if r & 0x80 == 0 {
                        10u128.checked_pow(u32::from(*r))
                    } else {
                        1u128.checked_shl(u32::from(r & 0x7f))
                    };
                    match ups {
                        Some(u) if u > 0 => iface.units_per_sec = u,
                        _ => out.diag(Diagnostic::warning(format!(
                            "pcapng interface {id} (IDB at byte {at}): if_tsresol {r:#04x} is \
                             out of range; using microseconds"
                        ))),
                    }
                }
                (14, v) if v.len() == 8 => iface.offset_secs = end.u64(v, 0) as i64,
                _ => {}
            }
        }
        if id >= MAX_INTERFACES {
            out.diag(Diagnostic::warning(format!(
                "pcapng IDB at byte {at}: more than {MAX_INTERFACES} interfaces in section {}; \
                 ignored",
                self.section
            )));
            return;
        }
        if !iface.link.is_supported() {
            out.diag(Diagnostic::warning(format!(
                "pcapng interface {id} (section {}): link type {code} is not supported; its \
                 packets are skipped",
                self.section
            )));
        }
        self.interfaces.push(iface);
    }

    /// Emits a packet from interface `if_id` (or reports why not).
    #[allow(clippy::too_many_arguments)]
    fn emit(
        &mut self,
        at: u64,
        kind: &str,
        if_id: usize,
        ts: Option<(u32, u32)>,
        data: &[u8],
        orig_len: u32,
        comments: Vec<String>,
        out: &mut Out,
    ) {
        let number = out.next_frame();
        let Some(iface) = self.interfaces.get(if_id) else {
            out.diag(Diagnostic::warning(format!(
                "pcapng {kind} at byte {at} (frame {number}): interface {if_id} is not defined \
                 in section {} ({} interfaces); packet skipped",
                self.section,
                self.interfaces.len()
            )));
            return;
        };
        if !iface.link.is_supported() {
            return;
        }
        let data = out.packet_data(data);
        out.packet(Packet {
            number,
            ts: ts.map(|(hi, lo)| Self::timestamp(iface, hi, lo)),
            link: iface.link,
            interface: u32::try_from(if_id).unwrap_or(u32::MAX),
            data,
            orig_len,
            comments,
        });
    }

    fn on_block(&mut self, at: u64, t: u32, end: Endian, b: &[u8], out: &mut Out) {
        let len = b.len();
        match t {
            SHB => self.on_shb(at, end, b, out),
            IDB => self.on_idb(at, end, b, out),
            EPB | PB => {
                let (if_id, kind) = if t == EPB {
                    (end.u32(b, 8) as usize, "EPB")
                } else {
                    (usize::from(end.u16(b, 8)), "Packet Block")
                };
                let (hi, lo) = (end.u32(b, 12), end.u32(b, 16));
                let cap = end.u32(b, 20) as usize;
                let orig = end.u32(b, 24);
                if cap > len - 32 {
                    let number = out.next_frame();
                    out.diag(Diagnostic::warning(format!(
                        "pcapng {kind} at byte {at} (frame {number}): captured length {cap} \
                         exceeds the block (room for {}); packet skipped",
                        len - 32
                    )));
                    return;
                }
                let data = &b[28..28 + cap];
                let opts_at = (28 + cap + 3) & !3;
                let comments = comments(end, b.get(opts_at..len - 4).unwrap_or(&[]));
                self.emit(at, kind, if_id, Some((hi, lo)), data, orig, comments, out);
            }
            SPB => {
                let orig = end.u32(b, 8);
                let mut cap = (orig as usize).min(len - 16);
                if let Some(i) = self.interfaces.first() {
                    if i.snaplen > 0 {
                        cap = cap.min(i.snaplen as usize);
                    }
                }
                let data = &b[12..12 + cap];
                self.emit(at, "SPB", 0, None, data, orig, Vec::new(), out);
            }
            NRB | ISB | SJE | DSB | CB | CB_NOCOPY => {}
            other => {
                if self.reported_unknown.len() < MAX_REPORTED_UNKNOWN
                    && self.reported_unknown.insert(other)
                {
                    out.diag(Diagnostic::info(format!(
                        "pcapng block at byte {at}: unknown block type {other:#010x} skipped \
                         (later blocks of this type are skipped silently)"
                    )));
                }
            }
        }
    }
}

impl Resync for PcapngReader {
    const UNIT: &'static str = "pcapng block";
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

impl Reader for PcapngReader {
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
        let Some((t, len, end)) = self.block_header(0) else {
            let left = self.w.fill(12);
            if left >= 12 || (self.s.end.is_some() && left >= 8) {
                // Enough bytes, but not a block header we can read (a bad SHB byte order).
                self.resync(
                    "not a valid block header (bad section byte-order mark)".into(),
                    out,
                );
                return !self.done;
            }
            out.diag(Diagnostic::warning(format!(
                "pcapng file truncated at byte {}: block header at byte {at} has only {left} \
                 bytes",
                at + left as u64
            )));
            return false;
        };
        let name = block_name(t);
        if let Some(p) = Self::length_problem(t, len, MAX_RECORD) {
            self.resync(format!("{name} (type {t:#x}): {p}"), out);
            return !self.done;
        }
        let avail = self.w.fill(len);
        if avail < len {
            let mut off = 1;
            while !self.w.at_end(off) {
                if self.candidate(off) {
                    out.diag(Diagnostic::warning(format!(
                        "pcapng block at byte {at}: {name} (type {t:#x}) total length {len} runs \
                         past the end of the file; resuming at the next plausible block at \
                         byte {}",
                        at + off as u64
                    )));
                    self.w.advance(off);
                    return true;
                }
                off += 1;
            }
            out.diag(Diagnostic::warning(format!(
                "pcapng file truncated at byte {}: {name} at byte {at} needs {len} bytes, only \
                 {avail} present; packets before it were read",
                at + avail as u64
            )));
            return false;
        }
        let Some(b) = self.w.peek(0, len) else {
            return false;
        };
        let trailer = end.u32(b, len - 4) as usize;
        if trailer != len {
            self.resync(
                format!(
                    "{name} (type {t:#x}): total length {len} does not match its trailing copy \
                     {trailer}"
                ),
                out,
            );
            return !self.done;
        }
        self.s.on_block(at, t, end, b, out);
        self.w.advance(len);
        true
    }
}
