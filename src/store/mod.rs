//! The decision store: every decision recorded with its request context, the events that follow
//! it (accepted, returned, reassigned, resolved, the caller's satisfaction, …), and the rule files
//! of every rule-set version that served one, so that any past decision can be explained exactly.
//!
//! - `record.rs`: what is stored (decision records, events, the rule-set archive);
//! - `mask.rs`: phone, ID, bank card and plate numbers masked out of stored texts;
//! - `ring.rs`: the buffer in shared memory every entry goes to first, on the request path;
//! - `spool.rs`: the append-only files behind it (when the ring is full, and for the ring's
//!   contents when the database fails), and the frame every entry is encoded as;
//! - `writer.rs`: the thread that empties the spool into the database and answers queries;
//! - `backend.rs`, `sqlite.rs`: the database behind it (embedded SQLite by default).
//!
//! Recording never fails a Route call and costs it as little as it can: the request path masks
//! the text with a one-pass scanner, encodes the decision as one binary frame straight from the
//! request and the response into a per-thread buffer (no record of owned strings, no JSON), and
//! copies it into the spool's ring in shared memory (or, when that is full, its mapped segment on
//! disk) before the response leaves; everything else (JSON, SQLite) happens on the writer thread. A database that is slow or down only makes the spool
//! grow, and it is replayed, idempotently, when the database returns or the router restarts. A
//! decision whose response reached the client is therefore in the database, or in the spool until
//! it is. What recording still costs a serving router is in BENCHMARKS.md §6.

mod backend;
pub mod events;
pub mod mask;
mod pg;
pub mod record;
pub mod render;
pub mod report;
mod ring;
mod spool;
mod sqlite;
mod writer;

use std::collections::HashSet;
use std::hash::BuildHasher;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use std::cell::RefCell;
use std::sync::mpsc::{Receiver, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::sink::{Decision, DecisionSink};
pub use record::{
    DecisionRecord, Event, EventKind, EventOutcome, Lookup, Period, StoredDecision, TextMode,
};
use writer::{Command, Writer};

/// How the message of a read that met a damaged record begins (the API answers DATA_LOSS, not
/// UNAVAILABLE: asking again will not help).
pub const DAMAGED: &str = "damaged record";

/// `m` locked, even if a thread panicked while holding it: the store's locks guard handles,
/// buffers and sets that stay valid after any partial update, and recording must go on.
pub(crate) fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Where decisions are stored (`--store`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// `none`: decisions are not recorded.
    None,
    /// `sqlite:PATH` (or a path ending in `.sqlite` / `.db`): an embedded SQLite file.
    Sqlite(PathBuf),
    /// `postgres://…` / `postgresql://…`: one PostgreSQL database for several replicas.
    Postgres(String),
}

impl std::str::FromStr for StoreConfig {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s == "none" {
            return Ok(StoreConfig::None);
        }
        if let Some(path) = s.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(
                    "sqlite: needs a path, e.g. sqlite:./hotline-data/decisions.sqlite".into(),
                );
            }
            return Ok(StoreConfig::Sqlite(PathBuf::from(path)));
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return Ok(StoreConfig::Postgres(s.to_owned()));
        }
        if s.ends_with(".sqlite") || s.ends_with(".db") {
            return Ok(StoreConfig::Sqlite(PathBuf::from(s)));
        }
        Err(format!(
            "unknown store \"{s}\"; use none, sqlite:PATH or postgres://USER@HOST:PORT/DB"
        ))
    }
}

impl StoreConfig {
    /// `serve`'s default: `./hotline-data/decisions.sqlite`.
    pub fn default_for_serve() -> StoreConfig {
        StoreConfig::Sqlite(PathBuf::from("hotline-data/decisions.sqlite"))
    }

