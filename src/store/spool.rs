//! The spool: an append-only file of store entries, written on the request path before the
//! response leaves, and emptied into the database by the writer thread.
//!
//! Writing every entry here first is what makes the store crash-safe and the Route call
//! independent of the database: one `write(2)` of one JSON line (the kernel has the bytes once it
//! returns, so a `kill -9` cannot lose them), then the response. The writer rotates the active
//! segment, inserts the closed segments' entries in one transaction each (inserts are idempotent:
//! a decision id or rule-set version already stored is skipped), and deletes a segment only once
//! its transaction has committed. When the database is slow or down, segments accumulate and are
//! replayed when it returns, including after a restart.
//!
//! Segments are `seg-<sequence>.jsonl` in the spool directory, replayed in sequence order.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::metrics::gauge::Gauge;

use super::record::Entry;

pub(crate) struct Spool {
    dir: PathBuf,
    /// Held for the life of the spool: two processes appending to one spool would replay and
    /// delete each other's segments.
    _lock: File,
    active: Mutex<Active>,
    /// Bytes in all segments not yet in the database (for the metrics).
    pending_bytes: Gauge,
    /// Lines appended since start.
    pub(crate) appended: AtomicU64,
}

struct Active {
    seq: u64,
    file: File,
    bytes: u64,
}

impl Spool {
    /// Opens the spool in `dir` (created if needed); appends go to a new segment after the
    /// existing ones, which are left for the writer to replay.
    pub fn open(dir: &Path, pending_bytes: Gauge) -> std::io::Result<Spool> {
        std::fs::create_dir_all(dir)?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(".lock"))?;
        if lock.try_lock().is_err() {
            return Err(std::io::Error::other(format!(
                "{} is in use by another hotline-router; give each process its own store path",
                dir.display()
            )));
        }
        let existing = segments(dir)?;
        let pending: i64 = existing
            .iter()
            .filter_map(|(_, p)| std::fs::metadata(p).ok())
            .map(|m| i64::try_from(m.len()).unwrap_or(i64::MAX))
            .sum();
        pending_bytes.set(pending);
        let seq = existing.last().map_or(0, |(s, _)| s + 1);
        let file = open_segment(dir, seq)?;
        Ok(Spool {
            dir: dir.to_path_buf(),
            _lock: lock,
            active: Mutex::new(Active {
                seq,
                file,
                bytes: 0,
            }),
            pending_bytes,
            appended: AtomicU64::new(0),
        })
    }

    /// Appends one entry as one line, in one write.
    pub fn append(&self, entry: &Entry) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let mut active = match self.active.lock() {
            Ok(a) => a,
            Err(poisoned) => poisoned.into_inner(),
        };
        active.file.write_all(&line)?;
        active.bytes += line.len() as u64;
        self.pending_bytes
            .inc_by(i64::try_from(line.len()).unwrap_or(i64::MAX));
        self.appended.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Closes the active segment if it holds anything (appends go to a new one) and returns every
    /// closed segment, oldest first.
    pub fn rotate(&self) -> std::io::Result<Vec<(u64, PathBuf)>> {
        {
            let mut active = match self.active.lock() {
                Ok(a) => a,
                Err(poisoned) => poisoned.into_inner(),
            };
            if active.bytes > 0 {
                let seq = active.seq + 1;
                active.file = open_segment(&self.dir, seq)?;
                active.seq = seq;
                active.bytes = 0;
            }
        }
        let active_seq = self.active_seq();
        Ok(segments(&self.dir)?
            .into_iter()
            .filter(|(s, _)| *s != active_seq)
            .collect())
    }

    fn active_seq(&self) -> u64 {
        match self.active.lock() {
            Ok(a) => a.seq,
            Err(poisoned) => poisoned.into_inner().seq,
        }
    }

    /// Deletes a segment whose entries are in the database.
    pub fn done(&self, path: &Path) -> std::io::Result<()> {
        let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        std::fs::remove_file(path)?;
        self.pending_bytes
            .dec_by(i64::try_from(len).unwrap_or(i64::MAX));
        Ok(())
    }
}

/// One entry read back, with its line as written (a decision's line is stored as its record:
/// parsed once, never serialized again).
pub(crate) struct Line {
    pub entry: Entry,
    pub raw: String,
}

/// The entries of a closed segment, and how many of its lines were not entries (a line cut short
/// by a crash in the middle of a write, or damage): those are skipped and counted.
pub(crate) fn read_segment(path: &Path) -> std::io::Result<(Vec<Line>, usize)> {
    let file = std::io::BufReader::new(File::open(path)?);
    let mut entries = Vec::new();
    let mut bad = 0;
    for line in file.split(b'\n') {
        let line = line?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Entry>(&line) {
            Ok(entry) => entries.push(Line {
                entry,
                raw: String::from_utf8_lossy(&line).into_owned(),
            }),
            Err(_) => bad += 1,
        }
    }
    Ok((entries, bad))
}

fn open_segment(dir: &Path, seq: u64) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("seg-{seq:012}.jsonl")))
}

/// Every segment in `dir`, by sequence.
fn segments(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let path = e?.path();
        let seq = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("seg-"))
            .and_then(|n| n.strip_suffix(".jsonl"))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(seq) = seq {
            out.push((seq, path));
        }
    }
    out.sort();
    Ok(out)
}
