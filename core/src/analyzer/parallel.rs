//! A capture file analysed on several threads, with exactly the result one thread gives.
//!
//! Three roles: a *reader* thread runs the capture source, TCP reassembly and HTTP framing
//! and cuts what it saw into batches of [`Item`]s; *parsing* parses the message bodies (XML
//! is most of the work, and each body parses on its own); the calling thread applies the
//! batches in reading order (sessions, security, pairing: everything that depends on what
//! came before) and hands out settled messages.
//!
//! `threads` threads in all: the reader, the caller, and `threads - 2` spawned parsers. The
//! reader and the caller parse too, so on two cores no third thread takes turns with them:
//! - the caller parses what is still unparsed of the batch it needs next;
//! - the reader, once it has queued a batch, parses that batch itself (its bodies still
//!   warm in the cache from framing) for as long as the caller has more than
//!   [`CALLER_AHEAD`] other batches to get on with. So the share each parses balances
//!   itself: the caller never starves for input, and the reader never sits blocked on a
//!   full queue while there is parsing to do. Against one spawned parser at the lowest
//!   priority beside the two (the earlier design), 5.5 % less time on two cores (median of
//!   12 alternated runs), without the third thread's context switches.
//!
//! A batch is shared, not handed over whole: the reader cuts it into parts of about 16 KB
//! of message bodies, and whichever thread comes next claims the next unparsed part. So the
//! caller never waits for a whole batch another thread took, only for the part that thread
//! is parsing. (With whole batches, the caller waited on the batch a parser held
//! while the reader, its queue full, waited on the caller: a core sat idle for a tenth of
//! the run on two cores.)
//!
//! Order is kept by the reader: it queues every batch for the caller in reading order, and
//! once more for the spawned parsers when there are any. Queues are bounded, so memory
//! stays bounded whatever the capture's size.

use super::pipeline::{Analyzer, Settled, Summary};
use super::reader::{Item, ReadSummary, Reader};
use super::{AnalyzeError, Progress, PROGRESS_EVERY};
use crate::capture::{FileSource, SourceEvent};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

/// Packets per batch: small enough to spread over the parsers, large enough that handing
/// a batch over costs little next to parsing it.
const BATCH_PACKETS: u64 = 256;
/// A batch also ends once its message bodies reach this many bytes: decompressed bodies
/// can be far larger than the packets that carried them.
const BATCH_BODY_BYTES: usize = 4 * 1024 * 1024;
/// A batch is cut into parts of about this many bytes of message bodies (a part holds at
/// least one message, and one message at most when the bodies are this large): the unit
/// the parsing threads claim, so the caller waits for at most about one part's parse.
const PART_BODY_BYTES: usize = 16 * 1024;
/// The reader parses the batch it just queued while the caller has more than this many
/// queued batches to get on with; fewer, and it goes back to reading so the caller is
/// never left waiting for input.
const CALLER_AHEAD: u64 = 2;
/// Batches queued between the roles. With the two limits above this bounds what is in
/// flight to a few tens of MB (plus, at worst, one message at the HTTP stage's own bounds
/// per batch). The caller applies batches in order, so one slow batch (large bodies) holds
/// up the ones behind it; with 8 the reader often stalled on a full queue while a core sat
/// idle, 16 gave about 5 % on two cores at 2 MB more peak memory.
const QUEUED_BATCHES: usize = 16;

/// What the reader saw over a few hundred packets, shared by the threads that parse it.
struct Batch {
    /// The items in order, cut into parts of about [`PART_BODY_BYTES`] of bodies.
    parts: Vec<Mutex<Vec<Item>>>,
    /// The next part no thread has claimed to parse.
    next_unclaimed: AtomicUsize,
    /// Parts whose parsing is over (claimed and finished).
    parts_parsed: AtomicUsize,
    /// Signalled when the last part's parsing is over.
    all_parsed: Condvar,
    all_parsed_lock: Mutex<()>,
    bytes_done: u64,
    packets: u64,
    /// Present on the last batch, after the reader finished (taken by the caller: a
    /// parser may still hold the batch).
    end: Mutex<Option<ReadSummary>>,
}

