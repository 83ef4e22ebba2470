//! Validation and compilation: raw rule files → [`RuleSet`].
//!
//! Validation walks every file and collects *all* problems before deciding (cedar-policy's
//! approach): duplicate ids, references to departments / regulations / categories that do not
//! exist (with a "did you mean"), empty or malformed conditions, invalid or oversized regexes,
//! settings out of range. Only a clean set is compiled.
//!
//! Compilation gives every distinct term one id, builds one Aho-Corasick automaton over them and a
//! posting list per term (which slot of which rule it feeds), so that routing work depends on what
//! the text contains, not on how many rules exist.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::SystemTime;

use regex::{Regex, RegexBuilder};
use serde_saphyr::Spanned;

use super::diagnostic::{Diagnostics, SourceLocation, did_you_mean};
use super::load::{LoadError, SourceFile};
use super::raw::{RawCategory, RawMatch};
use super::{
    Department, DepartmentKind, Example, Posting, Regulation, Rule, RuleSet, RuleTimeLimit,
    Settings, Slot, Target,
};
use crate::matcher::{Matcher, PATTERN_SIZE_LIMIT};
use crate::normalize::normalize;
use crate::segment::Segmenter;

/// The emergency lines a hand-off may name.
const EMERGENCY_LINES: [&str; 4] = ["110", "119", "120", "122"];
/// Most `all` groups in one rule (they are tracked in a bitmask).
const MAX_GROUPS: usize = 32;
/// Largest `within` window, in characters: beyond a paragraph, "near" means nothing.
const MAX_WITHIN: u32 = 500;
/// Longest term, in characters.
const MAX_TERM_CHARS: usize = 64;

fn loc<T>(file: &str, s: &Spanned<T>) -> SourceLocation {
    SourceLocation::new(file, s.referenced)
}

/// A rule, emergency line or out-of-scope matter before compilation, whatever section it came from.
struct PendingRule<'a> {
    file: &'a str,
    id: &'a Spanned<String>,
    topic: String,
    category: Vec<String>,
    target: Target,
    regulations: &'a [Spanned<String>],
    conditions: &'a Spanned<RawMatch>,
    weight: f64,
    priority: i32,
    examples: &'a [Spanned<String>],
    counterexamples: &'a [Spanned<String>],
    location: SourceLocation,
    time_limit: Option<&'a Spanned<super::raw::RawRuleTimeLimit>>,
    local: bool,
}

