//! `hotline-router diff`: what an edit to the rules will change, before it goes live.
//!
//! Both rule sets route the same corpus; every request whose decision changes (outcome,
//! department or rule) is reported with an excerpt of its text, and each department's gains and
//! losses are counted, so that a rule author sees the orders the edit moves, to where, and how many.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::authoring::eval::Labelled;
use crate::proto::v1 as pb;
use crate::ruleset::RuleSet;

const EXCERPT_CHARS: usize = 50;

/// Where a decision sent a request: `housing`, `(manual)`, `(handoff 119)`, `(out of scope)`.
fn destination(r: &pb::RouteResponse) -> String {
    match pb::Outcome::try_from(r.outcome).unwrap_or(pb::Outcome::Unspecified) {
        pb::Outcome::Dispatch => r.department_id().to_owned(),
        pb::Outcome::Handoff => format!(
            "(handoff {})",
            r.handoff.as_ref().map_or("", |h| h.line.as_str())
        ),
        pb::Outcome::OutOfScope => "(out of scope)".to_owned(),
        _ => "(manual)".to_owned(),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub id: String,
    pub excerpt: String,
    pub old_destination: String,
    pub old_rule: String,
    pub new_destination: String,
    pub new_rule: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DepartmentDelta {
    pub gained: usize,
    pub lost: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    pub old_version: String,
    pub new_version: String,
    pub total: usize,
    /// Requests whose destination changed.
    pub moved: usize,
    /// Requests that kept their destination but are now decided by another rule.
    pub rule_changed: usize,
    pub changes: Vec<Change>,
    pub by_destination: BTreeMap<String, DepartmentDelta>,
}

pub fn diff(old: &RuleSet, new: &RuleSet, corpus: &[Labelled]) -> DiffReport {
    let mut changes = Vec::new();
    let mut by_destination: BTreeMap<String, DepartmentDelta> = BTreeMap::new();
    let (mut moved, mut rule_changed) = (0, 0);
    for item in corpus {
        let a = old.route(&item.input());
        let b = new.route(&item.input());
        let (da, db) = (destination(&a), destination(&b));
        if da == db && a.rule_id == b.rule_id {
            continue;
        }
        if da == db {
            rule_changed += 1;
        } else {
            moved += 1;
            by_destination.entry(da.clone()).or_default().lost += 1;
            by_destination.entry(db.clone()).or_default().gained += 1;
        }
        let joined = if item.title.is_empty() {
            item.text.clone()
        } else {
            format!("{}｜{}", item.title, item.text)
        };
        let excerpt = super::eval::clipped(&joined, EXCERPT_CHARS).replace('\n', " ");
        changes.push(Change {
            id: item.id.clone(),
            excerpt,
            old_destination: da,
            old_rule: a.rule_id,
            new_destination: db,
            new_rule: b.rule_id,
        });
    }
    DiffReport {
        old_version: old.version().to_owned(),
        new_version: new.version().to_owned(),
        total: corpus.len(),
        moved,
        rule_changed,
        changes,
        by_destination,
    }
}

impl DiffReport {
    pub fn render_text(&self, limit: usize) -> String {
        use std::fmt::Write as _;
        let mut o = String::new();
        let _ = writeln!(
            o,
            "rules {} → {}: {} of {} requests change destination, {} more change rule only",
            self.old_version, self.new_version, self.moved, self.total, self.rule_changed
        );
        if !self.by_destination.is_empty() {
            let _ = writeln!(o, "\n{:<22} {:>7} {:>7}", "destination", "gained", "lost");
            for (d, delta) in &self.by_destination {
                let _ = writeln!(o, "{d:<22} {:>7} {:>7}", delta.gained, delta.lost);
            }
        }
        if !self.changes.is_empty() {
            let _ = writeln!(
                o,
                "\nchanges{}:",
                if self.changes.len() > limit {
                    format!(" (first {limit})")
                } else {
                    String::new()
                }
            );
        }
        for c in self.changes.iter().take(limit) {
            let rule = |r: &str| {
                if r.is_empty() {
                    "-".to_owned()
                } else {
                    r.to_owned()
                }
            };
            let _ = writeln!(
                o,
                "{}: {} ({}) → {} ({}): {}",
                c.id,
                c.old_destination,
                rule(&c.old_rule),
                c.new_destination,
                rule(&c.new_rule),
                c.excerpt
            );
        }
        o
    }
}
