//! The ring: a small, fixed buffer in shared memory (a file on tmpfs, `/dev/shm`) that the
//! request path copies each frame into, ahead of the spool's segments on disk.
//!
//! Why: on a journalled file system a store into a mapped segment is not always a plain copy. A
//! stretch must be allocated and populated (a Route call waits 0.2-2 ms for it, 0.5% of calls),
//! and a page the kernel has written back is write-protected again, so the next store faults
//! into the file system, which may wait for the journal while SQLite's checkpoint commits it.
//! At half load those waits put the recording router's p99 2-10 ms above a router without a
//! store (BENCHMARKS.md §6). A tmpfs file has no journal, no blocks and no write-back: its
//! pages, populated once when the ring is opened, stay present and writable, so appending a
//! frame never faults and never enters the kernel.
//!
//! What it keeps: like the page cache, the file outlives the process, so a `kill -9` loses
//! nothing that was copied in, and the next process (which finds the ring by its spool
//! directory's path) replays it. Unlike a segment on disk it does not outlive a reboot, which is
//! why it is small ([`RING_BYTES`] by default) and emptied every tick, and why, when the database
//! fails, the writer first writes what the ring holds to a segment on disk (`sync_data`) and only
//! then releases it, and frames go to the segments on disk until the database answers again.
//! When the ring is full (a saturated router whose idle-class writer waits, a database that is
//! slow), frames go to the segments on disk as before; nothing waits.
//!
//! # Layout
//!
//! ```text
//! page 0: "HLRING01" | capacity: u64 | head: u64 | tail: u64   (little-endian, native atomics)
//!         at byte 64: the spool directory's path (u32 LE length, bytes)
//! page 1…: capacity bytes of frames, written at position % capacity, wrapping
//! ```
//!
//! `head` and `tail` are positions that only grow: frames occupy `[tail, head)`. Route calls
//! (one at a time, under a lock) copy a frame at `head` and then publish the new `head`; the
//! writer thread, the only one to move `tail`, reads `[tail, head)` and publishes the new `tail`
//! once those frames are in the database or on disk. A process killed mid-copy has not
//! published the frame, so it is not replayed, and its response was not sent.
//!
//! A router holds a lock on its ring file. One stopped normally removes its ring once empty;
//! the empty rings of killed routers, and those whose spool directory is gone (a deleted store:
//! nothing could replay them), are removed by the next router to open a ring (`sweep`); one
//! that still holds frames of a store that exists waits for a router on that store.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::locked;

/// The ring's data bytes unless told otherwise: about 1,700 decisions, or four of the writer's
/// ticks at 20,000 decisions a second. Its pages are resident for the router's life, so it is
/// no larger: a ring of 4 MiB kept the router above its 100 MB (BENCHMARKS.md §4), and a
/// saturated router overflows any ring into the segments on disk anyway, its idle-class writer
/// waiting for the load to fall.
pub(crate) const RING_BYTES: u64 = 1 << 20;

const MAGIC: [u8; 8] = *b"HLRING01";
const PAGE: u64 = 4096;
const HEAD: usize = 16;
const TAIL: usize = 24;
/// Where page 0 keeps the spool directory the ring belongs to: a u32 LE length, the path's bytes.
const OWNER: usize = 64;

pub(crate) struct Ring {
    path: PathBuf,
    map: memmap2::MmapRaw,
    capacity: u64,
    /// Serializes appends (the copy, then `head`); the writer never takes it.
    put: Mutex<()>,
    /// Holds the file's lock for the ring's life.
    _file: File,
}

/// The frames the writer took from the ring, and the position to release once they are stored.
pub(crate) struct Taken {
    pub bytes: Vec<u8>,
    pub upto: u64,
}