    /// Where a process spools this store's decisions unless told otherwise: `<PATH>.spool` for
    /// SQLite, `hotline-data/postgres.spool` for PostgreSQL (each replica keeps its own).
    pub fn default_spool(&self) -> Option<PathBuf> {
        match self {
            StoreConfig::None => None,
            StoreConfig::Sqlite(path) => {
                let mut dir = path.clone().into_os_string();
                dir.push(".spool");
                Some(PathBuf::from(dir))
            }
            StoreConfig::Postgres(_) => Some(PathBuf::from("hotline-data/postgres.spool")),
        }
    }

    /// The store as messages name it: its file, or its URL without the password.
    pub fn name(&self) -> String {
        match self {
            StoreConfig::None => "none".into(),
            StoreConfig::Sqlite(path) => path.display().to_string(),
            StoreConfig::Postgres(url) => pg::redact(url),
        }
    }
}

/// Before a command reads a store directly ([`Reader`]): the decisions an earlier process left
/// in the store's spool (a `route --store` killed, a router stopped while its database was
/// down) are stored first when this process may write the store, since a report, an export or
/// an explanation that silently lacks them is wrong; otherwise it says how many are waiting.
/// Returns what to tell the user, if anything. A spool held by a running router is left to it:
/// it stores its decisions within a tick.
pub fn settle_spool(config: &StoreConfig, spool_dir: Option<&std::path::Path>) -> Option<String> {
    let dir = spool_dir
        .map(std::path::Path::to_path_buf)
        .or_else(|| config.default_spool())?;
    let (decisions, unreadable) = match spool::waiting(&dir) {
        Ok(Some(w)) => w,
        Ok(None) => return None,
        Err(e) => {
            return Some(format!(
                "warning: cannot read the spool {}: {e}; decisions waiting in it are not in the store yet",
                dir.display()
            ));
        }
    };
    let more = if unreadable > 0 {
        format!(
            " ({unreadable} ring(s) of another user in /dev/shm may hold more: a command of that user on the store stores them)"
        )
    } else {
        String::new()
    };
    if decisions == 0 {
        return (unreadable > 0).then(|| format!("warning: the spool {}{more}", dir.display()));
    }
    // A database moved aside (damaged) with its spool left: only a recording command makes a
    // new one; `outcomes` and the readers refuse a store that does not exist.
    if let StoreConfig::Sqlite(path) = config
        && !path.exists()
    {
        return Some(format!(
            "warning: {decisions} decision(s) wait in the spool {} for the store {}, which does not \
             exist (moved aside?), so they are not in what follows; `serve` or `route --store` on \
             that path creates it and stores them{more}",
            dir.display(),
            path.display()
        ));
    }
    let replayed = writable(config, &dir).and_then(|()| {
        let store = Store::open_with_spool(
            config,
            Some(&dir),
            ring::RING_BYTES,
            TextMode::Masked,
            None,
            false,
        )?;
        store.map_or(Ok(()), |s| s.close())
    });
    Some(match replayed {
        Ok(()) => format!(
            "note: stored {decisions} decision(s) that an earlier run left in the spool {}{more}",
            dir.display()
        ),
        Err(e) => format!(
            "warning: {decisions} decision(s) wait in the spool {} and are not in the store yet, \
             so not in what follows ({e}); a command that writes the store (route --store, serve, \
             outcomes) run by its owner stores them{more}",
            dir.display()
        ),
    })
}

/// Whether this process may write the store and its spool (checked before, so that a read-only
/// user's command never creates files it cannot use).
fn writable(config: &StoreConfig, spool_dir: &std::path::Path) -> Result<(), String> {
    fn may_write(p: &std::path::Path) -> Result<(), String> {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(|e| e.to_string())?;
        // SAFETY: `c` is a NUL-terminated path; access(2) only reads it.
        if unsafe { libc::access(c.as_ptr(), libc::W_OK) } == 0 {
            Ok(())
        } else {
            Err(format!(
                "{} is not writable by this user: {}",
                p.display(),
                std::io::Error::last_os_error()
            ))
        }
    }
    let dir_of = |p: &std::path::Path| {
        p.parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), std::path::Path::to_path_buf)
    };
    if let StoreConfig::Sqlite(path) = config {
        may_write(path)?;
        may_write(&dir_of(path))?;
    }
    may_write(spool_dir)
}