pub(crate) fn compile(
    files: Vec<SourceFile>,
    version: String,
    source: PathBuf,
    mut diags: Diagnostics,
) -> Result<RuleSet, LoadError> {
    // ---- departments
    let mut departments: Vec<Department> = Vec::new();
    let mut department_ids: HashMap<String, usize> = HashMap::new();
    for f in &files {
        for d in &f.raw.departments {
            let id = &d.value.id;
            if !is_valid_id(&id.value) {
                diags.error(
                    loc(&f.name, id),
                    format!(
                        "department id \"{}\" must be lowercase ASCII letters, digits and '-'",
                        id.value
                    ),
                );
            }
            if department_ids.contains_key(&id.value) {
                diags.error(
                    loc(&f.name, id),
                    format!("duplicate department id \"{}\"", id.value),
                );
                continue;
            }
            let kind = DepartmentKind::parse(&d.value.kind.value).unwrap_or_else(|| {
                diags.error(
                    loc(&f.name, &d.value.kind),
                    format!(
                        "unknown department kind \"{}\"; use one of {}{}",
                        d.value.kind.value,
                        DepartmentKind::NAMES.join(", "),
                        did_you_mean(&d.value.kind.value, DepartmentKind::NAMES)
                    ),
                );
                DepartmentKind::Other
            });
            if d.value.name.trim().is_empty() {
                diags.error(
                    loc(&f.name, id),
                    format!("department \"{}\" has an empty name", id.value),
                );
            }
            department_ids.insert(id.value.clone(), departments.len());
            departments.push(Department {
                id: id.value.clone(),
                name: d.value.name.clone(),
                aliases: d.value.aliases.clone(),
                kind,
                location: loc(&f.name, id),
            });
        }
    }

    // ---- regulations
    let mut regulations: Vec<Regulation> = Vec::new();
    let mut regulation_ids: HashMap<String, usize> = HashMap::new();
    for f in &files {
        for r in &f.raw.regulations {
            let raw = &r.value;
            if regulation_ids.contains_key(&raw.id.value) {
                diags.error(
                    loc(&f.name, &raw.id),
                    format!("duplicate regulation id \"{}\"", raw.id.value),
                );
                continue;
            }
            if raw.title.value.contains('《') || raw.title.value.contains('》') {
                diags.error(
                    loc(&f.name, &raw.title),
                    format!(
                        "regulation title \"{}\" must be written without 《》",
                        raw.title.value
                    ),
                );
            }
            if !is_article(&raw.article.value) {
                diags.error(
                    loc(&f.name, &raw.article),
                    format!(
                        "article \"{}\" is not of the form 第…条 (e.g. 第四十一条)",
                        raw.article.value
                    ),
                );
            }
            if raw.text.value.trim().is_empty() {
                diags.error(
                    loc(&f.name, &raw.text),
                    format!(
                        "regulation \"{}\" has no text; quote the article verbatim",
                        raw.id.value
                    ),
                );
            }
            regulation_ids.insert(raw.id.value.clone(), regulations.len());
            regulations.push(Regulation {
                id: raw.id.value.clone(),
                title: raw.title.value.clone(),
                article: raw.article.value.clone(),
                text: raw.text.value.trim_end().to_owned(),
                revision: raw.revision.clone().unwrap_or_default(),
                source: raw.source.clone().unwrap_or_default(),
                location: loc(&f.name, &raw.id),
            });
        }
    }

    // ---- categories
    let mut category_paths: Vec<CategoryPath> = Vec::new();
    for f in &files {
        let mut seen_top = HashSet::new();
        for c in &f.raw.categories {
            collect_categories(
                &f.name,
                c,
                &mut Vec::new(),
                None,
                &mut category_paths,
                &mut diags,
                &mut seen_top,
            );
        }
    }
    // Every category path ("城乡建设/其他/其他") → why it is not dispatched, if it is marked (itself
    // or through an ancestor).
    let category_set: HashMap<String, Option<&str>> = category_paths
        .iter()
        .map(|p| (p.path.join("/"), p.not_dispatched.as_deref()))
        .collect();
    // First-level categories (domains) by name → index, for `Rule::domain`.
    let domains: HashMap<&str, u32> = category_paths
        .iter()
        .filter(|p| p.path.len() == 1)
        .enumerate()
        .map(|(i, p)| (p.path[0].as_str(), u32::try_from(i).unwrap_or(u32::MAX)))
        .collect();
    let category_count = category_paths.len();

    // ---- synonyms
    let mut synonym_of: HashMap<String, usize> = HashMap::new();
    let mut synonym_groups: Vec<Vec<String>> = Vec::new();
    for f in &files {
        for g in &f.raw.synonyms {
            let idx = synonym_groups.len();
            let mut terms = Vec::new();
            for t in &g.value {
                let Some(n) = normalize_term(&f.name, t, &mut diags) else {
                    continue;
                };
                if let Some(&other) = synonym_of.get(&n)
                    && other != idx
                {
                    diags.error(
                        loc(&f.name, t),
                        format!(
                            "term \"{}\" is already in another synonym group; merge the two groups",
                            t.value
                        ),
                    );
                    continue;
                }
                synonym_of.insert(n.clone(), idx);
                terms.push(n);
            }
            if terms.len() < 2 {
                diags.warning(loc(&f.name, g), "a synonym group needs at least two terms");
            }
            synonym_groups.push(terms);
        }
    }

    // ---- settings
    let mut settings: Option<(&str, &Spanned<super::raw::RawSettings>)> = None;
    for f in &files {
        if let Some(s) = &f.raw.settings {
            if let Some((first, _)) = settings {
                diags.error(
                    loc(&f.name, s),
                    format!("settings are already given in \"{first}\"; keep one settings section"),
                );
            } else {
                settings = Some((&f.name, s));
            }
        }
    }
    let compiled_settings = match settings {
        None => {
            diags.error(
                SourceLocation::file_start(files.first().map_or("rules", |f| f.name.as_str())),
                "no settings section in any rule file; add one with threshold and margin",
            );
            Settings {
                threshold: 1.0,
                margin: 0.15,
                support_override: None,
                other_domain_factor: None,
            }
        }
        Some((file, s)) => {
            let t = &s.value.threshold;
            if !(t.value.is_finite() && t.value > 0.0) {
                diags.error(
                    loc(file, t),
                    format!("threshold {} must be a number above 0", t.value),
                );
            }
            let m = &s.value.margin;
            if !(m.value.is_finite() && (0.0..1.0).contains(&m.value)) {
                diags.error(
                    loc(file, m),
                    format!("margin {} must be at least 0 and below 1", m.value),
                );
            }
            let support_override = factor(
                file,
                "support_override",
                s.value.support_override.as_ref(),
                "2 means: another department whose matching rules add up to more than twice the \
                 winner's gets the request); remove the line to turn the override off",
                &mut diags,
            );
            let other_domain_factor = factor(
                file,
                "other_domain_factor",
                s.value.other_domain_factor.as_ref(),
                "1.3 means: when another domain's matching rules add up to more than 1.3 times \
                 the winner's domain, ask a person); remove the line to turn the check off",
                &mut diags,
            );
            Settings {
                threshold: t.value,
                margin: m.value,
                support_override,
                other_domain_factor,
            }
        }
    };

    // ---- rules of all three kinds, emergency first (they take precedence), in file order
    let mut pending: Vec<PendingRule<'_>> = Vec::new();
    if let Some((file, s)) = settings {
        for e in &s.value.emergency {
            let raw = &e.value;
            if !EMERGENCY_LINES.contains(&raw.line.value.as_str()) {
                diags.error(
                    loc(file, &raw.line),
                    format!(
                        "emergency line \"{}\" is not one of {}",
                        raw.line.value,
                        EMERGENCY_LINES.join(", ")
                    ),
                );
            }
            let category = raw.category.as_ref().map_or_else(Vec::new, |c| {
                category_path(file, c, &raw.id.value, &category_set, &mut diags)
            });
            pending.push(PendingRule {
                file,
                id: &raw.id,
                topic: raw.name.clone(),
                category,
                target: Target::Handoff {
                    line: raw.line.value.clone(),
                    name: raw.name.clone(),
                },
                regulations: &raw.regulations,
                conditions: &raw.conditions,
                weight: 1.0,
                priority: 0,
                examples: &raw.examples,
                counterexamples: &raw.counterexamples,
                location: loc(file, &raw.id),
                time_limit: None,
                local: false,
            });
        }
        for o in &s.value.out_of_scope {
            let raw = &o.value;
            let category = raw.category.as_ref().map_or_else(Vec::new, |c| {
                category_path(file, c, &raw.id.value, &category_set, &mut diags)
            });
            pending.push(PendingRule {
                file,
                id: &raw.id,
                topic: raw.name.clone(),
                category,
                target: Target::OutOfScope {
                    name: raw.name.clone(),
                    guidance: raw.guidance.clone(),
                },
                regulations: &raw.regulations,
                conditions: &raw.conditions,
                weight: weight(file, raw.weight.as_ref(), &mut diags),
                priority: 0,
                examples: &raw.examples,
                counterexamples: &raw.counterexamples,
                location: loc(file, &raw.id),
                time_limit: None,
                local: false,
            });
        }
    }
    for f in &files {
        for r in &f.raw.rules {
            let raw = &r.value;
            let department = match department_ids.get(&raw.department.value) {
                Some(&d) => d,
                None => {
                    diags.error(
                        loc(&f.name, &raw.department),
                        format!(
                            "unknown department \"{}\" in rule \"{}\"{}",
                            raw.department.value,
                            raw.id.value,
                            did_you_mean(
                                &raw.department.value,
                                department_ids.keys().map(String::as_str)
                            )
                        ),
                    );
                    usize::MAX
                }
            };
            let mut co_handling = Vec::new();
            for c in &raw.co_handling {
                match department_ids.get(&c.value) {
                    Some(&d) if d == department => diags.error(
                        loc(&f.name, c),
                        format!(
                            "co-handling department \"{}\" is the rule's own department",
                            c.value
                        ),
                    ),
                    Some(&d) => co_handling.push(d),
                    None => diags.error(
                        loc(&f.name, c),
                        format!(
                            "unknown co-handling department \"{}\" in rule \"{}\"{}",
                            c.value,
                            raw.id.value,
                            did_you_mean(&c.value, department_ids.keys().map(String::as_str))
                        ),
                    ),
                }
            }
            let category = category_path(
                &f.name,
                &raw.category,
                &raw.id.value,
                &category_set,
                &mut diags,
            );
            if let Some(Some(why)) = category_set.get(&category.join("/")) {
                diags.error(
                    loc(&f.name, &raw.category),
                    format!(
                        "rule \"{}\" dispatches under category \"{}\", which a city hotline does not \
                         dispatch ({why}); file it under another category, or make it an \
                         out_of_scope matter in settings that tells the citizen where to go",
                        raw.id.value, raw.category.value
                    ),
                );
            }
            if raw.examples.is_empty() {
                diags.warning(
                    loc(&f.name, &raw.id),
                    format!(
                        "rule \"{}\" has no examples; add sentences a citizen would say",
                        raw.id.value
                    ),
                );
            }
            pending.push(PendingRule {
                file: &f.name,
                id: &raw.id,
                topic: raw.topic.clone(),
                category,
                target: Target::Dispatch {
                    department,
                    co_handling,
                },
                regulations: &raw.regulations,
                conditions: &raw.conditions,
                weight: weight(&f.name, raw.weight.as_ref(), &mut diags),
                priority: raw.priority,
                examples: &raw.examples,
                counterexamples: &raw.counterexamples,
                location: loc(&f.name, &raw.id),
                time_limit: raw.time_limit.as_ref(),
                local: raw.local,
            });
        }
    }

    // ---- where and by when: places, units, calendar, request types, time limits
    let locality = super::locality::compile(
        &files,
        &department_ids,
        departments.len(),
        settings,
        &mut diags,
    );

    // ---- conditions, references and the term index
    let mut rule_ids: HashMap<&str, SourceLocation> = HashMap::new();
    let mut term_ids: HashMap<String, u32> = HashMap::new();
    let mut terms: Vec<Box<str>> = Vec::new();
    let mut term_postings: Vec<Vec<Posting>> = Vec::new();
    let mut patterns: Vec<Regex> = Vec::new();
    let mut pattern_postings: Vec<Posting> = Vec::new();
    let mut rules: Vec<Rule> = Vec::with_capacity(pending.len());

    for p in &pending {
        let rule_index = u32::try_from(rules.len()).unwrap_or(u32::MAX);
        if !is_valid_id(&p.id.value) {
            diags.error(
                loc(p.file, p.id),
                format!(
                    "rule id \"{}\" must be lowercase ASCII letters, digits and '-'",
                    p.id.value
                ),
            );
        }
        if let Some(first) = rule_ids.get(p.id.value.as_str()) {
            diags.error(
                loc(p.file, p.id),
                format!(
                    "duplicate rule id \"{}\" (first defined at {first})",
                    p.id.value
                ),
            );
        } else {
            rule_ids.insert(&p.id.value, loc(p.file, p.id));
        }
        let mut regs = Vec::new();
        for r in p.regulations {
            match regulation_ids.get(&r.value) {
                Some(&i) => regs.push(i),
                None => diags.error(
                    loc(p.file, r),
                    format!(
                        "unknown regulation \"{}\" in rule \"{}\"{}",
                        r.value,
                        p.id.value,
                        did_you_mean(&r.value, regulation_ids.keys().map(String::as_str))
                    ),
                ),
            }
        }
        if regs.is_empty() && matches!(p.target, Target::Dispatch { .. }) {
            diags.error(
                loc(p.file, p.id),
                format!(
                    "rule \"{}\" cites no regulation; every dispatch must rest on an article",
                    p.id.value
                ),
            );
        }

        let c = &p.conditions.value;
        if c.all.is_empty() && c.any.is_empty() && c.patterns.is_empty() {
            diags.error(
                loc(p.file, p.conditions),
                format!(
                    "rule \"{}\" has no conditions; give `all`, `any` or `patterns`",
                    p.id.value
                ),
            );
        }
        if let Some(w) = &c.within {
            if c.all.len() < 2 {
                diags.error(
                    loc(p.file, w),
                    format!(
                        "rule \"{}\" sets `within` but has fewer than two `all` groups; `within` says how close the groups must be",
                        p.id.value
                    ),
                );
            }
            if !(1..=MAX_WITHIN).contains(&w.value) {
                diags.error(
                    loc(p.file, w),
                    format!(
                        "`within` of rule \"{}\" must be between 1 and {MAX_WITHIN} characters, not {}",
                        p.id.value, w.value
                    ),
                );
            }
        }
        if c.all.len() > MAX_GROUPS {
            diags.error(
                loc(p.file, p.conditions),
                format!(
                    "rule \"{}\" has more than {MAX_GROUPS} `all` groups",
                    p.id.value
                ),
            );
        }
        let mut add_term = |t: &Spanned<String>, slot: Slot, diags: &mut Diagnostics| {
            let Some(n) = normalize_term(p.file, t, diags) else {
                return;
            };
            let expanded: Vec<String> = match synonym_of.get(&n) {
                Some(&g) => synonym_groups[g].clone(),
                None => vec![n],
            };
            for term in expanded {
                let id = *term_ids.entry(term.clone()).or_insert_with(|| {
                    terms.push(term.into_boxed_str());
                    term_postings.push(Vec::new());
                    u32::try_from(terms.len() - 1).unwrap_or(u32::MAX)
                });
                let list = &mut term_postings[id as usize];
                if !list.iter().any(|q| q.rule == rule_index && q.slot == slot) {
                    list.push(Posting {
                        rule: rule_index,
                        slot,
                    });
                }
            }
        };
        for (g, group) in c.all.iter().enumerate().take(MAX_GROUPS) {
            if group.value.is_empty() {
                diags.error(
                    loc(p.file, group),
                    format!(
                        "empty `all` group in rule \"{}\"; remove it or add terms",
                        p.id.value
                    ),
                );
            }
            for t in &group.value {
                add_term(t, Slot::Group(g as u8), &mut diags);
            }
        }
        for t in &c.any {
            add_term(t, Slot::Any, &mut diags);
        }
        for t in &c.none {
            add_term(t, Slot::None, &mut diags);
        }
        for pat in &c.patterns {
            match RegexBuilder::new(&pat.value)
                .size_limit(PATTERN_SIZE_LIMIT)
                .build()
            {
                Ok(re) => {
                    if re.is_match("") {
                        diags.error(
                            loc(p.file, pat),
                            format!("pattern \"{}\" matches the empty string, so it would fire on every request", pat.value),
                        );
                    }
                    patterns.push(re);
                    pattern_postings.push(Posting {
                        rule: rule_index,
                        slot: Slot::Pattern,
                    });
                }
                Err(e) => diags.error(
                    loc(p.file, pat),
                    format!(
                        "invalid pattern \"{}\": {}",
                        pat.value,
                        first_line(&e.to_string())
                    ),
                ),
            }
        }

        let time_limit = p.time_limit.map(|tl| {
            let mut regs = Vec::new();
            for r in &tl.value.regulations {
                match regulation_ids.get(&r.value) {
                    Some(&i) => regs.push(i),
                    None => diags.error(
                        loc(p.file, r),
                        format!(
                            "unknown regulation \"{}\" in the time limit of rule \"{}\"{}",
                            r.value,
                            p.id.value,
                            did_you_mean(&r.value, regulation_ids.keys().map(String::as_str))
                        ),
                    ),
                }
            }
            if tl.value.regulations.is_empty() {
                diags.error(loc(p.file, tl), format!("the time limit of rule \"{}\" cites no article; a rule's own time limit must rest on the law that sets it", p.id.value));
            }
            let types = tl.value.types.iter().filter_map(|t| super::locality::request_type(p.file, t, &mut diags)).collect();
            RuleTimeLimit { days: tl.value.days, regulations: regs, types }
        });
        let domain = match (&p.target, p.category.first()) {
            (Target::Dispatch { .. }, Some(d)) => {
                domains.get(d.as_str()).copied().unwrap_or(u32::MAX)
            }
            _ => u32::MAX,
        };
        rules.push(Rule {
            id: p.id.value.clone(),
            topic: p.topic.clone(),
            domain,
            category: p.category.clone(),
            target: p.target.clone(),
            regulations: regs,
            location: p.location.clone(),
            weight: p.weight,
            priority: p.priority,
            groups: c.all.len().min(MAX_GROUPS) as u8,
            within: c.within.as_ref().map(|w| w.value),
            examples: examples(p.file, p.examples),
            counterexamples: examples(p.file, p.counterexamples),
            time_limit,
            local: p.local,
        });
    }

    if diags.has_errors() {
        return Err(LoadError {
            diagnostics: diags.into_sorted(),
        });
    }

    let segmenter = Segmenter::with_vocabulary(terms.iter().map(|t| &**t));
    let matcher = match Matcher::new(terms, patterns, &locality.phrases()) {
        Ok(m) => m,
        Err(e) => {
            diags.error(SourceLocation::file_start("rules"), e);
            return Err(LoadError {
                diagnostics: diags.into_sorted(),
            });
        }
    };
    let mut set = RuleSet {
        version,
        source,
        loaded_at: SystemTime::now(),
        departments,
        regulations,
        category_count,
        categories: category_paths.iter().map(|p| p.path.clone()).collect(),
        category_not_dispatched: category_paths
            .iter()
            .map(|p| p.not_dispatched.is_some())
            .collect(),
        category_locations: category_paths.into_iter().map(|p| p.location).collect(),
        rules,
        settings: compiled_settings,
        segmenter,
        matcher,
        term_postings,
        pattern_postings,
        warnings: diags.into_sorted(),
        prepared: Vec::new(),
        locality,
    };
    set.prepared = crate::explain::prepare(&set);
    Ok(set)
}

