//! What a database must do for the store. The writer thread owns the one backend of a process:
//! every write and query goes through it, in order, after the spool has been emptied into it.

use super::record::{Event, EventOutcome, Lookup, StoredDecision};

pub(crate) trait Backend: Send {
    /// Stores entries in one transaction; an entry already stored (same decision id, same
    /// rule-set version and path) is skipped, so a segment replayed twice is stored once.
    fn write(&mut self, lines: &[super::spool::Line]) -> Result<(), String>;
    /// A decision with its events.
    fn get(&mut self, key: &Lookup) -> Result<Option<StoredDecision>, String>;
    /// Records an event of a stored decision, once per event id.
    fn add_event(&mut self, event: &Event) -> Result<EventOutcome, String>;
    /// The decisions received in `[from_ms, to_ms)`, with their events, oldest first.
    fn between(&mut self, from_ms: i64, to_ms: i64) -> Result<Vec<StoredDecision>, String>;
    /// The rule files of an archived rule-set version.
    fn rule_files(&mut self, version: &str) -> Result<Option<Vec<(String, String)>>, String>;
    /// Deletes the decisions (and their events) received before `before_ms`; how many.
    fn purge(&mut self, before_ms: i64) -> Result<usize, String>;
}
