//! Rule tests: every rule's `examples` must be won by that rule, and its `counterexamples` must
//! not be.
//!
//! Examples are part of validation, not an optional extra: a rule set whose examples fail is not
//! loaded (by the CLI or by the server on reload), because an edit that breaks an example is an
//! edit that does not do what its author meant. `hotline-router test` prints the same results as
//! a report.

use super::diagnostic::{Diagnostic, Severity};
use super::load::LoadError;
use super::{Rule, RuleSet, SourceLocation, Target};
use crate::proto::v1 as pb;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExampleKind {
    Example,
    Counterexample,
}

/// The outcome of one example sentence.
#[derive(Debug, Clone)]
pub struct ExampleResult {
    pub rule_id: String,
    pub kind: ExampleKind,
    pub text: String,
    pub location: SourceLocation,
    pub passed: bool,
    /// What actually happened, in the rule author's terms.
    pub got: String,
    /// For an example that failed: what its own rule made of it (which terms it found, which
    /// group found none, which `none` term stopped it). Empty otherwise.
    pub why: String,
}

#[derive(Debug, Clone, Default)]
pub struct TestReport {
    pub results: Vec<ExampleResult>,
}

/// Which rules the examples exercise.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    pub covered: usize,
    pub total: usize,
    /// Ids of rules without a passing example.
    pub uncovered: Vec<String>,
}

impl Coverage {
    pub fn share(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.covered as f64 / self.total as f64
        }
    }
}

impl TestReport {
    /// A rule is exercised when at least one of its examples (not counterexamples) passes.
    pub fn coverage(&self, set: &RuleSet) -> Coverage {
        let mut uncovered = Vec::new();
        for rule in &set.rules {
            let exercised = self
                .results
                .iter()
                .any(|r| r.rule_id == rule.id && r.kind == ExampleKind::Example && r.passed);
            if !exercised {
                uncovered.push(rule.id.clone());
            }
        }
        Coverage {
            covered: set.rules.len() - uncovered.len(),
            total: set.rules.len(),
            uncovered,
        }
    }

    /// JUnit XML: one test suite per rule file, one test case per example.
    pub fn junit_xml(&self, version: &str) -> String {
        use std::collections::BTreeMap;
        use std::fmt::Write as _;
        let mut by_file: BTreeMap<&str, Vec<&ExampleResult>> = BTreeMap::new();
        for r in &self.results {
            by_file.entry(r.location.file.as_str()).or_default().push(r);
        }
        let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            x,
            "<testsuites name=\"hotline-router rules {}\" tests=\"{}\" failures=\"{}\">",
            xml(version),
            self.results.len(),
            self.failed()
        );
        for (file, results) in by_file {
            let failures = results.iter().filter(|r| !r.passed).count();
            let _ = writeln!(
                x,
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\">",
                xml(file),
                results.len(),
                failures
            );
            for r in results {
                let kind = match r.kind {
                    ExampleKind::Example => "example",
                    ExampleKind::Counterexample => "counterexample",
                };
                let _ = write!(
                    x,
                    "    <testcase classname=\"{}\" name=\"{} line {}: {}\" file=\"{}\" line=\"{}\"",
                    xml(&r.rule_id),
                    kind,
                    r.location.line,
                    xml(&r.text),
                    xml(file),
                    r.location.line
                );
                if r.passed {
                    x.push_str("/>\n");
                } else {
                    let _ = writeln!(
                        x,
                        ">\n      <failure message=\"{}\">{}: {}</failure>\n    </testcase>",
                        xml(&r.got),
                        xml(&r.location.to_string()),
                        xml(&r.got)
                    );
                }
            }
            x.push_str("  </testsuite>\n");
        }
        x.push_str("</testsuites>\n");
        x
    }

    pub fn passed(&self) -> usize {
        self.results.iter().filter(|r| r.passed).count()
    }
    pub fn failed(&self) -> usize {
        self.results.len() - self.passed()
    }
}

