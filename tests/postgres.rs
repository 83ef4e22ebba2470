//! The store on a real PostgreSQL shared by two replicas: each serves and spools on its own, both
//! write to one database; a decision made on one is found, and its outcome recorded, through the
//! other, and the CLI's report sees both. Needs a server: `HOTLINE_TEST_POSTGRES` (`.ci/run` starts
//! one with `scripts/postgres.sh`); without it the test says so and does nothing else.

use std::process::Command;

use hotline_router::proto::v1 as pb;
use hotline_router::proto::v1::routing_service_client::RoutingServiceClient;

mod common;

use common::server::Server;

/// A replica recording to `store`, spooling in `spool`.
fn start(store: &str, spool: &std::path::Path) -> Server {
    let spool = spool.to_str().expect("a UTF-8 path");
    Server::start(&[
        "--shutdown-grace-ms",
        "0",
        "--store",
        store,
        "--spool-dir",
        spool,
    ])
}

/// A fresh database on the test server, so that runs never see each other's rows.
fn fresh_database(url: &str) -> String {
    let name = format!(
        "hotline_test_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let mut admin = postgres::Client::connect(url, postgres::NoTls).expect("test database server");
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    match url.rfind('/') {
        Some(i) => format!("{}/{name}", &url[..i]),
        None => panic!("HOTLINE_TEST_POSTGRES needs a database path: {url}"),
    }
}

#[tokio::test]
async fn two_replicas_share_one_postgres_store() {
    let Ok(url) = std::env::var("HOTLINE_TEST_POSTGRES") else {
        println!(
            "skipped: HOTLINE_TEST_POSTGRES is not set (scripts/postgres.sh start prints one; .ci/run sets it)"
        );
        return;
    };
    // The PostgreSQL client blocks: not on the test's runtime thread.
    let db = std::thread::spawn(move || fresh_database(&url))
        .join()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let a = start(&db, &dir.path().join("a.spool"));
    let b = start(&db, &dir.path().join("b.spool"));
    let mut ca = RoutingServiceClient::connect(a.addr.clone()).await.unwrap();
    let mut cb = RoutingServiceClient::connect(b.addr.clone()).await.unwrap();
    let route = |text: &str, id: &str| pb::RouteRequest {
        text: text.into(),
        request_id: id.into(),
        ..Default::default()
    };
    let on_a = ca
        .route(route("公司三个月没发工资了", "PG-1"))
        .await
        .unwrap()
        .into_inner();
    let on_b = cb
        .route(route("小区电梯坏了三个月", "PG-2"))
        .await
        .unwrap()
        .into_inner();
    assert_ne!(on_a.decision_id, on_b.decision_id);

    // A's decision through B (once A's writer has moved it from A's spool into the database,
    // within tens of milliseconds), and its outcome recorded through B.
    let mut tries = 0;
    let got = loop {
        let asked = cb
            .get_decision(pb::GetDecisionRequest {
                decision_id: on_a.decision_id.clone(),
                ..Default::default()
            })
            .await;
        match asked {
            Ok(r) => break r.into_inner(),
            Err(s) if s.code() == tonic::Code::NotFound && tries < 100 => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(s) => panic!("{s:?}"),
        }
    };
    assert_eq!(got.request_id, "PG-1");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let event = pb::OutcomeEvent {
        event_id: "pg-e1".into(),
        request_id: "PG-1".into(),
        kind: pb::EventKind::Returned as i32,
        at: Some(pbjson_types::Timestamp {
            seconds: now + 5,
            nanos: 0,
        }),
        department_id: "housing".into(),
        ..Default::default()
    };
    let recorded = cb
        .record_outcome(pb::RecordOutcomeRequest {
            event: Some(event.clone()),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(recorded.decision_id, on_a.decision_id);
    let again = ca
        .record_outcome(pb::RecordOutcomeRequest { event: Some(event) })
        .await
        .unwrap()
        .into_inner();
    assert!(
        again.duplicate,
        "the same event through the other replica is recorded once"
    );

    // The report over the shared database sees both replicas' decisions (B's too, once its
    // writer has run).
    std::thread::sleep(std::time::Duration::from_millis(300));
    drop((a, b));
    let out = Command::new(env!("CARGO_BIN_EXE_hotline-router"))
        .args([
            "report",
            "--store",
            &db,
            "--from",
            "2000-01-01",
            "--to",
            "2100-01-01",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains(": 2 decisions"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("hrss ") && l.contains("housing×1")),
        "{text}"
    );
}

/// `url` with its host and port replaced by `127.0.0.1:port`.
fn at_port(url: &str, port: u16) -> String {
    let start = url
        .find('@')
        .map_or_else(|| url.find("://").unwrap() + 3, |at| at + 1);
    let end = url[start..].find('/').map_or(url.len(), |i| start + i);
    format!("{}127.0.0.1:{port}{}", &url[..start], &url[end..])
}

/// The host:port of a connection URL.
fn authority(url: &str) -> String {
    let start = url
        .find('@')
        .map_or_else(|| url.find("://").unwrap() + 3, |at| at + 1);
    let end = url[start..].find('/').map_or(url.len(), |i| start + i);
    url[start..end].to_owned()
}

/// A port nothing listens on (for now).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn decision_of(
    c: &mut RoutingServiceClient<tonic::transport::Channel>,
    ticket: &str,
) -> Option<pb::DecisionRecord> {
    c.get_decision(pb::GetDecisionRequest {
        request_id: ticket.into(),
        ..Default::default()
    })
    .await
    .ok()
    .map(tonic::Response::into_inner)
}

/// A replica starts and serves while its database is down (a replica restarted during an outage
/// must not crash-loop), stores what it spooled once the database answers, and connects again
/// after losing its connection (a database restart or fail-over). The database is reached
/// through a proxy on a port of the test's own, which the test opens late and then cuts.
#[tokio::test]
async fn a_replica_serves_while_its_database_is_down_and_stores_when_it_answers() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let unreachable = format!("postgres://hotline@127.0.0.1:{port}/hotline");
    let url = std::env::var("HOTLINE_TEST_POSTGRES").ok();
    // Through the proxy: the database of the test server when there is one.
    let db = match &url {
        Some(u) => {
            let u = u.clone();
            std::thread::spawn(move || fresh_database(&u))
                .join()
                .unwrap()
        }
        None => unreachable.clone(),
    };
    let router = start(&at_port(&db, port), &dir.path().join("down.spool"));
    let mut c = RoutingServiceClient::connect(router.addr.clone())
        .await
        .unwrap();
    let routed = c
        .route(pb::RouteRequest {
            text: "公司三个月没发工资了".into(),
            request_id: "DOWN-1".into(),
            ..Default::default()
        })
        .await
        .expect("a Route call never fails because of the store")
        .into_inner();
    assert!(!routed.decision_id.is_empty());
    let Some(url) = url else {
        println!(
            "skipped the rest: HOTLINE_TEST_POSTGRES is not set (the router started and served with its database down)"
        );
        return;
    };
    // The database comes up (the proxy starts listening).
    let target = authority(&url);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let links: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>> =
        Default::default();
    let proxy_links = links.clone();
    let proxy = tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let target = target.clone();
            let link = tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
            proxy_links.lock().unwrap().push(link);
        }
    });
    let asker = c.clone();
    let wait_for = |ticket: &'static str| {
        let mut c = asker.clone();
        async move {
            for _ in 0..200 {
                if let Some(d) = decision_of(&mut c, ticket).await {
                    return d;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            panic!("{ticket} never reached the database");
        }
    };
    assert_eq!(wait_for("DOWN-1").await.decision_id, routed.decision_id);
    // The connection is lost (every link cut); the next decision is stored over a new one.
    for link in links.lock().unwrap().drain(..) {
        link.abort();
    }
    let again = c
        .route(pb::RouteRequest {
            text: "小区电梯坏了三个月".into(),
            request_id: "DOWN-2".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(wait_for("DOWN-2").await.decision_id, again.decision_id);
    proxy.abort();
}
