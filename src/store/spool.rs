//! The spool: an append-only file of store entries, written on the request path before the
//! response leaves, and emptied into the database by the writer thread.
//!
//! Writing every entry here first is what makes the store crash-safe and the Route call
//! independent of the database: one `write(2)` of one frame (the kernel has the bytes once it
//! returns, so a `kill -9` cannot lose them), then the response. The writer rotates the active
//! segment, inserts the closed segments' entries in one transaction each (inserts are idempotent:
//! a decision id or rule-set version already stored is skipped), and deletes a segment only once
//! its transaction has committed. When the database is slow or down, segments accumulate and are
//! replayed when it returns, including after a restart.
//!
//! Segments are `seg-<sequence>.bin` in the spool directory, replayed in sequence order
//! (`seg-<sequence>.jsonl`, JSON lines written by routers before 2026-12-02, are still read).
//!
//! # The frame
//!
//! The request path pays for every byte of encoding, so an entry is a compact binary frame built
//! straight from the decision's borrowed fields into a reused buffer (no intermediate record of
//! owned strings, no JSON):
//!
//! ```text
//! F5 1D | kind: u8 | payload length: u32 LE | CRC-32 of kind and payload: u32 LE | payload
//! ```
//!
//! The payload is the entry's fields in a fixed order: strings as a u32 LE length and UTF-8
//! bytes, integers and floats little-endian, lists as a u32 count and their items. `F5` never
//! occurs in UTF-8 text. A frame whose checksum or fields do not hold (a write cut short by a
//! crash, damage) is counted and skipped: reading resumes at the next `F5 1D` whose frame checks.
//! A field added later goes at the end of its frame, and the reader takes its absence for the
//! empty value, so that segments left by an older router still replay (a decision's `decided_by`,
//! 2026-12-03).

use std::fs::{File, OpenOptions};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::metrics::gauge::Gauge;

use super::locked;
use super::record::{DecisionRef, Entry, RuleSetArchive, TextMode};

pub(crate) const MAGIC: [u8; 2] = [0xF5, 0x1D];
const HEADER: usize = 2 + 1 + 4 + 4;
const DECISION: u8 = 1;
const RULE_SET: u8 = 2;

pub(crate) struct Spool {
    dir: PathBuf,
    /// Held for the life of the spool: two processes appending to one spool would replay and
    /// delete each other's segments.
    _lock: File,
    active: Mutex<Active>,
    /// Bytes in all segments not yet in the database (for the metrics).
    pending_bytes: Gauge,
    /// Entries appended since start.
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

