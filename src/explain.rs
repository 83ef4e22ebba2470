//! Stage 6 of a request: explain the decision.
//!
//! Builds the `RouteResponse` that every interface returns (gRPC, CLI `--json`, batch lines):
//! department, cited articles with their verbatim text, evidence with offsets into the caller's
//! original text, ranked alternatives and a one-line reason for the operator's screen; and renders
//! the same response as plain text for people at a terminal.

use std::fmt::Write as _;

use crate::decide::{Decided, Verdict};
use crate::matcher::Hit;
use crate::normalize::Normalized;
use crate::proto::v1 as pb;
use crate::ruleset::{Department, DepartmentKind, Rule, RuleSet, Slot, Target};
use crate::score::Candidate;

/// Most alternatives listed in a response.
pub const MAX_ALTERNATIVES: usize = 5;

pub(crate) struct Context<'a> {
    pub set: &'a RuleSet,
    pub original: &'a str,
    pub normalized: &'a Normalized,
    pub hits: &'a [Hit],
    pub candidates: &'a [Candidate],
}

pub(crate) fn explain(cx: &Context<'_>, decided: &Decided) -> pb::RouteResponse {
    let set = cx.set;
    let mut resp = pb::RouteResponse {
        rules_version: set.version.clone(),
        ..Default::default()
    };
    let char_starts = OriginalIndex::default();

    let winner = decided.winner.map(|i| &cx.candidates[i]);
    let acted = matches!(
        decided.verdict,
        Verdict::Dispatch | Verdict::Handoff | Verdict::OutOfScope
    );
    resp.outcome = match decided.verdict {
        Verdict::Dispatch => pb::Outcome::Dispatch,
        Verdict::Handoff => pb::Outcome::Handoff,
        Verdict::OutOfScope => pb::Outcome::OutOfScope,
        Verdict::NoMatch | Verdict::Ambiguous => pb::Outcome::Manual,
    } as i32;

    if let (true, Some(w)) = (acted, winner) {
        let rule = &set.rules[w.rule];
        resp.rule_id = rule.id.clone();
        resp.topic = rule.topic.clone();
        resp.category = rule.category.clone();
        resp.rule_source = Some(pb::SourceLocation {
            file: rule.location.file.clone(),
            line: rule.location.line,
            column: rule.location.column,
        });
        resp.regulations = rule
            .regulations
            .iter()
            .map(|&i| regulation(set, i))
            .collect();
        resp.score = round(w.score);
        resp.evidence = evidence(cx, &char_starts, w);
        match &rule.target {
            Target::Dispatch {
                department,
                co_handling,
            } => {
                resp.department = Some(department_pb(&set.departments[*department]));
                resp.co_handling = co_handling
                    .iter()
                    .map(|&d| department_pb(&set.departments[d]))
                    .collect();
            }
            Target::Handoff { line, name } => {
                resp.handoff = Some(pb::Handoff {
                    line: line.clone(),
                    name: name.clone(),
                });
            }
            Target::OutOfScope { name, guidance } => {
                resp.out_of_scope = Some(pb::OutOfScope {
                    matter: rule.id.clone(),
                    name: name.clone(),
                    guidance: guidance.clone(),
                });
            }
        }
    }
    resp.confidence = round(decided.confidence);
    resp.alternatives = cx
        .candidates
        .iter()
        .enumerate()
        .filter(|(i, _)| !(acted && decided.winner == Some(*i)))
        .take(MAX_ALTERNATIVES)
        .map(|(_, c)| alternative(cx, &char_starts, c))
        .collect();
    resp.reason = reason(cx, decided, winner);
    resp
}

fn reason(cx: &Context<'_>, decided: &Decided, winner: Option<&Candidate>) -> String {
    let set = cx.set;
    let topic = |c: &Candidate| set.rules[c.rule].topic.clone();
    match (decided.verdict, winner) {
        (Verdict::Dispatch, Some(w)) => {
            let rule = &set.rules[w.rule];
            let dept = rule
                .department()
                .map_or("", |d| set.departments[d].name.as_str());
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
            format!(
                "属于「{}」，依据{}，由{}办理。",
                rule.topic,
                grounds.join("、"),
                dept
            )
        }
        (Verdict::Handoff, Some(w)) => match &set.rules[w.rule].target {
            Target::Handoff { line, name } => {
                format!("疑似紧急事项（{name}），请立即转接 {line}。")
            }
            _ => String::new(),
        },
        (Verdict::OutOfScope, Some(w)) => match &set.rules[w.rule].target {
            Target::OutOfScope { name, guidance } => {
                format!("不属于热线受理范围（{name}）：{guidance}")
            }
            _ => String::new(),
        },
        (Verdict::Ambiguous, Some(w)) => {
            let rival = decided.rival.map(|r| &cx.candidates[r]);
            match rival {
                Some(r) => format!(
                    "「{}」（{:.2}）与「{}」（{:.2}）得分接近、承办部门不同，请人工分派。",
                    topic(w),
                    w.score,
                    topic(r),
                    r.score
                ),
                None => "候选规则得分接近，请人工分派。".to_owned(),
            }
        }
        (Verdict::NoMatch, Some(w)) => format!(
            "最接近的规则「{}」得分 {:.2}，未达到阈值 {:.2}，请人工分派。",
            topic(w),
            w.score,
            set.settings.threshold
        ),
        _ => "没有规则命中，请人工分派。".to_owned(),
    }
}

