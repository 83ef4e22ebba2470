//! `hotline-router explain DECISION_ID | --request-id ID`: why a recorded decision went where it
//! went, under the rule-set version that made it, and whether today's rules would decide the same.
//!
//! It prints the recorded decision (rule and articles as they were), then what today's rules
//! decide for the same stored text, then plainly whether the two differ and which rule changed:
//! a rule whose conditions, weight, priority, target or articles differ between the archived
//! version and today's, a rule that no longer exists, or a rule that is new; and, since settings
//! and the models decide too, what decided then and today (rules, cross-check, fallback,
//! emergency check) and which rule files differ between the two versions.

use super::{Result, Status, StoreAndRules, fail, out, outln};
use crate::proto::v1 as pb;
use crate::request::RouteInput;
use crate::store::{Decisions, Lookup, StoredDecision};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    store: StoreAndRules,
    /// Find the latest decision with this ticket number instead of a decision id.
    #[arg(long, value_name = "ID", conflicts_with = "decision_id")]
    request_id: Option<String>,
    /// The decision id (RouteResponse.decisionId).
    #[arg(required_unless_present = "request_id")]
    decision_id: Option<String>,
}

pub(crate) fn run(args: Args) -> Result {
    let store = args.store.store.read_only()?;
    let key = match (&args.decision_id, &args.request_id) {
        (Some(id), _) if id.trim().is_empty() => return fail("the decision id is empty"),
        (None, Some(id)) if id.trim().is_empty() => {
            // Decisions routed without a ticket number all have "" as theirs: it names none.
            return fail("--request-id is empty; give a ticket number, or the decision id");
        }
        (Some(id), _) => Lookup::DecisionId(id.clone()),
        (None, Some(id)) => Lookup::RequestId(id.clone()),
        (None, None) => return fail("give a decision id or --request-id"),
    };
    let stored = match store.get(key.clone()) {
        Ok(Some(d)) => d,
        Ok(None) => return fail(format!("no recorded decision for {key}")),
        Err(e) => return super::read_failed(&store, &e),
    };
    let recorded = stored.record.to_response();
    let r = &stored.record;
    // "received" is when the hotline received the request, as its caller said; the router's
    // own clock is when it decided (a backlog is routed days after it was received).
    let received = r
        .received_time_ms
        .map(|ms| format!("received {}, ", crate::situate::calendar::china_time_ms(ms)))
        .unwrap_or_default();
    outln!(
        "== 记录的决定 recorded decision {} (ticket {}, {received}decided {}, rules version {})",
        r.decision_id,
        if r.request_id.is_empty() {
            "-"
        } else {
            &r.request_id
        },
        crate::situate::calendar::china_time_ms(r.received_at_ms),
        r.rules_version
    );
    outln!(
        "received by {}, channel {}{}",
        r.method,
        r.channel,
        if r.client.is_empty() {
            String::new()
        } else {
            format!(", caller {}", r.client)
        }
    );
    outln!("{}", said(&recorded));
    if !r.unit.is_empty() {
        outln!("unit: {}", shown(&r.unit));
    }
    if !r.handoff_line.is_empty() {
        outln!("line: {}", r.handoff_line);
    }
    outln!(
        "request type {}; time limit {}; due {}",
        if r.request_type.is_empty() {
            "-"
        } else {
            &r.request_type
        },
        if r.working_days == 0 {
            "-".to_owned()
        } else {
            format!("{} working days", r.working_days)
        },
        if r.due_date.is_empty() {
            "-"
        } else {
            &r.due_date
        }
    );
    outln!("articles: {}", r.articles.join(", "));
    outln!("confidence {:.2}; {}", r.confidence, shown(&r.reason));
    for e in &stored.events {
        let mut line = format!(
            "事件 event: {} {}",
            crate::situate::calendar::china_time_ms(e.at_ms),
            e.kind.as_str()
        );
        for (name, value) in [
            ("department", e.department_id.clone()),
            ("due", e.due_date.clone()),
            (
                "satisfaction",
                e.satisfaction.map(|s| s.to_string()).unwrap_or_default(),
            ),
            ("operator", shown(&e.operator)),
            ("reason", shown(&e.reason)),
        ] {
            if !value.is_empty() {
                line.push_str(&format!(" {name} {value}"));
            }
        }
        outln!("{line}");
    }
    // A ticket routed again: its events by ticket number go to the newer decision.
    if !r.request_id.is_empty()
        && let Ok(Some(latest)) = store.get(Lookup::RequestId(r.request_id.clone()))
        && latest.record.decision_id != r.decision_id
    {
        outln!(
            "superseded: ticket {} was routed again, by decision {} ({}); events sent by ticket number go to that one",
            r.request_id,
            latest.record.decision_id,
            crate::situate::calendar::china_time_ms(latest.record.received_at_ms)
        );
    }
    let archived = archived_rules(&store, &r.rules_version)?;
    let today = args.store.rules.load()?;
    let Some(text) = r.text.as_deref() else {
        outln!(
            "\n== 今天的规则 today's rules (version {})",
            today.version()
        );
        outln!("the text was not stored (--store-text none): today's rules cannot be run on it");
        return Ok(Status::Ok);
    };
    // The received day too, so that the re-runs count the same due date.
    let input = RouteInput {
        id: &r.request_id,
        text,
        place: &r.place,
        received: r.received_date(),
        ..Default::default()
    };
    if let Some(archived) = &archived {
        outln!(
            "\n== 当时的规则 the archived rules (version {}) on the stored text",
            archived.version()
        );
        out!("{}", crate::engine::render_text(&archived.route(&input)));
    }
    outln!(
        "\n== 今天的规则 today's rules (version {})",
        today.version()
    );
    let now = today.route(&input);
    out!("{}", crate::engine::render_text(&now));
    outln!("\n== 比较 comparison");
    compare(&stored, &recorded, &now, archived.as_ref(), &today, &input);
    Ok(Status::Ok)
}

