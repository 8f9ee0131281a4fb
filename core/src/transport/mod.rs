//! Framing of reassembled TCP streams into SOAP-carrying messages: HTTP/1.1 now, net.tcp later.
//!
//! One [`TransportFrame`] is one request or response with its decoded body (de-chunked,
//! decompressed) and its metadata. [`TransportStage`] is fed the TCP reassembler's
//! `StreamEvent`s and emits frames as soon as each message is complete; `finish` emits what
//! is still in progress at the end of the capture, marked incomplete.
//!
//! Submodules, one job each: `http` (the stage: protocol detection, roles, request/response
//! pairing), `framer` (one direction's state machine: heads, bodies, gaps, resynchronisation),
//! `startline` (recognising message starts, sniffing TLS / net.tcp), `head` (header parsing and
//! body framing rules), `chunked` (the chunked coding), `decode` (gzip / deflate, bounded).

mod chunked;
mod decode;
mod framer;
mod head;
mod http;
mod startline;

pub use http::{HttpLimits, TransportStage};

use crate::model::{MessageDirection, Timestamp};

/// Metadata of one HTTP message.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HttpMessage {
    pub method: Option<String>,
    pub path: Option<String>,
    pub status: Option<u16>,
    pub reason: Option<String>,
    /// "HTTP/1.1" or "HTTP/1.0".
    pub version: String,
    /// Header fields in wire order, names as sent.
    pub headers: Vec<(String, String)>,
    /// Trailer fields of a chunked body.
    pub trailers: Vec<(String, String)>,
}

impl HttpMessage {
    /// First header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }
}

/// One framed message from a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct TransportFrame {
    pub stream: usize,
    pub direction: MessageDirection,
    /// Position of this request (or of the request this response answers) on its stream:
    /// request n and response n share it, which pairs them (HTTP/1.1 pipelining keeps order).
    pub exchange: u64,
    /// Time of the packet carrying the first byte of the message.
    pub ts: Option<Timestamp>,
    /// Time of the packet carrying the last byte.
    pub ts_end: Option<Timestamp>,
    pub http: Option<HttpMessage>,
    /// The payload as the application sees it: de-chunked and decompressed.
    pub body: Vec<u8>,
    /// False when a gap or the end of the capture cut the message; `body` has what was seen.
    pub complete: bool,
    /// Specific, human-readable problems met while framing this message.
    pub errors: Vec<String>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
