//! Tests of the whole transport stage, fed `StreamEvent`s as the TCP reassembler emits them.
//! Expected values are written out by hand (or built with flate2's encoders), never with the
//! code under test.

use super::{HttpLimits, TransportFrame, TransportStage};
use crate::model::{Diagnostic, FlowDirection, Level, MessageDirection, Timestamp, TransportKind};
use crate::net::StreamEvent;
use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
use flate2::Compression;
use std::io::Write;

const C2S: FlowDirection = FlowDirection::ClientToServer;
const S2C: FlowDirection = FlowDirection::ServerToClient;
const REQ: MessageDirection = MessageDirection::Request;
const RESP: MessageDirection = MessageDirection::Response;

/// Drives a stage like the reassembler would, keeping per-direction offsets.
struct Feed {
    stage: TransportStage,
    out: Vec<TransportFrame>,
    diags: Vec<Diagnostic>,
    off: std::collections::HashMap<(usize, bool), u64>,
}

impl Feed {
    fn new() -> Self {
        Self::with_limits(HttpLimits::default())
    }
    fn with_limits(limits: HttpLimits) -> Self {
        Feed {
            stage: TransportStage::with_limits(limits),
            out: Vec::new(),
            diags: Vec::new(),
            off: Default::default(),
        }
    }
    fn push(&mut self, ev: StreamEvent) {
        self.stage.push(&ev, &mut self.out, &mut self.diags);
    }
    fn open(&mut self, stream: usize) {
        self.push(StreamEvent::Opened {
            stream,
            client: "10.0.0.1:50000".parse().unwrap(),
            server: "10.0.0.2:80".parse().unwrap(),
            ts: None,
        });
    }
    fn data_on(&mut self, stream: usize, dir: FlowDirection, bytes: &[u8], t: i64) {
        let off = self.off.entry((stream, dir == C2S)).or_insert(0);
        let offset = *off;
        *off += bytes.len() as u64;
        self.push(StreamEvent::Data {
            stream,
            dir,
            offset,
            bytes: bytes.to_vec(),
            ts: Some(Timestamp(t)),
        });
    }
    fn data(&mut self, dir: FlowDirection, bytes: &[u8], t: i64) {
        self.data_on(0, dir, bytes, t);
    }
    fn gap_on(&mut self, stream: usize, dir: FlowDirection, length: u64) {
        let off = self.off.entry((stream, dir == C2S)).or_insert(0);
        let offset = *off;
        *off += length;
        self.push(StreamEvent::Gap {
            stream,
            dir,
            offset,
            length,
            ts: None,
        });
    }
    fn gap(&mut self, dir: FlowDirection, length: u64) {
        self.gap_on(0, dir, length);
    }
    fn close(&mut self, dir: FlowDirection) {
        self.push(StreamEvent::Closed {
            stream: 0,
            dir,
            ts: None,
        });
    }
    fn finish(&mut self) {
        self.stage.finish(&mut self.out, &mut self.diags);
    }
    /// (direction, exchange, method or status, body, complete) of every frame, for compact asserts.
    fn summary(&self) -> Vec<(MessageDirection, u64, String, String, bool)> {
        self.out
            .iter()
            .map(|f| {
                let h = f.http.as_ref().unwrap();
                let what = match f.direction {
                    REQ => h.method.clone().unwrap_or_default(),
                    RESP => h.status.map(|s| s.to_string()).unwrap_or_default(),
                };
                (
                    f.direction,
                    f.exchange,
                    what,
                    String::from_utf8_lossy(&f.body).into_owned(),
                    f.complete,
                )
            })
            .collect()
    }
}

fn s(
    d: MessageDirection,
    ex: u64,
    what: &str,
    body: &str,
    complete: bool,
) -> (MessageDirection, u64, String, String, bool) {
    (d, ex, what.to_owned(), body.to_owned(), complete)
}

fn req(path: &str, body: &str) -> Vec<u8> {
    format!("POST {path} HTTP/1.1\r\nHost: svc\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}", body.len())
        .into_bytes()
}

