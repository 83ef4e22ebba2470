//! Stage 6 of a request: explain the decision.
//!
//! Builds the `RouteResponse` that every interface returns (gRPC, CLI `--json`, batch lines):
//! department, cited articles with their verbatim text, evidence with offsets into the caller's
//! original text, ranked alternatives and a one-line reason for the operator's screen; and renders
//! the same response as plain text for people at a terminal.

use crate::engine::decide::{Decided, Verdict};
use crate::engine::matcher::Hit;
use crate::engine::normalize::Normalized;
use crate::engine::score::{Candidate, Scored};
use crate::proto::v1 as pb;
use crate::ruleset::{Department, DepartmentKind, RuleSet, Slot, Target};

/// Most alternatives listed in a response.
pub const MAX_ALTERNATIVES: usize = 5;

pub(crate) struct Context<'a> {
    pub set: &'a RuleSet,
    pub original: &'a str,
    pub normalized: &'a Normalized,
    pub hits: &'a [Hit],
    pub scored: &'a Scored,
}

/// The parts of a response that depend only on the deciding rule, built once at load time so
/// that a request only copies them (no lookups, no formatting of the reason sentence).
#[derive(Debug, Clone, Default)]
pub(crate) struct Prepared {
    /// Outcome, rule id, topic, category, source, regulations, department(s), hand-off or
    /// out-of-scope details, reason and rule-set version, as when this rule decides.
    decided: pb::RouteResponse,
    /// The same rule as an alternative (without score and evidence).
    alternative: pb::Alternative,
    /// The rule's own time limit, with its basis and articles (see `situate.rs`).
    pub(crate) own_time_limit: Option<pb::TimeLimit>,
}

/// Prepares every rule of `set` (called once by the compiler).
pub(crate) fn prepare(set: &RuleSet) -> Vec<Prepared> {
    set.rules
        .iter()
        .map(|rule| {
            let outcome = match rule.target {
                Target::Dispatch { .. } => pb::Outcome::Dispatch,
                Target::Handoff { .. } => pb::Outcome::Handoff,
                Target::OutOfScope { .. } => pb::Outcome::OutOfScope,
            } as i32;
            let mut decided = pb::RouteResponse {
                outcome,
                rules_version: set.version.clone(),
                rule_id: rule.id.clone(),
                topic: rule.topic.clone(),
                category: rule.category.clone(),
                rule_source: Some(pb::SourceLocation {
                    file: rule.location.file.clone(),
                    line: rule.location.line,
                    column: rule.location.column,
                }),
                regulations: rule
                    .regulations
                    .iter()
                    .map(|&i| regulation_pb(set, i))
                    .collect(),
                ..Default::default()
            };
            match &rule.target {
                Target::Dispatch {
                    department,
                    co_handling,
                } => {
                    let dept = &set.departments[*department];
                    decided.department = Some(department_pb(dept));
                    decided.co_handling = co_handling
                        .iter()
                        .map(|&d| department_pb(&set.departments[d]))
                        .collect();
                    let grounds: Vec<String> = rule
                        .regulations
                        .iter()
                        .map(|&i| {
                            format!(
                                "《{}》{}",
                                set.regulations[i].title, set.regulations[i].article
                            )
                        })
                        .collect();
                    decided.reason = format!(
                        "属于「{}」，依据{}，由{}办理。",
                        rule.topic,
                        grounds.join("、"),
                        dept.name
                    );
                }
                Target::Handoff { line, name } => {
                    decided.handoff = Some(pb::Handoff {
                        line: line.clone(),
                        name: name.clone(),
                        co_lines: Vec::new(),
                    });
                    decided.reason = format!("疑似紧急事项（{name}），请立即转接 {line}。");
                }
                Target::OutOfScope { name, guidance } => {
                    decided.out_of_scope = Some(pb::OutOfScope {
                        id: rule.id.clone(),
                        name: name.clone(),
                        guidance: guidance.clone(),
                    });
                    decided.reason = format!("不属于热线受理范围（{name}）：{guidance}");
                }
            }
            let alternative = pb::Alternative {
                rule_id: rule.id.clone(),
                outcome,
                department: decided.department.clone(),
                topic: rule.topic.clone(),
                category: rule.category.clone(),
                score: 0.0,
                evidence: Vec::new(),
            };
            let own_time_limit = rule.time_limit.as_ref().map(|tl| {
                let regulations: Vec<pb::Regulation> = tl
                    .regulations
                    .iter()
                    .map(|&i| regulation_pb(set, i))
                    .collect();
                let basis = regulations
                    .iter()
                    .map(|g| format!("《{}》{}", g.title, g.article))
                    .collect::<Vec<_>>()
                    .join("、");
                pb::TimeLimit {
                    working_days: tl.days,
                    basis,
                    regulations,
                    ..Default::default()
                }
            });
            Prepared {
                decided,
                alternative,
                own_time_limit,
            }
        })
        .collect()
}

