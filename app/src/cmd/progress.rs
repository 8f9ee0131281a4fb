//! A one-line progress display on standard error for `analyze` on a large capture.
//!
//! Shown only when standard error is a terminal, so scripts, CI logs and redirected output
//! never see it; the report itself (standard output or `--out`) is never touched. The line
//! is redrawn in place at most a few times a second and erased when the analysis ends.

use std::io::Write;
use std::time::{Duration, Instant};
use wcfscope_core::analyzer::Progress;

/// Shortest time between two redraws: often enough to look alive, rarely enough to cost
/// nothing next to the analysis.
const REDRAW_EVERY: Duration = Duration::from_millis(200);
/// Nothing is drawn for an analysis that ends sooner than this: no flicker on small files.
const SHOW_AFTER: Duration = Duration::from_millis(500);

pub struct ProgressLine<W: Write> {
    out: W,
    title: String,
    started: Instant,
    last_drawn: Option<Instant>,
}

impl ProgressLine<std::io::Stderr> {
    /// A progress line on standard error, or None when standard error is not a terminal.
    pub fn on_terminal(title: &str) -> Option<Self> {
        use std::io::IsTerminal;
        let err = std::io::stderr();
        err.is_terminal()
            .then(|| ProgressLine::new(err, title, Instant::now()))
    }
}

impl<W: Write> ProgressLine<W> {
    pub fn new(out: W, title: &str, started: Instant) -> Self {
        ProgressLine {
            out,
            title: title.to_owned(),
            started,
            last_drawn: None,
        }
    }

    /// Redraws the line if enough time has passed since the start and the last redraw.
    /// A failed write to the terminal is ignored: progress is a courtesy, the report is
    /// what matters.
    pub fn update(&mut self, progress: Progress, now: Instant) {
        if now.saturating_duration_since(self.started) < SHOW_AFTER {
            return;
        }
        if self
            .last_drawn
            .is_some_and(|t| now.saturating_duration_since(t) < REDRAW_EVERY)
        {
            return;
        }
        self.last_drawn = Some(now);
        let line = progress_text(&self.title, progress);
        // `\r` back to the line's start, `ESC [K` erases what a longer previous line left.
        let _ = write!(self.out, "\r{line}\x1b[K");
        let _ = self.out.flush();
    }

    /// Erases the line, if one was drawn, so the terminal is left as it was.
    pub fn finish(&mut self) {
        if self.last_drawn.take().is_some() {
            let _ = write!(self.out, "\r\x1b[K");
            let _ = self.out.flush();
        }
    }
}

/// "analyzing FILE: 42% (94.1 of 223.2 MB), 7512 messages". Without a known total (a
/// file whose size could not be read) the share is left out.
pub fn progress_text(title: &str, p: Progress) -> String {
    let mb = |bytes: u64| bytes as f64 / 1e6;
    let done = p.bytes_done;
    let messages = match p.messages {
        1 => "1 message".to_owned(),
        n => format!("{n} messages"),
    };
    if p.bytes_total > 0 {
        let percent = (u128::from(done) * 100 / u128::from(p.bytes_total)).min(100);
        format!(
            "analyzing {title}: {percent}% ({:.1} of {:.1} MB), {messages}",
            mb(done),
            mb(p.bytes_total)
        )
    } else {
        format!("analyzing {title}: {:.1} MB, {messages}", mb(done))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn progress(done: u64, total: u64, messages: usize) -> Progress {
        Progress {
            bytes_done: done,
            bytes_total: total,
            packets: 0,
            messages,
        }
    }

    #[test]
    fn text_names_share_sizes_and_messages() {
        assert_eq!(
            progress_text("big.pcapng", progress(94_100_000, 223_200_000, 7512)),
            "analyzing big.pcapng: 42% (94.1 of 223.2 MB), 7512 messages"
        );
        assert_eq!(
            progress_text("a", progress(0, 10, 1)),
            "analyzing a: 0% (0.0 of 0.0 MB), 1 message"
        );
        // Unknown total: no share.
        assert_eq!(
            progress_text("a", progress(2_500_000, 0, 0)),
            "analyzing a: 2.5 MB, 0 messages"
        );
        // Reads past a size taken at open (a file still growing) never show over 100 %.
        assert!(progress_text("a", progress(300, 200, 0)).contains(": 100% "));
        // No overflow at the extremes.
        assert!(progress_text("a", progress(u64::MAX, u64::MAX, 0)).contains(": 100% "));
    }

    #[test]
    fn draws_only_after_a_delay_at_a_bounded_rate_and_erases_at_the_end() {
        let t0 = Instant::now();
        let mut out = Vec::new();
        let mut line = ProgressLine::new(&mut out, "f", t0);
        let p = progress(50, 100, 3);
        line.update(p, t0 + Duration::from_millis(100)); // too early: nothing
        line.update(p, t0 + Duration::from_millis(600)); // drawn
        line.update(p, t0 + Duration::from_millis(700)); // within the redraw interval
        line.update(p, t0 + Duration::from_millis(850)); // drawn
        line.finish();
        line.finish(); // erases once
        let text = String::from_utf8(out).unwrap();
        let drawn = "\ranalyzing f: 50% (0.0 of 0.0 MB), 3 messages\x1b[K";
        assert_eq!(text, format!("{drawn}{drawn}\r\x1b[K"));
    }

    #[test]
    fn a_short_analysis_leaves_no_trace() {
        let t0 = Instant::now();
        let mut out = Vec::new();
        let mut line = ProgressLine::new(&mut out, "f", t0);
        line.update(progress(1, 2, 0), t0 + Duration::from_millis(10));
        line.finish();
        assert!(out.is_empty());
    }
}