/// Locks a mutex whatever happened to the thread that held it last: a part whose parse
/// panicked is still applied (and parsed again, on the caller, if it needs to be).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Batch {
    fn new(
        parts: Vec<Mutex<Vec<Item>>>,
        bytes_done: u64,
        packets: u64,
        end: Option<ReadSummary>,
    ) -> Batch {
        Batch {
            parts,
            next_unclaimed: AtomicUsize::new(0),
            parts_parsed: AtomicUsize::new(0),
            all_parsed: Condvar::new(),
            all_parsed_lock: Mutex::new(()),
            bytes_done,
            packets,
            end: Mutex::new(end),
        }
    }

    fn is_parsed(&self) -> bool {
        self.parts_parsed.load(Ordering::Acquire) >= self.parts.len()
    }

    /// Parses unclaimed parts, one at a time, until none is left or `enough()` says so.
    fn parse_parts(&self, enough: impl Fn() -> bool) {
        while !enough() {
            let k = self.next_unclaimed.fetch_add(1, Ordering::Relaxed);
            let Some(part) = self.parts.get(k) else {
                return;
            };
            // Counted as parsed even if the parse panics: the caller must never wait on it.
            let _done = PartDone(self);
            for item in lock(part).iter_mut() {
                if let Item::Frame(frame) = item {
                    frame.parse();
                }
            }
        }
    }

    /// Waits until every part is parsed (others may still be parsing the last ones).
    fn wait_parsed(&self) {
        let mut guard = lock(&self.all_parsed_lock);
        while !self.is_parsed() {
            guard = self
                .all_parsed
                .wait(guard)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// Marks one part of a batch parsed when dropped, and wakes the caller after the last.
struct PartDone<'a>(&'a Batch);

impl Drop for PartDone<'_> {
    fn drop(&mut self) {
        let batch = self.0;
        if batch.parts_parsed.fetch_add(1, Ordering::AcqRel) + 1 == batch.parts.len() {
            // Taken so the wake-up cannot fall between the caller's test and its wait.
            let _guard = lock(&batch.all_parsed_lock);
            batch.all_parsed.notify_all();
        }
    }
}

/// Runs `source` through `analyzer` on `threads` threads (the caller and the reader among
/// them); returns the messages settled at the end and the rest of the report (like
/// [`Analyzer::finish_parts`]).
pub(super) fn analyze(
    mut source: FileSource,
    mut analyzer: Analyzer,
    threads: usize,
    on_progress: &mut dyn FnMut(Progress),
    cancel: &AtomicBool,
    on_message: &mut dyn FnMut(Settled),
) -> Result<(Vec<Settled>, Summary), AnalyzeError> {
    let bytes_total = source.total_bytes().unwrap_or(0);
    let stop = AtomicBool::new(false);
    // Batches the caller has taken, so the reader knows how far ahead it is.
    let taken = AtomicU64::new(0);
    // The reader and the caller parse too, so two threads fewer are spawned; with none,
    // nothing would drain a parsers' queue, so there is none.
    let spawned = threads.saturating_sub(2);
    let (job_tx, job_rx) = if spawned > 0 {
        let (tx, rx) = sync_channel::<Arc<Batch>>(QUEUED_BATCHES);
        (Some(tx), Some(Mutex::new(rx)))
    } else {
        (None, None)
    };
    let (order_tx, order_rx) = sync_channel::<Arc<Batch>>(QUEUED_BATCHES);
    let read = std::thread::scope(|scope| {
        let (stop, taken) = (&stop, &taken);
        let reader = analyzer.new_reader();
        scope.spawn(move || read(reader, &mut source, stop, taken, &order_tx, job_tx.as_ref()));
        if let Some(job_rx) = &job_rx {
            for _ in 0..spawned {
                scope.spawn(move || parse_batches(job_rx));
            }
        }
        let inbox = CallerInbox {
            order_rx: &order_rx,
            jobs: job_rx.as_ref(),
            taken,
        };
        let result = apply_in_order(
            &mut analyzer,
            inbox,
            bytes_total,
            on_progress,
            cancel,
            on_message,
        );
        // However the caller's side ended, let the reader stop at its next batch; dropping
        // `order_rx` (end of this closure) unblocks it if it waits to queue one.
        stop.store(true, Ordering::Relaxed);
        drop(order_rx);
        result
    })?;
    Ok(analyzer.conclude(read))
}

