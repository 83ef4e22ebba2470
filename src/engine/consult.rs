//! Stage 5b of a request: consult the classifier (when the rule set has one), after the rules
//! have decided and around the explanation.
//!
//! The rules stay the decision's ground; the classifier (see `crate::model`) only informs it,
//! as `settings.model` says:
//!
//! - **cross-check**: the rules dispatch, but the classifier gives their domain less than
//!   `below` and another domain at least `above`: the dispatch is kept with half its confidence
//!   and a reason naming both (`action: flag`, the default), or goes to manual triage
//!   (`action: manual`);
//! - **fallback** (opt-in): no rule reached the threshold, and the classifier gives one domain at
//!   least `fallback`: that domain's fallback rule decides, citing its articles, with
//!   `decided_by = MODEL_FALLBACK` and a reason that says so;
//! - **suggestions**: every manual decision carries the classifier's top labels, with their
//!   probabilities, departments and the n-grams that weighed most;
//! - **model_check**: every rules' dispatch says what the classifier thought.
//!
//! Hand-offs and out-of-scope matters are the rules' alone: an emergency is never held up or
//! second-guessed by a statistical model.

use super::decide::{Decided, Verdict};
use super::explain::round;
use super::score::{Candidate, Scored};
use crate::model::Features;
use crate::proto::v1 as pb;
use crate::ruleset::{Consultant, RuleSet, Target};

/// What the classifier said of one request.
pub(crate) struct Consulted {
    probabilities: Vec<f64>,
    /// Label indices by decreasing probability.
    order: Vec<usize>,
    /// For a rules' dispatch: the label of the dispatching rule's domain, if the model has it.
    rules_label: Option<usize>,
    /// The cross-check disputed a rules' dispatch: (the rules' label, the classifier's label).
    disputed: Option<(usize, usize)>,
    /// The classifier's label whose fallback rule decided.
    fallback: Option<usize>,
}

/// Whether the models are consulted on a verdict of the rules: never on a hand-off or an
/// out-of-scope matter.
pub(crate) fn consulted_on(verdict: Verdict) -> bool {
    !matches!(verdict, Verdict::Handoff | Verdict::OutOfScope)
}

/// Consults the classifier on a decision of the rules, given its `probabilities` for the text
/// (computed with the emergency check's in one pass by `pipeline.rs`, and only for a verdict
/// [`consulted_on`]), changing the verdict when the cross-check or the fallback applies. `None`
/// when there is nothing to consult (no classifier, no probabilities: a hand-off, an
/// out-of-scope matter, an empty text).
pub(crate) fn consult(
    set: &RuleSet,
    consultant: Option<&Consultant>,
    probabilities: Option<Vec<f64>>,
    scored: &mut Scored,
    decided: &mut Decided,
) -> Option<Consulted> {
    let c = consultant?;
    let probabilities = probabilities?;
    let order: Vec<usize> = c
        .model
        .rank(&probabilities)
        .iter()
        .map(|r| r.index)
        .collect();
    let top = *order.first()?;
    let rules_label = match decided.verdict {
        Verdict::Dispatch => decided
            .winner
            .and_then(|w| scored.candidates.get(w))
            .and_then(|w| c.label_of(set, &set.rules[w.rule])),
        _ => None,
    };
    let mut consulted = Consulted {
        probabilities,
        order,
        rules_label,
        disputed: None,
        fallback: None,
    };
    let p = &consulted.probabilities;
    let settings = &set.settings.model;
    match decided.verdict {
        Verdict::Dispatch => {
            let (Some((below, above)), Some(ours)) = (settings.cross_check, rules_label) else {
                return Some(consulted);
            };
            let other = *consulted.order.iter().find(|&&l| l != ours)?;
            if p[ours] < below && p[other] >= above {
                if settings.cross_check_manual {
                    decided.verdict = Verdict::Disputed;
                }
                consulted.disputed = Some((ours, other));
            }
        }
        Verdict::NoMatch => {
            let (Some(min), Some(Some(rule))) = (settings.fallback, c.fallback.get(top)) else {
                return Some(consulted);
            };
            let top_probability = p[top];
            if top_probability < min {
                return Some(consulted);
            }
            let winner = match scored.candidates.iter().position(|x| x.rule == *rule) {
                Some(i) => i,
                None => {
                    // The fallback rule did not fire at all: it decides without evidence.
                    let at = scored.evidence.len() as u32;
                    scored.candidates.push(Candidate {
                        rule: *rule,
                        score: 0.0,
                        evidence: at..at,
                    });
                    scored.candidates.len() - 1
                }
            };
            *decided = Decided {
                verdict: Verdict::Dispatch,
                winner: Some(winner),
                rival: None,
                confidence: top_probability,
                support: None,
                spread: None,
            };
            consulted.fallback = Some(top);
        }
        _ => {}
    }
    Some(consulted)
}