impl Ring {
    /// Opens the ring at `path`, created with `capacity` data bytes if it does not exist (an
    /// existing ring keeps its own capacity, so that what it holds is read as it was written).
    /// `owner` is the spool directory it belongs to, recorded in the ring for [`sweep`].
    /// Returns the ring and whether its header was damaged (its contents are then dropped).
    pub fn open(path: &Path, capacity: u64, owner: &Path) -> std::io::Result<(Ring, bool)> {
        let file = open_locked(path)?;
        if let Some(dir) = path.parent() {
            sweep(dir, path);
        }
        let len = file.metadata()?.len();
        let header = read_header(&file, len)?;
        let word = |at: usize| header_word(&header, at);
        let existing = header[..8] == MAGIC && word(8) > 0 && len == PAGE + word(8);
        let capacity = if existing { word(8) } else { capacity };
        let (head, tail) = (word(HEAD), word(TAIL));
        let consistent = existing && tail <= head && head - tail <= capacity;
        let damaged = len > 0 && !consistent && header != [0u8; 32];
        if !existing {
            file.set_len(0)?;
            file.set_len(PAGE + capacity)?;
        }
        reserve(&file, PAGE + capacity)?;
        // The owner, written before the file is mapped (the mapping then only ever sees it).
        let owner = owner.as_os_str().as_encoded_bytes();
        let recorded = if OWNER + 4 + owner.len() <= PAGE as usize {
            owner
        } else {
            // Too long to keep: the ring is then never swept for a missing directory.
            &[]
        };
        let mut field = (recorded.len() as u32).to_le_bytes().to_vec();
        field.extend_from_slice(recorded);
        std::os::unix::fs::FileExt::write_all_at(&file, &field, OWNER as u64)?;
        // SAFETY: the mapping is sound while nothing else shortens or writes the file. It is
        // this process's alone: its name is derived from the spool directory, whose `.lock` the
        // caller holds for the ring's life (see `Spool::open`), and the file itself is locked
        // (`open_locked`; `sweep` only touches files it could lock); the only `set_len` and the
        // owner's write are above, before the mapping exists. Every access goes through raw
        // pointers within `PAGE + capacity` (see `copy_in`, `copy_out`, `word`), never through
        // references to the mapped bytes, so concurrent Route calls and the writer never alias a
        // `&mut`.
        let map = memmap2::MmapOptions::new()
            .len(usize::try_from(PAGE + capacity).map_err(std::io::Error::other)?)
            .map_raw(&file)?;
        // Every page present and writable now, so that no append ever faults (tmpfs pages,
        // once dirty, are never written back or write-protected). Before Linux 5.14 the pages
        // (reserved above) fault in once each instead.
        let _ = map.advise(memmap2::Advice::PopulateWrite);
        let ring = Ring {
            path: path.to_path_buf(),
            map,
            capacity,
            put: Mutex::new(()),
            _file: file,
        };
        if !consistent {
            // SAFETY: `map` is `PAGE + capacity` bytes long, and no other thread has the ring yet.
            unsafe { std::ptr::copy_nonoverlapping(MAGIC.as_ptr(), ring.map.as_mut_ptr(), 8) };
            ring.word(8).store(capacity, Ordering::Relaxed);
            ring.word(TAIL).store(0, Ordering::Relaxed);
            ring.word(HEAD).store(0, Ordering::Release);
        }
        Ok((ring, damaged))
    }

    /// The header's word at byte `at` (8, [`HEAD`] or [`TAIL`]).
    fn word(&self, at: usize) -> &AtomicU64 {
        // SAFETY: `at` is 8, 16 or 24: inside page 0 of the mapping, 8-byte aligned (the mapping
        // starts on a page), and the mapping lives as long as `self`; every access to these
        // words is atomic, from this process only (see `open`).
        unsafe { AtomicU64::from_ptr(self.map.as_mut_ptr().add(at).cast::<u64>()) }
    }

    /// Copies `frame` in if it fits; `false` when the ring is full (the caller writes it to a
    /// segment instead).
    pub fn put(&self, frame: &[u8]) -> bool {
        let len = frame.len() as u64;
        let _one_at_a_time = locked(&self.put);
        let head = self.word(HEAD).load(Ordering::Relaxed);
        let tail = self.word(TAIL).load(Ordering::Acquire);
        if head - tail + len > self.capacity {
            return false;
        }
        self.copy_in(head, frame);
        self.word(HEAD).store(head + len, Ordering::Release);
        true
    }

    /// Bytes held, not yet released.
    pub fn pending(&self) -> u64 {
        let tail = self.word(TAIL).load(Ordering::Acquire);
        self.word(HEAD).load(Ordering::Acquire) - tail
    }

    /// A copy of everything the ring holds, in `bytes` (whatever it held is dropped; its
    /// allocation is reused). Only the writer thread takes and releases.
    pub fn take(&self, mut bytes: Vec<u8>) -> Option<Taken> {
        let tail = self.word(TAIL).load(Ordering::Relaxed);
        let head = self.word(HEAD).load(Ordering::Acquire);
        if head == tail {
            return None;
        }
        bytes.clear();
        bytes.resize(usize::try_from(head - tail).ok()?, 0);
        self.copy_out(tail, &mut bytes);
        Some(Taken { bytes, upto: head })
    }

