//! The rule set: what hotline staff write in `rules/*.yaml`, validated and compiled for routing.
//!
//! - `raw.rs`: the YAML as written (serde types, with source spans);
//! - `load.rs`: reads a directory of rule files, enforces size and YAML budgets, hashes the
//!   content into the rule-set version;
//! - `validate/`: one validator per section (departments, regulations, categories, settings,
//!   rules with hand-offs and out-of-scope matters, their conditions), collecting all diagnostics,
//!   then the matcher, segmenter and postings;
//! - `share.rs`: the segmenter and matcher, shared by the live sets built from the same terms,
//!   patterns and phrases (a reload that edits none of them builds neither again);
//! - `ids.rs`: one namespace of ids: duplicates, lookups and "did you mean";
//! - `examples.rs`: runs each rule's examples and counterexamples against the compiled set;
//! - `diagnostic.rs`: the error and warning type rule authors see, with its stable codes;
//! - `schema.rs`: the JSON Schema of rule files, and unknown keys reported at their place;
//! - `yaml_slips.rs`: a YAML parse error in its author's terms (a full-width colon, a tab, a
//!   sentence holding ": ", a field missing from a named rule), at the place of the slip.
//!
//! A [`RuleSet`] is immutable once built. The server holds the serving set behind an `ArcSwap`
//! and replaces it whole, so a request always sees one consistent set and its version.

mod diagnostic;
mod examples;
pub(crate) mod ids;
mod load;
pub(crate) mod raw;
mod schema;
pub(crate) mod share;
mod validate;
mod yaml_slips;

use std::path::PathBuf;
use std::time::SystemTime;

pub use diagnostic::{Code, Diagnostic, Severity, SourceLocation};
pub(crate) use diagnostic::{Diagnostics, closest, similarity};
pub use examples::{Coverage, ExampleKind, ExampleResult, TestReport};
pub(crate) use load::SourceFile;
pub(crate) use load::compile_dir_without_models;
pub use load::{LoadError, compile_dir, compile_texts, load_dir};
pub use schema::{json_schema, json_schema_text};
pub(crate) use validate::RawSettingsIn;

use crate::engine::matcher::Matcher;
use crate::engine::segment::Segmenter;

/// What kind of organisation a department is (mirrors the proto's `DepartmentKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepartmentKind {
    Government,
    PublicInstitution,
    PublicUtility,
    Other,
}

impl DepartmentKind {
    pub(crate) const NAMES: [&'static str; 4] = [
        "government",
        "public-institution",
        "public-utility",
        "other",
    ];

    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "government" => DepartmentKind::Government,
            "public-institution" => DepartmentKind::PublicInstitution,
            "public-utility" => DepartmentKind::PublicUtility,
            "other" => DepartmentKind::Other,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Department {
    pub id: String,
    pub name: String,
    pub aliases: Vec<String>,
    pub kind: DepartmentKind,
    pub location: SourceLocation,
}

#[derive(Debug, Clone)]
pub struct Regulation {
    pub id: String,
    pub title: String,
    pub article: String,
    pub text: String,
    pub revision_date: String,
    pub source: String,
    pub location: SourceLocation,
}

/// What a rule does when it wins.
#[derive(Debug, Clone)]
pub enum Target {
    /// Send the order to a department (with optional assisting departments).
    Dispatch {
        department: usize,
        co_handling: Vec<usize>,
    },
    /// An emergency: hand the caller off to `line`.
    Handoff { line: String, name: String },
    /// Not for the hotline: tell the citizen where to go instead.
    OutOfScope { name: String, guidance: String },
}

/// An example or counterexample sentence of a rule, with where it is written.
#[derive(Debug, Clone)]
pub struct Example {
    pub text: String,
    pub location: SourceLocation,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub topic: String,
    pub category: Vec<String>,
    pub target: Target,
    pub regulations: Vec<usize>,
    pub location: SourceLocation,
    pub weight: f64,
    pub priority: i32,
    /// Number of `all` groups (each must match).
    pub(crate) groups: u8,
    /// For dispatch rules: the index of the first level of `category` (the domain) among the
    /// tree's first levels, so that `decide` compares integers; `u32::MAX` for the others.
    pub(crate) domain: u32,
    /// When set, the `all` groups must match within this many characters of one another.
    pub(crate) within: Option<u32>,
    /// The last tie-break between candidates of equal score and priority: the rule's place in
    /// the order of kinds (hand-offs, out-of-scope matters, dispatch rules), then of department
    /// ids, then of writing. Not the order of files, so that moving a department's rules to
    /// another file never changes a decision.
    pub(crate) rank: u32,
    pub examples: Vec<Example>,
    pub counterexamples: Vec<Example>,
    /// A time limit set by law for this rule's matters (overrides the defaults).
    pub time_limit: Option<RuleTimeLimit>,
    /// Community matters, handled by the street office or town government in a street or town.
    pub local: bool,
    /// A hand-off the emergency check may doubt (see `engine::alarm`); `false` for every other
    /// kind of rule.
    pub doubt: bool,
}

/// A rule's own time limit.
#[derive(Debug, Clone)]
pub struct RuleTimeLimit {
    pub days: u32,
    pub regulations: Vec<usize>,
    /// The request types it applies to (all when empty).
    pub types: Vec<crate::proto::v1::RequestType>,
}

/// The three kinds of rule, by what they do when they win.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// `rules`: dispatch to a department.
    Dispatch,
    /// `handoffs`: an emergency, to 110 / 119 / 120 / 122.
    Handoff,
    /// `out_of_scope`: the citizen is told where to go instead.
    OutOfScope,
}

