//! A capture file analysed on several threads, with exactly the result one thread gives.
//!
//! Three roles: a *reader* thread runs the capture source, TCP reassembly and HTTP framing
//! and cuts what it saw into batches of [`Item`]s; *parser* threads parse the message bodies
//! of whole batches (XML is most of the work, and each body parses on its own); the calling
//! thread applies the batches in reading order (sessions, security, pairing: everything
//! that depends on what came before) and hands out settled messages. While the batch it
//! needs next is not ready, the calling thread parses queued batches too, so `threads`
//! parsing threads are `threads - 1` spawned ones plus the caller (fewer threads taking
//! turns on the cores: 14 % faster on two cores than a spawned parser per core).
//!
//! Order is kept by the reader: for each batch it queues, in reading order, the receiving
//! end of a one-batch channel the parser will answer on; the caller takes those in turn.
//! Queues are bounded, so memory stays bounded whatever the capture's size.

use super::pipeline::{Analyzer, Settled, Summary};
use super::reader::{Item, ReadSummary, Reader};
use super::{AnalyzeError, Progress, PROGRESS_EVERY};
use crate::capture::{FileSource, SourceEvent};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::sync::Mutex;

/// Packets per batch: small enough to spread over the parsers, large enough that handing
/// a batch over costs little next to parsing it.
const BATCH_PACKETS: u64 = 256;
/// A batch also ends once its message bodies reach this many bytes: decompressed bodies
/// can be far larger than the packets that carried them.
const BATCH_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Batches queued between the roles. With the two limits above this bounds what is in
/// flight to a few tens of MB (plus, at worst, one message at the HTTP stage's own bounds
/// per batch). The caller applies batches in order, so one slow batch (large bodies) holds
/// up the ones behind it; with 8 the reader often stalled on a full queue while a core sat
/// idle, 16 gave about 5 % on two cores at 2 MB more peak memory.
const QUEUED_BATCHES: usize = 16;

struct Batch {
    items: Vec<Item>,
    bytes_done: u64,
    packets: u64,
    /// Present on the last batch, after the reader finished.
    end: Option<ReadSummary>,
}

type Job = (Batch, SyncSender<Batch>);

