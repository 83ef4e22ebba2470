//! Stage 5 of a request: turn the ranked candidates into an outcome.
//!
//! The order of precedence is a safety order:
//!
//! 1. A hand-off (an emergency line) that fires at or above the threshold wins outright: a fire, a crime in
//!    progress or an injury is handed off to 119 / 110 / 120 / 122, whatever else the text says.
//!    When several fire, the one of the highest priority gives the primary line (then the highest
//!    score), and the others are co-lines (`explain`): the bundled hand-offs put 122 first, then
//!    120, so that a crash is the traffic police's scene and a person hurt is the ambulance's
//!    before the police's or the fire brigade's, who are told at once.
//! 2. Priority is a tier, as in most rule engines: among the rules that reach the threshold, only
//!    those of the highest priority compete. A rule author uses it to say "when this fires, it
//!    decides" (priority 1), or "only when nothing specific fires" (the department fallbacks,
//!    priority −1). If nothing reaches the threshold, the request goes to manual triage.
//! 3. Within that tier, if the best candidate of a *different* destination (another department,
//!    or an out-of-scope matter against a dispatch) scores within `margin` of the winner, the
//!    router does not guess: manual triage with both listed. Two rules of the same department
//!    never make a request ambiguous; they agree on where it goes.
//! 4. Before giving up on a close call, the router weighs each close destination's *support*:
//!    the sum of the scores of every rule of that destination that matched, in any tier and
//!    below the threshold too. A complaint that matches four housing rules and one fire-safety
//!    rule equally well at the top is a housing matter with a fire-safety detail; hotline staff
//!    resolve such calls the same way. Only when the support of the close destinations is
//!    itself within the margin does the request go to manual triage.
//!
//! 5. Priority picks the rule that speaks for a request, but a rule that fired on one detail must
//!    not outvote a request that, taken as a whole, is about another department's duties: a
//!    complaint whose title and body match several education rules and that mentions a pension
//!    once is an education matter. Here support is counted in evidence, each rule's score divided
//!    by its weight (a fallback's weight 2 exists so that one domain word reaches the threshold,
//!    not to double its vote). When another department's evidence exceeds `support_override`
//!    times the evidence of the winner's department (settings; 1.5 in the bundled rules), that
//!    department's best rule reaching the threshold takes the request, and the reason says so.
//!    A winner of priority 1 or more ("when this fires, it decides") is never overridden. An
//!    out-of-scope matter that wins is weighed the same way: a complaint about a school that
//!    mentions an official's bribery in passing is the school's. At 1.25 bundled examples stop
//!    routing to their rules; 1.5 lies in the range the development corpus favoured (the
//!    measurements are in docs/changelog.md).
//!
//! 6. The override needs one department with far more evidence. A request can be mostly about
//!    another *domain* (the first level of the category tree: 城乡建设, 劳动和社会保障 ...) while
//!    that domain's evidence is split between several of its departments, none of which can
//!    take it: a fee complaint that matches a pricing rule best and also a property rule and a
//!    water-supply rule is mostly a housing-domain matter. When the domain with the most
//!    evidence besides the winner's has more than `other_domain_factor` times the winner's
//!    domain's evidence (settings; 1.3 in the bundled rules), the router asks a person and the
//!    reason gives both domains' evidence. Priority 1 winners are exempt, as in point 5. The
//!    check trades coverage for precision: it asks a person about requests that were mostly
//!    misrouted (docs/accuracy.md has the current figures). 1.3 is the lowest factor at which
//!    every bundled example still routes to its rule (1.2 sends a utility-pricing example that
//!    names water and electricity to a person).
//!
//! Confidence = `s / (s + threshold) × (1 − r / s)`, with `s` the winning score and `r` the best
//! score of another destination in the same tier: it grows with the evidence and with the lead.

use crate::engine::score::Candidate;
use crate::ruleset::{RuleSet, Target};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Dispatch,
    Handoff,
    OutOfScope,
    /// No rule reached the threshold.
    NoMatch,
    /// The winner and a rival of another destination are too close.
    Ambiguous,
    /// Another domain has far more evidence than the winner's (point 6).
    Spread,
    /// The rules dispatched, the classifier disagreed past the cross-check's bounds (see
    /// `consult.rs`): manual triage.
    Disputed,
    /// The rules did not hand off, the emergency check found a possible emergency (see
    /// `alarm.rs`): manual triage at once.
    PossibleEmergency,
}