/// An optional factor setting (`support_override`, `other_domain_factor`): a number of at least 1
/// when present, reported at its place otherwise. `meaning` completes the message: an example
/// value's meaning, a closing parenthesis, and how to turn the setting off.
fn factor(
    file: &str,
    name: &str,
    raw: Option<&Spanned<f64>>,
    meaning: &str,
    diags: &mut Diagnostics,
) -> Option<f64> {
    let f = raw?;
    if !(f.value.is_finite() && f.value >= 1.0) {
        diags.error(
            loc(file, f),
            format!(
                "{name} {} must be a number of at least 1 ({meaning}",
                f.value
            ),
        );
    }
    Some(f.value)
}

/// A rule's `category` as its path (level 1, 2, 3), reported at its place when the tree has no
/// such path.
fn category_path(
    file: &str,
    raw: &Spanned<String>,
    rule_id: &str,
    known: &HashMap<String, Option<&str>>,
    diags: &mut Diagnostics,
) -> Vec<String> {
    let path: Vec<String> = raw.value.split('/').map(|s| s.trim().to_owned()).collect();
    let joined = path.join("/");
    if !known.contains_key(&joined) {
        diags.error(
            loc(file, raw),
            format!(
                "unknown category \"{}\" in rule \"{}\"{}",
                raw.value,
                rule_id,
                did_you_mean(&joined, known.keys().map(String::as_str))
            ),
        );
    }
    path
}

