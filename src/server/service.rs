//! The RoutingService methods.
//!
//! Each call: take a concurrency permit or fail fast (RESOURCE_EXHAUSTED), validate
//! (INVALID_ARGUMENT with the reason), route on a snapshot of the serving rule set, then record
//! one log line and the metrics. The log line carries the caller's request id, channel, outcome,
//! department, rule and latency, and the text's *length*: never the text, which holds citizens'
//! phone and ID numbers.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tokio::sync::Semaphore;
use tonic::{Request, Response, Status};

use super::metrics::{CodeLabels, DecisionLabels, Metrics};
use super::state::RuleState;
use crate::proto::v1 as pb;
use crate::request::{self, MAX_BATCH_SIZE, MAX_TEXT_CHARS};

pub struct RoutingSvc {
    state: Arc<RuleState>,
    metrics: Arc<Metrics>,
    limiter: Arc<Semaphore>,
    max_concurrency: usize,
}

impl RoutingSvc {
    pub fn new(state: Arc<RuleState>, metrics: Arc<Metrics>, max_concurrency: usize) -> Self {
        let max_concurrency = max_concurrency.clamp(1, Semaphore::MAX_PERMITS);
        RoutingSvc {
            state,
            metrics,
            limiter: Arc::new(Semaphore::new(max_concurrency)),
            max_concurrency,
        }
    }

    fn admit(&self, method: &str) -> Result<tokio::sync::OwnedSemaphorePermit, Status> {
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

    fn failed(&self, method: &str, status: Status) -> Status {
        self.metrics
            .errors
            .get_or_create(&CodeLabels {
                method: method.to_owned(),
                code: format!("{:?}", status.code()),
            })
            .inc();
        tracing::info!(method, code = ?status.code(), message = status.message(), "call refused");
        status
    }

    /// Routes one validated request on `set` and records it (log line, metrics).
    fn route_one(
        &self,
        set: &crate::ruleset::RuleSet,
        r: &pb::RouteRequest,
        started: Instant,
    ) -> pb::RouteResponse {
        let resp = set.route_full(&r.request_id, &r.title, &r.text, &context(r));
        self.record(
            &resp,
            r.channel,
            r.text.chars().count() + r.title.chars().count(),
            started,
        );
        resp
    }

    fn record(&self, resp: &pb::RouteResponse, channel: i32, chars: usize, started: Instant) {
        let outcome = resp.outcome_name();
        let department = resp.department_id();
        let elapsed = started.elapsed();
        self.metrics
            .decisions
            .get_or_create(&DecisionLabels {
                outcome: outcome.to_owned(),
                department: department.to_owned(),
            })
            .inc();
        self.metrics.latency.observe(elapsed.as_secs_f64());
        let channel = pb::Channel::try_from(channel)
            .map(|c| c.as_str_name())
            .unwrap_or("CHANNEL_UNSPECIFIED");
        tracing::info!(
            request_id = %resp.id,
            channel,
            outcome,
            department,
            rule_id = %resp.rule_id,
            rules_version = %resp.rules_version,
            chars,
            latency_us = elapsed.as_micros() as u64,
            "routed"
        );
    }
}

/// What the request says besides its text: the caller's district and the received date.
fn context(r: &pb::RouteRequest) -> crate::situate::RequestContext<'_> {
    crate::situate::RequestContext {
        district: &r.district,
        received: r
            .received_time
            .as_ref()
            .map(|t| crate::calendar::Date::from_unix_china(t.seconds)),
    }
}

fn to_timestamp(t: SystemTime) -> pbjson_types::Timestamp {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    pbjson_types::Timestamp {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: d.subsec_nanos() as i32,
    }
}

#[tonic::async_trait]
impl pb::routing_service_server::RoutingService for RoutingSvc {
    async fn route(
        &self,
        request: Request<pb::RouteRequest>,
    ) -> Result<Response<pb::RouteResponse>, Status> {
        let _permit = self.admit("Route")?;
        let started = Instant::now();
        let r = request.into_inner();
        if let Err(reason) = request::validate(&r.title, &r.text, &r.request_id, &r.district) {
            return Err(self.failed("Route", Status::invalid_argument(reason)));
        }
        Ok(Response::new(self.route_one(
            &self.state.current(),
            &r,
            started,
        )))
    }

    async fn route_batch(
        &self,
        request: Request<pb::RouteBatchRequest>,
    ) -> Result<Response<pb::RouteBatchResponse>, Status> {
        let _permit = self.admit("RouteBatch")?;
        let batch = request.into_inner();
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
            let started = Instant::now();
            let item = match request::validate(&r.title, &r.text, &r.request_id, &r.district) {
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
                Ok(()) => pb::route_batch_item::Result::Decision(self.route_one(&set, &r, started)),
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
        let set = self.state.current();
        let failure = self.state.last_failure();
        Ok(Response::new(pb::GetRuleSetResponse {
            version: set.version().to_owned(),
            rule_count: set.dispatch_rule_count() as u32,
            department_count: set.departments().len() as u32,
            regulation_count: set.regulations().len() as u32,
            category_count: set.category_count() as u32,
            loaded_at: Some(to_timestamp(set.loaded_at())),
            source: set.source().display().to_string(),
            last_load_errors: failure
                .diagnostics
                .iter()
                .map(|d| pb::Diagnostic {
                    severity: d.severity.as_str().to_owned(),
                    location: Some(pb::SourceLocation {
                        file: d.location.file.clone(),
                        line: d.location.line,
                        column: d.location.column,
                    }),
                    message: d.message.clone(),
                })
                .collect(),
            last_load_failed_at: failure.at.map(to_timestamp),
            max_text_chars: MAX_TEXT_CHARS as u32,
            max_batch_size: MAX_BATCH_SIZE as u32,
        }))
    }
}
