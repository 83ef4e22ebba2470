//! The real server, started as a process on an ephemeral port, talked to over gRPC with the
//! generated tonic client: routing, validation, batch, rule-set info, health, reflection,
//! concurrency and graceful shutdown.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hotline_router::proto::v1 as pb;
use hotline_router::proto::v1::routing_service_client::RoutingServiceClient;
use tonic::Code;
use tonic::transport::Channel;

struct Server {
    child: Child,
    addr: String,
    metrics: Option<String>,
}

impl Server {
    fn start() -> Server {
        Self::start_with(&[])
    }

    /// Starts the server with extra flags; reads its stdout up to the `listening on` line.
    fn start_with(extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hotline-router"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--shutdown-grace-ms",
                "200",
                "--rules",
            ])
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"))
            .args(extra)
            .env("HOTLINE_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("server starts");
        let stdout = child.stdout.take().expect("stdout");
        // Owned by `Server` from here on, so that its Drop reaps the process on any panic below.
        let mut server = Server {
            child,
            addr: String::new(),
            metrics: None,
        };
        let mut out = BufReader::new(stdout);
        loop {
            let mut line = String::new();
            assert!(
                out.read_line(&mut line).expect("reads stdout") > 0,
                "server exited before listening"
            );
            if let Some(m) = line.trim().strip_prefix("metrics listening on ") {
                server.metrics = Some(m.to_owned());
            } else if let Some(addr) = line.trim().strip_prefix("listening on ") {
                server.addr = format!("http://{addr}");
                return server;
            }
        }
    }

    async fn client(&self) -> RoutingServiceClient<Channel> {
        RoutingServiceClient::connect(self.addr.clone())
            .await
            .expect("connects")
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().expect("server exits")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn req(text: &str) -> pb::RouteRequest {
    pb::RouteRequest {
        text: text.to_owned(),
        request_id: "t-1".to_owned(),
        ..Default::default()
    }
}

#[tokio::test]
async fn route_over_the_wire() {
    let server = Server::start();
    let mut c = server.client().await;
    let r = c
        .route(req(
            "我在高新区买的房子还没过户，物业公司催我交物业费，未过户的房产物业费应该由谁交？",
        ))
        .await
        .expect("routes")
        .into_inner();
    assert_eq!(r.id, "t-1");
    assert_eq!(r.outcome, pb::Outcome::Dispatch as i32);
    assert_eq!(r.department.map(|d| d.id), Some("housing".to_owned()));
    assert!(
        r.regulations
            .iter()
            .any(|g| g.title == "物业管理条例" && g.article == "第四十一条" && !g.text.is_empty())
    );

    let info = c
        .get_rule_set(pb::GetRuleSetRequest {})
        .await
        .expect("rule set")
        .into_inner();
    assert_eq!(info.version, r.rules_version);
    assert!(info.rule_count >= 100 && info.department_count >= 28 && info.regulation_count >= 200);
    assert!(info.last_load_errors.is_empty());
}

#[tokio::test]
async fn bad_input_is_invalid_argument_with_a_reason() {
    let server = Server::start();
    let mut c = server.client().await;
    for (text, needle) in [
        ("", "empty"),
        ("  \n\t ", "empty"),
        (&"字".repeat(20_001)[..], "over the limit"),
    ] {
        let s = c.route(req(text)).await.expect_err("refused");
        assert_eq!(s.code(), Code::InvalidArgument, "{}", s.message());
        assert!(s.message().contains(needle), "{}", s.message());
    }
    let s = c
        .route_batch(pb::RouteBatchRequest { requests: vec![] })
        .await
        .expect_err("empty batch refused");
    assert_eq!(s.code(), Code::InvalidArgument);
    let big = pb::RouteBatchRequest {
        requests: (0..1001).map(|_| req("物业费")).collect(),
    };
    let s = c
        .route_batch(big)
        .await
        .expect_err("oversized batch refused");
    assert_eq!(s.code(), Code::InvalidArgument);
    assert!(s.message().contains("1001"));
}

#[tokio::test]
async fn batch_routes_good_items_and_reports_bad_ones() {
    let server = Server::start();
    let mut c = server.client().await;
    let batch = pb::RouteBatchRequest {
        requests: vec![
            pb::RouteRequest {
                request_id: "a".into(),
                text: "公司三个月没发工资了，老板跑了".into(),
                ..Default::default()
            },
            pb::RouteRequest {
                request_id: "b".into(),
                text: "   ".into(),
                ..Default::default()
            },
            pb::RouteRequest {
                request_id: "c".into(),
                text: "离职后公积金怎么提取".into(),
                ..Default::default()
            },
        ],
    };
    let items = c
        .route_batch(batch)
        .await
        .expect("batch")
        .into_inner()
        .items;
    assert_eq!(
        items.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    match &items[0].result {
        Some(pb::route_batch_item::Result::Decision(d)) => {
            assert_eq!(d.department.as_ref().unwrap().id, "hrss")
        }
        other => panic!("{other:?}"),
    }
    match &items[1].result {
        Some(pb::route_batch_item::Result::Error(e)) => assert_eq!(e.code, "INVALID_ARGUMENT"),
        other => panic!("{other:?}"),
    }
    match &items[2].result {
        Some(pb::route_batch_item::Result::Decision(d)) => {
            assert_eq!(d.department.as_ref().unwrap().id, "housing-fund")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn health_and_reflection() {
    let server = Server::start();
    let channel = Channel::from_shared(server.addr.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    for service in ["", "hotline.routing.v1.RoutingService"] {
        let r = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.into(),
            })
            .await
            .expect("health answers")
            .into_inner();
        assert_eq!(
            r.status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32,
            "{service}"
        );
    }

    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let mut refl = ServerReflectionClient::new(channel);
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = refl
        .server_reflection_info(tokio_stream::iter(vec![req]))
        .await
        .expect("reflection")
        .into_inner();
    let msg = stream.message().await.expect("reply").expect("one reply");
    let Some(MessageResponse::ListServicesResponse(list)) = msg.message_response else {
        panic!("not a list")
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"hotline.routing.v1.RoutingService".to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&"grpc.health.v1.Health".to_owned()),
        "{names:?}"
    );
}

#[tokio::test]
async fn concurrent_calls_then_graceful_shutdown_loses_none() {
    let mut server = Server::start();
    let c = server.client().await;
    let mut tasks = Vec::new();
    for i in 0..64 {
        let mut c = c.clone();
        tasks.push(tokio::spawn(async move {
            let batch = pb::RouteBatchRequest {
                requests: (0..200)
                    .map(|j| {
                        req(&format!(
                            "第{i}-{j}号：小区门口的垃圾站好几天没人清理，臭气熏天"
                        ))
                    })
                    .collect(),
            };
            c.route_batch(batch)
                .await
                .map(|r| r.into_inner().items.len())
        }));
    }
    // Ask the server to stop while those calls are in flight.
    tokio::time::sleep(Duration::from_millis(30)).await;
    let status = tokio::task::spawn_blocking(move || server.terminate())
        .await
        .unwrap();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(n) => {
                assert_eq!(n, 200);
                ok += 1;
            }
            // Calls that had not reached the server before it stopped accepting are refused by
            // the transport, never half-answered.
            Err(s) => assert!(
                matches!(
                    s.code(),
                    Code::Unavailable | Code::Cancelled | Code::Unknown
                ),
                "{s:?}"
            ),
        }
    }
    assert!(ok > 0, "no call completed");
    assert!(status.success(), "exit status {status:?}");
}

/// GET /metrics over a plain TCP connection.
fn scrape(addr: &str) -> String {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(addr).expect("metrics port");
    conn.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut body = String::new();
    conn.read_to_string(&mut body).unwrap();
    body
}

#[tokio::test]
async fn metrics_count_decisions_errors_and_the_rule_set() {
    let server = Server::start_with(&["--metrics-listen", "127.0.0.1:0"]);
    let mut c = server.client().await;
    c.route(req("公司三个月没发工资了，老板跑了"))
        .await
        .expect("routes");
    let _ = c.route(req("")).await.expect_err("refused");
    let metrics = server.metrics.clone().expect("metrics address printed");
    let body = tokio::task::spawn_blocking(move || scrape(&metrics))
        .await
        .unwrap();
    assert!(
        body.starts_with("HTTP/1.0 200") || body.starts_with("HTTP/1.1 200"),
        "{body}"
    );
    assert!(
        body.contains(r#"hotline_decisions_total{outcome="OUTCOME_DISPATCH",department="hrss"} 1"#),
        "{body}"
    );
    assert!(
        body.contains(r#"hotline_errors_total{method="Route",code="InvalidArgument"} 1"#),
        "{body}"
    );
    assert!(
        body.contains("hotline_route_duration_seconds_count 1"),
        "{body}"
    );
    assert!(body.contains("hotline_rules_info{version="), "{body}");
    assert!(body.contains("hotline_rules_last_load_ok 1"), "{body}");
    // Metrics never carry request text.
    assert!(!body.contains("工资"));
}

#[tokio::test]
async fn over_the_concurrency_limit_calls_fail_fast() {
    let server = Server::start_with(&["--max-concurrency", "1"]);
    let c = server.client().await;
    let long = "小区门口的垃圾站好几天没人清理，臭气熏天。".repeat(100);
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let mut c = c.clone();
        let batch = pb::RouteBatchRequest {
            requests: (0..200).map(|_| req(&long)).collect(),
        };
        tasks.push(tokio::spawn(async move {
            c.route_batch(batch).await.map(|_| ())
        }));
    }
    let (mut ok, mut exhausted) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(s) => {
                assert_eq!(s.code(), Code::ResourceExhausted, "{s:?}");
                assert!(s.message().contains("retry"), "{}", s.message());
                exhausted += 1;
            }
        }
    }
    assert!(ok >= 1 && exhausted >= 1, "ok {ok}, exhausted {exhausted}");
}