#[derive(Debug, Clone)]
pub(crate) struct Decided {
    pub verdict: Verdict,
    /// Index into the candidates of the deciding candidate (for `Ambiguous`: the leader).
    pub winner: Option<usize>,
    /// For `Ambiguous`: the rival.
    pub rival: Option<usize>,
    pub confidence: f64,
    /// When support settled the decision: how, and the supports of the two departments.
    pub support: Option<Support>,
    /// For `Spread`: how the evidence divides between the domains.
    pub spread: Option<Spread>,
}

/// How departments' support (points 4 and 5 above) settled a decision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Support {
    /// The winner's department.
    pub ours: f64,
    /// The rival's department (for an override: the department that would have had it).
    pub theirs: f64,
    /// Point 5: the rival had the better rule, the winner the far larger support.
    pub overrode: bool,
}

/// How the evidence of a request divides between domains (point 6), in evidence units (each
/// matching dispatch rule's score divided by its weight).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Spread {
    /// The winner's domain.
    pub ours: f64,
    /// The domain with the most evidence besides the winner's (its best rule is the rival).
    pub theirs: f64,
    /// All domains together.
    pub total: f64,
}

/// Where a candidate sends the request; two candidates with the same destination never conflict.
fn destination(set: &RuleSet, c: &Candidate) -> usize {
    match set.rules[c.rule].target {
        Target::Dispatch { department, .. } => department,
        Target::OutOfScope { .. } => usize::MAX - 1,
        Target::Handoff { .. } => usize::MAX,
    }
}

pub(crate) fn decide(set: &RuleSet, candidates: &[Candidate]) -> Decided {
    let decided = overridden_by_support(set, candidates, decide_by_tier(set, candidates));
    match (
        decided.verdict,
        decided.winner,
        set.settings.other_domain_factor,
    ) {
        (Verdict::Dispatch, Some(w), Some(factor)) => match spread(set, candidates, w, factor) {
            Some((rival, spread)) => Decided {
                verdict: Verdict::Spread,
                winner: Some(w),
                rival: Some(rival),
                confidence: 0.0,
                support: None,
                spread: Some(spread),
            },
            None => decided,
        },
        _ => decided,
    }
}

/// Point 5: the support override, applied to what points 1 to 4 decided.
fn overridden_by_support(set: &RuleSet, candidates: &[Candidate], decided: Decided) -> Decided {
    match (
        decided.verdict,
        decided.winner,
        set.settings.support_override,
    ) {
        (Verdict::Dispatch | Verdict::OutOfScope, Some(w), Some(factor)) => {
            match overridden(set, candidates, w, factor) {
                Some((new, ours, theirs)) => Decided {
                    verdict: Verdict::Dispatch,
                    winner: Some(new),
                    rival: Some(w),
                    confidence: confidence(
                        candidates[new].score,
                        set.settings.threshold,
                        ours,
                        theirs,
                    ),
                    support: Some(Support {
                        ours,
                        theirs,
                        overrode: true,
                    }),
                    spread: None,
                },
                None => decided,
            }
        }
        _ => decided,
    }
}