impl RuleKind {
    pub const ALL: [RuleKind; 3] = [RuleKind::Dispatch, RuleKind::Handoff, RuleKind::OutOfScope];

    /// How `check`, the server log and `GetRuleSet` name the kind.
    pub fn plural(self) -> &'static str {
        match self {
            RuleKind::Dispatch => "dispatch rules",
            RuleKind::Handoff => "hand-offs",
            RuleKind::OutOfScope => "out-of-scope matters",
        }
    }
}

impl Rule {
    pub fn kind(&self) -> RuleKind {
        match self.target {
            Target::Dispatch { .. } => RuleKind::Dispatch,
            Target::Handoff { .. } => RuleKind::Handoff,
            Target::OutOfScope { .. } => RuleKind::OutOfScope,
        }
    }

    pub fn department(&self) -> Option<usize> {
        match self.target {
            Target::Dispatch { department, .. } => Some(department),
            _ => None,
        }
    }

    pub fn is_handoff(&self) -> bool {
        matches!(self.target, Target::Handoff { .. })
    }
}

/// Which condition of a rule a term or pattern feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Slot {
    Group(u8),
    Any,
    Pattern,
    None,
    /// A hand-off's turn phrase (its file's `handoffs_turn`): the `none` terms that end before the
    /// last one in the text do not stop the hand-off (see `engine/score.rs`).
    Turn,
    /// A hand-off's background opener (its file's `handoffs_background`): the rest of its
    /// sentence is background, as if a turn phrase followed the sentence.
    Background,
    /// A hand-off's word of the present (its file's `handoffs_now`): at the start of a sentence or
    /// clause where the hand-off's evidence begins or before it, the `none` terms before it do not
    /// stop the hand-off (see `engine/score.rs`).
    Now,
}

/// "Term t (or pattern p) feeds slot s of rule r."
#[derive(Debug, Clone, Copy)]
pub(crate) struct Posting {
    pub rule: u32,
    pub slot: Slot,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub threshold: f64,
    pub margin: f64,
    /// See `decide`, point 5; `None` turns the override off.
    pub support_override: Option<f64>,
    /// See `decide`, point 6; `None` turns the check off.
    pub other_domain_factor: Option<f64>,
    /// The classifier's part (see `engine/consult.rs`).
    pub model: ModelSettings,
}

/// How the classifier informs decisions (`settings.model`).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSettings {
    /// (below, above): a dispatch whose domain the classifier puts below `below` while another
    /// domain is at `above` or more is flagged, or goes to manual triage (`cross_check_manual`).
    pub cross_check: Option<(f64, f64)>,
    /// Whether a disputed dispatch goes to manual triage (else it is kept, flagged).
    pub cross_check_manual: bool,
    /// Suggestions on a manual decision.
    pub suggestions: usize,
    /// When no rule fires: the probability at which the classifier's domain's fallback rule
    /// decides.
    pub fallback: Option<f64>,
    /// When the rules cannot choose between two dispatch rules of different departments
    /// (ambiguous, or another domain's evidence outweighing the winner's): the probability of
    /// one's domain at which the classifier's choice decides.
    pub tie_break: Option<f64>,
    /// When the rules do not hand off: the probability of "an emergency" from the emergency
    /// check (`emergency.model`) at which the request goes to manual triage, flagged.
    pub emergency: Option<f64>,
    /// When the rules hand off: the probability of "an emergency" from the emergency check below
    /// which the hand-off says the check doubts it (it stands).
    pub handoff_doubt: Option<f64>,
}