/// The archived rule set of `version`, loaded from the store's copy of its files.
fn archived_rules(store: &dyn Decisions, version: &str) -> Result<Option<crate::RuleSet>> {
    let files = match store.rule_files(version) {
        Ok(Some(f)) => f,
        Ok(None) => return Ok(None),
        Err(e) => return fail(format!("cannot read the rule archive: {e}")),
    };
    let source = std::path::PathBuf::from(format!("(archived version {version})"));
    Ok(crate::ruleset::compile_texts(files, source).ok())
}

/// A stored free text (a reason, an operator's name) on one line, for a terminal: line breaks
/// as spaces, and each control, bidi or direction character as a visible `<U+001B>`, so that an
/// escape sequence in a department's reason cannot reach the terminal or turn the text around.
fn shown(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\r' | '\t' => o.push(' '),
            c if crate::store::render::hidden_char(c) => {
                o.push_str(&format!("<U+{:04X}>", c as u32))
            }
            c => o.push(c),
        }
    }
    o
}

/// "OUTCOME_DISPATCH hrss by rule wage-arrears".
fn said(r: &pb::RouteResponse) -> String {
    let rule = if r.rule_id.is_empty() {
        "-"
    } else {
        &r.rule_id
    };
    format!("{} {} by rule {rule}", r.outcome_name(), r.department_id())
}

fn summary(r: &pb::RouteResponse) -> (String, String, String, Vec<String>) {
    (
        r.outcome_name().to_owned(),
        r.department_id().to_owned(),
        r.rule_id.clone(),
        r.regulations.iter().map(|g| g.id.clone()).collect(),
    )
}

fn compare(
    stored: &StoredDecision,
    recorded: &pb::RouteResponse,
    now: &pb::RouteResponse,
    archived: Option<&crate::RuleSet>,
    today: &crate::RuleSet,
    input: &RouteInput<'_>,
) {
    if summary(recorded) == summary(now) {
        outln!(
            "same: today's rules decide {} {} by rule {} on the same articles",
            now.outcome_name(),
            now.department_id(),
            now.rule_id
        );
        return;
    }
    outln!("differs: recorded {}; today {}", said(recorded), said(now));
    let Some(archived) = archived else {
        outln!(
            "why: the rule files of version {} are not in the store",
            stored.record.rules_version
        );
        return;
    };
    // The stored text may be masked: what the old rules decide on it now.
    let then = archived.route(input);
    if summary(&then) != summary(recorded) {
        outln!(
            "why (in part): the stored text is {} and the recorded rules decide it differently from the text they saw",
            stored.record.text_mode.as_str()
        );
    }
    // Each rule once: the recorded, today's and the re-run decision often name the same one.
    let mut ids: Vec<&String> = Vec::new();
    for id in [&recorded.rule_id, &now.rule_id, &then.rule_id] {
        if !id.is_empty() && !ids.contains(&id) {
            ids.push(id);
        }
    }
    for id in ids {
        match (archived.rule_fingerprint(id), today.rule_fingerprint(id)) {
            (Some(a), Some(b)) if a != b => outln!(
                "why: rule {id} changed since version {}",
                archived.version()
            ),
            (Some(_), None) => outln!("why: rule {id} no longer exists"),
            (None, Some(_)) => outln!("why: rule {id} is new since version {}", archived.version()),
            _ => {}
        }
    }
    // Not every difference is a rule's: settings and the models decide too (a cross-check that
    // now sends the dispatch to a person, a retrained classifier).
    if recorded.decided_by != now.decided_by {
        outln!(
            "why: decided by {} then, by {} today",
            recorded.decided_by().as_str_name(),
            now.decided_by().as_str_name()
        );
    }
    let changed = changed_files(archived.files(), today.files());
    if !changed.is_empty() {
        outln!(
            "files changed since version {}: {}",
            archived.version(),
            changed.join(", ")
        );
    }
}

/// The rule files that differ between two versions (changed, added or removed), by name.
fn changed_files(then: &[(String, String)], now: &[(String, String)]) -> Vec<String> {
    let then: std::collections::BTreeMap<&str, &str> =
        then.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    let now: std::collections::BTreeMap<&str, &str> =
        now.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    let mut names: Vec<&str> = then.keys().chain(now.keys()).copied().collect();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .filter(|n| then.get(n) != now.get(n))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn stored_free_text_reaches_the_terminal_on_one_line_without_escapes() {
        assert_eq!(
            super::shown("不是火警\u{1b}[31m红色\r\n联系\u{202e}人"),
            "不是火警<U+001B>[31m红色  联系<U+202E>人"
        );
    }
}
