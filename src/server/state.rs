//! The serving rule set and the record of the last load.
//!
//! The set lives behind an `ArcSwap`: a call takes a snapshot (`load_full`, one atomic increment)
//! and routes on it to the end, so a reload never changes the rules under a call in flight, and
//! replacing the set is one atomic pointer swap. A new set is fully loaded, validated and its
//! examples run *before* the swap; if anything fails, the old set keeps serving and the failure is
//! recorded for `GetRuleSet`, the logs and the metrics. Sets are built, and the replaced ones
//! freed, on the thread of `loader.rs`; nothing else may keep a snapshot longer than a call.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use arc_swap::ArcSwap;

use super::loader::Loader;
use super::metrics::Metrics;
use crate::proto::v1 as pb;
use crate::request::{MAX_BATCH_SIZE, MAX_TEXT_CHARS};
use crate::ruleset::{self, Diagnostic, LoadError, RuleSet};

/// The last failed load, kept until a load succeeds.
#[derive(Debug, Clone, Default)]
pub struct LoadFailure {
    pub diagnostics: Vec<Diagnostic>,
    pub at: Option<SystemTime>,
}

pub struct RuleState {
    dir: PathBuf,
    current: ArcSwap<RuleSet>,
    /// Builds every set and frees every replaced one (see `loader.rs`).
    loader: Loader,
    last_failure: Mutex<LoadFailure>,
    /// Serializes reloads (a burst of signals or file events must not load twice in parallel).
    reloading: tokio::sync::Mutex<()>,
}

impl RuleState {
    /// Loads the rules in `dir`; fails (with every diagnostic) if they do not load.
    pub async fn load(dir: &Path) -> Result<Self, LoadError> {
        let loader = Loader::start();
        let set = loader.load(dir.to_path_buf()).await?;
        Ok(RuleState {
            dir: dir.to_path_buf(),
            current: ArcSwap::from_pointee(set),
            loader,
            last_failure: Mutex::new(LoadFailure::default()),
            reloading: tokio::sync::Mutex::new(()),
        })
    }

    /// A snapshot of the serving set.
    pub fn current(&self) -> Arc<RuleSet> {
        self.current.load_full()
    }

    pub fn last_failure(&self) -> LoadFailure {
        self.last_failure
            .lock()
            .map(|f| f.clone())
            .unwrap_or_default()
    }

    /// What `GetRuleSet` answers (and the console's `/api/ruleset`): the serving set's version,
    /// counts and load time, and the last failed load's diagnostics.
    pub fn info(&self) -> pb::GetRuleSetResponse {
        let set = self.current();
        let failure = self.last_failure();
        pb::GetRuleSetResponse {
            version: set.version().to_owned(),
            rule_count: set.rules().len() as u32,
            dispatch_rule_count: set.count(crate::ruleset::RuleKind::Dispatch) as u32,
            handoff_count: set.count(crate::ruleset::RuleKind::Handoff) as u32,
            out_of_scope_count: set.count(crate::ruleset::RuleKind::OutOfScope) as u32,
            department_count: set.departments().len() as u32,
            regulation_count: set.regulations().len() as u32,
            category_count: set.category_count() as u32,
            loaded_at: Some(to_timestamp(set.loaded_at())),
            source: set.source().display().to_string(),
            last_load_errors: failure
                .diagnostics
                .iter()
                .map(|d| pb::Diagnostic {
                    severity: d.severity.as_str().to_owned(),
                    location: Some(pb::SourceLocation {
                        file: d.location.file.clone(),
                        line: d.location.line,
                        column: d.location.column,
                    }),
                    message: d.message.clone(),
                    code: d.code.as_str().to_owned(),
                    name: d.code.name().to_owned(),
                    help: d.help().to_owned(),
                })
                .collect(),
            last_load_failed_at: failure.at.map(to_timestamp),
            max_text_chars: MAX_TEXT_CHARS as u32,
            max_batch_size: MAX_BATCH_SIZE as u32,
        }
    }

