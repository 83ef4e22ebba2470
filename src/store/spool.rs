//! The spool: an append-only file of store entries, written on the request path before the
//! response leaves, and emptied into the database by the writer thread.
//!
//! Writing every entry here first is what makes the store crash-safe and the Route call
//! independent of the database: the frame is copied into the segment's shared mapping (see
//! [`Mapped`]; the kernel has the bytes once the copy ends, so a `kill -9` cannot lose them),
//! then the response. The writer rotates the active
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
//! 2026-12-03). A decision's frame is also what SQLite stores as its record (schema 3), so the
//! same rule keeps every decision ever stored readable: a field is never removed or reordered.

use std::fs::{File, OpenOptions};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use prometheus_client::metrics::gauge::Gauge;

use super::locked;
use super::record::{DecisionRef, Entry, RuleSetArchive, TextMode};
use super::ring::{Ring, Taken};

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
    /// Where frames go first, when this machine has a tmpfs (see `ring.rs`).
    ring: Option<Ring>,
    /// Set while the database is failing: frames then go to the segments on disk, which
    /// outlive a reboot, rather than into the ring (see [`Spool::spill`]).
    ring_paused: AtomicBool,
    /// The sequence number of the next segment spilled from the ring.
    next_spill: AtomicU64,
    /// Bytes in the ring and in all segments not yet in the database (for the metrics).
    pending_bytes: Gauge,
    /// Entries appended since start.
    pub(crate) appended: AtomicU64,
    /// Makes every append fail as a full disk would (the unit tests of what a failed append
    /// leaves behind).
    #[cfg(test)]
    pub(crate) fail_appends: AtomicBool,
}

struct Active {
    seq: u64,
    file: File,
    /// Bytes of frames in the segment (its logical end; the file may be longer, see [`Mapped`]).
    bytes: u64,
    /// The part of the segment mapped for appends, when mapping works here.
    map: Option<Mapped>,
    /// Bytes to map first in this segment (see [`first_chunk`]).
    next_chunk: u64,
    /// The mapping of the segment closed last, never touched again, left for the next append to
    /// unmap (a segment is closed only once something was appended to it, so there is at most
    /// one).
    retired: Option<Mapped>,
}

/// A stretch of the active segment mapped into memory, its blocks allocated beforehand.
///
/// Why: a `write(2)` per decision was most of what recording cost a Route call (4-6 µs of
/// 5-7 µs; BENCHMARKS.md §6), and the kernel's write path, run on every call, also slowed the
/// routing around it. A frame copied into a shared mapping of the file is in the page cache as
/// soon as the copy ends, exactly as after `write(2)`: a `kill -9` of the process loses nothing
/// the kernel holds, and the kernel writes the pages back as it would have written a
/// `write(2)`'s. (Neither survives a power cut before write-back; the spool never promised
/// that.) `fallocate(2)` reserves a stretch's blocks before it is mapped, so that a store into
/// the mapping can never fault for want of disk space; where that or the mapping fails (a file
/// system without `fallocate`), frames are written with `pwrite(2)` as before. When a segment is
/// closed its unused tail is cut off; one left by a crash keeps a tail of zeros, which
/// [`decode_frames`] takes for the end.
///
/// Allocating and populating a stretch costs about 6 µs a page (1.5 ms a MiB on the CI
/// machine), paid by the Route call that appends first to it. So a new segment's first stretch
/// is sized from the segment before ([`first_chunk`]), and a segment that outgrows it (a
/// saturated router whose writer waits for idle time) grows [`GROW_CHUNK`] at a time. Mapping
/// and unmapping are left to Route calls, never to the idle-class writer (see `Spool::rotate`).
struct Mapped {
    map: memmap2::MmapMut,
    /// Offset of the mapping in the file.
    start: u64,
}

/// The most a segment holds: the Route call whose frame would take it past this starts the
/// next segment. The writer reads a segment whole and inserts it in one transaction, so this
/// bounds its memory (the bytes, the entries decoded from them, their JSON) after a stretch of
/// saturation in which it could not run, or a restart after one; unbounded, a minute of
/// saturation made a segment of a gigabyte. Starting a segment (a file created, the full one
/// cut) costs the call that does it tens of microseconds, once per ~12,000 decisions.
const SEGMENT_MAX: u64 = 8 << 20;