impl Default for ModelSettings {
    fn default() -> Self {
        ModelSettings {
            cross_check: None,
            cross_check_manual: false,
            suggestions: 3,
            fallback: None,
            tie_break: None,
            emergency: None,
            handoff_doubt: None,
        }
    }
}

/// A validated, compiled rule set. Cheap to share (`Arc<RuleSet>`), never mutated.
pub struct RuleSet {
    pub(crate) version: String,
    pub(crate) source: PathBuf,
    /// Every rule file as read: (path relative to the rules directory, content). The version is
    /// their hash; the decision store archives them.
    pub(crate) files: Vec<(String, String)>,
    pub(crate) loaded_at: SystemTime,
    pub(crate) departments: Vec<Department>,
    pub(crate) regulations: Vec<Regulation>,
    pub(crate) categories: Vec<Vec<String>>,
    /// Whether each category is marked (itself or by an ancestor) as not dispatched by a city
    /// hotline (parallel to `categories`).
    pub(crate) category_not_dispatched: Vec<bool>,
    /// Where each category is defined (parallel to `categories`).
    pub(crate) category_locations: Vec<SourceLocation>,
    /// Hand-offs first, then out-of-scope matters, then dispatch rules, each in file order.
    pub(crate) rules: Vec<Rule>,
    pub(crate) settings: Settings,
    /// Shared with the other live rule sets of the same terms (see `share.rs`).
    pub(crate) segmenter: std::sync::Arc<Segmenter>,
    /// Shared with the other live rule sets of the same terms, patterns and phrases.
    pub(crate) matcher: std::sync::Arc<Matcher>,
    /// Indexed by term id.
    pub(crate) term_postings: Vec<Vec<Posting>>,
    /// Indexed by pattern id.
    pub(crate) pattern_postings: Vec<Posting>,
    pub(crate) warnings: Vec<Diagnostic>,
    /// Per rule, the parts of a response that depend only on the rule (see `explain.rs`).
    pub(crate) prepared: Vec<crate::engine::explain::Prepared>,
    /// Places, units, calendar, request types, time limits (see `crate::situate`).
    pub(crate) tables: crate::situate::tables::Tables,
    /// The classifier beside the rules (`*.model`), with what its labels mean to the rules.
    pub(crate) model: Option<std::sync::Arc<Consultant>>,
    /// The emergency check beside the rules (`emergency.model`), see `crate::engine::alarm`.
    pub(crate) emergency: Option<std::sync::Arc<EmergencyCheck>>,
    /// The tables of the models the request path consults (the classifier, and the emergency
    /// check when it is on), fused for one memory access per n-gram; see [`RuleSet::fuse_models`].
    pub(crate) joint: Option<crate::model::Joint>,
}

/// The emergency check's label for an ordinary request; its other labels are lines (110, 119,
/// 120, 122).
pub(crate) const NOT_AN_EMERGENCY: &str = "none";

/// The emergency check as the rules consult it: a model whose labels are the lines and
/// [`NOT_AN_EMERGENCY`], with each line's name as the hand-off rules give it.
#[derive(Debug)]
pub(crate) struct EmergencyCheck {
    pub model: crate::model::Model,
    /// The index of [`NOT_AN_EMERGENCY`] among the labels.
    pub none: usize,
    /// Per label: the line's name from the hand-off rules ("急救"), empty when no rule has it.
    pub names: Vec<String>,
}

impl EmergencyCheck {
    /// `model` must have the label [`NOT_AN_EMERGENCY`] (the loader checks it first).
    pub(crate) fn new(set: &RuleSet, model: crate::model::Model) -> EmergencyCheck {
        let none = model.label_index(NOT_AN_EMERGENCY).unwrap_or(0);
        let names = model
            .labels()
            .iter()
            .map(|label| {
                set.rules
                    .iter()
                    .find_map(|r| match &r.target {
                        Target::Handoff { line, name } if line == label => Some(name.clone()),
                        _ => None,
                    })
                    .unwrap_or_default()
            })
            .collect();
        EmergencyCheck { model, none, names }
    }
}

/// A classifier as the rules consult it: the model, and for each of its labels the fallback rule
/// of that domain or department (the rule a confident model may choose when no rule fires).
#[derive(Debug)]
pub(crate) struct Consultant {
    pub model: crate::model::Model,
    /// Whether the labels are department ids (else level-1 categories or deeper paths).
    pub labels_are_departments: bool,
    /// Per label: the index of its fallback rule (a dispatch rule with priority below 0), if any.
    pub fallback: Vec<Option<usize>>,
}