fn weight(file: &str, w: Option<&Spanned<f64>>, diags: &mut Diagnostics) -> f64 {
    match w {
        None => 1.0,
        Some(w) if w.value.is_finite() && w.value > 0.0 && w.value <= 100.0 => w.value,
        Some(w) => {
            diags.error(
                loc(file, w),
                format!("weight {} must be above 0 and at most 100", w.value),
            );
            1.0
        }
    }
}

fn examples(file: &str, list: &[Spanned<String>]) -> Vec<Example> {
    list.iter()
        .map(|e| Example {
            text: e.value.clone(),
            location: loc(file, e),
        })
        .collect()
}

/// The normalized form of a term, or a diagnostic when it cannot match anything.
fn normalize_term(file: &str, t: &Spanned<String>, diags: &mut Diagnostics) -> Option<String> {
    let n = normalize(&t.value).text().to_owned();
    if n.is_empty() {
        diags.error(loc(file, t), "empty term; remove it");
        return None;
    }
    if n.chars().count() > MAX_TERM_CHARS {
        diags.error(
            loc(file, t),
            format!(
                "term \"{}\" is longer than {MAX_TERM_CHARS} characters",
                t.value
            ),
        );
        return None;
    }
    if n.chars().count() == 1 && n.chars().all(|c| !c.is_ascii()) {
        diags.warning(
            loc(file, t),
            format!(
                "single-character term \"{}\" matches in many unrelated requests; prefer a word",
                t.value
            ),
        );
    }
    Some(n)
}