fn alternative(cx: &Context<'_>, idx: &OriginalIndex, c: &Candidate) -> pb::Alternative {
    let rule: &Rule = &cx.set.rules[c.rule];
    let outcome = match rule.target {
        Target::Dispatch { .. } => pb::Outcome::Dispatch,
        Target::Handoff { .. } => pb::Outcome::Handoff,
        Target::OutOfScope { .. } => pb::Outcome::OutOfScope,
    } as i32;
    pb::Alternative {
        rule_id: rule.id.clone(),
        outcome,
        department: rule
            .department()
            .map(|d| department_pb(&cx.set.departments[d])),
        topic: rule.topic.clone(),
        category: rule.category.clone(),
        score: round(c.score),
        evidence: evidence(cx, idx, c),
    }
}

fn evidence(cx: &Context<'_>, idx: &OriginalIndex, c: &Candidate) -> Vec<pb::Evidence> {
    c.evidence
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
                text: idx.slice(cx.original, start, end).to_owned(),
                start,
                end,
                condition: match slot {
                    Slot::Group(_) => "all",
                    Slot::Any => "any",
                    Slot::Pattern => "pattern",
                    Slot::None => "none",
                }
                .to_owned(),
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

fn regulation(set: &RuleSet, i: usize) -> pb::Regulation {
    let r = &set.regulations[i];
    pb::Regulation {
        id: r.id.clone(),
        title: r.title.clone(),
        article: r.article.clone(),
        text: r.text.clone(),
        revision_date: r.revision.clone(),
        source: r.source.clone(),
    }
}

/// Rounds to 4 decimals so that JSON output is short and stable.
fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// Byte offsets of the original text's characters, built only when there is evidence to slice.
#[derive(Default)]
struct OriginalIndex {
    starts: std::cell::OnceCell<Vec<usize>>,
}

impl OriginalIndex {
    fn slice<'t>(&self, original: &'t str, start: u32, end: u32) -> &'t str {
        let starts = self.starts.get_or_init(|| {
            let mut v: Vec<usize> = original.char_indices().map(|(b, _)| b).collect();
            v.push(original.len());
            v
        });
        let s = starts
            .get(start as usize)
            .copied()
            .unwrap_or(original.len());
        let e = starts
            .get(end as usize)
            .copied()
            .unwrap_or(original.len())
            .max(s);
        original.get(s..e).unwrap_or("")
    }
}

/// The response as text for a person at a terminal (the CLI's default output).
pub fn render_text(resp: &pb::RouteResponse) -> String {
    let mut out = String::new();
    let outcome = pb::Outcome::try_from(resp.outcome).unwrap_or(pb::Outcome::Unspecified);
    let label = match outcome {
        pb::Outcome::Dispatch => "派单 dispatch",
        pb::Outcome::Manual => "人工分派 manual",
        pb::Outcome::Handoff => "紧急转接 handoff",
        pb::Outcome::OutOfScope => "不予受理 out of scope",
        pb::Outcome::Unspecified => "unspecified",
    };
    let _ = writeln!(out, "结果 outcome:    {label}");
    if let Some(d) = &resp.department {
        let _ = writeln!(out, "承办 department: {} ({})", d.name, d.id);
    }
    for d in &resp.co_handling {
        let _ = writeln!(out, "协办 assisting:  {} ({})", d.name, d.id);
    }
    if let Some(h) = &resp.handoff {
        let _ = writeln!(out, "转接 hand-off:   {} {}", h.line, h.name);
    }
    if let Some(o) = &resp.out_of_scope {
        let _ = writeln!(out, "告知 guidance:   {}", o.guidance);
    }
    if !resp.topic.is_empty() {
        let _ = writeln!(out, "主题 topic:      {}", resp.topic);
    }
    if !resp.category.is_empty() {
        let _ = writeln!(out, "分类 category:   {}", resp.category.join(" / "));
    }
    if !resp.rule_id.is_empty() {
        let src = resp
            .rule_source
            .as_ref()
            .map(|s| format!(" ({}:{})", s.file, s.line))
            .unwrap_or_default();
        let _ = writeln!(out, "规则 rule:       {}{src}", resp.rule_id);
        let _ = writeln!(
            out,
            "置信 confidence: {:.2} (score {:.2})",
            resp.confidence, resp.score
        );
    }
    let _ = writeln!(out, "理由 reason:     {}", resp.reason);
    if !resp.evidence.is_empty() {
        let ev: Vec<String> = resp
            .evidence
            .iter()
            .map(|e| format!("「{}」@{}..{} ({})", e.text, e.start, e.end, e.condition))
            .collect();
        let _ = writeln!(out, "依据词 evidence: {}", ev.join(", "));
    }
    for r in &resp.regulations {
        let _ = writeln!(out, "\n《{}》{}", r.title, r.article);
        for line in r.text.lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    if !resp.alternatives.is_empty() {
        let _ = writeln!(out, "\n候选 alternatives:");
        for a in &resp.alternatives {
            let dept = a
                .department
                .as_ref()
                .map(|d| d.name.as_str())
                .unwrap_or("-");
            let _ = writeln!(
                out,
                "  {:>6.2}  {}  {}  ({})",
                a.score, a.rule_id, a.topic, dept
            );
        }
    }
    let _ = writeln!(out, "\n规则集 rules version: {}", resp.rules_version);
    out
}
