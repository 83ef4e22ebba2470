//! Events from outside (the API's RecordOutcome, `hotline-router outcomes`): checked the same way
//! wherever they come from, then recorded.
//!
//! An event names its decision by id, or by ticket number (the latest decision with it); its
//! kind; when it happened; and, for returns and reassignments, a department of the serving rules.

use super::{Decisions, Event, EventKind, EventOutcome, Lookup};
use crate::proto::v1 as pb;
use crate::ruleset::did_you_mean;

/// Longest event id, request id, reason or operator accepted.
const MAX_FIELD_CHARS: usize = 1_000;

/// The event of `e`, and where its decision is, or what is wrong with it (a message for the
/// sender: INVALID_ARGUMENT over gRPC).
pub fn check(e: &pb::OutcomeEvent, set: &crate::RuleSet) -> Result<(Event, Lookup), String> {
    if e.event_id.trim().is_empty() {
        return Err(
            "event_id is empty; give each event an id of its own (recording it twice is safe)"
                .into(),
        );
    }
    for (name, v) in [
        ("event_id", &e.event_id),
        ("decision_id", &e.decision_id),
        ("request_id", &e.request_id),
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
    let kind = EventKind::from_proto(e.kind).ok_or(
        "kind is missing or unknown; use ACCEPTED, RETURNED, REASSIGNED, RESOLVED, SATISFACTION, \
         EXTENDED, SUPERVISED or REOPENED",
    )?;
    let at = e.at.as_ref().ok_or("at is missing: when did it happen?")?;
    if kind == EventKind::Extended && crate::situate::calendar::Date::parse(&e.due_date).is_none() {
        return Err("an EXTENDED event needs the new due_date, YYYY-MM-DD".into());
    }
    check_department(&e.department_id, kind, set)?;
    let key = lookup(&e.decision_id, &e.request_id)?;
    let event = Event {
        event_id: e.event_id.clone(),
        decision_id: e.decision_id.clone(),
        kind,
        at_ms: at
            .seconds
            .saturating_mul(1000)
            .saturating_add(i64::from(at.nanos / 1_000_000)),
        department_id: e.department_id.clone(),
        reason: e.reason.clone(),
        satisfaction: (kind == EventKind::Satisfaction).then_some(e.satisfaction),
        due_date: e.due_date.clone(),
        operator: e.operator.clone(),
    };
    Ok((event, key))
}

/// Records a checked event, finding its decision by ticket number first when it has no id.
pub fn record(
    store: &dyn Decisions,
    mut event: Event,
    key: Lookup,
) -> Result<EventOutcome, String> {
    if event.decision_id.is_empty() {
        match store.get(key)? {
            Some(d) => event.decision_id = d.record.decision_id,
            None => return Ok(EventOutcome::NotFound),
        }
    }
    store.record_event(event)
}

/// Where to find a decision: its id, or else the ticket number.
pub fn lookup(decision_id: &str, request_id: &str) -> Result<Lookup, String> {
    if !decision_id.is_empty() {
        Ok(Lookup::DecisionId(decision_id.to_owned()))
    } else if !request_id.is_empty() {
        Ok(Lookup::RequestId(request_id.to_owned()))
    } else {
        Err("give the decision_id (from RouteResponse) or the request_id".into())
    }
}

/// A department named by an event must be one of the serving rules'.
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
    let ids = set.departments().iter().map(|d| d.id.as_str());
    Err(format!(
        "unknown department \"{id}\"{}",
        did_you_mean(id, ids)
    ))
}

/// What a sender is told about an event that was not recorded.
pub fn refusal(outcome: &EventOutcome) -> Option<String> {
    match outcome {
        EventOutcome::Recorded { .. } | EventOutcome::Duplicate { .. } => None,
        EventOutcome::NotFound => {
            Some("no recorded decision with that decision_id / request_id".into())
        }
        EventOutcome::BeforeDecision { decided_at_ms } => Some(format!(
            "the event is dated before its decision (decided at {decided_at_ms} ms since 1970); check `at`"
        )),
    }
}
