//! The real server, started as a process on an ephemeral port, talked to over gRPC with the
//! generated tonic client: routing, validation, batch, rule-set info, health, reflection,
//! concurrency and graceful shutdown.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

mod common;

use hotline_router::proto::v1 as pb;
use hotline_router::proto::v1::routing_service_client::RoutingServiceClient;
use tonic::Code;
use tonic::transport::Channel;

/// The server under test: `common::server::Server` recording to a temporary store of its own.
struct Server {
    inner: common::server::Server,
    _data: tempfile::TempDir,
}

impl std::ops::Deref for Server {
    type Target = common::server::Server;
    fn deref(&self) -> &common::server::Server {
        &self.inner
    }
}

impl std::ops::DerefMut for Server {
    fn deref_mut(&mut self) -> &mut common::server::Server {
        &mut self.inner
    }
}

impl Server {
    fn start() -> Server {
        Self::start_with(&[])
    }

    fn start_with(extra: &[&str]) -> Server {
        let data = tempfile::tempdir().unwrap();
        let store = format!("sqlite:{}", data.path().join("decisions.sqlite").display());
        let mut flags = vec!["--shutdown-grace-ms", "200", "--store", &store];
        flags.extend_from_slice(extra);
        Server {
            inner: common::server::Server::start(&flags),
            _data: data,
        }
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

    // A possible emergency the rules do not hand off arrives flagged, with its lines.
    let flagged = c
        .route(req("工地上的塔吊歪了，下面好多工人"))
        .await
        .expect("routes")
        .into_inner();
    assert_eq!(flagged.outcome(), pb::Outcome::Manual, "{}", flagged.reason);
    assert_eq!(flagged.decided_by(), pb::DecidedBy::EmergencyCheck);
    let lines = flagged
        .possible_emergency
        .map(|e| e.lines)
        .unwrap_or_default();
    assert!(
        lines.iter().any(|l| l.line == "119" || l.line == "120"),
        "{lines:?}"
    );

    let info = c
        .get_rule_set(pb::GetRuleSetRequest {})
        .await
        .expect("rule set")
        .into_inner();
    assert_eq!(info.version, r.rules_version);
    assert!(info.rule_count >= 100 && info.department_count >= 28 && info.regulation_count >= 200);
    assert!(info.last_load_errors.is_empty());
    // One rule count everywhere: every rule, the three kinds adding up to it, as `check` says.
    assert_eq!(
        info.rule_count,
        info.dispatch_rule_count + info.handoff_count + info.out_of_scope_count
    );
    assert!(info.handoff_count >= 4 && info.out_of_scope_count >= 1);
    let check = Command::new(env!("CARGO_BIN_EXE_hotline-router"))
        .arg("check")
        .output()
        .unwrap();
    let check = String::from_utf8_lossy(&check.stdout).into_owned();
    let summary = format!(
        "ok: {} rules ({} dispatch rules, {} hand-offs, {} out-of-scope matters)",
        info.rule_count, info.dispatch_rule_count, info.handoff_count, info.out_of_scope_count
    );
    assert!(check.starts_with(&summary), "{check} vs {summary}");
}

#[tokio::test]
async fn a_received_time_outside_the_calendar_range_is_invalid_argument() {
    let server = Server::start();
    let mut c = server.client().await;
    let mut r = req("公司三个月没发工资了");
    r.received_time = Some(pbjson_types::Timestamp {
        seconds: i64::MAX / 2,
        nanos: 0,
    });
    let s = c.route(r).await.expect_err("refused");
    assert_eq!(s.code(), Code::InvalidArgument, "{s:?}");
    assert!(s.message().contains("received_time"), "{}", s.message());
}

#[tokio::test]
async fn received_times_are_accepted_in_the_years_0001_to_9999_in_china_time_only() {
    let server = Server::start();
    let mut c = server.client().await;
    let at = |seconds, nanos| {
        let mut r = req("公司三个月没发工资了");
        r.received_time = Some(pbjson_types::Timestamp { seconds, nanos });
        r
    };
    // The first and last instants of those years in China time (UTC+8): routed, with the date.
    for (seconds, nanos, date) in [
        (-62_135_625_600, 0, "0001-01-01"),
        (253_402_271_999, 999_999_999, "9999-12-31"),
    ] {
        let resp = c.route(at(seconds, nanos)).await.unwrap().into_inner();
        let tl = resp.time_limit.unwrap();
        assert_eq!(tl.received_date, date, "{seconds}");
        // Outside the working-day calendar: said, not guessed.
        assert!(
            tl.due_date.is_empty() && !tl.due_date_error.is_empty(),
            "{tl:?}"
        );
    }
    // Year 0, year -1199 and 10000-01-01 in China.
    for seconds in [-62_135_596_801 - 86_400, -100_000_000_000, 253_402_272_000] {
        let s = c.route(at(seconds, 0)).await.expect_err("refused");
        assert_eq!(s.code(), Code::InvalidArgument, "{s:?}");
        assert!(
            s.message()
                .contains("outside the years 0001 to 9999 in China time"),
            "{}",
            s.message()
        );
    }
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

#[tokio::test]
async fn metrics_count_decisions_errors_and_the_rule_set() {
    let server = Server::start_with(&["--metrics-listen", "127.0.0.1:0"]);
    let mut c = server.client().await;
    c.route(req("公司三个月没发工资了，老板跑了"))
        .await
        .expect("routes");
    let _ = c.route(req("")).await.expect_err("refused");
    // A hand-off the emergency check doubts: it stands, and is counted.
    let doubted = c
        .route(req("健身房教练让我练到快晕倒了，这种私教课能退费吗"))
        .await
        .expect("routes")
        .into_inner();
    assert_eq!(
        doubted.outcome(),
        pb::Outcome::Handoff,
        "{}",
        doubted.reason
    );
    assert!(doubted.handoff_doubt.is_some(), "{}", doubted.reason);
    let metrics = server.metrics.clone().expect("metrics address printed");
    let body = tokio::task::spawn_blocking(move || common::scrape(&metrics))
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
        body.contains("hotline_route_duration_seconds_count 2"),
        "{body}"
    );
    assert!(body.contains("hotline_handoffs_doubted_total 1"), "{body}");
    assert!(body.contains("hotline_rules_info{version="), "{body}");
    assert!(body.contains("hotline_rules_last_load_ok 1"), "{body}");
    // When the calendar runs out, for an alert well before due dates stop (the bundled
    // calendar's last year + 1, 1 January, 00:00 China time).
    let until = common::bundled().calendar().covered_until_ms().unwrap() / 1000;
    let last = *common::bundled().calendar().years().last().unwrap();
    assert_eq!(
        until,
        jiff::civil::date(i16::try_from(last + 1).unwrap(), 1, 1)
            .at(0, 0, 0, 0)
            .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
            .unwrap()
            .timestamp()
            .as_second()
    );
    assert!(
        body.contains(&format!("hotline_calendar_covered_until_seconds {until}")),
        "{body}"
    );
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
    let body = tokio::task::spawn_blocking(move || common::scrape(&metrics))
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

#[test]
fn sigterm_right_after_the_port_is_announced_drains_cleanly() {
    // A supervisor may send SIGTERM the moment the server says where it listens. The handlers
    // must already be in place then: the process drains and exits 0 instead of dying of the
    // signal (which it did when the handlers were installed on the first poll of the server).
    let mut server = Server::start();
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn health_turns_not_serving_while_draining() {
    let mut server = Server::start_with(&["--shutdown-grace-ms", "5000"]);
    let channel = Channel::from_shared(server.addr.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let check = |service: &str| tonic_health::pb::HealthCheckRequest {
        service: service.into(),
    };
    let serving = tonic_health::pb::health_check_response::ServingStatus::Serving as i32;
    let not_serving = tonic_health::pb::health_check_response::ServingStatus::NotServing as i32;
    assert_eq!(
        health.check(check("")).await.unwrap().into_inner().status,
        serving
    );
    server.signal(libc::SIGTERM);
    // During the 5 s grace period the open connection still answers, with NOT_SERVING. Poll for
    // up to 4 s; on a busy test machine a call may fail or the signal take a while to land, so a
    // failed call is retried rather than taken as the answer.
    let mut seen = false;
    let until = std::time::Instant::now() + Duration::from_secs(4);
    while !seen && std::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if let (Ok(overall), Ok(routing)) = (
            health.check(check("")).await,
            health
                .check(check("hotline.routing.v1.RoutingService"))
                .await,
        ) {
            seen = overall.into_inner().status == not_serving
                && routing.into_inner().status == not_serving;
        }
    }
    assert!(seen, "health never turned NOT_SERVING");
    let status = tokio::task::spawn_blocking(move || server.child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn an_oversized_message_is_refused_by_the_transport() {
    let server = Server::start();
    let mut c = server.client().await;
    let batch = pb::RouteBatchRequest {
        requests: (0..10).map(|_| req(&"字".repeat(200_000))).collect(),
    };
    let s = c.route_batch(batch).await.expect_err("6 MB refused");
    assert_eq!(s.code(), Code::OutOfRange, "{s:?}");
    assert!(s.message().contains("4194304"), "{}", s.message());
}

/// A server on `rules` with `flags`, logging at info level to a pipe, and its gRPC address once
/// it listens.
fn serve_logging(rules: &std::path::Path, flags: &[&str]) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hotline-router"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--shutdown-grace-ms",
            "0",
        ])
        .args(["--store", "none"])
        .args(flags)
        .arg("--rules")
        .arg(rules)
        .env("HOTLINE_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("server starts");
    let addr = listening(&mut child);
    (child, addr)
}

/// A server on a copy of the bundled rules that reloads on SIGHUP only, logging in plain text;
/// its log is collected as it is written, so that a test waits for a reload to finish rather
/// than for a time that a loaded machine may not keep.
struct Reloading {
    dir: tempfile::TempDir,
    child: std::process::Child,
    log: std::sync::Arc<std::sync::Mutex<String>>,
    reader: std::thread::JoinHandle<()>,
}

fn serve_a_copy_for_reloads() -> Reloading {
    let dir = tempfile::tempdir().unwrap();
    let bundled = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"));
    hotline_router::synthetic::write_rules(bundled, dir.path(), 0).unwrap();
    let (mut child, _) = serve_logging(
        dir.path(),
        &[
            "--console-listen",
            "off",
            "--watch",
            "false",
            "--log-format",
            "plain",
        ],
    );
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let stderr = child.stderr.take().unwrap();
    let sink = log.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let mut log = sink.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    Reloading {
        dir,
        child,
        log,
        reader,
    }
}

impl Reloading {
    /// Sends SIGHUP and waits until the log has `count` lines containing `marker` (at most a
    /// minute).
    fn reload_by_sighup(&self, marker: &str, count: usize) {
        let _ = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status();
        let t = std::time::Instant::now();
        loop {
            let log = self.log.lock().unwrap().clone();
            if log.lines().filter(|l| l.contains(marker)).count() >= count {
                return;
            }
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "no {count} lines with {marker:?} a minute after SIGHUP: {log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server and returns what it logged.
    fn stop_for_logs(mut self) -> String {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let _ = self.reader.join();
        self.log.lock().map(|log| log.clone()).unwrap()
    }
}

/// The gRPC address a spawned server prints on its "listening on" line (the console's comes
/// before it), once it listens.
fn listening(child: &mut std::process::Child) -> String {
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.starts_with("listening on ") {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "server exited before listening"
        );
    }
    format!("http://{}", line.trim().trim_start_matches("listening on "))
}

/// What a server logging in `format` writes to stderr for one Route call of `text` with ticket
/// number `request_id`, until it stops.
fn logs_of_one_call(format: &str, request_id: &str, text: &str) -> String {
    let rules = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"));
    let (child, addr) = serve_logging(rules, &["--log-format", format]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut c = RoutingServiceClient::connect(addr).await.unwrap();
        let mut r = req(text);
        r.request_id = request_id.into();
        c.route(r).await.unwrap();
    });
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let output = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// An operator's SIGHUP is acknowledged in the log even when nothing changed, and a refused
/// reload's diagnostics are one log line each (their `help:` was a second line with no time or
/// level in a plain log).
#[test]
fn sighup_is_logged_and_a_refused_reloads_diagnostics_are_one_line_each() {
    let server = serve_a_copy_for_reloads();
    server.reload_by_sighup("SIGHUP: reloading the rules", 1);
    std::fs::write(
        server.dir.path().join("departments/zz-broken.yaml"),
        "rules:\n  - id: zz\n    topic: t\n    category: 城乡建设/住房保障与房地产/物业服务\n    department: housng\n    regulations: [物业管理条例/第四十一条]\n    conditions: {all: [[物业费]]}\n    examples: [物业费谁交]\n",
    )
    .unwrap();
    server.reload_by_sighup("rules reload failed; still serving", 1);
    let logs = server.stop_for_logs();
    assert_eq!(
        logs.matches("SIGHUP: reloading the rules").count(),
        2,
        "{logs}"
    );
    let failed: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("rules reload failed") && l.contains("diagnostic="))
        .collect();
    assert!(!failed.is_empty(), "{logs}");
    assert!(
        failed
            .iter()
            .all(|l| l.contains("E0201") && l.contains(" help: ")),
        "{logs}"
    );
    assert!(!logs.lines().any(|l| l.starts_with("  help:")), "{logs}");
}

/// The reload's log line says what the new set reuses from the serving one: an article
/// reworded reuses the segmenter and matcher; a new term rebuilds both (a moment with two
/// dictionaries, which an operator watching memory wants to see).
#[test]
fn a_reloads_log_line_says_what_it_reused() {
    let server = serve_a_copy_for_reloads();
    let edit = |name: &str, from: &str, to: &str, reloads: usize| {
        let path = server.dir.path().join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        let edited = text.replacen(from, to, 1);
        assert_ne!(edited, text, "{from} in {name}");
        std::fs::write(&path, edited).unwrap();
        server.reload_by_sighup("rules reloaded", reloads);
    };
    edit("regulations.yaml", "物业服务人", "物业服务企业", 1);
    edit("synonyms.yaml", "[物业费, ", "[物业费, 物业收费项目, ", 2);
    let logs = server.stop_for_logs();
    let reloaded: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("rules reloaded"))
        .collect();
    assert_eq!(reloaded.len(), 2, "{logs}");
    assert!(
        reloaded[0].contains("reused=\"segmenter and matcher\""),
        "{}",
        reloaded[0]
    );
    assert!(reloaded[1].contains("reused=\"none\""), "{}", reloaded[1]);
}

#[test]
fn logs_carry_the_call_but_never_the_text() {
    let text = "我叫张三，电话13812345678，身份证号110101199003071234，公司三个月没发工资了";
    let logs = logs_of_one_call("json", "WO-2026-0001", text);
    let routed: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["fields"]["message"] == "routed")
        .collect();
    assert_eq!(routed.len(), 1, "{logs}");
    let f = &routed[0]["fields"];
    assert_eq!(f["request_id"], "WO-2026-0001");
    assert_eq!(f["outcome"], "OUTCOME_DISPATCH");
    assert_eq!(f["department"], "hrss");
    assert_eq!(f["rule_id"], "wage-arrears");
    assert!(f["latency_us"].is_u64());
    for secret in ["13812345678", "110101199003071234", "张三", "工资"] {
        assert!(!logs.contains(secret), "logs contain {secret}: {logs}");
    }
}

#[test]
fn a_ticket_number_cannot_forge_fields_in_a_text_log_line() {
    let forged = "x outcome=OUTCOME_HANDOFF department=fire";
    let logs = logs_of_one_call("plain", forged, "公司三个月没发工资了");
    let routed: Vec<&str> = logs.lines().filter(|l| l.contains(" routed ")).collect();
    assert_eq!(routed.len(), 1, "{logs}");
    // The caller's id is one quoted value; the line's own fields are the only unquoted ones.
    assert!(
        routed[0].contains("request_id=\"x outcome=OUTCOME_HANDOFF department=fire\""),
        "{}",
        routed[0]
    );
    assert!(
        !routed[0].contains(" outcome=OUTCOME_HANDOFF department=fire "),
        "{}",
        routed[0]
    );
    assert!(
        routed[0].contains("outcome=\"OUTCOME_DISPATCH\""),
        "{}",
        routed[0]
    );
}

#[tokio::test]
async fn client_subcommand_prints_the_decision() {
    let server = Server::start();
    let addr = server.addr.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_hotline-router"))
            .args(["client", "--addr", &addr, "离职以后住房公积金怎么提取"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("住房公积金管理中心 (housing-fund)"), "{text}");
    assert!(text.contains("《住房公积金管理条例》"), "{text}");
}

/// Calls GetRuleSet until `done` holds or `limit` passes; returns how long it took.
async fn wait_for(
    c: &mut RoutingServiceClient<Channel>,
    limit: Duration,
    done: impl Fn(&pb::GetRuleSetResponse, &pb::RouteResponse) -> bool,
) -> Option<Duration> {
    let t = std::time::Instant::now();
    while t.elapsed() < limit {
        let info = c
            .get_rule_set(pb::GetRuleSetRequest {})
            .await
            .unwrap()
            .into_inner();
        let r = c.route(req(WATCHED_TEXT)).await.unwrap().into_inner();
        if done(&info, &r) {
            return Some(t.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

const WATCHED_TEXT: &str = "我家门口的试验阀门坏了，一直往外漏水，请派人来修";
const NEW_RULE: &str = "rules:\n  - id: watch-test\n    topic: 试验阀门\n    category: 城乡建设/城市建设和市政管理/自来水供应\n    department: water-supply\n    regulations: [城市供水条例/第二十二条]\n    conditions: {all: [[试验阀门]]}\n    examples: [试验阀门坏了, 小区的试验阀门漏水]\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_rules_under_load_changes_decisions_without_failed_calls() {
    let dir = tempfile::tempdir().unwrap();
    let bundled = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"));
    hotline_router::synthetic::write_rules(bundled, dir.path(), 0).unwrap();
    let rules = dir.path().to_str().unwrap().to_owned();
    let server = Server::start_with(&["--rules", &rules, "--metrics-listen", "127.0.0.1:0"]);
    let mut c = server.client().await;
    let before = c.route(req(WATCHED_TEXT)).await.unwrap().into_inner();
    assert_ne!(before.rule_id, "watch-test");

    // Steady load for the whole test: every call must succeed.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut load = Vec::new();
    for _ in 0..4 {
        let (mut c, stop) = (c.clone(), stop.clone());
        load.push(tokio::spawn(async move {
            let (mut ok, mut failed) = (0u64, 0u64);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                match c.route(req("公司三个月没发工资了，老板跑了")).await {
                    Ok(_) => ok += 1,
                    Err(_) => failed += 1,
                }
            }
            (ok, failed)
        }));
    }

    // 1. A new rule, saved as editors do: write a temporary file, rename it into place.
    let topics = dir.path().join("departments");
    std::fs::write(topics.join(".new.yaml.tmp"), NEW_RULE).unwrap();
    std::fs::rename(topics.join(".new.yaml.tmp"), topics.join("zz-new.yaml")).unwrap();
    let took = wait_for(&mut c, Duration::from_secs(10), |_, r| {
        r.rule_id == "watch-test"
    })
    .await;
    // Within the 10 s wait; how fast a reload is belongs to the benchmarks, not to this test.
    took.expect("the edit never took effect within 10 s");
    let new_version = c
        .get_rule_set(pb::GetRuleSetRequest {})
        .await
        .unwrap()
        .into_inner()
        .version;
    assert_ne!(new_version, before.rules_version);

    // 2. A broken edit: the set in service stays, the error shows in GetRuleSet with its place.
    std::fs::write(
        topics.join("zz-broken.yaml"),
        "rules:\n  - id: broken\n    topic: [unclosed\n",
    )
    .unwrap();
    wait_for(&mut c, Duration::from_secs(10), |info, _| {
        !info.last_load_errors.is_empty()
    })
    .await
    .expect("the failed load never showed in GetRuleSet");
    let info = c
        .get_rule_set(pb::GetRuleSetRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        info.version, new_version,
        "a broken edit replaced the serving set"
    );
    let err = &info.last_load_errors[0];
    let loc = err.location.as_ref().unwrap();
    assert_eq!(loc.file, "departments/zz-broken.yaml", "{err:?}");
    // A list where the topic's text belongs (and unclosed): said in the author's terms.
    assert_eq!(
        (err.code.as_str(), err.name.as_str()),
        ("E0112", "wrong-type"),
        "{err:?}"
    );
    assert!(err.message.starts_with("`topic` must be text"), "{err:?}");
    assert!(!err.help.is_empty(), "{err:?}");
    assert!(loc.line >= 3, "{err:?}");
    assert!(info.last_load_failed_at.is_some());
    assert_eq!(
        c.route(req(WATCHED_TEXT))
            .await
            .unwrap()
            .into_inner()
            .rule_id,
        "watch-test"
    );
    let metrics = server.metrics.clone().unwrap();
    let body = tokio::task::spawn_blocking(move || common::scrape(&metrics))
        .await
        .unwrap();
    assert!(body.contains("hotline_rules_last_load_ok 0"), "{body}");
    assert!(
        body.contains("hotline_rules_load_failures_total 1"),
        "{body}"
    );

    // 3. The next good edit recovers without a restart.
    std::fs::remove_file(topics.join("zz-broken.yaml")).unwrap();
    wait_for(&mut c, Duration::from_secs(10), |info, _| {
        info.last_load_errors.is_empty()
    })
    .await
    .expect("never recovered");

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut ok, mut failed) = (0, 0);
    for t in load {
        let (o, f) = t.await.unwrap();
        ok += o;
        failed += f;
    }
    assert_eq!(
        failed, 0,
        "{failed} calls failed during reloads ({ok} succeeded)"
    );
    assert!(ok > 100, "only {ok} calls under load");
}

/// SIGHUP's default action ends a process. A supervisor may ask for a reload the moment the
/// server announces its port, so the handler is installed before that line.
#[tokio::test]
async fn a_sighup_the_moment_the_port_is_announced_reloads_instead_of_killing() {
    for _ in 0..5 {
        let server = Server::start_with(&["--console-listen", "off", "--watch", "false"]);
        server.signal(libc::SIGHUP);
        let mut c = server.client().await;
        let r = c.route(req("房子没过户，物业费谁交")).await;
        assert!(r.is_ok(), "the server did not survive SIGHUP: {r:?}");
    }
}

#[tokio::test]
async fn sighup_reloads_when_watching_is_off() {
    let dir = tempfile::tempdir().unwrap();
    let bundled = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"));
    hotline_router::synthetic::write_rules(bundled, dir.path(), 0).unwrap();
    let rules = dir.path().to_str().unwrap().to_owned();
    let server = Server::start_with(&["--rules", &rules, "--watch", "false"]);
    let mut c = server.client().await;
    std::fs::write(dir.path().join("departments/zz-new.yaml"), NEW_RULE).unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_ne!(
        c.route(req(WATCHED_TEXT))
            .await
            .unwrap()
            .into_inner()
            .rule_id,
        "watch-test",
        "reloaded without a signal"
    );
    server.signal(libc::SIGHUP);
    wait_for(&mut c, Duration::from_secs(10), |_, r| {
        r.rule_id == "watch-test"
    })
    .await
    .expect("SIGHUP did not reload");
}

#[tokio::test]
async fn district_and_received_time_give_unit_and_due_date_over_the_wire() {
    let server = Server::start();
    let mut c = server.client().await;
    let mut r = req("房子没过户，物业费谁交");
    r.place = "高新区".into();
    // 2026-11-27 10:00 in China (02:00 UTC).
    r.received_time = Some(pbjson_types::Timestamp {
        seconds: 1_795_744_800,
        nanos: 0,
    });
    let resp = c.route(r.clone()).await.unwrap().into_inner();
    assert_eq!(resp.jurisdiction.as_ref().unwrap().source, "request");
    assert!(resp.jurisdiction.as_ref().unwrap().unknown_place.is_empty());
    assert_eq!(resp.unit.as_ref().unwrap().name, "高新区建设局");
    // A misspelt place is named back with the closest known one, not silently the city's.
    r.place = "高薪区".into();
    let typo = c.route(r.clone()).await.unwrap().into_inner();
    let j = typo.jurisdiction.as_ref().unwrap();
    assert_eq!(
        (
            j.source.as_str(),
            j.unknown_place.as_str(),
            j.did_you_mean.as_str()
        ),
        ("default", "高薪区", "高新区")
    );
    assert_eq!(resp.request_type, pb::RequestType::Consultation as i32);
    let tl = resp.time_limit.unwrap();
    assert_eq!(
        (tl.received_date.as_str(), tl.due_date.as_str()),
        ("2026-11-27", "2026-12-04")
    );
}

/// The watch starts before the rules load: an edit saved while the server is still loading is
/// served once it is up (it used to be lost until the next edit or SIGHUP).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_saved_while_the_server_loads_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let bundled = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"));
    hotline_router::synthetic::write_rules(bundled, dir.path(), 0).unwrap();
    let rules = dir.path().to_str().unwrap().to_owned();
    let topics = dir.path().join("departments");
    // Saved a moment after the process starts, while it reads and compiles the rules.
    let edit = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(150));
        std::fs::write(topics.join(".new.yaml.tmp"), NEW_RULE).unwrap();
        std::fs::rename(topics.join(".new.yaml.tmp"), topics.join("zz-new.yaml")).unwrap();
    });
    let server = tokio::task::spawn_blocking(move || Server::start_with(&["--rules", &rules]))
        .await
        .unwrap();
    edit.join().unwrap();
    let mut c = server.client().await;
    let took = wait_for(&mut c, Duration::from_secs(20), |_, r| {
        r.rule_id == "watch-test"
    })
    .await;
    took.expect("the edit saved during start-up is served");
}