    /// Frees what [`take`](Self::take) returned, once it is stored.
    pub fn release(&self, upto: u64) {
        self.word(TAIL).store(upto, Ordering::Release);
    }

    /// The data area's offsets of the `len` bytes at `pos`: one or two stretches (wrapping).
    fn stretches(&self, pos: u64, len: usize) -> [(usize, usize); 2] {
        // `capacity` fits a usize: the mapping of `PAGE + capacity` bytes exists.
        let at = (pos % self.capacity) as usize;
        let first = len.min(self.capacity as usize - at);
        [(PAGE as usize + at, first), (PAGE as usize, len - first)]
    }

    fn copy_in(&self, pos: u64, frame: &[u8]) {
        let mut from = 0;
        for (at, n) in self.stretches(pos, frame.len()) {
            // SAFETY: `stretches` keeps `at + n` within `PAGE + capacity`, the mapping's length;
            // `[pos, pos + len)` lies between `head` and `tail + capacity`, which the writer does
            // not read until `head` is published, and only this call (under `put`) writes.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    frame.as_ptr().add(from),
                    self.map.as_mut_ptr().add(at),
                    n,
                );
            }
            from += n;
        }
    }

    fn copy_out(&self, pos: u64, out: &mut [u8]) {
        let mut to = 0;
        for (at, n) in self.stretches(pos, out.len()) {
            // SAFETY: within the mapping as in `copy_in`; `[tail, head)` was published by the
            // Release store of `head` (read with Acquire in `take`), and no Route call writes
            // there until the writer releases it.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    self.map.as_mut_ptr().add(at),
                    out.as_mut_ptr().add(to),
                    n,
                );
            }
            to += n;
        }
    }
}

