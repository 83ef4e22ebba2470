//! Validation and compilation: parsed rule files → [`RuleSet`].
//!
//! One validator per section of the rule files (`departments`, `regulations`, `categories`,
//! `settings`, `rules` with `handoffs` and `out_of_scope`, the `conditions` of each, and, in
//! `crate::situate::validate`, `places`, units, `calendar`, request types and time limits).
//! Each collects *all* its problems into one [`Diagnostics`] before anything is decided
//! (cedar-policy's approach); ids are defined and resolved through [`IdTable`]s, so a duplicate
//! or a misspelt reference reads the same in every section. Only a clean set is compiled.
//!
//! [`IdTable`]: super::ids::IdTable

mod categories;
mod conditions;
mod departments;
mod regulations;
mod rules;
mod settings;

use std::path::PathBuf;
use std::time::SystemTime;

use super::diagnostic::{Code, Diagnostics, SourceLocation};
use super::ids::{IdTable, check_id, define_section};
use super::load::{LoadError, SourceFile};
use super::share::{Key, Shared};
use super::{Rule, RuleSet, RuleTimeLimit, Target};
use crate::engine::matcher::Matcher;
use crate::engine::segment::Segmenter;
use conditions::TermIndex;
use rules::PendingRule;
use std::convert::Infallible;

pub(crate) use settings::RawSettingsIn;

/// The segmenters of the live rule sets, by their terms.
static SEGMENTERS: Shared<Segmenter> = Shared::new();
/// The matchers of the live rule sets, by their terms, patterns and extra phrases.
static MATCHERS: Shared<Matcher> = Shared::new();

pub(crate) fn compile(
    files: Vec<SourceFile>,
    texts: Vec<(String, String)>,
    version: String,
    source: PathBuf,
    mut diags: Diagnostics,
) -> Result<RuleSet, LoadError> {
    let d = &mut diags;
    let (departments, department_ids) = define_section(&files, d, departments::department);
    let (regulations, regulation_ids) = define_section(&files, d, regulations::regulation);
    let categories = categories::validate(&files, d);
    let synonyms = conditions::synonyms(&files, d);
    let (settings, raw_settings) = settings::validate(&files, d);
    let pending = rules::validate(&files, &department_ids, &categories, d);
    let tables = crate::situate::tables::validate(&files, &department_ids, raw_settings, d);

    let mut rule_ids = IdTable::new("rule", Code::UnknownRegulation);
    let mut index = TermIndex::default();
    let mut rules = Vec::with_capacity(pending.len());
    for p in &pending {
        let rule = u32::try_from(rules.len()).unwrap_or(u32::MAX);
        check_id("rule", p.file, p.id, d);
        rule_ids.define(&p.id.value, SourceLocation::of(p.file, p.id), d);
        let groups = index.add(rule, p, &synonyms, d);
        let domain = match (&p.target, p.category.first()) {
            (Target::Dispatch { .. }, Some(name)) => categories.domain(name),
            _ => u32::MAX,
        };
        rules.push(rule_of(p, groups, domain, &regulation_ids, d));
    }
    if diags.has_errors() {
        return Err(LoadError {
            diagnostics: diags.into_sorted(),
        });
    }
    rank(&mut rules, &departments);

    let TermIndex {
        terms,
        term_postings,
        patterns,
        pattern_postings,
        ..
    } = index;
    // What only validation needed (the parsed files, the pending rules, the id tables) is freed
    // before the segmenter and the matcher are built: a hot reload builds them beside the serving
    // set, and that is the server's peak memory.
    drop((pending, rule_ids, synonyms, department_ids, regulation_ids));
    drop(files);
    // Shared with the live sets built from the same inputs (see `share.rs`).
    let words = Key::default().list(terms.iter().map(|t| &**t));
    let segmenter = SEGMENTERS
        .get_or_build(words, || {
            Ok::<_, Infallible>(Segmenter::with_vocabulary(terms.iter().map(|t| &**t)))
        })
        .unwrap_or_else(|never| match never {});
    let phrases = tables.phrases();
    let inputs = Key::default()
        .list(terms.iter().map(|t| &**t))
        .list(patterns.iter().map(|p| &**p))
        .list(phrases.iter().map(|p| p.as_str()));
    let matcher = match MATCHERS.get_or_build(inputs, || Matcher::new(terms, patterns, &phrases)) {
        Ok(m) => m,
        Err(e) => {
            diags.error(Code::TooLarge, SourceLocation::file_start("rules"), e);
            return Err(LoadError {
                diagnostics: diags.into_sorted(),
            });
        }
    };
    let paths = categories.paths;
    let mut set = RuleSet {
        version,
        source,
        files: texts,
        loaded_at: SystemTime::now(),
        departments,
        regulations,
        categories: paths.iter().map(|p| p.path.clone()).collect(),
        category_not_dispatched: paths.iter().map(|p| p.not_dispatched.is_some()).collect(),
        category_locations: paths.into_iter().map(|p| p.location).collect(),
        rules,
        settings,
        segmenter,
        matcher,
        term_postings,
        pattern_postings,
        warnings: diags.into_sorted(),
        prepared: Vec::new(),
        tables,
        model: None,
        emergency: None,
        joint: None,
    };
    set.prepared = crate::engine::explain::prepare(&set);
    Ok(set)
}