/// Runs `source` through `analyzer` with `parsers` threads parsing (the caller among
/// them); returns the messages settled at the end and the rest of the report (like
/// [`Analyzer::finish_parts`]).
pub(super) fn analyze(
    mut source: FileSource,
    mut analyzer: Analyzer,
    parsers: usize,
    on_progress: &mut dyn FnMut(Progress),
    cancel: &AtomicBool,
    on_message: &mut dyn FnMut(Settled),
) -> Result<(Vec<Settled>, Summary), AnalyzeError> {
    let bytes_total = source.total_bytes().unwrap_or(0);
    let stop = AtomicBool::new(false);
    let (job_tx, job_rx) = sync_channel::<Job>(QUEUED_BATCHES);
    let job_rx = Mutex::new(job_rx);
    let (order_tx, order_rx) = sync_channel::<Receiver<Batch>>(QUEUED_BATCHES);
    let read = std::thread::scope(|scope| {
        let stop = &stop;
        let reader = analyzer.new_reader();
        scope.spawn(move || read(reader, &mut source, stop, &order_tx, &job_tx));
        // The calling thread parses too while it waits, so one thread fewer is spawned.
        for _ in 0..parsers.saturating_sub(1).max(1) {
            let job_rx = &job_rx;
            scope.spawn(move || parse_batches(job_rx));
        }
        let result = apply_in_order(
            &mut analyzer,
            &order_rx,
            &job_rx,
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
    order_tx: &SyncSender<Receiver<Batch>>,
    job_tx: &SyncSender<Job>,
) {
    let mut items = Vec::new();
    let mut since_batch = 0u64;
    let mut body_bytes = 0usize;
    let send = |batch: Batch| -> bool {
        let (tx, rx) = sync_channel(1);
        order_tx.send(rx).is_ok() && job_tx.send((batch, tx)).is_ok()
    };
    while let Some(event) = source.next_event() {
        match event {
            SourceEvent::Packet(p) => {
                let before = items.len();
                reader.push_packet(&p, &mut items);
                source.recycle(p);
                since_batch += 1;
                body_bytes += items
                    .get(before..)
                    .unwrap_or_default()
                    .iter()
                    .map(Item::body_len)
                    .sum::<usize>();
            }
            SourceEvent::Diagnostic(d) => items.push(Item::Diagnostic(d)),
        }
        if since_batch >= BATCH_PACKETS || body_bytes >= BATCH_BODY_BYTES {
            since_batch = 0;
            body_bytes = 0;
            let batch = Batch {
                items: std::mem::take(&mut items),
                bytes_done: source.bytes_read(),
                packets: reader.packets(),
                end: None,
            };
            if stop.load(Ordering::Relaxed) || !send(batch) {
                return;
            }
        }
    }
    reader.finish(&mut items);
    send(Batch {
        items,
        bytes_done: source.bytes_read(),
        packets: reader.packets(),
        end: Some(reader.summary()),
    });
}

/// A parser thread: parses every message body of a batch, then hands the batch back.
///
/// It runs at the lowest priority. The reader is the one role that cannot be shared, and
/// on two cores it competed for time with two parsing threads: it finished last and set
/// the pace while parsers waited for its batches. At low priority a spawned parser takes
/// only the time the reader and the caller leave, and still gets all of it when they wait
/// (18 % faster on two cores; the caller, which also parses, keeps its priority, so the
/// work never waits on a starved thread alone). Best effort: where the system refuses,
/// the thread parses at normal priority.
fn parse_batches(jobs: &Mutex<Receiver<Job>>) {
    let _ = thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min);
    loop {
        // The lock is held only while waiting for a job, not while parsing it.
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok((mut batch, reply)) = job else {
            return;
        };
        parse_batch(&mut batch);
        // The caller may have stopped listening (cancelled): nothing to do then.
        let _ = reply.send(batch);
    }
}

fn parse_batch(batch: &mut Batch) {
    for item in &mut batch.items {
        if let Item::Frame(frame) = item {
            frame.parse();
        }
    }
}

/// The next batch in order. While it is not ready, the calling thread parses queued
/// batches itself (any of them: each answers on its own channel) instead of sleeping.
fn next_in_order(reply: &Receiver<Batch>, jobs: &Mutex<Receiver<Job>>) -> Option<Batch> {
    loop {
        match reply.try_recv() {
            Ok(batch) => return Some(batch),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) => {}
        }
        let job = jobs.try_lock().ok().and_then(|rx| rx.try_recv().ok());
        match job {
            Some((mut batch, tx)) => {
                parse_batch(&mut batch);
                let _ = tx.send(batch);
            }
            None => return reply.recv().ok(),
        }
    }
}

/// The caller's side: batches in reading order through the rest of the pipeline.
fn apply_in_order(
    analyzer: &mut Analyzer,
    order_rx: &Receiver<Receiver<Batch>>,
    jobs: &Mutex<Receiver<Job>>,
    bytes_total: u64,
    on_progress: &mut dyn FnMut(Progress),
    cancel: &AtomicBool,
    on_message: &mut dyn FnMut(Settled),
) -> Result<ReadSummary, AnalyzeError> {
    let mut last_progress = 0u64;
    for reply in order_rx {
        let Some(mut batch) = next_in_order(&reply, jobs) else {
            return Err(AnalyzeError::Unreadable(
                "internal error: a parser thread stopped".into(),
            ));
        };
        analyzer.apply(&mut batch.items);
        for s in analyzer.take_settled() {
            on_message(s);
        }
        let progress = Progress {
            bytes_done: batch.bytes_done,
            bytes_total,
            packets: batch.packets,
            messages: analyzer.message_count(),
        };
        if let Some(read) = batch.end {
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
