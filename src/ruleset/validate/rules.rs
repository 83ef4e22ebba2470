//! The sections that say what to do with a request: `rules` (dispatch to a department),
//! `handoffs` (an emergency, to 110 / 119 / 120 / 122) and `out_of_scope` (matters for another
//! channel). Each becomes a [`PendingRule`]: its target and references checked, its conditions
//! still raw, for `conditions.rs` to compile.

use serde_saphyr::Spanned;

use super::super::diagnostic::{Code, Diagnostics, SourceLocation};
use super::super::ids::IdTable;
use super::super::load::SourceFile;
use super::super::raw::{RawConditions, RawHandoff, RawOutOfScope, RawRule, RawRuleTimeLimit, Sp};
use super::super::{Example, Target};
use super::categories::Categories;

/// The lines a hand-off may name.
pub(crate) const HANDOFF_LINES: [&str; 4] = ["110", "119", "120", "122"];

/// A rule of any of the three sections, before its conditions are compiled.
pub(crate) struct PendingRule<'a> {
    pub file: &'a str,
    pub id: &'a Sp<String>,
    pub topic: String,
    pub category: Vec<String>,
    pub target: Target,
    pub regulations: &'a [Sp<String>],
    pub conditions: &'a Sp<RawConditions>,
    pub weight: f64,
    pub priority: i32,
    pub examples: Vec<Example>,
    pub counterexamples: Vec<Example>,
    pub time_limit: Option<&'a Sp<RawRuleTimeLimit>>,
    pub local: bool,
    pub doubt: bool,
}

/// Hand-offs first (they take precedence over everything), then out-of-scope matters, then
/// dispatch rules; each in file order.
pub(crate) fn validate<'a>(
    files: &'a [SourceFile],
    departments: &IdTable,
    categories: &Categories,
    diags: &mut Diagnostics,
) -> Vec<PendingRule<'a>> {
    let mut pending = Vec::new();
    for f in files {
        for h in &f.raw.handoffs {
            pending.push(handoff(&f.name, &h.value, categories, diags));
        }
    }
    for f in files {
        for o in &f.raw.out_of_scope {
            pending.push(out_of_scope(&f.name, &o.value, categories, diags));
        }
    }
    for f in files {
        for r in &f.raw.rules {
            pending.push(dispatch(&f.name, &r.value, departments, categories, diags));
        }
    }
    missing_lines(files, diags);
    for p in &pending {
        for e in p.examples.iter().chain(&p.counterexamples) {
            folded_item(&p.id.value, e, diags);
        }
    }
    pending
}

/// Warns about an example that holds what looks like the next list item. YAML folds a line
/// indented deeper than the `-` above it into that item:
///
/// ```yaml
/// examples:
/// - 房子还没过户，物业费谁交？
///   - 开发商一直没给办交付
/// ```
///
/// is one example, "房子还没过户，物业费谁交？ - 开发商一直没给办交付", and the second sentence is
/// never tried on its own. Callers do not write " - " between words; authors' indentation does.
fn folded_item(rule: &str, e: &Example, diags: &mut Diagnostics) {
    let Some(at) = e.text.find(" - ") else {
        return;
    };
    let next: String = e.text[at + 3..].chars().take(12).collect();
    if next.trim().is_empty() {
        return;
    }
    diags.warning(
        Code::FoldedExample,
        e.location.clone(),
        format!(
            "example of rule \"{rule}\" holds \" - {next}…\": a line indented deeper than the \
             \"-\" above it joins that example; start each example's \"-\" at the same column"
        ),
    );
}

/// Warns when a set with dispatch rules hands off to none of some lines: that line's
/// emergencies would wait in manual triage or go to a department. Nothing else would say so: a
/// `handoffs.yaml` renamed to keep a copy (`handoffs.yaml.bak`) or moved aside while editing
/// leaves a set that loads, with no hand-off at all. A warning, not an error, because a set may be
/// written for a part of the hotline only (a test's few rules); the server refuses a reload that
/// drops a line it serves (`server::state`).
fn missing_lines(files: &[SourceFile], diags: &mut Diagnostics) {
    if files.iter().all(|f| f.raw.rules.is_empty()) {
        return;
    }
    let lines: Vec<&str> = files
        .iter()
        .flat_map(|f| &f.raw.handoffs)
        .map(|h| h.value.line.value.as_str())
        .collect();
    let missing: Vec<&str> = HANDOFF_LINES
        .into_iter()
        .filter(|l| !lines.contains(l))
        .collect();
    if missing.is_empty() {
        return;
    }
    // Where the hand-offs are, or where the bundled rules keep them.
    let file = files
        .iter()
        .find(|f| !f.raw.handoffs.is_empty())
        .map_or("handoffs.yaml", |f| f.name.as_str());
    let what = if lines.is_empty() {
        "the rule set has no hand-offs".to_owned()
    } else {
        format!("no hand-off goes to {}", missing.join(", "))
    };
    diags.warning(
        Code::MissingHandoffLine,
        SourceLocation::file_start(file),
        format!(
            "{what}: emergencies for {} would go to manual triage or to a department; \
             if \"{file}\" was moved or renamed (a backup, an editor's save), put it back",
            missing.join(", ")
        ),
    );
}

