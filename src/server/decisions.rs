//! RecordOutcome and GetDecision: the closed loop over gRPC, on the decision store.
//!
//! Store calls block (the writer thread answers after emptying the spool), so they run on
//! tokio's blocking pool, never on the threads that route.

use std::sync::Arc;

use tonic::{Response, Status};

use super::service::RoutingSvc;
use crate::proto::v1 as pb;
use crate::ruleset::did_you_mean;
use crate::store::{Event, EventKind, EventOutcome, Lookup, Store, StoredDecision};

/// Longest event id, request id, reason or operator accepted.
const MAX_FIELD_CHARS: usize = 1_000;

impl RoutingSvc {
    fn store(&self) -> Result<Arc<Store>, Status> {
        self.store.clone().ok_or_else(|| {
            Status::failed_precondition(
                "this server keeps no decision store (started with --store none)",
            )
        })
    }

    /// A store call's result as a response, its failure counted under `method`.
    pub(super) fn answer<R>(
        &self,
        method: &str,
        result: Result<R, Status>,
    ) -> Result<Response<R>, Status> {
        result
            .map(Response::new)
            .map_err(|s| self.failed(method, s))
    }

    pub(super) async fn get_decision_for(
        &self,
        r: pb::GetDecisionRequest,
    ) -> Result<pb::DecisionRecord, Status> {
        let store = self.store()?;
        let key = lookup(&r.decision_id, &r.request_id)?;
        let shown = format!("{key:?}");
        match blocking(move || store.get(key)).await? {
            Some(d) => Ok(to_proto(&d)),
            None => Err(Status::not_found(format!(
                "no recorded decision for {shown}"
            ))),
        }
    }

    pub(super) async fn record_outcome_for(
        &self,
        r: pb::RecordOutcomeRequest,
    ) -> Result<pb::RecordOutcomeResponse, Status> {
        let store = self.store()?;
        let e = r
            .event
            .ok_or_else(|| Status::invalid_argument("event is missing"))?;
        let kind = check_event(&e)?;
        self.check_department(&e.department_id, kind)?;
        let key = lookup(&e.decision_id, &e.request_id)?;
        let event = Event {
            event_id: e.event_id.clone(),
            decision_id: e.decision_id.clone(),
            kind,
            at_ms: e
                .at
                .as_ref()
                .map(|t| t.seconds.saturating_mul(1000) + i64::from(t.nanos / 1_000_000))
                .unwrap_or(0),
            department_id: e.department_id.clone(),
            reason: e.reason.clone(),
            satisfaction: (kind == EventKind::Satisfaction).then_some(e.satisfaction),
            due_date: e.due_date.clone(),
            operator: e.operator.clone(),
        };
        let outcome = blocking(move || {
            let mut event = event;
            if event.decision_id.is_empty() {
                match store.get(key)? {
                    Some(d) => event.decision_id = d.record.decision_id,
                    None => return Ok(EventOutcome::NotFound),
                }
            }
            store.record_event(event)
        })
        .await?;
        match outcome {
            EventOutcome::Recorded { decision_id } => Ok(pb::RecordOutcomeResponse {
                decision_id,
                duplicate: false,
            }),
            EventOutcome::Duplicate { decision_id } => Ok(pb::RecordOutcomeResponse {
                decision_id,
                duplicate: true,
            }),
            EventOutcome::NotFound => Err(Status::not_found(format!(
                "no recorded decision for decision_id \"{}\" / request_id \"{}\"",
                e.decision_id, e.request_id
            ))),
            EventOutcome::BeforeDecision { decided_at_ms } => {
                Err(Status::invalid_argument(format!(
                    "the event is dated before its decision (decided at {} ms since 1970); check `at`",
                    decided_at_ms
                )))
            }
        }
    }

    /// A department named by an event must be one of the serving rules'.
    fn check_department(&self, id: &str, kind: EventKind) -> Result<(), Status> {
        if id.is_empty() {
            return if kind == EventKind::Reassigned {
                Err(Status::invalid_argument(
                    "a REASSIGNED event needs the department_id it went to",
                ))
            } else {
                Ok(())
            };
        }
        let set = self.state.current();
        if set.department(id).is_some() {
            return Ok(());
        }
        let ids = set.departments().iter().map(|d| d.id.as_str());
        Err(Status::invalid_argument(format!(
            "unknown department \"{id}\"{}",
            did_you_mean(id, ids)
        )))
    }
}

