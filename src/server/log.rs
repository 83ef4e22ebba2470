//! Log lines, written to stderr in batches by a thread of their own.
//!
//! Every decision has its log line (`sink.rs`), so a busy router writes thousands a second. A
//! line is formatted on the calling thread and appended to a shared buffer; the `hotline-log`
//! thread, woken by the first line of a batch, gathers lines for [`FLUSH_EVERY`] (less once
//! [`WAKE_AT`] bytes wait) and writes them with one `write`. Why not a channel with a thread
//! waiting on it: its receiver spins and yields the CPU between lines before it sleeps, and at a
//! steady few thousand lines a second it never sleeps. Paced at 8,000 calls/s, that thread took 3.1-3.3 µs of CPU per call
//! on the serving core; at 16,000/s it made 3,454 `sched_yield`s for 1,252 writes in 5 s
//! (BENCHMARKS.md §3). Here a line costs its formatting and a copy under a lock, and the thread
//! wakes at most about 20 times a second, whatever the rate (not at all on an idle router).
//!
//! Nothing is dropped. When [`HOLD_AT_MOST`] bytes wait (stderr blocked by a slow reader), the
//! line's caller writes them out itself before going on, as a plain `write` to stderr would
//! have made it wait. Lines wait in memory at most [`FLUSH_EVERY`]; the guard's drop (the end
//! of `serve`) writes what is left. A `kill -9` loses the last [`FLUSH_EVERY`] of lines, as the
//! channel lost what was queued; decisions themselves are in the store's spool.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a line may wait in memory before it is written.
const FLUSH_EVERY: Duration = Duration::from_millis(50);

/// Bytes waiting at which the thread is woken before its time.
const WAKE_AT: usize = 256 << 10;

/// Bytes waiting at which a line's caller writes them out itself.
const HOLD_AT_MOST: usize = 8 << 20;

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    /// Where lines go; locked before `state` wherever both are held, so that batches are
    /// written in the order they were taken.
    out: Mutex<Box<dyn Write + Send>>,
}

#[derive(Default)]
struct State {
    lines: Vec<u8>,
    /// Set by the guard's drop (or when no thread could start): callers write their lines
    /// themselves.
    closing: bool,
    /// The thread sleeps until a line arrives (nothing waits): the next line wakes it.
    idle: bool,
    /// The thread has been woken early for the bytes now waiting (once per batch).
    urged: bool,
}

impl Shared {
    // A thread that panicked while holding a lock left whole lines (appends are single
    // `extend_from_slice` calls, writes single `write_all`s): keep logging.
    fn state(&self) -> MutexGuard<'_, State> {
        crate::store::locked(&self.state)
    }

    fn out(&self) -> MutexGuard<'_, Box<dyn Write + Send>> {
        crate::store::locked(&self.out)
    }

    /// Writes out what waits, from the calling thread, in order with the batches before it.
    fn write_waiting(&self) -> std::io::Result<()> {
        let mut out = self.out();
        let lines = std::mem::take(&mut self.state().lines);
        out.write_all(&lines)?;
        out.flush()
    }
}

/// Where `tracing_subscriber`'s formatter writes each line.
#[derive(Clone)]
pub(crate) struct LogWriter {
    shared: Arc<Shared>,
}

