//! RecordOutcome and GetDecision: the closed loop over gRPC, on the decision store.
//!
//! Store calls block (the writer thread answers after emptying the spool), so they run on
//! tokio's blocking pool, never on the threads that route.

use std::sync::Arc;

use tonic::{Response, Status};

use super::service::RoutingSvc;
use crate::proto::v1 as pb;
use crate::store::{EventOutcome, Store, StoredDecision, events};

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
        let key =
            events::lookup(&r.decision_id, &r.request_id).map_err(Status::invalid_argument)?;
        let shown = key.to_string();
        match blocking(move || store.get(key)).await? {
            // Both given: they must name one ticket, as RecordOutcome requires; a caller that
            // pairs a ticket with another ticket's decision would otherwise read the wrong record
            // without a word.
            Some(d)
                if !r.decision_id.is_empty()
                    && !r.request_id.is_empty()
                    && d.record.request_id != r.request_id =>
            {
                Err(Status::invalid_argument(events::other_ticket(
                    &d.record.request_id,
                )))
            }
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
        let (event, key) =
            events::check(&e, &self.state.current()).map_err(Status::invalid_argument)?;
        let ticket = e.request_id.clone();
        let outcome = blocking(move || {
            let text_mode = store.text_mode();
            events::record(&*store, event, key, &ticket, text_mode)
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
            conflict @ EventOutcome::Conflict { .. } => Err(Status::already_exists(
                events::refusal(&conflict).unwrap_or_default(),
            )),
            // The request is well formed; the decision is not in a state to take it.
            refused @ EventOutcome::NotDispatched { .. } => Err(Status::failed_precondition(
                events::refusal(&refused).unwrap_or_default(),
            )),
            refused => Err(Status::invalid_argument(
                events::refusal(&refused).unwrap_or_default(),
            )),
        }
    }
}

/// Runs a store call on the blocking pool; a store that cannot answer is UNAVAILABLE.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, Status> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) if e.starts_with(crate::store::DAMAGED) => Err(Status::data_loss(e)),
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
        decision: Some(r.to_response()),
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
                satisfaction: e.satisfaction,
                due_date: e.due_date.clone(),
                operator: e.operator.clone(),
            })
            .collect(),
        final_department_id: d.final_department().to_owned(),
        client: r.client.clone(),
        received_time: r.received_time_ms.map(timestamp),
    }
}
