//! `eval --folds K`: rules alone and rules + classifier, scored on held-out folds only.
//!
//! The corpus is split into K folds with a fixed shuffle (the same as `train`'s, see
//! [`crate::model::train::folds`]). For each fold a classifier is trained on the other K − 1
//! (with its own inner cross-validation for calibration, as `train` does) and the fold is
//! decided by the rules consulting that classifier; the K held-out folds together give the
//! figures. No row is ever decided by a classifier that saw it. The rules themselves are the
//! same for every fold: their figures are the rules' on the whole corpus, which is held out only
//! if the rules were not written from it (docs/accuracy.md says which rows were read).
//!
//! Each fold's classifier also trains on the rule files' examples ([`example_rows`]), as
//! `train --rules` trains the one that ships: they are not messages of the corpus, so no
//! held-out row leaks through them.
//!
//! Besides the settings of `settings.yaml`, each part of the classifier is reported alone, so
//! that an author sees what the cross-check and the fallback each do.

use serde::Serialize;

use super::eval::{EvalReport, Labelled, evaluate_by, ratio};
use crate::engine::explain::round;
use crate::model::train::{self, Options};
use crate::proto::v1 as pb;
use crate::ruleset::{ModelSettings, RuleSet};

/// One way of deciding, on the held-out folds.
#[derive(Debug, Serialize)]
pub struct Variant {
    pub name: String,
    pub settings: String,
    pub report: EvalReport,
}

#[derive(Debug, Serialize)]
pub struct FoldsReport {
    pub folds: usize,
    pub rows: usize,
    /// The classifiers' own top-1 accuracy on their held-out folds.
    pub model_accuracy: f64,
    pub variants: Vec<Variant>,
    /// Per corpus row, what decided it on its held-out fold (`eval --folds K --rows FILE`);
    /// empty unless asked for.
    #[serde(skip)]
    pub held_out: Vec<HeldOut>,
}

/// One corpus row on its held-out fold: the rules' decision alone, the rules that fired, the
/// classifier's probabilities, and the decision as `settings.yaml` configures the classifier. No
/// text, only the row's id: an author joins it with the corpus, and the file can be shared
/// without the citizens' words.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeldOut {
    pub id: String,
    /// 1-based, as `--part F/K` names it.
    pub fold: usize,
    pub label: String,
    pub rules: Decision,
    /// The dispatch rules that fired: the rules' winner when they dispatch, then the other
    /// candidates in the rules' order (a response's alternatives, at most five), each with its
    /// level-1 category and score.
    pub fired: Vec<Fired>,
    /// The classifier's labels and their probabilities, in the model's label order.
    pub classifier: Vec<(String, f64)>,
    pub configured: Decision,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// dispatch, manual, handoff or out_of_scope.
    pub outcome: String,
    /// The level-1 category and the department dispatched to (a label may be either, as in
    /// `eval`).
    pub category: String,
    pub department: String,
    pub rule_id: String,
    pub confidence: f64,
    /// The proto's `DecidedBy` without its prefix, in lower case: rules, model_fallback,
    /// cross_check, model_tie_break …
    pub decided_by: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Fired {
    pub rule_id: String,
    pub category: String,
    pub score: f64,
}

impl Decision {
    fn of(resp: &pb::RouteResponse) -> Decision {
        let name = |full: &str, prefix: &str| {
            full.strip_prefix(prefix)
                .unwrap_or(full)
                .to_ascii_lowercase()
        };
        Decision {
            outcome: name(resp.outcome_name(), "OUTCOME_"),
            category: resp.category.first().cloned().unwrap_or_default(),
            department: resp.department_id().to_owned(),
            rule_id: resp.rule_id.clone(),
            confidence: resp.confidence,
            decided_by: name(resp.decided_by().as_str_name(), "DECIDED_BY_"),
        }
    }
}

impl FoldsReport {
    /// [`held_out`](Self::held_out) as JSON lines, one per corpus row in corpus order.
    pub fn held_out_jsonl(&self) -> String {
        let mut out = String::new();
        for row in &self.held_out {
            // A struct of strings and numbers always serializes.
            if let Ok(line) = serde_json::to_string(row) {
                out.push_str(&line);
                out.push('\n');
            }
        }
        out
    }
}

