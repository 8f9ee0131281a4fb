//! The header section of one HTTP/1.x message: parsing it (httparse, with a lenient fallback
//! for heads that are malformed or cut short) and deciding from it how the body is delimited
//! (RFC 9112 §6).

use super::startline::Kind;
use super::HttpMessage;

/// Most header fields kept from one header section.
pub(crate) const MAX_HEADERS: usize = 1024;

/// A parsed header section.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Head {
    pub http: HttpMessage,
    /// Problems met while parsing (the head was still used).
    pub errors: Vec<String>,
}

/// Finds the end of a header section in `data`, starting the search at `from` (bytes before it
/// were already searched). Returns the length of the head including its empty line, or
/// `Err(resume)` with the position to resume from once more bytes arrive.
pub(crate) fn find_head_end(data: &[u8], from: usize) -> Result<usize, usize> {
    let mut i = from;
    while let Some(p) = data
        .get(i..)
        .and_then(|d| d.iter().position(|&b| b == b'\n'))
    {
        let nl = i + p;
        match (data.get(nl + 1), data.get(nl + 2)) {
            (Some(b'\n'), _) => return Ok(nl + 2),
            (Some(b'\r'), Some(b'\n')) => return Ok(nl + 3),
            (None, _) | (Some(b'\r'), None) => return Err(nl),
            _ => i = nl + 1,
        }
    }
    Err(data.len())
}

/// Parses a complete header section (start line, fields, empty line) of the given kind.
pub(crate) fn parse_head(bytes: &[u8], kind: Kind) -> Head {
    let lines = bytes.iter().filter(|&&b| b == b'\n').count();
    if lines > MAX_HEADERS + 2 {
        let mut head = parse_lenient(bytes, kind);
        head.errors.push(format!(
            "header section has {lines} lines; only the first {MAX_HEADERS} fields are kept"
        ));
        return head;
    }
    let mut fields = vec![httparse::EMPTY_HEADER; lines];
    let mut config = httparse::ParserConfig::default();
    config
        .allow_spaces_after_header_name_in_responses(true)
        .allow_obsolete_multiline_headers_in_responses(true)
        .allow_multiple_spaces_in_response_status_delimiters(true);
    let parsed = match kind {
        Kind::Request => {
            let mut req = httparse::Request::new(&mut fields);
            match config.parse_request(&mut req, bytes) {
                Ok(httparse::Status::Complete(_)) => Ok(HttpMessage {
                    method: req.method.map(str::to_owned),
                    path: req.path.map(str::to_owned),
                    version: version_text(req.version),
                    headers: owned_fields(req.headers),
                    ..HttpMessage::default()
                }),
                Ok(httparse::Status::Partial) => Err("header section incomplete".to_owned()),
                Err(e) => Err(e.to_string()),
            }
        }
        Kind::Response => {
            let mut resp = httparse::Response::new(&mut fields);
            match config.parse_response(&mut resp, bytes) {
                Ok(httparse::Status::Complete(_)) => Ok(HttpMessage {
                    status: resp.code,
                    reason: resp.reason.map(str::to_owned),
                    version: version_text(resp.version),
                    headers: owned_fields(resp.headers),
                    ..HttpMessage::default()
                }),
                Ok(httparse::Status::Partial) => Err("header section incomplete".to_owned()),
                Err(e) => Err(e.to_string()),
            }
        }
    };
    match parsed {
        Ok(http) => Head {
            http,
            errors: Vec::new(),
        },
        Err(why) => {
            let mut head = parse_lenient(bytes, kind);
            head.errors.push(format!(
                "malformed header section ({why}); parsed leniently"
            ));
            head
        }
    }
}

fn version_text(minor: Option<u8>) -> String {
    match minor {
        Some(0) => "HTTP/1.0".to_owned(),
        _ => "HTTP/1.1".to_owned(),
    }
}

fn owned_fields(fields: &[httparse::Header<'_>]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|h| {
            (
                h.name.to_owned(),
                String::from_utf8_lossy(h.value).trim().to_owned(),
            )
        })
        .collect()
}

