//! The reading half of the pipeline: packets → TCP reassembly → HTTP framing, turned into
//! an ordered list of [`Item`]s that the rest of the pipeline ([`super::Analyzer`]) applies.
//!
//! Split out so the two halves can run on different threads (see `parallel.rs`) and each
//! message body can be parsed on a third, while the result stays exactly what one thread
//! gives: the items carry everything the later half used to ask the reading stages for, in
//! the order it happened.

use super::message::looks_like_xml;
use crate::capture::Packet;
use crate::model::{Diagnostic, Timestamp, TransportKind};
use crate::net::{NetStage, StreamEvent};
use crate::soap::{Envelope, SoapError};
use crate::transport::{TransportFrame, TransportStage};
use crate::xml::decode::needs_decoding;

/// One step of what the reading half saw, in order.
pub(super) enum Item {
    /// A stream event other than data (opened, gap, closed, diagnostic).
    Stream(StreamEvent),
    /// A diagnostic of the capture source or of HTTP framing.
    Diagnostic(Diagnostic),
    /// A framed message.
    Frame(Box<FrameItem>),
    /// The end of one packet's items (the later half settles messages here).
    PacketEnd,
}

impl Item {
    /// Bytes of message body this item carries.
    pub fn body_len(&self) -> usize {
        match self {
            Item::Frame(f) => f.frame.body.len(),
            _ => 0,
        }
    }
}

/// A framed message and what the later half needs to know about it.
pub(super) struct FrameItem {
    pub frame: TransportFrame,
    /// The HTTP layer's view, when the frame came out, of whether the TCP layer guessed
    /// client and server the wrong way round on this stream.
    pub roles_swapped: bool,
    /// The body parsed as a SOAP envelope: None until [`FrameItem::parse`] ran.
    pub parsed: Option<Parsed>,
    /// Copy the Body's text out when parsing (false with `Options::json_bodies`).
    pub copy_body_text: bool,
}

/// A body parsed as a SOAP envelope, or not XML at all.
pub(super) enum Parsed {
    NotXml,
    Envelope(Box<ParsedEnvelope>),
}

/// What a parser thread works out of a body that looks like XML.
pub(super) struct ParsedEnvelope {
    pub envelope: Result<Envelope, SoapError>,
    /// The Body's inner XML as text (the report's `body`), when the envelope parsed and the
    /// report wants a copy (not with `Options::json_bodies`): copied out here so the copy
    /// runs on a parser thread, not on the ordered one.
    pub body_text: Option<String>,
}

impl FrameItem {
    /// Parses the body (once; any thread).
    pub fn parse(&mut self) {
        if self.parsed.is_none() {
            self.parsed = Some(parse_body(&mut self.frame.body, self.copy_body_text));
        }
    }

    /// The parsed body, parsing it now if no one did. A body the envelope took over (see
    /// [`parse_body`]) is no longer in `frame.body`: [`raw_body`] has it.
    pub fn take_parsed(&mut self) -> Option<ParsedEnvelope> {
        match self
            .parsed
            .take()
            .unwrap_or_else(|| parse_body(&mut self.frame.body, self.copy_body_text))
        {
            Parsed::NotXml => None,
            Parsed::Envelope(r) => Some(*r),
        }
    }
}

/// The body bytes as framed: `frame.body`, or the envelope's source when a parse took
/// the bytes over (they are the same bytes then).
pub(super) fn raw_body<'a>(
    frame: &'a TransportFrame,
    parsed: Option<&'a Result<Envelope, SoapError>>,
) -> &'a [u8] {
    match parsed {
        Some(Ok(env)) if frame.body.is_empty() => &env.doc.source,
        _ => &frame.body,
    }
}

/// Parses a body. One that needs no decoding (UTF-8 without a byte order mark: nearly
/// all) moves into the envelope as its source instead of being copied; it comes back to
/// `body` if the parse fails, so `body` is empty exactly when the envelope holds it, and
/// the envelope's source is then these bytes unchanged.
fn parse_body(body: &mut Vec<u8>, copy_body_text: bool) -> Parsed {
    if !looks_like_xml(body) {
        return Parsed::NotXml;
    }
    let envelope = if body.is_empty() || needs_decoding(body) {
        Envelope::parse(body)
    } else {
        Envelope::parse_owned(std::mem::take(body)).map_err(|(e, bytes)| {
            *body = bytes;
            e
        })
    };
    let body_text = if copy_body_text {
        envelope.as_ref().ok().map(Envelope::body_inner_xml)
    } else {
        None
    };
    Parsed::Envelope(Box::new(ParsedEnvelope {
        envelope,
        body_text,
    }))
}