/// Ends the `hotline-log` thread once every line is written. Hold it to the end of `serve`.
pub(crate) struct LogGuard {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Starts the `hotline-log` thread writing to `out` (stderr in `serve`).
pub(crate) fn start(out: impl Write + Send + 'static) -> (LogWriter, LogGuard) {
    let shared = Arc::new(Shared {
        state: Mutex::default(),
        wake: Condvar::new(),
        out: Mutex::new(Box::new(out)),
    });
    let thread = {
        let shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("hotline-log".into())
            .spawn(move || write_lines(&shared))
            .ok()
    };
    if thread.is_none() {
        shared.state().closing = true;
    }
    let writer = LogWriter {
        shared: Arc::clone(&shared),
    };
    (writer, LogGuard { shared, thread })
}

/// The `hotline-log` thread: sleeps until a line arrives, gathers for [`FLUSH_EVERY`] (less
/// once [`WAKE_AT`] bytes wait), takes the batch and writes it outside the state's lock
/// (callers keep appending meanwhile). An idle router's log thread does not wake at all.
fn write_lines(shared: &Shared) {
    let mut batch = Vec::new();
    loop {
        {
            let mut state = shared.state();
            while state.lines.is_empty() && !state.closing {
                state.idle = true;
                state = shared.wake.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            state.idle = false;
            let deadline = Instant::now() + FLUSH_EVERY;
            while !state.closing && state.lines.len() < WAKE_AT {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                state = match shared.wake.wait_timeout(state, left) {
                    Ok((s, _)) => s,
                    Err(e) => e.into_inner().0,
                };
            }
        }
        let mut out = shared.out();
        let closing = {
            let mut state = shared.state();
            std::mem::swap(&mut batch, &mut state.lines);
            state.urged = false;
            state.closing
        };
        if !batch.is_empty() {
            let _ = out.write_all(&batch);
            let _ = out.flush();
            batch.clear();
            // A burst's buffer is not kept for a quiet router's life.
            batch.shrink_to(WAKE_AT);
        }
        if closing {
            return;
        }
    }
}

impl Write for LogWriter {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let mut state = self.shared.state();
        state.lines.extend_from_slice(line);
        if state.closing || state.lines.len() >= HOLD_AT_MOST {
            // No thread to write it (the end of `serve`), or the thread is behind (a blocked
            // stderr): this caller writes, and waits for that, as it would for its own write.
            drop(state);
            self.shared.write_waiting()?;
        } else if state.idle {
            // The first line of a batch: one wake-up, after which the thread gathers.
            state.idle = false;
            self.shared.wake.notify_one();
        } else if state.lines.len() >= WAKE_AT && !state.urged {
            state.urged = true;
            self.shared.wake.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        // Lines are written by the thread within `FLUSH_EVERY`; a flush per line would undo
        // the batching.
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.shared.state().closing = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `Write` that keeps what it is given and counts the writes, shared with the test.
    #[derive(Clone, Default)]
    struct Sink {
        bytes: Arc<Mutex<Vec<u8>>>,
        writes: Arc<Mutex<usize>>,
    }

    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.bytes.lock().unwrap().extend_from_slice(b);
            *self.writes.lock().unwrap() += 1;
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_arrive_whole_in_order_in_few_writes_and_the_guard_writes_the_rest() {
        let sink = Sink::default();
        let (writer, guard) = start(sink.clone());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let mut w = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..2_000 {
                        w.write_all(format!("thread {t} line {i}\n").as_bytes())
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(guard);
        let text = String::from_utf8(sink.bytes.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 8_000);
        for t in 0..4 {
            let mine: Vec<&str> = lines
                .iter()
                .copied()
                .filter(|l| l.starts_with(&format!("thread {t} ")))
                .collect();
            let expected: Vec<String> =
                (0..2_000).map(|i| format!("thread {t} line {i}")).collect();
            assert_eq!(mine, expected, "thread {t}'s lines, whole and in order");
        }
        // Batched: far fewer writes than lines.
        let writes = *sink.writes.lock().unwrap();
        assert!(writes < 800, "{writes} writes for 8,000 lines");
    }

    #[test]
    fn a_line_is_written_without_more_lines_or_a_drop_also_after_a_quiet_spell() {
        let sink = Sink::default();
        let (mut writer, _guard) = start(sink.clone());
        let written = |expected: &[u8]| {
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while sink.bytes.lock().unwrap().as_slice() != expected {
                assert!(
                    std::time::Instant::now() < deadline,
                    "never written: {:?}",
                    String::from_utf8_lossy(expected)
                );
                std::thread::sleep(Duration::from_millis(5));
            }
        };
        writer.write_all(b"first line\n").unwrap();
        written(b"first line\n");
        // The thread has gone back to sleep until a line arrives: the next one wakes it.
        std::thread::sleep(FLUSH_EVERY * 3);
        writer.write_all(b"second line\n").unwrap();
        written(b"first line\nsecond line\n");
    }
}