/// Parses whatever can be read from a header section that is malformed or cut short: the
/// start line (already recognised by `startline`) and every complete `name: value` line.
pub(crate) fn parse_lenient(bytes: &[u8], kind: Kind) -> Head {
    let mut lines = bytes.split(|&b| b == b'\n');
    let start = lines.next().unwrap_or_default();
    let start = String::from_utf8_lossy(start.strip_suffix(b"\r").unwrap_or(start)).into_owned();
    let mut http = HttpMessage::default();
    let mut parts = start.splitn(3, ' ');
    let (a, b, c) = (parts.next(), parts.next(), parts.next());
    match kind {
        Kind::Request => {
            http.method = a.map(str::to_owned);
            // The target may not contain spaces; the version is the last word.
            let rest = start.split_once(' ').map(|(_, r)| r).unwrap_or_default();
            let (target, version) = rest.rsplit_once(' ').unwrap_or((rest, ""));
            http.path = Some(target.to_owned());
            http.version = version.to_owned();
        }
        Kind::Response => {
            http.version = a.unwrap_or_default().to_owned();
            http.status = b.and_then(|s| s.parse().ok());
            http.reason = c.map(str::to_owned);
        }
    }
    // Every line that ends (the last split piece has no '\n' after it, so it is skipped).
    let complete_lines: Vec<&[u8]> = {
        let mut v: Vec<&[u8]> = lines.collect();
        v.pop();
        v
    };
    for line in complete_lines {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if http.headers.len() >= MAX_HEADERS {
            break;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            // Obsolete line folding: continue the previous value.
            if let Some((_, v)) = http.headers.last_mut() {
                v.push(' ');
                v.push_str(String::from_utf8_lossy(line).trim());
            }
            continue;
        }
        if let Some(colon) = line.iter().position(|&b| b == b':') {
            let name = String::from_utf8_lossy(&line[..colon]).trim().to_owned();
            let value = String::from_utf8_lossy(&line[colon + 1..])
                .trim()
                .to_owned();
            if !name.is_empty() {
                http.headers.push((name, value));
            }
        }
    }
    Head {
        http,
        errors: Vec::new(),
    }
}

/// How a message's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body (a request without length, HEAD/1xx/204/304 responses).
    Empty,
    Length(u64),
    Chunked,
    /// Read until the connection closes (responses without a length).
    UntilClose,
}

/// What the request a response answers says about the response's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct RequestTraits {
    pub head: bool,
    pub connect: bool,
}

/// Decides the body framing of a message from its header (RFC 9112 §6.3). Returns the framing
/// and any problem worth reporting.
pub(crate) fn body_framing(
    kind: Kind,
    http: &HttpMessage,
    req: RequestTraits,
) -> (Framing, Option<String>) {
    if kind == Kind::Response {
        let status = http.status.unwrap_or(0);
        if req.head || (100..200).contains(&status) || status == 204 || status == 304 {
            return (Framing::Empty, None);
        }
    }
    let te = transfer_codings(http);
    let cl = content_length(http);
    if let Some(te) = te {
        let conflict = cl.is_some().then(|| {
            "both Transfer-Encoding and Content-Length present; Transfer-Encoding used".to_owned()
        });
        if te.last().is_some_and(|c| c == "chunked") {
            return (Framing::Chunked, conflict);
        }
        // RFC 9112 §6.3: a request whose final coding is not chunked cannot be delimited; the
        // server closes the connection, so reading to the close frames it as it happened.
        let why = format!(
            "Transfer-Encoding '{}' does not end in chunked; body read until the connection closes",
            te.join(", ")
        );
        return (Framing::UntilClose, Some(why));
    }
    match cl {
        Some(Ok(n)) => (Framing::Length(n), None),
        Some(Err(bad)) => {
            let why = format!("invalid Content-Length '{bad}'; body treated as empty");
            (Framing::Empty, Some(why))
        }
        None if kind == Kind::Request => (Framing::Empty, None),
        None => (Framing::UntilClose, None),
    }
}

/// The transfer codings in order, lower-cased, or None when there is no Transfer-Encoding.
pub(crate) fn transfer_codings(http: &HttpMessage) -> Option<Vec<String>> {
    let codings: Vec<String> = http
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("transfer-encoding"))
        .flat_map(|(_, v)| v.split(','))
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|c| !c.is_empty())
        .collect();
    (!codings.is_empty()).then_some(codings)
}