/// Points 1 to 4: hand-off, threshold, tier, margin and support in close calls.
fn decide_by_tier(set: &RuleSet, candidates: &[Candidate]) -> Decided {
    let threshold = set.settings.threshold;
    let is_handoff = |c: &Candidate| set.rules[c.rule].is_handoff();

    let priority = |c: &Candidate| set.rules[c.rule].priority;
    let fires = |c: &Candidate| is_handoff(c) && c.score >= threshold;
    if let Some(first) = candidates.iter().position(fires) {
        // The primary line: the hand-off of the highest priority, then the first in rank order
        // (the highest score): a later one replaces it only with a strictly higher priority. A
        // request that fires none pays only the search above.
        let i = (first + 1..candidates.len())
            .filter(|&j| fires(&candidates[j]))
            .fold(first, |best, j| {
                if priority(&candidates[j]) > priority(&candidates[best]) {
                    j
                } else {
                    best
                }
            });
        let s = candidates[i].score;
        return Decided {
            verdict: Verdict::Handoff,
            winner: Some(i),
            rival: None,
            confidence: s / (s + threshold),
            support: None,
            spread: None,
        };
    }
    let eligible = |c: &Candidate| !is_handoff(c) && c.score >= threshold;
    let Some(tier) = candidates
        .iter()
        .filter(|c| eligible(c))
        .map(priority)
        .max()
    else {
        // Nothing reaches the threshold: report the closest candidate, if any.
        let closest = candidates.iter().position(|c| !is_handoff(c));
        return Decided {
            verdict: Verdict::NoMatch,
            winner: closest,
            rival: None,
            confidence: 0.0,
            support: None,
            spread: None,
        };
    };
    // Candidates are sorted by score, so the first eligible one of the tier is its best.
    let Some(best_i) = candidates
        .iter()
        .position(|c| eligible(c) && priority(c) == tier)
    else {
        return Decided {
            verdict: Verdict::NoMatch,
            winner: None,
            rival: None,
            confidence: 0.0,
            support: None,
            spread: None,
        };
    };
    let best = &candidates[best_i];
    let dest = destination(set, best);
    let rival_i = candidates
        .iter()
        .enumerate()
        .find(|(i, c)| {
            *i != best_i && !is_handoff(c) && priority(c) == tier && destination(set, c) != dest
        })
        .map(|(i, _)| i);
    let rival_score = rival_i.map_or(0.0, |i| candidates[i].score);
    if let Some(r) = rival_i
        && candidates[r].score >= best.score * (1.0 - set.settings.margin)
    {
        return match by_support(set, candidates, tier, best.score) {
            Some((w, sw, rv, sr)) => {
                let s = candidates[w].score;
                Decided {
                    verdict: verdict_of(set, &candidates[w]),
                    winner: Some(w),
                    rival: Some(rv),
                    // The lead is in support, not in the score of the rule itself.
                    confidence: confidence(s, threshold, sw, sr),
                    support: Some(Support {
                        ours: sw,
                        theirs: sr,
                        overrode: false,
                    }),
                    spread: None,
                }
            }
            None => Decided {
                verdict: Verdict::Ambiguous,
                winner: Some(best_i),
                rival: Some(r),
                confidence: 0.0,
                support: None,
                spread: None,
            },
        };
    }
    Decided {
        verdict: verdict_of(set, best),
        winner: Some(best_i),
        rival: rival_i,
        confidence: confidence(best.score, threshold, best.score, rival_score),
        support: None,
        spread: None,
    }
}

/// The module's confidence: grows with the winning score `s` and with the lead of `ours` over
/// `theirs` (rule scores, or departments' support when support settled the call).
fn confidence(s: f64, threshold: f64, ours: f64, theirs: f64) -> f64 {
    (s / (s + threshold)) * (1.0 - theirs / ours).max(0.0)
}

fn verdict_of(set: &RuleSet, c: &Candidate) -> Verdict {
    match set.rules[c.rule].target {
        Target::OutOfScope { .. } => Verdict::OutOfScope,
        _ => Verdict::Dispatch,
    }
}

/// Settles a close call in `tier` by support (point 4 above). Returns the winning candidate, its
/// destination's support, the best candidate of the runner-up destination and that support; or
/// `None` when the support of the close destinations is itself too close to call.
fn by_support(
    set: &RuleSet,
    candidates: &[Candidate],
    tier: i32,
    best_score: f64,
) -> Option<(usize, f64, usize, f64)> {
    let threshold = set.settings.threshold;
    let floor = best_score * (1.0 - set.settings.margin);
    let close = |c: &Candidate| {
        !set.rules[c.rule].is_handoff()
            && c.score >= threshold
            && set.rules[c.rule].priority == tier
            && c.score >= floor
    };
    // (support, best candidate index) of the two best-supported close destinations.
    let mut first: Option<(f64, usize)> = None;
    let mut second: Option<(f64, usize)> = None;
    for (i, dest) in leaders(candidates, |c| close(c).then(|| destination(set, c))) {
        let s = support_of(set, candidates, dest, |c| c.score);
        match first {
            Some((fs, _)) if s <= fs => {
                if second.is_none_or(|(ss, _)| s > ss) {
                    second = Some((s, i));
                }
            }
            _ => {
                second = first;
                first = Some((s, i));
            }
        }
    }
    let (sw, w) = first?;
    let (sr, r) = second?;
    (sr < sw * (1.0 - set.settings.margin)).then_some((w, sw, r, sr))
}

/// Each group's best candidate, as (candidate index, group), where `group` says which group a
/// candidate counts for, if any: a destination (points 4 and 5) or a domain (point 6).
/// Candidates are sorted best first, so the first one seen of a group is its best.
///
/// Allocation-free: a decision involves a handful of groups, so the candidates before each one
/// are rescanned rather than gathered in a map.
fn leaders<'a, K: PartialEq + Copy + 'a>(
    candidates: &'a [Candidate],
    group: impl Fn(&Candidate) -> Option<K> + Copy + 'a,
) -> impl Iterator<Item = (usize, K)> + 'a {
    candidates.iter().enumerate().filter_map(move |(i, c)| {
        let k = group(c)?;
        let seen = candidates[..i].iter().any(|p| group(p) == Some(k));
        (!seen).then_some((i, k))
    })
}