/// What a store counts, as Prometheus metrics (registered by the server's `/metrics`).
#[derive(Debug)]
pub struct Stats {
    /// Entries written to the database. A window of frames stored before a database failure
    /// is stored (skipped as already there) and counted again when its segment is replayed.
    pub written: Counter,
    /// Failed attempts to write to the database (or to the spool).
    pub failures: Counter,
    /// Damaged stretches of the spool (a frame that fails its checksum, a cut one; a line of an
    /// older JSON spool that is not an entry), skipped.
    pub damaged: Counter,
    /// Decisions deleted by the retention purge.
    pub purged: Counter,
    /// Bytes in the spool not yet in the database: the backlog.
    pub spool_bytes: Gauge,
    /// The last write error ("" when none yet).
    pub last_error: Mutex<String>,
    /// What recording adds to a Route call, per decision: encoding its frame and appending it
    /// to the spool (and, once per rule-set version, its archive). The only store work on the
    /// request path, so this is what the store can add to a call's latency.
    pub record_seconds: Histogram,
}

/// Bounds of [`Stats::record_seconds`]: 1 µs to 10 ms (a frame and its copy into the page
/// cache take microseconds; the upper buckets show a disk or a lock that makes calls wait).
const RECORD_BUCKETS: [f64; 13] = [
    0.000_001, 0.000_002, 0.000_005, 0.000_01, 0.000_02, 0.000_05, 0.000_1, 0.000_2, 0.000_5,
    0.001, 0.002, 0.005, 0.01,
];

impl Default for Stats {
    fn default() -> Self {
        Stats {
            written: Counter::default(),
            failures: Counter::default(),
            damaged: Counter::default(),
            purged: Counter::default(),
            spool_bytes: Gauge::default(),
            last_error: Mutex::new(String::new()),
            record_seconds: Histogram::new(RECORD_BUCKETS),
        }
    }
}

/// Options of every command that records decisions (`serve`, `route`).
#[derive(Debug, Clone, clap::Args)]
pub struct StoreArgs {
    /// Where decisions are recorded: sqlite:PATH, postgres://USER@HOST:PORT/DB, or none. `serve` records to
    /// sqlite:hotline-data/decisions.sqlite unless told otherwise; `route` only when given.
    #[arg(long, env = "HOTLINE_STORE", value_name = "STORE")]
    pub store: Option<StoreConfig>,
    /// How much of a request's text is stored: masked (phone, ID, bank card and plate numbers
    /// replaced), full, or none.
    #[arg(long, env = "HOTLINE_STORE_TEXT", value_enum, default_value = "masked")]
    pub store_text: TextMode,
    /// Decisions older than this many days are deleted, once a day (0: keep them all).
    #[arg(long, env = "HOTLINE_RETAIN_DAYS", default_value_t = 365)]
    pub retain_days: u32,
    /// Where this process spools decisions before they reach the database (default:
    /// PATH.spool for SQLite, hotline-data/postgres.spool for PostgreSQL).
    #[arg(long, env = "HOTLINE_SPOOL_DIR", value_name = "DIR")]
    pub spool_dir: Option<PathBuf>,
    /// Size of the spool's ring in shared memory (/dev/shm), which the request path writes to
    /// first; 0 writes every decision to the spool's files on disk instead. It survives a crash
    /// of the process, not a reboot; see README.md, "The decision store". At most 1 GiB.
    #[arg(long, env = "HOTLINE_SPOOL_RING_KIB", value_name = "KIB", default_value_t = ring::RING_BYTES >> 10,
          value_parser = clap::value_parser!(u64).range(0..=1 << 20))]
    pub spool_ring_kib: u64,
}

