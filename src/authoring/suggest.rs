//! `suggest`: rule proposals for authors, from a labelled corpus.
//!
//! For each label (a level-1 category, or a department id as `export --labelled` writes), the
//! words the rules miss most often: content words of the requests of that label the rules left
//! to manual triage or sent elsewhere, kept when they are frequent there and nearly exclusive to
//! the label across the corpus, and not yet a term of any rule. Each proposal adds those words to
//! the label's fallback rule (兜底, [`RuleSet::fallback_rule`]), written as the YAML lines to add, and is
//! tried: the rule files are edited in memory, compiled and checked like any rule set (examples
//! included), and the corpus is routed with the edited set to count the requests the proposal
//! fixes and the ones it breaks. Nothing is written to the rules; an author reviews and applies.
//!
//! The rules are judged alone (without the classifier), because proposals are about what the
//! rules miss. Counts are on the corpus given: to judge a proposal honestly, run `suggest` on
//! some folds and `eval` or `diff` on the others.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::Serialize;

use super::eval::Labelled;
use crate::proto::v1 as pb;
use crate::ruleset::RuleSet;

/// What `suggest` is asked for.
#[derive(Debug, Clone)]
pub struct Options {
    /// Least number of missed requests of the label a word must occur in.
    pub min_rows: usize,
    /// Least share of the corpus rows holding the word that carry the label.
    pub purity: f64,
    /// Most words proposed per label.
    pub terms: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            min_rows: 3,
            purity: 0.8,
            terms: 8,
        }
    }
}

/// A word the rules miss.
#[derive(Debug, Clone, Serialize)]
pub struct MissedTerm {
    pub term: String,
    /// Missed requests of the label holding it.
    pub missed_rows: usize,
    /// Share of all corpus rows holding it that carry the label.
    pub purity: f64,
}

