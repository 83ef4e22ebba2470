//! `hotline-router lint`: warnings about a rule set that loads, but may not do what its authors
//! mean. Each finding has a code, the place to look, and what to do about it.
//!
//! | code | what it means |
//! | --- | --- |
//! | `ambiguous-example` | an example of one rule also fires a rule of another department in the same priority tier: such requests are close calls, and orders may bounce between the two |
//! | `split-keyword` | a keyword appears in its own rule's example, yet does not match there, because the segmenter cuts through it |
//! | `shared-keyword` | the same keyword is a required (`all`) condition of rules of several departments |
//! | `shadowed-rule` | (with `--input`) a rule fires on requests of the corpus but never wins; another rule always outscores it |
//! | `uncited-regulation` | an article of the catalogue that no rule cites |
//! | `idle-department` | a department that no rule routes to |
//! | `unused-category` | a level-1 or level-2 category under which no rule files anything |

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::eval::Labelled;
use crate::proto::v1 as pb;
use crate::ruleset::{RuleSet, Slot, SourceLocation, Target};

#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub code: &'static str,
    pub message: String,
}

impl Finding {
    fn at(location: &SourceLocation, code: &'static str, message: String) -> Self {
        Finding {
            file: location.file.clone(),
            line: location.line,
            column: location.column,
            code,
            message,
        }
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: warning[{}]: {}",
            self.file, self.line, self.column, self.code, self.message
        )
    }
}

/// Runs every check; `corpus`, when given, adds the shadowed-rule check. Findings are sorted by
/// place.
pub fn lint(set: &RuleSet, corpus: Option<&[Labelled]>) -> Vec<Finding> {
    let mut out = Vec::new();
    ambiguous_examples(set, &mut out);
    split_keywords(set, &mut out);
    shared_keywords(set, &mut out);
    if let Some(corpus) = corpus {
        shadowed_rules(set, corpus, &mut out);
    }
    uncited_regulations(set, &mut out);
    idle_departments(set, &mut out);
    unused_categories(set, &mut out);
    out.sort();
    out.dedup();
    out
}

fn dept_of(set: &RuleSet, rule_id: &str) -> Option<(usize, i32)> {
    let r = set.rules.iter().find(|r| r.id == rule_id)?;
    Some((r.department()?, r.priority))
}

fn ambiguous_examples(set: &RuleSet, out: &mut Vec<Finding>) {
    let threshold = set.settings.threshold;
    for rule in &set.rules {
        let Some(dept) = rule.department() else {
            continue;
        };
        for e in &rule.examples {
            let resp = set.route(&e.text);
            for a in &resp.alternatives {
                if a.outcome != pb::Outcome::Dispatch as i32 || a.score < threshold {
                    continue;
                }
                let Some((other, priority)) = dept_of(set, &a.rule_id) else {
                    continue;
                };
                if other != dept && priority == rule.priority {
                    out.push(Finding::at(
                        &e.location,
                        "ambiguous-example",
                        format!(
                            "example of rule \"{}\" ({}) also fires rule \"{}\" ({}) with score {:.2} against {:.2}; \
                             make one of them more specific, or add a `none` term",
                            rule.id,
                            set.departments[dept].id,
                            a.rule_id,
                            set.departments[other].id,
                            a.score,
                            resp.score
                        ),
                    ));
                }
            }
        }
    }
}

/// Term ids per rule (its `all` and `any` terms).
fn rule_terms(set: &RuleSet) -> Vec<BTreeSet<u32>> {
    let mut terms = vec![BTreeSet::new(); set.rules.len()];
    for (t, postings) in set.term_postings.iter().enumerate() {
        for p in postings {
            if matches!(p.slot, Slot::Group(_) | Slot::Any) {
                terms[p.rule as usize].insert(t as u32);
            }
        }
    }
    terms
}

fn split_keywords(set: &RuleSet, out: &mut Vec<Finding>) {
    let terms = rule_terms(set);
    for (i, rule) in set.rules.iter().enumerate() {
        for e in &rule.examples {
            let (normalized, found) = set.term_hits(&e.text);
            for &t in &terms[i] {
                let term = set.matcher.term(t);
                if normalized.contains(term) && !found.contains(&t) {
                    out.push(Finding::at(
                        &e.location,
                        "split-keyword",
                        format!(
                            "keyword \"{term}\" of rule \"{}\" is in this example but does not match: the words are {}; \
                             use the words as they are cut, or a longer keyword",
                            rule.id,
                            set.segmenter.words(&normalized).join(" / ")
                        ),
                    ));
                }
            }
        }
    }
}

