//! `hotline-router eval`: how well a rule set routes a labelled corpus.
//!
//! Each line of the corpus holds `id`, `title` and/or `text`, and a gold label: a level-1 category
//! of the hotline taxonomy. A request counts as right when the router *dispatches* it and the
//! decision's category starts with the gold label; manual triage, hand-offs and out-of-scope
//! answers count as wrong in overall accuracy (the router did not decide), and are reported
//! separately as coverage. The report also says what the router missed: the words most frequent
//! in requests that went to manual triage, and the confident misroutes with the evidence that
//! caused them, which is where a rule author should look next.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::BufRead;

use serde::Serialize;

use crate::proto::v1 as pb;
use crate::ruleset::RuleSet;

/// One labelled request.
#[derive(Debug, Clone)]
pub struct Labelled {
    pub id: String,
    pub title: String,
    pub text: String,
    pub label: String,
}

impl Labelled {
    /// The request as the engine takes it.
    pub fn input(&self) -> crate::request::RouteInput<'_> {
        crate::request::RouteInput {
            id: &self.id,
            title: &self.title,
            text: &self.text,
            ..Default::default()
        }
    }
}

/// UTF-8's byte-order mark.
pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The lines of a JSONL file with their numbers (from 1), each as text (a byte-order mark at the
/// start of the file dropped), or `None` for a line that is not valid UTF-8 (a reader skips it
/// and says which it was, rather than refusing the file).
pub(crate) fn numbered_lines(
    mut input: impl BufRead,
) -> impl Iterator<Item = std::io::Result<(usize, Option<String>)>> {
    let mut n = 0usize;
    let mut buf = Vec::new();
    std::iter::from_fn(move || {
        buf.clear();
        match input.read_until(b'\n', &mut buf) {
            Ok(0) => None,
            Ok(_) => {
                n += 1;
                // A byte-order mark, which Windows editors and spreadsheet exports put at the
                // start of a UTF-8 file, is not part of the first line's JSON.
                if n == 1 && buf.starts_with(BOM) {
                    buf.drain(..BOM.len());
                }
                Some(Ok((n, String::from_utf8(std::mem::take(&mut buf)).ok())))
            }
            Err(e) => Some(Err(e)),
        }
    })
}

/// Reads a JSONL corpus; lines without the label field or without any text, and lines that are
/// not JSON or not UTF-8, are skipped: their line numbers are returned as the second value.
pub fn read_corpus(
    input: impl BufRead,
    label_field: &str,
) -> std::io::Result<(Vec<Labelled>, Vec<usize>)> {
    read_items(input, Some(label_field))
}

/// Reads a JSONL corpus without labels (for `diff` and `lint --input`): every line with text;
/// the numbers of the lines skipped (no JSON, no text, not UTF-8) are the second value.
pub fn read_corpus_unlabelled(input: impl BufRead) -> std::io::Result<(Vec<Labelled>, Vec<usize>)> {
    read_items(input, None)
}

/// The items of a JSONL corpus that have text (and, with `label_field`, a label), and the
/// numbers of the other lines but blank ones.
fn read_items(
    input: impl BufRead,
    label_field: Option<&str>,
) -> std::io::Result<(Vec<Labelled>, Vec<usize>)> {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for line in numbered_lines(input) {
        let (n, line) = line?;
        let Some(line) = line else {
            skipped.push(n);
            continue;
        };
        if line.trim().is_empty() {
            continue;
        }
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
            skipped.push(n);
            continue;
        };
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned();
        let id = match v.get("id") {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => format!("line {n}"),
        };
        let item = Labelled {
            id,
            title: s("title"),
            text: s("text"),
            // " 交通运输" and "交通运输" are one label: a stray space from a spreadsheet must
            // not make a category of its own, counted as wrong everywhere.
            label: label_field
                .map(|f| s(f).trim().to_owned())
                .unwrap_or_default(),
        };
        let unlabelled = label_field.is_some() && item.label.is_empty();
        if unlabelled || (item.title.trim().is_empty() && item.text.trim().is_empty()) {
            skipped.push(n);
        } else {
            out.push(item);
        }
    }
    Ok((out, skipped))
}