/// One label's proposal.
#[derive(Debug, Clone, Serialize)]
pub struct Proposal {
    pub label: String,
    /// Requests of the label in the corpus, left to manual triage, and sent elsewhere.
    pub rows: usize,
    pub unrouted: usize,
    pub misrouted: usize,
    pub terms: Vec<MissedTerm>,
    /// The rule the words would go to, and where it is written.
    pub rule_id: Option<String>,
    pub rule_source: Option<String>,
    /// The YAML to add (or why there is none).
    pub snippet: String,
    /// Corpus requests the edited set decides right that the rules decided wrong, and the
    /// reverse; `None` when the proposal was not tried.
    pub fixes: Option<usize>,
    pub breaks: Option<usize>,
    /// Why the edited set did not load (an example it breaks, …), if it did not.
    pub load_error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SuggestReport {
    pub version: String,
    pub rows: usize,
    pub proposals: Vec<Proposal>,
}

/// What the rules decided for one request, in `eval`'s terms: the department id when the label
/// is one, else the level-1 category; `None` when not dispatched.
fn predicted(set: &RuleSet, label: &str, r: &pb::RouteResponse) -> Option<String> {
    if r.outcome != pb::Outcome::Dispatch as i32 {
        return None;
    }
    Some(if set.department(label).is_some() {
        r.department_id().to_owned()
    } else {
        r.category.first().cloned().unwrap_or_default()
    })
}

/// Adds `terms` to the `any` list of the rule whose item starts at `line` (1-based) in `yaml`;
/// `None` when the item's layout is not one this knows (then the snippet is shown untried).
pub(crate) fn add_any_terms(yaml: &str, line: usize, terms: &[String]) -> Option<String> {
    let lines: Vec<&str> = yaml.lines().collect();
    let first = line.checked_sub(1)?;
    let indent_of = |l: &str| l.len() - l.trim_start().len();
    let item_indent = indent_of(lines.get(first)?);
    let mut end = first + 1;
    while end < lines.len() && (lines[end].trim().is_empty() || indent_of(lines[end]) > item_indent)
    {
        end += 1;
    }
    let joined = terms.join(", ");
    let mut out: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    // `any: [a, b]` (flow list, possibly over several lines): the words go first.
    if let Some(i) = (first..end).find(|&i| lines[i].trim_start().starts_with("any:")) {
        let l = lines[i];
        let open = l.find('[')?;
        out[i] = format!("{}{joined}, {}", &l[..=open], &l[open + 1..]);
        if l[open + 1..].trim_start().starts_with(']') {
            out[i] = format!("{}{joined}{}", &l[..=open], &l[open + 1..]);
        }
    } else {
        // No `any` yet: one under `conditions:`.
        let i = (first..end).find(|&i| lines[i].trim_start().starts_with("conditions:"))?;
        if !lines[i].trim_end().ends_with("conditions:") {
            return None; // conditions written inline ({all: …}): left to the author
        }
        let inner = lines
            .get(i + 1)
            .map(|l| indent_of(l))
            .filter(|&n| n > indent_of(lines[i]))
            .unwrap_or(indent_of(lines[i]) + 2);
        out.insert(i + 1, format!("{}any: [{joined}]", " ".repeat(inner)));
    }
    let mut text = out.join("\n");
    if yaml.ends_with('\n') {
        text.push('\n');
    }
    Some(text)
}

/// The proposals for `corpus` (see the module docs).
pub fn suggest(set: &RuleSet, corpus: &[Labelled], options: &Options) -> SuggestReport {
    let rules_alone = set.with_model(None).ok();
    let rules = rules_alone.as_ref().unwrap_or(set);
    // Route once; words of each row once.
    let mut right = vec![false; corpus.len()];
    let mut missed_by_label: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    let mut df: HashMap<String, usize> = HashMap::new();
    let mut df_label: HashMap<(&str, String), usize> = HashMap::new();
    let mut missed_df: HashMap<(&str, String), usize> = HashMap::new();
    for (i, item) in corpus.iter().enumerate() {
        let r = rules.route(&item.input());
        let p = predicted(rules, &item.label, &r);
        right[i] = p.as_deref() == Some(item.label.as_str());
        let e = missed_by_label.entry(&item.label).or_default();
        e.0 += 1;
        match &p {
            None if r.outcome == pb::Outcome::Manual as i32 => e.1 += 1,
            Some(_) if !right[i] => e.2 += 1,
            _ => {}
        }
        let words: BTreeSet<String> = rules
            .content_words(&format!("{}\n{}", item.title, item.text))
            .into_iter()
            .collect();
        for w in words {
            *df.entry(w.clone()).or_default() += 1;
            *df_label.entry((&item.label, w.clone())).or_default() += 1;
            if !right[i] {
                *missed_df.entry((&item.label, w)).or_default() += 1;
            }
        }
    }
    // Words that are already a term somewhere: proposing them would change nothing.
    let known: HashSet<String> = (0..rules.rules().len())
        .flat_map(|i| {
            let c = rules.conditions_of(i);
            c.all.into_iter().flatten().chain(c.any).chain(c.none)
        })
        .collect();

    let mut proposals = Vec::new();
    for (label, (rows, unrouted, misrouted)) in &missed_by_label {
        let mut terms: Vec<MissedTerm> = missed_df
            .iter()
            .filter(|((l, w), n)| l == label && **n >= options.min_rows && !known.contains(w))
            .filter_map(|((_, w), n)| {
                let purity = *df_label.get(&(*label, w.clone()))? as f64 / *df.get(w)? as f64;
                (purity >= options.purity).then(|| MissedTerm {
                    term: w.clone(),
                    missed_rows: *n,
                    purity,
                })
            })
            .collect();
        terms.sort_by(|a, b| b.missed_rows.cmp(&a.missed_rows).then(a.term.cmp(&b.term)));
        terms.truncate(options.terms);
        if terms.is_empty() {
            continue;
        }
        let words: Vec<String> = terms.iter().map(|t| t.term.clone()).collect();
        let mut p = Proposal {
            label: (*label).to_owned(),
            rows: *rows,
            unrouted: *unrouted,
            misrouted: *misrouted,
            terms,
            rule_id: None,
            rule_source: None,
            snippet: String::new(),
            fixes: None,
            breaks: None,
            load_error: None,
        };
        match rules.fallback_rule(label, rules.department(label).is_some()) {
            None => {
                p.snippet = format!(
                    "# 「{label}」没有兜底规则（priority 小于 0 的派单规则）：请新写一条规则，\n# 条件可从这些词开始：any: [{}]\n",
                    words.join(", ")
                );
            }
            Some(i) => {
                let rule = &rules.rules()[i];
                p.rule_id = Some(rule.id.clone());
                p.rule_source = Some(format!("{}:{}", rule.location.file, rule.location.line));
                p.snippet = format!(
                    "# {}:{} 规则 {}（{}）的 conditions.any 加上：\n{}\n",
                    rule.location.file,
                    rule.location.line,
                    rule.id,
                    rule.topic,
                    words
                        .iter()
                        .map(|w| format!("- {w}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                );
                try_proposal(rules, corpus, &right, i, &words, &mut p);
            }
        }
        proposals.push(p);
    }
    proposals.sort_by(|a, b| {
        let net = |p: &Proposal| p.fixes.unwrap_or(0) as i64 - p.breaks.unwrap_or(0) as i64;
        net(b).cmp(&net(a)).then(a.label.cmp(&b.label))
    });
    SuggestReport {
        version: set.version().to_owned(),
        rows: corpus.len(),
        proposals,
    }
}

/// Edits rule `i`'s file in memory, compiles the set and counts what changes on the corpus.
fn try_proposal(
    rules: &RuleSet,
    corpus: &[Labelled],
    right: &[bool],
    i: usize,
    words: &[String],
    p: &mut Proposal,
) {
    let rule = &rules.rules()[i];
    let mut texts: Vec<(String, String)> = rules
        .files()
        .iter()
        .filter(|(n, _)| !n.ends_with(".model"))
        .cloned()
        .collect();
    let Some(file) = texts.iter_mut().find(|(n, _)| *n == rule.location.file) else {
        p.load_error = Some(format!(
            "{} is not among the rule files",
            rule.location.file
        ));
        return;
    };
    let Some(edited) = add_any_terms(&file.1, rule.location.line as usize, words) else {
        p.load_error =
            Some("the rule's conditions are not laid out as a list; edit by hand".into());
        return;
    };
    // The snippet is the `any:` line as it would read, in the file's own layout (a flow list
    // or a new line), so that an author can paste it over the old one.
    let changed = edited
        .lines()
        .zip(file.1.lines().chain(std::iter::repeat("")))
        .enumerate()
        .find(|(_, (new, old))| new != old);
    if let Some((at, (line, _))) = changed {
        p.snippet = format!(
            "# {}:{} 规则 {}（{}）：把第 {} 行改为（新词在前）：\n{line}\n",
            rule.location.file,
            rule.location.line,
            rule.id,
            rule.topic,
            at + 1
        );
    }
    file.1 = edited;
    let edited = match crate::ruleset::compile_texts(texts, rules.source().to_path_buf()) {
        Ok(s) => s,
        Err(e) => {
            p.load_error = Some(
                e.errors()
                    .take(3)
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join("; "),
            );
            return;
        }
    };
    let (mut fixes, mut breaks) = (0, 0);
    for (k, item) in corpus.iter().enumerate() {
        let r = edited.route(&item.input());
        let now = predicted(&edited, &item.label, &r).as_deref() == Some(item.label.as_str());
        match (right[k], now) {
            (false, true) => fixes += 1,
            (true, false) => breaks += 1,
            _ => {}
        }
    }
    p.fixes = Some(fixes);
    p.breaks = Some(breaks);
}

impl SuggestReport {
    pub fn render_text(&self) -> String {
        use std::fmt::Write as _;
        let mut o = String::new();
        let _ = writeln!(
            o,
            "规则版本 {}，语料 {} 条；每条建议在语料上的效果（改对 / 改错）为整套规则加上该建议后重新派单所得，只看规则本身，不含分类模型（服务时模型还会参与交叉核对和取舍：用 diff 看加上建议后实际派单的变化）。",
            self.version, self.rows
        );
        if self.proposals.is_empty() {
            let _ = writeln!(
                o,
                "没有建议：没有既常见又专属于某一类别、且尚未写进规则的漏词。"
            );
        }
        for p in &self.proposals {
            let _ = writeln!(
                o,
                "\n== {}：{} 条，转人工 {}，派错 {}",
                p.label, p.rows, p.unrouted, p.misrouted
            );
            let terms: Vec<String> = p
                .terms
                .iter()
                .map(|t| {
                    format!(
                        "{}（{} 条，{:.0}%）",
                        t.term,
                        t.missed_rows,
                        t.purity * 100.0
                    )
                })
                .collect();
            let _ = writeln!(o, "漏词：{}", terms.join("、"));
            o.push_str(&p.snippet);
            match (p.fixes, p.breaks, &p.load_error) {
                (Some(f), Some(b), _) => {
                    let _ = writeln!(
                        o,
                        "效果：改对 {f} 条，改错 {b} 条（净 {:+}）",
                        f as i64 - b as i64
                    );
                }
                (_, _, Some(e)) => {
                    let _ = writeln!(o, "未试：{e}");
                }
                _ => {}
            }
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "rules:\n  - id: a\n    conditions:\n      any: [x, y]\n    examples: [e]\n\n  - id: b\n    conditions:\n      all:\n        - [p]\n    examples: [f]\n  - id: c\n    conditions:\n      any: []\n";

    #[test]
    fn words_go_into_the_any_list_of_the_rule_or_a_new_one() {
        let a = add_any_terms(YAML, 2, &["新".into(), "词".into()]).unwrap();
        assert!(a.contains("      any: [新, 词, x, y]\n"), "{a}");
        let b = add_any_terms(YAML, 7, &["新".into()]).unwrap();
        assert!(
            b.contains("    conditions:\n      any: [新]\n      all:\n"),
            "{b}"
        );
        assert!(
            b.contains("  - id: a\n    conditions:\n      any: [x, y]\n"),
            "rule a untouched"
        );
        let c = add_any_terms(YAML, 12, &["新".into()]).unwrap();
        assert!(c.contains("      any: [新]\n"), "{c}");
        assert!(add_any_terms(YAML, 99, &["新".into()]).is_none());
    }
}
