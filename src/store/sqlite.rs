//! The embedded backend: one SQLite file (the bundled SQLite of rusqlite: no system library,
//! the same version everywhere), in WAL mode so that reports read while the writer writes.
//!
//! The schema is versioned with `PRAGMA user_version`; `MIGRATIONS[i]` takes a database from
//! version `i` to `i + 1`, each in its own transaction, so a database made by an older router is
//! brought up to date on open and a newer one is refused rather than misread.
//!
//! Inserts are what the store costs a serving router most (BENCHMARKS.md §6), so the schema keeps
//! one index besides the primary key: decisions by ticket number. A range of received times is a
//! range of decision ids (they begin with the received time), found through the primary key. One
//! transaction per window of spool frames, the insert statement prepared once, `synchronous =
//! NORMAL` in WAL mode (no fsync per commit; the spool already covers a crash of the process).
//!
//! A decision's `record` is its spool frame as the request path wrote it (schema 3): the writer
//! neither re-encodes it nor stores a field's name with every row, and the frame's CRC-32 is
//! checked again whenever the record is read. Rows stored before schema 3 hold the JSON of their
//! [`DecisionRecord`], and are read as such.
//!
//! New databases use SQLite's default page of 4 KiB, and the WAL is checkpointed every 256 pages
//! (1 MiB) rather than every 1,000. A commit rewrites every page it touches, in the WAL and again
//! at the checkpoint: the table's last leaf, the primary key's last leaf, and a leaf of the
//! ticket-number index wherever that number sorts. At a hotline's real rate a window holds one
//! decision or a few, so bytes written per decision follow the page size: 19 KB against 36 KB
//! with 16 KiB pages at 100 decisions/s, 5.5 KB against 8.6 KB at 1,000/s (4.3 against 3.8–4.1 KB
//! at 10,000/s, where a window holds hundreds).
//! With ticket numbers in random order (UUIDs) each decision dirties an index leaf of its own,
//! and a database of 300,000 decisions was written 13 KB per decision against 31 KB. Smaller,
//! more frequent checkpoints spread the disk's work: on a virtual disk that stalls the machine
//! under bursts of writes, Route's p99 at half load fell from +13.8 ms to +3.9 ms over no store.
//! The price is the writer's CPU, 6.2–6.7 µs per decision against 5.8–5.9 µs in a closed loop
//! (9.5 against 8 µs at 10,000/s), off the request path.
//! (BENCHMARKS.md §6, 2026-12-06.)

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use super::backend::Backend;
use super::record::{DecisionRecord, Event, EventOutcome, Lookup, StoredDecision};
use super::spool::Item;

/// Schema version 2: no index on `received_at`. Decision ids begin with the received time (12 hex
/// digits of milliseconds), so the primary key finds a range of times (`backend::id_range`) and every
/// insert updates one index fewer.
const SCHEMA_V2: &str = "DROP INDEX IF EXISTS decisions_by_time;";

/// Schema version 3: a decision's `record` may be its binary spool frame (a BLOB) rather than
/// JSON. Nothing in the tables changes; the version number is what keeps a router that reads
/// only JSON from opening (and misreading) such a database.
const SCHEMA_V3: &str = "";

/// Schema version 4: the caller's received time (`RouteRequest.received_time`) beside the
/// router's own `received_at`. Rows stored before keep NULL: their callers' times were not kept.
const SCHEMA_V4: &str = super::backend::ADD_RECEIVED_TIME;

const MIGRATIONS: &[&str] = &[super::backend::SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4];

pub(crate) struct Sqlite {
    conn: Connection,
}