/// The labels of `corpus` that are neither a department id nor a level-1 category of `set`
/// (which `eval` compares them with), with their row counts, most frequent first: rows that
/// always count as wrong.
pub fn unknown_labels(set: &crate::RuleSet, corpus: &[Labelled]) -> Vec<(String, usize)> {
    let known = |label: &str| {
        set.department(label).is_some()
            || set
                .categories()
                .iter()
                .any(|c| c.first().is_some_and(|l| l == label))
    };
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for item in corpus.iter().filter(|i| !known(&i.label)) {
        *counts.entry(item.label.as_str()).or_default() += 1;
    }
    let mut out: Vec<(String, usize)> =
        counts.into_iter().map(|(l, n)| (l.to_owned(), n)).collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

/// "lines 3, 7 and 12", at most the first ten, for a warning about skipped lines.
pub fn line_list(lines: &[usize]) -> String {
    let word = if lines.len() == 1 { "line" } else { "lines" };
    format!("{word} {}", listed(lines.iter().map(usize::to_string)))
}

/// "a, b, c and 4 more": the first ten items, and how many are left, for a warning.
pub fn listed(items: impl ExactSizeIterator<Item = String>) -> String {
    let total = items.len();
    let shown: Vec<String> = items.take(10).collect();
    match total.saturating_sub(shown.len()) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

/// The first `max` characters of `s`, with "…" when there were more.
pub fn clipped(s: &str, max: usize) -> String {
    let mut out: String = s.chars().take(max).collect();
    if s.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

#[derive(Debug, Clone, Serialize)]
pub struct CategoryScore {
    pub label: String,
    pub support: usize,
    pub predicted: usize,
    pub correct: usize,
    pub precision: f64,
    pub recall: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Misroute {
    pub id: String,
    pub excerpt: String,
    pub gold: String,
    pub predicted: String,
    pub rule_id: String,
    pub confidence: f64,
    pub evidence: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub rules_version: String,
    pub total: usize,
    pub dispatched: usize,
    pub manual: usize,
    pub handoff: usize,
    pub out_of_scope: usize,
    /// Share of requests dispatched.
    pub coverage: f64,
    /// Correct / dispatched.
    pub dispatched_accuracy: f64,
    /// Correct / total (manual, hand-off and out-of-scope count as wrong).
    pub overall_accuracy: f64,
    /// Manual decisions that carry the classifier's suggestions (an operator picks from them).
    pub manual_with_suggestions: usize,
    /// Of those, how many have the gold label as the first suggestion, and among the suggestions.
    pub suggested_first: usize,
    pub suggested_among: usize,
    pub categories: Vec<CategoryScore>,
    /// `confusion[gold][predicted]` = count; predicted "(manual)" etc. for undecided requests.
    pub confusion: BTreeMap<String, BTreeMap<String, usize>>,
    /// Words most frequent (by number of requests) among requests sent to manual triage.
    pub manual_terms: Vec<(String, usize)>,
    /// The same, per gold category: what the requests of each category that no rule took say.
    pub manual_terms_by_label: BTreeMap<String, Vec<(String, usize)>>,
    /// Wrong dispatches, most confident first.
    pub worst_misroutes: Vec<Misroute>,
}

const EXCERPT_CHARS: usize = 60;

/// Counts the content words of a request that went to manual triage, once per request, overall
/// and for its label.
fn count_words(
    set: &RuleSet,
    item: &Labelled,
    all: &mut HashMap<String, usize>,
    by_label: &mut HashMap<String, usize>,
) {
    let joined = item.input().joined();
    let words: HashSet<String> = set.content_words(&joined).into_iter().collect();
    for w in words {
        *by_label.entry(w.clone()).or_insert(0) += 1;
        *all.entry(w).or_insert(0) += 1;
    }
}

/// Routes every item and scores the decisions.
pub fn evaluate(set: &RuleSet, corpus: &[Labelled], worst: usize) -> EvalReport {
    evaluate_by(&[set], None, corpus, worst, &mut |_, _| {})
}

/// Routes item `i` with `sets[fold_of[i]]` (every item with `sets[0]` when `fold_of` is `None`)
/// and scores the decisions together: cross-validation, where each fold is decided by a rule
/// set whose classifier did not see it. Versions, departments and words come from `sets[0]`.
/// `each` sees every item's index and decision as it is scored (`eval --folds --rows` keeps
/// them), so that a caller who wants the decisions does not route the corpus again.
pub fn evaluate_by(
    sets: &[&RuleSet],
    fold_of: Option<&[usize]>,
    corpus: &[Labelled],
    worst: usize,
    each: &mut dyn FnMut(usize, &pb::RouteResponse),
) -> EvalReport {
    let set = sets[0];
    let mut confusion: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let (mut dispatched, mut manual, mut handoff, mut oos, mut correct) = (0, 0, 0, 0, 0);
    let mut manual_df: HashMap<String, usize> = HashMap::new();
    let mut manual_df_by_label: HashMap<String, HashMap<String, usize>> = HashMap::new();
    let mut misroutes = Vec::new();
    let (mut with_suggestions, mut suggested_first, mut suggested_among) = (0, 0, 0);
    for (i, item) in corpus.iter().enumerate() {
        let decider = fold_of
            .and_then(|f| f.get(i))
            .and_then(|&f| sets.get(f))
            .unwrap_or(&set);
        let resp = decider.route(&item.input());
        each(i, &resp);
        let outcome = pb::Outcome::try_from(resp.outcome).unwrap_or(pb::Outcome::Unspecified);
        let predicted = match outcome {
            // A label that is a department id (as `export --labelled` writes) is compared with
            // the department; any other label with the level-1 category.
            pb::Outcome::Dispatch if set.department(&item.label).is_some() => {
                dispatched += 1;
                resp.department_id().to_owned()
            }
            pb::Outcome::Dispatch => {
                dispatched += 1;
                resp.category.first().cloned().unwrap_or_default()
            }
            pb::Outcome::Handoff => {
                handoff += 1;
                "(handoff)".to_owned()
            }
            pb::Outcome::OutOfScope => {
                oos += 1;
                "(out of scope)".to_owned()
            }
            _ => {
                manual += 1;
                // A suggestion names a label of the classifier's and its fallback department.
                let gold = |s: &pb::Suggestion| {
                    s.label == item.label
                        || s.department.as_ref().is_some_and(|d| d.id == item.label)
                };
                if !resp.suggestions.is_empty() {
                    with_suggestions += 1;
                    suggested_first += usize::from(resp.suggestions.first().is_some_and(gold));
                    suggested_among += usize::from(resp.suggestions.iter().any(gold));
                }
                let by_label = manual_df_by_label.entry(item.label.clone()).or_default();
                count_words(set, item, &mut manual_df, by_label);
                "(manual)".to_owned()
            }
        };
        if outcome == pb::Outcome::Dispatch {
            if predicted == item.label {
                correct += 1;
            } else {
                misroutes.push(Misroute {
                    id: item.id.clone(),
                    excerpt: excerpt(&item.title, &item.text),
                    gold: item.label.clone(),
                    predicted: predicted.clone(),
                    rule_id: resp.rule_id.clone(),
                    confidence: resp.confidence,
                    evidence: resp.evidence.iter().map(|e| e.text.clone()).collect(),
                });
            }
        }
        *confusion
            .entry(item.label.clone())
            .or_default()
            .entry(predicted)
            .or_insert(0) += 1;
    }

    let labels: Vec<String> = confusion.keys().cloned().collect();
    let categories = labels
        .iter()
        .map(|l| {
            let support: usize = confusion.get(l).map_or(0, |row| row.values().sum());
            let predicted: usize = confusion
                .values()
                .map(|row| row.get(l).copied().unwrap_or(0))
                .sum();
            let c = confusion
                .get(l)
                .and_then(|row| row.get(l))
                .copied()
                .unwrap_or(0);
            CategoryScore {
                label: l.clone(),
                support,
                predicted,
                correct: c,
                precision: ratio(c, predicted),
                recall: ratio(c, support),
            }
        })
        .collect();

    let manual_terms = top_terms(manual_df, 40);
    let manual_terms_by_label = manual_df_by_label
        .into_iter()
        .map(|(label, df)| (label, top_terms(df, 25)))
        .collect();
    misroutes.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then_with(|| a.id.cmp(&b.id))
    });
    misroutes.truncate(worst);

    let total = corpus.len();
    EvalReport {
        rules_version: set.version().to_owned(),
        total,
        dispatched,
        manual,
        handoff,
        out_of_scope: oos,
        coverage: ratio(dispatched, total),
        dispatched_accuracy: ratio(correct, dispatched),
        overall_accuracy: ratio(correct, total),
        manual_with_suggestions: with_suggestions,
        suggested_first,
        suggested_among,
        categories,
        confusion,
        manual_terms,
        manual_terms_by_label,
        worst_misroutes: misroutes,
    }
}

fn top_terms(df: HashMap<String, usize>, n: usize) -> Vec<(String, usize)> {
    let mut v: Vec<(String, usize)> = df.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(n);
    v
}

pub(crate) fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        (a as f64 / b as f64 * 10_000.0).round() / 10_000.0
    }
}