impl Drop for Ring {
    /// An empty ring is removed (a process that stopped cleanly leaves nothing in `/dev/shm`);
    /// one that holds frames stays for the next process.
    fn drop(&mut self) {
        if self.pending() == 0 {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The ring file at `path`, created if needed, under an exclusive lock held for the file's
/// life (see [`sweep`]). A file swept away between its opening and its lock is opened again.
fn open_locked(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    for _ in 0..3 {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .mode(0o600)
            .open(path)?;
        if file.try_lock().is_err() {
            return Err(std::io::Error::other(format!(
                "{} is in use by another process",
                path.display()
            )));
        }
        let still_there = std::fs::metadata(path).is_ok_and(|m| {
            file.metadata()
                .is_ok_and(|f| f.ino() == m.ino() && f.dev() == m.dev())
        });
        if still_there {
            return Ok(file);
        }
    }
    Err(std::io::Error::other(format!(
        "{} keeps being removed",
        path.display()
    )))
}

/// Allocates the file's `len` bytes of tmpfs pages now: a store into a mapped page that tmpfs
/// cannot provide (the file system full, its size limit reached) would kill the process with
/// `SIGBUS`, so a ring that cannot have all its pages is not used at all.
fn reserve(file: &File, len: u64) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let len = libc::off_t::try_from(len).map_err(std::io::Error::other)?;
    // SAFETY: fallocate(2) takes a descriptor we own and plain integers, and touches no memory
    // of this process.
    if unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, len) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn read_header(file: &File, len: u64) -> std::io::Result<[u8; 32]> {
    let mut header = [0u8; 32];
    if len >= PAGE {
        use std::os::unix::fs::FileExt;
        file.read_exact_at(&mut header, 0)?;
    }
    Ok(header)
}

/// The spool directory recorded in a ring's page 0, if any.
fn read_owner(file: &File) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::FileExt;
    let mut len = [0u8; 4];
    file.read_exact_at(&mut len, OWNER as u64).ok()?;
    let len = u32::from_le_bytes(len) as usize;
    if len == 0 || OWNER + 4 + len > PAGE as usize {
        return None;
    }
    let mut path = vec![0u8; len];
    file.read_exact_at(&mut path, OWNER as u64 + 4).ok()?;
    Some(PathBuf::from(std::ffi::OsStr::from_bytes(&path)))
}

fn header_word(header: &[u8; 32], at: usize) -> u64 {
    u64::from_le_bytes(header[at..at + 8].try_into().unwrap_or([0; 8]))
}

/// Removes the rings in `dir` that no process holds, other than `own`, when they are empty
/// (their router was killed after its writer had emptied them) or their spool directory is gone
/// (a deleted store, whose frames nothing could replay): each would otherwise keep its pages of
/// memory. A ring that holds frames of a store that exists is kept for the router that will open
/// that store.
fn sweep(dir: &Path, own: &Path) {
    let Some(prefix) = own
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.rsplit_once('-'))
        .map(|(user, _)| format!("{user}-"))
    else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.flatten().map(|e| e.path()) {
        let ours = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".ring"));
        if !ours || path == own {
            continue;
        }
        let Ok(file) = OpenOptions::new().read(true).write(true).open(&path) else {
            continue;
        };
        // Held by a running router: not ours to judge.
        if file.try_lock().is_err() {
            continue;
        }
        let len = file.metadata().map_or(0, |m| m.len());
        let Ok(header) = read_header(&file, len) else {
            continue;
        };
        let empty =
            header[..8] == MAGIC && header_word(&header, HEAD) == header_word(&header, TAIL);
        let orphaned = read_owner(&file).is_some_and(|owner| !owner.exists());
        if empty || orphaned || len == 0 {
            // Removed while locked: a router opening it meanwhile sees it go and opens anew.
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Where the ring of the spool in `spool_dir` lives: `/dev/shm` when it is a tmpfs, named after
/// the user and the spool directory's canonical path, so that a router restarted on the same
/// store finds it, with that canonical path (the ring's owner). `None` where there is no such
/// place (the spool then works on disk alone).
pub(crate) fn place(spool_dir: &Path) -> Option<(PathBuf, PathBuf)> {
    let shm = Path::new("/dev/shm");
    if !is_tmpfs(shm) {
        return None;
    }
    let canonical = std::fs::canonicalize(spool_dir).ok()?;
    // SAFETY: getuid(2) takes nothing and cannot fail.
    let uid = unsafe { libc::getuid() };
    Some((
        shm.join(format!(
            "hotline-router-{uid}-{:016x}.ring",
            hash(&canonical)
        )),
        canonical,
    ))
}

/// FNV-1a, 64 bits, of a spool directory's canonical path: a stable name across processes and
/// builds.
fn hash(canonical: &Path) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in canonical.as_os_str().as_encoded_bytes() {
        hash = (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// What the rings of the spool in `spool_dir` hold (any user's: a store written by a service
/// account may be read by a supervisor), read without taking or changing anything, for a
/// command that only reads the store; and how many rings this process may not read. Only for
/// a spool no process holds (a running router empties its own ring).
pub(crate) fn peek(spool_dir: &Path) -> (Vec<Vec<u8>>, usize) {
    let (mut held, mut unreadable) = (Vec::new(), 0);
    let Ok(canonical) = std::fs::canonicalize(spool_dir) else {
        return (held, unreadable);
    };
    let suffix = format!("-{:016x}.ring", hash(&canonical));
    let Ok(entries) = std::fs::read_dir("/dev/shm") else {
        return (held, unreadable);
    };
    for path in entries.flatten().map(|e| e.path()) {
        let ours = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("hotline-router-") && n.ends_with(&suffix));
        if !ours {
            continue;
        }
        match File::open(&path) {
            Ok(file) => held.extend(held_frames(&file)),
            Err(_) => unreadable += 1,
        }
    }
    (held, unreadable)
}

/// The frames `[tail, head)` of a ring file, if it is a consistent ring.
fn held_frames(file: &File) -> Option<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let len = file.metadata().ok()?.len();
    let header = read_header(file, len).ok()?;
    let capacity = header_word(&header, 8);
    let (head, tail) = (header_word(&header, HEAD), header_word(&header, TAIL));
    if header[..8] != MAGIC || capacity == 0 || len != PAGE + capacity || tail > head {
        return None;
    }
    let n = head - tail;
    if n == 0 || n > capacity {
        return None;
    }
    let mut bytes = vec![0u8; usize::try_from(n).ok()?];
    let at = tail % capacity;
    let first = n.min(capacity - at) as usize;
    file.read_exact_at(&mut bytes[..first], PAGE + at).ok()?;
    file.read_exact_at(&mut bytes[first..], PAGE).ok()?;
    Some(bytes)
}

fn is_tmpfs(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    let mut st = std::mem::MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: `c` is a NUL-terminated path and `st` is a statfs buffer for the call to fill; it
    // is read only when the call succeeds.
    if unsafe { libc::statfs(c.as_ptr(), st.as_mut_ptr()) } != 0 {
        return false;
    }
    // SAFETY: statfs(2) succeeded, so it filled `st`.
    let st = unsafe { st.assume_init() };
    // Both are `i64` on x86-64 glibc but of other widths elsewhere.
    #[allow(clippy::unnecessary_cast)]
    let tmpfs = st.f_type as i64 == libc::TMPFS_MAGIC as i64;
    tmpfs
}