impl RuleSet {
    /// Runs every example and counterexample of every rule.
    pub fn run_examples(&self) -> TestReport {
        let mut results = Vec::new();
        for (index, rule) in self.rules.iter().enumerate() {
            for e in &rule.examples {
                let resp = self.route(&crate::request::RouteInput::text(&e.text));
                let passed = wins(rule, &resp);
                let (holds, why) = if passed {
                    (true, String::new())
                } else {
                    own_rule(self, index, &e.text)
                };
                results.push(ExampleResult {
                    rule_id: rule.id.clone(),
                    kind: ExampleKind::Example,
                    text: e.text.clone(),
                    location: e.location.clone(),
                    passed,
                    got: describe(self, Some((rule, holds)), &resp),
                    why,
                });
            }
            for e in &rule.counterexamples {
                let resp = self.route(&crate::request::RouteInput::text(&e.text));
                let passed = resp.rule_id != rule.id;
                results.push(ExampleResult {
                    rule_id: rule.id.clone(),
                    kind: ExampleKind::Counterexample,
                    text: e.text.clone(),
                    location: e.location.clone(),
                    passed,
                    got: describe(self, None, &resp),
                    why: String::new(),
                });
            }
        }
        TestReport { results }
    }
}

/// Whether `resp` is the rule winning with the outcome its target implies. A hand-off that the
/// emergency check doubts does not count: an example of a hand-off is an emergency its author
/// vouches for, and a doubted one would have the operator confirm such calls before transferring.
fn wins(rule: &Rule, resp: &pb::RouteResponse) -> bool {
    let expected = match rule.target {
        Target::Dispatch { .. } => pb::Outcome::Dispatch,
        Target::Handoff { .. } => pb::Outcome::Handoff,
        Target::OutOfScope { .. } => pb::Outcome::OutOfScope,
    } as i32;
    resp.outcome == expected && resp.rule_id == rule.id && resp.handoff_doubt.is_none()
}

/// What rule `index` makes of `text` on its own, and whether its conditions hold there: the
/// first thing an author whose example fails needs to know, before who won instead.
fn own_rule(set: &RuleSet, index: usize, text: &str) -> (bool, String) {
    let Some(rule) = set.rules.get(index) else {
        return (false, String::new());
    };
    let id = &rule.id;
    let listed = |terms: &[String]| {
        let mut shown: Vec<&str> = terms.iter().take(6).map(String::as_str).collect();
        if terms.len() > 6 {
            shown.push("…");
        }
        shown.join(", ")
    };
    let touched = set
        .rules_touched_by(text)
        .into_iter()
        .find(|t| t.rule == index);
    let Some(t) = touched else {
        return (
            false,
            format!("rule \"{id}\" finds none of its terms or patterns in it"),
        );
    };
    let feeds = listed(&t.feeds);
    if let Some(stop) = t.stops.first() {
        return (
            false,
            format!("rule \"{id}\" finds {feeds}, and its `none` term \"{stop}\" stops it"),
        );
    }
    if !t.conditions_hold {
        let conditions = set.conditions_of(index);
        let empty = conditions
            .all
            .iter()
            .enumerate()
            .find(|(_, group)| !group.iter().any(|term| t.feeds.contains(term)));
        if let Some((g, group)) = empty {
            return (
                false,
                format!(
                    "rule \"{id}\" finds {feeds}, but nothing of its `all` group {} [{}]",
                    g + 1,
                    listed(group)
                ),
            );
        }
        if t.groups_too_far {
            return (
                false,
                format!(
                    "rule \"{id}\" finds {feeds}, but its `all` groups are more than {} characters \
                     apart (`within`)",
                    t.within.unwrap_or_default()
                ),
            );
        }
    }
    (
        true,
        format!("rule \"{id}\" fires on {feeds} (its conditions hold)"),
    )
}