    /// Appends one encoded frame (see [`Frame`]), in one write.
    pub fn append(&self, frame: &[u8]) -> std::io::Result<()> {
        let mut active = locked(&self.active);
        active.file.write_all(frame)?;
        active.bytes += frame.len() as u64;
        drop(active);
        self.pending_bytes
            .inc_by(i64::try_from(frame.len()).unwrap_or(i64::MAX));
        self.appended.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Closes the active segment if it holds anything (appends go to a new one) and returns every
    /// closed segment, oldest first. Only the writer thread rotates.
    ///
    /// The next segment is created, and the closed one's handle dropped, outside the lock: the
    /// writer runs in the idle scheduling class, and a Route call that found the lock held by
    /// it while it waited for a file to be created would wait behind every other runnable thread.
    pub fn rotate(&self) -> std::io::Result<Vec<(u64, PathBuf)>> {
        let (seq, bytes) = {
            let active = locked(&self.active);
            (active.seq, active.bytes)
        };
        let active_seq = if bytes > 0 {
            let next = open_segment(&self.dir, seq + 1)?;
            let closed = {
                let mut active = locked(&self.active);
                active.seq = seq + 1;
                active.bytes = 0;
                std::mem::replace(&mut active.file, next)
            };
            drop(closed);
            seq + 1
        } else {
            seq
        };
        Ok(segments(&self.dir)?
            .into_iter()
            .filter(|(s, _)| *s != active_seq)
            .collect())
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

/// Builds one frame in a caller's buffer: `begin`, the fields, `finish`.
pub(crate) struct Frame<'b> {
    buf: &'b mut Vec<u8>,
    start: usize,
}

impl<'b> Frame<'b> {
    fn begin(buf: &'b mut Vec<u8>, kind: u8) -> Self {
        let start = buf.len();
        buf.extend_from_slice(&MAGIC);
        buf.push(kind);
        buf.extend_from_slice(&[0; 8]);
        Frame { buf, start }
    }

    pub fn decision(buf: &'b mut Vec<u8>) -> Self {
        Self::begin(buf, DECISION)
    }

    pub fn rule_set(buf: &'b mut Vec<u8>, archive: &RuleSetArchive) {
        let mut f = Self::begin(buf, RULE_SET);
        f.str(&archive.version);
        f.u32(archive.files.len());
        for (path, content) in &archive.files {
            f.str(path);
            f.str(content);
        }
        f.finish();
    }

    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    /// A length or count: saturates (a field of 4 GiB is not a request's).
    pub fn u32(&mut self, v: usize) {
        let v = u32::try_from(v).unwrap_or(u32::MAX);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn f64(&mut self, v: f64) {
        self.buf.extend_from_slice(&v.to_bits().to_le_bytes());
    }

    pub fn str(&mut self, s: &str) {
        self.u32(s.len());
        self.buf.extend_from_slice(s.as_bytes());
    }

    /// A string written by `write` (which appends UTF-8 to the buffer), length first.
    pub fn str_with(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        write(self.buf);
        let len = u32::try_from(self.buf.len() - at - 4).unwrap_or(u32::MAX);
        self.buf[at..at + 4].copy_from_slice(&len.to_le_bytes());
    }

    /// Writes the length and checksum.
    pub fn finish(self) {
        let payload = self.start + HEADER;
        let len = u32::try_from(self.buf.len() - payload).unwrap_or(u32::MAX);
        let mut crc = crc32fast::Hasher::new();
        crc.update(&self.buf[self.start + 2..self.start + 3]);
        crc.update(&self.buf[payload..]);
        let crc = crc.finalize();
        self.buf[self.start + 3..self.start + 7].copy_from_slice(&len.to_le_bytes());
        self.buf[self.start + 7..self.start + 11].copy_from_slice(&crc.to_le_bytes());
    }
}

/// Reads a payload's fields in the order they were written; `None` when it is not well formed.
struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.rest.len() < n {
            return None;
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn f64(&mut self) -> Option<f64> {
        Some(f64::from_bits(u64::from_le_bytes(
            self.take(8)?.try_into().ok()?,
        )))
    }

    fn str(&mut self) -> Option<&'a str> {
        let n = usize::try_from(self.u32()?).ok()?;
        std::str::from_utf8(self.take(n)?).ok()
    }

    fn strs(&mut self) -> Option<Vec<&'a str>> {
        let n = self.u32()?;
        // Each string takes at least its 4-byte length: a count beyond that is damage.
        if n as usize > self.rest.len() / 4 {
            return None;
        }
        (0..n).map(|_| self.str()).collect()
    }
}

/// The fields of a decision frame, in order (see `Store::record`).
pub(crate) fn decode_decision(payload: &[u8]) -> Option<DecisionRef<'_>> {
    let mut f = Fields { rest: payload };
    let d = DecisionRef {
        decision_id: f.str()?,
        request_id: f.str()?,
        method: f.str()?,
        channel: f.str()?,
        client: f.str()?,
        received_at_ms: f.i64()?,
        text_mode: match f.u8()? {
            0 => TextMode::Masked,
            1 => TextMode::Full,
            2 => TextMode::None,
            _ => return None,
        },
        text: match f.u8()? {
            0 => None,
            1 => Some(f.str()?),
            _ => return None,
        },
        place: f.str()?,
        rules_version: f.str()?,
        outcome: f.str()?,
        department_id: f.str()?,
        unit: f.str()?,
        rule_id: f.str()?,
        category: f.strs()?,
        articles: f.strs()?,
        confidence: f.f64()?,
        request_type: f.str()?,
        working_days: f.u32()?,
        due_date: f.str()?,
        handoff_line: f.str()?,
        reason: f.str()?,
        // Frames written before 2026-12-03 end with the reason.
        decided_by: if f.rest.is_empty() { "" } else { f.str()? },
    };
    f.rest.is_empty().then_some(d)
}

fn decode_rule_set(payload: &[u8]) -> Option<RuleSetArchive> {
    let mut f = Fields { rest: payload };
    let version = f.str()?.to_owned();
    let n = f.u32()?;
    if n as usize > f.rest.len() / 8 {
        return None;
    }
    let files = (0..n)
        .map(|_| Some((f.str()?.to_owned(), f.str()?.to_owned())))
        .collect::<Option<Vec<_>>>()?;
    f.rest
        .is_empty()
        .then_some(RuleSetArchive { version, files })
}