/// Where to find a decision: its id, or else the ticket number.
fn lookup(decision_id: &str, request_id: &str) -> Result<Lookup, Status> {
    for (name, v) in [("decision_id", decision_id), ("request_id", request_id)] {
        if v.chars().count() > MAX_FIELD_CHARS {
            return Err(Status::invalid_argument(format!("{name} is too long")));
        }
    }
    if !decision_id.is_empty() {
        Ok(Lookup::DecisionId(decision_id.to_owned()))
    } else if !request_id.is_empty() {
        Ok(Lookup::RequestId(request_id.to_owned()))
    } else {
        Err(Status::invalid_argument(
            "give the decision_id (from RouteResponse) or the request_id",
        ))
    }
}

/// The event's kind, once its fields are what the kind needs.
fn check_event(e: &pb::OutcomeEvent) -> Result<EventKind, Status> {
    let bad = |m: &str| Err(Status::invalid_argument(m.to_owned()));
    if e.event_id.trim().is_empty() {
        return bad(
            "event_id is empty; give each event an id of its own (recording it twice is safe)",
        );
    }
    for (name, v) in [
        ("event_id", &e.event_id),
        ("reason", &e.reason),
        ("operator", &e.operator),
        ("department_id", &e.department_id),
    ] {
        if v.chars().count() > MAX_FIELD_CHARS {
            return Err(Status::invalid_argument(format!(
                "{name} is longer than {MAX_FIELD_CHARS} characters"
            )));
        }
    }
    let Some(kind) = EventKind::from_proto(e.kind) else {
        return bad(
            "kind is missing or unknown; use ACCEPTED, RETURNED, REASSIGNED, RESOLVED, SATISFACTION, EXTENDED, SUPERVISED or REOPENED",
        );
    };
    if e.at.is_none() {
        return bad("at is missing: when did it happen?");
    }
    if kind == EventKind::Extended && crate::situate::calendar::Date::parse(&e.due_date).is_none() {
        return bad("an EXTENDED event needs the new due_date, YYYY-MM-DD");
    }
    Ok(kind)
}

/// Runs a store call on the blocking pool; a store that cannot answer is UNAVAILABLE.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, Status> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Status::unavailable(e)),
        Err(e) => Err(Status::internal(format!("the store call stopped: {e}"))),
    }
}

fn timestamp(ms: i64) -> pbjson_types::Timestamp {
    pbjson_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: i32::try_from(ms.rem_euclid(1000) * 1_000_000).unwrap_or(0),
    }
}

/// A stored decision as the API shows it.
pub(crate) fn to_proto(d: &StoredDecision) -> pb::DecisionRecord {
    let r = &d.record;
    pb::DecisionRecord {
        decision_id: r.decision_id.clone(),
        request_id: r.request_id.clone(),
        method: r.method.clone(),
        channel: pb::Channel::from_str_name(&r.channel).unwrap_or(pb::Channel::Unspecified) as i32,
        received_at: Some(timestamp(r.received_at_ms)),
        text: r.text.clone().unwrap_or_default(),
        text_mode: r.text_mode.as_str().to_owned(),
        place: r.place.clone(),
        decision: serde_json::from_value(r.decision.clone()).ok(),
        events: d
            .events
            .iter()
            .map(|e| pb::OutcomeEvent {
                event_id: e.event_id.clone(),
                decision_id: e.decision_id.clone(),
                request_id: r.request_id.clone(),
                kind: e.kind.to_proto() as i32,
                at: Some(timestamp(e.at_ms)),
                department_id: e.department_id.clone(),
                reason: e.reason.clone(),
                satisfaction: e.satisfaction.unwrap_or(0),
                due_date: e.due_date.clone(),
                operator: e.operator.clone(),
            })
            .collect(),
        final_department_id: d.final_department().to_owned(),
    }
}