/// Cross-validates the rule set with a classifier trained per fold.
pub fn cross_validate(
    set: &RuleSet,
    corpus: &[Labelled],
    k: usize,
    worst: usize,
    keep_rows: bool,
) -> Result<FoldsReport, String> {
    // Every fold is scored by a model trained on the others: an empty fold scores nothing and
    // would print figures of no row.
    if corpus.len() < k {
        return Err(format!(
            "{} row(s) cannot make {k} folds: each fold needs at least one row; use fewer folds \
             or a larger corpus",
            corpus.len()
        ));
    }
    let rules_alone = set.with_model(None).map_err(|e| e.to_string())?;
    let configured = set.settings().model.clone();
    let opts = Options::default();
    let fold_of = train::folds(corpus.len(), k, opts.seed);
    let rows: Vec<(String, String)> = corpus
        .iter()
        .map(|item| (item.input().joined().into_owned(), item.label.clone()))
        .collect();
    let examples = example_rows(set, rows.iter().map(|r| r.1.as_str()));
    let mut sets = Vec::with_capacity(k);
    let mut right = 0usize;
    // With `keep_rows`, per row: fold f's classifier's probabilities, then the decisions of the
    // rules alone and of the configured sets, taken as the variants below score them.
    let mut probabilities: Vec<Vec<(String, f64)>> = Vec::new();
    let mut alone: Vec<Option<(Decision, Vec<Fired>)>> = Vec::new();
    let mut as_configured: Vec<Option<Decision>> = Vec::new();
    if keep_rows {
        probabilities.resize_with(corpus.len(), Vec::new);
        alone.resize_with(corpus.len(), || None);
        as_configured.resize_with(corpus.len(), || None);
    }
    for f in 0..k {
        let train_rows: Vec<(String, String)> = rows
            .iter()
            .zip(&fold_of)
            .filter(|(_, g)| **g != f)
            .map(|(r, _)| r.clone())
            .collect();
        let data = train::prepare_with(&train_rows, &examples);
        if data.labels.len() < 2 {
            return Err(format!(
                "the training rows of fold {} of {k} ({} rows) have {} distinct label(s); a \
                 classifier needs at least two: give more rows, or fewer folds",
                f + 1,
                train_rows.len(),
                data.labels.len()
            ));
        }
        let model = train::train(&data, &opts, k, "eval --folds");
        for (i, (text, label)) in rows.iter().enumerate() {
            if fold_of[i] != f {
                continue;
            }
            let mut n = crate::engine::normalize::Normalized::default();
            crate::engine::normalize::normalize_into(text, &mut n);
            let p = model.probabilities(&crate::model::Features::of(n.text()));
            right += usize::from(model.rank(&p).first().is_some_and(|r| r.label == label));
            if keep_rows {
                probabilities[i] = model
                    .labels()
                    .iter()
                    .cloned()
                    .zip(p.into_iter().map(round))
                    .collect();
            }
        }
        sets.push(set.with_model(Some(model)).map_err(|e| e.to_string())?);
    }
    let mut variants = vec![Variant {
        name: "rules alone".into(),
        settings: "-".into(),
        report: evaluate_by(&[&rules_alone], None, corpus, worst, &mut |i, resp| {
            if keep_rows {
                alone[i] = Some((Decision::of(resp), fired(resp)));
            }
        }),
    }];
    let mut run = |name: &str,
                   model: ModelSettings,
                   sets: &mut Vec<RuleSet>,
                   each: &mut dyn FnMut(usize, &pb::RouteResponse)| {
        for s in sets.iter_mut() {
            s.settings.model = model.clone();
        }
        let refs: Vec<&RuleSet> = sets.iter().collect();
        variants.push(Variant {
            name: name.into(),
            settings: describe(&model),
            report: evaluate_by(&refs, Some(&fold_of), corpus, worst, each),
        });
    };
    if configured.cross_check.is_some() {
        // Both actions: `flag` keeps every figure of the rules (it only lowers confidence), so
        // what the cross-check is worth shows in `manual`.
        let only = ModelSettings {
            fallback: None,
            tie_break: None,
            cross_check_manual: true,
            ..configured.clone()
        };
        run(
            "rules + cross-check (manual)",
            only,
            &mut sets,
            &mut |_, _| {},
        );
    }
    if configured.tie_break.is_some() {
        let only = ModelSettings {
            cross_check: None,
            fallback: None,
            ..configured.clone()
        };
        run("rules + tie-break", only, &mut sets, &mut |_, _| {});
    }
    if configured.fallback.is_some() {
        let only = ModelSettings {
            cross_check: None,
            tie_break: None,
            ..configured.clone()
        };
        run("rules + fallback", only, &mut sets, &mut |_, _| {});
    }
    run(
        "rules + model (settings.yaml)",
        configured,
        &mut sets,
        &mut |i, resp| {
            if keep_rows {
                as_configured[i] = Some(Decision::of(resp));
            }
        },
    );
    let held_out: Vec<HeldOut> = corpus
        .iter()
        .zip(&fold_of)
        .zip(probabilities.into_iter().zip(alone).zip(as_configured))
        .filter_map(|((item, &f), ((classifier, alone), configured))| {
            let (rules, fired) = alone?;
            Some(HeldOut {
                id: item.id.clone(),
                fold: f + 1,
                label: item.label.clone(),
                rules,
                fired,
                classifier,
                configured: configured?,
            })
        })
        .collect();
    Ok(FoldsReport {
        folds: k,
        rows: corpus.len(),
        model_accuracy: ratio(right, corpus.len()),
        variants,
        held_out,
    })
}

