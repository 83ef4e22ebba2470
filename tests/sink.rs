//! The decision sink seam: the real server, started in-process with a sink that keeps what it
//! is given, called over gRPC. Every decision (Route and each valid RouteBatch item) reaches the
//! sink once, with its request context; refused calls and items do not.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hotline_router::proto::v1 as pb;
use hotline_router::proto::v1::routing_service_client::RoutingServiceClient;
use hotline_router::server::{RuleState, Serving, metrics::Metrics, serve};
use hotline_router::sink::{Decision, DecisionSink, Method};

/// What a sink saw of one decision.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    method: Method,
    request_id: String,
    channel: pb::Channel,
    place: String,
    rule_id: String,
    rules_version: String,
}

#[derive(Default)]
struct Keep(Mutex<Vec<Seen>>);

impl DecisionSink for Keep {
    fn record(&self, d: &Decision<'_>) {
        self.0.lock().unwrap().push(Seen {
            method: d.method,
            request_id: d.request.id.to_owned(),
            channel: d.channel,
            place: d.request.place.to_owned(),
            rule_id: d.response.rule_id.clone(),
            rules_version: d.response.rules_version.clone(),
        });
    }
}

#[tokio::test]
async fn every_decision_reaches_the_sink_with_its_request_context() {
    let rules = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"));
    let state = Arc::new(RuleState::load(rules).await.expect("bundled rules"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let keep = Arc::new(Keep::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = Serving {
        sink: keep.clone(),
        store: None,
        max_concurrency: 64,
        grace: Duration::from_millis(0),
        shutdown_timeout: Duration::from_secs(5),
        limits: Default::default(),
        tls: None,
    };
    let server = tokio::spawn(serve(
        listener,
        state,
        Arc::new(Metrics::new(None)),
        serving,
        async move {
            let _ = stopped.await;
        },
    ));
    let mut c = RoutingServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();

    let one = pb::RouteRequest {
        text: "高新区的房子还没过户，物业费谁交".into(),
        request_id: "2026-1127-0042".into(),
        channel: pb::Channel::Phone as i32,
        place: "高新区".into(),
        ..Default::default()
    };
    let r = c.route(one).await.unwrap().into_inner();
    let _ = c
        .route(pb::RouteRequest::default())
        .await
        .expect_err("an empty text is refused");
    let batch = pb::RouteBatchRequest {
        requests: vec![
            pb::RouteRequest {
                text: "公司三个月没发工资了".into(),
                request_id: "B-1".into(),
                channel: pb::Channel::Web as i32,
                ..Default::default()
            },
            pb::RouteRequest {
                text: String::new(),
                request_id: "B-2".into(),
                ..Default::default()
            },
        ],
    };
    let items = c.route_batch(batch).await.unwrap().into_inner().items;
    assert_eq!(items.len(), 2);

    let seen = keep.0.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![
            Seen {
                method: Method::Route,
                request_id: "2026-1127-0042".into(),
                channel: pb::Channel::Phone,
                place: "高新区".into(),
                rule_id: r.rule_id.clone(),
                rules_version: r.rules_version.clone(),
            },
            Seen {
                method: Method::RouteBatch,
                request_id: "B-1".into(),
                channel: pb::Channel::Web,
                place: String::new(),
                rule_id: "wage-arrears".into(),
                rules_version: r.rules_version.clone(),
            },
        ]
    );
    assert_eq!(r.rule_id, "property-fee-unsold");
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
