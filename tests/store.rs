//! The decision store over the wire: the real server recording to SQLite, RecordOutcome and
//! GetDecision with their errors, and crash safety (`kill -9` under load loses no decision whose
//! response reached the client).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hotline_router::proto::v1 as pb;
use hotline_router::proto::v1::routing_service_client::RoutingServiceClient;
use tonic::Code;
use tonic::transport::Channel;

mod common;

use common::server::Server;

/// The server, recording to `db`.
fn start(db: &Path) -> Server {
    let store = format!("sqlite:{}", db.display());
    Server::start(&["--shutdown-grace-ms", "0", "--store", &store])
}

fn route(text: &str, id: &str) -> pb::RouteRequest {
    pb::RouteRequest {
        text: text.into(),
        request_id: id.into(),
        channel: pb::Channel::Phone as i32,
        ..Default::default()
    }
}

fn at(seconds_from_now: i64) -> Option<pbjson_types::Timestamp> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    Some(pbjson_types::Timestamp {
        seconds: now.as_secs() as i64 + seconds_from_now,
        nanos: 0,
    })
}

fn event(id: &str, kind: pb::EventKind) -> pb::OutcomeEvent {
    pb::OutcomeEvent {
        event_id: id.into(),
        kind: kind as i32,
        at: at(5),
        operator: "测试".into(),
        ..Default::default()
    }
}

/// A server recording to a fresh store (kept in the returned directory) and a client of it.
async fn recording() -> (tempfile::TempDir, Server, RoutingServiceClient<Channel>) {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir.path().join("d.sqlite"));
    let c = server.client().await;
    (dir, server, c)
}

/// The decision on `text`, routed as ticket `id`.
async fn routed(c: &mut RoutingServiceClient<Channel>, text: &str, id: &str) -> pb::RouteResponse {
    c.route(route(text, id)).await.unwrap().into_inner()
}