/// The decision in a rule author's terms, and what to do about it. `example` is the rule whose
/// example this is, and whether its conditions hold on the text: the models' hints are given
/// only when they do, because when the rule does not fire, no model is what took the example.
fn describe(set: &RuleSet, example: Option<(&Rule, bool)>, resp: &pb::RouteResponse) -> String {
    let outcome = resp.outcome_name();
    let to = match (resp.department_id(), resp.handoff.as_ref()) {
        ("", Some(h)) => format!(" to {}", h.line),
        ("", None) => String::new(),
        (d, _) => format!(" to {d}"),
    };
    let own = example.map(|(r, _)| r.id.as_str());
    let holds = example.is_some_and(|(_, h)| h);
    let by_own = own == Some(resp.rule_id.as_str());
    let hint: String = match resp.decided_by() {
        // A hand-off of another rule took a dispatch rule's example: hand-offs come first.
        _ if resp.handoff.is_some() && !by_own && example.is_some() => format!(
            "; hand-offs are tried before every other rule: if this is not an emergency, add a \
             `none` term to hand-off \"{}\" or `handoffs_none` in its file, or rephrase the example",
            resp.rule_id
        ),
        // A model, not the rules, took the example away: what to do is train it again (both
        // trainers learn the rules' examples), not to change the rule.
        _ if resp.handoff_doubt.is_some() => format!(
            "; the emergency check doubts this hand-off (probability {:.2}): train it again with \
             the rules' examples (`python3 scripts/train_emergency_model.py`) or lower \
             `model.handoff_doubt` in settings.yaml",
            resp.handoff_doubt.as_ref().map_or(0.0, |d| d.probability)
        ),
        _ if example.is_some() && !holds => String::new(),
        pb::DecidedBy::CrossCheck => "; the classifier disputes the rule's domain: train it \
             again with the rules' examples (`hotline-router train --input LABELLED.jsonl \
             --rules RULES_DIR --out RULES_DIR/classifier.model`) or loosen `model.cross_check` \
             in settings.yaml"
            .to_owned(),
        pb::DecidedBy::EmergencyCheck => "; the emergency check takes it for an emergency: \
             train it again with the rules' examples (`python3 \
             scripts/train_emergency_model.py`) or raise `model.emergency` in settings.yaml"
            .to_owned(),
        pb::DecidedBy::ModelTieBreak => "; the rules could not choose between two rules and \
             the classifier chose this one: make the example's rule win on its own, train the \
             classifier again with the rules' examples, or raise `model.tie_break` in \
             settings.yaml"
            .to_owned(),
        _ => String::new(),
    };
    if resp.rule_id.is_empty() {
        return format!("{outcome} ({}){hint}", resp.reason);
    }
    // A winner of a higher priority tier wins whatever its score: say so, since the edit that
    // raised it may be in another file than the failing example.
    let priority = match set.rule(&resp.rule_id).map(|r| r.priority) {
        Some(p) if p != 0 && !by_own => format!(", priority {p}"),
        _ => String::new(),
    };
    format!(
        "{outcome} by rule \"{}\"{to} (score {:.2}{priority}){hint}",
        resp.rule_id, resp.score
    )
}

/// Turns failing examples into load errors: a set whose examples fail is not loaded.
pub(crate) fn require_examples_pass(set: RuleSet) -> Result<RuleSet, LoadError> {
    let report = set.run_examples();
    if report.failed() == 0 {
        return Ok(set);
    }
    let mut diagnostics: Vec<Diagnostic> = report
        .results
        .iter()
        .filter(|r| !r.passed)
        .map(|r| Diagnostic {
            location: r.location.clone(),
            severity: Severity::Error,
            code: super::diagnostic::Code::ExampleFails,
            message: match r.kind {
                ExampleKind::Example if r.why.is_empty() => {
                    format!("example of rule \"{}\" does not route to it: got {}", r.rule_id, r.got)
                }
                ExampleKind::Example => {
                    format!("example of rule \"{}\" does not route to it: {}; got {}", r.rule_id, r.why, r.got)
                }
                ExampleKind::Counterexample => {
                    format!("counterexample of rule \"{}\" routes to it; tighten its conditions or add a `none` term", r.rule_id)
                }
            },
        })
        .collect();
    diagnostics.extend(set.warnings.iter().cloned());
    diagnostics.sort();
    Err(LoadError { diagnostics })
}

/// Escapes text for XML attributes and content (control characters, which XML 1.0 forbids,
/// become spaces).
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The `examples` or `counterexamples` of a rule, with where each is written.
pub(crate) fn validate(file: &str, list: &[super::raw::Sp<String>]) -> Vec<super::Example> {
    list.iter()
        .map(|e| super::Example {
            text: e.value.clone(),
            location: SourceLocation::of(file, e),
        })
        .collect()
}