pub(crate) fn explain(cx: &Context<'_>, decided: &Decided) -> pb::RouteResponse {
    let set = cx.set;
    let winner = decided.winner.map(|i| &cx.scored.candidates[i]);
    let acted = matches!(
        decided.verdict,
        Verdict::Dispatch | Verdict::Handoff | Verdict::OutOfScope
    );

    let mut resp = match (acted, winner, winner.and_then(|w| set.prepared.get(w.rule))) {
        (true, Some(w), Some(prepared)) => {
            let mut resp = prepared.decided.clone();
            resp.score = round(w.score);
            resp.evidence = evidence(cx, w);
            if let (Some(support), Some(r)) = (
                decided.support,
                decided.rival.map(|r| &cx.scored.candidates[r]),
            ) {
                // Support settled it: say so, so that staff can check it.
                let rival = &set.rules[r.rule];
                if support.overrode {
                    // The overridden rule may be an out-of-scope matter rather than a department's.
                    let theirs = match rival.target {
                        Target::OutOfScope { .. } => "该事项",
                        _ => "其部门",
                    };
                    resp.reason.push_str(&format!(
                        "（规则「{}」也命中，但本部门的命中证据合计 {:.2}（得分÷权重），超过{} {:.2} 的 {} 倍，按证据合计改派。）",
                        rival.topic,
                        support.ours,
                        theirs,
                        support.theirs,
                        set.settings.support_override.unwrap_or(1.0)
                    ));
                } else {
                    resp.reason.push_str(&format!(
                        "（与「{}」得分接近；按各部门全部命中规则的合计得分 {:.2} 对 {:.2} 分派。）",
                        rival.topic, support.ours, support.theirs
                    ));
                }
            }
            resp
        }
        _ => pb::RouteResponse {
            outcome: pb::Outcome::Manual as i32,
            rules_version: set.version.clone(),
            reason: manual_reason(cx, decided, winner),
            ..Default::default()
        },
    };
    if decided.verdict == Verdict::Handoff {
        co_lines(cx, &mut resp);
    }
    resp.confidence = round(decided.confidence);
    resp.alternatives = cx
        .scored
        .candidates
        .iter()
        .enumerate()
        .filter(|(i, _)| !(acted && decided.winner == Some(*i)))
        .take(MAX_ALTERNATIVES)
        .map(|(_, c)| alternative(cx, c))
        .collect();
    resp
}

/// The other lines a hand-off needs: a crash with people hurt is 122 and 120 at once. Every other
/// hand-off rule that reached the threshold with another line, in rank order, once per line.
fn co_lines(cx: &Context<'_>, resp: &mut pb::RouteResponse) {
    let set = cx.set;
    let Some(primary) = resp.handoff.as_ref().map(|h| h.line.clone()) else {
        return;
    };
    let mut co: Vec<pb::Handoff> = Vec::new();
    for c in &cx.scored.candidates {
        if c.score < set.settings.threshold {
            continue;
        }
        let Target::Handoff { line, name } = &set.rules[c.rule].target else {
            continue;
        };
        if *line == primary || co.iter().any(|h| h.line == *line) {
            continue;
        }
        resp.reason
            .push_str(&format!("同时涉及{name}，请一并通知 {line}。"));
        co.push(pb::Handoff {
            line: line.clone(),
            name: name.clone(),
            co_lines: Vec::new(),
        });
    }
    if let Some(h) = resp.handoff.as_mut() {
        h.co_lines = co;
    }
}