fn resp(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn with_head(head: &str, body: &[u8]) -> Vec<u8> {
    let mut v = head.as_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

#[test]
fn one_exchange_with_metadata_and_times() {
    let mut f = Feed::new();
    f.open(0);
    let r = req("/svc", "<a/>");
    f.data(C2S, &r[..10], 100);
    f.data(C2S, &r[10..], 200);
    f.data(S2C, &resp("<b/>"), 300);
    assert_eq!(
        f.summary(),
        vec![
            s(REQ, 0, "POST", "<a/>", true),
            s(RESP, 0, "200", "<b/>", true)
        ]
    );
    let q = &f.out[0];
    assert_eq!(
        (q.stream, q.ts, q.ts_end),
        (0, Some(Timestamp(100)), Some(Timestamp(200)))
    );
    let h = q.http.as_ref().unwrap();
    assert_eq!(h.path.as_deref(), Some("/svc"));
    assert_eq!(h.version, "HTTP/1.1");
    assert_eq!(h.content_type(), Some("text/xml"));
    assert!(q.errors.is_empty());
    let a = f.out[1].http.as_ref().unwrap();
    assert_eq!((a.status, a.reason.as_deref()), (Some(200), Some("OK")));
    assert_eq!(f.out[1].ts, Some(Timestamp(300)));
    assert_eq!(f.stage.transport_of(0), TransportKind::Http);
    assert!(!f.stage.roles_swapped(0));
    f.close(C2S);
    f.close(S2C);
    f.finish();
    assert_eq!(f.out.len(), 2);
    assert!(f.diags.is_empty(), "{:?}", f.diags);
}

#[test]
fn persistent_connection_and_pipelining() {
    let mut f = Feed::new();
    // Three requests in one segment, then the responses, one split across two segments.
    let mut reqs = req("/1", "one");
    reqs.extend(req("/2", ""));
    reqs.extend(req("/3", "three"));
    f.data(C2S, &reqs, 1);
    let mut resps = resp("r1");
    resps.extend(resp("r2"));
    resps.extend(resp("r3"));
    f.data(S2C, &resps[..resps.len() - 3], 2);
    f.data(S2C, &resps[resps.len() - 3..], 3);
    assert_eq!(
        f.summary(),
        vec![
            s(REQ, 0, "POST", "one", true),
            s(REQ, 1, "POST", "", true),
            s(REQ, 2, "POST", "three", true),
            s(RESP, 0, "200", "r1", true),
            s(RESP, 1, "200", "r2", true),
            s(RESP, 2, "200", "r3", true),
        ]
    );
    assert_eq!(f.out[5].ts, Some(Timestamp(2)));
    assert_eq!(f.out[5].ts_end, Some(Timestamp(3)));
    // Later exchanges on the same connection keep counting.
    f.data(C2S, &req("/4", "four"), 4);
    f.data(S2C, &resp("r4"), 5);
    assert_eq!(
        f.summary()[6..],
        [
            s(REQ, 3, "POST", "four", true),
            s(RESP, 3, "200", "r4", true)
        ]
    );
}

const CHUNKED_RESPONSE: &str =
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n\
    6;name=value\r\n<s:Env\r\n\
    b ; quoted=\"a;b\"\r\nelope>hi</s\r\n\
    A\r\n:Envelope>\r\n\
    0\r\nX-Checksum: 42\r\nX-More: a\r\n\r\n";

fn check_chunked(f: &Feed) {
    assert_eq!(
        f.summary(),
        vec![s(RESP, 0, "200", "<s:Envelope>hi</s:Envelope>", true)]
    );
    let h = f.out[0].http.as_ref().unwrap();
    assert_eq!(
        h.trailers,
        vec![
            ("X-Checksum".into(), "42".into()),
            ("X-More".into(), "a".into())
        ]
    );
    assert!(f.out[0].errors.is_empty(), "{:?}", f.out[0].errors);
}

#[test]
fn chunked_with_extensions_and_trailers_at_any_split() {
    let wire = CHUNKED_RESPONSE.as_bytes();
    // Whole.
    let mut f = Feed::new();
    f.data(S2C, wire, 1);
    check_chunked(&f);
    // Byte by byte: ts of the first and of the last byte.
    let mut f = Feed::new();
    for (i, b) in wire.iter().enumerate() {
        f.data(S2C, &[*b], i as i64);
    }
    check_chunked(&f);
    assert_eq!(f.out[0].ts, Some(Timestamp(0)));
    assert_eq!(f.out[0].ts_end, Some(Timestamp(wire.len() as i64 - 1)));
    // Every split point in two pieces, and in three around it.
    for cut in 1..wire.len() {
        let mut f = Feed::new();
        f.data(S2C, &wire[..cut], 1);
        f.data(S2C, &wire[cut..], 2);
        check_chunked(&f);
        let mut f = Feed::new();
        let b = (cut + 7).min(wire.len());
        f.data(S2C, &wire[..cut], 1);
        f.data(S2C, &wire[cut..b], 2);
        f.data(S2C, &wire[b..], 3);
        check_chunked(&f);
    }
}

#[test]
fn body_delimited_by_close_and_http10() {
    let mut f = Feed::new();
    f.data(C2S, b"GET /wsdl HTTP/1.0\r\n\r\n", 1);
    f.data(
        S2C,
        b"HTTP/1.0 200 OK\r\nContent-Type: text/xml\r\n\r\n<a>",
        2,
    );
    f.data(S2C, b"</a>", 3);
    assert_eq!(f.out.len(), 1, "the response ends with the connection");
    f.close(S2C);
    assert_eq!(
        f.summary(),
        vec![
            s(REQ, 0, "GET", "", true),
            s(RESP, 0, "200", "<a></a>", true)
        ]
    );
    assert_eq!(f.out[1].http.as_ref().unwrap().version, "HTTP/1.0");
    assert_eq!(f.out[1].ts_end, Some(Timestamp(3)));

    // Capture ends before the close: the body is kept, incomplete.
    let mut f = Feed::new();
    f.data(S2C, b"HTTP/1.1 500 Oops\r\n\r\n<fault/>", 1);
    f.finish();
    assert_eq!(f.summary(), vec![s(RESP, 0, "500", "<fault/>", false)]);
    assert!(
        f.out[0].errors[0].contains("capture ended before the connection closed"),
        "{:?}",
        f.out[0].errors
    );
}

#[test]
fn head_204_and_304_have_no_body() {
    let mut f = Feed::new();
    f.data(
        C2S,
        b"HEAD /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n",
        1,
    );
    f.data(S2C, b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", 2);
    f.data(S2C, b"HTTP/1.1 204 No Content\r\n\r\n", 3);
    f.data(
        S2C,
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n",
        4,
    );
    f.data(C2S, &req("/d", "x"), 5);
    f.data(S2C, &resp("y"), 6);
    assert_eq!(
        f.summary(),
        vec![
            s(REQ, 0, "HEAD", "", true),
            s(REQ, 1, "GET", "", true),
            s(REQ, 2, "GET", "", true),
            s(RESP, 0, "200", "", true),
            s(RESP, 1, "204", "", true),
            s(RESP, 2, "304", "", true),
            s(REQ, 3, "POST", "x", true),
            s(RESP, 3, "200", "y", true),
        ]
    );
}

#[test]
fn expect_100_continue() {
    let mut f = Feed::new();
    f.data(
        C2S,
        b"POST /svc HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
        1,
    );
    f.data(S2C, b"HTTP/1.1 100 Continue\r\n\r\n", 2);
    f.data(C2S, b"hello", 3);
    f.data(
        S2C,
        b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        4,
    );
    assert_eq!(
        f.summary(),
        vec![
            s(REQ, 0, "POST", "hello", true),
            s(RESP, 0, "200", "ok", true)
        ]
    );
    assert_eq!(
        (f.out[0].ts, f.out[0].ts_end),
        (Some(Timestamp(1)), Some(Timestamp(3)))
    );
    assert_eq!(f.out[1].ts, Some(Timestamp(4)));
}

#[test]
fn gzip_and_deflate_bodies() {
    let text = b"<s:Envelope><s:Body>compressed compressed compressed</s:Body></s:Envelope>";
    let mut zlib = ZlibEncoder::new(Vec::new(), Compression::best());
    zlib.write_all(text).unwrap();
    let zlib = zlib.finish().unwrap();
    let mut raw = DeflateEncoder::new(Vec::new(), Compression::fast());
    raw.write_all(text).unwrap();
    let raw = raw.finish().unwrap();
    let gz = gzip(text);
    let mut f = Feed::new();
    for (enc, body) in [("gzip", &gz), ("deflate", &zlib), ("deflate", &raw)] {
        f.data(
            S2C,
            &with_head(
                &format!(
                    "HTTP/1.1 200 OK\r\nContent-Encoding: {enc}\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                ),
                body,
            ),
            1,
        );
    }
    // gzip inside chunked, on a request.
    let mut wire =
        b"POST /x HTTP/1.1\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
    for piece in gz.chunks(10) {
        wire.extend(format!("{:x}\r\n", piece.len()).bytes());
        wire.extend_from_slice(piece);
        wire.extend(b"\r\n");
    }
    wire.extend(b"0\r\n\r\n");
    f.data(C2S, &wire, 2);
    assert_eq!(f.out.len(), 4);
    for fr in &f.out {
        assert_eq!(fr.body, text, "{:?}", fr.errors);
        assert!(fr.complete && fr.errors.is_empty(), "{:?}", fr.errors);
    }
}

#[test]
fn decompression_bomb_and_unknown_coding() {
    let limits = HttpLimits {
        max_decoded: 1 << 20,
        ..HttpLimits::default()
    };
    let bomb = gzip(&vec![b'a'; 16 << 20]);
    let mut f = Feed::with_limits(limits);
    f.data(
        S2C,
        &with_head(
            &format!(
                "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
                bomb.len()
            ),
            &bomb,
        ),
        1,
    );
    f.data(
        S2C,
        b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 3\r\n\r\nabc",
        2,
    );
    assert_eq!(f.out.len(), 2);
    assert_eq!(f.out[0].body, bomb, "kept compressed");
    assert_eq!(f.out[0].errors.len(), 1);
    let e = &f.out[0].errors[0];
    assert!(
        e.starts_with("gzip body") && (e.contains("1 MiB cap") || e.contains("1000:1")),
        "{e}"
    );
    assert_eq!(f.out[1].body, b"abc");
    assert_eq!(
        f.out[1].errors,
        vec!["Content-Encoding 'br' is not supported; body kept as sent".to_owned()]
    );
    // The default limits stop a 1000:1 bomb by its ratio.
    let mut f = Feed::new();
    f.data(
        S2C,
        &with_head(
            &format!(
                "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
                bomb.len()
            ),
            &bomb,
        ),
        1,
    );
    assert!(
        f.out[0].errors[0].contains("expands more than 1000:1"),
        "{:?}",
        f.out[0].errors
    );
}

#[test]
fn header_and_body_caps() {
    let limits = HttpLimits {
        max_head: 1024,
        max_body: 100,
        ..HttpLimits::default()
    };
    let mut f = Feed::with_limits(limits);
    let big = "x".repeat(300);
    f.data(S2C, &resp(&big), 1);
    let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..100 {
        head.extend(format!("X-Field-{i}: value\r\n").bytes());
    }
    f.data(S2C, &head, 2);
    f.data(S2C, &resp("after"), 3);
    let sum = f.summary();
    assert_eq!(sum[0], s(RESP, 0, "200", &big[..100], false));
    assert_eq!(
        f.out[0].errors,
        vec!["body larger than the 100 bytes cap; truncated".to_owned()]
    );
    assert!(!sum[1].4);
    assert!(
        f.out[1]
            .errors
            .iter()
            .any(|e| e.contains("header section at stream offset") && e.contains("1 KiB cap")),
        "{:?}",
        f.out[1].errors
    );
    assert_eq!(
        sum.last().unwrap().3,
        "after",
        "framing recovers after the oversized head"
    );
}

#[test]
fn gap_in_a_known_length_body_keeps_framing() {
    let mut f = Feed::new();
    let r1 = req("/1", &"a".repeat(100));
    let head_len = r1.len() - 100;
    f.data(C2S, &r1[..head_len + 30], 1);
    f.gap(C2S, 20);
    f.data(C2S, &r1[head_len + 50..], 2);
    f.data(C2S, &req("/2", "two"), 3);
    assert_eq!(
        f.summary(),
        vec![
            s(REQ, 0, "POST", &"a".repeat(30), false),
            s(REQ, 1, "POST", "two", true)
        ]
    );
    assert_eq!(
        f.out[0].errors,
        vec![format!(
            "body cut by a gap of 20 bytes at stream offset {}",
            head_len + 30
        )]
    );
    assert_eq!(f.out[0].ts_end, Some(Timestamp(2)));
    assert!(f.diags.is_empty(), "no resync needed: {:?}", f.diags);
}

#[test]
fn gap_past_the_end_of_a_body_then_resync() {
    let mut f = Feed::new();
    let r1 = req("/1", "0123456789");
    let r2 = req("/2", "second");
    let r3 = req("/3", "third");
    let mut wire = r1.clone();
    wire.extend(&r2);
    wire.extend(&r3);
    // Lose the last 5 body bytes of r1 and the first 8 bytes of r2: r2 is lost, r3 recovered.
    let cut = r1.len() - 5;
    f.data(C2S, &wire[..cut], 1);
    f.gap(C2S, 13);
    f.data(C2S, &wire[cut + 13..], 2);
    assert_eq!(
        f.summary(),
        vec![
            s(REQ, 0, "POST", "01234", false),
            s(REQ, 1, "POST", "third", true)
        ]
    );
    assert!(f.out[0].errors[0].starts_with("body cut by a gap of 13 bytes at stream offset"));
    assert_eq!(f.diags.len(), 1, "{:?}", f.diags);
    assert!(
        f.diags[0].message.contains("after a gap, skipped"),
        "{:?}",
        f.diags
    );
}

#[test]
fn gap_in_chunked_framing_then_later_message_recovered() {
    let mut f = Feed::new();
    f.data(C2S, &req("/1", "q1"), 1);
    f.data(C2S, &req("/2", "q2"), 1);
    let wire = CHUNKED_RESPONSE.as_bytes();
    // Cut inside the chunk-size line "b ; quoted…": framing of that message is lost.
    let at = CHUNKED_RESPONSE.find("b ; quoted").unwrap() + 2;
    f.data(S2C, &wire[..at], 2);
    f.gap(S2C, 4);
    f.data(S2C, &wire[at + 4..], 3);
    f.data(S2C, &resp("second"), 4);
    let sum = f.summary();
    assert_eq!(sum[2], s(RESP, 0, "200", "<s:Env", false));
    assert!(f.out[2].errors[0].starts_with(&format!(
        "body cut by a gap of 4 bytes at stream offset {at}"
    )));
    assert_eq!(sum[3], s(RESP, 1, "200", "second", true));
    // Byte at a time after the gap: same result.
    let mut g = Feed::new();
    g.data(C2S, &req("/1", "q1"), 1);
    g.data(C2S, &req("/2", "q2"), 1);
    g.data(S2C, &wire[..at], 2);
    g.gap(S2C, 4);
    let mut rest = wire[at + 4..].to_vec();
    rest.extend(resp("second"));
    for b in rest {
        g.data(S2C, &[b], 3);
    }
    assert_eq!(g.summary(), sum);
}

#[test]
fn gap_inside_chunk_data_is_skipped_exactly() {
    let mut f = Feed::new();
    let wire = CHUNKED_RESPONSE.as_bytes();
    let at = CHUNKED_RESPONSE.find("elope>hi").unwrap() + 2;
    f.data(S2C, &wire[..at], 1);
    f.gap(S2C, 3);
    f.data(S2C, &wire[at + 3..], 2);
    f.data(S2C, &resp("next"), 3);
    let sum = f.summary();
    assert_eq!(sum[0], s(RESP, 0, "200", "<s:Envel", false));
    assert_eq!(
        f.out[0].http.as_ref().unwrap().trailers.len(),
        2,
        "trailers still read"
    );
    assert_eq!(sum[1], s(RESP, 1, "200", "next", true));
}

#[test]
fn gap_in_a_header_emits_what_was_seen() {
    let mut f = Feed::new();
    let r = req("/1", "body");
    f.data(C2S, &r[..30], 1);
    f.gap(C2S, 10);
    f.data(C2S, &r[40..], 2);
    f.data(C2S, &req("/2", "two"), 3);
    let sum = f.summary();
    assert_eq!(
        sum,
        vec![s(REQ, 0, "POST", "", false), s(REQ, 1, "POST", "two", true)]
    );
    assert_eq!(f.out[0].http.as_ref().unwrap().path.as_deref(), Some("/1"));
    assert_eq!(
        f.out[0].errors,
        vec![
            "header section cut by a gap of 10 bytes at stream offset 30 (30 bytes seen)"
                .to_owned()
        ]
    );
}

#[test]
fn capture_ends_inside_a_body() {
    let mut f = Feed::new();
    let r = req("/1", &"z".repeat(1000));
    f.data(C2S, &r[..r.len() - 300], 1);
    f.finish();
    assert_eq!(
        f.summary(),
        vec![s(REQ, 0, "POST", &"z".repeat(700), false)]
    );
    assert_eq!(
        f.out[0].errors,
        vec!["capture ended 300 bytes before the end of the body".to_owned()]
    );
    let mut f = Feed::new();
    f.data(
        S2C,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        1,
    );
    f.close(S2C);
    assert_eq!(f.summary(), vec![s(RESP, 0, "200", "ab", false)]);
    assert_eq!(
        f.out[0].errors,
        vec!["connection closed inside chunk data of the chunked body".to_owned()]
    );
    let mut f = Feed::new();
    f.data(S2C, b"HTTP/1.1 200 OK\r\nContent-Le", 1);
    f.finish();
    assert_eq!(f.summary(), vec![s(RESP, 0, "200", "", false)]);
    assert_eq!(
        f.out[0].errors,
        vec!["capture ended inside the header section (27 bytes seen)".to_owned()]
    );
}

#[test]
fn mid_stream_start_recovers() {
    let mut f = Feed::new();
    // Both directions start inside a body; the next messages follow without a newline.
    let mut c2s = b"ope></s:Body></s:Envelope>".to_vec();
    c2s.extend(req("/next", "<n/>"));
    let mut s2c = b"ody></s:Envelope>".to_vec();
    s2c.extend(resp("<r/>"));
    f.data(S2C, &s2c, 1);
    f.data(C2S, &c2s, 2);
    f.data(S2C, &resp("<r2/>"), 3);
    assert_eq!(
        f.summary(),
        vec![
            s(RESP, 0, "200", "<r/>", true),
            s(REQ, 1, "POST", "<n/>", true),
            s(RESP, 1, "200", "<r2/>", true)
        ]
    );
    assert_eq!(
        f.out[1].http.as_ref().unwrap().path.as_deref(),
        Some("/next")
    );
    assert!(
        f.diags.iter().any(|d| d
            .message
            .contains("skipped 17 bytes before the first HTTP message at offset 17 (capture started mid-stream?)")),
        "{:?}",
        f.diags
    );
    assert!(f.diags.iter().any(|d| d
        .message
        .contains("response (exchange 0) to a request not in the capture")));
    assert_eq!(f.stage.transport_of(0), TransportKind::Http);

    // Starting inside a header section, with line ends.
    let mut f = Feed::new();
    f.data(
        C2S,
        b"Length: 3\r\nHost: x\r\n\r\nabcGET /p HTTP/1.1\r\nHost: x\r\n\r\n",
        1,
    );
    assert_eq!(f.summary(), vec![s(REQ, 0, "GET", "", true)]);
}

#[test]
fn role_swap_when_requests_flow_s2c() {
    let mut f = Feed::new();
    f.data(S2C, &req("/svc", "q"), 1);
    f.data(C2S, &resp("a"), 2);
    assert_eq!(
        f.summary(),
        vec![s(REQ, 0, "POST", "q", true), s(RESP, 0, "200", "a", true)]
    );
    assert!(f.stage.roles_swapped(0));
    // Deciding from a status line seen first also works.
    let mut f = Feed::new();
    f.data(C2S, &resp("a"), 1);
    f.data(S2C, &req("/svc", "q"), 2);
    assert!(f.stage.roles_swapped(0));
    assert_eq!(
        f.summary(),
        vec![s(RESP, 0, "200", "a", true), s(REQ, 1, "POST", "q", true)]
    );
    assert!(!f.stage.roles_swapped(7), "unknown stream");
}

#[test]
fn non_http_streams() {
    // TLS: said at once, nothing framed, nothing buffered.
    let mut f = Feed::new();
    f.data_on(
        3,
        C2S,
        &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03],
        1,
    );
    f.data_on(3, S2C, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 2);
    f.finish();
    assert!(f.out.is_empty());
    assert_eq!(f.stage.transport_of(3), TransportKind::Unknown);
    assert_eq!(f.diags.len(), 1);
    assert_eq!(f.diags[0].level, Level::Info);
    assert_eq!(
        f.diags[0].message,
        "stream 3: not HTTP (TLS, first bytes 16 03 01 02 00 01 00 01 …)"
    );

    // Other binary data: one diagnostic at the end, however much data.
    let mut f = Feed::new();
    let mut x: u32 = 7;
    for _ in 0..200 {
        let chunk: Vec<u8> = (0..1000)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x >> 16) as u8
            })
            .collect();
        f.data_on(4, C2S, &chunk, 1);
        assert!(f.stage.max_buffered() <= 16 * 1024);
    }
    f.finish();
    assert!(f.out.is_empty());
    assert_eq!(f.stage.transport_of(4), TransportKind::Unknown);
    assert_eq!(f.diags.len(), 1, "{:?}", f.diags);
    assert!(
        f.diags[0]
            .message
            .starts_with("stream 4: not HTTP (binary data, first bytes "),
        "{}",
        f.diags[0].message
    );

    // net.tcp preamble.
    let mut f = Feed::new();
    f.data_on(5, C2S, &[0x00, 0x01], 1);
    f.data_on(5, C2S, &[0x00, 0x01, 0x02, 0x02], 1);
    f.finish();
    assert!(f.out.is_empty());
    assert_eq!(f.stage.transport_of(5), TransportKind::Nettcp);
    assert!(!f.stage.roles_swapped(5));
    assert_eq!(f.diags.len(), 1);
    assert_eq!(
        f.diags[0].message,
        "stream 5: net.tcp (.NET Message Framing preamble 00 01 00); not decoded"
    );
    // The preamble coming from the side taken for the server: roles swapped.
    let mut f = Feed::new();
    f.data_on(6, S2C, &[0x00, 0x01, 0x00, 0x01, 0x02, 0x02], 1);
    assert_eq!(f.stage.transport_of(6), TransportKind::Nettcp);
    assert!(f.stage.roles_swapped(6));
}

