//! What a database must do for the store. The writer thread owns the one backend of a process:
//! every write and query goes through it, in order, after the spool has been emptied into it.

use super::record::{Event, EventOutcome, Lookup, StoredDecision};

pub(crate) trait Backend: Send {
    /// Stores entries in one transaction; an entry already stored (same decision id, same
    /// rule-set version and path) is skipped, so a segment replayed twice is stored once.
    fn write(&mut self, items: &[super::spool::Item<'_>]) -> Result<(), String>;
    /// A decision with its events.
    fn get(&mut self, key: &Lookup) -> Result<Option<StoredDecision>, String>;
    /// Records an event of a stored decision, once per event id.
    fn add_event(&mut self, event: &Event) -> Result<EventOutcome, String>;
    /// The decisions received in `[from_ms, to_ms)`, with their events, oldest first.
    fn between(&mut self, from_ms: i64, to_ms: i64) -> Result<super::Period, String>;
    /// The rule files of an archived rule-set version.
    fn rule_files(&mut self, version: &str) -> Result<Option<Vec<(String, String)>>, String>;
    /// Deletes the decisions (and their events) received before `before_ms`; how many.
    fn purge(&mut self, before_ms: i64) -> Result<usize, String>;
    /// The rule-set versions archived so far (each archived whole, in one transaction).
    fn archived_versions(&mut self) -> Result<Vec<String>, String>;
    /// Whether its connection is gone (a database restarted or failed over), so that [`Later`]
    /// opens it again. A local file is never lost.
    fn is_lost(&self) -> bool {
        false
    }
}

/// Schema version 1, for both backends (SQLite takes `BIGINT` as an integer): decisions with
/// their indexed fields and the whole record as JSON, events likewise, and the rule-set archive
/// (each file's content once, by SHA-256; each version's paths).
pub(crate) const SCHEMA_V1: &str = r#"
    CREATE TABLE decisions (
        decision_id   TEXT PRIMARY KEY,
        request_id    TEXT NOT NULL,
        received_at   BIGINT NOT NULL,
        outcome       TEXT NOT NULL,
        department_id TEXT NOT NULL,
        rule_id       TEXT NOT NULL,
        rules_version TEXT NOT NULL,
        record        TEXT NOT NULL
    );
    CREATE INDEX decisions_by_request ON decisions (request_id, received_at);
    CREATE INDEX decisions_by_time ON decisions (received_at);
    CREATE TABLE events (
        event_id    TEXT PRIMARY KEY,
        decision_id TEXT NOT NULL REFERENCES decisions (decision_id) ON DELETE CASCADE,
        kind        TEXT NOT NULL,
        at          BIGINT NOT NULL,
        record      TEXT NOT NULL
    );
    CREATE INDEX events_by_decision ON events (decision_id, at);
    CREATE TABLE rule_files (
        sha256  TEXT PRIMARY KEY,
        content TEXT NOT NULL
    );
    CREATE TABLE rule_sets (
        version TEXT NOT NULL,
        path    TEXT NOT NULL,
        sha256  TEXT NOT NULL REFERENCES rule_files (sha256),
        PRIMARY KEY (version, path)
    );
"#;

/// The caller's received time (`RouteRequest.received_time`, milliseconds since 1970) beside the
/// router's `received_at`, for both backends (SQLite's schema 4, PostgreSQL's 2). NULL in rows
/// stored before it was kept, and when the caller gave none. The record holds it too; the column
/// is there for queries by the hotline's received time.
pub(crate) const ADD_RECEIVED_TIME: &str = "ALTER TABLE decisions ADD COLUMN received_time BIGINT;";

/// How far a decision id's time may lie from its `received_at`: none for ids made since schema 2
/// (made from the received time), at most the time a decision took for older ones (made after
/// it).
const ID_TIME_MARGIN_MS: i64 = 60_000;

/// The decision ids `[lo, hi)` that hold every decision received in `[from_ms, to_ms)` (the
/// query also checks `received_at`).
pub(crate) fn id_range(from_ms: i64, to_ms: i64) -> (String, String) {
    const MAX: i64 = 0xffff_ffff_ffff;
    let lo = from_ms.saturating_sub(ID_TIME_MARGIN_MS);
    let hi = to_ms.saturating_add(ID_TIME_MARGIN_MS);
    (
        if lo <= 0 {
            String::new()
        } else {
            format!("{:012x}", lo.min(MAX))
        },
        // Above every id: 'g' sorts after every hex digit.
        if hi > MAX {
            "g".into()
        } else {
            format!("{:012x}", hi.max(0))
        },
    )
}

/// Where migrations start for a database at schema `version`: an error for a database made by a
/// newer router (it would be misread), rather than a guess.
pub(crate) fn migrations_to_run(version: i64, known: usize) -> Result<usize, String> {
    let version = usize::try_from(version).unwrap_or(usize::MAX);
    if version > known {
        return Err(format!(
            "the store's schema is version {version}, newer than this router's {known}; use a newer router"
        ));
    }
    Ok(version)
}

/// What recording `event` again means when an event with its id is stored as `stored` (its JSON
/// record): a duplicate only if it is the same event for the same decision; otherwise a conflict,
/// which says whether only the decision differs. The decision must be part of the comparison: an
/// intake system that numbers events per ticket (`accepted`, `1`, `2`, …) would otherwise have
/// every ticket's events after the first taken for retries and silently dropped. A retry sent by
/// ticket number that now finds a newer decision of the same ticket is told apart by
/// `events::record`, which knows how the event was addressed.
pub(crate) fn same_event_again(
    event: &super::Event,
    stored: &str,
) -> Result<super::EventOutcome, String> {
    let stored: super::Event = serde_json::from_str(stored).map_err(|e| {
        format!(
            "the stored event \"{}\" cannot be read: {e}",
            event.event_id
        )
    })?;
    let same_content = super::Event {
        decision_id: stored.decision_id.clone(),
        ..event.clone()
    } == stored;
    Ok(if same_content && stored.decision_id == event.decision_id {
        super::EventOutcome::Duplicate {
            decision_id: stored.decision_id,
        }
    } else {
        super::EventOutcome::Conflict {
            event_id: stored.event_id,
            decision_id: stored.decision_id,
            kind: stored.kind,
            same_content,
        }
    })
}

/// What is wrong with `event`'s dates against its decision's time, if anything: it happened
/// before the decision, or (EXTENDED) its new due date is a day before the decision's.
///
/// `decided_at_ms` is when the router made the decision (its own clock, the `received_at`
/// column), not the caller's received time: nothing can happen to an order before the router
/// sent it, whatever day the hotline took the call, and a request received days before it was
/// routed (a backlog) still has events only after its decision.
pub(crate) fn too_early(event: &super::Event, decided_at_ms: i64) -> Option<super::EventOutcome> {
    if event.at_ms < at_precision_of(event.at_ms, decided_at_ms) {
        return Some(super::EventOutcome::BeforeDecision { decided_at_ms });
    }
    let due_ends_ms = crate::situate::calendar::Date::parse(&event.due_date)
        .map(|d| d.start_ms_china().saturating_add(86_400_000));
    match due_ends_ms {
        Some(end) if event.kind == super::EventKind::Extended && end <= decided_at_ms => {
            Some(super::EventOutcome::DueDateBeforeDecision { decided_at_ms })
        }
        _ => None,
    }
}

/// `decided_at_ms` at the precision `at_ms` was given in: the whole second when `at_ms` is a
/// whole second. Decisions are timed to the millisecond, but many ticket systems write times to
/// the second: an event at 12:00:00 of a decision made at 12:00:00.400 is, as far as its sender
/// could know, not before it.
fn at_precision_of(at_ms: i64, decided_at_ms: i64) -> i64 {
    if at_ms.rem_euclid(1000) == 0 {
        decided_at_ms - decided_at_ms.rem_euclid(1000)
    } else {
        decided_at_ms
    }
}

/// A backend opened when it can be, and opened again when its connection is lost: a PostgreSQL
/// database that was down when the router started, restarted or failed over; a SQLite file that
/// is damaged, another application's or a newer router's. The server serves meanwhile (recording
/// never fails a Route call, and neither may starting to record), its decisions wait in the
/// spool, and every use tries to open the backend again, at most once per [`LATER_RETRY`] (a
/// database that is down costs the writer one attempt a second, not one a tick). Once the
/// database answers, or the operator has moved a bad file aside, the next try opens it and the
/// spool is stored.
pub(crate) struct Later<B> {
    open: Box<dyn FnMut() -> Result<B, String> + Send>,
    opened: Option<B>,
    failed_at: Option<std::time::Instant>,
    last_error: String,
}

/// How long after a failed open the next try is made.
const LATER_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

impl<B: Backend> Later<B> {
    /// Tries to open the backend now; why it could not be opened, if so, comes back beside it
    /// (a server logs it and serves; a command refuses to run).
    pub(crate) fn start(
        mut open: impl FnMut() -> Result<B, String> + Send + 'static,
    ) -> (Later<B>, Option<String>) {
        let (opened, error) = match open() {
            Ok(b) => (Some(b), None),
            Err(e) => (None, Some(e)),
        };
        let later = Later {
            open: Box::new(open),
            opened,
            failed_at: error.as_ref().map(|_| std::time::Instant::now()),
            last_error: error.clone().unwrap_or_default(),
        };
        (later, error)
    }

    fn backend(&mut self) -> Result<&mut B, String> {
        if self.opened.as_ref().is_some_and(Backend::is_lost) {
            self.opened = None;
        }
        if self.opened.is_none() {
            if self.failed_at.is_some_and(|t| t.elapsed() < LATER_RETRY) {
                return Err(self.last_error.clone());
            }
            match (self.open)() {
                Ok(b) => {
                    tracing::info!("the decision store opened");
                    self.opened = Some(b);
                    self.failed_at = None;
                }
                Err(e) => {
                    self.failed_at = Some(std::time::Instant::now());
                    self.last_error = e;
                    return Err(self.last_error.clone());
                }
            }
        }
        self.opened.as_mut().ok_or_else(|| self.last_error.clone())
    }
}

impl<B: Backend> Backend for Later<B> {
    fn write(&mut self, items: &[super::spool::Item<'_>]) -> Result<(), String> {
        self.backend()?.write(items)
    }
    fn get(&mut self, key: &Lookup) -> Result<Option<StoredDecision>, String> {
        self.backend()?.get(key)
    }
    fn add_event(&mut self, event: &Event) -> Result<EventOutcome, String> {
        self.backend()?.add_event(event)
    }
    fn between(&mut self, from_ms: i64, to_ms: i64) -> Result<super::Period, String> {
        self.backend()?.between(from_ms, to_ms)
    }
    fn rule_files(&mut self, version: &str) -> Result<Option<Vec<(String, String)>>, String> {
        self.backend()?.rule_files(version)
    }
    fn purge(&mut self, before_ms: i64) -> Result<usize, String> {
        self.backend()?.purge(before_ms)
    }
    fn archived_versions(&mut self) -> Result<Vec<String>, String> {
        self.backend()?.archived_versions()
    }
}
