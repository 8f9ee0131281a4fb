//! Incremental decoder of the chunked transfer coding (RFC 9112 §7.1): chunk-size lines with
//! optional extensions (ignored), chunk data, the last chunk, and the trailer section (kept).
//! Fed arbitrary slices; holds at most one line of its own.

/// Longest chunk-size line (size + extensions) accepted.
const MAX_SIZE_LINE: usize = 4096;
/// Largest trailer section accepted.
pub(crate) const MAX_TRAILERS: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Reading a chunk-size line into `line`.
    Size,
    /// Inside chunk data.
    Data {
        remaining: u64,
    },
    /// After chunk data: expecting CRLF (a bare LF is tolerated). `cr` once the CR was seen.
    DataEnd {
        cr: bool,
    },
    /// Reading trailer lines into `line`, until an empty line.
    Trailers,
    Done,
}

/// Why a chunked body could not be decoded further.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChunkError {
    /// Index, in the slice being fed, of the byte where the problem was noticed.
    pub at: usize,
    pub reason: String,
}

/// Result of feeding bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Progress {
    /// All input consumed; more is needed.
    NeedMore,
    /// The body ended after consuming this many bytes of the input.
    Done(usize),
    /// This many bytes were consumed; the rest must be fed again with what follows (the
    /// decoder cannot yet tell a trailer line from the next message's start line).
    Partial(usize),
    Error(ChunkError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dechunker {
    state: State,
    line: Vec<u8>,
    trailer_bytes: usize,
    /// The body ended without its final empty line: the next message started right after
    /// the last chunk (or the trailers).
    missing_final_crlf: bool,
}

impl Dechunker {
    pub fn new() -> Self {
        Dechunker {
            state: State::Size,
            line: Vec::new(),
            trailer_bytes: 0,
            missing_final_crlf: false,
        }
    }

    /// Bytes of the current chunk not yet seen, when inside chunk data.
    pub fn data_remaining(&self) -> Option<u64> {
        match self.state {
            State::Data { remaining } => Some(remaining),
            _ => None,
        }
    }

    /// Skips `n` bytes of chunk data the caller took care of itself (appended to the body
    /// directly, or lost in a gap); only valid when `n` is less than
    /// [`Self::data_remaining`]. Returns false (and changes nothing) otherwise.
    pub fn skip_data(&mut self, n: u64) -> bool {
        match &mut self.state {
            State::Data { remaining } if n < *remaining => {
                *remaining -= n;
                true
            }
            _ => false,
        }
    }

    /// True when the last chunk and any trailers were read and only the final empty line is
    /// missing: the body itself is whole.
    pub fn only_final_crlf_missing(&self) -> bool {
        self.state == State::Trailers && self.line.is_empty()
    }

    /// True when the body ended at the start line of the next HTTP message instead of at
    /// the final empty line a chunked body ends with.
    pub fn ended_without_final_crlf(&self) -> bool {
        self.missing_final_crlf
    }

    /// What the decoder was doing, for error messages.
    pub fn position(&self) -> &'static str {
        match self.state {
            State::Size => "a chunk-size line",
            State::Data { .. } => "chunk data",
            State::DataEnd { .. } => "the CRLF after chunk data",
            State::Trailers => "the trailer section",
            State::Done => "the end of the chunked body",
        }
    }

    /// Consumes `input`, appending decoded data through `body` and trailer fields to
    /// `trailers`.
    pub fn feed(
        &mut self,
        input: &[u8],
        body: &mut impl FnMut(&[u8]),
        trailers: &mut Vec<(String, String)>,
    ) -> Progress {
        let mut i = 0;
        while i < input.len() {
            match &mut self.state {
                State::Done => return Progress::Done(i),
                State::Data { remaining } => {
                    let n = usize::try_from(*remaining)
                        .unwrap_or(usize::MAX)
                        .min(input.len() - i);
                    body(&input[i..i + n]);
                    i += n;
                    *remaining -= n as u64;
                    if *remaining == 0 {
                        self.state = State::DataEnd { cr: false };
                    }
                }
                State::DataEnd { cr } => {
                    match (input[i], *cr) {
                        (b'\r', false) => *cr = true,
                        (b'\n', _) => self.state = State::Size,
                        _ => {
                            return Progress::Error(ChunkError {
                                at: i,
                                reason: "chunk data not followed by CRLF".to_owned(),
                            })
                        }
                    }
                    i += 1;
                }
                State::Size | State::Trailers => {
                    let rest = &input[i..];
                    // A sender that forgets the final empty line goes straight on with the
                    // next message: its start line cannot be a trailer field (field names
                    // hold neither '/' nor spaces), so the body ends here.
                    if self.state == State::Trailers && self.line.is_empty() {
                        match starts_http_message(rest) {
                            Some(true) => {
                                self.missing_final_crlf = true;
                                self.state = State::Done;
                                return Progress::Done(i);
                            }
                            None => return Progress::Partial(i),
                            Some(false) => {}
                        }
                    }
                    let (take, ended) = match rest.iter().position(|&b| b == b'\n') {
                        Some(p) => (p + 1, true),
                        None => (rest.len(), false),
                    };
                    let limit = if self.state == State::Size {
                        MAX_SIZE_LINE
                    } else {
                        MAX_TRAILERS.saturating_sub(self.trailer_bytes)
                    };
                    if self.line.len() + take > limit {
                        let reason = if self.state == State::Size {
                            format!("chunk-size line longer than {MAX_SIZE_LINE} bytes")
                        } else {
                            format!("trailer section larger than {} KiB", MAX_TRAILERS / 1024)
                        };
                        return Progress::Error(ChunkError { at: i, reason });
                    }
                    self.line.extend_from_slice(&rest[..take]);
                    i += take;
                    if ended {
                        if let Err(reason) = self.end_line(trailers) {
                            return Progress::Error(ChunkError { at: i - 1, reason });
                        }
                        if self.state == State::Done {
                            return Progress::Done(i);
                        }
                    }
                }
            }
        }
        if self.state == State::Done {
            Progress::Done(i)
        } else {
            Progress::NeedMore
        }
    }

    /// Handles a complete line (in `self.line`, with its LF) in the Size or Trailers state.
    fn end_line(&mut self, trailers: &mut Vec<(String, String)>) -> Result<(), String> {
        let line = std::mem::take(&mut self.line);
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        if self.state == State::Trailers {
            self.trailer_bytes += line.len();
            if text.is_empty() {
                self.state = State::Done;
            } else if let Some(colon) = text.iter().position(|&b| b == b':') {
                let name = String::from_utf8_lossy(&text[..colon]).trim().to_owned();
                let value = String::from_utf8_lossy(&text[colon + 1..])
                    .trim()
                    .to_owned();
                trailers.push((name, value));
            } else {
                // A malformed trailer line is dropped; the body itself is intact.
            }
            return Ok(());
        }
        // chunk-size [ ; ext-name [ = ext-val ] ]...  (whitespace before ';' tolerated)
        let size_part = text.split(|&b| b == b';').next().unwrap_or_default();
        let digits: &[u8] = trim_ascii(size_part);
        if digits.is_empty() || digits.len() > 16 || !digits.iter().all(u8::is_ascii_hexdigit) {
            return Err(format!(
                "invalid chunk-size line '{}'",
                String::from_utf8_lossy(&text[..text.len().min(40)])
            ));
        }
        let size = digits.iter().fold(0u64, |acc, &d| {
            let v = char::from(d).to_digit(16).unwrap_or(0);
            (acc << 4) | u64::from(v)
        });
        self.state = if size == 0 {
            State::Trailers
        } else {
            State::Data { remaining: size }
        };
        Ok(())
    }
}