#[test]
fn garbage_between_messages_is_skipped_and_reported() {
    let mut f = Feed::new();
    let mut wire = req("/1", "ab");
    wire.extend(b"\r\n\r\nJUNK JUNK\r\n");
    wire.extend(req("/2", "cd"));
    f.data(C2S, &wire, 1);
    assert_eq!(
        f.summary(),
        vec![s(REQ, 0, "POST", "ab", true), s(REQ, 1, "POST", "cd", true)]
    );
    assert_eq!(f.diags.len(), 1);
    assert!(
        f.diags[0].message.contains("skipped 8 bytes at offset"),
        "{:?}",
        f.diags
    );
    // Trailing bytes that never lead to a message are reported at the end.
    f.data(C2S, b"\r\ntrailing junk\nmore", 2);
    f.finish();
    assert_eq!(f.diags.len(), 2, "{:?}", f.diags);
    let end = format!(
        "stream 0 c2s: 16 bytes from offset {} to the end are not part of any HTTP message",
        wire.len() + 2
    );
    assert_eq!(f.diags[1].message, end);
}

#[test]
fn resync_terminates_on_hostile_input() {
    // Lines that look like starts but never are, long lines without newlines, and near-miss
    // request lines: the stage must consume everything and stay bounded.
    let mut f = Feed::new();
    let nasty: Vec<&[u8]> = vec![
        b"POST ",
        b"HTTP/1.",
        b"GET / HTTP/1.2\r\n",
        b"HTTP/1.1 99 x\r\n",
        b"\n\n\n\r\r\r",
        b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA / HTTP/1.1\n",
    ];
    for round in 0..300 {
        for n in &nasty {
            f.data(C2S, n, round);
        }
    }
    f.data(C2S, &vec![b'A'; 100_000], 1);
    assert!(f.stage.max_buffered() <= 16 * 1024);
    f.data(C2S, &vec![b'\n'; 100_000], 1);
    f.data(C2S, &req("/ok", "fine"), 2);
    assert_eq!(
        f.summary().last().unwrap(),
        &s(REQ, 0, "POST", "fine", true)
    );
    f.finish();
}

