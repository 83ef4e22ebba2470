//! Events from outside (the API's RecordOutcome, `hotline-router outcomes`): checked the same way
//! wherever they come from, then recorded.
//!
//! An event names its decision by id, or by ticket number (the latest decision with it); its
//! kind; when it happened; and, for returns and reassignments, a department of the serving rules.

use super::{Decisions, Event, EventKind, EventOutcome, Lookup, TextMode};
use crate::proto::v1 as pb;

/// Longest event id, reason or operator accepted.
const MAX_FIELD_CHARS: usize = 1_000;

/// Longest decision id accepted: the ids this router gives are 28 hexadecimal characters; the
/// margin leaves room for another format without letting a megabyte into a lookup, a message or
/// a log line.
const MAX_DECISION_ID_CHARS: usize = 64;

/// The highest satisfaction score accepted: centres' scales run 1 to 5, 1 to 10 or 0 to 100.
const MAX_SATISFACTION: i32 = 100;

/// How far after this router's clock an event may be dated: the clocks of a ticket system and of
/// the router's machine differ by seconds, rarely by minutes; an event dated further ahead is a
/// mistake (2062 for 2026, a wrong offset), and recorded it would count an order as accepted or
/// resolved before that happened, in every report until then.
const MAX_AHEAD_MS: i64 = 5 * 60_000;

/// At most the first 40 characters of `s`, for a message about a value that is wrong.
pub(crate) fn shorten(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// An id or a name is one line: control characters (a line break) would split a report's line,
/// a CSV cell or a log line.
fn one_line(name: &str, value: &str) -> Result<(), String> {
    if value.chars().any(char::is_control) {
        return Err(format!(
            "{name} {:?} holds control characters",
            shorten(value)
        ));
    }
    Ok(())
}

/// A decision id is letters, digits and '-' (hexadecimal as this router writes them); a request
/// id is a ticket number as Route takes it.
fn check_ids(decision_id: &str, request_id: &str) -> Result<(), String> {
    if decision_id.chars().count() > MAX_DECISION_ID_CHARS
        || !decision_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(format!(
            "decision_id {:?} is not a decision id; use RouteResponse.decision_id (28 hexadecimal characters)",
            shorten(decision_id)
        ));
    }
    if request_id.chars().count() > crate::request::MAX_REQUEST_ID_CHARS {
        return Err(format!(
            "request_id is longer than {} characters",
            crate::request::MAX_REQUEST_ID_CHARS
        ));
    }
    one_line("request_id", request_id)?;
    Ok(())
}

/// Milliseconds since 1970 of a timestamp within the years 0001 to 9999 (as Route takes its
/// received time), or what is wrong with it.
pub(crate) fn checked_millis(name: &str, t: &pbjson_types::Timestamp) -> Result<i64, String> {
    if !(0..1_000_000_000).contains(&t.nanos) {
        return Err(format!(
            "{name}.nanos ({}) is outside 0 to 999,999,999",
            t.nanos
        ));
    }
    if crate::situate::calendar::Date::from_unix_china(t.seconds).is_none() {
        return Err(format!(
            "{name} ({} s since 1970) is outside the years 0001 to 9999",
            t.seconds
        ));
    }
    Ok(t.seconds.saturating_mul(1000) + i64::from(t.nanos / 1_000_000))
}