fn excerpt(title: &str, text: &str) -> String {
    let joined = if title.is_empty() {
        text.to_owned()
    } else {
        format!("{title}｜{text}")
    };
    clipped(&joined, EXCERPT_CHARS).replace('\n', " ")
}

impl EvalReport {
    /// The report as text for a terminal.
    pub fn render_text(&self) -> String {
        use std::fmt::Write as _;
        let mut o = String::new();
        let _ = writeln!(
            o,
            "rules version {}; {} requests",
            self.rules_version, self.total
        );
        let _ = writeln!(
            o,
            "coverage {:.4} (dispatched {}, manual {}, hand-off {}, out of scope {})",
            self.coverage, self.dispatched, self.manual, self.handoff, self.out_of_scope
        );
        let _ = writeln!(o, "accuracy on dispatched {:.4}", self.dispatched_accuracy);
        let _ = writeln!(
            o,
            "overall accuracy {:.4} (manual counts as wrong)",
            self.overall_accuracy
        );
        if self.manual_with_suggestions > 0 {
            let _ = writeln!(
                o,
                "manual decisions with the classifier's suggestions: {}; the right label first in \
                 {} ({:.4}), among them in {} ({:.4})",
                self.manual_with_suggestions,
                self.suggested_first,
                ratio(self.suggested_first, self.manual_with_suggestions),
                self.suggested_among,
                ratio(self.suggested_among, self.manual_with_suggestions)
            );
        }
        let _ = writeln!(
            o,
            "\n{:<12} {:>7} {:>9} {:>7} {:>9} {:>7}",
            "category", "support", "predicted", "correct", "precision", "recall"
        );
        for c in &self.categories {
            let _ = writeln!(
                o,
                "{:<12} {:>7} {:>9} {:>7} {:>9.4} {:>7.4}",
                c.label, c.support, c.predicted, c.correct, c.precision, c.recall
            );
        }
        let mut cols: Vec<&String> = self.confusion.values().flat_map(|r| r.keys()).collect();
        cols.sort();
        cols.dedup();
        let _ = writeln!(o, "\nconfusion (rows gold, columns predicted):");
        let _ = writeln!(
            o,
            "{:<12} {}",
            "",
            cols.iter()
                .map(|c| format!("{c:>8}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        for (gold, row) in &self.confusion {
            let cells: Vec<String> = cols
                .iter()
                .map(|c| format!("{:>8}", row.get(*c).copied().unwrap_or(0)))
                .collect();
            let _ = writeln!(o, "{gold:<12} {}", cells.join(" "));
        }
        let _ = writeln!(
            o,
            "\nmost frequent words in requests sent to manual triage:"
        );
        let words: Vec<String> = self
            .manual_terms
            .iter()
            .map(|(w, n)| format!("{w}({n})"))
            .collect();
        let _ = writeln!(o, "{}", words.join(" "));
        for (label, terms) in &self.manual_terms_by_label {
            let words: Vec<String> = terms.iter().map(|(w, n)| format!("{w}({n})")).collect();
            let _ = writeln!(o, "  {label}: {}", words.join(" "));
        }
        let _ = writeln!(o, "\nworst misroutes:");
        for m in &self.worst_misroutes {
            let _ = writeln!(
                o,
                "{} gold {} → {} by {} ({:.2}) evidence [{}]: {}",
                m.id,
                m.gold,
                m.predicted,
                m.rule_id,
                m.confidence,
                m.evidence.join(", "),
                m.excerpt
            );
        }
        o
    }
}