#[tokio::test]
async fn a_passed_deadline_stops_the_work() {
    let server = Server::start_with(&["--metrics-listen", "127.0.0.1:0"]);
    let mut c = server.client().await;
    let long = "小区门口的垃圾站好几天没人清理，臭气熏天。".repeat(50); // ~3 MB in all: under the 4 MiB request limit
    let mut request = tonic::Request::new(pb::RouteBatchRequest {
        requests: (0..1000).map(|_| req(&long)).collect(),
    });
    request.set_timeout(Duration::from_millis(20));
    let s = c
        .route_batch(request)
        .await
        .expect_err("deadline passes first");
    assert!(
        matches!(s.code(), Code::DeadlineExceeded | Code::Cancelled),
        "{s:?}"
    );
    // The server abandoned the batch instead of routing all 1,000 items for nobody.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let metrics = server.metrics.clone().expect("metrics address printed");
    let body = tokio::task::spawn_blocking(move || scrape(&metrics))
        .await
        .unwrap();
    let routed: u64 = body
        .lines()
        .find_map(|l| l.strip_prefix("hotline_route_duration_seconds_count "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(
        routed < 1000,
        "the server routed all {routed} items after the deadline"
    );
    // And it is still serving.
    assert!(c.route(req("离职后公积金怎么提取")).await.is_ok());
}

#[tokio::test]
async fn reflection_v1alpha_lists_the_services() {
    use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
    let server = Server::start();
    let channel = Channel::from_shared(server.addr.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut refl = ServerReflectionClient::new(channel);
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = refl
        .server_reflection_info(tokio_stream::iter(vec![req]))
        .await
        .expect("reflection")
        .into_inner();
    let msg = stream.message().await.expect("reply").expect("one reply");
    let Some(MessageResponse::ListServicesResponse(list)) = msg.message_response else {
        panic!("not a list")
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"hotline.routing.v1.RoutingService".to_owned()),
        "{names:?}"
    );
}