fn shared_keywords(set: &RuleSet, out: &mut Vec<Finding>) {
    for (t, postings) in set.term_postings.iter().enumerate() {
        // Department → first rule requiring the term (`all`), among rules of the normal tiers: a
        // shared `any` word only adds to a score, and fallback rules share domain words on purpose.
        let mut by_dept: BTreeMap<usize, usize> = BTreeMap::new();
        for p in postings {
            let rule = &set.rules[p.rule as usize];
            if matches!(p.slot, Slot::Group(_))
                && rule.priority >= 0
                && let Some(d) = rule.department()
            {
                by_dept.entry(d).or_insert(p.rule as usize);
            }
        }
        if by_dept.len() < 2 {
            continue;
        }
        let first = by_dept.values().min().copied().unwrap_or(0);
        let list: Vec<String> = by_dept
            .iter()
            .map(|(&d, &r)| format!("\"{}\" ({})", set.rules[r].id, set.departments[d].id))
            .collect();
        out.push(Finding::at(
            &set.rules[first].location,
            "shared-keyword",
            format!(
                "keyword \"{}\" is required by rules of {} departments: {}; requests with it depend on the other terms \
                 to find their department",
                set.matcher.term(t as u32),
                by_dept.len(),
                list.join(", ")
            ),
        ));
    }
}

fn shadowed_rules(set: &RuleSet, corpus: &[Labelled], out: &mut Vec<Finding>) {
    let mut fired: HashMap<&str, usize> = HashMap::new();
    let mut won: HashMap<&str, usize> = HashMap::new();
    let mut beaten_by: HashMap<&str, HashMap<String, usize>> = HashMap::new();
    for item in corpus {
        let resp = set.route_request(&item.id, &item.title, &item.text);
        if let Some(r) = set
            .rules
            .iter()
            .find(|r| !resp.rule_id.is_empty() && r.id == resp.rule_id)
        {
            *won.entry(r.id.as_str()).or_insert(0) += 1;
            *fired.entry(r.id.as_str()).or_insert(0) += 1;
        }
        for a in &resp.alternatives {
            if let Some(r) = set.rules.iter().find(|r| r.id == a.rule_id) {
                *fired.entry(r.id.as_str()).or_insert(0) += 1;
                if !resp.rule_id.is_empty() {
                    *beaten_by
                        .entry(r.id.as_str())
                        .or_default()
                        .entry(resp.rule_id.clone())
                        .or_insert(0) += 1;
                }
            }
        }
    }
    for rule in &set.rules {
        let n = fired.get(rule.id.as_str()).copied().unwrap_or(0);
        if n == 0 || won.contains_key(rule.id.as_str()) {
            continue;
        }
        let by = beaten_by
            .get(rule.id.as_str())
            .and_then(|m| {
                m.iter()
                    .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
            })
            .map(|(id, k)| format!("; most often beaten by \"{id}\" ({k} times)"))
            .unwrap_or_default();
        out.push(Finding::at(
            &rule.location,
            "shadowed-rule",
            format!(
                "rule \"{}\" fired on {n} requests of the corpus but never won{by}",
                rule.id
            ),
        ));
    }
}

fn uncited_regulations(set: &RuleSet, out: &mut Vec<Finding>) {
    let cited: BTreeSet<usize> = set
        .rules
        .iter()
        .flat_map(|r| r.regulations.iter().copied())
        .collect();
    for (i, reg) in set.regulations.iter().enumerate() {
        if !cited.contains(&i) {
            out.push(Finding::at(
                &reg.location,
                "uncited-regulation",
                format!(
                    "regulation \"{}\" is cited by no rule; cite it where it applies or remove it",
                    reg.id
                ),
            ));
        }
    }
}

fn idle_departments(set: &RuleSet, out: &mut Vec<Finding>) {
    let mut used = BTreeSet::new();
    for r in &set.rules {
        if let Target::Dispatch {
            department,
            co_handling,
        } = &r.target
        {
            used.insert(*department);
            used.extend(co_handling.iter().copied());
        }
    }
    for (i, d) in set.departments.iter().enumerate() {
        if !used.contains(&i) {
            out.push(Finding::at(
                &d.location,
                "idle-department",
                format!("no rule routes to department \"{}\" ({})", d.id, d.name),
            ));
        }
    }
}

fn unused_categories(set: &RuleSet, out: &mut Vec<Finding>) {
    let used: BTreeSet<&[String]> = set
        .rules
        .iter()
        .flat_map(|r| (1..=r.category.len().min(2)).map(move |n| &r.category[..n]))
        .collect();
    for (path, location) in set.categories.iter().zip(&set.category_locations) {
        if path.len() <= 2 && !used.contains(path.as_slice()) {
            out.push(Finding::at(
                location,
                "unused-category",
                format!(
                    "no rule files requests under category \"{}\"",
                    path.join("/")
                ),
            ));
        }
    }
}