/// The event of `e`, and where its decision is, or what is wrong with it (a message for the
/// sender: INVALID_ARGUMENT over gRPC).
pub fn check(e: &pb::OutcomeEvent, set: &crate::RuleSet) -> Result<(Event, Lookup), String> {
    if e.event_id.trim().is_empty() {
        return Err(
            "event_id is empty; give each event an id of its own (recording it twice is safe)"
                .into(),
        );
    }
    check_ids(&e.decision_id, &e.request_id)?;
    for (name, v) in [
        ("event_id", &e.event_id),
        ("reason", &e.reason),
        ("operator", &e.operator),
        ("department_id", &e.department_id),
    ] {
        if v.chars().count() > MAX_FIELD_CHARS {
            return Err(format!(
                "{name} is longer than {MAX_FIELD_CHARS} characters"
            ));
        }
    }
    // A reason is free text and may hold line breaks; ids and names may not.
    one_line("event_id", &e.event_id)?;
    one_line("operator", &e.operator)?;
    let kind = EventKind::from_proto(e.kind).ok_or(
        "kind is missing or unknown; use ACCEPTED, RETURNED, REASSIGNED, RESOLVED, SATISFACTION, \
         EXTENDED, SUPERVISED or REOPENED",
    )?;
    let at = e.at.as_ref().ok_or("at is missing: when did it happen?")?;
    let at_ms = checked_millis("at", at)?;
    let now_ms = super::now_ms();
    if at_ms > now_ms.saturating_add(MAX_AHEAD_MS) {
        return Err(format!(
            "at ({}) is in the future: more than {} minutes after this router's clock ({}); \
             check the year and the offset",
            china_time_with_ms(at_ms),
            MAX_AHEAD_MS / 60_000,
            china_time_with_ms(now_ms)
        ));
    }
    let satisfaction = match (kind, e.satisfaction) {
        // A missing score is not a score of 0: recorded as 0, it would be the worst possible
        // one, in the figure departments are assessed on.
        (EventKind::Satisfaction, None) => {
            return Err(
                "satisfaction is missing: a SATISFACTION event needs the caller's score on the \
                 centre's scale (e.g. 1 to 5); a client generated before the field was \
                 `optional` cannot send 0 and must be regenerated"
                    .into(),
            );
        }
        (EventKind::Satisfaction, Some(score)) if !(0..=MAX_SATISFACTION).contains(&score) => {
            return Err(format!(
                "satisfaction {score} is outside 0 to {MAX_SATISFACTION}; give the score on the centre's scale (e.g. 1 to 5)"
            ));
        }
        (EventKind::Satisfaction, score) => score,
        // Another kind's score means nothing and is not kept.
        _ => None,
    };
    // Kept as the date it means (" 2026-12-10" and "2026-12-10" are one due date); another
    // kind's due date means nothing and is not kept.
    let due_date = match kind {
        EventKind::Extended => crate::situate::calendar::Date::parse(&e.due_date)
            .ok_or("an EXTENDED event needs the new due_date, YYYY-MM-DD")?
            .to_string(),
        _ => String::new(),
    };
    check_department(&e.department_id, kind, set)?;
    // The ids were checked first of all, above.
    let key = key_of(&e.decision_id, &e.request_id)?;
    let event = Event {
        event_id: e.event_id.clone(),
        decision_id: e.decision_id.clone(),
        kind,
        at_ms,
        department_id: e.department_id.clone(),
        reason: e.reason.clone(),
        satisfaction,
        due_date,
        operator: e.operator.clone(),
    };
    Ok((event, key))
}

/// Records a checked event, finding its decision by ticket number first when it has no id.
/// `request_id` is the ticket number the sender gave, if any: when it gave a decision id too,
/// the two must name the same decision's ticket. `text_mode` is the store's `--store-text`: how
/// the event's free text is kept (see [`keep_free_text`]).
pub fn record(
    store: &dyn Decisions,
    mut event: Event,
    key: Lookup,
    request_id: &str,
    text_mode: TextMode,
) -> Result<EventOutcome, String> {
    // Before the event is compared with one stored under its id, so that a retry of an event
    // whose reason holds a phone number is still the same event.
    keep_free_text(&mut event, text_mode);
    let by_ticket = event.decision_id.is_empty();
    // Only a department can accept or return an order: the decision is looked at for those.
    let by_department = matches!(event.kind, EventKind::Accepted | EventKind::Returned);
    let decision = if by_ticket || !request_id.is_empty() || by_department {
        match store.get(key)? {
            Some(d) => Some(d),
            None => return Ok(EventOutcome::NotFound),
        }
    } else {
        None
    };
    if let Some(d) = &decision {
        if by_ticket {
            event.decision_id.clone_from(&d.record.decision_id);
        } else if !request_id.is_empty() && d.record.request_id != request_id {
            return Ok(EventOutcome::OtherTicket {
                ticket: d.record.request_id.clone(),
            });
        }
        let sent_on = d.events.iter().any(|e| e.kind == EventKind::Reassigned);
        if by_department && d.record.outcome != "OUTCOME_DISPATCH" && !sent_on {
            // Unless it is this very event sent again: a retry stays a retry.
            let retry = d.events.iter().any(|e| e.event_id == event.event_id);
            if !retry {
                return Ok(EventOutcome::NotDispatched {
                    kind: event.kind,
                    outcome: d.record.outcome.clone(),
                });
            }
        }
    }
    match store.record_event(event)? {
        // The same event sent again by ticket number after the ticket was routed again: the
        // number now finds the newer decision, but the event is the one stored for an earlier
        // decision of the same ticket, so it is a retry, not a second event under one id.
        EventOutcome::Conflict {
            decision_id,
            same_content: true,
            ..
        } if by_ticket && same_ticket(store, &decision_id, request_id)? => {
            Ok(EventOutcome::Duplicate { decision_id })
        }
        outcome => Ok(outcome),
    }
}