/// Whether `b` begins an HTTP/1.x request or status line: Some(true) / Some(false), None
/// while `b` is too short to tell.
fn starts_http_message(b: &[u8]) -> Option<bool> {
    const STARTS: [&[u8]; 9] = [
        b"HTTP/1.",
        b"GET ",
        b"POST ",
        b"PUT ",
        b"HEAD ",
        b"DELETE ",
        b"OPTIONS ",
        b"PATCH ",
        b"TRACE ",
    ];
    if STARTS.iter().any(|s| b.starts_with(s)) {
        Some(true)
    } else if STARTS.iter().any(|s| s.starts_with(b)) {
        None
    } else {
        Some(false)
    }
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end.max(start)]
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn decode_in_pieces(input: &[u8], piece: usize) -> (Vec<u8>, Vec<(String, String)>, Progress) {
        let mut d = Dechunker::new();
        let mut body = Vec::new();
        let mut trailers = Vec::new();
        let mut last = Progress::NeedMore;
        // Bytes fed but not consumed (a Partial), offered again with the next piece.
        let mut held: Vec<u8> = Vec::new();
        let mut off = 0;
        for chunk in input.chunks(piece.max(1)) {
            held.extend_from_slice(chunk);
            last = d.feed(
                &held,
                &mut |b: &[u8]| body.extend_from_slice(b),
                &mut trailers,
            );
            match last {
                Progress::NeedMore => {
                    off += held.len();
                    held.clear();
                }
                Progress::Partial(n) => {
                    off += n;
                    held.drain(..n);
                }
                Progress::Done(n) => {
                    last = Progress::Done(off + n);
                    break;
                }
                Progress::Error(_) => break,
            }
        }
        (body, trailers, last)
    }

    #[test]
    fn chunks_extensions_trailers_any_split() {
        let wire = b"5;name=\"v;x\"\r\nhello\r\n7 ; ext\r\n, world\r\n0\r\nX-Sum: 12\r\nX-Other:  a b \r\n\r\nNEXT";
        let end = wire.len() - 4;
        for piece in [1, 2, 3, 5, 7, 100] {
            let (body, trailers, p) = decode_in_pieces(wire, piece);
            assert_eq!(body, b"hello, world", "piece {piece}");
            assert_eq!(
                trailers,
                vec![
                    ("X-Sum".into(), "12".into()),
                    ("X-Other".into(), "a b".into())
                ]
            );
            assert_eq!(p, Progress::Done(end), "piece {piece}");
        }
    }

    #[test]
    fn bare_lf_and_uppercase_hex() {
        let (body, _, p) = decode_in_pieces(b"A\nabcdefghij\n0\n\n", 4);
        assert_eq!(body, b"abcdefghij");
        assert!(matches!(p, Progress::Done(_)));
    }

    #[test]
    fn errors() {
        let (_, _, p) = decode_in_pieces(b"zz\r\n", 100);
        assert!(
            matches!(p, Progress::Error(ChunkError { ref reason, .. }) if reason.contains("invalid chunk-size"))
        );
        let (body, _, p) = decode_in_pieces(b"3\r\nabcX\r\n", 100);
        assert_eq!(body, b"abc");
        assert_eq!(
            p,
            Progress::Error(ChunkError {
                at: 6,
                reason: "chunk data not followed by CRLF".into()
            })
        );
        let (_, _, p) = decode_in_pieces(b"11111111111111111\r\n", 100);
        assert!(matches!(p, Progress::Error(_)));
        let long = vec![b'1'; 5000];
        let (_, _, p) = decode_in_pieces(&long, 1);
        assert!(
            matches!(p, Progress::Error(ChunkError { ref reason, .. }) if reason.contains("longer than"))
        );
    }

    #[test]
    fn skipping_inside_data() {
        let mut d = Dechunker::new();
        let mut body = Vec::new();
        let mut t = Vec::new();
        assert_eq!(
            d.feed(
                b"a\r\n01",
                &mut |b: &[u8]| body.extend_from_slice(b),
                &mut t
            ),
            Progress::NeedMore
        );
        assert_eq!(d.data_remaining(), Some(8));
        assert!(!d.skip_data(8));
        assert!(d.skip_data(5));
        let p = d.feed(
            b"789\r\n0\r\n\r\n",
            &mut |b: &[u8]| body.extend_from_slice(b),
            &mut t,
        );
        assert_eq!(p, Progress::Done(11 - 1));
        assert_eq!(body, b"01789");
    }

    #[test]
    fn final_crlf_missing_is_told_apart() {
        let mut d = Dechunker::new();
        let mut t = Vec::new();
        assert_eq!(
            d.feed(b"1\r\na\r\n0\r\n", &mut |_: &[u8]| {}, &mut t),
            Progress::NeedMore
        );
        assert!(d.only_final_crlf_missing());
        assert_eq!(
            d.feed(b"X-A: 1", &mut |_: &[u8]| {}, &mut t),
            Progress::NeedMore
        );
        assert!(!d.only_final_crlf_missing());
    }
}