/// The parts every rule has, with the defaults of a rule that is not a dispatch rule (weight 1,
/// priority 0, no time limit, not local).
macro_rules! pending {
    // A hand-off or out-of-scope matter: its category is optional.
    ($file:expr, $raw:expr, $topic:expr, $target:expr, $categories:expr, $diags:expr) => {{
        let id = &$raw.id.value;
        let category = $raw.category.as_deref();
        let path = $categories.path_of($file, category, id, $diags);
        pending!($file, $raw, $topic, path, $target)
    }};
    ($file:expr, $raw:expr, $topic:expr, $category:expr, $target:expr) => {
        PendingRule {
            file: $file,
            id: &$raw.id,
            topic: $topic,
            category: $category,
            target: $target,
            regulations: &$raw.regulations,
            conditions: &$raw.conditions,
            weight: 1.0,
            priority: 0,
            examples: super::super::examples::validate($file, &$raw.examples),
            counterexamples: super::super::examples::validate($file, &$raw.counterexamples),
            time_limit: None,
            local: false,
            doubt: false,
        }
    };
}

fn handoff<'a>(
    file: &'a str,
    raw: &'a RawHandoff,
    categories: &Categories,
    diags: &mut Diagnostics,
) -> PendingRule<'a> {
    if !HANDOFF_LINES.contains(&raw.line.value.as_str()) {
        diags.error(
            Code::BadLine,
            SourceLocation::of(file, &raw.line),
            format!(
                "hand-off line \"{}\" is not one of {}",
                raw.line.value,
                HANDOFF_LINES.join(", ")
            ),
        );
    }
    let target = Target::Handoff {
        line: raw.line.value.clone(),
        name: raw.name.clone(),
    };
    PendingRule {
        weight: weight(file, raw.weight.as_deref(), diags),
        priority: raw.priority,
        doubt: raw.doubt,
        ..pending!(file, raw, raw.name.clone(), target, categories, diags)
    }
}

fn out_of_scope<'a>(
    file: &'a str,
    raw: &'a RawOutOfScope,
    categories: &Categories,
    diags: &mut Diagnostics,
) -> PendingRule<'a> {
    let target = Target::OutOfScope {
        name: raw.name.clone(),
        guidance: raw.guidance.clone(),
    };
    PendingRule {
        weight: weight(file, raw.weight.as_deref(), diags),
        ..pending!(file, raw, raw.name.clone(), target, categories, diags)
    }
}

fn dispatch<'a>(
    file: &'a str,
    raw: &'a RawRule,
    departments: &IdTable,
    categories: &Categories,
    diags: &mut Diagnostics,
) -> PendingRule<'a> {
    let context = format!(" in rule \"{}\"", raw.id.value);
    let department = departments
        .resolve(file, &raw.department, &context, diags)
        .unwrap_or(usize::MAX);
    let mut co_handling = Vec::new();
    let co_context = format!(" in the co-handling of rule \"{}\"", raw.id.value);
    for c in &raw.co_handling {
        match departments.resolve(file, c, &co_context, diags) {
            Some(d) if d == department => diags.error(
                Code::SelfCoHandling,
                SourceLocation::of(file, c),
                format!(
                    "co-handling department \"{}\" is the rule's own department",
                    c.value
                ),
            ),
            Some(d) => co_handling.push(d),
            None => {}
        }
    }
    let category = categories.path_of(file, Some(&raw.category), &raw.id.value, diags);
    if let Some(why) = categories.not_dispatched(&category) {
        diags.error(
            Code::NotDispatched,
            SourceLocation::of(file, &raw.category),
            format!(
                "rule \"{}\" dispatches under category \"{}\", which a city hotline does not \
                 dispatch ({why}); file it under another category, or make it an out_of_scope \
                 matter that tells the citizen where to go",
                raw.id.value, raw.category.value
            ),
        );
    }
    if raw.examples.is_empty() {
        diags.warning(
            Code::NoExamples,
            SourceLocation::of(file, &raw.id),
            format!(
                "rule \"{}\" has no examples; add sentences a citizen would say",
                raw.id.value
            ),
        );
    }
    let target = Target::Dispatch {
        department,
        co_handling,
    };
    PendingRule {
        weight: weight(file, raw.weight.as_deref(), diags),
        priority: raw.priority,
        time_limit: raw.time_limit.as_ref(),
        local: raw.local,
        ..pending!(file, raw, raw.topic.clone(), category, target)
    }
}

fn weight(file: &str, w: Option<&Spanned<f64>>, diags: &mut Diagnostics) -> f64 {
    match w {
        None => 1.0,
        Some(w) if w.value.is_finite() && w.value > 0.0 && w.value <= 100.0 => w.value,
        Some(w) => {
            diags.error(
                Code::OutOfRange,
                SourceLocation::of(file, w),
                format!("weight {} must be above 0 and at most 100", w.value),
            );
            1.0
        }
    }
}