/// The compiled rule of `p`: its articles and time limit resolved.
fn rule_of(
    p: &PendingRule<'_>,
    groups: u8,
    domain: u32,
    regulation_ids: &IdTable,
    d: &mut Diagnostics,
) -> Rule {
    let id = &p.id.value;
    let context = format!(" in rule \"{id}\"");
    let regs = regulations::resolve_all(regulation_ids, p.file, p.regulations, &context, d);
    if p.regulations.is_empty() && matches!(p.target, Target::Dispatch { .. }) {
        d.error(
            Code::NoGround,
            SourceLocation::of(p.file, p.id),
            format!("rule \"{id}\" cites no regulation; every dispatch must rest on an article"),
        );
    }
    let time_limit = p.time_limit.map(|tl| {
        let context = format!(" in the time limit of rule \"{id}\"");
        let regulations =
            regulations::resolve_all(regulation_ids, p.file, &tl.value.regulations, &context, d);
        if tl.value.regulations.is_empty() {
            d.error(
                Code::NoGround,
                SourceLocation::of(p.file, tl),
                format!(
                    "the time limit of rule \"{id}\" cites no article; a rule's own time limit \
                     must rest on the law that sets it"
                ),
            );
        }
        let types = tl
            .value
            .types
            .iter()
            .filter_map(|t| crate::situate::tables::request_type(p.file, t, d))
            .collect();
        RuleTimeLimit {
            days: tl.value.days,
            regulations,
            types,
        }
    });
    Rule {
        id: id.clone(),
        topic: p.topic.clone(),
        domain,
        category: p.category.clone(),
        target: p.target.clone(),
        regulations: regs,
        location: SourceLocation::of(p.file, p.id),
        weight: p.weight,
        priority: p.priority,
        groups,
        within: p.conditions.value.within.as_ref().map(|w| w.value),
        examples: p.examples.clone(),
        counterexamples: p.counterexamples.clone(),
        time_limit,
        local: p.local,
        doubt: p.doubt,
        rank: 0,
    }
}

/// Sets each rule's `rank`: its place in the order of kinds (hand-offs, out-of-scope matters,
/// dispatch rules), then of department ids, then of writing (a department's rules keep the order
/// they are written in, wherever its file is).
fn rank(rules: &mut [Rule], departments: &[super::Department]) {
    let key = |i: usize| {
        let r = &rules[i];
        let (kind, department) = match r.target {
            Target::Handoff { .. } => (0, ""),
            Target::OutOfScope { .. } => (1, ""),
            Target::Dispatch { department, .. } => (2, departments[department].id.as_str()),
        };
        (kind, department, i)
    };
    let mut order: Vec<usize> = (0..rules.len()).collect();
    order.sort_by_key(|&i| key(i));
    for (rank, i) in order.into_iter().enumerate() {
        rules[i].rank = u32::try_from(rank).unwrap_or(u32::MAX);
    }
}
