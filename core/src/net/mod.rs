//! L2–L4: link-layer decode, IPv4/IPv6 (with IPv4 fragment reassembly) through etherparse,
//! and TCP reassembly per direction.
//!
//! [`NetStage`] is fed packets in capture order and emits [`StreamEvent`]s: in-order stream
//! bytes per direction, gaps (bytes that never arrived, with their position), and closes.
//! It never papers over a gap.

use crate::model::{Diagnostic, FlowDirection, Timestamp};
use std::net::SocketAddr;

/// What the TCP reassembler emits, in capture order.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// A new TCP connection was seen. `stream` ids follow the order of each stream's first
    /// packet. `client` is the SYN sender, or a best guess for a capture that starts mid-stream.
    Opened {
        stream: usize,
        client: SocketAddr,
        server: SocketAddr,
        ts: Option<Timestamp>,
    },
    /// Contiguous bytes at `offset` (relative to the first byte seen in that direction).
    Data {
        stream: usize,
        dir: FlowDirection,
        offset: u64,
        bytes: Vec<u8>,
        ts: Option<Timestamp>,
    },
    /// `length` bytes at `offset` are missing from the capture.
    Gap {
        stream: usize,
        dir: FlowDirection,
        offset: u64,
        length: u64,
        ts: Option<Timestamp>,
    },
    /// No more bytes will come in this direction (FIN, RST or end of capture).
    Closed {
        stream: usize,
        dir: FlowDirection,
        ts: Option<Timestamp>,
    },
    Diagnostic(Diagnostic),
}