impl StoreArgs {
    /// Opens the store given, or `default` when none was given.
    pub fn open(&self, default: StoreConfig) -> Result<Option<Arc<Store>>, String> {
        self.open_with(default, false)
    }

    /// [`open`](Self::open) for `serve`: a PostgreSQL database that cannot be reached does not
    /// stop the start (see [`Store::open_with_spool`]'s `wait_for_database`).
    pub fn open_for_serve(&self, default: StoreConfig) -> Result<Option<Arc<Store>>, String> {
        self.open_with(default, true)
    }

    fn open_with(
        &self,
        default: StoreConfig,
        wait_for_database: bool,
    ) -> Result<Option<Arc<Store>>, String> {
        let config = self.store.clone().unwrap_or(default);
        let retain = (self.retain_days > 0).then_some(self.retain_days);
        let spool = self.spool_dir.as_deref();
        let ring = self.spool_ring_kib.saturating_mul(1024);
        let store = Store::open_with_spool(
            &config,
            spool,
            ring,
            self.store_text,
            retain,
            wait_for_database,
        )?;
        Ok(store.map(Arc::new))
    }
}

/// An open decision store: the spool, the writer thread, and the handle to ask it things.
pub struct Store {
    spool: Arc<spool::Spool>,
    commands: Mutex<Option<SyncSender<Command>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    text_mode: TextMode,
    /// Rule-set versions already archived by this process.
    archived: Mutex<HashSet<String>>,
    /// When the last archive frame could not be appended (see [`Store::archive`]).
    archive_failed_at: Mutex<Option<std::time::Instant>>,
    stats: Arc<Stats>,
    ids: IdSource,
}

impl Store {
    /// Opens the store of `config` (`None` for `StoreConfig::None`), replaying what an earlier
    /// process left in the spool. `retain_days`: decisions older than this are purged daily.
    pub fn open(
        config: &StoreConfig,
        text_mode: TextMode,
        retain_days: Option<u32>,
    ) -> Result<Option<Store>, String> {
        Self::open_with_spool(
            config,
            None,
            ring::RING_BYTES,
            text_mode,
            retain_days,
            false,
        )
    }

