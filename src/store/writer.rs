//! The writer thread: empties the spool into the backend, answers queries after that, purges
//! old decisions once a day.
//!
//! Queries (GetDecision, RecordOutcome, reports) run after the spool is emptied, so a decision
//! whose response has been sent is always found, whatever its age.
//!
//! Every tick the writer takes what the spool's ring holds (see `ring.rs`), then closes the
//! active segment and reads each closed one back, and inserts their frames a window (512 KiB)
//! at a time, one transaction each; a window's frames decode into entries that borrow from its
//! bytes. Reading back what was just written costs a copy from the page cache, far less than the
//! inserts; it keeps the spool the one source of the writer's entries, at startup and after a
//! database failure alike. Windows rather than whole segments keep what the writer holds while
//! it catches up on a backlog to about a megabyte.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use super::backend::Backend;
use super::record::{Event, EventOutcome, Lookup, StoredDecision};
use super::ring::Taken;
use super::spool::{Item, Segment, Spool, WINDOW, decode_frames, window};
use super::{Stats, now_ms};

/// How often the spool is emptied when nothing asks sooner: small batches, so that the work of
/// one never holds a core long enough to show in a Route call's latency.
const TICK: Duration = Duration::from_millis(20);
const DAY_MS: i64 = 86_400_000;

pub(crate) type Reply<T> = Sender<Result<T, String>>;

pub(crate) enum Command {
    Get(Lookup, Reply<Option<StoredDecision>>),
    Event(Box<Event>, Reply<EventOutcome>),
    Between(i64, i64, Reply<super::Period>),
    RuleFiles(String, Reply<Option<Vec<(String, String)>>>),
    Flush(Reply<()>),
    Purge(Reply<usize>),
    Stop,
}

pub(crate) struct Writer {
    pub backend: Box<dyn Backend>,
    pub spool: Arc<Spool>,
    pub stats: Arc<Stats>,
    pub retain_days: Option<u32>,
    /// The allocation the ring is copied into, kept from tick to tick: allocated anew each tick
    /// (up to a megabyte, fifty times a second under load), its pages were faulted in each time,
    /// half of the writer's page faults (BENCHMARKS.md §6).
    pub ring_buf: Vec<u8>,
    /// Whether the last attempt to store the spool failed: the failure is logged once when it
    /// starts and once when it ends, not on every tick (fifty a second), and never only at
    /// shutdown, as it was.
    pub failing: bool,
}

/// The largest ring copy [`Writer::ring_buf`] keeps between ticks (a ring of up to 1 GiB may
/// be configured; a backlog that size is not held for the process's life).
const RING_BUF_KEPT: usize = 4 << 20;

/// Returns to the system the memory the writer's heap keeps after SQLite stored a rule set's
/// archive: a megabyte-sized file is copied into a statement and into its record, and freed
/// pages would otherwise wait for reuse (3 MB of the 100 MB budget with the bundled models,
/// BENCHMARKS.md §4). SQLite allocates through mimalloc (`sqlite.rs`), in this thread's heap.
/// Once per rule-set version, so the collection's cost does not matter. With PostgreSQL it
/// returns what the client library's copy of the archive left in the same heap.
fn give_back_sqlite_memory() {
    // SAFETY: `mi_collect` has no preconditions: it frees the calling thread's unused memory.
    unsafe { libmimalloc_sys::mi_collect(true) };
}

/// The writer's nice value where `SCHED_IDLE` is refused (see [`yield_to_routing`]).
const NICE: i32 = 19;