impl Consultant {
    pub(crate) fn new(set: &RuleSet, model: crate::model::Model) -> Consultant {
        let labels_are_departments = model.labels().iter().all(|l| set.department(l).is_some());
        let fallback = model
            .labels()
            .iter()
            .map(|label| set.fallback_rule(label, labels_are_departments))
            .collect();
        Consultant {
            model,
            labels_are_departments,
            fallback,
        }
    }

    /// The label of a dispatching rule's domain (its department, or its level-1 category), if
    /// the model has it.
    pub(crate) fn label_of(&self, set: &RuleSet, rule: &Rule) -> Option<usize> {
        let key = match rule.target {
            Target::Dispatch { department, .. } if self.labels_are_departments => {
                set.departments[department].id.as_str()
            }
            Target::Dispatch { .. } => rule.category.first()?.as_str(),
            _ => return None,
        };
        self.model.labels().iter().position(|l| {
            if self.labels_are_departments {
                l == key
            } else {
                domain_of(l) == key
            }
        })
    }
}

/// The level-1 category of a label that is a category path.
pub(crate) fn domain_of(label: &str) -> &str {
    label.split('/').next().unwrap_or(label)
}

impl RuleSet {
    /// The fallback rule of a label (the rule a confident classifier may choose when no rule
    /// fires, and where `suggest` proposes missed words): among the dispatch rules with priority
    /// below 0 of the label's domain (its level-1 category) or department, the one whose
    /// department has the most rules in it (the domain's main department: 教育文体 → education
    /// rather than sports), then the smallest rule id; never the order of the files.
    pub fn fallback_rule(&self, label: &str, labels_are_departments: bool) -> Option<usize> {
        let in_label = |r: &Rule| match r.target {
            Target::Dispatch { department, .. } if labels_are_departments => {
                self.departments[department].id == *label
            }
            Target::Dispatch { .. } => {
                r.category.first().map(String::as_str) == Some(domain_of(label))
            }
            _ => false,
        };
        let weight_of = |dept: usize| {
            self.rules
                .iter()
                .filter(|r| in_label(r) && r.department() == Some(dept))
                .count()
        };
        self.rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.priority < 0 && in_label(r))
            .max_by(|(_, a), (_, b)| {
                let (da, db) = (a.department().unwrap_or(0), b.department().unwrap_or(0));
                weight_of(da)
                    .cmp(&weight_of(db))
                    .then_with(|| b.id.cmp(&a.id))
            })
            .map(|(i, _)| i)
    }
}

impl RuleSet {
    /// The classifier the rules consult, if the rule set has one.
    pub fn model(&self) -> Option<&crate::model::Model> {
        self.model.as_deref().map(|c| &c.model)
    }

    /// The same rule set consulting another classifier (or none): for `eval --folds`, which
    /// trains one per fold. Shares nothing mutable; the compiled parts are rebuilt.
    ///
    /// The emergency check is left out too: it was trained with the development corpus as its
    /// ordinary requests, so on that corpus only a fold-by-fold retraining measures it honestly
    /// (`scripts/train_emergency_model.py --corpus-folds`).
    pub fn with_model(&self, model: Option<crate::model::Model>) -> Result<RuleSet, LoadError> {
        let mut set = load::compile_texts_without_model(self.files.clone(), self.source.clone())?;
        set.model = model.map(|m| std::sync::Arc::new(Consultant::new(&set, m)));
        set.fuse_models();
        Ok(set)
    }

    /// The models the request path consults: the classifier, and the emergency check when
    /// both its model and its setting are there.
    pub(crate) fn consulted_models(
        &self,
    ) -> (Option<&crate::model::Model>, Option<&crate::model::Model>) {
        (
            self.model(),
            crate::engine::alarm::enabled(self).map(|(e, _)| &e.model),
        )
    }

    /// Builds [`RuleSet::joint`] from the models in place; called whenever they change.
    pub(crate) fn fuse_models(&mut self) {
        let (a, b) = self.consulted_models();
        self.joint = crate::model::Joint::new(a, b);
    }

    /// The emergency check the rules consult, if the rule set has one.
    pub fn emergency_model(&self) -> Option<&crate::model::Model> {
        self.emergency.as_deref().map(|c| &c.model)
    }

