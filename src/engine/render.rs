//! The decision as text for a person at a terminal (the CLI's default output, `client`).

use std::fmt::Write as _;

use crate::proto::v1 as pb;

/// The response as text for a person at a terminal (the CLI's default output).
pub fn render_text(resp: &pb::RouteResponse) -> String {
    let mut out = String::new();
    what(&mut out, resp);
    situation(&mut out, resp);
    grounds(&mut out, resp);
    let _ = writeln!(out, "\n规则集 rules version: {}", resp.rules_version);
    out
}

/// The outcome: department, hand-off or guidance, topic and category.
fn what(out: &mut String, resp: &pb::RouteResponse) {
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
        for co in &h.co_lines {
            let _ = writeln!(out, "同时通知 also:   {} {}", co.line, co.name);
        }
        if let Some(d) = &resp.handoff_doubt {
            let _ = writeln!(
                out,
                "存疑 doubted:    紧急情况检查 {:.2}，转接前请向来电人核实",
                d.probability
            );
        }
    }
    if let Some(o) = &resp.out_of_scope {
        let _ = writeln!(out, "告知 guidance:   {}", o.guidance);
    }
    if let Some(e) = &resp.possible_emergency {
        let lines: Vec<String> = e
            .lines
            .iter()
            .map(|l| format!("{} {} {:.2}", l.line, l.name, l.probability))
            .collect();
        let _ = writeln!(
            out,
            "可能紧急 possible emergency: {:.2}（{}）",
            e.probability,
            lines.join("、")
        );
    }
    if !resp.topic.is_empty() {
        let _ = writeln!(out, "主题 topic:      {}", resp.topic);
    }
    if !resp.category.is_empty() {
        let _ = writeln!(out, "分类 category:   {}", resp.category.join(" / "));
    }
}

/// Where and by when: place, unit, request type, time limit.
fn situation(out: &mut String, resp: &pb::RouteResponse) {
    if let Some(j) = &resp.jurisdiction {
        let how = match j.source.as_str() {
            "request" => "（来自请求）".to_owned(),
            "text" => j
                .evidence
                .as_ref()
                .map(|e| format!("（文中「{}」）", e.text))
                .unwrap_or_default(),
            _ if !j.unknown_place.is_empty() => "（按全市）".to_owned(),
            _ => "（未指明属地，按全市）".to_owned(),
        };
        let _ = writeln!(out, "属地 place:      {}{how}", j.name);
        if !j.unknown_place.is_empty() {
            let hint = if j.did_you_mean.is_empty() {
                String::new()
            } else {
                format!("，是否为「{}」？", j.did_you_mean)
            };
            let _ = writeln!(
                out,
                "                 请求的属地「{}」不在规则的地名表中，未采用{hint}",
                j.unknown_place
            );
        }
    }
    if let Some(u) = &resp.unit {
        let _ = writeln!(
            out,
            "承办单位 unit:   {} ({}, {})",
            u.name, u.department_id, u.level
        );
    }
    if let Ok(t) = pb::RequestType::try_from(resp.request_type)
        && t != pb::RequestType::Unspecified
    {
        let cues: Vec<&str> = resp
            .request_type_evidence
            .iter()
            .map(|e| e.text.as_str())
            .collect();
        let how = if cues.is_empty() {
            "（默认）".to_owned()
        } else {
            format!("（「{}」）", cues.join("」「"))
        };
        let _ = writeln!(
            out,
            "类型 type:       {}{how}",
            crate::situate::request_type::label(t)
        );
    }
    if let Some(tl) = &resp.time_limit {
        let due = if !tl.due_date.is_empty() {
            format!("，{} 受理，{} 前办结", tl.received_date, tl.due_date)
        } else if !tl.due_date_error.is_empty() {
            format!("（{}）", tl.due_date_error)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "时限 time limit: {} 个工作日（依据 {}）{due}",
            tl.working_days, tl.basis
        );
    }
}

/// Why: rule, confidence, reason, evidence, the articles in full, the alternatives.
fn grounds(out: &mut String, resp: &pb::RouteResponse) {
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
            .map(|e| {
                let condition = match pb::Condition::try_from(e.condition) {
                    Ok(pb::Condition::All) => "all",
                    Ok(pb::Condition::Any) => "any",
                    Ok(pb::Condition::Pattern) => "pattern",
                    _ => "?",
                };
                format!("「{}」@{}..{} ({condition})", e.text, e.start, e.end)
            })
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
}
