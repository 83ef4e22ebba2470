//! The RoutingService methods.
//!
//! Each call: take a concurrency permit or fail fast (RESOURCE_EXHAUSTED), validate
//! (INVALID_ARGUMENT with the reason), route on a snapshot of the serving rule set, count the
//! decision in the metrics and hand it, with its request context, to the [`DecisionSink`] (the
//! log line; later a decision store).
//!
//! The limit is a semaphore tried without waiting rather than tower's `ConcurrencyLimit` +
//! `LoadShed`: behind tonic those answer an overloaded call with INTERNAL and no message, and
//! count it under no method, where a client needs RESOURCE_EXHAUSTED ("retry with backoff") and
//! an operator needs the refusal in `hotline_errors_total{method,code}` (counted in `intake.rs`).

use std::sync::Arc;

use tokio::sync::Semaphore;
use tonic::{Request, Response, Status};

use super::metrics::{CodeLabels, Metrics};
use super::state::RuleState;
use crate::proto::v1 as pb;
use crate::request::{MAX_BATCH_SIZE, RouteInput};
use crate::ruleset::RuleSet;
use crate::sink::{DecisionSink, Method, route_and_record};

pub struct RoutingSvc {
    pub(super) state: Arc<RuleState>,
    metrics: Arc<Metrics>,
    sink: Arc<dyn DecisionSink>,
    pub(super) store: Option<Arc<crate::store::Store>>,
    limiter: Arc<Semaphore>,
    max_concurrency: usize,
}

impl RoutingSvc {
    pub fn new(
        state: Arc<RuleState>,
        metrics: Arc<Metrics>,
        sink: Arc<dyn DecisionSink>,
        store: Option<Arc<crate::store::Store>>,
        max_concurrency: usize,
    ) -> Self {
        let max_concurrency = max_concurrency.clamp(1, Semaphore::MAX_PERMITS);
        RoutingSvc {
            state,
            metrics,
            sink,
            store,
            limiter: Arc::new(Semaphore::new(max_concurrency)),
            max_concurrency,
        }
    }

    pub(super) fn admit(&self, method: &str) -> Result<tokio::sync::OwnedSemaphorePermit, Status> {
        self.limiter.clone().try_acquire_owned().map_err(|_| {
            self.failed(
                method,
                Status::resource_exhausted(format!(
                    "the server is routing {} requests already (its limit); retry with backoff",
                    self.max_concurrency
                )),
            )
        })
    }

    /// The call's message, once it holds a permit.
    pub(super) fn admitted<T>(
        &self,
        method: &str,
        request: Request<T>,
    ) -> Result<(tokio::sync::OwnedSemaphorePermit, T), Status> {
        Ok((self.admit(method)?, request.into_inner()))
    }

    /// A refused call, logged; `intake.rs` counts it in `hotline_errors_total` from the status
    /// the response carries, with every other refusal.
    pub(super) fn failed(&self, method: &str, status: Status) -> Status {
        tracing::info!(method, code = ?status.code(), message = status.message(), "call refused");
        status
    }

    /// Routes one validated request on `set` and hands it to the sink (metrics, log line).
    fn route_one(
        &self,
        set: &RuleSet,
        method: Method,
        r: &pb::RouteRequest,
        input: &RouteInput<'_>,
        client: &str,
    ) -> pb::RouteResponse {
        let channel = pb::Channel::try_from(r.channel).unwrap_or(pb::Channel::Unspecified);
        route_and_record(set, input, method, channel, client, &*self.sink)
    }
}

/// The caller's TLS client certificate subject (mutual TLS), or "".
fn client_of<T>(request: &Request<T>) -> std::sync::Arc<str> {
    request
        .extensions()
        .get::<super::conn::ConnInfo>()
        .and_then(|c| c.client.clone())
        .unwrap_or_else(|| std::sync::Arc::from(""))
}

#[tonic::async_trait]
impl pb::routing_service_server::RoutingService for RoutingSvc {
    async fn route(
        &self,
        request: Request<pb::RouteRequest>,
    ) -> Result<Response<pb::RouteResponse>, Status> {
        let client = client_of(&request);
        let (_permit, r) = self.admitted("Route", request)?;
        let input = match RouteInput::from_proto(&r) {
            Ok(i) => i,
            Err(reason) => return Err(self.failed("Route", Status::invalid_argument(reason))),
        };
        let response = self.route_one(&self.state.current(), Method::Route, &r, &input, &client);
        Ok(Response::new(response))
    }

    async fn route_batch(
        &self,
        request: Request<pb::RouteBatchRequest>,
    ) -> Result<Response<pb::RouteBatchResponse>, Status> {
        let client = client_of(&request);
        let (_permit, batch) = self.admitted("RouteBatch", request)?;
        if batch.requests.is_empty() {
            return Err(self.failed(
                "RouteBatch",
                Status::invalid_argument("the batch is empty; send at least one request"),
            ));
        }
        if batch.requests.len() > MAX_BATCH_SIZE {
            return Err(self.failed(
                "RouteBatch",
                Status::invalid_argument(format!(
                    "the batch has {} requests, over the limit of {MAX_BATCH_SIZE}; split it",
                    batch.requests.len()
                )),
            ));
        }
        // One snapshot for the whole batch: every item is decided by the same rule-set version.
        let set = self.state.current();
        let mut items = Vec::with_capacity(batch.requests.len());
        for (i, r) in batch.requests.into_iter().enumerate() {
            let item = match RouteInput::from_proto(&r) {
                Err(reason) => {
                    self.metrics
                        .errors
                        .get_or_create(&CodeLabels {
                            method: "RouteBatch.item".to_owned(),
                            code: "InvalidArgument".to_owned(),
                        })
                        .inc();
                    pb::route_batch_item::Result::Error(pb::ItemError {
                        code: "INVALID_ARGUMENT".to_owned(),
                        message: format!("request {i}: {reason}"),
                    })
                }
                Ok(input) => pb::route_batch_item::Result::Decision(self.route_one(
                    &set,
                    Method::RouteBatch,
                    &r,
                    &input,
                    &client,
                )),
            };
            items.push(pb::RouteBatchItem {
                id: r.request_id,
                result: Some(item),
            });
            // Let the runtime cancel a batch whose deadline passed, and serve other calls.
            if i % 32 == 31 {
                tokio::task::yield_now().await;
            }
        }
        Ok(Response::new(pb::RouteBatchResponse { items }))
    }

    async fn get_rule_set(
        &self,
        _request: Request<pb::GetRuleSetRequest>,
    ) -> Result<Response<pb::GetRuleSetResponse>, Status> {
        Ok(Response::new(self.state.info()))
    }

    async fn record_outcome(
        &self,
        request: Request<pb::RecordOutcomeRequest>,
    ) -> Result<Response<pb::RecordOutcomeResponse>, Status> {
        let (_permit, r) = self.admitted("RecordOutcome", request)?;
        self.answer("RecordOutcome", self.record_outcome_for(r).await)
    }

    async fn get_decision(
        &self,
        request: Request<pb::GetDecisionRequest>,
    ) -> Result<Response<pb::DecisionRecord>, Status> {
        let (_permit, r) = self.admitted("GetDecision", request)?;
        let found = self.get_decision_for(r).await;
        self.answer("GetDecision", found)
    }
}