/// The dispatch rules that fired in a decision of the rules alone: the winner when they
/// dispatch, then the other candidates in the rules' order.
fn fired(resp: &pb::RouteResponse) -> Vec<Fired> {
    let dispatch = pb::Outcome::Dispatch as i32;
    let mut fired = Vec::new();
    if resp.outcome == dispatch {
        fired.push(Fired {
            rule_id: resp.rule_id.clone(),
            category: resp.category.first().cloned().unwrap_or_default(),
            score: resp.score,
        });
    }
    fired.extend(
        resp.alternatives
            .iter()
            .filter(|a| a.outcome == dispatch)
            .map(|a| Fired {
                rule_id: a.rule_id.clone(),
                category: a.category.first().cloned().unwrap_or_default(),
                score: a.score,
            }),
    );
    fired
}

fn describe(m: &ModelSettings) -> String {
    let mut parts = Vec::new();
    if let Some((below, above)) = m.cross_check {
        let action = if m.cross_check_manual {
            "manual"
        } else {
            "flag"
        };
        parts.push(format!("cross_check below {below} above {above} {action}"));
    }
    if let Some(t) = m.tie_break {
        parts.push(format!("tie_break {t}"));
    }
    if let Some(f) = m.fallback {
        parts.push(format!("fallback {f}"));
    }
    parts.push(format!("suggestions {}", m.suggestions));
    parts.join(", ")
}

impl FoldsReport {
    /// The table of variants, for a terminal.
    pub fn render_text(&self) -> String {
        use std::fmt::Write as _;
        let mut o = String::new();
        let _ = writeln!(
            o,
            "{}-fold cross-validation on {} requests (every figure on held-out folds; the \
             classifier of each fold did not see it); classifier alone: top-1 accuracy {:.4}",
            self.folds, self.rows, self.model_accuracy
        );
        let _ = writeln!(
            o,
            "\n{:<32} {:>9} {:>11} {:>8} {:>7} {:>8} {:>9}  settings",
            "variant", "coverage", "dispatched", "overall", "manual", "hand-off", "suggested"
        );
        for v in &self.variants {
            let r = &v.report;
            // Of the manual decisions with suggestions, the share whose right label is among them.
            let suggested = if r.manual_with_suggestions > 0 {
                format!(
                    "{:.4}",
                    super::eval::ratio(r.suggested_among, r.manual_with_suggestions)
                )
            } else {
                "-".to_owned()
            };
            let _ = writeln!(
                o,
                "{:<32} {:>9.4} {:>11.4} {:>8.4} {:>7} {:>8} {:>9}  {}",
                v.name,
                r.coverage,
                r.dispatched_accuracy,
                r.overall_accuracy,
                r.manual,
                r.handoff,
                suggested,
                v.settings
            );
        }
        o
    }

    /// The variant with the settings of `settings.yaml`.
    pub fn configured(&self) -> Option<&EvalReport> {
        self.variants.last().map(|v| &v.report)
    }
}

/// One fold of a corpus under the fixed shuffle of `eval --folds` and `train`: `F/K` is fold F
/// (1 to K) of K. Rule authors read one fold's misses (`eval --part F/K`) and judge an edit on
/// the others (`eval --without F/K`), so that a rule change is scored on rows it was not written
/// from; docs/rule-edits.md is the log of which fold was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fold {
    /// 1-based.
    pub fold: usize,
    pub of: usize,
}

