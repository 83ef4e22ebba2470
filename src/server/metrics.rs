//! Prometheus metrics, served as text on `--metrics-listen` (off unless given).
//!
//! Labels are bounded sets (outcome, department id, status code, rule-set version), never request
//! text or caller ids, so the series count stays small and metrics never carry citizen data.

use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabels {
    pub outcome: String,
    pub department: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabels {
    pub method: String,
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClientLabels {
    pub client: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VersionLabels {
    pub version: String,
}

/// Every metric the server exports.
pub struct Metrics {
    registry: Registry,
    pub decisions: Family<DecisionLabels, Counter>,
    pub errors: Family<CodeLabels, Counter>,
    /// Decisions per TLS client identity (mutual TLS only: one label per client certificate
    /// subject the operator issued, so the label set stays small).
    pub clients: Family<ClientLabels, Counter>,
    pub latency: Histogram,
    pub rules_info: Family<VersionLabels, Gauge>,
    pub rules_load_failures: Counter,
    pub rules_last_load_ok: Gauge,
    /// When the serving rules' working-day calendar ends (Unix seconds): alert well before it,
    /// since due dates past it cannot be computed.
    pub calendar_covered_until: Gauge,
    /// Hand-offs the emergency check doubted (`handoff_doubt`): they stand, and an operator
    /// confirms with the caller first. A rising share points at a hand-off rule that fires on
    /// ordinary requests.
    pub handoffs_doubted: Counter,
}

/// Every decision counted by outcome and department, and its latency observed.
impl crate::sink::DecisionSink for Metrics {
    fn record(&self, d: &crate::sink::Decision<'_>) {
        self.decisions
            .get_or_create(&DecisionLabels {
                outcome: d.response.outcome_name().to_owned(),
                department: d.response.department_id().to_owned(),
            })
            .inc();
        self.latency.observe(d.latency.as_secs_f64());
        if d.response.handoff_doubt.is_some() {
            self.handoffs_doubted.inc();
        }
        if !d.client.is_empty() {
            self.clients
                .get_or_create(&ClientLabels {
                    client: d.client.to_owned(),
                })
                .inc();
        }
    }
}

impl Metrics {
    /// The metrics of a server, with the decision store's when it keeps one.
    pub fn new(store: Option<&crate::store::Store>) -> Self {
        let mut registry = Registry::with_prefix("hotline");
        let decisions = Family::<DecisionLabels, Counter>::default();
        registry.register(
            "decisions",
            "Routing decisions by outcome and department",
            decisions.clone(),
        );
        let errors = Family::<CodeLabels, Counter>::default();
        registry.register(
            "errors",
            "Calls that ended with a non-OK gRPC status, by method and code",
            errors.clone(),
        );
        let clients = Family::<ClientLabels, Counter>::default();
        registry.register(
            "client_decisions",
            "Routing decisions by TLS client certificate subject (mutual TLS only)",
            clients.clone(),
        );
        // 25 µs .. ~0.4 s: routing itself is tens of microseconds; the tail shows queueing.
        let latency = Histogram::new([
            0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025,
            0.05, 0.1, 0.25, 0.5,
        ]);
        registry.register(
            "route_duration_seconds",
            "Time to route one request, inside the server",
            latency.clone(),
        );
        let rules_info = Family::<VersionLabels, Gauge>::default();
        registry.register(
            "rules_info",
            "The serving rule-set version (value is always 1)",
            rules_info.clone(),
        );
        let rules_load_failures = Counter::default();
        registry.register(
            "rules_load_failures",
            "Rule-set loads that failed (the previous set kept serving)",
            rules_load_failures.clone(),
        );
        let rules_last_load_ok = Gauge::default();
        registry.register(
            "rules_last_load_ok",
            "1 if the last rule-set load succeeded, 0 if it failed",
            rules_last_load_ok.clone(),
        );
        let calendar_covered_until = Gauge::default();
        registry.register(
            "calendar_covered_until_seconds",
            "When the serving rules' working-day calendar ends (Unix time); due dates after it cannot be computed",
            calendar_covered_until.clone(),
        );
        let handoffs_doubted = Counter::default();
        registry.register(
            "handoffs_doubted",
            "Hand-offs of the rules that the emergency check doubted (they stand; the operator confirms with the caller)",
            handoffs_doubted.clone(),
        );
        if let Some(store) = store {
            register_store(&mut registry, store.stats());
        }
        Metrics {
            registry,
            decisions,
            errors,
            clients,
            latency,
            rules_info,
            rules_load_failures,
            rules_last_load_ok,
            calendar_covered_until,
            handoffs_doubted,
        }
    }

    pub fn set_rules_version(&self, version: &str) {
        self.rules_info.clear();
        self.rules_info
            .get_or_create(&VersionLabels {
                version: version.to_owned(),
            })
            .set(1);
    }

    /// The serving set's version and how long its calendar lasts; a calendar that ends within
    /// 30 days is also a warning in the log, at every load, until next year's holidays are added.
    pub fn set_rules(&self, set: &crate::RuleSet) {
        self.set_rules_version(set.version());
        let Some(until_ms) = set.calendar().covered_until_ms() else {
            self.calendar_covered_until.set(0);
            return;
        };
        self.calendar_covered_until.set(until_ms / 1000);
        let days_left = set
            .calendar()
            .days_left(crate::store::now_ms())
            .unwrap_or_default();
        if days_left < crate::situate::calendar::ENDS_SOON_DAYS {
            let years: Vec<String> = set.calendar().years().iter().map(i32::to_string).collect();
            tracing::warn!(
                days_left,
                covered_years = %years.join(", "),
                "the working-day calendar ends in {days_left} day(s): add next year's holidays to rules/calendar.yaml, or due dates after it cannot be computed"
            );
        }
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new(None)
    }
}

/// Serves `GET /metrics` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>) {
    loop {
        let (stream, _peer): (_, SocketAddr) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "metrics listener accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let metrics = metrics.clone();
                async move {
                    let resp = if req.uri().path() == "/metrics" {
                        Response::builder()
                            .header(
                                "content-type",
                                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                            )
                            .body(Full::new(Bytes::from(metrics.encode())))
                    } else {
                        Response::builder()
                            .status(StatusCode::NOT_FOUND)
                            .body(Full::new(Bytes::from_static(b"see /metrics\n")))
                    };
                    resp.map_err(|e| std::io::Error::other(e.to_string()))
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

/// The decision store's counters: what it wrote, how often it failed, and its backlog.
fn register_store(registry: &mut Registry, stats: &crate::store::Stats) {
    registry.register(
        "store_written",
        "Entries (decisions, rule-set archives) written to the decision store's database",
        stats.written.clone(),
    );
    registry.register(
        "store_failures",
        "Failed attempts to write to the decision store's database or spool (nothing is dropped: \
         entries stay in the spool and are replayed)",
        stats.failures.clone(),
    );
    registry.register(
        "store_damaged_lines",
        "Damaged stretches of the spool that could not be read back (a frame failing its checksum, a cut one), skipped",
        stats.damaged.clone(),
    );
    registry.register(
        "store_purged",
        "Decisions deleted by the retention purge",
        stats.purged.clone(),
    );
    registry.register(
        "store_record_duration_seconds",
        "Time a Route call spends recording its decision (encoding it and appending it to the \
         spool), inside the server",
        stats.record_seconds.clone(),
    );
    registry.register(
        "store_spool_bytes",
        "Bytes in the spool not yet in the database (the backlog)",
        stats.spool_bytes.clone(),
    );
}