/// Mapped stretches start and end on page boundaries.
const PAGE: u64 = 4096;

/// The largest first stretch of a segment.
const MAP_CHUNK: u64 = 1 << 20;

/// Bytes a segment grows by when a Route call finds its mapping full (a frame larger than this
/// gets a mapping of its own size): a quarter of [`MAP_CHUNK`], so that the call that maps it
/// waits a fraction of a millisecond.
const GROW_CHUNK: u64 = 256 << 10;

/// The first stretch of a new segment: twice what the segment before it took (the writer
/// rotates every tick, so that is twice a tick's decisions), at least 64 KiB, at most
/// [`MAP_CHUNK`]. A quiet router thus maps and allocates little; a busy one maps once a tick.
fn first_chunk(previous: u64) -> u64 {
    (previous.saturating_mul(2).div_ceil(PAGE) * PAGE).clamp(64 << 10, MAP_CHUNK)
}

impl Spool {
    /// Opens the spool in `dir` (created if needed), with a ring of `ring_bytes` in `/dev/shm`
    /// in front of it (0: none); appends go to the ring while it has room, else to a new segment
    /// after the existing ones. What an earlier process left in either is left for the writer
    /// to replay.
    pub fn open(dir: &Path, pending_bytes: Gauge, ring_bytes: u64) -> std::io::Result<Spool> {
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
        let ring = (ring_bytes > 0)
            .then(|| super::ring::place(dir))
            .flatten()
            .and_then(|(path, owner)| match Ring::open(&path, ring_bytes, &owner) {
                Ok((ring, damaged)) => {
                    if damaged {
                        tracing::warn!(ring = %path.display(), "the spool's ring had a damaged header; what it held is lost");
                    }
                    Some(ring)
                }
                Err(e) => {
                    tracing::warn!(ring = %path.display(), error = %e, "no ring in shared memory; the spool works on disk alone");
                    None
                }
            });
        for e in std::fs::read_dir(dir)?.flatten() {
            // A spill cut short by a crash: its frames are still in the ring.
            if e.path().extension().is_some_and(|x| x == "tmp") {
                let _ = std::fs::remove_file(e.path());
            }
        }
        let existing = segments(dir)?;
        let pending: i64 = existing
            .iter()
            .filter_map(|(_, p)| std::fs::metadata(p).ok())
            .map(|m| i64::try_from(m.len()).unwrap_or(i64::MAX))
            .sum::<i64>()
            .saturating_add(
                ring.as_ref()
                    .map_or(0, |r| i64::try_from(r.pending()).unwrap_or(i64::MAX)),
            );
        pending_bytes.set(pending);
        let seq = existing
            .iter()
            .filter(|(_, p)| !is_spill(p))
            .map(|(s, _)| s + 1)
            .max()
            .unwrap_or(0);
        let next_spill = existing
            .iter()
            .filter(|(_, p)| is_spill(p))
            .map(|(s, _)| s + 1)
            .max()
            .unwrap_or(0);
        let file = open_segment(dir, seq)?;
        Ok(Spool {
            dir: dir.to_path_buf(),
            _lock: lock,
            active: Mutex::new(Active {
                seq,
                file,
                bytes: 0,
                map: None,
                next_chunk: first_chunk(0),
                retired: None,
            }),
            ring,
            ring_paused: AtomicBool::new(false),
            next_spill: AtomicU64::new(next_spill),
            pending_bytes,
            appended: AtomicU64::new(0),
            #[cfg(test)]
            fail_appends: AtomicBool::new(false),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends one encoded frame (see [`Frame`]) to the ring, or when it is full (or there is
    /// none) to the active segment.
    pub fn append(&self, frame: &[u8]) -> std::io::Result<()> {
        #[cfg(test)]
        if self.fail_appends.load(Ordering::Relaxed) {
            return Err(std::io::Error::from(std::io::ErrorKind::StorageFull));
        }
        let ring = self
            .ring
            .as_ref()
            .filter(|_| !self.ring_paused.load(Ordering::Relaxed));
        if !ring.is_some_and(|r| r.put(frame)) {
            let mut active = locked(&self.active);
            if active.bytes > 0 && active.bytes + frame.len() as u64 > SEGMENT_MAX {
                // A segment that cannot be started leaves the frame in the current one.
                let _ = active.roll(&self.dir);
            }
            active.put(frame)?;
        }
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
        if bytes > 0 {
            let next = open_segment(&self.dir, seq + 1)?;
            let mut active = locked(&self.active);
            // A Route call may have started the next segment meanwhile (see [`SEGMENT_MAX`]):
            // `next` is then its file, and there is nothing to close.
            if active.seq == seq {
                active.seq = seq + 1;
                let len = std::mem::replace(&mut active.bytes, 0);
                active.next_chunk = first_chunk(len);
                // The closed segment's mapping is unmapped by the next append, not here: the
                // writer runs in the idle class, and a thread that maps or unmaps holds the
                // process's memory map lock, which every page fault of a Route call then waits
                // for, behind every runnable thread of the machine (a router sharing its core
                // lost a third of its throughput so).
                active.retired = active.map.take();
                let closed = std::mem::replace(&mut active.file, next);
                drop(active);
                // Cut to its frames. Its retired mapping may outlive this, past the new end of
                // the file, but nothing touches it again (see [`Active::put`]).
                closed.set_len(len)?;
                drop(closed);
            }
        }
        // Listed before the active segment's number is read: every segment numbered below it is
        // closed (and cut), whatever Route calls start meanwhile.
        let listed = segments(&self.dir)?;
        let active_seq = locked(&self.active).seq;
        Ok(listed
            .into_iter()
            .filter(|(s, p)| is_spill(p) || *s < active_seq)
            .collect())
    }

    /// What the ring holds, for the writer to store, copied into `reuse`'s allocation; `None`
    /// when it is empty or there is none.
    pub fn take_ring(&self, reuse: Vec<u8>) -> Option<Taken> {
        self.ring.as_ref()?.take(reuse)
    }

    /// Frees what was taken from the ring, once it is in the database or spilled to disk.
    pub fn release_ring(&self, taken: &Taken) {
        if let Some(ring) = &self.ring {
            ring.release(taken.upto);
            self.pending_bytes
                .dec_by(i64::try_from(taken.bytes.len()).unwrap_or(i64::MAX));
        }
    }

    /// Writes what was taken from the ring to a segment on disk and frees it, for when the
    /// database cannot take it: the ring does not outlive a reboot, a segment does. The segment
    /// is synced before the ring lets go of its frames, and appears under its name whole or not
    /// at all (a crash before the rename leaves the frames in the ring). Appends then bypass the
    /// ring until [`resume_ring`](Self::resume_ring): one spill per outage, not one per tick.
    pub fn spill(&self, taken: &Taken) -> std::io::Result<()> {
        use std::io::Write;
        self.ring_paused.store(true, Ordering::Relaxed);
        let seq = self.next_spill.fetch_add(1, Ordering::Relaxed);
        let path = self.dir.join(format!("spill-{seq:012}.bin"));
        let tmp = path.with_extension("tmp");
        let mut file = File::create(&tmp)?;
        file.write_all(&taken.bytes)?;
        file.sync_data()?;
        drop(file);
        std::fs::rename(&tmp, &path)?;
        self.pending_bytes
            .inc_by(i64::try_from(taken.bytes.len()).unwrap_or(i64::MAX));
        self.release_ring(taken);
        Ok(())
    }

    /// Lets appends use the ring again, once the database takes writes.
    pub fn resume_ring(&self) {
        self.ring_paused.store(false, Ordering::Relaxed);
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

/// The decisions waiting in the spool in `dir` (its segments and its rings) for a database, as
/// a command that only reads the store sees them: `None` when a process holds the spool (it
/// stores them itself, within a tick), else how many decisions it holds, and how many of its
/// rings this user may not read (they may hold more).
pub(crate) fn waiting(dir: &Path) -> std::io::Result<Option<(usize, usize)>> {
    if !dir.is_dir() {
        return Ok(Some((0, 0)));
    }
    // A lock is taken on a descriptor opened for reading too: a reader needs no write access.
    if let Ok(lock) = File::open(dir.join(".lock"))
        && lock.try_lock().is_err()
    {
        return Ok(None);
    }
    let count = |bytes: &[u8]| {
        decode_frames(bytes)
            .0
            .iter()
            .filter(|i| matches!(i, Item::Decision(_)))
            .count()
    };
    let mut decisions = 0;
    for (_, path) in segments(dir)? {
        if path.extension().is_some_and(|e| e == "jsonl") {
            let (entries, _) = read_json_segment(&path)?;
            decisions += entries
                .iter()
                .filter(|e| matches!(e, Entry::Decision(_)))
                .count();
        } else {
            decisions += count(&std::fs::read(&path)?);
        }
    }
    let (rings, unreadable) = super::ring::peek(dir);
    decisions += rings.iter().map(|r| count(r)).sum::<usize>();
    Ok(Some((decisions, unreadable)))
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

    /// A rule-set version's archive: its files, (path, content) each.
    pub fn rule_set(buf: &'b mut Vec<u8>, version: &str, files: &[(String, String)]) {
        // Megabytes with the bundled models: reserved at once rather than doubled into.
        let fields: usize = files.iter().map(|(p, c)| 8 + p.len() + c.len()).sum();
        buf.reserve(HEADER + 8 + version.len() + fields);
        let mut f = Self::begin(buf, RULE_SET);
        f.str(version);
        f.u32(files.len());
        for (path, content) in files {
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
fn decode_decision<'a>(frame: &'a [u8], payload: &'a [u8]) -> Option<DecisionRef<'a>> {
    let mut f = Fields { rest: payload };
    let d = DecisionRef {
        frame,
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
        // Frames written before the caller's received time was kept end with `decided_by`.
        received_time_ms: if f.rest.is_empty() {
            None
        } else {
            match f.u8()? {
                0 => None,
                1 => Some(f.i64()?),
                _ => return None,
            }
        },
    };
    f.rest.is_empty().then_some(d)
}

fn decode_rule_set(payload: &[u8]) -> Option<RuleSetRef<'_>> {
    let mut f = Fields { rest: payload };
    let version = f.str()?;
    let n = f.u32()?;
    if n as usize > f.rest.len() / 8 {
        return None;
    }
    let files = (0..n)
        .map(|_| Some((f.str()?, f.str()?)))
        .collect::<Option<Vec<_>>>()?;
    f.rest.is_empty().then_some(RuleSetRef { version, files })
}

/// A rule-set version's archive as the writer stores it, borrowing from the frame it was read
/// from (a copy of the bundled rules' files is megabytes).
#[derive(Debug, PartialEq)]
pub(crate) struct RuleSetRef<'a> {
    pub version: &'a str,
    /// (path relative to the rules directory, content).
    pub files: Vec<(&'a str, &'a str)>,
}

impl<'a> RuleSetRef<'a> {
    fn of(archive: &'a RuleSetArchive) -> Self {
        RuleSetRef {
            version: &archive.version,
            files: archive
                .files
                .iter()
                .map(|(path, content)| (path.as_str(), content.as_str()))
                .collect(),
        }
    }
}

/// One entry of a segment, borrowing from the segment's bytes where it can.
// Nearly every entry is a decision: boxing it would allocate once per entry.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Item<'a> {
    Decision(DecisionRef<'a>),
    RuleSet(RuleSetRef<'a>),
}

/// The most bytes of frames the writer decodes and stores at once, in one transaction: a tick's
/// decisions at full load fit, and what the writer holds while it catches up on a backlog (the
/// frames, their entries, the transaction) stays about a megabyte, where a whole segment
/// ([`SEGMENT_MAX`]) read and stored at once added ~12 MB to the router's resident memory.
pub(crate) const WINDOW: usize = 512 << 10;

/// The bytes of the frame `bytes` starts with (header and payload), if they start with one; the
/// frame may be cut short, and its payload is not checked.
fn frame_len(bytes: &[u8]) -> Option<usize> {
    let header = bytes.get(..HEADER)?;
    if header[..2] != MAGIC {
        return None;
    }
    let len = usize::try_from(u32::from_le_bytes(header[3..7].try_into().ok()?)).ok()?;
    HEADER.checked_add(len)
}

/// The length of the first window of `bytes`: the whole frames that fit in `limit` bytes, or the
/// first frame alone when it is longer (a rule set's archive); all of `bytes` when they do not
/// start with a whole frame (damage, or the zeros at the end of a segment left by a crash), for
/// [`decode_frames`] to skip.
pub(crate) fn window(bytes: &[u8], limit: usize) -> usize {
    let mut end = 0;
    while let Some(n) = frame_len(&bytes[end..]) {
        let next = end.saturating_add(n);
        if next > bytes.len() || (end > 0 && next > limit) {
            break;
        }
        end = next;
    }
    if end == 0 { bytes.len() } else { end }
}

/// A closed segment (a spill, or one numbered below the active segment, see [`Spool::rotate`])
/// as the writer reads it back: frames, a [`WINDOW`] at a time, or, for a legacy JSON segment,
/// its parsed entries and how many damaged lines were skipped.
pub(crate) enum Segment {
    Frames(Windows),
    Json(Vec<Entry>, usize),
}

impl Segment {
    pub fn open(path: &Path) -> std::io::Result<Segment> {
        if path.extension().is_some_and(|e| e == "jsonl") {
            let (entries, bad) = read_json_segment(path)?;
            return Ok(Segment::Json(entries, bad));
        }
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        Ok(Segment::Frames(Windows {
            file,
            at: 0,
            len,
            buf: Vec::new(),
        }))
    }

    /// The entries of a legacy JSON segment, borrowing from `entries`.
    pub fn json_items(entries: &[Entry]) -> Vec<Item<'_>> {
        entries
            .iter()
            .map(|e| match e {
                Entry::Decision(d) => Item::Decision(DecisionRef::of(d)),
                Entry::RuleSet(a) => Item::RuleSet(RuleSetRef::of(a)),
            })
            .collect()
    }
}

/// A segment's frames read back in windows (see [`window`]), into one buffer reused from window
/// to window: a copy from the page cache, where the segment was just written.
pub(crate) struct Windows {
    file: File,
    at: u64,
    len: u64,
    buf: Vec<u8>,
}

impl Windows {
    /// The next window of frames; `None` at the segment's end.
    pub fn next_window(&mut self) -> std::io::Result<Option<&[u8]>> {
        let rest = self.len - self.at;
        if rest == 0 {
            return Ok(None);
        }
        // A usize: at most WINDOW, or what a first frame's 32-bit length says, checked against
        // the file's length before it is read.
        self.fill(rest.min(WINDOW as u64) as usize)?;
        match frame_len(&self.buf) {
            // A first frame longer than the window: read it whole.
            Some(n) if n > self.buf.len() && n as u64 <= rest => self.fill(n)?,
            Some(n) if n <= self.buf.len() => {}
            // Damage: the rest at once, which `decode_frames` reads resynchronising on each
            // frame it finds (rare: a frame's checksum fails only if the disk failed it).
            _ => self.fill(usize::try_from(rest).unwrap_or(usize::MAX))?,
        }
        let end = window(&self.buf, WINDOW);
        self.at += end as u64;
        Ok(Some(&self.buf[..end]))
    }

    /// Reads `n` bytes from the current position into the buffer.
    fn fill(&mut self, n: usize) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt;
        self.buf.resize(n, 0);
        self.file.read_exact_at(&mut self.buf, self.at)
    }
}

/// The entries of a run of frames; a stretch that is not a valid frame counts once as damaged,
/// and reading resumes at the next valid one. Zeros to the end are the end (the allocated tail
/// of a segment whose process died).
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
                // The unused, allocated tail of a segment left by a crash (see `Mapped`).
                if bytes[pos..].iter().all(|&b| b == 0) {
                    break;
                }
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
    let end = pos.checked_add(frame_len(bytes.get(pos..)?)?)?;
    let header = bytes.get(pos..pos + HEADER)?;
    let kind = header[2];
    let crc = u32::from_le_bytes(header[7..11].try_into().ok()?);
    let payload = bytes.get(pos + HEADER..end)?;
    let mut h = crc32fast::Hasher::new();
    h.update(&[kind]);
    h.update(payload);
    if h.finalize() != crc {
        return None;
    }
    let item = match kind {
        DECISION => Item::Decision(decode_decision(&bytes[pos..end], payload)?),
        RULE_SET => Item::RuleSet(decode_rule_set(payload)?),
        _ => return None,
    };
    Some((item, end))
}

/// The decision whose whole frame `bytes` is (as SQLite stores it), if it is one and intact.
pub(crate) fn stored_decision(bytes: &[u8]) -> Option<DecisionRef<'_>> {
    match frame_at(bytes, 0)? {
        (Item::Decision(d), end) if end == bytes.len() => Some(d),
        _ => None,
    }
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

fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("seg-{seq:012}.bin"))
}

fn open_segment(dir: &Path, seq: u64) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(segment_path(dir, seq))
}

/// A segment spilled from the ring (`spill-<sequence>.bin`), numbered apart from the others.
fn is_spill(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("spill-"))
}

impl Active {
    /// Closes the segment (cut to its frames, its mapping dropped here on the request path) and
    /// starts the next one; nothing changes when the next cannot be created.
    fn roll(&mut self, dir: &Path) -> std::io::Result<()> {
        let next = open_segment(dir, self.seq + 1)?;
        self.seq += 1;
        let len = std::mem::replace(&mut self.bytes, 0);
        self.next_chunk = first_chunk(len);
        self.map = None;
        self.retired = None;
        std::mem::replace(&mut self.file, next).set_len(len)
    }