/// The recorded decision `id`, with its events (GetDecision).
async fn get_decision(c: &mut RoutingServiceClient<Channel>, id: &str) -> pb::DecisionRecord {
    c.get_decision(pb::GetDecisionRequest {
        decision_id: id.to_owned(),
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner()
}

async fn record(
    c: &mut RoutingServiceClient<Channel>,
    e: pb::OutcomeEvent,
) -> Result<pb::RecordOutcomeResponse, tonic::Status> {
    c.record_outcome(pb::RecordOutcomeRequest { event: Some(e) })
        .await
        .map(|r| r.into_inner())
}

#[tokio::test]
async fn decisions_are_recorded_and_their_outcomes_follow_them() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir.path().join("d.sqlite"));
    let mut c = server.client().await;
    let r = c
        .route(route(
            "我的电话13812345678，公司三个月没发工资了",
            "2026-1127-0042",
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.decision_id.len(), 28, "{r:?}");

    // A return (退单) naming where it should go, by ticket number; then the same event again.
    let mut returned = event("ev-1", pb::EventKind::Returned);
    returned.request_id = "2026-1127-0042".into();
    returned.department_id = "housing".into();
    returned.reason = "不属于本部门职责".into();
    let first = record(&mut c, returned.clone()).await.unwrap();
    assert_eq!(
        (first.decision_id.as_str(), first.duplicate),
        (r.decision_id.as_str(), false)
    );
    let again = record(&mut c, returned.clone()).await.unwrap();
    assert!(again.duplicate);
    // A decision id and a ticket number that name different tickets: refused, not guessed.
    let mut mismatched = event("ev-9", pb::EventKind::Accepted);
    mismatched.decision_id = r.decision_id.clone();
    mismatched.request_id = "2026-1127-9999".into();
    let s = record(&mut c, mismatched).await.unwrap_err();
    assert_eq!(s.code(), Code::InvalidArgument, "{}", s.message());
    assert!(s.message().contains("2026-1127-0042"), "{}", s.message());
    // One id for two events: ALREADY_EXISTS, saying what the id was used for.
    let mut reused = returned;
    reused.kind = pb::EventKind::Resolved as i32;
    let s = record(&mut c, reused).await.unwrap_err();
    assert_eq!(s.code(), Code::AlreadyExists, "{}", s.message());
    assert!(s.message().contains("RETURNED"), "{}", s.message());
    let mut reassigned = event("ev-2", pb::EventKind::Reassigned);
    reassigned.decision_id = r.decision_id.clone();
    reassigned.department_id = "market-regulation".into();
    record(&mut c, reassigned).await.unwrap();

    let got = get_decision(&mut c, &r.decision_id).await;
    assert_eq!(got.request_id, "2026-1127-0042");
    assert_eq!(got.text, "我的电话[手机号]，公司三个月没发工资了");
    assert_eq!(got.text_mode, "masked");
    let recorded = got.decision.as_ref().unwrap();
    assert_eq!(recorded.rule_id, r.rule_id);
    assert_eq!(recorded.department_id(), r.department_id());
    assert_eq!(recorded.rules_version, r.rules_version);
    let ids = |x: &pb::RouteResponse| {
        x.regulations
            .iter()
            .map(|g| g.id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(recorded), ids(&r));
    assert_eq!(got.events.len(), 2);
    assert_eq!(got.events[0].reason, "不属于本部门职责");
    assert_eq!(got.final_department_id, "market-regulation");

    // Errors a ticket system must be able to tell apart.
    let mut unknown = event("ev-3", pb::EventKind::Accepted);
    unknown.decision_id = "0000000000000000000000000000".into();
    assert_eq!(
        record(&mut c, unknown).await.unwrap_err().code(),
        Code::NotFound
    );
    let mut bad_dept = event("ev-4", pb::EventKind::Reassigned);
    bad_dept.decision_id = r.decision_id.clone();
    bad_dept.department_id = "housng".into();
    let s = record(&mut c, bad_dept).await.unwrap_err();
    assert_eq!(s.code(), Code::InvalidArgument);
    assert!(
        s.message()
            .contains("unknown department \"housng\"; the closest department ids: \"housing\", "),
        "{}",
        s.message()
    );
    let mut early = event("ev-5", pb::EventKind::Accepted);
    early.decision_id = r.decision_id.clone();
    early.at = at(-3600);
    let s = record(&mut c, early).await.unwrap_err();
    assert_eq!(s.code(), Code::InvalidArgument);
    assert!(
        s.message().contains("before its decision"),
        "{}",
        s.message()
    );
    let mut no_id = event("", pb::EventKind::Accepted);
    no_id.decision_id = r.decision_id.clone();
    assert_eq!(
        record(&mut c, no_id).await.unwrap_err().code(),
        Code::InvalidArgument
    );
    let missing = c
        .get_decision(pb::GetDecisionRequest {
            request_id: "no-such-ticket".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);

    // Values no ticket system sends are refused with what is wrong, shortly, not echoed whole.
    let huge = c
        .get_decision(pb::GetDecisionRequest {
            decision_id: "0".repeat(200_000),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(huge.code(), Code::InvalidArgument);
    assert!(huge.message().len() < 300, "{} bytes", huge.message().len());
    let mut forged = event("ev-6", pb::EventKind::Accepted);
    forged.decision_id = "zz\nFORGED".into();
    let s = record(&mut c, forged).await.unwrap_err();
    assert_eq!(s.code(), Code::InvalidArgument);
    assert!(s.message().contains("not a decision id"), "{}", s.message());
    let mut far = event("ev-7", pb::EventKind::Resolved);
    far.decision_id = r.decision_id.clone();
    far.at = Some(pbjson_types::Timestamp {
        seconds: i64::MAX / 1000,
        nanos: 0,
    });
    let s = record(&mut c, far).await.unwrap_err();
    assert_eq!(s.code(), Code::InvalidArgument);
    assert!(s.message().contains("0001 to 9999"), "{}", s.message());
    let mut score = event("ev-8", pb::EventKind::Satisfaction);
    score.decision_id = r.decision_id.clone();
    score.satisfaction = Some(i32::MIN);
    let s = record(&mut c, score.clone()).await.unwrap_err();
    assert_eq!(s.code(), Code::InvalidArgument);
    assert!(s.message().contains("satisfaction"), "{}", s.message());
    // No score at all is not a score of 0.
    score.satisfaction = None;
    let s = record(&mut c, score.clone()).await.unwrap_err();
    assert_eq!(s.code(), Code::InvalidArgument);
    assert!(
        s.message().contains("satisfaction is missing"),
        "{}",
        s.message()
    );
    // A score of 0 (on a 0 to 100 scale) is one, and reads back as 0.
    score.satisfaction = Some(0);
    record(&mut c, score).await.unwrap();
    let got = get_decision(&mut c, &r.decision_id).await;
    let visit = got
        .events
        .iter()
        .find(|e| e.kind == pb::EventKind::Satisfaction as i32)
        .unwrap();
    assert_eq!(visit.satisfaction, Some(0));
}

/// An intake system that numbers events per ticket (`accepted` on every ticket) is told that the
/// id is taken, rather than told OK while the second ticket's event is dropped.
#[tokio::test]
async fn an_event_id_of_another_ticket_is_already_exists_not_a_silent_duplicate() {
    let (_dir, _server, mut c) = recording().await;
    let a = routed(&mut c, "小区停水了", "TK-A").await;
    let b = routed(&mut c, "公司三个月没发工资了", "TK-B").await;
    // One time for all of them: the events differ only in the ticket they are for.
    let when = at(5);
    let accepted = |ticket: &str| {
        let mut e = event("accepted", pb::EventKind::Accepted);
        e.request_id = ticket.into();
        e.at = when;
        e
    };
    let first = record(&mut c, accepted("TK-A")).await.unwrap();
    assert_eq!(
        (first.decision_id.as_str(), first.duplicate),
        (a.decision_id.as_str(), false)
    );
    // A true retry: OK, duplicate.
    let again = record(&mut c, accepted("TK-A")).await.unwrap();
    assert_eq!(
        (again.decision_id.as_str(), again.duplicate),
        (a.decision_id.as_str(), true)
    );
    // The same id for another ticket, and for another decision by id.
    let s = record(&mut c, accepted("TK-B")).await.unwrap_err();
    assert_eq!(s.code(), Code::AlreadyExists, "{}", s.message());
    assert!(s.message().contains("\"accepted\""), "{}", s.message());
    assert!(s.message().contains(&a.decision_id), "{}", s.message());
    let mut by_id = event("accepted", pb::EventKind::Accepted);
    by_id.decision_id = b.decision_id.clone();
    by_id.at = when;
    let s = record(&mut c, by_id).await.unwrap_err();
    assert_eq!(s.code(), Code::AlreadyExists, "{}", s.message());
    let got = c
        .get_decision(pb::GetDecisionRequest {
            request_id: "TK-B".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(got.events.is_empty(), "{:?}", got.events);
}

/// A department's reason for a return often carries a contact number: stored and returned masked,
/// like the request's text, and a retry of the event is still the same event.
#[tokio::test]
async fn an_events_free_text_is_stored_masked() {
    let (dir, server, mut c) = recording().await;
    let r = routed(&mut c, "小区停水了", "P-1").await;
    let mut returned = event("p1", pb::EventKind::Returned);
    returned.decision_id = r.decision_id.clone();
    returned.reason = "联系人13912345678不归我们管".into();
    returned.operator = "王五 028-85123456".into();
    record(&mut c, returned.clone()).await.unwrap();
    assert!(record(&mut c, returned).await.unwrap().duplicate);
    let got = get_decision(&mut c, &r.decision_id).await;
    assert_eq!(got.events[0].reason, "联系人[手机号]不归我们管");
    assert_eq!(got.events[0].operator, "王五 [电话]");
    drop(server);
    for file in ["d.sqlite", "d.sqlite-wal"] {
        let bytes = std::fs::read(dir.path().join(file)).unwrap_or_default();
        let stored = String::from_utf8_lossy(&bytes);
        assert!(!stored.contains("13912345678"), "the number is in {file}");
    }
}

/// Many ticket systems give times to the second: an event in its decision's own second is not
/// "before its decision".
#[tokio::test]
async fn an_event_given_to_the_second_in_its_decisions_second_is_recorded() {
    let (_dir, _server, mut c) = recording().await;
    let r = routed(&mut c, "小区停水了", "S-1").await;
    let got = get_decision(&mut c, &r.decision_id).await;
    let decided = got.received_at.unwrap();
    let mut e = event("ss", pb::EventKind::Accepted);
    e.decision_id = r.decision_id.clone();
    e.at = Some(pbjson_types::Timestamp {
        seconds: decided.seconds,
        nanos: 0,
    });
    record(&mut c, e).await.unwrap();
    // A millisecond-precise time before the decision is still before it, and the message shows
    // the milliseconds.
    let mut e = event("ms", pb::EventKind::Accepted);
    e.decision_id = r.decision_id.clone();
    e.at = Some(pbjson_types::Timestamp {
        seconds: decided.seconds - 1,
        nanos: 999_000_000,
    });
    let s = record(&mut c, e).await.unwrap_err();
    assert_eq!(s.code(), Code::InvalidArgument, "{}", s.message());
    let ms = format!(".{:03} +08:00", decided.nanos / 1_000_000);
    assert!(s.message().contains(&ms), "{}", s.message());
}

/// An event dated beyond a few minutes after the router's clock is a mistake (a typo in the year).
#[tokio::test]
async fn an_event_dated_in_the_future_is_invalid_argument() {
    let (_dir, _server, mut c) = recording().await;
    let r = routed(&mut c, "小区停水了", "F-1").await;
    let mut e = event("future", pb::EventKind::Resolved);
    e.decision_id = r.decision_id.clone();
    e.at = at(3600);
    let s = record(&mut c, e.clone()).await.unwrap_err();
    assert_eq!(s.code(), Code::InvalidArgument, "{}", s.message());
    assert!(s.message().contains("in the future"), "{}", s.message());
    // A minute ahead (another machine's clock) is recorded.
    e.at = at(60);
    record(&mut c, e).await.unwrap();
}

/// GetDecision with a decision id and another ticket's number is refused, as RecordOutcome
/// refuses it, rather than answered with the decision id's record.
#[tokio::test]
async fn get_decision_refuses_a_decision_of_another_ticket() {
    let (_dir, _server, mut c) = recording().await;
    let r = routed(&mut c, "小区停水了", "T-1").await;
    routed(&mut c, "公司三个月没发工资了", "T-2").await;
    let ask = |request_id: &str| pb::GetDecisionRequest {
        decision_id: r.decision_id.clone(),
        request_id: request_id.to_owned(),
    };
    let s = c.get_decision(ask("T-2")).await.unwrap_err();
    assert_eq!(s.code(), Code::InvalidArgument, "{}", s.message());
    assert!(s.message().contains("of ticket \"T-1\""), "{}", s.message());
    let got = c.get_decision(ask("T-1")).await.unwrap().into_inner();
    assert_eq!(got.request_id, "T-1");
}

/// An event id or operator with a line break would split a report's line or a CSV cell; an
/// EXTENDED due date is kept as the date it means, and another kind's due date is not kept.
#[tokio::test]
async fn event_ids_are_one_line_and_due_dates_are_dates() {
    let (_dir, _server, mut c) = recording().await;
    let r = routed(&mut c, "小区停水了", "X-1").await;
    for (event_id, operator) in [("a\nb", "王五"), ("ok-1", "王五\r\n")] {
        let mut e = event(event_id, pb::EventKind::Accepted);
        e.decision_id = r.decision_id.clone();
        e.operator = operator.to_owned();
        let s = record(&mut c, e).await.unwrap_err();
        assert_eq!(s.code(), Code::InvalidArgument, "{}", s.message());
        assert!(
            s.message().contains("holds control characters"),
            "{}",
            s.message()
        );
    }
    let mut extended = event("x-ext", pb::EventKind::Extended);
    extended.decision_id = r.decision_id.clone();
    extended.due_date = " 2099-12-31 ".to_owned();
    record(&mut c, extended).await.unwrap();
    let mut accepted = event("x-acc", pb::EventKind::Accepted);
    accepted.decision_id = r.decision_id.clone();
    accepted.due_date = "2030-01-01".to_owned();
    record(&mut c, accepted).await.unwrap();
    let got = get_decision(&mut c, &r.decision_id).await;
    let due = |id: &str| {
        got.events
            .iter()
            .find(|e| e.event_id == id)
            .map(|e| e.due_date.clone())
    };
    assert_eq!(due("x-ext"), Some("2099-12-31".to_owned()));
    assert_eq!(due("x-acc"), Some(String::new()));
}

/// A request routed late (a backlog): GetDecision gives the caller's received time beside the
/// router's, and the recorded time limit the day it was counted from.
#[tokio::test]
async fn the_callers_received_time_is_kept_and_returned() {
    let (_dir, _server, mut c) = recording().await;
    let received = pbjson_types::Timestamp {
        seconds: 1_735_700_000, // 2025-01-01 10:53:20 +08:00
        nanos: 123_000_000,
    };
    let mut old = route("公司三个月没发工资了", "RT-OLD");
    old.received_time = Some(received);
    let r = c.route(old).await.unwrap().into_inner();
    let get = |id: &str| pb::GetDecisionRequest {
        request_id: id.into(),
        ..Default::default()
    };
    let got = c.get_decision(get("RT-OLD")).await.unwrap().into_inner();
    assert_eq!(got.received_time, Some(received));
    let routed_at = got.received_at.unwrap();
    assert!(
        routed_at.seconds > received.seconds + 86_400,
        "{routed_at:?}"
    );
    let limit = got.decision.unwrap().time_limit.unwrap();
    assert_eq!(limit.received_date, "2025-01-01");
    assert_eq!(limit.due_date, r.time_limit.unwrap().due_date);
    // Events still follow the decision: now is after it, the received day is before it.
    let mut accepted = event("a", pb::EventKind::Accepted);
    accepted.request_id = "RT-OLD".into();
    record(&mut c, accepted).await.unwrap();
    let mut early = event("b", pb::EventKind::Accepted);
    early.request_id = "RT-OLD".into();
    early.at = Some(pbjson_types::Timestamp {
        seconds: received.seconds + 60,
        nanos: 0,
    });
    let s = record(&mut c, early).await.unwrap_err();
    assert!(
        s.message().contains("before its decision"),
        "{}",
        s.message()
    );
    // No received time given: none recorded.
    c.route(route("小区停水了", "RT-NONE")).await.unwrap();
    let got = c.get_decision(get("RT-NONE")).await.unwrap().into_inner();
    assert_eq!(got.received_time, None);
}

/// An operator sees what recording adds to each Route call, and the backlog, on `/metrics`.
#[tokio::test]
async fn the_metrics_show_what_recording_costs_each_call() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("d.sqlite").display());
    let server = Server::start(&[
        "--shutdown-grace-ms",
        "0",
        "--store",
        &store,
        "--metrics-listen",
        "127.0.0.1:0",
    ]);
    let mut c = server.client().await;
    for i in 0..3 {
        c.route(route("公司三个月没发工资了", &format!("t-{i}")))
            .await
            .unwrap();
    }
    let metrics = server.metrics.clone().expect("metrics address printed");
    let body = tokio::task::spawn_blocking(move || common::scrape(&metrics))
        .await
        .unwrap();
    assert!(
        body.contains("hotline_store_record_duration_seconds_count 3"),
        "{body}"
    );
    assert!(
        body.contains(r#"hotline_store_record_duration_seconds_bucket{le="0.0002"}"#),
        "{body}"
    );
    assert!(body.contains("hotline_store_spool_bytes"), "{body}");
}

#[tokio::test]
async fn kill_9_under_load_loses_no_answered_decision() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.sqlite");
    let mut server = start(&db);
    let answered: Arc<Mutex<Vec<String>>> = Arc::default();
    let texts = [
        "公司三个月没发工资了",
        "小区电梯坏了三个月",
        "楼下烧烤店油烟太大",
        "孩子上小学需要什么材料",
    ];
    let mut clients = Vec::new();
    for k in 0..8 {
        let mut c = server.client().await;
        let answered = answered.clone();
        clients.push(tokio::spawn(async move {
            let started = Instant::now();
            let mut n = 0;
            // Bounded in count and time; ends when the server is gone.
            while n < 20_000 && started.elapsed() < Duration::from_secs(10) {
                let req = route(texts[(k + n) % texts.len()], &format!("c{k}-{n}"));
                match c.route(req).await {
                    Ok(r) => answered.lock().unwrap().push(r.into_inner().decision_id),
                    Err(_) => break,
                }
                n += 1;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    server.child.kill().unwrap(); // SIGKILL: no shutdown, no flush
    server.child.wait().unwrap();
    for c in clients {
        c.await.unwrap();
    }
    let answered = answered.lock().unwrap().clone();
    assert!(answered.len() > 100, "only {} answered", answered.len());
    drop(server);

    // The next process replays the spool; every answered decision is found.
    let server = start(&db);
    let mut c = server.client().await;
    for id in &answered {
        let got = c
            .get_decision(pb::GetDecisionRequest {
                decision_id: id.clone(),
                ..Default::default()
            })
            .await;
        assert!(
            got.is_ok(),
            "decision {id} was answered but is not in the store: {got:?}"
        );
    }
    println!(
        "{} answered decisions, all in the store after kill -9",
        answered.len()
    );
}

/// A record damaged on disk is DATA_LOSS, naming the decision: asking again will not help, so a
/// client must not retry it as it would UNAVAILABLE.
#[tokio::test]
async fn a_damaged_record_is_data_loss_not_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.sqlite");
    let store = format!("sqlite:{}", db.display());
    let mut server = Server::start(&[
        "--shutdown-grace-ms",
        "0",
        "--shutdown-timeout",
        "1",
        "--store",
        &store,
    ]);
    let mut c = server.client().await;
    let r = c
        .route(route("小区电梯坏了三个月", "2026-1205-0001"))
        .await
        .unwrap()
        .into_inner();
    drop(c);
    assert!(
        server.terminate().success(),
        "a clean stop stores every decision"
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut frame: Vec<u8> = conn
        .query_row(
            "SELECT record FROM decisions WHERE decision_id = ?1",
            [&r.decision_id],
            |row| row.get(0),
        )
        .unwrap();
    let at = frame.len() - 30;
    frame[at] ^= 0x01;
    conn.execute(
        "UPDATE decisions SET record = ?1 WHERE decision_id = ?2",
        rusqlite::params![frame, r.decision_id],
    )
    .unwrap();
    drop(conn);
    let server = start(&db);
    let mut c = server.client().await;
    let s = c
        .get_decision(pb::GetDecisionRequest {
            decision_id: r.decision_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(s.code(), Code::DataLoss, "{}", s.message());
    assert!(s.message().contains(&r.decision_id), "{}", s.message());
}

/// A damaged SQLite file does not stop a hotline's routing: the server starts and answers, its
/// decisions wait in the spool (queries say the store is unavailable), the damaged file is left
/// as it was for inspection, and once an operator moves it aside the decisions are stored in a
/// new file.
#[tokio::test]
async fn a_damaged_sqlite_file_is_waited_for_not_a_failed_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.sqlite");
    let damage = b"this was a database before the disk failed".repeat(100);
    std::fs::write(&db, &damage).unwrap();
    let server = start(&db);
    let mut c = server.client().await;
    let routed = c
        .route(route("公司三个月没发工资了", "damaged-1"))
        .await
        .expect("routes while the store cannot be opened")
        .into_inner();
    assert_eq!(routed.outcome(), pb::Outcome::Dispatch);
    let lookup = pb::GetDecisionRequest {
        decision_id: routed.decision_id.clone(),
        ..Default::default()
    };
    let e = c.get_decision(lookup.clone()).await.unwrap_err();
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
    assert_eq!(
        std::fs::read(&db).unwrap(),
        damage,
        "the damaged file is left as it was"
    );

    std::fs::rename(&db, dir.path().join("d.sqlite.damaged")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let got = loop {
        match c.get_decision(lookup.clone()).await {
            Ok(r) => break r.into_inner(),
            Err(e) if Instant::now() < deadline => {
                assert_eq!(e.code(), Code::Unavailable, "{e:?}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("the decision was not stored in a new file: {e:?}"),
        }
    };
    assert_eq!(got.request_id, "damaged-1");
    assert_eq!(got.decision.map(|d| d.rule_id), Some(routed.rule_id));
}