    /// [`open`](Self::open) with the spool in `spool_dir` (default: `<PATH>.spool` for SQLite,
    /// `hotline-data/postgres.spool` for PostgreSQL: each replica keeps its own, locally) and a
    /// ring of `ring_bytes` in front of it (0: none). `wait_for_database` (a server): a
    /// PostgreSQL database that cannot be reached is logged, and the store opens without it:
    /// decisions wait in the spool and the writer connects when the database answers, as when it
    /// goes down later. A SQLite file that cannot be opened (damaged, another application's, a
    /// newer router's) is logged likewise, and opened again once a second until an operator has
    /// moved it aside: a damaged disk file must not stop a hotline's routing.
    pub fn open_with_spool(
        config: &StoreConfig,
        spool_dir: Option<&std::path::Path>,
        ring_bytes: u64,
        text_mode: TextMode,
        retain_days: Option<u32>,
        wait_for_database: bool,
    ) -> Result<Option<Store>, String> {
        let mut backend: Box<dyn backend::Backend> = match config {
            StoreConfig::None => return Ok(None),
            StoreConfig::Sqlite(path) if wait_for_database => {
                let path = path.clone();
                let (db, error) = backend::Later::start(move || sqlite::Sqlite::open(&path));
                if let Some(e) = error {
                    tracing::error!(
                        error = %e,
                        "the decision store's SQLite file cannot be opened; serving, with \
                         decisions waiting in the spool: move the file aside (keep it: \
                         `sqlite3 FILE .recover` saves what a damaged file still holds) or point \
                         --store at the right one, and they are stored within a second"
                    );
                }
                Box::new(db)
            }
            StoreConfig::Sqlite(path) => Box::new(sqlite::Sqlite::open(path)?),
            StoreConfig::Postgres(url) => {
                let url = url.clone();
                let (db, error) = backend::Later::start(move || pg::Postgres::open(&url));
                match error {
                    Some(e) if wait_for_database => tracing::error!(
                        error = %e,
                        "the decision store's database cannot be reached; serving, with decisions \
                         waiting in the spool until it answers"
                    ),
                    Some(e) => return Err(e),
                    None => {}
                }
                Box::new(db)
            }
        };
        let default_spool = config.default_spool().unwrap_or_default();
        // Versions the database holds need no archive frame: a router restarted on the same
        // rules (the usual case) spools no copy of its rule files, which would otherwise pass
        // through the request path, the ring and the writer, several megabytes each time. When
        // the database cannot say, every version is archived again (and stored once).
        let archived: HashSet<String> = backend
            .archived_versions()
            .map(|v| v.into_iter().collect())
            .unwrap_or_default();
        let spool_dir = spool_dir.map_or(default_spool, std::path::Path::to_path_buf);
        let stats = Arc::new(Stats::default());
        let spool = Arc::new(
            spool::Spool::open(&spool_dir, stats.spool_bytes.clone(), ring_bytes)
                .map_err(|e| format!("cannot open the spool {}: {e}", spool_dir.display()))?,
        );
        let (tx, rx): (SyncSender<Command>, Receiver<Command>) = sync_channel(256);
        let writer = Writer {
            backend,
            spool: spool.clone(),
            stats: stats.clone(),
            retain_days,
            ring_buf: Vec::new(),
            failing: false,
        };
        let thread = std::thread::Builder::new()
            .name("hotline-store".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| format!("cannot start the store's writer: {e}"))?;
        let store = Store {
            spool,
            commands: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
            text_mode,
            archived: Mutex::new(archived),
            archive_failed_at: Mutex::new(None),
            stats,
            ids: IdSource::new(),
        };
        Ok(Some(store))
    }

