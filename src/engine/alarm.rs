//! Stage 5c of a request: the emergency check, after the rules (and the classifier) have decided
//! and before the explanation.
//!
//! The hand-off rules miss emergencies phrased in words nobody wrote into them: on emergency
//! sets by authors whose wording the rules were never written from, about seven in ten were
//! handed off (docs/accuracy.md). An emergency that waits in an ordinary triage queue is the worst
//! failure the service can have, and a learned check of "is this an emergency?" generalizes to
//! unseen wording far better than word lists do. So a second model (`emergency.model` beside the
//! rules, labels: the lines and `none`) reads every request the rules did not hand off; when it
//! gives "an emergency" at least `settings.model.emergency`, the request goes to manual triage at
//! once, flagged `possible_emergency` with the lines it may need, and `decided_by`
//! EMERGENCY_CHECK.
//!
//! The check never hands a request off: a statistical model does not transfer a caller to 110.
//! It only takes a request out of the rules' dispatch or the ordinary queue and puts it before a
//! person, with what it saw. Hand-offs and out-of-scope matters are the rules' alone.
//!
//! The other way round, the check never stops a hand-off either. But the hand-off rules also
//! fire on ordinary requests written in emergency words (5-6% of the ordinary requests of each
//! new author's set, docs/accuracy.md), and on those the check is nearly always sure there is no
//! emergency, while it almost never is on a real one. So when `settings.model.handoff_doubt` is
//! set and the check gives a hand-off "an emergency" below it, the hand-off stands and says so
//! (`handoff_doubt`, and a sentence in `reason`): the operator confirms with the caller before
//! transferring, instead of sending a permit question to 110.

use super::decide::{Decided, Verdict};
use super::explain::{round, round_below};
use crate::proto::v1 as pb;
use crate::ruleset::{EmergencyCheck, RuleSet};

/// Lines listed in a flagged response, at most.
const MAX_LINES: usize = 3;

/// What the check found in a request it flags.
pub(crate) struct Alarm {
    /// Its probability that the request is an emergency (1 − p(none)).
    probability: f64,
    /// The line labels, most likely first, with their probabilities.
    lines: Vec<(usize, f64)>,
    /// The topic of the rule the rules had chosen, if they had dispatched.
    overruled: Option<String>,
}

/// The emergency check a rule set runs, with its threshold: both the model and the setting.
pub(crate) fn enabled(set: &RuleSet) -> Option<(&EmergencyCheck, f64)> {
    Some((set.emergency.as_deref()?, set.settings.model.emergency?))
}

/// The check and `settings.model.handoff_doubt` when a decision of the rules is to be weighed
/// for doubt: a hand-off, with both there, and no hand-off among the `candidates` (the primary
/// line's or a co-line's) that its authors marked `doubt: false`.
pub(crate) fn doubting<'s>(
    set: &'s RuleSet,
    verdict: Verdict,
    candidates: &[super::score::Candidate],
) -> Option<(&'s EmergencyCheck, f64)> {
    if verdict != Verdict::Handoff {
        return None;
    }
    let undoubted = candidates
        .iter()
        .filter_map(|c| set.rules.get(c.rule))
        .any(|r| r.is_handoff() && !r.doubt);
    if undoubted {
        return None;
    }
    Some((set.emergency.as_deref()?, set.settings.model.handoff_doubt?))
}

/// The check's doubt on a hand-off: its probability that the request is an emergency, below the
/// setting's `threshold`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Doubt {
    probability: f64,
    threshold: f64,
}

/// The check's doubt on a handed-off request, when its probability is below `below` (see the
/// module docs); `None` otherwise.
pub(crate) fn doubt(check: &EmergencyCheck, below: f64, probabilities: &[f64]) -> Option<Doubt> {
    let probability = emergency_probability(check, probabilities);
    (probability < below).then_some(Doubt {
        probability,
        threshold: below,
    })
}