    /// Loads the directory again off the async threads; swaps on success, records on failure.
    /// Returns the new version, or the load error.
    pub async fn reload(&self) -> Result<String, LoadError> {
        let _one_at_a_time = self.reloading.lock().await;
        let result = self.loader.load(self.dir.clone()).await;
        match result.and_then(|set| keeps_lines(&self.current(), set, &self.loader)) {
            Ok(set) => {
                let version = set.version().to_owned();
                // Same content, same version: nothing to swap (a touch, an editor's backup).
                let set = Arc::new(set);
                if version != self.current().version() {
                    self.loader.retire(self.current.swap(set));
                } else {
                    self.loader.retire(set);
                }
                if let Ok(mut f) = self.last_failure.lock() {
                    *f = LoadFailure::default();
                }
                Ok(version)
            }
            Err(e) => {
                if let Ok(mut f) = self.last_failure.lock() {
                    *f = LoadFailure {
                        diagnostics: e.diagnostics.clone(),
                        at: Some(SystemTime::now()),
                    };
                }
                Err(e)
            }
        }
    }

    /// `reload`, plus the log lines and metrics that go with it.
    pub async fn reload_and_record(&self, metrics: &Metrics) {
        let before = self.current();
        let serving = before.version().to_owned();
        match self.reload().await {
            Ok(version) => {
                let set = self.current();
                metrics.set_rules(&set);
                metrics.rules_last_load_ok.set(1);
                if version == serving {
                    tracing::debug!(version = %version, "rules loaded again, unchanged");
                } else {
                    tracing::info!(
                        version = %version,
                        rules = set.rules().len(),
                        reused = set.parts_shared_with(&before),
                        "rules reloaded"
                    );
                    // A file that is gone takes its rules with it, and a valid set does not say
                    // so: name it, in case it was moved aside rather than meant to go.
                    for (name, _) in before.files() {
                        if !set.files().iter().any(|(n, _)| n == name) {
                            tracing::warn!(file = %name, "rule file gone from the rules directory; its rules are no longer served");
                        }
                    }
                }
            }
            Err(e) => {
                metrics.rules_load_failures.inc();
                metrics.rules_last_load_ok.set(0);
                let serving = self.current().version().to_owned();
                for d in e.errors() {
                    // One log line per diagnostic: its `help:` line joined to it, so that a plain
                    // log's second line does not stand without a time and a level.
                    let one_line = d.to_string().replace("\n  help: ", " help: ");
                    tracing::error!(diagnostic = %one_line, "rules reload failed");
                }
                tracing::error!(serving = %serving, "rules reload failed; still serving the previous rule set");
            }
        }
    }
}

/// `set`, unless it hands off to fewer lines than `serving` does. A hand-off file moved aside
/// (renamed to keep a copy, or by an editor that saves by delete-then-write) leaves a set that
/// loads, warns (W0107) and would send that line's emergencies to manual triage. On a running
/// server that is an outage of the emergency path, so the reload is refused like a broken
/// file; a set meant to go without a line is served by restarting with it.
fn keeps_lines(serving: &RuleSet, set: RuleSet, loader: &Loader) -> Result<RuleSet, LoadError> {
    let dropped: Vec<&str> = {
        let kept = set.handoff_lines();
        serving
            .handoff_lines()
            .into_iter()
            .filter(|l| !kept.contains(l))
            .collect()
    };
    if dropped.is_empty() {
        return Ok(set);
    }
    loader.retire(Arc::new(set));
    let file = serving
        .rules()
        .iter()
        .find(|r| r.is_handoff())
        .map_or_else(|| "handoffs.yaml".to_owned(), |r| r.location.file.clone());
    Err(LoadError {
        diagnostics: vec![Diagnostic {
            location: ruleset::SourceLocation::file_start(&file),
            severity: ruleset::Severity::Error,
            code: ruleset::Code::HandoffLineDropped,
            message: format!(
                "the new rules hand off to no {} line, which the serving rules do (\"{file}\" \
                 moved, renamed or emptied?); emergencies would go to manual triage",
                dropped.join(", ")
            ),
        }],
    })
}

fn to_timestamp(t: SystemTime) -> pbjson_types::Timestamp {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    pbjson_types::Timestamp {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: d.subsec_nanos() as i32,
    }
}