/// A tiny deterministic generator (xorshift), so the randomized test needs no crate.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn traffic(rng: &mut Rng) -> (Vec<u8>, Vec<u8>, usize) {
    let mut c2s = Vec::new();
    let mut s2c = Vec::new();
    let count = 1 + rng.below(6);
    for i in 0..count {
        let body = "x".repeat(rng.below(300));
        let head = rng.below(5) == 2;
        match rng.below(5) {
            _ if head => c2s.extend(format!("HEAD /{i} HTTP/1.1\r\n\r\n").bytes()),
            0 => c2s.extend(req(&format!("/{i}"), &body)),
            1 => c2s.extend(format!("GET /{i} HTTP/1.0\r\n\r\n").bytes()),
            _ => {
                c2s.extend(
                    format!("POST /{i} HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").bytes(),
                );
                for p in body.as_bytes().chunks(1 + rng.below(50)) {
                    c2s.extend(format!("{:x};e=1\r\n", p.len()).bytes());
                    c2s.extend(p);
                    c2s.extend(b"\r\n");
                }
                c2s.extend(b"0\r\nT: 1\r\n\r\n");
            }
        }
        let gz = gzip(body.as_bytes());
        match rng.below(4) {
            _ if head => s2c.extend(
                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).bytes(),
            ),
            0 => s2c.extend(resp(&body)),
            1 => s2c.extend(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"),
            2 => s2c.extend(with_head(
                &format!(
                    "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
                    gz.len()
                ),
                &gz,
            )),
            _ => {
                s2c.extend(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
                s2c.extend(format!("{:x}\r\n{body}\r\n0\r\n\r\n", body.len()).bytes());
            }
        }
    }
    (c2s, s2c, count)
}

