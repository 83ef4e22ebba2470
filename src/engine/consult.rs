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
//! - **tie-break** (opt-in): the rules could not choose between two dispatch rules of different
//!   domains (`Ambiguous`: their scores and supports within the margin; `Spread`: another
//!   domain's evidence outweighs the winner's), and the classifier gives the domain of one of
//!   the two at least `tie_break`: that domain's best rule decides, citing its own articles and
//!   evidence, with `decided_by = MODEL_TIE_BREAK` and a reason naming both rules. The
//!   classifier only chooses between grounds the rules found; where it supports neither, or both
//!   rules are of one domain (it knows domains, not departments), a person does. Held out, its
//!   choices between two fired rules are right 85% of the time, while its overruling of a
//!   dispatch would be right 41% of the time (docs/accuracy.md): a tie is where it helps, a
//!   dispute is where it is least reliable, so disputes go to a person;
//! - **suggestions**: every manual decision carries the classifier's top labels, with their
//!   probabilities, departments and the n-grams that weighed most;
//! - **model_check**: every rules' dispatch says what the classifier thought.
//!
//! Hand-offs and out-of-scope matters are the rules' alone: an emergency is never held up or
//! second-guessed by a statistical model.

use super::decide::{Decided, Verdict};
use super::explain::{round, round_below};
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
    /// The rules could not choose and the classifier did.
    tie_break: Option<TieBreak>,
}

/// How the classifier chose between two fired rules the rules could not choose between.
struct TieBreak {
    /// The classifier's label, the domain of the chosen rule.
    label: usize,
    /// Rule indices (into `RuleSet::rules`): the one chosen and the other.
    chosen: usize,
    other: usize,
    /// Whether the rules' verdict was `Spread` (else `Ambiguous`).
    spread: bool,
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
        tie_break: None,
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
        Verdict::Ambiguous | Verdict::Spread => {
            let (Some(min), Some(w), Some(r)) = (settings.tie_break, decided.winner, decided.rival)
            else {
                return Some(consulted);
            };
            if p[top] < min {
                return Some(consulted);
            }
            // Both must be dispatch rules (an out-of-scope matter is the rules' alone) of
            // different domains as the classifier sees them, and one of them the classifier's.
            let label = |i: usize| {
                scored
                    .candidates
                    .get(i)
                    .and_then(|x| c.label_of(set, &set.rules[x.rule]))
            };
            let (Some(lw), Some(lr)) = (label(w), label(r)) else {
                return Some(consulted);
            };
            let other = match (lw == top, lr == top) {
                (true, false) => r,
                (false, true) => w,
                _ => return Some(consulted),
            };
            // The rule that speaks for the classifier's domain, as the rules rank them: highest
            // priority, then score (a spread's rival is its domain's best score, which may be
            // the domain's fallback while a specific rule of it fired too), among the rules that
            // reached the threshold on their own.
            let threshold = set.settings.threshold;
            let Some(chosen) = scored
                .candidates
                .iter()
                .enumerate()
                .filter(|(i, x)| x.score >= threshold && label(*i) == Some(top))
                // Best first; `min_by` keeps the first of equals, as the rules rank them.
                .min_by(|(_, a), (_, b)| {
                    let (ra, rb) = (&set.rules[a.rule], &set.rules[b.rule]);
                    rb.priority
                        .cmp(&ra.priority)
                        .then(b.score.total_cmp(&a.score))
                })
                .map(|(i, _)| i)
            else {
                return Some(consulted);
            };
            consulted.tie_break = Some(TieBreak {
                label: top,
                chosen: scored.candidates[chosen].rule,
                other: scored.candidates[other].rule,
                spread: decided.verdict == Verdict::Spread,
            });
            *decided = Decided {
                verdict: Verdict::Dispatch,
                winner: Some(chosen),
                rival: None,
                confidence: p[top],
                support: None,
                spread: None,
            };
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
    // A probability of the rules' domain below the cross-check's threshold is shown below it,
    // in the reason of a dispute and in `modelCheck`, never rounded up to it.
    let below = set
        .settings
        .model
        .cross_check
        .map_or(1.0, |(below, _)| below);
    if let Some((ours, theirs)) = k.disputed {
        let ours_p = round_below(p[ours], below, 100.0);
        if outcome == pb::Outcome::Manual {
            resp.decided_by = pb::DecidedBy::CrossCheck as i32;
            resp.reason = format!(
                "规则判断属于「{}」，但分类模型认为属于「{}」的概率为 {:.2}，属于「{}」的仅 {:.2}，两者分歧过大，请人工分派。",
                labels[ours], labels[theirs], p[theirs], labels[ours], ours_p
            );
        } else {
            resp.confidence = round(resp.confidence / 2.0);
            resp.reason.push_str(&format!(
                "（分类模型认为更可能属于「{}」（概率 {:.2}），属于「{}」的仅 {:.2}，请复核。）",
                labels[theirs], p[theirs], labels[ours], ours_p
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
    if let Some(t) = &k.tie_break {
        resp.decided_by = pb::DecidedBy::ModelTieBreak as i32;
        let topic = |r: usize| set.rules[r].topic.as_str();
        let why = if t.spread {
            "另一个领域的命中证据多于得分最高的规则所属领域"
        } else {
            "得分与各部门的合计得分都接近、承办部门不同"
        };
        resp.reason = format!(
            "规则在「{}」与「{}」之间难以取舍（{}）；分类模型判断属于「{}」的概率为 {:.2}，由「{}」决定：{}",
            topic(t.chosen),
            topic(t.other),
            why,
            labels[t.label],
            p[t.label],
            topic(t.chosen),
            resp.reason
        );
    }
    if outcome == pb::Outcome::Dispatch && k.fallback.is_none() && k.tie_break.is_none() {
        let ours = k.rules_label;
        if let Some(&top) = k.order.first() {
            resp.model_check = Some(pb::ModelCheck {
                top_label: labels[top].clone(),
                top_probability: round(p[top]),
                rules_probability: ours.map_or(0.0, |l| round_below(p[l], below, 10_000.0)),
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
