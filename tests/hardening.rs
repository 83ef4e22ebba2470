//! The server against clients that misbehave, talked to with a raw HTTP/2 client (h2) so that a
//! test can do what a well-behaved gRPC client never would: stall an upload, send headers only,
//! send a garbage frame or the wrong content-type, hold idle connections through a shutdown.

use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::net::TcpStream;

mod common;

use common::server::Server;

const ROUTE: &str = "/hotline.routing.v1.RoutingService/Route";

fn start(extra: &[&str]) -> Server {
    let mut flags = vec!["--store", "none", "--metrics-listen", "127.0.0.1:0"];
    flags.extend_from_slice(extra);
    Server::start(&flags)
}

/// An HTTP/2 connection to the server; its driver runs in a task whose handle tells when the
/// server closed the connection.
async fn connect(
    server: &Server,
) -> (
    h2::client::SendRequest<Bytes>,
    tokio::task::JoinHandle<Result<(), h2::Error>>,
) {
    let addr = server.addr.trim_start_matches("http://").to_owned();
    let tcp = TcpStream::connect(&addr).await.expect("connects");
    let (client, conn) = h2::client::handshake(tcp).await.expect("HTTP/2 handshake");
    let driver = tokio::spawn(conn);
    (client.ready().await.expect("ready"), driver)
}

fn request(server: &Server, path: &str, content_type: &str) -> http::Request<()> {
    http::Request::builder()
        .method("POST")
        .uri(format!("{}{path}", server.addr))
        .header("content-type", content_type)
        .header("te", "trailers")
        .body(())
        .unwrap()
}

/// A gRPC message prefix: uncompressed, `len` bytes announced.
fn prefix(flag: u8, len: u32) -> Vec<u8> {
    let mut p = vec![flag];
    p.extend_from_slice(&len.to_be_bytes());
    p
}

/// The call's grpc-status, from a trailers-only response's headers or from its trailers.
async fn grpc_status(
    response: h2::client::ResponseFuture,
) -> (http::StatusCode, Option<i32>, String) {
    let response = tokio::time::timeout(Duration::from_secs(20), response)
        .await
        .expect("the server answers")
        .expect("a response");
    let (parts, mut body) = response.into_parts();
    let header =
        |h: &http::HeaderMap, k: &str| h.get(k).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let mut code = header(&parts.headers, "grpc-status").and_then(|v| v.parse().ok());
    let mut message = header(&parts.headers, "grpc-message")
        .map(|m| percent_decoded(&m))
        .unwrap_or_default();
    if code.is_none() && parts.status == http::StatusCode::OK {
        while let Some(chunk) = body.data().await {
            let _ = chunk;
        }
        if let Ok(Some(t)) = body.trailers().await {
            code = header(&t, "grpc-status").and_then(|v| v.parse().ok());
            message = header(&t, "grpc-message")
                .map(|m| percent_decoded(&m))
                .unwrap_or_default();
        }
    }
    (parts.status, code, message)
}

