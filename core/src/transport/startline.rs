//! Recognising where an HTTP/1.x message starts, from the bytes alone (any port): a request
//! line (`METHOD SP target SP HTTP/1.x`) or a status line (`HTTP/1.x NNN reason`). Also sniffs
//! the first bytes of a direction for protocols that are certainly not HTTP (TLS, net.tcp).
//!
//! The checks are deliberately stricter than RFC 9112 (upper-case methods, versions 1.0/1.1
//! only): they are used to resynchronise inside arbitrary bytes, where a false positive costs
//! more than a rejected oddity.

/// Which of the two message kinds a start line introduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Request,
    Response,
}

/// Longest start line we accept (a request target can be long; 16 KiB is generous).
pub(crate) const MAX_START_LINE: usize = 16 * 1024;
/// Longest method token considered plausible.
const MAX_METHOD: usize = 32;
/// Methods recognised at the end of a run of method characters when resynchronising.
const KNOWN_METHODS: [&str; 9] = [
    "GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT",
];

/// Verdict of the cheap check on the first bytes of a candidate line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prefix {
    /// Cannot be a start line of the expected kind.
    No,
    /// Could be: the whole line must be looked at.
    Maybe,
}

/// Cheap check of a candidate's first bytes (constant work), so that a long partial line is
/// only examined in full once its end has arrived. `expect` None accepts either kind.
pub(crate) fn quick_prefix(data: &[u8], expect: Option<Kind>) -> Prefix {
    const STATUS: &[u8] = b"HTTP/1.";
    let status_ok = expect != Some(Kind::Request) && {
        let n = data.len().min(STATUS.len());
        data[..n] == STATUS[..n]
    };
    if status_ok {
        return Prefix::Maybe;
    }
    if expect == Some(Kind::Response) {
        return Prefix::No;
    }
    // A method: an upper-case letter, then letters, digits, '-' or '_', then a space.
    for (i, &b) in data.iter().take(MAX_METHOD + 1).enumerate() {
        let ok = if i == 0 {
            b.is_ascii_uppercase()
        } else {
            b == b' ' || is_method_char(b)
        };
        if !ok {
            return Prefix::No;
        }
        if b == b' ' {
            return Prefix::Maybe;
        }
    }
    if data.len() > MAX_METHOD {
        Prefix::No
    } else {
        Prefix::Maybe
    }
}

fn is_method_char(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
}

fn is_version(v: &[u8]) -> bool {
    v == b"HTTP/1.1" || v == b"HTTP/1.0"
}

/// Classifies one complete line (without its `\n`; a trailing `\r` is allowed) as a start line
/// of the expected kind, or None.
pub(crate) fn classify_line(line: &[u8], expect: Option<Kind>) -> Option<Kind> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.starts_with(b"HTTP/") {
        return (expect != Some(Kind::Request) && is_status_line(line)).then_some(Kind::Response);
    }
    (expect != Some(Kind::Response) && is_request_line(line)).then_some(Kind::Request)
}

fn is_status_line(line: &[u8]) -> bool {
    if line.len() < 12 || !is_version(&line[..8]) || line[8] != b' ' {
        return false;
    }
    let code = &line[9..12];
    if !code.iter().all(u8::is_ascii_digit) || code[0] == b'0' {
        return false;
    }
    match line.get(12) {
        None => true,
        Some(b' ') => line[13..]
            .iter()
            .all(|&b| b == b'\t' || b >= 0x20 && b != 0x7f),
        Some(_) => false,
    }
}

fn is_request_line(line: &[u8]) -> bool {
    let Some(sp1) = line.iter().position(|&b| b == b' ') else {
        return false;
    };
    let method = &line[..sp1];
    if method.is_empty()
        || method.len() > MAX_METHOD
        || !method[0].is_ascii_uppercase()
        || !method.iter().all(|&b| is_method_char(b))
    {
        return false;
    }
    let rest = &line[sp1 + 1..];
    let Some(sp2) = rest.iter().rposition(|&b| b == b' ') else {
        return false;
    };
    let (target, version) = (&rest[..sp2], &rest[sp2 + 1..]);
    !target.is_empty() && target.iter().all(|&b| b > 0x20 && b != 0x7f) && is_version(version)
}

