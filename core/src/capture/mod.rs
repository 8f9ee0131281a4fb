//! Packet sources: pcap and pcapng files (and, behind the `live` feature, live devices).
//!
//! A source yields [`SourceEvent`]s: packets with their link type and timestamp, and
//! diagnostics for what could not be read (a corrupt record, a truncated file). A source
//! never stops at the first bad record when more can be read after it.

use crate::model::{CaptureFormat, Diagnostic, Timestamp};

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
        | [0xa1, 0xb2, 0x3c, 0x4d, ..] => Some(CaptureFormat::Pcap),
        [0x0a, 0x0d, 0x0d, 0x0a, ..] => Some(CaptureFormat::Pcapng),
        _ => {
            let text = head.strip_prefix(&[0xef, 0xbb, 0xbf]).unwrap_or(head);
            let first = text.iter().find(|b| !b.is_ascii_whitespace());
            (first == Some(&b'<')).then_some(CaptureFormat::Xml)
        }
    }
}