fn mutate(rng: &mut Rng, data: &mut Vec<u8>) {
    for _ in 0..rng.below(8) {
        if data.is_empty() {
            return;
        }
        let i = rng.below(data.len());
        match rng.below(5) {
            0 => data[i] = rng.next() as u8,
            1 => {
                data.remove(i);
            }
            2 => data.insert(i, b"\r\n:;0123456789abcdefHTTP/1.1 "[rng.below(28)]),
            3 => data.truncate(i),
            _ => {
                let j = rng.below(data.len());
                let piece = data[i.min(j)..i.max(j)].to_vec();
                data.splice(i..i, piece);
            }
        }
    }
}

#[test]
fn randomized_traffic_never_panics() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..1000 {
        let (mut c2s, mut s2c, count) = traffic(&mut rng);
        let mutated = round % 4 != 0;
        if mutated {
            mutate(&mut rng, &mut c2s);
            mutate(&mut rng, &mut s2c);
        }
        let mut f = Feed::with_limits(HttpLimits {
            max_head: 512,
            max_body: 200,
            ..HttpLimits::default()
        });
        let (mut i, mut j) = (0, 0);
        while i < c2s.len() || j < s2c.len() {
            // Unmutated traffic: every request before the responses, so that HEAD is known.
            let c2s_first = !mutated || rng.below(2) == 0;
            let (dir, data, pos) = if c2s_first && i < c2s.len() || j >= s2c.len() {
                (C2S, &c2s, &mut i)
            } else {
                (S2C, &s2c, &mut j)
            };
            let n = (1 + rng.below(40)).min(data.len() - *pos);
            match rng.below(30) {
                0 if mutated => f.gap(dir, 1 + rng.below(100) as u64),
                1 if mutated => f.close(dir),
                _ => {}
            }
            let piece = data[*pos..*pos + n].to_vec();
            *pos += n;
            f.data(dir, &piece, round);
            assert!(
                f.stage.max_buffered() <= 16 * 1024,
                "round {round}: buffering is bounded"
            );
        }
        f.finish();
        if !mutated {
            // Unmutated traffic frames completely, with matching exchanges.
            assert!(
                f.out
                    .iter()
                    .all(|fr| fr.complete || fr.errors.iter().any(|e| e.contains("cap"))),
                "round {round}: {:?}",
                f.out
            );
            let reqs = f.out.iter().filter(|fr| fr.direction == REQ).count();
            let resps = f.out.iter().filter(|fr| fr.direction == RESP).count();
            assert_eq!((reqs, resps), (count, count), "round {round}");
            let paired = f
                .out
                .iter()
                .filter(|fr| fr.direction == RESP)
                .enumerate()
                .all(|(i, fr)| fr.exchange == i as u64);
            assert!(paired, "round {round}");
        }
        for fr in &f.out {
            assert!(fr.body.len() <= 64 << 20);
        }
    }
}