impl Sqlite {
    pub fn open(path: &Path) -> Result<Sqlite, String> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // The absolute path: the default store is relative to the working directory, which
            // an operator reading the error may not know.
            std::fs::create_dir_all(dir).map_err(|e| {
                let shown = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
                // "File exists" alone reads as if the directory were there.
                let in_the_way = shown
                    .ancestors()
                    .find(|a| a.is_file())
                    .map(|f| format!(" ({} is a file, not a directory)", f.display()))
                    .unwrap_or_default();
                format!(
                    "cannot create the store's directory {}: {e}{in_the_way}",
                    shown.display()
                )
            })?;
        }
        allocate_with_mimalloc();
        let conn = Connection::open(path).map_err(|e| {
            // SQLite's "unable to open database file" says neither which file nor why.
            let hint = if path.exists() {
                "; can this user read and write it, and create a -wal file beside it?"
            } else {
                "; can this user create files in its directory (the store and a -wal file beside it)?"
            };
            format!("{}: {e}{hint}", path.display())
        })?;
        refuse_foreign(&conn, path)?;
        // A page cache of 512 KiB rather than SQLite's 2 MB: the writer appends (decision ids
        // grow with time) and reads a decision or a report's range at a time, which a large cache
        // does not speed up, and the cache stays resident in the serving router for its life.
        // `page_size` only applies to a database not yet created (and so never to one in WAL mode).
        // Every error names the file: "database disk image is malformed" alone does not say
        // which file an operator must move aside or recover.
        let named = |e: String| format!("{}: {e}", path.display());
        conn.execute_batch(
            "PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA cache_size = -512; \
             PRAGMA wal_autocheckpoint = 256;",
        )
        .map_err(|e| named(e.to_string()))?;
        let mut db = Sqlite { conn };
        db.migrate().map_err(named)?;
        Ok(db)
    }

    /// Opens the store to read it, writing nothing: no schema, no journal mode, no migration
    /// (reads work on every schema version, which only ever added to the tables). A store in WAL
    /// mode whose `-wal` file exists (a router has it open, or stopped without a checkpoint) is
    /// read through the files the router keeps; one without (no router has it open) is read as
    /// immutable, since a read-only connection would otherwise create `-wal` and `-shm` files,
    /// owned by this user, beside the owner's database and leave them there (it may not remove
    /// them), and cannot open it at all in a directory it may not write.
    pub fn open_read_only(path: &Path) -> Result<Sqlite, String> {
        use rusqlite::OpenFlags;
        let shown = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
        let meta = std::fs::metadata(path).map_err(|e| shown(&e))?;
        if meta.len() == 0 {
            return Err(format!(
                "{} is empty: no decision was ever recorded to it (route --store or serve records them)",
                path.display()
            ));
        }
        allocate_with_mimalloc();
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        let immutable = !Path::new(&wal).exists();
        let uri = format!(
            "file:{}?mode=ro{}",
            uri_path(path),
            if immutable { "&immutable=1" } else { "" }
        );
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&uri, flags).map_err(|e| shown(&e))?;
        conn.execute_batch("PRAGMA busy_timeout = 5000; PRAGMA cache_size = -512;")
            .map_err(|e| shown(&e))?;
        refuse_foreign(&conn, path)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| shown(&e))?;
        if version == 0 {
            return Err(format!(
                "{} is not a decision store: it has no store schema (no decision was ever recorded to it)",
                path.display()
            ));
        }
        super::backend::migrations_to_run(version, MIGRATIONS.len()).map_err(|e| shown(&e))?;
        Ok(Sqlite { conn })
    }

    fn migrate(&mut self) -> Result<(), String> {
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| e.to_string())?;
        let version = super::backend::migrations_to_run(version, MIGRATIONS.len())?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            let tx = self.conn.transaction().map_err(|e| e.to_string())?;
            tx.execute_batch(sql).map_err(|e| e.to_string())?;
            tx.pragma_update(
                None,
                "user_version",
                i64::try_from(i + 1).unwrap_or(i64::MAX),
            )
            .map_err(|e| e.to_string())?;
            tx.commit().map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// A path as a `file:` URI's path: `%`, `?` and `#` escaped (the rest is taken as it is).
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' | '?' | '#' => out.push_str(&format!("%{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// A database that is not a store (no schema version of ours, tables of its own) is left as it
/// is: `--store` pointed at another program's database would otherwise get this schema, WAL mode
/// and decisions written into it, even by a command that only reads.
fn refuse_foreign(conn: &Connection, path: &Path) -> Result<(), String> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if version != 0 {
        return Ok(());
    }
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name LIMIT 4")
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let tables: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .map_err(|e| format!("{}: {e}", path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if tables.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{} is not a hotline-router store: it has tables of its own ({}) and no store schema; \
         point --store at the store's file, or at a new one",
        path.display(),
        tables.join(", ")
    ))
}

