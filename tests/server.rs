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
}

impl Server {
    fn start() -> Server {
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
            .env("HOTLINE_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("server starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("reads the address line");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .expect("prints its address")
            .to_owned();
        Server {
            child,
            addr: format!("http://{addr}"),
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