/// A category of the tree (any level), where it is defined, and whether it is dispatched.
struct CategoryPath {
    path: Vec<String>,
    location: SourceLocation,
    /// Why not, when the category or one of its ancestors is marked `not_dispatched`.
    not_dispatched: Option<String>,
}

fn collect_categories(
    file: &str,
    c: &RawCategory,
    prefix: &mut Vec<String>,
    inherited: Option<&str>,
    out: &mut Vec<CategoryPath>,
    diags: &mut Diagnostics,
    seen: &mut HashSet<String>,
) {
    let name = c.name.value.trim().to_owned();
    if name.is_empty() || name.contains('/') {
        diags.error(
            loc(file, &c.name),
            format!("category name \"{name}\" must be non-empty and contain no '/'"),
        );
        return;
    }
    if !seen.insert(name.clone()) {
        diags.error(
            loc(file, &c.name),
            format!(
                "duplicate category \"{}\"",
                prefix
                    .iter()
                    .chain([&name])
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("/")
            ),
        );
        return;
    }
    prefix.push(name);
    let why = c.not_dispatched.as_deref().or(inherited);
    if let Some(w) = &c.not_dispatched
        && w.trim().is_empty()
    {
        diags.error(
            loc(file, &c.name),
            format!(
                "not_dispatched of category \"{}\" is empty; say why a city hotline does not \
                 dispatch it",
                prefix.join("/")
            ),
        );
    }
    out.push(CategoryPath {
        path: prefix.clone(),
        location: loc(file, &c.name),
        not_dispatched: why.map(str::to_owned),
    });
    let mut seen_children = HashSet::new();
    for child in &c.children {
        collect_categories(file, child, prefix, why, out, diags, &mut seen_children);
    }
    for leaf in &c.leaves {
        let l = leaf.value.trim().to_owned();
        if l.is_empty() || l.contains('/') || !seen_children.insert(l.clone()) {
            diags.error(
                loc(file, leaf),
                format!("category leaf \"{l}\" is empty, contains '/' or is listed twice"),
            );
            continue;
        }
        let mut p = prefix.clone();
        p.push(l);
        out.push(CategoryPath {
            path: p,
            location: loc(file, leaf),
            not_dispatched: why.map(str::to_owned),
        });
    }
    prefix.pop();
}

