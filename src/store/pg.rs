//! The shared backend: one PostgreSQL database for several replicas behind one load balancer.
//! Each replica keeps its own spool (a local file) and its own writer; inserts are idempotent
//! (`ON CONFLICT DO NOTHING`), so replays never duplicate, and decision ids carry a per-process
//! random part, so replicas never collide.
//!
//! The synchronous `postgres` client (the blocking face of tokio-postgres) fits the writer
//! thread, which owns the connection; migrations are recorded in `hotline_schema` and applied in
//! a transaction each, under an advisory lock so that replicas starting together migrate once.
//! A connection that could not be made, or was lost, is made again by `backend::Later`, which
//! wraps every PostgreSQL backend (see [`Backend::is_lost`]).

use postgres::{Client, NoTls};

use super::backend::Backend;
use super::record::{DecisionRecord, Event, EventOutcome, Lookup, StoredDecision};
use super::spool::Item;

// SQLite's version 2 (no index on `received_at`) is not applied here: PostgreSQL maintains its
// indexes in its own process, off the router's cores, and its text order depends on the
// database's collation, which the id ranges of `backend::id_range` would have to trust.
// Version 2 is SQLite's 4: the caller's received time beside the router's `received_at`.
const MIGRATIONS: &[&str] = &[super::backend::SCHEMA_V1, super::backend::ADD_RECEIVED_TIME];

/// Any number: the advisory lock that serialises migrations across replicas.
const MIGRATION_LOCK: i64 = 0x0001_2345_0000;

pub(crate) struct Postgres {
    client: Client,
}

fn err(e: postgres::Error) -> String {
    e.to_string()
}

impl Postgres {
    /// Connects and brings the schema up to date. A server wraps it in `backend::Later`, which
    /// connects again when the connection is lost ([`Backend::is_lost`]) or could not be made.
    pub fn open(url: &str) -> Result<Postgres, String> {
        let mut client =
            Client::connect(url, NoTls).map_err(|e| format!("{}: {e}", redact(url)))?;
        migrate(&mut client)?;
        Ok(Postgres { client })
    }

    /// Connects to read only (`report`, `export`, `explain`): no migration, every transaction
    /// read-only; a database without the store's schema, or with a newer one, is refused.
    pub fn open_read_only(url: &str) -> Result<Postgres, String> {
        Ok(Postgres {
            client: connect_read_only(url)?,
        })
    }
}

fn connect_read_only(url: &str) -> Result<Client, String> {
    let shown = |e: postgres::Error| format!("{}: {e}", redact(url));
    let mut client = Client::connect(url, NoTls).map_err(shown)?;
    client
        .batch_execute("SET default_transaction_read_only = on")
        .map_err(shown)?;
    let version: i32 = client
        .query_one("SELECT COALESCE(MAX(version), 0) FROM hotline_schema", &[])
        .map_err(|e| {
            format!(
                "{}: not a decision store (no store schema): {e}",
                redact(url)
            )
        })?
        .get(0);
    super::backend::migrations_to_run(i64::from(version), MIGRATIONS.len())?;
    Ok(client)
}

/// Brings the database's schema to this router's, once across replicas starting together.
fn migrate(client: &mut Client) -> Result<(), String> {
    let mut tx = client.transaction().map_err(err)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(err)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS hotline_schema (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .map_err(err)?;
    let version: i32 = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM hotline_schema", &[])
        .map_err(err)?
        .get(0);
    let version = super::backend::migrations_to_run(i64::from(version), MIGRATIONS.len())?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        tx.batch_execute(sql).map_err(err)?;
        let v = i32::try_from(i + 1).unwrap_or(i32::MAX);
        tx.execute("INSERT INTO hotline_schema (version) VALUES ($1)", &[&v])
            .map_err(err)?;
    }
    tx.commit().map_err(err)
}

impl Postgres {
    fn events(&mut self, decision_id: &str) -> Result<Vec<Event>, String> {
        let rows = self
            .client
            .query(
                "SELECT record FROM events WHERE decision_id = $1 ORDER BY at, event_id",
                &[&decision_id],
            )
            .map_err(err)?;
        rows.iter()
            .map(|r| serde_json::from_str(r.get::<_, &str>(0)).map_err(|e| e.to_string()))
            .collect()
    }

    fn decision(&mut self, row: Option<postgres::Row>) -> Result<Option<StoredDecision>, String> {
        let Some(row) = row else { return Ok(None) };
        let record: DecisionRecord =
            serde_json::from_str(row.get::<_, &str>(0)).map_err(|e| e.to_string())?;
        let events = self.events(&record.decision_id)?;
        Ok(Some(StoredDecision { record, events }))
    }
}

/// A connection string without its password, for messages: the `user:password@` form and a
/// `password=` parameter both.
pub(crate) fn redact(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let base = match (base.find("://"), base.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &base[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &base[..s + 3], &creds[..c], &base[at..]),
                None => base.to_owned(),
            }
        }
        _ => base.to_owned(),
    };
    let Some(query) = query else { return base };
    let params: Vec<String> = query
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
            _ => p.to_owned(),
        })
        .collect();
    format!("{base}?{}", params.join("&"))
}