/// A decision row's `record` column: the decision's spool frame (a BLOB, schema 3) or, in rows
/// stored before, its JSON.
fn decision_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<DecisionRecord> {
    use rusqlite::types::{Type, ValueRef};
    match r.get_ref("record")? {
        ValueRef::Blob(frame) => super::spool::stored_decision(frame)
            .map(|d| DecisionRecord::from(&d))
            .ok_or_else(|| {
                let id: String = r.get("decision_id").unwrap_or_default();
                rusqlite::Error::FromSqlConversionFailure(
                    0,
                    Type::Blob,
                    format!(
                        "{} of decision {id}: the checksum of its frame fails; restore the \
                         database from a backup",
                        super::DAMAGED
                    )
                    .into(),
                )
            }),
        _ => record_of(r),
    }
}

/// A read's error as a message: a damaged record's own message, which names its decision.
fn read_error(e: rusqlite::Error) -> String {
    match e {
        rusqlite::Error::FromSqlConversionFailure(_, rusqlite::types::Type::Blob, inner) => {
            inner.to_string()
        }
        e => e.to_string(),
    }
}

/// A stored row's `record` column as JSON (the other columns are its indexed parts).
fn record_of<T: serde::de::DeserializeOwned>(r: &rusqlite::Row<'_>) -> rusqlite::Result<T> {
    let json: String = r.get("record")?;
    serde_json::from_str(&json).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn to_json(v: &impl serde::Serialize) -> Result<String, String> {
    serde_json::to_string(v).map_err(|e| e.to_string())
}

fn sha256(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

impl Backend for Sqlite {
    fn write(&mut self, items: &[Item<'_>]) -> Result<(), String> {
        let tx = self.conn.transaction().map_err(|e| e.to_string())?;
        for item in items {
            match item {
                Item::Decision(d) => {
                    // The frame as the request path wrote it (see the module's comment); JSON
                    // only for a decision replayed from a JSON-lines segment, which has none.
                    let json;
                    let record: &dyn rusqlite::ToSql = if d.frame.is_empty() {
                        json = to_json(d)?;
                        &json
                    } else {
                        &d.frame
                    };
                    // Prepared once per connection: parsing the statement would cost more than
                    // the insert.
                    tx.prepare_cached(
                        "INSERT OR IGNORE INTO decisions (decision_id, request_id, received_at, \
                         outcome, department_id, rule_id, rules_version, record, received_time) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    )
                    .and_then(|mut insert| {
                        insert.execute(params![
                            d.decision_id,
                            d.request_id,
                            d.received_at_ms,
                            d.outcome,
                            d.department_id,
                            d.rule_id,
                            d.rules_version,
                            record,
                            d.received_time_ms,
                        ])
                    })
                    .map_err(|e| e.to_string())?;
                }
                Item::RuleSet(a) => {
                    for (path, content) in &a.files {
                        let hash = sha256(content);
                        tx.execute(
                            "INSERT OR IGNORE INTO rule_files VALUES (?1, ?2)",
                            params![hash, content],
                        )
                        .map_err(|e| e.to_string())?;
                        tx.execute(
                            "INSERT OR IGNORE INTO rule_sets VALUES (?1, ?2, ?3)",
                            params![a.version, path, hash],
                        )
                        .map_err(|e| e.to_string())?;
                    }
                }
            }
        }
        tx.commit().map_err(|e| e.to_string())
    }

    fn get(&mut self, key: &Lookup) -> Result<Option<StoredDecision>, String> {
        let record = match key {
            Lookup::DecisionId(id) => self
                .conn
                .query_row(
                    "SELECT decision_id, record FROM decisions WHERE decision_id = ?1",
                    [id],
                    decision_of,
                )
                .optional(),
            Lookup::RequestId(id) => self
                .conn
                .query_row(
                    "SELECT decision_id, record FROM decisions WHERE request_id = ?1 \
                     ORDER BY received_at DESC, decision_id DESC LIMIT 1",
                    [id],
                    decision_of,
                )
                .optional(),
        }
        .map_err(read_error)?;
        let Some(record) = record else {
            return Ok(None);
        };
        let events = self.events(&record.decision_id)?;
        Ok(Some(StoredDecision { record, events }))
    }

    fn add_event(&mut self, event: &Event) -> Result<EventOutcome, String> {
        let decided: Option<i64> = self.one(
            "SELECT received_at FROM decisions WHERE decision_id = ?1",
            &event.decision_id,
        )?;
        let Some(decided_at_ms) = decided else {
            return Ok(EventOutcome::NotFound);
        };
        let existing: Option<String> = self.one(
            "SELECT record FROM events WHERE event_id = ?1",
            &event.event_id,
        )?;
        if let Some(json) = existing {
            return super::backend::same_event_again(event, &json);
        }
        if let Some(refused) = super::backend::too_early(event, decided_at_ms) {
            return Ok(refused);
        }
        self.conn
            .execute(
                "INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    event.event_id,
                    event.decision_id,
                    event.kind.as_str(),
                    event.at_ms,
                    to_json(event)?,
                ],
            )
            .map_err(|e| e.to_string())?;
        Ok(EventOutcome::Recorded {
            decision_id: event.decision_id.clone(),
        })
    }

    fn between(&mut self, from_ms: i64, to_ms: i64) -> Result<super::Period, String> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT decision_id, record FROM decisions WHERE decision_id >= ?1 AND decision_id < ?2 \
                 AND received_at >= ?3 AND received_at < ?4 ORDER BY received_at, decision_id",
            )
            .map_err(|e| e.to_string())?;
        let (lo, hi) = super::backend::id_range(from_ms, to_ms);
        let mut records = Vec::new();
        let mut damaged = Vec::new();
        let rows = stmt
            .query_map(params![lo, hi, from_ms, to_ms], |r| {
                Ok(match decision_of(r) {
                    Ok(record) => Ok(record),
                    Err(rusqlite::Error::FromSqlConversionFailure(
                        _,
                        rusqlite::types::Type::Blob,
                        _,
                    )) => Err(r.get::<_, String>("decision_id")?),
                    Err(e) => return Err(e),
                })
            })
            .map_err(|e| e.to_string())?;
        for row in rows {
            match row.map_err(read_error)? {
                Ok(record) => records.push(record),
                Err(id) => damaged.push(id),
            }
        }
        drop(stmt);
        // A ticket routed again: its earlier decisions, whose events go to the latest one.
        let superseded = self
            .conn
            .prepare(
                "SELECT d.decision_id FROM decisions d WHERE d.decision_id >= ?1 AND d.decision_id < ?2 \
                 AND d.received_at >= ?3 AND d.received_at < ?4 AND d.request_id <> '' AND EXISTS \
                 (SELECT 1 FROM decisions n WHERE n.request_id = d.request_id AND (n.received_at > \
                 d.received_at OR (n.received_at = d.received_at AND n.decision_id > d.decision_id)))",
            )
            .and_then(|mut stmt| {
                stmt.query_map(params![lo, hi, from_ms, to_ms], |r| r.get(0))?
                    .collect::<Result<Vec<String>, _>>()
            })
            .map_err(|e| e.to_string())?;
        if !damaged.is_empty() {
            tracing::warn!(
                count = damaged.len(),
                first = %damaged[0],
                "decision records damaged on disk were left out of a read"
            );
        }
        let mut out = Vec::with_capacity(records.len());
        for record in records {
            let events = self.events(&record.decision_id)?;
            out.push(StoredDecision { record, events });
        }
        Ok(super::Period {
            decisions: out,
            damaged,
            superseded,
        })
    }

    fn rule_files(&mut self, version: &str) -> Result<Option<Vec<(String, String)>>, String> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT s.path, f.content FROM rule_sets s JOIN rule_files f ON f.sha256 = s.sha256 \
                 WHERE s.version = ?1 ORDER BY s.path",
            )
            .map_err(|e| e.to_string())?;
        let files = stmt
            .query_map([version], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| e.to_string())?
            .collect::<Result<Vec<(String, String)>, _>>()
            .map_err(|e| e.to_string())?;
        Ok((!files.is_empty()).then_some(files))
    }

    fn purge(&mut self, before_ms: i64) -> Result<usize, String> {
        let (_, below) = super::backend::id_range(i64::MIN, before_ms);
        self.conn
            .execute(
                "DELETE FROM decisions WHERE decision_id < ?1 AND received_at < ?2",
                params![below, before_ms],
            )
            .map_err(|e| e.to_string())
    }

    fn archived_versions(&mut self) -> Result<Vec<String>, String> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT version FROM rule_sets")
            .map_err(|e| e.to_string())?;
        stmt.query_map([], |r| r.get(0))
            .map_err(|e| e.to_string())?
            .collect::<Result<Vec<String>, _>>()
            .map_err(|e| e.to_string())
    }
}

