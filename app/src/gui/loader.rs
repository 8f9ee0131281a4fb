//! Runs the analysis off the UI thread: a worker thread calls the analyzer, sends throttled
//! progress and the result over a channel, and stops early when the shared cancel flag is
//! set. The UI drains the channel in `App::logic`; it never blocks on the worker.

use super::keys::{inspect, KeyFacts};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wcfscope_core::analyzer::{Analysis, AnalyzeError, Options, Progress};

/// The analysis entry point (the real one is `wcfscope_core::analyzer::analyze_files`;
/// tests substitute their own).
pub type AnalyzeFn = Arc<
    dyn Fn(
            &[PathBuf],
            &Options,
            &mut dyn FnMut(Progress),
            &AtomicBool,
        ) -> Result<Analysis, AnalyzeError>
        + Send
        + Sync,
>;

pub fn core_analyzer() -> AnalyzeFn {
    Arc::new(
        |paths: &[PathBuf],
         opts: &Options,
         progress: &mut dyn FnMut(Progress),
         cancel: &AtomicBool| {
            wcfscope_core::analyzer::analyze_files(paths, opts, progress, cancel)
        },
    )
}

enum Msg {
    Progress(Progress),
    Done(Result<Analysis, AnalyzeError>, Vec<KeyFacts>),
}

/// One running analysis.
pub struct Job {
    pub files: Vec<PathBuf>,
    /// True when this re-runs the current capture with new keys (selection is kept).
    pub rerun: bool,
    pub progress: Progress,
    /// What the key files hold, filled in when the job is done.
    pub key_facts: Vec<KeyFacts>,
    cancel: Arc<AtomicBool>,
    rx: Receiver<Msg>,
}

const PROGRESS_EVERY: Duration = Duration::from_millis(50);

impl Job {
    pub fn start(
        files: Vec<PathBuf>,
        options: Options,
        analyze: AnalyzeFn,
        rerun: bool,
        repaint: Option<egui::Context>,
    ) -> Job {
        let (tx, rx) = channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let flag = cancel.clone();
        let paths = files.clone();
        let spawned = std::thread::Builder::new()
            .name("wcfscope-analysis".into())
            .spawn(move || {
                let mut last = Instant::now() - PROGRESS_EVERY;
                let ptx = tx.clone();
                let prepaint = repaint.clone();
                let mut on_progress = |p: Progress| {
                    if last.elapsed() >= PROGRESS_EVERY {
                        last = Instant::now();
                        let _ = ptx.send(Msg::Progress(p));
                        if let Some(c) = &prepaint {
                            c.request_repaint();
                        }
                    }
                };
                // A bug in the analyzer must not take the window down with it.
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    analyze(&paths, &options, &mut on_progress, &flag)
                }))
                .unwrap_or_else(|_| {
                    Err(AnalyzeError::Unreadable(
                        "internal error: the analysis crashed".into(),
                    ))
                });
                // Describe the key files too (subject, thumbprint) for the key manager;
                // a loading failure there is shown on the key, not as an analysis error.
                let facts = std::panic::catch_unwind(|| inspect(&options.keys)).unwrap_or_default();
                let _ = tx.send(Msg::Done(result, facts));
                if let Some(c) = &repaint {
                    c.request_repaint();
                }
            });
        let job = Job {
            files,
            rerun,
            progress: Progress::default(),
            key_facts: Vec::new(),
            cancel,
            rx,
        };
        if let Err(e) = spawned {
            // No thread: report it as the job's result.
            let (tx, rx) = channel();
            let _ = tx.send(Msg::Done(
                Err(AnalyzeError::Unreadable(format!(
                    "cannot start the analysis: {e}"
                ))),
                Vec::new(),
            ));
            return Job { rx, ..job };
        }
        job
    }

    /// Drains the channel: updates progress, returns the result once the worker is done.
    pub fn poll(&mut self) -> Option<Result<Analysis, AnalyzeError>> {
        loop {
            match self.rx.try_recv() {
                Ok(Msg::Progress(p)) => self.progress = p,
                Ok(Msg::Done(r, facts)) => {
                    self.key_facts = facts;
                    return Some(r);
                }
                Err(TryRecvError::Empty) => return None,
                Err(TryRecvError::Disconnected) => {
                    return Some(Err(AnalyzeError::Unreadable(
                        "the analysis stopped unexpectedly".into(),
                    )))
                }
            }
        }
    }

    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// Progress in 0..=1 when the total is known.
    pub fn fraction(&self) -> Option<f32> {
        (self.progress.bytes_total > 0).then(|| {
            (self.progress.bytes_done as f64 / self.progress.bytes_total as f64).clamp(0.0, 1.0)
                as f32
        })
    }

    /// Waits for the result (tests only; the UI polls).
    pub fn wait(&mut self, timeout: Duration) -> Option<Result<Analysis, AnalyzeError>> {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if let Some(r) = self.poll() {
                return Some(r);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::gui::sample;

    #[test]
    fn delivers_result() {
        let f: AnalyzeFn = Arc::new(
            |_: &[PathBuf], _: &Options, p: &mut dyn FnMut(Progress), _: &AtomicBool| {
                p(Progress {
                    bytes_done: 1,
                    bytes_total: 2,
                    packets: 1,
                    messages: 0,
                });
                Ok(sample::analysis())
            },
        );
        let mut job = Job::start(vec!["x.pcap".into()], Options::default(), f, false, None);
        let r = job.wait(Duration::from_secs(10)).unwrap();
        assert_eq!(r.unwrap().report.messages.len(), 18);
    }

    #[test]
    fn cancel_stops_the_worker() {
        let f: AnalyzeFn = Arc::new(
            |_: &[PathBuf], _: &Options, _: &mut dyn FnMut(Progress), c: &AtomicBool| {
                while !c.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(AnalyzeError::Cancelled)
            },
        );
        let mut job = Job::start(vec![], Options::default(), f, false, None);
        assert!(job.poll().is_none());
        job.cancel();
        assert!(matches!(
            job.wait(Duration::from_secs(10)),
            Some(Err(AnalyzeError::Cancelled))
        ));
    }

    #[test]
    fn a_panicking_analyzer_is_an_error_not_a_crash() {
        let f: AnalyzeFn = Arc::new(
            |_: &[PathBuf], _: &Options, _: &mut dyn FnMut(Progress), _: &AtomicBool| {
                #[allow(clippy::panic)]
                {
                    panic!("boom")
                }
            },
        );
        let mut job = Job::start(vec![], Options::default(), f, false, None);
        let r = job.wait(Duration::from_secs(10)).unwrap();
        assert!(r.unwrap_err().to_string().contains("internal error"));
    }
}