/// The reader thread: source → TCP → HTTP, in batches.
fn read(
    mut reader: Reader,
    source: &mut FileSource,
    stop: &AtomicBool,
    taken: &AtomicU64,
    order_tx: &SyncSender<Arc<Batch>>,
    job_tx: Option<&SyncSender<Arc<Batch>>>,
) {
    let mut sent = 0u64;
    // The last batches queued: the ones the caller may not have parsed yet when reading ends.
    let mut recent: VecDeque<Arc<Batch>> = VecDeque::new();
    let mut parts = Vec::new();
    let mut part = Vec::new();
    let mut part_body_bytes = 0usize;
    let mut since_batch = 0u64;
    let mut body_bytes = 0usize;
    // Queues a batch; then, while the caller has enough other batches to get on with, parses
    // it here, still warm from being framed.
    let mut send = |batch: Batch| -> bool {
        let batch = Arc::new(batch);
        if order_tx.send(Arc::clone(&batch)).is_err() {
            return false;
        }
        if let Some(job_tx) = job_tx {
            if job_tx.send(Arc::clone(&batch)).is_err() {
                return false;
            }
        }
        sent += 1;
        let caller_has_enough =
            || sent.saturating_sub(taken.load(Ordering::Relaxed)) > CALLER_AHEAD;
        if caller_has_enough() {
            batch.parse_parts(|| !caller_has_enough());
        }
        if recent.len() > CALLER_AHEAD as usize {
            recent.pop_front();
        }
        recent.push_back(batch);
        true
    };
    while let Some(event) = source.next_event() {
        match event {
            SourceEvent::Packet(p) => {
                let before = part.len();
                reader.push_packet(&p, &mut part);
                source.recycle(p);
                since_batch += 1;
                let added = part
                    .get(before..)
                    .unwrap_or_default()
                    .iter()
                    .map(Item::body_len)
                    .sum::<usize>();
                body_bytes += added;
                part_body_bytes += added;
            }
            SourceEvent::Diagnostic(d) => part.push(Item::Diagnostic(d)),
        }
        // Parts are cut where a packet's items end, as they are built (not moved later).
        if part_body_bytes >= PART_BODY_BYTES {
            close_part(&mut parts, &mut part);
            part_body_bytes = 0;
        }
        if since_batch >= BATCH_PACKETS || body_bytes >= BATCH_BODY_BYTES {
            close_part(&mut parts, &mut part);
            since_batch = 0;
            body_bytes = 0;
            part_body_bytes = 0;
            let batch = Batch::new(
                std::mem::take(&mut parts),
                source.bytes_read(),
                reader.packets(),
                None,
            );
            if stop.load(Ordering::Relaxed) || !send(batch) {
                return;
            }
        }
    }
    reader.finish(&mut part);
    close_part(&mut parts, &mut part);
    send(Batch::new(
        parts,
        source.bytes_read(),
        reader.packets(),
        Some(reader.summary()),
    ));
    // Nothing left to read: help the caller through the last batches instead of leaving
    // it to parse them alone (newest first, away from the parts it is claiming).
    for batch in recent.iter().rev() {
        batch.parse_parts(|| false);
    }
}

/// Adds the part being built to the batch's parts, unless it is empty, and starts the next
/// one with room for as many items (parts are alike, so this spares it growing a step at a
/// time).
fn close_part(parts: &mut Vec<Mutex<Vec<Item>>>, part: &mut Vec<Item>) {
    if !part.is_empty() {
        let room = part.len();
        parts.push(Mutex::new(std::mem::replace(
            part,
            Vec::with_capacity(room),
        )));
    }
}

/// A parser thread: parses what is left unclaimed of each queued batch.
///
/// It runs at the lowest priority. The reader is the one role that cannot be shared: at
/// equal priority it lost time to the parsing threads, finished last and set the pace
/// while they waited for its batches (18 % slower on two cores, when a spawned parser ran
/// beside the two). At low priority a spawned parser takes only the time the reader and
/// the caller leave, and still gets all of it when they wait. Best effort: where the
/// system refuses, the thread parses at normal priority.
fn parse_batches(jobs: &Mutex<Receiver<Arc<Batch>>>) {
    let _ = thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min);
    loop {
        // The lock is held only while waiting for a job, not while parsing it.
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(batch) = job else {
            return;
        };
        batch.parse_parts(|| false);
    }
}

/// Makes the next batch in order fully parsed: the caller parses its unclaimed parts;
/// then, while another thread still parses its last ones, the caller parses later queued
/// batches (their parts, until the awaited batch is done) instead of sleeping.
fn parse_in_order(batch: &Batch, jobs: Option<&Mutex<Receiver<Arc<Batch>>>>) {
    batch.parse_parts(|| false);
    while !batch.is_parsed() {
        let later = jobs.and_then(|jobs| jobs.try_lock().ok().and_then(|rx| rx.try_recv().ok()));
        match later {
            Some(later) => later.parse_parts(|| batch.is_parsed()),
            None => return batch.wait_parsed(),
        }
    }
}