/// The Content-Length: None when absent, `Err(value)` when invalid or contradictory.
fn content_length(http: &HttpMessage) -> Option<Result<u64, String>> {
    let mut found: Option<u64> = None;
    let mut any = false;
    for (_, v) in http
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
    {
        any = true;
        // A list of identical values is accepted (RFC 9110 §8.6).
        for part in v.split(',') {
            let part = part.trim();
            let n = match part.parse::<u64>() {
                Ok(n) if part.bytes().all(|b| b.is_ascii_digit()) => n,
                _ => return Some(Err(v.clone())),
            };
            if found.is_some_and(|f| f != n) {
                return Some(Err(v.clone()));
            }
            found = Some(n);
        }
    }
    match (any, found) {
        (false, _) => None,
        (true, Some(n)) => Some(Ok(n)),
        (true, None) => Some(Err(String::new())),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn head_end() {
        assert_eq!(
            find_head_end(b"GET / HTTP/1.1\r\nA: b\r\n\r\nBODY", 0),
            Ok(24)
        );
        assert_eq!(find_head_end(b"GET / HTTP/1.1\nA: b\n\nBODY", 0), Ok(21));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\nA: b\r\n\r", 0), Err(21));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\nA: b", 0), Err(20));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\nA: b\r\n", 0), Err(21));
    }

    #[test]
    fn parses_request_and_response() {
        let h = parse_head(
            b"POST /svc HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n",
            Kind::Request,
        );
        assert!(h.errors.is_empty(), "{:?}", h.errors);
        assert_eq!(h.http.method.as_deref(), Some("POST"));
        assert_eq!(h.http.path.as_deref(), Some("/svc"));
        assert_eq!(h.http.version, "HTTP/1.1");
        assert_eq!(h.http.header("content-length"), Some("3"));
        let h = parse_head(b"HTTP/1.0 500 Internal Error\r\n\r\n", Kind::Response);
        assert_eq!(h.http.status, Some(500));
        assert_eq!(h.http.reason.as_deref(), Some("Internal Error"));
        assert_eq!(h.http.version, "HTTP/1.0");
    }

    #[test]
    fn lenient_fallback_keeps_fields() {
        let h = parse_head(
            b"POST /svc HTTP/1.1\r\nGood: 1\r\nBad\x01Name: 2\r\nLength: 4\r\n\r\n",
            Kind::Request,
        );
        assert_eq!(h.errors.len(), 1);
        assert!(
            h.errors[0].starts_with("malformed header section"),
            "{:?}",
            h.errors
        );
        assert_eq!(h.http.method.as_deref(), Some("POST"));
        assert_eq!(h.http.header("good"), Some("1"));
        assert_eq!(h.http.header("length"), Some("4"));
    }

    #[test]
    fn partial_head() {
        let h = parse_lenient(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Len",
            Kind::Response,
        );
        assert_eq!(h.http.status, Some(200));
        assert_eq!(
            h.http.headers,
            vec![("Content-Type".to_owned(), "text/xml".to_owned())]
        );
    }

    fn msg(kind: Kind, head: &str) -> HttpMessage {
        parse_head(head.as_bytes(), kind).http
    }

    #[test]
    fn framing_rules() {
        let r = RequestTraits::default();
        let req = |h: &str| body_framing(Kind::Request, &msg(Kind::Request, h), r);
        let resp = |h: &str, r| body_framing(Kind::Response, &msg(Kind::Response, h), r);
        assert_eq!(
            req("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n"),
            (Framing::Length(10), None)
        );
        assert_eq!(req("GET / HTTP/1.1\r\n\r\n"), (Framing::Empty, None));
        assert_eq!(
            req("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").0,
            Framing::Chunked
        );
        assert_eq!(
            req("POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n").0,
            Framing::Length(5)
        );
        assert_eq!(
            req("POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n").0,
            Framing::Empty
        );
        assert_eq!(
            req("POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n").0,
            Framing::Empty
        );
        let (f, e) =
            req("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
        assert_eq!(f, Framing::Chunked);
        assert!(e.is_some());
        assert_eq!(resp("HTTP/1.1 200 OK\r\n\r\n", r).0, Framing::UntilClose);
        assert_eq!(resp("HTTP/1.1 204 No Content\r\n\r\n", r).0, Framing::Empty);
        assert_eq!(
            resp("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", r).0,
            Framing::Empty
        );
        assert_eq!(resp("HTTP/1.1 100 Continue\r\n\r\n", r).0, Framing::Empty);
        let head = RequestTraits {
            head: true,
            connect: false,
        };
        assert_eq!(
            resp("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", head).0,
            Framing::Empty
        );
        assert_eq!(
            resp("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", r).0,
            Framing::Length(9)
        );
    }
}