/// The check's probability that a request is an emergency: 1 − p(none).
fn emergency_probability(check: &EmergencyCheck, probabilities: &[f64]) -> f64 {
    1.0 - probabilities.get(check.none).copied().unwrap_or(1.0)
}

/// The sentence a doubted hand-off's reason ends with (the console shows it too).
pub(crate) fn doubt_sentence(probability: f64, threshold: f64) -> String {
    let shown = round_below(probability, threshold, 100.0);
    format!(
        "紧急情况检查认为这多半不是正在发生的紧急情况（概率 {shown:.2}），转接前请向来电人核实。"
    )
}

/// Says in the response that the check doubts the hand-off.
pub(crate) fn annotate_doubt(doubt: Option<Doubt>, resp: &mut pb::RouteResponse) {
    let Some(Doubt {
        probability,
        threshold,
    }) = doubt
    else {
        return;
    };
    resp.reason
        .push_str(&doubt_sentence(probability, threshold));
    resp.handoff_doubt = Some(pb::HandoffDoubt {
        probability: round_below(probability, threshold, 10_000.0),
    });
}

/// Runs the check on a decision of the rules, given the check's probabilities for the text
/// (computed with the classifier's in one pass by `pipeline.rs`, and only for a verdict the
/// models are consulted on: never a hand-off or an out-of-scope matter); when it fires, the
/// verdict becomes [`Verdict::PossibleEmergency`]. `None` when it does not fire or does not
/// apply (no `emergency.model`, the setting off, no probabilities).
pub(crate) fn check(
    set: &RuleSet,
    probabilities: Option<Vec<f64>>,
    candidates: &[super::score::Candidate],
    decided: &mut Decided,
) -> Option<Alarm> {
    let (check, threshold) = enabled(set)?;
    let p = probabilities?;
    let probability = emergency_probability(check, &p);
    if probability < threshold {
        return None;
    }
    let mut lines: Vec<(usize, f64)> = p
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != check.none)
        .map(|(i, &q)| (i, q))
        .collect();
    // Highest first; ties by label order, so that the same text gives the same list.
    lines.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    lines.truncate(MAX_LINES);
    let overruled = match decided.verdict {
        Verdict::Dispatch => decided
            .winner
            .and_then(|w| candidates.get(w))
            .map(|c| set.rules[c.rule].topic.clone()),
        _ => None,
    };
    decided.verdict = Verdict::PossibleEmergency;
    Some(Alarm {
        probability,
        lines,
        overruled,
    })
}

/// Says in the response what the check found: the flag, who decided and why.
pub(crate) fn annotate(set: &RuleSet, alarm: Option<&Alarm>, resp: &mut pb::RouteResponse) {
    let (Some(a), Some((check, _))) = (alarm, enabled(set)) else {
        return;
    };
    let labels = check.model.labels();
    let lines: Vec<pb::PossibleLine> = a
        .lines
        .iter()
        .map(|&(i, p)| pb::PossibleLine {
            line: labels[i].clone(),
            name: check.names[i].clone(),
            probability: round(p),
        })
        .collect();
    let listed = lines
        .iter()
        .map(|l| {
            if l.name.is_empty() {
                format!("{} {:.2}", l.line, l.probability)
            } else {
                format!("{} {} {:.2}", l.line, l.name, l.probability)
            }
        })
        .collect::<Vec<_>>()
        .join("、");
    let mut reason = format!(
        "紧急情况检查认为这可能是紧急情况（概率 {:.2}；可能需要：{listed}），而规则没有转接。请立即人工研判，需要时转接。",
        a.probability
    );
    if let Some(topic) = &a.overruled {
        reason.push_str(&format!("（规则原本的判断：「{topic}」。）"));
    }
    resp.reason = reason;
    resp.decided_by = pb::DecidedBy::EmergencyCheck as i32;
    resp.possible_emergency = Some(pb::PossibleEmergency {
        probability: round(a.probability),
        lines,
    });
}