/// Why the router did not decide (the reasons of decisions are prepared per rule).
fn manual_reason(cx: &Context<'_>, decided: &Decided, winner: Option<&Candidate>) -> String {
    let set = cx.set;
    let topic = |c: &Candidate| set.rules[c.rule].topic.as_str();
    match (decided.verdict, winner) {
        (Verdict::Ambiguous, Some(w)) => match decided.rival.map(|r| &cx.scored.candidates[r]) {
            Some(r) => format!(
                "「{}」（{:.2}）与「{}」（{:.2}）得分接近、承办部门不同，请人工分派。",
                topic(w),
                w.score,
                topic(r),
                r.score
            ),
            None => "候选规则得分接近，请人工分派。".to_owned(),
        },
        (Verdict::Spread, Some(w)) => match (
            decided.spread,
            decided.rival.map(|r| &cx.scored.candidates[r]),
        ) {
            (Some(sp), Some(r)) => format!(
                "诉求主要涉及另一个领域：得分最高的「{}」属于{}，该领域的命中证据合计 {:.2}；\
                 {}领域的证据合计 {:.2}（全部 {:.2}），超过其 {} 倍，最相关的是「{}」。请人工分派。",
                topic(w),
                domain_name(set, w),
                sp.ours,
                domain_name(set, r),
                sp.theirs,
                sp.total,
                set.settings.other_domain_factor.unwrap_or(1.0),
                topic(r)
            ),
            _ => "诉求涉及多个领域，胜出规则所属领域的证据不足，请人工分派。".to_owned(),
        },
        (Verdict::NoMatch, Some(w)) => format!(
            "最接近的规则「{}」得分 {:.2}，未达到阈值 {:.2}，请人工分派。",
            topic(w),
            w.score,
            set.settings.threshold
        ),
        _ => "没有规则命中，请人工分派。".to_owned(),
    }
}

/// The first level of a rule's category, for reasons.
fn domain_name<'a>(set: &'a RuleSet, c: &Candidate) -> &'a str {
    set.rules[c.rule]
        .category
        .first()
        .map_or("（无分类）", String::as_str)
}

fn alternative(cx: &Context<'_>, c: &Candidate) -> pb::Alternative {
    let mut a = cx
        .set
        .prepared
        .get(c.rule)
        .map(|p| p.alternative.clone())
        .unwrap_or_default();
    a.score = round(c.score);
    a.evidence = evidence(cx, c);
    a
}

fn evidence(cx: &Context<'_>, c: &Candidate) -> Vec<pb::Evidence> {
    cx.scored
        .evidence_of(c)
        .iter()
        .map(|&(hit, slot)| {
            let h = &cx.hits[hit];
            let (start, end) = cx
                .normalized
                .original_span(h.start as usize, h.end as usize);
            let term = if h.is_pattern {
                cx.set.matcher.pattern(h.id)
            } else {
                cx.set.matcher.term(h.id)
            };
            pb::Evidence {
                term: term.to_owned(),
                text: cx
                    .normalized
                    .original_slice(cx.original, start, end)
                    .to_owned(),
                start,
                end,
                condition: match slot {
                    Slot::Group(_) => pb::Condition::All,
                    Slot::Any => pb::Condition::Any,
                    Slot::Pattern => pb::Condition::Pattern,
                    // `none` terms veto a rule; they are never evidence for it.
                    Slot::None | Slot::Turn | Slot::Background | Slot::Now => {
                        pb::Condition::Unspecified
                    }
                } as i32,
            }
        })
        .collect()
}

pub(crate) fn department_pb(d: &Department) -> pb::Department {
    pb::Department {
        id: d.id.clone(),
        name: d.name.clone(),
        kind: match d.kind {
            DepartmentKind::Government => pb::DepartmentKind::Government,
            DepartmentKind::PublicInstitution => pb::DepartmentKind::PublicInstitution,
            DepartmentKind::PublicUtility => pb::DepartmentKind::PublicUtility,
            DepartmentKind::Other => pb::DepartmentKind::Other,
        } as i32,
    }
}

pub(crate) fn regulation_pb(set: &RuleSet, i: usize) -> pb::Regulation {
    let r = &set.regulations[i];
    pb::Regulation {
        id: r.id.clone(),
        title: r.title.clone(),
        article: r.article.clone(),
        text: r.text.clone(),
        revision_date: r.revision_date.clone(),
        source: r.source.clone(),
    }
}

/// Rounds to 4 decimals so that JSON output is short and stable.
pub(crate) fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// `x`, a probability below `threshold`, rounded to a multiple of `1 / scale` (to the nearest,
/// or down when the nearest would be the threshold or above it): 0.04996 below a threshold of
/// 0.05 would otherwise be shown as 0.05, the threshold itself, and read as a contradiction.
pub(crate) fn round_below(x: f64, threshold: f64, scale: f64) -> f64 {
    let nearest = (x * scale).round() / scale;
    if nearest >= threshold && x < threshold {
        (x * scale).floor() / scale
    } else {
        nearest
    }
}

#[cfg(test)]
mod tests {
    use super::round_below;

    #[test]
    fn a_probability_below_a_threshold_is_shown_below_it() {
        assert_eq!(round_below(0.04996, 0.05, 10_000.0), 0.0499);
        assert_eq!(round_below(0.04996, 0.05, 100.0), 0.04);
        // Rounded to the nearest where that stays below.
        assert_eq!(round_below(0.1689, 0.2, 100.0), 0.17);
        assert_eq!(round_below(0.01236, 0.05, 10_000.0), 0.0124);
    }
}
