//! `hotline-router lint`: warnings about a rule set that loads, but may not do what its authors
//! mean. Each finding has a code, the place to look, and what to do about it.
//!
//! | code | what it means |
//! | --- | --- |
//! | `ambiguous-example` | an example of one rule also fires a rule of another department in the same priority tier, scoring within twice the margin of it: a slightly different wording is a close call, and orders may bounce between the two |
//! | `split-keyword` | a keyword appears in its own rule's example, yet does not match there, because the segmenter cuts through it |
//! | `shared-keyword` | the same keyword alone fires rules of several departments, in the same priority tier and with weights within the margin: a request that says only this is a coin toss, so it goes to manual triage |
//! | `shadowed-rule` | (with `--input`) a rule fires on requests of the corpus but never wins; another rule always outscores it |
//! | `uncited-regulation` | an article of the catalogue that no rule cites |
//! | `idle-department` | a department that no rule routes to |
//! | `unused-category` | a level-1 or level-2 category under which no rule files anything, unless it is marked `not_dispatched` (another channel handles it by law), or it is a domain's catch-all "其他" and the domain has rules |

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::authoring::eval::Labelled;
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

/// An example that also fires another department's rule is normal when the other rule is far
/// behind (a sports complaint that mentions pay fires the labour fallback at a third of the
/// sports score); it is worth a look when the other rule comes within twice the margin: a
/// request worded a little differently is a close call (manual triage) or goes the other way.
fn ambiguous_examples(set: &RuleSet, out: &mut Vec<Finding>) {
    let threshold = set.settings.threshold;
    let near = 1.0 - 2.0 * set.settings.margin;
    for rule in &set.rules {
        let Some(dept) = rule.department() else {
            continue;
        };
        for e in &rule.examples {
            let resp = set.route(&crate::request::RouteInput::text(&e.text));
            for a in &resp.alternatives {
                if a.outcome != pb::Outcome::Dispatch as i32
                    || a.score < threshold
                    || a.score < resp.score * near
                {
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

/// A keyword shared by rules of several departments is normal: their other groups tell the
/// departments apart (物业 with 收费 is a fee matter, with 维修 a repair). It is a problem when
/// the keyword alone fires them: rules with a single `all` group that contains it, in the same
/// priority tier (fallbacks, priority −1, share domain words on purpose and are left out), and
/// with weights within the margin, so that neither outscores the other. A request that says
/// only that word is then a close call between departments and goes to manual triage.
fn shared_keywords(set: &RuleSet, out: &mut Vec<Finding>) {
    for (t, postings) in set.term_postings.iter().enumerate() {
        // Priority → department → the first rule of that department firing on the term alone.
        let mut tiers: BTreeMap<i32, BTreeMap<usize, usize>> = BTreeMap::new();
        for p in postings {
            let rule = &set.rules[p.rule as usize];
            if p.slot == Slot::Group(0)
                && rule.groups == 1
                && rule.priority >= 0
                && let Some(d) = rule.department()
            {
                tiers
                    .entry(rule.priority)
                    .or_default()
                    .entry(d)
                    .or_insert(p.rule as usize);
            }
        }
        for rules in tiers.values() {
            let Some(heaviest) = rules
                .values()
                .map(|&r| set.rules[r].weight)
                .reduce(f64::max)
            else {
                continue;
            };
            // Rules whose score on the keyword alone is within the margin of the heaviest one.
            let close: Vec<(usize, usize)> = rules
                .iter()
                .map(|(&d, &r)| (d, r))
                .filter(|&(_, r)| set.rules[r].weight >= heaviest * (1.0 - set.settings.margin))
                .collect();
            if close.len() < 2 {
                continue;
            }
            let first = close.iter().map(|&(_, r)| r).min().unwrap_or(0);
            let list: Vec<String> = close
                .iter()
                .map(|&(d, r)| format!("\"{}\" ({})", set.rules[r].id, set.departments[d].id))
                .collect();
            out.push(Finding::at(
                &set.rules[first].location,
                "shared-keyword",
                format!(
                    "keyword \"{}\" alone fires rules of {} departments with the same priority and \
                     weight: {}; a request that says only this goes to manual triage; add a \
                     second group to one of them, or give one a higher weight or priority",
                    set.matcher.term(t as u32),
                    close.len(),
                    list.join(", ")
                ),
            ));
        }
    }
}

fn shadowed_rules(set: &RuleSet, corpus: &[Labelled], out: &mut Vec<Finding>) {
    let mut fired: HashMap<&str, usize> = HashMap::new();
    let mut won: HashMap<&str, usize> = HashMap::new();
    let mut beaten_by: HashMap<&str, HashMap<String, usize>> = HashMap::new();
    for item in corpus {
        let resp = set.route(&item.input());
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
    for ((path, location), &not_dispatched) in set
        .categories
        .iter()
        .zip(&set.category_locations)
        .zip(&set.category_not_dispatched)
    {
        // A domain's "其他" is where requests no topic of the domain covers end up: the domain
        // fallback's or a person's job, not a topic to write a rule for.
        let catch_all = path.len() == 2 && path[1] == "其他" && used.contains(&path[..1]);
        if path.len() <= 2 && !not_dispatched && !catch_all && !used.contains(path.as_slice()) {
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