impl Sqlite {
    /// The one column of the one row `sql` selects for `key`, if there is a row.
    fn one<T: rusqlite::types::FromSql>(&self, sql: &str, key: &str) -> Result<Option<T>, String> {
        self.conn
            .query_row(sql, [key], |r| r.get(0))
            .optional()
            .map_err(|e| e.to_string())
    }

    fn events(&mut self, decision_id: &str) -> Result<Vec<Event>, String> {
        let mut stmt = self
            .conn
            .prepare("SELECT record FROM events WHERE decision_id = ?1 ORDER BY at, event_id")
            .map_err(|e| e.to_string())?;
        stmt.query_map([decision_id], record_of::<Event>)
            .map_err(|e| e.to_string())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())
    }
}

/// Makes SQLite allocate through mimalloc, the router's allocator, instead of glibc's `malloc`;
/// once per process, before SQLite's first use (later, SQLite refuses and keeps `malloc`).
///
/// Why: glibc grows the arena of the thread that allocates (the store's writer) a page at a
/// time, each with an `mprotect` that holds the process's memory-map lock for writing. The
/// writer runs in the idle scheduling class, so on a busy core it waits long for the CPU while
/// it holds or queues for that lock, and every page fault of a Route call waits behind it:
/// `perf trace` showed 52 such calls of 1–2.4 ms as a router's store warmed up (BENCHMARKS.md
/// §6). mimalloc takes its memory in large reserved areas and never changes their protection.
/// It also keeps SQLite's memory in the allocator whose use the router already bounds.
fn allocate_with_mimalloc() {
    use rusqlite::ffi;
    use std::ffi::{c_int, c_void};

    unsafe extern "C" fn malloc(n: c_int) -> *mut c_void {
        // SAFETY: any size is valid; SQLite never asks for a negative one (its sizes are
        // checked before they reach the allocator), and `max(0)` makes sure of it.
        unsafe { libmimalloc_sys::mi_malloc(n.max(0) as usize) }
    }
    unsafe extern "C" fn free(p: *mut c_void) {
        // SAFETY: SQLite frees only what `malloc` / `realloc` above returned (or null).
        unsafe { libmimalloc_sys::mi_free(p) }
    }
    unsafe extern "C" fn realloc(p: *mut c_void, n: c_int) -> *mut c_void {
        // SAFETY: `p` is null or from `malloc` / `realloc` above, as for `free`.
        unsafe { libmimalloc_sys::mi_realloc(p, n.max(0) as usize) }
    }
    unsafe extern "C" fn size(p: *mut c_void) -> c_int {
        // SAFETY: SQLite asks the size of its own live allocations only.
        let n = unsafe { libmimalloc_sys::mi_usable_size(p) };
        c_int::try_from(n).unwrap_or(c_int::MAX)
    }
    unsafe extern "C" fn roundup(n: c_int) -> c_int {
        // SAFETY: a pure function of its argument.
        let good = unsafe { libmimalloc_sys::mi_good_size(n.max(0) as usize) };
        c_int::try_from(good).unwrap_or(n)
    }
    unsafe extern "C" fn init(_: *mut c_void) -> c_int {
        ffi::SQLITE_OK
    }
    unsafe extern "C" fn shutdown(_: *mut c_void) {}

    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let methods = ffi::sqlite3_mem_methods {
            xMalloc: Some(malloc),
            xFree: Some(free),
            xRealloc: Some(realloc),
            xSize: Some(size),
            xRoundup: Some(roundup),
            xInit: Some(init),
            xShutdown: Some(shutdown),
            pAppData: std::ptr::null_mut(),
        };
        // SAFETY: SQLITE_CONFIG_MALLOC takes one pointer to a `sqlite3_mem_methods`, which
        // SQLite copies before it returns. It is called once (`ONCE`), before this process opens
        // its first connection through this module; if SQLite was initialised already (another
        // use of SQLite in the process), it returns SQLITE_MISUSE and changes nothing, and
        // SQLite keeps `malloc`, whose memory the functions above never see.
        let _ = unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_MALLOC, &methods) };
    });
}