#[test]
fn chunked_body_closed_without_final_crlf() {
    let mut f = Feed::new();
    f.data(
        S2C,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n",
        1,
    );
    f.close(S2C);
    assert_eq!(f.summary(), vec![s(RESP, 0, "200", "ok", true)]);
    assert_eq!(
        f.out[0].errors,
        vec!["connection closed before the chunked body's final CRLF".to_owned()]
    );
}

#[test]
fn overlapping_and_skipping_offsets_are_handled() {
    let mut f = Feed::new();
    let r = req("/1", "0123456789");
    let n = r.len() as u64;
    let data = |offset: u64, bytes: &[u8]| StreamEvent::Data {
        stream: 0,
        dir: C2S,
        offset,
        bytes: bytes.to_vec(),
        ts: Some(Timestamp(offset as i64)),
    };
    // A retransmission overlapping what was delivered is trimmed.
    f.push(data(0, &r[..20]));
    f.push(data(10, &r[10..30]));
    f.push(data(30, &r[30..]));
    assert_eq!(f.summary(), vec![s(REQ, 0, "POST", "0123456789", true)]);
    // A jump in offsets without a Gap event is treated as a gap.
    let r2 = req("/2", "abcdefghij");
    let r3 = req("/3", "third");
    let m = r2.len() as u64;
    f.push(data(n, &r2[..r2.len() - 6]));
    f.push(data(n + m - 2, &r2[r2.len() - 2..]));
    f.push(data(n + m, &r3));
    assert_eq!(
        f.summary()[1..],
        [
            s(REQ, 1, "POST", "abcd", false),
            s(REQ, 2, "POST", "third", true)
        ]
    );
    assert_eq!(
        f.out[1].errors,
        vec![format!(
            "body cut by a gap of 4 bytes at stream offset {}",
            n + m - 6
        )]
    );
    // Events for streams never opened, and stray closes, are harmless.
    f.push(StreamEvent::Closed {
        stream: 9,
        dir: S2C,
        ts: None,
    });
    f.push(StreamEvent::Gap {
        stream: 9,
        dir: S2C,
        offset: 0,
        length: u64::MAX,
        ts: None,
    });
    f.push(StreamEvent::Data {
        stream: 9,
        dir: C2S,
        offset: u64::MAX - 1,
        bytes: b"GET / HTTP/1.1\r\n\r\n".to_vec(),
        ts: None,
    });
    f.finish();
}