/// Finds a start line that begins inside `line` (a complete line without its `\n`) rather than
/// at its start: a message that follows a body not ending in a newline (`…</s:Envelope>POST
/// /svc HTTP/1.1`). Returns the index where it begins (never 0: that case is
/// [`classify_line`]'s) and its kind.
pub(crate) fn find_embedded(line: &[u8], expect: Option<Kind>) -> Option<(usize, Kind)> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut best: Option<(usize, Kind)> = None;
    if expect != Some(Kind::Response) && line.len() > 9 {
        let (before, version) = line.split_at(line.len() - 9);
        if version == b" HTTP/1.1" || version == b" HTTP/1.0" {
            // Back from the version: the target (no spaces), a space, then the method.
            let target_start = before.iter().rposition(|&b| b == b' ').map_or(0, |p| p + 1);
            if target_start > 1 {
                let method_end = target_start - 1;
                let run = before[..method_end]
                    .iter()
                    .rev()
                    .take_while(|&&b| is_method_char(b))
                    .count();
                let token = &before[method_end - run..method_end];
                // The bytes before may end in method characters too ("…XYZPOST"): prefer a
                // well-known method at the end of the run, else the run from its first letter.
                let method_len = KNOWN_METHODS
                    .iter()
                    .filter(|m| token.ends_with(m.as_bytes()))
                    .map(|m| m.len())
                    .max()
                    .unwrap_or_else(|| {
                        run - token.iter().position(u8::is_ascii_uppercase).unwrap_or(run)
                    });
                let start = method_end - method_len;
                if start > 0
                    && method_len <= MAX_METHOD
                    && classify_line(&line[start..], Some(Kind::Request)).is_some()
                {
                    best = Some((start, Kind::Request));
                }
            }
        }
    }
    if expect != Some(Kind::Request) {
        let mut from = 1;
        while let Some(p) = line
            .get(from..)
            .and_then(|l| l.windows(7).position(|w| w == b"HTTP/1."))
        {
            let i = from + p;
            if best.is_some_and(|(b, _)| b < i) {
                break;
            }
            if classify_line(&line[i..], Some(Kind::Response)).is_some() {
                best = Some((i, Kind::Response));
                break;
            }
            from = i + 1;
        }
    }
    best
}

/// What the first bytes of a direction (at stream offset 0) say about the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sniff {
    /// A TLS record header (content type 20–23, version 3.x).
    Tls,
    /// The .NET Message Framing preamble's version record: 0x00 0x01 0x00.
    NetTcp,
    /// Too few bytes to tell.
    NeedMore,
    /// Neither: look for HTTP.
    Other,
}