    /// How much of a text this store keeps (`--store-text`).
    pub fn text_mode(&self) -> TextMode {
        self.text_mode
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The spool's directory (where decisions wait for the database).
    pub fn spool_dir(&self) -> &std::path::Path {
        self.spool.dir()
    }

    /// Bytes in the spool not yet in the database.
    pub fn spool_bytes(&self) -> i64 {
        self.stats.spool_bytes.get()
    }

    fn ask<T>(&self, make: impl FnOnce(writer::Reply<T>) -> Command) -> Result<T, String> {
        let (tx, rx) = channel();
        let sender = locked(&self.commands).clone();
        let Some(sender) = sender else {
            return Err("the decision store is closed".into());
        };
        sender
            .send(make(tx))
            .map_err(|_| "the decision store's writer has stopped".to_owned())?;
        rx.recv()
            .map_err(|_| "the decision store's writer has stopped".to_owned())?
    }

    /// A decision with its events.
    pub fn get(&self, key: Lookup) -> Result<Option<StoredDecision>, String> {
        self.ask(|r| Command::Get(key, r))
    }

    /// Records an event (see [`EventOutcome`]).
    pub fn record_event(&self, event: Event) -> Result<EventOutcome, String> {
        self.ask(|r| Command::Event(Box::new(event), r))
    }

    /// The decisions received in `[from_ms, to_ms)`.
    pub fn between(&self, from_ms: i64, to_ms: i64) -> Result<Period, String> {
        self.ask(|r| Command::Between(from_ms, to_ms, r))
    }

    /// The rule files of an archived rule-set version.
    pub fn rule_files(&self, version: &str) -> Result<Option<Vec<(String, String)>>, String> {
        let version = version.to_owned();
        self.ask(|r| Command::RuleFiles(version, r))
    }

    /// Empties the spool into the database now.
    pub fn flush(&self) -> Result<(), String> {
        self.ask(Command::Flush)
    }

    /// Deletes the decisions older than the retention now (it also runs once a day).
    pub fn purge(&self) -> Result<usize, String> {
        self.ask(Command::Purge)
    }

    /// Empties the spool and stops the writer.
    pub fn close(&self) -> Result<(), String> {
        let flushed = self.flush();
        let sender = locked(&self.commands).take();
        if let Some(s) = sender {
            let _ = s.send(Command::Stop);
        }
        let thread = locked(&self.thread).take();
        if let Some(t) = thread {
            let _ = t.join();
        }
        flushed
    }

    /// Appends a frame to the spool; whether it is there.
    fn append(&self, frame: &[u8]) -> bool {
        match self.spool.append(frame) {
            Ok(_) => true,
            Err(e) => {
                // The call still succeeds (recording never fails a Route call); the failure is
                // counted and logged, never silent.
                self.stats.failures.inc();
                tracing::error!(error = %e, "cannot append a decision to the spool");
                false
            }
        }
    }

    /// Archives the rule files of `set` the first time one of its decisions is recorded. A
    /// version counts as archived only once its frame is in the spool: when the append fails (a
    /// full disk), a later decision tries again, at most once a second, so that the decisions
    /// of that version can still be explained exactly once the disk has room.
    fn archive(&self, set: &crate::RuleSet) {
        let mut archived = locked(&self.archived);
        if archived.contains(set.version()) {
            return;
        }
        let mut failed_at = locked(&self.archive_failed_at);
        if failed_at.is_some_and(|t| t.elapsed() < ARCHIVE_RETRY) {
            return;
        }
        let mut frame = Vec::new();
        spool::Frame::rule_set(&mut frame, set.version(), set.files());
        if self.append(&frame) {
            archived.insert(set.version().to_owned());
            *failed_at = None;
        } else {
            *failed_at = Some(std::time::Instant::now());
        }
    }
}

/// How long after a failed append of a rule set's archive frame the next decision of that
/// version tries again: a full disk is not mended between two calls, and each try copies the rule
/// files (several megabytes) on the request path.
const ARCHIVE_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

/// What the closed-loop tools need of a store: the server's [`Store`] (through its writer, after
/// its spool) or a [`Reader`] (the database directly, for the CLI while a server runs).
pub trait Decisions {
    fn get(&self, key: Lookup) -> Result<Option<StoredDecision>, String>;
    fn record_event(&self, event: Event) -> Result<EventOutcome, String>;
    fn between(&self, from_ms: i64, to_ms: i64) -> Result<Period, String>;
    fn rule_files(&self, version: &str) -> Result<Option<Vec<(String, String)>>, String>;
}

impl Decisions for Store {
    fn get(&self, key: Lookup) -> Result<Option<StoredDecision>, String> {
        Store::get(self, key)
    }
    fn record_event(&self, event: Event) -> Result<EventOutcome, String> {
        Store::record_event(self, event)
    }
    fn between(&self, from_ms: i64, to_ms: i64) -> Result<Period, String> {
        Store::between(self, from_ms, to_ms)
    }
    fn rule_files(&self, version: &str) -> Result<Option<Vec<(String, String)>>, String> {
        Store::rule_files(self, version)
    }
}

/// The database of a store, opened directly: for `outcomes`, `explain`, `report` and `export`,
/// which may run while a server records to the same store (SQLite lets one process write while
/// others read and write events; the server's spool is its own). Decisions still in a spool are
/// not seen until the router that owns it stores them (within a few tens of milliseconds while it runs,
/// or when it next starts).
pub struct Reader {
    backend: Mutex<Box<dyn backend::Backend>>,
    name: String,
}

impl Reader {
    /// Opens the store to read it and record events (`outcomes`), bringing its schema up to date.
    pub fn open(config: &StoreConfig) -> Result<Reader, String> {
        Self::open_as(config, false)
    }

