//! What happens to a decision after it is made: the seam between the engine and whatever keeps
//! decisions (the log line today; a decision store, a queue, an audit file).
//!
//! The engine itself stays a pure function ([`RuleSet::route`](crate::RuleSet::route)); the
//! server and the CLI hand every decision, with what is known about the request that produced
//! it, to a [`DecisionSink`]. A sink must never fail or slow a Route call: `record` returns
//! nothing, and a sink that writes somewhere slow queues the work off the request path.

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use crate::proto::v1 as pb;

/// How a decision was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// The gRPC `Route` call.
    Route,
    /// One item of a gRPC `RouteBatch` call.
    RouteBatch,
    /// `hotline-router route` (one text or `--jsonl`).
    Cli,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Route => "Route",
            Method::RouteBatch => "RouteBatch",
            Method::Cli => "cli",
        }
    }
}

/// One decision with its request context, as a sink receives it.
#[derive(Clone, Copy)]
pub struct Decision<'a> {
    pub method: Method,
    /// The rule set that decided.
    pub set: &'a crate::RuleSet,
    /// The request as routed (the full text: a sink decides what it keeps of it).
    pub request: &'a crate::request::RouteInput<'a>,
    /// Where the request came from (gRPC `channel`; unspecified from the CLI).
    pub channel: pb::Channel,
    /// The caller's identity: its TLS client certificate's subject under mutual TLS, else "".
    pub client: &'a str,
    /// When the router received the call.
    pub received_at: SystemTime,
    /// How long the decision took.
    pub latency: Duration,
    pub response: &'a pb::RouteResponse,
}

/// Routes `input` on `set` and hands the decision to `sink`: the one path a decision takes from
/// the engine to a sink, in the server and in the CLI alike.
pub fn route_and_record(
    set: &crate::RuleSet,
    input: &crate::request::RouteInput<'_>,
    method: Method,
    channel: pb::Channel,
    client: &str,
    sink: &dyn DecisionSink,
) -> pb::RouteResponse {
    let (received_at, started) = (SystemTime::now(), std::time::Instant::now());
    let mut response = set.route(input);
    if let Some(id) = sink.decision_id(received_at) {
        response.decision_id = id;
    }
    sink.record(&Decision {
        method,
        set,
        request: input,
        channel,
        client,
        received_at,
        latency: started.elapsed(),
        response: &response,
    });
    response
}

/// Receives every decision. Implementations must be cheap and must not fail the call.
pub trait DecisionSink: Send + Sync {
    /// An id for the decision about to be recorded, when this sink keeps decisions (it becomes
    /// the response's `decision_id`); `received_at` is when the router received the request.
    fn decision_id(&self, received_at: SystemTime) -> Option<String> {
        let _ = received_at;
        None
    }

    fn record(&self, decision: &Decision<'_>);
}

/// Records nowhere.
pub struct Discard;

impl DecisionSink for Discard {
    fn record(&self, _: &Decision<'_>) {}
}

/// One `tracing` line per decision: request id, channel, outcome, department, rule, rule-set
/// version, latency and the text's *length*, never the text, which holds citizens' phone and
/// ID numbers.
pub struct LogSink;

impl DecisionSink for LogSink {
    fn record(&self, d: &Decision<'_>) {
        let resp = d.response;
        tracing::info!(
            method = d.method.as_str(),
            // As a string value (quoted, escaped), not `%` (written raw): the id is the caller's,
            // and a raw `x outcome="OUTCOME_HANDOFF"` would forge fields in a text log line.
            request_id = resp.id.as_str(),
            channel = d.channel.as_str_name(),
            client = d.client,
            outcome = resp.outcome_name(),
            department = resp.department_id(),
            rule_id = %resp.rule_id,
            rules_version = %resp.rules_version,
            chars = d.request.text.chars().count() + d.request.title.chars().count(),
            latency_us = d.latency.as_micros() as u64,
            "routed"
        );
    }
}

/// Appends one JSON line per decision to a file (`hotline-router route --record FILE`): the
/// request id, method, time, rules version and the whole decision, without the request text.
pub struct JsonlSink {
    out: Mutex<std::io::BufWriter<std::fs::File>>,
}

impl JsonlSink {
    pub fn append(path: &std::path::Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(JsonlSink {
            out: Mutex::new(std::io::BufWriter::new(file)),
        })
    }

    /// Writes what is buffered; returns the first error.
    pub fn flush(&self) -> std::io::Result<()> {
        match self.out.lock() {
            Ok(mut w) => w.flush(),
            Err(poisoned) => poisoned.into_inner().flush(),
        }
    }
}

impl DecisionSink for JsonlSink {
    fn record(&self, d: &Decision<'_>) {
        let at = d
            .received_at
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let line = serde_json::json!({
            "requestId": d.request.id,
            "method": d.method.as_str(),
            "channel": d.channel.as_str_name(),
            "receivedAtUnixMs": at.as_millis() as u64,
            "rulesVersion": d.response.rules_version,
            "decision": d.response,
        });
        let mut w = match self.out.lock() {
            Ok(w) => w,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Err(e) = writeln!(w, "{line}") {
            tracing::warn!(error = %e, "cannot append a decision record");
        }
    }
}

/// Several sinks, each given every decision in order.
#[derive(Default)]
pub struct Sinks(pub Vec<std::sync::Arc<dyn DecisionSink>>);

impl DecisionSink for Sinks {
    fn decision_id(&self, received_at: SystemTime) -> Option<String> {
        self.0.iter().find_map(|s| s.decision_id(received_at))
    }

    fn record(&self, d: &Decision<'_>) {
        for s in &self.0 {
            s.record(d);
        }
    }
}
