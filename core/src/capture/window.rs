//! A forward-only, bounded look-ahead window over a byte stream.
//!
//! The capture readers need to look ahead (a whole block, then the header after it) and,
//! after corruption, scan forward byte by byte for the next plausible header. This window
//! keeps only the bytes from the current read position onward (plus whatever the caller
//! asked to look at), so memory is bounded by the largest look-ahead the readers request,
//! never by the file size.

use std::io::{self, Read};

/// Reads ask the source for at least this many bytes at a time.
const CHUNK: usize = 64 * 1024;

pub(crate) struct Window {
    src: Box<dyn Read + Send>,
    /// Storage. `buf[start..end]` holds the bytes read and not consumed yet; `buf[end..]` is
    /// room the next read fills in place. The room was zeroed once, when the storage grew,
    /// and is never cleared again: each read goes straight into it with one system call
    /// (`read_to_end` had split every chunk into several reads of 8 KB upwards).
    buf: Vec<u8>,
    /// Index in `buf` of the byte at absolute offset `pos`.
    start: usize,
    /// End of the bytes read into `buf`.
    end: usize,
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
            end: 0,
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
        while self.end - self.start < n && !self.eof {
            let have = self.end - self.start;
            // Grow in bounded steps: a damaged length field may ask for far more than the
            // stream holds, and the storage should only ever exceed the bytes actually read
            // by one step.
            let want = (n - have).clamp(CHUNK, 16 * CHUNK);
            if self.buf.len() - self.end < want {
                // Drop consumed bytes before growing, so the storage holds only look-ahead.
                if self.start > 0 {
                    self.buf.copy_within(self.start..self.end, 0);
                    self.start = 0;
                    self.end = have;
                }
                if self.buf.len() - self.end < want {
                    self.buf.resize(self.end + want, 0);
                }
            }
            let room = self.buf.get_mut(self.end..).unwrap_or_default();
            match self.src.read(room) {
                Ok(0) => self.eof = true,
                Ok(got) => self.end += got,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.error = Some(e);
                    self.eof = true;
                }
            }
        }
        self.end - self.start
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
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
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

    /// Hands out at most `step` bytes per read, interrupts every third call, then fails
    /// after `fail_at` bytes if set.
    struct Dribble {
        data: Vec<u8>,
        at: usize,
        step: usize,
        calls: usize,
        fail_at: Option<usize>,
    }

    impl Read for Dribble {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            self.calls += 1;
            if self.calls.is_multiple_of(3) {
                return Err(io::Error::new(io::ErrorKind::Interrupted, "signal"));
            }
            if self.fail_at.is_some_and(|f| self.at >= f) {
                return Err(io::Error::other("disk on fire"));
            }
            let end = (self.at + self.step.min(out.len())).min(self.data.len());
            let k = end - self.at;
            out[..k].copy_from_slice(&self.data[self.at..end]);
            self.at = end;
            Ok(k)
        }
    }

    #[test]
    fn short_and_interrupted_reads_give_the_same_bytes() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 253) as u8).collect();
        for step in [1, 7, 4096, 70_000, 1 << 20] {
            let src = Dribble {
                data: data.clone(),
                at: 0,
                step,
                calls: 0,
                fail_at: None,
            };
            let mut w = Window::new(Box::new(src));
            let mut at = 0usize;
            // Uneven look-aheads and advances, across every refill and compaction.
            for (k, len) in [5usize, 1500, 65_536, 3, 200_000, 17]
                .iter()
                .cycle()
                .enumerate()
            {
                if at >= data.len() {
                    break;
                }
                let len = (*len).min(data.len() - at);
                assert_eq!(w.peek(0, len).unwrap(), &data[at..at + len], "step {step}");
                let adv = (len / 2).max(1) + k % 3;
                w.advance(adv);
                at = (at + adv).min(data.len());
                assert_eq!(w.pos(), at as u64);
            }
            assert!(w.at_end(0));
            assert!(w.take_error().is_none());
        }
    }

    #[test]
    fn a_read_error_ends_the_stream_after_the_bytes_before_it() {
        let data = vec![0xabu8; 10_000];
        let src = Dribble {
            data,
            at: 0,
            step: 1000,
            calls: 0,
            fail_at: Some(4000),
        };
        let mut w = Window::new(Box::new(src));
        assert_eq!(w.fill(8000), 4000);
        assert!(w.peek(3990, 10).is_some());
        assert!(w.peek(3990, 11).is_none());
        assert_eq!(w.take_error().unwrap().to_string(), "disk on fire");
    }

    #[test]
    fn a_huge_look_ahead_on_a_short_stream_does_not_allocate_it() {
        let mut w = Window::new(Box::new(io::Cursor::new(vec![1u8; 1000])));
        assert!(w.peek(0, 1 << 30).is_none());
        assert!(w.buf.len() <= 16 * CHUNK + 1000, "{}", w.buf.len());
        assert_eq!(w.peek(0, 1000).unwrap(), &[1u8; 1000][..]);
    }
}