fn is_valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
}

fn is_article(s: &str) -> bool {
    const NUM: &str = "零〇一二三四五六七八九十百千";
    let Some(rest) = s.strip_prefix('第') else {
        return false;
    };
    let Some(i) = rest.find('条') else {
        return false;
    };
    let (num, tail) = (&rest[..i], &rest[i + '条'.len_utf8()..]);
    !num.is_empty()
        && num.chars().all(|c| NUM.contains(c))
        && (tail.is_empty()
            || tail
                .strip_prefix('之')
                .is_some_and(|t| !t.is_empty() && t.chars().all(|c| NUM.contains(c))))
}

fn first_line(s: &str) -> String {
    // The regex crate's errors are multi-line with a caret diagram; keep the explanation lines.
    let lines: Vec<&str> = s.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    lines.last().copied().unwrap_or(s).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn articles() {
        assert!(is_article("第四十一条"));
        assert!(is_article("第九百四十四条"));
        assert!(is_article("第十条之一"));
        assert!(!is_article("41"));
        assert!(!is_article("第条"));
        assert!(!is_article("第四十一款"));
    }

    #[test]
    fn ids() {
        assert!(is_valid_id("property-fee-2"));
        assert!(!is_valid_id("Property"));
        assert!(!is_valid_id(""));
        assert!(!is_valid_id("物业"));
    }
}
