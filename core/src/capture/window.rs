//! A forward-only, bounded look-ahead window over a byte stream.
//!
//! The capture readers need to look ahead (a whole block, then the header after it) and,
//! after corruption, scan forward byte by byte for the next plausible header. This window
//! keeps only the bytes from the current read position onward (plus whatever the caller
//! asked to look at), so memory is bounded by the largest look-ahead the readers request,
//! never by the file size.

use std::io::{self, Read};

/// Bytes are read from the source in chunks of this size.
const CHUNK: usize = 64 * 1024;

pub(crate) struct Window {
    src: Box<dyn Read + Send>,
    buf: Vec<u8>,
    /// Index in `buf` of the byte at absolute offset `pos`.
    start: usize,
    /// Absolute offset (from the start of the file) of the current read position.
    pos: u64,
    eof: bool,
    /// The first read error, kept so the reader can report it once.
    error: Option<io::Error>,
}

impl Window {
    pub(crate) fn new(src: Box<dyn Read + Send>) -> Self {
        Window {
            src,
            buf: Vec::new(),
            start: 0,
            pos: 0,
            eof: false,
            error: None,
        }
    }

    /// Absolute offset of the current read position (= bytes consumed).
    pub(crate) fn pos(&self) -> u64 {
        self.pos
    }

    /// Takes the read error, if one ended the stream early.
    pub(crate) fn take_error(&mut self) -> Option<io::Error> {
        self.error.take()
    }

    /// Makes at least `n` bytes from the current position available, unless the stream ends
    /// first. Returns how many are available (may be more or fewer than `n`).
    pub(crate) fn fill(&mut self, n: usize) -> usize {
        while self.buf.len() - self.start < n && !self.eof {
            // Drop consumed bytes before growing, so the buffer holds only look-ahead.
            if self.start > 0 && (self.start >= CHUNK || self.start * 2 >= self.buf.len()) {
                self.buf.drain(..self.start);
                self.start = 0;
            }
            let old = self.buf.len();
            // Grow in bounded steps: a damaged length field may ask for far more than the
            // stream holds, and the buffer should only ever hold bytes actually read.
            let want = (n - (old - self.start)).clamp(CHUNK, 16 * CHUNK);
            // read_to_end appends into spare capacity without zero-filling it first, retries
            // on Interrupted, and keeps what it read before an error.
            self.buf.reserve(want);
            match (&mut self.src).take(want as u64).read_to_end(&mut self.buf) {
                Ok(got) if got < want => self.eof = true,
                Ok(_) => {}
                Err(e) => {
                    self.error = Some(e);
                    self.eof = true;
                }
            }
        }
        self.buf.len() - self.start
    }

    /// The `len` bytes at `off` bytes past the current position, if the stream has them.
    pub(crate) fn peek(&mut self, off: usize, len: usize) -> Option<&[u8]> {
        let end = off.checked_add(len)?;
        if self.fill(end) < end {
            return None;
        }
        let s = self.start + off;
        self.buf.get(s..s + len)
    }

    /// True when no byte exists at `off` past the current position.
    pub(crate) fn at_end(&mut self, off: usize) -> bool {
        self.fill(off.saturating_add(1)) <= off
    }

    /// Moves the read position forward by `n` bytes (or to the end of the stream).
    pub(crate) fn advance(&mut self, n: usize) {
        let avail = self.fill(n);
        let k = n.min(avail);
        self.start += k;
        self.pos += k as u64;
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn peeks_across_chunks_and_advances() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut w = Window::new(Box::new(io::Cursor::new(data.clone())));
        assert_eq!(w.peek(0, 4).unwrap(), &data[0..4]);
        assert_eq!(w.peek(100_000, 3).unwrap(), &data[100_000..100_003]);
        w.advance(150_000);
        assert_eq!(w.pos(), 150_000);
        assert_eq!(w.peek(0, 10).unwrap(), &data[150_000..150_010]);
        assert!(w.peek(49_999, 2).is_none());
        assert!(!w.at_end(49_999));
        assert!(w.at_end(50_000));
        w.advance(1_000_000);
        assert_eq!(w.pos(), 200_000);
    }
}