/// Puts the calling thread in the `SCHED_IDLE` class (else at nice 19; Linux schedules threads
/// one by one) so that routing always comes first: a waking Route call preempts an idle-class
/// thread at once, where at nice 19 the writer could still finish its time slice first. A
/// decision is durable once its frame is in the spool, before its response leaves; what the
/// writer does after (decode, insert, commit) can wait. At nice 0 it took the serving core in
/// bursts of several milliseconds every tick, and Route calls waited behind it: median latency at
/// half load 6-36 ms against 0.2-0.9 ms without a store (BENCHMARKS.md §6). Now it uses the idle
/// time a serving router has, and at saturation the
/// spool grows (`hotline_store_spool_bytes`) until the load falls. An unprivileged thread cannot
/// raise its priority again, so it stays low for its life; queries (GetDecision, outcomes,
/// reports) wait for the spool to be emptied as before, under the caller's deadline.
fn yield_to_routing() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid(2) and setpriority(2) take and return plain integers and touch no
        // memory of this process; `PRIO_PROCESS` with a thread id changes only that thread. A
        // failure (a sandbox that forbids it) leaves the thread at its priority: nothing to undo.
        unsafe {
            let idle = libc::sched_param { sched_priority: 0 };
            if libc::sched_setscheduler(0, libc::SCHED_IDLE, &idle) != 0 {
                let tid = libc::gettid();
                libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, NICE);
            }
        }
    }
}

impl Writer {
    pub fn run(mut self, commands: Receiver<Command>) {
        yield_to_routing();
        self.store_what_was_left();
        let mut last_purge: Option<Instant> = None;
        loop {
            let command = match commands.recv_timeout(TICK) {
                Ok(c) => Some(c),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => Some(Command::Stop),
            };
            let emptied = self.empty_spool();
            let _ = self.say_when_failing_changes(&emptied);
            if last_purge.is_none_or(|t| t.elapsed() >= Duration::from_secs(86_400)) {
                let _ = self.purge();
                last_purge = Some(Instant::now());
            }
            let Some(command) = command else { continue };
            // A query answered before the spool is in the database could miss a decision that was
            // already answered; say so instead.
            let ready = emptied.map_err(|e| format!("the decision store is unavailable: {e}"));
            match command {
                Command::Get(key, reply) => {
                    let _ = reply.send(ready.and_then(|()| self.backend.get(&key)));
                }
                Command::Event(event, reply) => {
                    let _ = reply.send(ready.and_then(|()| self.backend.add_event(&event)));
                }
                Command::Between(from, to, reply) => {
                    let _ = reply.send(ready.and_then(|()| self.backend.between(from, to)));
                }
                Command::RuleFiles(version, reply) => {
                    let _ = reply.send(ready.and_then(|()| self.backend.rule_files(&version)));
                }
                Command::Flush(reply) => {
                    let _ = reply.send(ready);
                }
                Command::Purge(reply) => {
                    let _ = reply.send(ready.and_then(|()| self.purge()));
                }
                Command::Stop => return,
            }
        }
    }

    /// Stores what an earlier process left in the ring and the spool (after a crash, or a
    /// database that was down when it stopped) and says how much it was, so that an operator
    /// who restarts a killed router sees its answered decisions arrive. A failure is logged as
    /// any other and retried by the loop.
    pub(super) fn store_what_was_left(&mut self) -> Option<u64> {
        let bytes = self.stats.spool_bytes.get();
        if bytes <= 0 {
            return None;
        }
        let before = self.stats.written.get();
        let emptied = self.empty_spool();
        let records = self.stats.written.get().saturating_sub(before);
        match &emptied {
            Ok(()) => tracing::info!(
                records,
                bytes,
                "stored what an earlier process left in the spool (decisions it answered, their \
                 events and rule sets)"
            ),
            Err(_) if records > 0 => tracing::info!(
                records,
                "stored part of what an earlier process left in the spool; the rest waits"
            ),
            Err(_) => {}
        }
        let _ = self.say_when_failing_changes(&emptied);
        Some(records)
    }

