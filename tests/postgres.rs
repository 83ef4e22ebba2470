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