    /// Puts one frame at the segment's end: into the mapping, or with `pwrite(2)` where the
    /// segment cannot be mapped (see [`Mapped`]).
    fn put(&mut self, frame: &[u8]) -> std::io::Result<()> {
        // Unmapped here, on the request path, at normal priority (see `Spool::rotate`).
        self.retired = None;
        let len = frame.len() as u64;
        let end = self.bytes + len;
        if self
            .map
            .as_ref()
            .is_none_or(|m| end > m.start + m.map.len() as u64)
        {
            let chunk = if self.bytes == 0 {
                self.next_chunk
            } else {
                GROW_CHUNK
            };
            // The full stretch is unmapped before the next is mapped.
            self.map = None;
            self.map = map_segment(&self.file, self.bytes, len, chunk);
        }
        match &mut self.map {
            Some(m) => {
                let at = usize::try_from(self.bytes - m.start).map_err(std::io::Error::other)?;
                let to = at + frame.len();
                m.map
                    .get_mut(at..to)
                    .ok_or_else(|| std::io::Error::other("spool mapping too short"))?
                    .copy_from_slice(frame);
            }
            None => {
                use std::os::unix::fs::FileExt;
                self.file.write_all_at(frame, self.bytes)?;
            }
        }
        self.bytes = end;
        Ok(())
    }
}

/// A mapping of `segment` from the page that holds `from`, of `chunk` bytes or, if more, enough
/// for `need` bytes, its blocks allocated; `None` where that cannot be done (frames are then
/// written).
fn map_segment(segment: &File, from: u64, need: u64, chunk: u64) -> Option<Mapped> {
    use std::os::fd::AsRawFd;
    let start = from - from % PAGE;
    let len = chunk.max((from - start + need).div_ceil(PAGE) * PAGE);
    let (offset, length) = (
        libc::off_t::try_from(start).ok()?,
        libc::off_t::try_from(len).ok()?,
    );
    // SAFETY: fallocate(2) takes a descriptor the caller owns and plain integers, and touches no
    // memory of this process.
    if unsafe { libc::fallocate(segment.as_raw_fd(), 0, offset, length) } != 0 {
        return None;
    }
    // SAFETY: the mapping is sound while nothing shortens the file under it or writes it other
    // than through it. The segment is this process's alone (the spool directory's `.lock` is
    // held for the spool's life, and no other process of ours opens an active segment); its
    // blocks up to `start + len` were allocated just above, so no store into the mapping can
    // fault for lack of space; the only `set_len` (in `rotate`) runs once the segment is closed,
    // after which its mapping is only ever unmapped, never read or written; and `pwrite` is used
    // only while the segment has no mapping.
    let map = unsafe {
        memmap2::MmapOptions::new()
            .offset(start)
            .len(usize::try_from(len).ok()?)
            .map_mut(segment)
    }
    .ok()?;
    // Each page's first store would otherwise fault into the file system (a fault costs what
    // the `write(2)` it replaces did); one call makes the whole stretch writable now. Where the
    // kernel cannot (before Linux 5.14), pages fault in as they are reached.
    let _ = map.advise(memmap2::Advice::PopulateWrite);
    Some(Mapped { map, start })
}

/// Every segment in `dir` (spilled ones included), by sequence.
fn segments(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let path = e?.path();
        let seq = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("seg-").or_else(|| n.strip_prefix("spill-")))
            .and_then(|n| n.strip_suffix(".bin").or_else(|| n.strip_suffix(".jsonl")))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(seq) = seq {
            out.push((seq, path));
        }
    }
    out.sort();
    Ok(out)
}