/// What the reading half knows at the end, for the report's capture and stream facts.
pub(super) struct ReadSummary {
    pub packets: u64,
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
    /// Per stream, in the order streams opened: (roles swapped, transport).
    pub stream_transport: Vec<(bool, TransportKind)>,
}

/// Packets in, items out.
pub(super) struct Reader {
    /// Passed on to every frame (false with `Options::json_bodies`).
    copy_body_text: bool,
    net: NetStage,
    transport: TransportStage,
    events: Vec<StreamEvent>,
    frames: Vec<TransportFrame>,
    diagnostics: Vec<Diagnostic>,
    packets: u64,
    first_ts: Option<Timestamp>,
    last_ts: Option<Timestamp>,
    streams_opened: usize,
}

impl Reader {
    pub fn new(copy_body_text: bool) -> Reader {
        Reader {
            copy_body_text,
            net: NetStage::new(),
            transport: TransportStage::new(),
            events: Vec::new(),
            frames: Vec::new(),
            diagnostics: Vec::new(),
            packets: 0,
            first_ts: None,
            last_ts: None,
            streams_opened: 0,
        }
    }

    /// Packets read so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Reads one packet; its items end with [`Item::PacketEnd`].
    pub fn push_packet(&mut self, packet: &Packet, out: &mut Vec<Item>) {
        self.packets += 1;
        if let Some(ts) = packet.ts {
            self.first_ts = Some(self.first_ts.map_or(ts, |f| f.min(ts)));
            self.last_ts = Some(self.last_ts.map_or(ts, |l| l.max(ts)));
        }
        let mut events = std::mem::take(&mut self.events);
        self.net.push(packet, &mut events);
        self.drain_events(&mut events, out);
        self.events = events;
        out.push(Item::PacketEnd);
    }

    /// Flushes TCP reassembly and HTTP framing at the end of the input.
    pub fn finish(&mut self, out: &mut Vec<Item>) {
        let mut events = std::mem::take(&mut self.events);
        self.net.finish(&mut events);
        self.drain_events(&mut events, out);
        let mut frames = std::mem::take(&mut self.frames);
        self.transport.finish(&mut frames, &mut self.diagnostics);
        self.emit(&mut frames, out);
        self.frames = frames;
    }

    /// The capture and stream facts, once [`Reader::finish`] ran.
    pub fn summary(&self) -> ReadSummary {
        ReadSummary {
            packets: self.packets,
            first_ts: self.first_ts,
            last_ts: self.last_ts,
            stream_transport: (0..self.streams_opened)
                .map(|id| {
                    (
                        self.transport.roles_swapped(id),
                        self.transport.transport_of(id),
                    )
                })
                .collect(),
        }
    }

    fn drain_events(&mut self, events: &mut Vec<StreamEvent>, out: &mut Vec<Item>) {
        let mut frames = std::mem::take(&mut self.frames);
        for ev in events.drain(..) {
            self.transport.push(&ev, &mut frames, &mut self.diagnostics);
            match ev {
                StreamEvent::Data { bytes, .. } => self.net.recycle(bytes),
                StreamEvent::Opened { .. } => {
                    self.streams_opened += 1;
                    out.push(Item::Stream(ev));
                }
                other => out.push(Item::Stream(other)),
            }
            self.emit(&mut frames, out);
        }
        self.frames = frames;
    }

    /// HTTP diagnostics, then the frames they came with (the order one thread sees).
    fn emit(&mut self, frames: &mut Vec<TransportFrame>, out: &mut Vec<Item>) {
        out.extend(self.diagnostics.drain(..).map(Item::Diagnostic));
        for frame in frames.drain(..) {
            let roles_swapped = self.transport.roles_swapped(frame.stream);
            out.push(Item::Frame(Box::new(FrameItem {
                frame,
                roles_swapped,
                parsed: None,
                copy_body_text: self.copy_body_text,
            })));
        }
    }
}