#[test]
fn switching_protocols_stops_framing() {
    let mut f = Feed::new();
    f.data(
        C2S,
        b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        1,
    );
    f.data(
        S2C,
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello",
        2,
    );
    f.data(C2S, b"\x81\x85abcdPOST /x HTTP/1.1\r\n\r\n", 3);
    f.finish();
    assert_eq!(
        f.summary(),
        vec![s(REQ, 0, "GET", "", true), s(RESP, 0, "101", "", true)]
    );
    assert_eq!(f.stage.transport_of(0), TransportKind::Http);
    assert!(f
        .diags
        .iter()
        .any(|d| d.message.contains("switched protocols after exchange 0")));

    let mut f = Feed::new();
    f.data(C2S, b"CONNECT svc:443 HTTP/1.1\r\nHost: svc:443\r\n\r\n", 1);
    f.data(S2C, b"HTTP/1.1 200 Connection established\r\n\r\n", 2);
    f.data(C2S, &[0x16, 0x03, 0x01, 0x00, 0x05, b'\n', b'G'], 3);
    f.finish();
    assert_eq!(
        f.summary(),
        vec![s(REQ, 0, "CONNECT", "", true), s(RESP, 0, "200", "", true)]
    );
}

#[test]
fn response_lost_in_a_gap_does_not_shift_pairing() {
    let mut f = Feed::new();
    f.data(C2S, &req("/1", "a"), 1);
    f.data(S2C, &resp("r1"), 2);
    f.data(C2S, &req("/2", "b"), 3);
    f.gap(S2C, resp("r2").len() as u64);
    f.data(C2S, &req("/3", "c"), 4);
    f.data(S2C, &resp("r3"), 5);
    assert_eq!(
        f.summary(),
        vec![
            s(REQ, 0, "POST", "a", true),
            s(RESP, 0, "200", "r1", true),
            s(REQ, 1, "POST", "b", true),
            s(REQ, 2, "POST", "c", true),
            s(RESP, 2, "200", "r3", true),
        ]
    );
    assert!(
        f.diags.iter().any(|d| d.level == Level::Warning
            && d.message.contains("exchange 1 left without a response")),
        "{:?}",
        f.diags
    );
}

#[test]
fn transfer_coding_gzip_under_chunked() {
    let text = b"<x>transfer-coded</x>";
    let gz = gzip(text);
    let mut wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n".to_vec();
    wire.extend(format!("{:x}\r\n", gz.len()).bytes());
    wire.extend(&gz);
    wire.extend(b"\r\n0\r\n\r\n");
    let mut f = Feed::new();
    f.data(S2C, &wire, 1);
    assert_eq!(f.out.len(), 1);
    assert_eq!(f.out[0].body, text);
    assert!(
        f.out[0].complete && f.out[0].errors.is_empty(),
        "{:?}",
        f.out[0].errors
    );
}

#[test]
fn chunked_body_without_its_final_empty_line_ends_at_the_next_message() {
    // Two requests, then two responses whose first chunked body lacks the final CRLF.
    let c2s = req("/1", "a");
    let c2s = [c2s.clone(), req("/2", "b")].concat();
    let s2c: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
    for cut in 1..s2c.len() {
        let mut f = Feed::new();
        f.data(C2S, &c2s, 1);
        f.data(S2C, &s2c[..cut], 2);
        f.data(S2C, &s2c[cut..], 3);
        f.finish();
        let resps: Vec<_> = f.summary().into_iter().filter(|m| m.0 == RESP).collect();
        assert_eq!(
            resps,
            vec![
                s(RESP, 0, "200", "abc", true),
                s(RESP, 1, "200", "hi", true)
            ],
            "cut {cut}"
        );
        let first = f.out.iter().find(|fr| fr.direction == RESP).unwrap();
        assert!(
            first
                .errors
                .iter()
                .any(|e| e.contains("no final empty line")),
            "{:?}",
            first.errors
        );
    }
}

#[test]
fn trailer_line_split_where_it_could_still_be_a_start_line() {
    // "T" could begin "TRACE ": the decoder waits for the next bytes instead of guessing.
    let wire = b"POST /1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nT: 1\r\n\r\nGET /2 HTTP/1.0\r\n\r\n";
    for cut in 1..wire.len() {
        for cut2 in [cut + 1, cut + 3] {
            let cut2 = cut2.min(wire.len());
            let mut f = Feed::new();
            f.data(C2S, &wire[..cut], 1);
            f.data(C2S, &wire[cut..cut2], 2);
            f.data(C2S, &wire[cut2..], 3);
            f.finish();
            assert_eq!(
                f.summary(),
                vec![s(REQ, 0, "POST", "abc", true), s(REQ, 1, "GET", "", true)],
                "cuts {cut} {cut2}"
            );
            assert_eq!(
                f.out[0].http.as_ref().unwrap().trailers,
                vec![("T".into(), "1".into())]
            );
            assert!(f.out[0].errors.is_empty(), "{:?}", f.out[0].errors);
        }
    }
}

/// Content-Length bodies whose middle segments go straight to the body (not through the
/// framer's buffer): the same frames, bodies, times and errors at every segmentation, with
/// pipelined messages, a gap inside a body and the body cap.
#[test]
fn content_length_bodies_at_any_segmentation() {
    let mut wire = resp(&"a".repeat(40));
    wire.extend(resp(&"b".repeat(7)));
    wire.extend(resp(&"c".repeat(150)));
    let limits = || HttpLimits {
        max_body: 100,
        ..HttpLimits::default()
    };
    let frames = |f: &Feed| {
        f.out
            .iter()
            .map(|q| (q.body.clone(), q.complete, q.errors.clone(), q.ts, q.ts_end))
            .collect::<Vec<_>>()
    };
    // Reference: one byte per segment, each its own time.
    let mut reference = Feed::with_limits(limits());
    for (i, b) in wire.iter().enumerate() {
        reference.data(S2C, &[*b], i as i64);
    }
    let expected = frames(&reference);
    assert_eq!(expected.len(), 3);
    assert_eq!(expected[2].0, "c".repeat(100).into_bytes());
    // Segments of every size, each carrying the time of its first byte.
    for size in 1..wire.len() {
        let mut f = Feed::with_limits(limits());
        for (k, piece) in wire.chunks(size).enumerate() {
            f.data(S2C, piece, (k * size) as i64);
        }
        let got = frames(&f);
        assert_eq!(got.len(), 3, "segments of {size}");
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!((&g.0, g.1, &g.2), (&e.0, e.1, &e.2), "segments of {size}");
            // The first and last byte's times are their segments' (multiples of `size`).
            let segment_time = |t: Option<Timestamp>| t.map(|t| t.0 / size as i64 * size as i64);
            assert_eq!(g.3.map(|t| t.0), segment_time(e.3), "segments of {size}");
            assert_eq!(g.4.map(|t| t.0), segment_time(e.4), "segments of {size}");
        }
    }
    // A gap in the middle of the first body: the body is the prefix seen, later messages
    // still decode.
    let mut f = Feed::new();
    let head_len = wire.len() - resp(&"b".repeat(7)).len() - resp(&"c".repeat(150)).len() - 40;
    f.data(S2C, &wire[..head_len + 10], 1);
    f.data(S2C, &wire[head_len + 10..head_len + 20], 2);
    f.gap(S2C, 5);
    f.data(S2C, &wire[head_len + 25..], 3);
    let sum = f.summary();
    assert_eq!(sum[0], s(RESP, 0, "200", &"a".repeat(20), false));
    assert_eq!(sum[1], s(RESP, 1, "200", &"b".repeat(7), true));
    // Cut by the end of the capture: the body seen so far, and the time of its last byte.
    let cut = resp(&"d".repeat(50));
    let cut = &cut[..cut.len() - 5];
    let mut f = Feed::new();
    for (k, piece) in cut.chunks(7).enumerate() {
        f.data(S2C, piece, k as i64);
    }
    f.finish();
    assert_eq!(f.summary()[0], s(RESP, 0, "200", &"d".repeat(45), false));
    assert_eq!(f.out[0].ts_end, Some(Timestamp((cut.len() as i64 - 1) / 7)));
}