/// `--max-connections` beyond the file-descriptor limit would let idle sockets take every
/// descriptor, the health checks' with them: the server raises its soft limit toward the hard
/// one, and says so when even that is too low.
#[test]
fn max_connections_beyond_the_descriptor_limit_is_a_warning_at_start() {
    let bin = env!("CARGO_BIN_EXE_hotline-router");
    let script = format!(
        "ulimit -Sn 200 && ulimit -Hn 300 && exec {bin} serve --listen 127.0.0.1:0 \
         --console-listen off --store none --shutdown-grace-ms 0"
    );
    let mut child = Command::new("sh")
        .args(["-c", &script])
        .env("HOTLINE_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sh starts");
    listening(&mut child);
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let logs = String::from_utf8_lossy(&child.wait_with_output().unwrap().stderr).into_owned();
    assert!(
        logs.contains("--max-connections 4096 does not fit the file-descriptor limit of 300"),
        "{logs}"
    );
}

/// Resident memory of a process, in kB (`VmRSS`).
#[cfg(target_os = "linux")]
fn resident_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status")
}

/// A reload frees the set it replaces. A server that kept its first set alive (a snapshot held
/// for its whole life) sits 33 MB higher after four reloads (measured by leaking that set: jieba's
/// dictionary, shared by every set, is not part of it); one that frees its sets, 7–8 MB. The bound
/// lies between the two, far enough from both that the allocator's day-to-day variation does not
/// decide the test. Each edit adds a rule term: a set of the same terms would share the serving
/// set's segmenter and matcher, and a kept set would then weigh too little to be seen.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn reloads_free_the_rule_sets_they_replace() {
    let dir = tempfile::tempdir().unwrap();
    hotline_router::synthetic::write_rules(&common::bundled_dir(), dir.path(), 0).unwrap();
    let server = common::server::Server::start_with_rules(
        dir.path(),
        &[
            "--store",
            "none",
            "--watch",
            "false",
            "--console-listen",
            "off",
        ],
    );
    let mut c = server.client().await;
    for _ in 0..50 {
        c.route(req(WATCHED_TEXT)).await.unwrap();
    }
    let version = |c: &mut RoutingServiceClient<Channel>| {
        let mut c = c.clone();
        async move {
            c.get_rule_set(pb::GetRuleSetRequest {})
                .await
                .unwrap()
                .into_inner()
                .version
        }
    };
    let started = resident_kb(server.child.id());
    for i in 0..4 {
        let before = version(&mut c).await;
        let synonyms = dir.path().join("synonyms.yaml");
        let text = std::fs::read_to_string(&synonyms).unwrap();
        // A word in a synonym group that rules use: a new term.
        let grown = text.replacen("[物业费, ", &format!("[物业费, 试验物业费{i}, "), 1);
        assert_ne!(grown, text, "the 物业费 group is in synonyms.yaml");
        std::fs::write(&synonyms, grown).unwrap();
        server.signal(libc::SIGHUP);
        let t = std::time::Instant::now();
        while version(&mut c).await == before {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "reload {i} did not happen"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        c.route(req(WATCHED_TEXT)).await.unwrap();
    }
    // The replaced sets are freed as soon as no call holds them (checked every 20 ms).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = resident_kb(server.child.id());
    println!("resident: {started} kB after start-up, {after} kB after 4 reloads");
    assert!(
        after < started + 20 * 1024,
        "resident memory grew from {started} kB to {after} kB over 4 reloads: a replaced rule set \
         is still alive"
    );
}