    /// Opens the store only to read it (`report`, `export`, `explain`): nothing is written, not
    /// even a schema into an empty file, so that a user who may only read the store (a
    /// supervisor's account, a backup on read-only media) can, and the store's files stay as
    /// its owner left them. An older schema is read as it is.
    pub fn open_read_only(config: &StoreConfig) -> Result<Reader, String> {
        Self::open_as(config, true)
    }

    fn open_as(config: &StoreConfig, read_only: bool) -> Result<Reader, String> {
        let backend: Box<dyn backend::Backend> = match config {
            StoreConfig::None => return Err("no store given; use --store sqlite:PATH".into()),
            StoreConfig::Sqlite(path) => {
                if !path.exists() {
                    return Err(format!("{} does not exist", path.display()));
                }
                if read_only {
                    Box::new(sqlite::Sqlite::open_read_only(path)?)
                } else {
                    Box::new(sqlite::Sqlite::open(path)?)
                }
            }
            StoreConfig::Postgres(url) => {
                let url = url.clone();
                let (db, error) = backend::Later::start(move || {
                    if read_only {
                        pg::Postgres::open_read_only(&url)
                    } else {
                        pg::Postgres::open(&url)
                    }
                });
                if let Some(e) = error {
                    return Err(e);
                }
                Box::new(db)
            }
        };
        Ok(Reader {
            backend: Mutex::new(backend),
            name: config.name(),
        })
    }

    /// The store as messages name it (its file, or its URL without the password).
    pub fn name(&self) -> &str {
        &self.name
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut dyn backend::Backend) -> Result<T, String>,
    ) -> Result<T, String> {
        let mut b = locked(&self.backend);
        f(b.as_mut())
    }
}