fn sha256(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

impl Backend for Postgres {
    fn is_lost(&self) -> bool {
        self.client.is_closed()
    }

    fn write(&mut self, items: &[Item<'_>]) -> Result<(), String> {
        let mut tx = self.client.transaction().map_err(err)?;
        let insert = tx
            .prepare(
                "INSERT INTO decisions (decision_id, request_id, received_at, outcome, department_id, \
                 rule_id, rules_version, record, received_time) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
            )
            .map_err(err)?;
        for item in items {
            match item {
                Item::Decision(d) => {
                    let record = serde_json::to_string(d).map_err(|e| e.to_string())?;
                    tx.execute(
                        &insert,
                        &[
                            &d.decision_id,
                            &d.request_id,
                            &d.received_at_ms,
                            &d.outcome,
                            &d.department_id,
                            &d.rule_id,
                            &d.rules_version,
                            &record,
                            &d.received_time_ms,
                        ],
                    )
                    .map_err(err)?;
                }
                Item::RuleSet(a) => {
                    for (path, content) in &a.files {
                        let hash = sha256(content);
                        tx.execute(
                            "INSERT INTO rule_files VALUES ($1, $2) ON CONFLICT DO NOTHING",
                            &[&hash, content],
                        )
                        .map_err(err)?;
                        tx.execute(
                            "INSERT INTO rule_sets VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                            &[&a.version, path, &hash],
                        )
                        .map_err(err)?;
                    }
                }
            }
        }
        tx.commit().map_err(err)
    }

    fn get(&mut self, key: &Lookup) -> Result<Option<StoredDecision>, String> {
        let row = match key {
            Lookup::DecisionId(id) => self
                .client
                .query_opt("SELECT record FROM decisions WHERE decision_id = $1", &[id]),
            Lookup::RequestId(id) => self.client.query_opt(
                "SELECT record FROM decisions WHERE request_id = $1 \
                 ORDER BY received_at DESC, decision_id DESC LIMIT 1",
                &[id],
            ),
        }
        .map_err(err)?;
        self.decision(row)
    }

    fn add_event(&mut self, event: &Event) -> Result<EventOutcome, String> {
        let decided = self
            .client
            .query_opt(
                "SELECT received_at FROM decisions WHERE decision_id = $1",
                &[&event.decision_id],
            )
            .map_err(err)?;
        let Some(decided_at_ms) = decided.map(|r| r.get::<_, i64>(0)) else {
            return Ok(EventOutcome::NotFound);
        };
        if let Some(refused) = super::backend::too_early(event, decided_at_ms) {
            return Ok(refused);
        }
        let record = serde_json::to_string(event).map_err(|e| e.to_string())?;
        let inserted = self
            .client
            .execute(
                "INSERT INTO events VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                &[
                    &event.event_id,
                    &event.decision_id,
                    &event.kind.as_str(),
                    &event.at_ms,
                    &record,
                ],
            )
            .map_err(err)?;
        if inserted == 1 {
            return Ok(EventOutcome::Recorded {
                decision_id: event.decision_id.clone(),
            });
        }
        let existing: String = self
            .client
            .query_one(
                "SELECT record FROM events WHERE event_id = $1",
                &[&event.event_id],
            )
            .map_err(err)?
            .get(0);
        super::backend::same_event_again(event, &existing)
    }

    fn between(&mut self, from_ms: i64, to_ms: i64) -> Result<super::Period, String> {
        let rows = self
            .client
            .query(
                "SELECT record FROM decisions WHERE received_at >= $1 AND received_at < $2 \
                 ORDER BY received_at, decision_id",
                &[&from_ms, &to_ms],
            )
            .map_err(err)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            if let Some(d) = self.decision(Some(row))? {
                out.push(d);
            }
        }
        // A ticket routed again: its earlier decisions, whose events go to the latest one.
        let superseded = self
            .client
            .query(
                "SELECT d.decision_id FROM decisions d WHERE d.received_at >= $1 AND d.received_at < $2 \
                 AND d.request_id <> '' AND EXISTS (SELECT 1 FROM decisions n WHERE \
                 n.request_id = d.request_id AND (n.received_at > d.received_at OR \
                 (n.received_at = d.received_at AND n.decision_id > d.decision_id)))",
                &[&from_ms, &to_ms],
            )
            .map_err(err)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        // Records are JSON text here, checked by the database's own types: none is skipped.
        Ok(super::Period {
            decisions: out,
            damaged: Vec::new(),
            superseded,
        })
    }

    fn rule_files(&mut self, version: &str) -> Result<Option<Vec<(String, String)>>, String> {
        let rows = self
            .client
            .query(
                "SELECT s.path, f.content FROM rule_sets s JOIN rule_files f ON f.sha256 = s.sha256 \
                 WHERE s.version = $1 ORDER BY s.path",
                &[&version],
            )
            .map_err(err)?;
        let files: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        Ok((!files.is_empty()).then_some(files))
    }

    fn purge(&mut self, before_ms: i64) -> Result<usize, String> {
        let n = self
            .client
            .execute(
                "DELETE FROM decisions WHERE received_at < $1",
                &[&before_ms],
            )
            .map_err(err)?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn archived_versions(&mut self) -> Result<Vec<String>, String> {
        self.client
            .query("SELECT DISTINCT version FROM rule_sets", &[])
            .map_err(err)?
            .iter()
            .map(|r| r.try_get(0).map_err(err))
            .collect()
    }
}