/// One entry of a segment, borrowing from the segment's bytes where it can.
// Nearly every entry is a decision: boxing it would allocate once per entry.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Item<'a> {
    Decision(DecisionRef<'a>),
    RuleSet(RuleSetArchive),
}

/// A closed segment as read back: its bytes (or, for a legacy JSON segment, its parsed entries)
/// and how many damaged frames or lines were skipped.
pub(crate) enum Segment {
    Frames(Vec<u8>),
    Json(Vec<Entry>, usize),
}

impl Segment {
    pub fn read(path: &Path) -> std::io::Result<Segment> {
        if path.extension().is_some_and(|e| e == "jsonl") {
            let (entries, bad) = read_json_segment(path)?;
            return Ok(Segment::Json(entries, bad));
        }
        Ok(Segment::Frames(std::fs::read(path)?))
    }

    /// The entries, and how many frames or lines were damaged (skipped).
    pub fn items(&self) -> (Vec<Item<'_>>, usize) {
        match self {
            Segment::Frames(bytes) => decode_frames(bytes),
            Segment::Json(entries, bad) => (
                entries
                    .iter()
                    .map(|e| match e {
                        Entry::Decision(d) => Item::Decision(DecisionRef::of(d)),
                        Entry::RuleSet(a) => Item::RuleSet(a.clone()),
                    })
                    .collect(),
                *bad,
            ),
        }
    }
}

/// The entries of a run of frames; a stretch that is not a valid frame counts once as damaged,
/// and reading resumes at the next valid one.
pub(crate) fn decode_frames(bytes: &[u8]) -> (Vec<Item<'_>>, usize) {
    let mut items = Vec::new();
    let (mut bad, mut pos, mut in_damage) = (0, 0, false);
    while pos < bytes.len() {
        match frame_at(bytes, pos) {
            Some((item, next)) => {
                items.push(item);
                pos = next;
                in_damage = false;
            }
            None => {
                if !in_damage {
                    bad += 1;
                    in_damage = true;
                }
                pos = bytes[pos + 1..]
                    .windows(2)
                    .position(|w| w == MAGIC)
                    .map_or(bytes.len(), |p| pos + 1 + p);
            }
        }
    }
    (items, bad)
}

/// The frame at `pos` and where the next one starts, if it is whole and intact.
fn frame_at(bytes: &[u8], pos: usize) -> Option<(Item<'_>, usize)> {
    let header = bytes.get(pos..pos + HEADER)?;
    if header[..2] != MAGIC {
        return None;
    }
    let kind = header[2];
    let len = usize::try_from(u32::from_le_bytes(header[3..7].try_into().ok()?)).ok()?;
    let crc = u32::from_le_bytes(header[7..11].try_into().ok()?);
    let end = pos.checked_add(HEADER)?.checked_add(len)?;
    let payload = bytes.get(pos + HEADER..end)?;
    let mut h = crc32fast::Hasher::new();
    h.update(&[kind]);
    h.update(payload);
    if h.finalize() != crc {
        return None;
    }
    let item = match kind {
        DECISION => Item::Decision(decode_decision(payload)?),
        RULE_SET => Item::RuleSet(decode_rule_set(payload)?),
        _ => return None,
    };
    Some((item, end))
}

/// The entries of a JSON-lines segment (written before the binary frames), and how many of its
/// lines were not entries.
fn read_json_segment(path: &Path) -> std::io::Result<(Vec<Entry>, usize)> {
    let file = std::io::BufReader::new(File::open(path)?);
    let mut entries = Vec::new();
    let mut bad = 0;
    for line in file.split(b'\n') {
        let line = line?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Entry>(&line) {
            Ok(entry) => entries.push(entry),
            Err(_) => bad += 1,
        }
    }
    Ok((entries, bad))
}

fn open_segment(dir: &Path, seq: u64) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("seg-{seq:012}.bin")))
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
            .and_then(|n| n.strip_suffix(".bin").or_else(|| n.strip_suffix(".jsonl")))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(seq) = seq {
            out.push((seq, path));
        }
    }
    out.sort();
    Ok(out)
}