pub(crate) fn sniff(data: &[u8]) -> Sniff {
    const NETTCP: [u8; 3] = [0x00, 0x01, 0x00];
    let n = data.len().min(3);
    if data[..n] == NETTCP[..n] {
        return if n == 3 {
            Sniff::NetTcp
        } else {
            Sniff::NeedMore
        };
    }
    // TLS record: type (0x14 change_cipher_spec .. 0x17 application_data), version 0x03 0x00..0x04.
    match data {
        [t, ..] if !(0x14..=0x17).contains(t) => Sniff::Other,
        [_] => Sniff::NeedMore,
        [_, 0x03] => Sniff::NeedMore,
        [_, 0x03, minor, ..] if *minor <= 0x04 => Sniff::Tls,
        _ => Sniff::Other,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn request_lines() {
        assert_eq!(
            classify_line(b"POST /svc HTTP/1.1\r", None),
            Some(Kind::Request)
        );
        assert_eq!(classify_line(b"GET / HTTP/1.0", None), Some(Kind::Request));
        assert_eq!(
            classify_line(b"M-SEARCH * HTTP/1.1", None),
            Some(Kind::Request)
        );
        assert_eq!(
            classify_line(b"POST /svc HTTP/1.1", Some(Kind::Response)),
            None
        );
        assert_eq!(classify_line(b"post /svc HTTP/1.1", None), None);
        assert_eq!(classify_line(b"POST /a b HTTP/1.1", None), None);
        assert_eq!(classify_line(b"POST  HTTP/1.1", None), None);
        assert_eq!(classify_line(b"POST /svc HTTP/2.0", None), None);
        assert_eq!(classify_line(b"POST /svc", None), None);
        assert_eq!(classify_line(b"", None), None);
    }

    #[test]
    fn status_lines() {
        assert_eq!(
            classify_line(b"HTTP/1.1 200 OK\r", None),
            Some(Kind::Response)
        );
        assert_eq!(classify_line(b"HTTP/1.0 404", None), Some(Kind::Response));
        assert_eq!(
            classify_line(b"HTTP/1.1 100 Continue", Some(Kind::Response)),
            Some(Kind::Response)
        );
        assert_eq!(classify_line(b"HTTP/1.1 200 OK", Some(Kind::Request)), None);
        assert_eq!(classify_line(b"HTTP/1.1 20 OK", None), None);
        assert_eq!(classify_line(b"HTTP/1.1 2000 OK", None), None);
        assert_eq!(classify_line(b"HTTP/1.1 099 OK", None), None);
        assert_eq!(classify_line(b"HTTP/1.1 200 O\x01K", None), None);
    }

    #[test]
    fn prefixes() {
        assert_eq!(quick_prefix(b"HTT", None), Prefix::Maybe);
        assert_eq!(quick_prefix(b"HTT", Some(Kind::Response)), Prefix::Maybe);
        assert_eq!(quick_prefix(b"PO", Some(Kind::Request)), Prefix::Maybe);
        assert_eq!(quick_prefix(b"POST /x", None), Prefix::Maybe);
        assert_eq!(quick_prefix(b"POST /x", Some(Kind::Response)), Prefix::No);
        assert_eq!(quick_prefix(b"<soap", None), Prefix::No);
        assert_eq!(
            quick_prefix(b"ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJ", None),
            Prefix::No
        );
        assert_eq!(quick_prefix(b"", None), Prefix::Maybe);
    }

    #[test]
    fn embedded_starts() {
        assert_eq!(
            find_embedded(b"</s:Envelope>POST /svc HTTP/1.1\r", None),
            Some((13, Kind::Request))
        );
        assert_eq!(
            find_embedded(b"</s:Envelope>POST /svc HTTP/1.1", Some(Kind::Response)),
            None
        );
        assert_eq!(
            find_embedded(b"xyz</a>HTTP/1.1 200 OK", None),
            Some((7, Kind::Response))
        );
        assert_eq!(
            find_embedded(b"xyz</a>HTTP/1.1 200 OK", Some(Kind::Request)),
            None
        );
        assert_eq!(
            find_embedded(b"HTTP/1.1 200 OK", None),
            None,
            "index 0 is not embedded"
        );
        assert_eq!(
            find_embedded(b"POST /svc HTTP/1.1", None),
            None,
            "index 0 is not embedded"
        );
        assert_eq!(
            find_embedded(b"a HTTP/1.1 HTTP/1.1 200 OK", None),
            Some((11, Kind::Response))
        );
        assert_eq!(find_embedded(b"x  HTTP/1.1", None), None);
        assert_eq!(find_embedded(b"1-2 /x HTTP/1.1", None), None);
        assert_eq!(
            find_embedded(b"zz1-GET /x HTTP/1.1", None),
            Some((4, Kind::Request))
        );
        assert_eq!(find_embedded(b"", None), None);
    }

    #[test]
    fn sniffing() {
        assert_eq!(sniff(&[0x16, 0x03, 0x01, 0x02]), Sniff::Tls);
        assert_eq!(sniff(&[0x17, 0x03, 0x03]), Sniff::Tls);
        assert_eq!(sniff(&[0x16, 0x03]), Sniff::NeedMore);
        assert_eq!(sniff(&[0x16]), Sniff::NeedMore);
        assert_eq!(sniff(&[0x00, 0x01, 0x00, 0x01]), Sniff::NetTcp);
        assert_eq!(sniff(&[0x00, 0x01]), Sniff::NeedMore);
        assert_eq!(sniff(&[0x00, 0x02]), Sniff::Other);
        assert_eq!(sniff(b"POST"), Sniff::Other);
        assert_eq!(sniff(&[0x16, 0x09, 0x01]), Sniff::Other);
    }
}