/// Points 5 and 6: among `leaders` (each group's best candidate), the one of a group other than
/// `ours` whose `total` is largest, as (candidate index, total).
fn strongest_other<K: PartialEq>(
    leaders: impl Iterator<Item = (usize, K)>,
    ours: K,
    total: impl Fn(K) -> f64,
) -> Option<(usize, f64)> {
    let mut best: Option<(usize, f64)> = None;
    for (i, k) in leaders {
        if k == ours {
            continue;
        }
        let s = total(k);
        if best.is_none_or(|(_, bs)| s > bs) {
            best = Some((i, s));
        }
    }
    best
}

/// A candidate's evidence: its score divided by its rule's weight (see `support_of`).
fn evidence(set: &RuleSet, c: &Candidate) -> f64 {
    c.score / set.rules[c.rule].weight
}

/// The support of `dest`: `value` summed over every rule of `dest` that matched, in any tier,
/// below the threshold too (hand-offs excepted: they never share a destination with a
/// department). Close calls (point 4) sum scores; the override (point 5) sums evidence, each
/// score divided by its rule's weight: a weight says how much one term counts towards the
/// threshold (the department fallbacks weigh 2 so that one domain word reaches it), it is not a
/// vote multiplier when departments are weighed against each other.
fn support_of(
    set: &RuleSet,
    candidates: &[Candidate],
    dest: usize,
    value: impl Fn(&Candidate) -> f64,
) -> f64 {
    candidates
        .iter()
        .filter(|c| !set.rules[c.rule].is_handoff() && destination(set, c) == dest)
        .map(value)
        .sum()
}

/// Point 5: the candidate that takes the request from `winner` by support, with its department's
/// support and the winner's; `None` when the winner keeps it.
fn overridden(
    set: &RuleSet,
    candidates: &[Candidate],
    winner: usize,
    factor: f64,
) -> Option<(usize, f64, f64)> {
    let w = &candidates[winner];
    if set.rules[w.rule].priority >= 1 {
        return None;
    }
    let ours = destination(set, w);
    let threshold = set.settings.threshold;
    // Another department's best rule reaching the threshold can take the request.
    let leader = |c: &Candidate| {
        (c.score >= threshold && matches!(set.rules[c.rule].target, Target::Dispatch { .. }))
            .then(|| destination(set, c))
    };
    let support = |dest| support_of(set, candidates, dest, |c| evidence(set, c));
    let our_support = support(ours);
    let (i, s) = strongest_other(leaders(candidates, leader), ours, support)?;
    (s > factor * our_support).then_some((i, s, our_support))
}

/// The domain of a dispatch rule: the first level of its category (城乡建设, 劳动和社会保障 ...),
/// as an index compiled with the rule set.
fn domain(set: &RuleSet, c: &Candidate) -> Option<u32> {
    Some(set.rules[c.rule].domain).filter(|&d| d != u32::MAX)
}

/// Point 6: when the domain with the most evidence besides the winner's has more than `factor`
/// times the evidence of the winner's domain, that domain's best candidate and how the evidence
/// divides; `None` when the winner's domain holds its own.
fn spread(
    set: &RuleSet,
    candidates: &[Candidate],
    winner: usize,
    factor: f64,
) -> Option<(usize, Spread)> {
    let w = &candidates[winner];
    if set.rules[w.rule].priority >= 1 {
        return None;
    }
    let ours = domain(set, w)?;
    let evidence_of = |d: u32| -> f64 {
        candidates
            .iter()
            .filter(|c| domain(set, c) == Some(d))
            .map(|c| evidence(set, c))
            .sum()
    };
    let mine = evidence_of(ours);
    let (rival, theirs) =
        strongest_other(leaders(candidates, |c| domain(set, c)), ours, evidence_of)?;
    if theirs <= factor * mine {
        return None;
    }
    // Only for the reason: the evidence of all domains together.
    let total: f64 = candidates
        .iter()
        .filter(|c| domain(set, c).is_some())
        .map(|c| evidence(set, c))
        .sum();
    Some((
        rival,
        Spread {
            ours: mine,
            theirs,
            total,
        },
    ))
}