impl Decisions for Reader {
    fn get(&self, key: Lookup) -> Result<Option<StoredDecision>, String> {
        self.with(|b| b.get(&key))
    }
    fn record_event(&self, event: Event) -> Result<EventOutcome, String> {
        self.with(|b| b.add_event(&event))
    }
    fn between(&self, from_ms: i64, to_ms: i64) -> Result<Period, String> {
        self.with(|b| b.between(from_ms, to_ms))
    }
    fn rule_files(&self, version: &str) -> Result<Option<Vec<(String, String)>>, String> {
        self.with(|b| b.rule_files(version))
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

impl DecisionSink for Store {
    fn decision_id(&self, received_at: SystemTime) -> Option<String> {
        Some(self.ids.next(millis(received_at)))
    }

    fn record(&self, d: &Decision<'_>) {
        let started = std::time::Instant::now();
        self.record_now(d);
        self.stats
            .record_seconds
            .observe(started.elapsed().as_secs_f64());
    }
}

impl Store {
    /// [`DecisionSink::record`] without its timing.
    fn record_now(&self, d: &Decision<'_>) {
        self.archive(d.set);
        // Each thread encodes into its own buffer, reused from call to call.
        thread_local! {
            static FRAME: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
        }
        FRAME.with(|frame| match frame.try_borrow_mut() {
            Ok(mut frame) => {
                frame.clear();
                encode_decision(&mut frame, d, self.text_mode);
                self.append(&frame);
                // A giant request's buffer is not kept.
                if frame.capacity() > 1 << 16 {
                    *frame = Vec::new();
                }
            }
            Err(_) => {
                let mut frame = Vec::new();
                encode_decision(&mut frame, d, self.text_mode);
                self.append(&frame);
            }
        });
    }
}

/// Appends the spool frame of a decision to `buf`: the fields the store keeps, straight from the
/// request and the response (the order is `spool::decode_decision`'s).
fn encode_decision(buf: &mut Vec<u8>, d: &Decision<'_>, text_mode: TextMode) {
    let r = d.response;
    let received_at_ms = millis(d.received_at);
    let mut f = spool::Frame::decision(buf);
    f.str(&r.decision_id);
    f.str(d.request.id);
    f.str(d.method.as_str());
    f.str(d.channel.as_str_name());
    f.str(d.client);
    f.i64(received_at_ms);
    f.u8(match text_mode {
        TextMode::Masked => 0,
        TextMode::Full => 1,
        TextMode::None => 2,
    });
    match text_mode {
        TextMode::None => f.u8(0),
        TextMode::Full => {
            f.u8(1);
            f.str(&d.request.joined());
        }
        TextMode::Masked => {
            f.u8(1);
            // Masked as one text: a phone word at the end of the title counts for a number
            // at the start of the text.
            let joined = d.request.joined();
            f.str_with(|b| mask::mask_into(&joined, b));
        }
    }
    // The place is free text too ("我家电话…"): masked unless the full text is kept.
    match text_mode {
        TextMode::Full => f.str(d.request.place),
        TextMode::Masked | TextMode::None => f.str_with(|b| mask::mask_into(d.request.place, b)),
    }
    f.str(&r.rules_version);
    f.str(r.outcome_name());
    f.str(r.department_id());
    f.str(r.unit.as_ref().map_or("", |u| u.name.as_str()));
    f.str(&r.rule_id);
    f.u32(r.category.len());
    for c in &r.category {
        f.str(c);
    }
    f.u32(r.regulations.len());
    for g in &r.regulations {
        f.str(&g.id);
    }
    f.f64(r.confidence);
    f.str(crate::proto::v1::RequestType::try_from(r.request_type).map_or("", |t| t.as_str_name()));
    f.u32(r.time_limit.as_ref().map_or(0, |t| t.working_days as usize));
    f.str(r.time_limit.as_ref().map_or("", |t| t.due_date.as_str()));
    f.str(r.handoff.as_ref().map_or("", |h| h.line.as_str()));
    f.str(&r.reason);
    f.str(r.decided_by().as_str_name());
    // The caller's received time, when it gave one (added 2026-12; see `spool::decode_decision`).
    match received_time_ms(d.request) {
        Some(ms) => {
            f.u8(1);
            f.i64(ms);
        }
        None => f.u8(0),
    }
    f.finish();
}

/// When the hotline received a request, as the caller said: its time (gRPC's `received_time`),
/// else the first millisecond, China time, of the day it gave (the CLI's `--received`, a batch
/// line's `received`); `None` when it said nothing.
fn received_time_ms(request: &crate::request::RouteInput<'_>) -> Option<i64> {
    request.received_ms.or_else(|| {
        request
            .received
            .map(crate::situate::calendar::Date::start_ms_china)
    })
}

/// Milliseconds since 1970 now.
pub fn now_ms() -> i64 {
    millis(SystemTime::now())
}

/// Milliseconds since 1970 at `t` (0 before 1970).
fn millis(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|t| i64::try_from(t.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Decision ids, 28 hex characters: the time the request was received in milliseconds (the
/// record's `received_at_ms`), 32 random bits drawn once per process, and a counter, so that ids
/// sort by time (and, within one process, by the order of the decisions), processes writing to
/// one database never collide, and a range of ids is a range of received times (the databases
/// find decisions by time through the primary key: see `backend::id_range`).
struct IdSource {
    process: u32,
    counter: AtomicU64,
}

impl IdSource {
    fn new() -> Self {
        let keys = std::collections::hash_map::RandomState::new();
        IdSource {
            process: keys.hash_one(std::process::id()) as u32,
            counter: AtomicU64::new(0),
        }
    }

    fn next(&self, received_at_ms: i64) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed) as u32;
        let ms = received_at_ms.max(0) as u64 & 0xffff_ffff_ffff;
        let mut id = [0u8; 14];
        id[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
        id[6..10].copy_from_slice(&self.process.to_be_bytes());
        id[10..].copy_from_slice(&n.to_be_bytes());
        hex::encode(id)
    }
}

#[cfg(test)]
mod tests;