/// A chunked response written with chunks of the given sizes over `body`.
fn chunked_resp(body: &str, chunk_sizes: &[usize]) -> Vec<u8> {
    let mut m = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let mut rest = body.as_bytes();
    for &n in chunk_sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let n = n.min(rest.len());
        m.extend(format!("{n:x}\r\n").bytes());
        m.extend_from_slice(&rest[..n]);
        m.extend_from_slice(b"\r\n");
        rest = &rest[n..];
    }
    m.extend_from_slice(b"0\r\n\r\n");
    m
}

/// A body of unknown length (chunked, or until close) grows in few steps, with room at most
/// four times the bytes that arrived (past the first 16 KiB), and never past the body cap.
#[test]
fn unknown_length_body_room_stays_bounded() {
    for (total, max_body) in [(300_000usize, 256 * 1024 * 1024), (50_000, 40_000)] {
        let body: String = (0..total)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let mut f = Feed::with_limits(HttpLimits {
            max_body,
            ..HttpLimits::default()
        });
        for piece in chunked_resp(&body, &[700, 3000, 1]).chunks(1460) {
            f.data(S2C, piece, 1);
        }
        let kept = total.min(max_body);
        assert_eq!(f.out.len(), 1);
        assert_eq!(f.out[0].body, body.as_bytes()[..kept].to_vec());
        let room = f.out[0].body.capacity();
        assert!(room <= max_body, "room {room} over the {max_body} cap");
        assert!(
            room <= 4 * kept.max(16 * 1024),
            "room {room} for {kept} bytes"
        );
    }
}

/// Chunked bodies whose segments inside a chunk go straight to the body (not through the
/// framer's buffer): the same bodies, errors and times at every segmentation, with
/// pipelined messages, chunks of one byte and larger, and the body cap hit mid-chunk.
#[test]
fn chunked_bodies_at_any_segmentation() {
    let first: String = (0..120u8).map(|i| char::from(b'a' + i % 26)).collect();
    let mut wire = chunked_resp(&first, &[1, 17, 40, 3]);
    wire.extend(chunked_resp("short", &[64]));
    wire.extend(resp("after"));
    let limits = || HttpLimits {
        max_body: 100,
        ..HttpLimits::default()
    };
    let cap_error = vec!["body larger than the 100 bytes cap; truncated".to_owned()];
    let last_byte_time = wire.len() - resp("after").len() - chunked_resp("short", &[64]).len() - 1;
    for size in 1..wire.len() {
        let mut f = Feed::with_limits(limits());
        for (k, piece) in wire.chunks(size).enumerate() {
            f.data(S2C, piece, (k * size) as i64);
        }
        let sum = f.summary();
        assert_eq!(sum.len(), 3, "segments of {size}");
        assert_eq!(
            sum[0],
            s(RESP, 0, "200", &first[..100], false),
            "segments of {size}"
        );
        assert_eq!(f.out[0].errors, cap_error, "segments of {size}");
        assert_eq!(f.out[0].ts, Some(Timestamp(0)), "segments of {size}");
        let end = (last_byte_time / size * size) as i64;
        assert_eq!(f.out[0].ts_end, Some(Timestamp(end)), "segments of {size}");
        assert_eq!(
            sum[1],
            s(RESP, 1, "200", "short", true),
            "segments of {size}"
        );
        assert!(f.out[1].errors.is_empty(), "segments of {size}");
        assert_eq!(
            sum[2],
            s(RESP, 2, "200", "after", true),
            "segments of {size}"
        );
    }
}

/// A large Content-Length body grows towards the announced length in few steps, and a false
/// claim reserves memory only in proportion to the bytes that really arrived.
#[test]
fn announced_length_bounds_body_growth() {
    let body = "q".repeat(300_000);
    let r = req("/big", &body);
    let mut f = Feed::new();
    for piece in r.chunks(1460) {
        f.data(C2S, piece, 1);
    }
    assert_eq!(f.summary(), vec![s(REQ, 0, "POST", &body, true)]);

    // 200 MB announced (under the 256 MiB cap), 100 KB sent, then the capture ends.
    let mut f = Feed::new();
    let head = b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 200000000\r\n\r\n";
    f.data(C2S, head, 1);
    let mut sent = 0;
    while sent < 100_000 {
        f.data(C2S, &[b'x'; 1000], 1);
        sent += 1000;
    }
    f.finish();
    assert_eq!(f.out.len(), 1);
    assert_eq!(f.out[0].body.len(), sent);
    assert!(!f.out[0].complete);
    assert!(
        f.out[0].body.capacity() <= 16 * sent + 65_536,
        "capacity {} for {sent} bytes received",
        f.out[0].body.capacity()
    );
}