/// The free text of an event (its reason, its operator) as the store keeps a request's place: as
/// sent under `--store-text full`, masked otherwise. A department's reason for a return often
/// holds a contact number ("联系人139…"). Under `none` it is masked rather than dropped, like the
/// place: it is the department's text, not the citizen's request, and the report and `explain`
/// show it. The other fields are ids, kinds, dates and department ids, checked against the rules.
fn keep_free_text(event: &mut Event, text_mode: TextMode) {
    if text_mode != TextMode::Full {
        event.reason = super::mask::mask(&event.reason);
        event.operator = super::mask::mask(&event.operator);
    }
}

/// Whether the decision `decision_id` is one of ticket `ticket`'s.
fn same_ticket(store: &dyn Decisions, decision_id: &str, ticket: &str) -> Result<bool, String> {
    Ok(!ticket.is_empty()
        && store
            .get(Lookup::DecisionId(decision_id.to_owned()))?
            .is_some_and(|d| d.record.request_id == ticket))
}

/// "a RETURNED event", "an ACCEPTED event".
fn a_kind(kind: EventKind) -> String {
    let name = kind.as_str();
    let article = if name.starts_with(['A', 'E', 'I', 'O', 'U']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {name} event")
}

/// Where to find a decision: its id, or else the ticket number.
pub fn lookup(decision_id: &str, request_id: &str) -> Result<Lookup, String> {
    check_ids(decision_id, request_id)?;
    key_of(decision_id, request_id)
}

/// The message for a decision id and a request id that name different tickets.
pub(crate) fn other_ticket(ticket: &str) -> String {
    format!(
        "the decision_id is a decision of ticket {ticket:?}, not of the request_id given; send one \
         of the two, or the right pair"
    )
}

/// [`lookup`] of ids already checked.
fn key_of(decision_id: &str, request_id: &str) -> Result<Lookup, String> {
    if !decision_id.is_empty() {
        Ok(Lookup::DecisionId(decision_id.to_owned()))
    } else if !request_id.is_empty() {
        Ok(Lookup::RequestId(request_id.to_owned()))
    } else {
        Err("give the decision_id (from RouteResponse) or the request_id".into())
    }
}

/// A department named by an event must be one of the serving rules'. An unknown one is
/// answered with the closest ids: the department whose name or alias it is, or else the three
/// ids nearest to it by spelling, or by their departments' names ("住建局" finds the one whose
/// name holds it).
fn check_department(id: &str, kind: EventKind, set: &crate::RuleSet) -> Result<(), String> {
    if id.is_empty() {
        return if kind == EventKind::Reassigned {
            Err("a REASSIGNED event needs the department_id it went to".into())
        } else {
            Ok(())
        };
    }
    if set.department(id).is_some() {
        return Ok(());
    }
    let departments = set.departments();
    let named = departments
        .iter()
        .find(|d| d.name == id || d.aliases.iter().any(|a| a == id));
    if let Some(d) = named {
        return Err(format!(
            "unknown department \"{id}\": department_id takes the id, and this is a name of \"{}\"",
            d.id
        ));
    }
    Err(format!(
        "unknown department \"{id}\"; the closest department ids: {}",
        closest_departments(id, departments)
            .iter()
            .map(|d| format!("\"{d}\""))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// Whether `short` is an abbreviation of `name` as Chinese abbreviates: its characters in order,
/// the first the name's ("住建局" of "住房和城乡建设局", "人社局" of "人力资源和社会保障局").
fn abbreviates(short: &str, name: &str) -> bool {
    let mut rest = name.chars();
    short.chars().next() == name.chars().next() && short.chars().all(|c| rest.any(|n| n == c))
}

/// The three department ids closest to `input`: by the similarity of the id, or of the name or
/// an alias, as [`crate::ruleset::closest`] measures it for "did you mean", ties by id.
fn closest_departments<'a>(
    input: &str,
    departments: &'a [crate::ruleset::Department],
) -> Vec<&'a str> {
    use crate::ruleset::similarity;
    let lower = input.to_lowercase();
    let score = |d: &crate::ruleset::Department| {
        let by_id = similarity(&lower, &d.id.to_lowercase());
        let by_name = std::iter::once(&d.name)
            .chain(&d.aliases)
            .map(|n| {
                // A Chinese abbreviation (住建 of 住房和城乡建设局) is as good as the name.
                let abbreviation = input.chars().count() >= 2 && abbreviates(input, n);
                if abbreviation {
                    0.9
                } else {
                    similarity(input, n)
                }
            })
            .fold(0.0, f64::max);
        by_id.max(by_name)
    };
    let mut ranked: Vec<(f64, &str)> = departments
        .iter()
        .map(|d| (score(d), d.id.as_str()))
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    ranked.into_iter().take(3).map(|(_, id)| id).collect()
}

/// What a sender is told about an event that was not recorded.
pub fn refusal(outcome: &EventOutcome) -> Option<String> {
    match outcome {
        EventOutcome::Recorded { .. } | EventOutcome::Duplicate { .. } => None,
        EventOutcome::NotFound => {
            Some("no recorded decision with that decision_id / request_id".into())
        }
        EventOutcome::BeforeDecision { decided_at_ms } => Some(format!(
            "the event is dated before its decision (decided {}); check `at`",
            china_time_with_ms(*decided_at_ms)
        )),
        EventOutcome::OtherTicket { ticket } => Some(other_ticket(ticket)),
        EventOutcome::NotDispatched { kind, outcome } => Some(format!(
            "{} needs a department that had the order, and this decision was not dispatched \
             ({}); record the operator's choice first, as a REASSIGNED event naming the \
             department",
            a_kind(*kind),
            match outcome.as_str() {
                "OUTCOME_MANUAL" => "it went to manual triage",
                "OUTCOME_HANDOFF" => "it was handed off to an emergency line",
                "OUTCOME_OUT_OF_SCOPE" => "it was answered as out of scope",
                _ => "its outcome is not a dispatch",
            }
        )),
        EventOutcome::DueDateBeforeDecision { decided_at_ms } => Some(format!(
            "the new due_date is before its decision (decided {}); check due_date",
            crate::situate::calendar::china_time_ms(*decided_at_ms)
        )),
        EventOutcome::Conflict {
            event_id,
            decision_id,
            kind,
            same_content: true,
        } => Some(format!(
            "event_id {:?} is already recorded for another decision, {decision_id} ({}); an \
             event id names one event of one decision: give this event an id of its own (e.g. \
             with its ticket number in it)",
            shorten(event_id),
            a_kind(*kind)
        )),
        EventOutcome::Conflict {
            event_id,
            decision_id,
            kind,
            same_content: false,
        } => Some(format!(
            "event_id {:?} was recorded before for another event ({} of decision \
             {decision_id}); give each event an id of its own",
            shorten(event_id),
            a_kind(*kind)
        )),
    }
}

/// A time as China time with its milliseconds (`2026-12-05 13:58:11.400 +08:00`): decisions are
/// timed to the millisecond, and a message that says only the second cannot show why an event in
/// that second is before its decision.
fn china_time_with_ms(ms: i64) -> String {
    let shown = crate::situate::calendar::china_time_ms(ms);
    match shown.strip_suffix(" +08:00") {
        Some(clock) => format!("{clock}.{:03} +08:00", ms.rem_euclid(1000)),
        None => shown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundled() -> crate::RuleSet {
        crate::load_dir(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/rules"
        )))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn an_unknown_department_is_answered_with_the_closest_ids() {
        let set = bundled();
        let refused = |id: &str| check_department(id, EventKind::Reassigned, &set).unwrap_err();
        // A department's name or alias where its id belongs.
        for name in ["住房和城乡建设局", "房管局"] {
            let m = refused(name);
            assert!(m.ends_with("this is a name of \"housing\""), "{m}");
        }
        // A misspelt id, an abbreviation of a name, an id in capitals: the closest ids first.
        for (input, first) in [
            ("housng", "housing"),
            ("住建", "housing"),
            ("HOUSING-FUND", "housing-fund"),
        ] {
            let m = refused(input);
            assert!(
                m.contains(&format!("the closest department ids: \"{first}\", ")),
                "{input}: {m}"
            );
        }
        // Nothing close: still three ids to choose from, never a bare "unknown".
        let m = refused("xyz");
        assert_eq!(m.matches('"').count(), 2 + 6, "{m}");
        assert!(check_department("housing", EventKind::Reassigned, &set).is_ok());
    }
}