    /// Which of its largest parts this set shares with `other` (see `share.rs`), in words for the
    /// reload's log line: a reload that shares neither held two dictionaries for a moment.
    pub(crate) fn parts_shared_with(&self, other: &RuleSet) -> &'static str {
        use std::sync::Arc;
        match (
            Arc::ptr_eq(&self.segmenter, &other.segmenter),
            Arc::ptr_eq(&self.matcher, &other.matcher),
        ) {
            (true, true) => "segmenter and matcher",
            (true, false) => "segmenter",
            (false, true) => "matcher",
            (false, false) => "none",
        }
    }

    /// Content hash of the rule files: same files, same version.
    pub fn version(&self) -> &str {
        &self.version
    }
    pub fn source(&self) -> &std::path::Path {
        &self.source
    }
    /// Every rule file as read: (path relative to the rules directory, content).
    pub fn files(&self) -> &[(String, String)] {
        &self.files
    }
    pub fn loaded_at(&self) -> SystemTime {
        self.loaded_at
    }
    pub fn departments(&self) -> &[Department] {
        &self.departments
    }
    pub fn regulations(&self) -> &[Regulation] {
        &self.regulations
    }
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }
    /// How many rules of `kind` the set has. `rules().len()` is the rule count everywhere
    /// (`check`, `test`, the server's log, `GetRuleSet.ruleCount`): all three kinds.
    pub fn count(&self, kind: RuleKind) -> usize {
        self.rules.iter().filter(|r| r.kind() == kind).count()
    }

    /// The lines the set's hand-offs go to, each once, in order ("110", "119", …).
    pub fn handoff_lines(&self) -> std::collections::BTreeSet<&str> {
        self.rules
            .iter()
            .filter_map(|r| match &r.target {
                Target::Handoff { line, .. } => Some(line.as_str()),
                _ => None,
            })
            .collect()
    }

    /// "204 rules (193 dispatch rules, 4 hand-offs, 7 out-of-scope matters)".
    pub fn rule_count_summary(&self) -> String {
        let parts: Vec<String> = RuleKind::ALL
            .iter()
            .map(|&k| format!("{} {}", self.count(k), k.plural()))
            .collect();
        format!("{} rules ({})", self.rules.len(), parts.join(", "))
    }
    pub fn category_count(&self) -> usize {
        self.categories.len()
    }
    /// Every path of the category tree, level 1 first.
    pub fn categories(&self) -> &[Vec<String>] {
        &self.categories
    }
    /// The working-day calendar of the rules (`calendar` section).
    pub fn calendar(&self) -> &crate::situate::calendar::Calendar {
        &self.tables.calendar
    }
    pub fn settings(&self) -> &Settings {
        &self.settings
    }
    /// Warnings found while loading (the set loaded anyway).
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }
    pub fn department(&self, id: &str) -> Option<&Department> {
        self.departments.iter().find(|d| d.id == id)
    }

    /// The rule with this id.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// What decides how rule `id` behaves, as text: its target, category, articles, weight,
    /// priority, and every term and pattern with the condition it feeds. Two rule sets route a
    /// request the same way through this rule when its fingerprints are equal (for `explain`).
    pub fn rule_fingerprint(&self, id: &str) -> Option<String> {
        let index = self.rules.iter().position(|r| r.id == id)?;
        let r = &self.rules[index];
        let target = match &r.target {
            Target::Dispatch {
                department,
                co_handling,
            } => {
                let ids = |i: &usize| self.departments.get(*i).map_or("", |d| d.id.as_str());
                let co: Vec<&str> = co_handling.iter().map(ids).collect();
                format!("dispatch {} + {co:?}", ids(department))
            }
            Target::Handoff { line, name } => format!("handoff {line} {name}"),
            Target::OutOfScope { name, guidance } => format!("out of scope {name}: {guidance}"),
        };
        let articles: Vec<&str> = r
            .regulations
            .iter()
            .filter_map(|&i| self.regulations.get(i).map(|g| g.id.as_str()))
            .collect();
        let mut terms: Vec<String> = Vec::new();
        for (t, postings) in self.term_postings.iter().enumerate() {
            for p in postings.iter().filter(|p| p.rule as usize == index) {
                terms.push(format!("{:?} {}", p.slot, self.matcher.term(t as u32)));
            }
        }
        for (i, p) in self.pattern_postings.iter().enumerate() {
            if p.rule as usize == index {
                terms.push(format!("pattern {}", self.matcher.pattern(i as u32)));
            }
        }
        terms.sort();
        Some(format!(
            "{target}; category {:?}; articles {articles:?}; weight {}; priority {}; within {:?}; \
             local {}; terms {terms:?}",
            r.category, r.weight, r.priority, r.within, r.local
        ))
    }
}