    /// Moves what the ring holds, then every closed spool segment, oldest first, into the
    /// backend; stops at the first failure (the ring's frames are spilled to a segment, a
    /// segment stays; both are tried again).
    pub(super) fn empty_spool(&mut self) -> Result<(), String> {
        // The ring first: when the database fails, what it holds is spilled to disk before
        // anything else is tried (it does not outlive a reboot).
        if let Some(taken) = self.spool.take_ring(std::mem::take(&mut self.ring_buf)) {
            let stored = self.store_ring(&taken);
            if taken.bytes.capacity() <= RING_BUF_KEPT {
                self.ring_buf = taken.bytes;
            }
            stored?;
        }
        let segments = self.spool.rotate().map_err(|e| format!("spool: {e}"))?;
        for (_, path) in segments {
            let shown = |e: std::io::Error| format!("spool {}: {e}", path.display());
            match Segment::open(&path).map_err(shown)? {
                Segment::Frames(mut windows) => {
                    while let Some(frames) = windows.next_window().map_err(shown)? {
                        self.store_window(frames)?;
                    }
                }
                Segment::Json(entries, bad) => {
                    self.store(&Segment::json_items(&entries), bad)?;
                }
            }
            self.spool.done(&path).map_err(shown)?;
        }
        self.spool.resume_ring();
        Ok(())
    }

    /// Stores a run of frames a [`WINDOW`] at a time, one transaction each (a window stored
    /// before a failure is skipped when the run is replayed).
    fn store_frames(&mut self, mut frames: &[u8]) -> Result<(), String> {
        while !frames.is_empty() {
            let end = window(frames, WINDOW);
            self.store_window(&frames[..end])?;
            frames = &frames[end..];
        }
        Ok(())
    }

    /// Stores what was taken from the ring and frees it; when that fails, spills it to disk.
    fn store_ring(&mut self, taken: &Taken) -> Result<(), String> {
        if let Err(e) = self.store_frames(&taken.bytes) {
            self.spool
                .spill(taken)
                .map_err(|s| format!("{e}; spilling the spool's ring to disk: {s}"))?;
            return Err(e);
        }
        self.spool.release_ring(taken);
        Ok(())
    }

    /// Stores one window of frames (see [`window`]) in one transaction.
    fn store_window(&mut self, frames: &[u8]) -> Result<(), String> {
        let (items, bad) = decode_frames(frames);
        self.store(&items, bad)
    }

    fn store(&mut self, items: &[Item<'_>], bad: usize) -> Result<(), String> {
        if let Err(e) = self.backend.write(items) {
            self.failed(&e);
            return Err(e);
        }
        self.stats.written.inc_by(items.len() as u64);
        self.stats.damaged.inc_by(bad as u64);
        if items.iter().any(|i| matches!(i, Item::RuleSet(_))) {
            give_back_sqlite_memory();
        }
        Ok(())
    }

    /// Logs a failure of the store when it starts (ERROR: decisions are answered, and wait in the
    /// spool) and when it ends; returns what it logged: `Some(true)` a start, `Some(false)` an end.
    pub(super) fn say_when_failing_changes(
        &mut self,
        emptied: &Result<(), String>,
    ) -> Option<bool> {
        match (emptied, self.failing) {
            (Err(e), false) => {
                self.failing = true;
                tracing::error!(
                    error = %e,
                    spool_bytes = self.stats.spool_bytes.get(),
                    "the decision store cannot be written; decisions are answered and wait in the \
                     spool, and are stored when it can be written again"
                );
                Some(true)
            }
            (Ok(()), true) => {
                self.failing = false;
                tracing::info!("the decision store can be written again; the spool is stored");
                Some(false)
            }
            _ => None,
        }
    }

    fn failed(&self, e: &str) {
        self.stats.failures.inc();
        if let Ok(mut last) = self.stats.last_error.lock() {
            *last = e.to_owned();
        }
    }

    fn purge(&mut self) -> Result<usize, String> {
        let Some(days) = self.retain_days else {
            return Ok(0);
        };
        let purged = self.backend.purge(now_ms() - i64::from(days) * DAY_MS)?;
        self.stats.purged.inc_by(purged as u64);
        Ok(purged)
    }
}