/// Where the caller's batches come from.
struct CallerInbox<'a> {
    /// Every batch, in reading order.
    order_rx: &'a Receiver<Arc<Batch>>,
    /// The spawned parsers' queue (None without spawned parsers): later batches the caller
    /// parses while another thread finishes the one it waits for.
    jobs: Option<&'a Mutex<Receiver<Arc<Batch>>>>,
    /// Batches taken so far, counted for the reader (see [`CALLER_AHEAD`]).
    taken: &'a AtomicU64,
}

/// The caller's side: batches in reading order through the rest of the pipeline.
fn apply_in_order(
    analyzer: &mut Analyzer,
    inbox: CallerInbox<'_>,
    bytes_total: u64,
    on_progress: &mut dyn FnMut(Progress),
    cancel: &AtomicBool,
    on_message: &mut dyn FnMut(Settled),
) -> Result<ReadSummary, AnalyzeError> {
    let mut last_progress = 0u64;
    for batch in inbox.order_rx {
        inbox.taken.fetch_add(1, Ordering::Relaxed);
        parse_in_order(&batch, inbox.jobs);
        for part in &batch.parts {
            analyzer.apply(&mut lock(part));
            for s in analyzer.take_settled() {
                on_message(s);
            }
        }
        let progress = Progress {
            bytes_done: batch.bytes_done,
            bytes_total,
            packets: batch.packets,
            messages: analyzer.message_count(),
        };
        if let Some(read) = lock(&batch.end).take() {
            on_progress(progress);
            return Ok(read);
        }
        if batch.packets / PROGRESS_EVERY != last_progress / PROGRESS_EVERY {
            last_progress = batch.packets;
            if cancel.load(Ordering::Relaxed) {
                return Err(AnalyzeError::Cancelled);
            }
            on_progress(progress);
        }
    }
    Err(AnalyzeError::Unreadable(
        "internal error: the reader thread stopped".into(),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::analyzer::reader::FrameItem;
    use crate::model::{Diagnostic, MessageDirection};
    use crate::transport::TransportFrame;

    fn frame(n: usize) -> Item {
        Item::Frame(Box::new(FrameItem {
            frame: TransportFrame {
                stream: n,
                direction: MessageDirection::Request,
                exchange: 0,
                ts: None,
                ts_end: None,
                http: None,
                body: format!("<e{n}/>").into_bytes(),
                complete: true,
                errors: Vec::new(),
            },
            roles_swapped: false,
            parsed: None,
            copy_body_text: false,
        }))
    }

    /// A batch of the items `pattern` names (F frame, E packet end, else a diagnostic), cut
    /// into a part after each frame.
    fn batch(pattern: &str) -> Batch {
        let mut parts = Vec::new();
        let mut part = Vec::new();
        for (k, c) in pattern.chars().enumerate() {
            match c {
                'F' => {
                    part.push(frame(k));
                    close_part(&mut parts, &mut part);
                }
                'E' => part.push(Item::PacketEnd),
                _ => part.push(Item::Diagnostic(Diagnostic::info("d".to_string()))),
            }
        }
        close_part(&mut parts, &mut part);
        Batch::new(parts, 0, 0, None)
    }

    #[test]
    fn threads_sharing_a_batch_parse_every_part_once() {
        let pattern = "FEDF".repeat(200);
        for _ in 0..20 {
            let batch = batch(&pattern);
            std::thread::scope(|scope| {
                for _ in 0..3 {
                    scope.spawn(|| batch.parse_parts(|| false));
                }
                batch.parse_parts(|| false);
                batch.wait_parsed();
            });
            assert!(batch.is_parsed());
            assert_eq!(
                batch.parts_parsed.load(Ordering::Relaxed),
                batch.parts.len()
            );
            for part in &batch.parts {
                for item in lock(part).iter() {
                    if let Item::Frame(f) = item {
                        assert!(f.parsed.is_some(), "frame {} left unparsed", f.frame.stream);
                    }
                }
            }
        }
    }

    #[test]
    fn a_helper_stops_claiming_once_told_enough() {
        let batch = batch("FFFF");
        let claimed = AtomicUsize::new(0);
        batch.parse_parts(|| claimed.fetch_add(1, Ordering::Relaxed) >= 2);
        assert_eq!(batch.parts_parsed.load(Ordering::Relaxed), 2);
        assert!(!batch.is_parsed());
        // The rest is still there for whoever comes next.
        batch.parse_parts(|| false);
        assert!(batch.is_parsed());
    }
}