/// grpc-message is percent-encoded UTF-8 (gRPC over HTTP/2).
fn percent_decoded(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn stalled_uploads_and_header_only_calls_end_at_the_body_deadline() {
    let server = start(&["--body-timeout-ms", "500"]);
    let (client, _driver) = connect(&server).await;

    // Announces 4 MiB, sends 1 KiB, then nothing.
    let (response, mut send) = client
        .clone()
        .send_request(request(&server, ROUTE, "application/grpc"), false)
        .unwrap();
    let mut data = prefix(0, 4 << 20);
    data.extend(std::iter::repeat_n(b'x', 1024));
    send.send_data(Bytes::from(data), false).unwrap();
    let (_, code, message) = grpc_status(response).await;
    assert_eq!(
        code,
        Some(tonic::Code::DeadlineExceeded as i32),
        "{message}"
    );
    assert!(message.contains("did not arrive"), "{message}");

    // Headers only.
    let (response, _send) = client
        .clone()
        .send_request(request(&server, ROUTE, "application/grpc"), false)
        .unwrap();
    let (_, code, _) = grpc_status(response).await;
    assert_eq!(code, Some(tonic::Code::DeadlineExceeded as i32));

    // The connection still serves a well-formed call.
    let mut c = server.client().await;
    let r = c
        .route(hotline_router::proto::v1::RouteRequest {
            text: "公司三个月没发工资了".into(),
            ..Default::default()
        })
        .await
        .expect("routes");
    assert_eq!(r.into_inner().department.unwrap().id, "hrss");

    let metrics = server.metrics.clone().unwrap();
    let body = tokio::task::spawn_blocking(move || common::scrape(&metrics))
        .await
        .unwrap();
    assert!(
        body.contains(r#"hotline_errors_total{method="Route",code="DeadlineExceeded"} 2"#),
        "{body}"
    );
}

#[tokio::test]
async fn garbage_frames_are_invalid_argument_and_every_refusal_is_counted() {
    let server = start(&[]);
    let (client, _driver) = connect(&server).await;
    let cases: Vec<(&str, Vec<u8>, tonic::Code)> = vec![
        (
            "compression flag 7",
            [prefix(7, 3), b"abc".to_vec()].concat(),
            tonic::Code::InvalidArgument,
        ),
        (
            "truncated message",
            [prefix(0, 100), b"short".to_vec()].concat(),
            tonic::Code::InvalidArgument,
        ),
        (
            "no message at all",
            b"\x00\x00".to_vec(),
            tonic::Code::InvalidArgument,
        ),
        (
            "not protobuf",
            [prefix(0, 4), vec![0xff, 0xff, 0xff, 0xff]].concat(),
            tonic::Code::InvalidArgument,
        ),
        (
            "two messages",
            [prefix(0, 0), prefix(0, 0)].concat(),
            tonic::Code::InvalidArgument,
        ),
        (
            "over the size limit",
            prefix(0, (4 << 20) + 1),
            tonic::Code::OutOfRange,
        ),
    ];
    for (what, body, expected) in &cases {
        let (response, mut send) = client
            .clone()
            .send_request(request(&server, ROUTE, "application/grpc"), false)
            .unwrap();
        send.send_data(Bytes::from(body.clone()), true).unwrap();
        let (status, code, message) = grpc_status(response).await;
        assert_eq!(status, http::StatusCode::OK, "{what}");
        assert_eq!(code, Some(*expected as i32), "{what}: {message}");
        assert!(!message.is_empty(), "{what}: the caller is told why");
    }
    let metrics = server.metrics.clone().unwrap();
    let body = tokio::task::spawn_blocking(move || common::scrape(&metrics))
        .await
        .unwrap();
    assert!(
        body.contains(r#"hotline_errors_total{method="Route",code="InvalidArgument"} 5"#),
        "{body}"
    );
    assert!(
        body.contains(r#"hotline_errors_total{method="Route",code="OutOfRange"} 1"#),
        "{body}"
    );
}

#[tokio::test]
async fn a_request_that_is_not_grpc_gets_http_415() {
    let server = start(&[]);
    let (client, _driver) = connect(&server).await;
    let (response, mut send) = client
        .clone()
        .send_request(request(&server, ROUTE, "application/json"), false)
        .unwrap();
    send.send_data(Bytes::from_static(br#"{"text":"x"}"#), true)
        .unwrap();
    let (status, _, _) = grpc_status(response).await;
    assert_eq!(status, http::StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let metrics = server.metrics.clone().unwrap();
    let body = tokio::task::spawn_blocking(move || common::scrape(&metrics))
        .await
        .unwrap();
    assert!(
        body.contains(r#"hotline_errors_total{method="Route",code="UnsupportedMediaType"} 1"#),
        "{body}"
    );
}

/// A client's made-up method names are counted under one label, `unknown`: as labels of their
/// own, thousands of them grew the process and every scrape without bound, and a phone number
/// sent as a method name ended up in the metrics.
#[tokio::test]
async fn calls_to_methods_that_do_not_exist_are_counted_as_unknown() {
    let server = start(&[]);
    let (client, _driver) = connect(&server).await;
    for i in 0..20 {
        let path = format!("/hotline.routing.v1.RoutingService/citizen13912345678-{i}");
        let (response, mut send) = client
            .clone()
            .send_request(request(&server, &path, "application/grpc"), false)
            .unwrap();
        send.send_data(Bytes::from([prefix(0, 0)].concat()), true)
            .unwrap();
        let (_, code, _) = grpc_status(response).await;
        assert_eq!(code, Some(tonic::Code::Unimplemented as i32));
    }
    let metrics = server.metrics.clone().unwrap();
    let body = tokio::task::spawn_blocking(move || common::scrape(&metrics))
        .await
        .unwrap();
    assert!(!body.contains("13912345678"), "{body}");
    assert!(
        body.contains(r#"hotline_errors_total{method="unknown",code="Unimplemented"} 20"#),
        "{body}"
    );
}

#[tokio::test]
async fn uploads_beyond_the_receiving_budget_are_resource_exhausted() {
    let server = start(&[
        "--max-receiving-bytes",
        "10000",
        "--body-timeout-ms",
        "3000",
    ]);
    let (client, _driver) = connect(&server).await;
    let mut first = prefix(0, 1 << 20);
    first.extend(std::iter::repeat_n(b'x', 8000));
    let (held, mut send_held) = client
        .clone()
        .send_request(request(&server, ROUTE, "application/grpc"), false)
        .unwrap();
    send_held
        .send_data(Bytes::from(first.clone()), false)
        .unwrap();
    // Give the server time to receive the first upload before the second arrives.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (response, mut send) = client
        .clone()
        .send_request(request(&server, ROUTE, "application/grpc"), false)
        .unwrap();
    send.send_data(Bytes::from(first), false).unwrap();
    let (_, code, message) = grpc_status(response).await;
    assert_eq!(
        code,
        Some(tonic::Code::ResourceExhausted as i32),
        "{message}"
    );
    // The first, stalled, ends at its deadline and gives its bytes back.
    let (_, code, _) = grpc_status(held).await;
    assert_eq!(code, Some(tonic::Code::DeadlineExceeded as i32));
    let mut c = server.client().await;
    c.route(hotline_router::proto::v1::RouteRequest {
        text: "小区电梯坏了三个月".into(),
        ..Default::default()
    })
    .await
    .expect("the budget is free again");
}

#[tokio::test]
async fn idle_connections_are_closed() {
    let server = start(&["--idle-timeout", "1"]);
    let (_client, driver) = connect(&server).await;
    let closed = tokio::time::timeout(Duration::from_secs(10), driver).await;
    assert!(
        closed.is_ok(),
        "an idle connection stayed open 10 s with --idle-timeout 1"
    );
}

/// Whether the server closes a plain TCP connection to it, which never sends a byte, within
/// `secs` seconds.
async fn closes_a_silent_socket(server: &Server, secs: u64) -> bool {
    use tokio::io::AsyncReadExt;
    let addr = server.addr.trim_start_matches("http://").to_owned();
    let mut silent = TcpStream::connect(&addr).await.expect("connects");
    let mut buf = [0u8; 256];
    tokio::time::timeout(Duration::from_secs(secs), async {
        while let Ok(n) = silent.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    })
    .await
    .is_ok()
}

/// A GetRuleSet call on `client`'s connection; its grpc-status must be OK.
async fn get_rule_set_on(client: &h2::client::SendRequest<Bytes>, server: &Server) {
    let (response, mut send) = client
        .clone()
        .send_request(
            request(
                server,
                "/hotline.routing.v1.RoutingService/GetRuleSet",
                "application/grpc",
            ),
            false,
        )
        .unwrap();
    send.send_data(Bytes::from(prefix(0, 0)), true).unwrap();
    let (_, code, message) = grpc_status(response).await;
    assert_eq!(code, Some(0), "{message}");
}

#[tokio::test]
async fn a_connection_that_never_calls_is_closed_at_the_first_call_timeout() {
    let server = start(&["--first-call-timeout", "1"]);
    // A socket that never sends anything, not even the HTTP/2 preface.
    assert!(
        closes_a_silent_socket(&server, 10).await,
        "a silent connection stayed open 10 s with --first-call-timeout 1"
    );
    // A connection that has called is held to the idle timeout (300 s) instead.
    let (client, driver) = connect(&server).await;
    get_rule_set_on(&client, &server).await;
    assert!(
        tokio::time::timeout(Duration::from_secs(3), driver)
            .await
            .is_err(),
        "a connection that had called was closed at the first-call timeout"
    );
}

#[tokio::test]
async fn past_the_connection_limit_a_new_connection_is_closed_and_the_served_ones_stay() {
    let server = start(&["--max-connections", "2"]);
    let (first, first_driver) = connect(&server).await;
    let (_second, _second_driver) = connect(&server).await;
    assert!(
        closes_a_silent_socket(&server, 10).await,
        "a third connection was kept with --max-connections 2"
    );
    get_rule_set_on(&first, &server).await;
    assert!(!first_driver.is_finished());
}

#[test]
fn shutdown_ends_at_its_deadline_despite_stalled_streams_and_idle_connections() {
    let mut server = start(&[
        "--shutdown-timeout",
        "2",
        "--shutdown-grace-ms",
        "100",
        "--body-timeout-ms",
        "60000",
        "--idle-timeout",
        "0",
    ]);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (started, exit) = runtime.block_on(async {
        let mut held = Vec::new();
        for _ in 0..3 {
            let (client, driver) = connect(&server).await;
            let (response, mut send) = client
                .clone()
                .send_request(request(&server, ROUTE, "application/grpc"), false)
                .unwrap();
            send.send_data(Bytes::from(prefix(0, 4 << 20)), false)
                .unwrap();
            held.push((client, driver, response, send));
        }
        let mut idle = Vec::new();
        for _ in 0..20 {
            idle.push(connect(&server).await);
        }
        // Let the server see every stream before the signal.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let started = Instant::now();
        server.signal(libc::SIGTERM);
        let exit = loop {
            if let Some(status) = server.child.try_wait().expect("waits") {
                break status;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        drop((held, idle));
        (started, exit)
    });
    let took = started.elapsed();
    assert!(exit.success(), "exit status {exit:?}");
    // The deadline is 2 s; the margin covers process exit on a loaded machine. Without the
    // deadline the stalled streams kept the server alive for a minute.
    assert!(
        took < Duration::from_secs(8),
        "shutdown took {took:?} with --shutdown-timeout 2"
    );
}