impl std::str::FromStr for Fold {
    type Err = String;

    fn from_str(s: &str) -> Result<Fold, String> {
        let bad = || format!("\"{s}\" is not a fold; write F/K, e.g. 2/5 (fold 2 of 5)");
        let (f, k) = s.split_once('/').ok_or_else(bad)?;
        let fold: usize = f.trim().parse().map_err(|_| bad())?;
        let of: usize = k.trim().parse().map_err(|_| bad())?;
        if !(2..=20).contains(&of) || fold == 0 || fold > of {
            return Err(format!(
                "fold {fold} of {of}: K must be 2 to 20 and F between 1 and K"
            ));
        }
        Ok(Fold { fold, of })
    }
}

impl std::fmt::Display for Fold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.fold, self.of)
    }
}

impl Fold {
    /// The rows of this fold (`inside`) or of every other fold (`!inside`), in corpus order.
    pub fn select<T: Clone>(&self, corpus: &[T], inside: bool) -> Vec<T> {
        let fold_of = train::folds(corpus.len(), self.of, Options::default().seed);
        corpus
            .iter()
            .zip(&fold_of)
            .filter(|(_, f)| (**f == self.fold - 1) == inside)
            .map(|(row, _)| row.clone())
            .collect()
    }
}

/// The examples of the dispatch rules as labelled rows, each with the corpus label its rule falls
/// under: the rule's department when the labels are department ids, else the longest path of the
/// rule's category that is a label (its level-1 category for a corpus labelled at level 1).
/// Examples whose rule has no such label are left out. In rule order, so training stays
/// deterministic.
///
/// Why train on them: the corpus and the rule authors sometimes file the same matter under
/// different categories (noise from a building site: 城乡建设 in the corpus, 环境保护 in the
/// rules, which follow the noise law). A classifier that never saw the authors' own phrasings
/// disputes the rules on their examples, and a cross-check that sends disputes to a person would
/// then send the examples there too.
pub fn example_rows<'a>(
    set: &RuleSet,
    corpus_labels: impl IntoIterator<Item = &'a str>,
) -> Vec<(String, String)> {
    let mut labels: Vec<&str> = corpus_labels.into_iter().collect();
    labels.sort_unstable();
    labels.dedup();
    let is_label = |l: &str| labels.binary_search(&l).is_ok();
    let by_department = !labels.is_empty() && labels.iter().all(|l| set.department(l).is_some());
    let mut rows = Vec::new();
    for rule in &set.rules {
        let crate::ruleset::Target::Dispatch { department, .. } = rule.target else {
            continue;
        };
        let label = if by_department {
            set.departments
                .get(department)
                .map(|d| d.id.clone())
                .filter(|id| is_label(id))
        } else {
            (1..=rule.category.len())
                .rev()
                .map(|n| rule.category[..n].join("/"))
                .find(|path| is_label(path))
        };
        let Some(label) = label else { continue };
        rows.extend(
            rule.examples
                .iter()
                .map(|e| (e.text.clone(), label.clone())),
        );
    }
    rows
}

#[cfg(test)]
mod fold_tests {
    use super::*;

    #[test]
    fn a_fold_and_the_others_split_the_corpus() {
        let rows: Vec<usize> = (0..103).collect();
        let mut seen = Vec::new();
        for f in 1..=5 {
            let fold: Fold = format!("{f}/5").parse().unwrap();
            let part = fold.select(&rows, true);
            let rest = fold.select(&rows, false);
            assert_eq!(part.len() + rest.len(), rows.len());
            assert!(part.len() == 20 || part.len() == 21, "{}", part.len());
            assert!(part.iter().all(|r| !rest.contains(r)));
            seen.extend(part);
        }
        seen.sort_unstable();
        assert_eq!(seen, rows, "the five folds cover every row once");
        // The same shuffle as training's folds.
        let fold_of = train::folds(rows.len(), 5, Options::default().seed);
        let two: Fold = "2/5".parse().unwrap();
        assert!(two.select(&rows, true).iter().all(|&r| fold_of[r] == 1));
    }

    #[test]
    fn bad_folds_are_refused_with_the_form_to_write() {
        assert!("2-5".parse::<Fold>().unwrap_err().contains("F/K"));
        assert!("0/5".parse::<Fold>().is_err());
        assert!("6/5".parse::<Fold>().is_err());
        assert!("1/1".parse::<Fold>().is_err());
    }
}