/// Adds what the classifier said to the response: who decided, the reason of a dispute or a
/// fallback, the model check of a dispatch, the suggestions of a manual decision.
pub(crate) fn annotate(
    set: &RuleSet,
    consultant: Option<&Consultant>,
    consulted: Option<&Consulted>,
    normalized: &str,
    resp: &mut pb::RouteResponse,
) {
    resp.decided_by = pb::DecidedBy::Rules as i32;
    let (Some(c), Some(k)) = (consultant, consulted) else {
        return;
    };
    let labels = c.model.labels();
    let p = &k.probabilities;
    let outcome = pb::Outcome::try_from(resp.outcome).unwrap_or(pb::Outcome::Unspecified);
    if let Some((ours, theirs)) = k.disputed {
        if outcome == pb::Outcome::Manual {
            resp.decided_by = pb::DecidedBy::CrossCheck as i32;
            resp.reason = format!(
                "规则判断属于「{}」，但分类模型认为属于「{}」的概率为 {:.2}，属于「{}」的仅 {:.2}，两者分歧过大，请人工分派。",
                labels[ours], labels[theirs], p[theirs], labels[ours], p[ours]
            );
        } else {
            resp.confidence = round(resp.confidence / 2.0);
            resp.reason.push_str(&format!(
                "（分类模型认为更可能属于「{}」（概率 {:.2}），属于「{}」的仅 {:.2}，请复核。）",
                labels[theirs], p[theirs], labels[ours], p[ours]
            ));
        }
    }
    if let Some(label) = k.fallback {
        resp.decided_by = pb::DecidedBy::ModelFallback as i32;
        resp.reason = format!(
            "没有规则命中；分类模型判断属于「{}」（概率 {:.2}），由该领域的兜底规则决定：{}",
            labels[label], p[label], resp.reason
        );
    }
    if outcome == pb::Outcome::Dispatch && k.fallback.is_none() {
        let ours = k.rules_label;
        if let Some(&top) = k.order.first() {
            resp.model_check = Some(pb::ModelCheck {
                top_label: labels[top].clone(),
                top_probability: round(p[top]),
                rules_probability: ours.map_or(0.0, |l| round(p[l])),
                agrees: ours == Some(top),
            });
        }
    }
    if outcome == pb::Outcome::Manual {
        // The n-grams are listed again here, for the few requests that need them, rather than
        // kept from `consult` for every request.
        let features = Features::of(normalized);
        resp.suggestions = k
            .order
            .iter()
            .take(set.settings.model.suggestions)
            .map(|&l| pb::Suggestion {
                label: labels[l].clone(),
                probability: round(p[l]),
                department: department_of(set, c, l),
                terms: c.model.weighed_most(&features, normalized, l, 5),
            })
            .collect();
    }
}

/// The department of a label: itself when labels are department ids, else its fallback rule's.
fn department_of(set: &RuleSet, c: &Consultant, label: usize) -> Option<pb::Department> {
    let dept = if c.labels_are_departments {
        c.model
            .labels()
            .get(label)
            .and_then(|id| set.departments.iter().position(|d| d.id == *id))
    } else {
        c.fallback
            .get(label)
            .copied()
            .flatten()
            .and_then(|r| match set.rules[r].target {
                Target::Dispatch { department, .. } => Some(department),
                _ => None,
            })
    }?;
    Some(super::explain::department_pb(&set.departments[dept]))
}
