//! The store against a real SQLite file: recording, masking, events, replay, locking.

use super::*;
use crate::proto::v1 as pb;
use crate::request::RouteInput;
use crate::sink::{Method, route_and_record};
use record::RuleSetArchive;

fn bundled() -> &'static crate::RuleSet {
    static SET: std::sync::OnceLock<crate::RuleSet> = std::sync::OnceLock::new();
    SET.get_or_init(|| {
        crate::load_dir(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/rules"
        )))
        .unwrap_or_else(|e| panic!("{e}"))
    })
}

fn open(dir: &std::path::Path, mode: TextMode) -> Store {
    let config = StoreConfig::Sqlite(dir.join("d.sqlite"));
    Store::open(&config, mode, Some(30)).unwrap().unwrap()
}

fn decide(store: &Store, id: &str, text: &str) -> pb::RouteResponse {
    let input = RouteInput {
        id,
        text,
        ..Default::default()
    };
    route_and_record(
        bundled(),
        &input,
        Method::Cli,
        pb::Channel::Phone,
        "",
        store,
    )
}

fn event(id: &str, decision: &str, kind: EventKind, at_ms: i64) -> Event {
    Event {
        event_id: id.into(),
        decision_id: decision.into(),
        kind,
        at_ms,
        department_id: String::new(),
        reason: String::new(),
        satisfaction: None,
        due_date: String::new(),
        operator: "test".into(),
    }
}

#[test]
fn decisions_are_recorded_masked_with_their_rules_and_events() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), TextMode::Masked);
    let r = decide(&store, "T-1", "我的电话13812345678，公司三个月没发工资了");
    assert_eq!(r.decision_id.len(), 28);
    let again = decide(&store, "T-1", "公司三个月没发工资了，老板跑了");
    assert_ne!(again.decision_id, r.decision_id);

    let got = store
        .get(Lookup::DecisionId(r.decision_id.clone()))
        .unwrap()
        .unwrap();
    assert_eq!(got.record.request_id, "T-1");
    assert_eq!(
        got.record.text.as_deref(),
        Some("我的电话[手机号]，公司三个月没发工资了")
    );
    assert_eq!(got.record.rule_id, r.rule_id);
    assert_eq!(got.record.channel, "CHANNEL_PHONE");
    let recorded = got.record.to_response();
    assert_eq!(
        (
            recorded.outcome,
            &recorded.rule_id,
            recorded.department_id(),
            recorded.confidence
        ),
        (r.outcome, &r.rule_id, r.department_id(), r.confidence)
    );
    let ids: Vec<&str> = r.regulations.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(got.record.articles, ids);
    assert_eq!(got.record.category, r.category);
    // The latest decision of a ticket number.
    let latest = store.get(Lookup::RequestId("T-1".into())).unwrap().unwrap();
    assert_eq!(latest.record.decision_id, again.decision_id);
    // The rule files that decided, by version.
    let mut files = store.rule_files(&r.rules_version).unwrap().unwrap();
    let mut expected = bundled().files().to_vec();
    files.sort();
    expected.sort();
    assert!(
        files == expected,
        "the archived files differ from the rule set's"
    );

    let at = got.record.received_at_ms;
    let mut returned = event("e-1", &r.decision_id, EventKind::Returned, at + 1);
    returned.department_id = "housing".into();
    assert_eq!(
        store.record_event(returned.clone()).unwrap(),
        EventOutcome::Recorded {
            decision_id: r.decision_id.clone()
        }
    );
    assert_eq!(
        store.record_event(returned.clone()).unwrap(),
        EventOutcome::Duplicate {
            decision_id: r.decision_id.clone()
        }
    );
    // The same id for another event is not a duplicate: the sender has two events under one id.
    let mut other = returned;
    other.kind = EventKind::Resolved;
    assert_eq!(
        store.record_event(other).unwrap(),
        EventOutcome::Conflict {
            event_id: "e-1".into(),
            decision_id: r.decision_id.clone(),
            kind: EventKind::Returned,
            same_content: false,
        }
    );
    assert_eq!(
        store
            .record_event(event("e-2", "nope", EventKind::Accepted, at))
            .unwrap(),
        EventOutcome::NotFound
    );
    assert_eq!(
        store
            // A millisecond-precise time before the decision's second (a whole second in the
            // decision's own second is not before it).
            .record_event(event("e-3", &r.decision_id, EventKind::Accepted, at - 1001))
            .unwrap(),
        EventOutcome::BeforeDecision { decided_at_ms: at }
    );
    // An extension to a day before the decision is a mistake in the due date, not in `at`.
    let mut extended = event("e-4", &r.decision_id, EventKind::Extended, at + 1);
    extended.due_date = "2000-01-01".into();
    assert_eq!(
        store.record_event(extended.clone()).unwrap(),
        EventOutcome::DueDateBeforeDecision { decided_at_ms: at }
    );
    extended.due_date = "2999-01-01".into();
    assert!(matches!(
        store.record_event(extended).unwrap(),
        EventOutcome::Recorded { .. }
    ));
    let got = store
        .get(Lookup::DecisionId(r.decision_id.clone()))
        .unwrap()
        .unwrap();
    assert_eq!(got.events.len(), 2, "the return and the extension");
    assert_eq!(got.final_department(), "housing");
    assert_eq!(store.between(0, i64::MAX).unwrap().decisions.len(), 2);
    store.close().unwrap();
}

#[test]
fn an_event_id_used_for_another_decision_is_a_conflict_not_a_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), TextMode::Masked);
    let a = decide(&store, "TK-A", "小区停水了");
    let b = decide(&store, "TK-B", "公司三个月没发工资了");
    let at = now_ms();
    // An intake system that numbers events per ticket: "accepted" for each of two tickets.
    let accepted = |ticket: &str| {
        let mut e = event("accepted", "", EventKind::Accepted, at);
        e.operator = String::new();
        (e, Lookup::RequestId(ticket.into()), ticket.to_owned())
    };
    let (e, key, ticket) = accepted("TK-A");
    assert_eq!(
        events::record(&store, e.clone(), key.clone(), &ticket, TextMode::Masked).unwrap(),
        EventOutcome::Recorded {
            decision_id: a.decision_id.clone()
        }
    );
    // A true retry stays idempotent.
    assert_eq!(
        events::record(&store, e, key, &ticket, TextMode::Masked).unwrap(),
        EventOutcome::Duplicate {
            decision_id: a.decision_id.clone()
        }
    );
    let (e, key, ticket) = accepted("TK-B");
    let refused = events::record(&store, e, key, &ticket, TextMode::Masked).unwrap();
    assert_eq!(
        refused,
        EventOutcome::Conflict {
            event_id: "accepted".into(),
            decision_id: a.decision_id.clone(),
            kind: EventKind::Accepted,
            same_content: true,
        }
    );
    let message = events::refusal(&refused).unwrap();
    assert!(
        message.contains("\"accepted\"") && message.contains(&a.decision_id),
        "{message}"
    );
    // The same by decision id.
    let mut by_id = event("accepted", &b.decision_id, EventKind::Accepted, at);
    by_id.operator = String::new();
    let key = Lookup::DecisionId(b.decision_id.clone());
    assert!(matches!(
        events::record(&store, by_id, key, "", TextMode::Masked).unwrap(),
        EventOutcome::Conflict { .. }
    ));
    let got = store
        .get(Lookup::DecisionId(b.decision_id.clone()))
        .unwrap();
    assert!(got.unwrap().events.is_empty(), "B's event was not recorded");
    // Ticket A routed again: the retry by ticket number finds the newer decision, and is still
    // the same event of the same ticket.
    let a2 = decide(&store, "TK-A", "小区停水了，还没来水");
    assert_ne!(a2.decision_id, a.decision_id);
    let (e, key, ticket) = accepted("TK-A");
    assert_eq!(
        events::record(&store, e, key, &ticket, TextMode::Masked).unwrap(),
        EventOutcome::Duplicate {
            decision_id: a.decision_id.clone()
        }
    );
    store.close().unwrap();
}

#[test]
fn an_event_is_compared_with_its_decision_at_the_precision_it_was_given_in() {
    let decided = 1_764_900_000_400; // 12:00:00.400 (a whole second + 400 ms)
    let before = |at_ms: i64| {
        let e = event("e", "d", EventKind::Accepted, at_ms);
        backend::too_early(&e, decided).is_some()
    };
    // Given to the second: the decision's second is not before it; the second before is.
    assert!(!before(decided - 400));
    assert!(before(decided - 1400));
    // Given to the millisecond: compared to the millisecond.
    assert!(before(decided - 300));
    assert!(!before(decided));
    assert!(!before(decided + 1));
    // The message shows the milliseconds, which tell why.
    let refused = EventOutcome::BeforeDecision {
        decided_at_ms: decided,
    };
    let message = events::refusal(&refused).unwrap();
    assert!(message.contains(":00.400 +08:00"), "{message}");
}

#[test]
fn the_callers_received_time_is_recorded_beside_the_routers() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), TextMode::Masked);
    // A backlog: received on 2025-01-01 (10:53:20.123 China time), routed now.
    let received_ms = 1_735_700_000_123;
    let input = RouteInput {
        id: "RT-OLD",
        text: "公司三个月没发工资了",
        received: report::china_date(received_ms),
        received_ms: Some(received_ms),
        ..Default::default()
    };
    let before = now_ms();
    let r = route_and_record(
        bundled(),
        &input,
        Method::Route,
        pb::Channel::Web,
        "",
        &store,
    );
    let got = store
        .get(Lookup::DecisionId(r.decision_id.clone()))
        .unwrap()
        .unwrap();
    assert_eq!(got.record.received_time_ms, Some(received_ms));
    assert!(got.record.received_at_ms >= before, "decided now");
    let limit = got.record.to_response().time_limit.unwrap();
    assert_eq!(
        (limit.received_date.as_str(), limit.due_date.as_str()),
        (
            "2025-01-01",
            r.time_limit.as_ref().unwrap().due_date.as_str()
        )
    );
    // Events are compared with when the router decided: one of today is not before it, one of
    // the received day is.
    let accepted = event("a", &r.decision_id, EventKind::Accepted, now_ms());
    assert!(matches!(
        store.record_event(accepted).unwrap(),
        EventOutcome::Recorded { .. }
    ));
    let early = event("b", &r.decision_id, EventKind::Accepted, received_ms + 1);
    assert!(matches!(
        store.record_event(early).unwrap(),
        EventOutcome::BeforeDecision { .. }
    ));
    // A day alone (the CLI's --received) is its first moment, China time.
    let day_only = RouteInput {
        id: "RT-DAY",
        text: "公司三个月没发工资了",
        received: crate::situate::calendar::Date::parse("2025-01-02"),
        ..Default::default()
    };
    let d = route_and_record(
        bundled(),
        &day_only,
        Method::Cli,
        pb::Channel::Unspecified,
        "",
        &store,
    );
    let got = store
        .get(Lookup::DecisionId(d.decision_id))
        .unwrap()
        .unwrap();
    assert_eq!(got.record.received_time_ms, Some(1_735_747_200_000));
    store.close().unwrap();
    // In its column too, for queries by the hotline's received time.
    let conn = rusqlite::Connection::open(dir.path().join("d.sqlite")).unwrap();
    let column: Option<i64> = conn
        .query_row(
            "SELECT received_time FROM decisions WHERE decision_id = ?1",
            [&r.decision_id],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(column, Some(received_ms));
}

#[test]
fn a_free_text_place_is_masked_like_the_text() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), TextMode::Masked);
    // A free-text place is masked like the text (full-width digits as typed by an input method).
    let input = RouteInput {
        id: "T-2",
        text: "公司三个月没发工资了",
        place: "我家电话１３８１２３４５６７８",
        ..Default::default()
    };
    let placed = route_and_record(
        bundled(),
        &input,
        Method::Cli,
        pb::Channel::Phone,
        "",
        &store,
    );
    let got_place = store
        .get(Lookup::DecisionId(placed.decision_id.clone()))
        .unwrap()
        .unwrap();
    assert_eq!(got_place.record.place, "我家电话[手机号]");
    store.close().unwrap();
}

#[test]
fn text_modes_keep_what_they_say() {
    for (mode, expected) in [
        (TextMode::Full, Some("电话13812345678，小区停水了")),
        (TextMode::None, None),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), mode);
        let r = decide(&store, "", "电话13812345678，小区停水了");
        let got = store
            .get(Lookup::DecisionId(r.decision_id))
            .unwrap()
            .unwrap();
        assert_eq!(got.record.text.as_deref(), expected);
    }
}

/// A decision of the bundled rules with the id `decision_id`, and its spool frame as a Route call
/// writes it.
fn decision_frame(decision_id: &str) -> (pb::RouteResponse, Vec<u8>) {
    let input = RouteInput::text("小区电梯坏了三个月");
    let mut r = bundled().route(&input);
    r.decision_id = decision_id.into();
    let d = Decision {
        method: crate::sink::Method::Route,
        set: bundled(),
        request: &input,
        channel: pb::Channel::Web,
        client: "",
        received_at: SystemTime::now(),
        latency: std::time::Duration::ZERO,
        response: &r,
    };
    let mut frame = Vec::new();
    encode_decision(&mut frame, &d, TextMode::Masked);
    (r, frame)
}

#[test]
fn what_is_left_in_the_spool_is_stored_by_the_next_process() {
    let dir = tempfile::tempdir().unwrap();
    // A process that answered and died before its writer emptied the spool: the entries are
    // only in the spool (written directly here, as the request path does).
    let spool_dir = dir.path().join("d.sqlite.spool");
    let spool = spool::Spool::open(&spool_dir, Gauge::default(), 0).unwrap();
    let (r, frame) = decision_frame("000000000001feedfeedfeedfeed");
    spool.append(&frame).unwrap();
    // A frame cut short by the crash.
    drop(spool);
    let seg = std::fs::read_dir(&spool_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut f = std::fs::OpenOptions::new().append(true).open(seg).unwrap();
    std::io::Write::write_all(&mut f, &frame[..frame.len() / 2]).unwrap();

    let store = open(dir.path(), TextMode::Masked);
    let got = store
        .get(Lookup::DecisionId(r.decision_id.clone()))
        .unwrap();
    assert!(got.is_some());
    assert_eq!(store.stats().damaged.get(), 1);
    assert_eq!(store.spool_bytes(), 0);
    // Replaying the same entries again stores them once.
    drop(store);
    let store = open(dir.path(), TextMode::Masked);
    assert_eq!(store.between(0, i64::MAX).unwrap().decisions.len(), 1);
}

#[test]
fn two_processes_cannot_share_a_spool() {
    let dir = tempfile::tempdir().unwrap();
    let _first = open(dir.path(), TextMode::Masked);
    let config = StoreConfig::Sqlite(dir.path().join("d.sqlite"));
    let second = Store::open(&config, TextMode::Masked, None).err().unwrap();
    assert!(
        second.contains("in use by another hotline-router"),
        "{second}"
    );
}

#[test]
fn the_store_config_is_parsed_with_a_clear_error() {
    assert_eq!("none".parse::<StoreConfig>(), Ok(StoreConfig::None));
    assert_eq!(
        "sqlite:/tmp/x.sqlite".parse::<StoreConfig>(),
        Ok(StoreConfig::Sqlite("/tmp/x.sqlite".into()))
    );
    assert_eq!(
        "data/d.db".parse::<StoreConfig>(),
        Ok(StoreConfig::Sqlite("data/d.db".into()))
    );
    assert!("sqlite:".parse::<StoreConfig>().is_err());
    assert!(
        "mysql://x"
            .parse::<StoreConfig>()
            .unwrap_err()
            .contains("unknown store")
    );
}

fn sample_record() -> DecisionRecord {
    DecisionRecord {
        decision_id: "000000000002feedfeed00000001".into(),
        request_id: "T-\"9\"".into(),
        method: "Route".into(),
        channel: "CHANNEL_WEB".into(),
        client: String::new(),
        // Recent: the stores of these tests purge decisions older than 30 days.
        received_at_ms: now_ms() - 60_000,
        text: Some("小区停水了\n电话[手机号]".into()),
        text_mode: TextMode::Masked,
        place: "高新区".into(),
        rules_version: "ecd78f17329f8f36".into(),
        outcome: "OUTCOME_DISPATCH".into(),
        department_id: "water".into(),
        unit: "供水公司".into(),
        rule_id: "water.outage".into(),
        category: vec!["城乡建设".into(), "供水".into()],
        articles: vec!["a1".into(), "a2".into()],
        confidence: 0.875,
        request_type: "REQUEST_TYPE_COMPLAINT".into(),
        working_days: 5,
        due_date: "2026-12-09".into(),
        handoff_line: String::new(),
        reason: "keyword 停水".into(),
        decided_by: "DECIDED_BY_RULES".into(),
        received_time_ms: None,
    }
}

#[test]
fn a_spooled_decision_is_stored_as_the_json_of_its_record() {
    let record = sample_record();
    let json = serde_json::to_string(&record::DecisionRef::of(&record)).unwrap();
    assert_eq!(json, serde_json::to_string(&record).unwrap());
    assert_eq!(
        serde_json::from_str::<DecisionRecord>(&json).unwrap(),
        record
    );
}

#[test]
fn damaged_frames_are_counted_and_skipped() {
    let archive = RuleSetArchive {
        version: "v1".into(),
        files: vec![("a.yaml".into(), "rules: []".into())],
    };
    let mut bytes = Vec::new();
    for _ in 0..3 {
        spool::Frame::rule_set(&mut bytes, &archive.version, &archive.files);
    }
    let one = bytes.len() / 3;
    let whole = bytes.clone();
    assert_eq!(spool::decode_frames(&whole).0.len(), 3);
    // A flipped byte in the middle frame's payload: its checksum fails.
    bytes[one + one / 2 + 6] ^= 0x40;
    // Garbage between frames, and zeros at the end (the allocated tail of a segment whose
    // process died).
    bytes.splice(2 * one..2 * one, *b"\xF5\x1D\x02garbage");
    bytes.extend_from_slice(&[0; 32]);
    let (items, bad) = spool::decode_frames(&bytes);
    assert_eq!(items.len(), 2);
    // A damaged stretch counts once: the bad frame and the garbage after it; zeros to the end
    // are the end, not damage.
    assert_eq!(bad, 1);
    // Zeros followed by anything are damage.
    let mut zeros_inside = whole.clone();
    zeros_inside.splice(one..one, [0; 8]);
    let (items, bad) = spool::decode_frames(&zeros_inside);
    assert_eq!((items.len(), bad), (3, 1));
    for item in items {
        assert!(
            matches!(item, spool::Item::RuleSet(a) if a.version == archive.version
            && a.files == [("a.yaml", "rules: []")])
        );
    }
    // Any cut of a frame is damage, never a panic.
    for cut in 0..one {
        let (items, bad) = spool::decode_frames(&whole[..cut]);
        assert_eq!((items.len(), bad), (0, usize::from(cut > 0)));
    }
}

#[test]
fn a_json_spool_left_by_an_older_router_is_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let spool_dir = dir.path().join("d.sqlite.spool");
    std::fs::create_dir_all(&spool_dir).unwrap();
    let record = sample_record();
    let mut line =
        serde_json::to_string(&record::Entry::Decision(Box::new(record.clone()))).unwrap();
    line.push('\n');
    line.push_str("{\"entry\":\"decis\n");
    std::fs::write(spool_dir.join("seg-000000000007.jsonl"), line).unwrap();

    let store = open(dir.path(), TextMode::Masked);
    let got = store
        .get(Lookup::DecisionId(record.decision_id.clone()))
        .unwrap()
        .unwrap();
    assert_eq!(got.record, record);
    assert_eq!(store.stats().damaged.get(), 1);
    assert_eq!(store.spool_bytes(), 0);
    // New entries go to a segment after it.
    decide(&store, "T-2", "小区电梯坏了三个月");
    store.flush().unwrap();
    assert_eq!(store.between(0, i64::MAX).unwrap().decisions.len(), 2);
}

#[test]
fn a_record_damaged_in_the_database_is_an_error_not_a_wrong_decision() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), TextMode::Masked);
    let kept = decide(&store, "T-1", "小区电梯坏了三个月");
    let damaged = decide(&store, "T-2", "楼上每天晚上装修噪音很大");
    store.flush().unwrap();
    drop(store);
    // One byte of the second record's reason changed, as a disk or a hand edit might.
    let conn = rusqlite::Connection::open(dir.path().join("d.sqlite")).unwrap();
    let mut frame: Vec<u8> = conn
        .query_row(
            "SELECT record FROM decisions WHERE decision_id = ?1",
            [&damaged.decision_id],
            |r| r.get(0),
        )
        .unwrap();
    let last = frame.len() - 30;
    frame[last] ^= 0x01;
    conn.execute(
        "UPDATE decisions SET record = ?1 WHERE decision_id = ?2",
        rusqlite::params![frame, damaged.decision_id],
    )
    .unwrap();
    drop(conn);
    let store = open(dir.path(), TextMode::Masked);
    let got = store
        .get(Lookup::DecisionId(kept.decision_id.clone()))
        .unwrap();
    assert_eq!(got.unwrap().record.reason, kept.reason);
    let err = store
        .get(Lookup::DecisionId(damaged.decision_id.clone()))
        .unwrap_err();
    assert!(err.starts_with(super::DAMAGED), "{err}");
    assert!(
        err.contains(&damaged.decision_id),
        "the message names the decision: {err}"
    );
    // A period's read leaves it out and names it, and the report says so.
    let period = store.between(0, i64::MAX).unwrap();
    assert_eq!(period.decisions.len(), 1);
    assert_eq!(period.damaged, std::slice::from_ref(&damaged.decision_id));
    let today = crate::situate::calendar::Date::parse("2099-01-01").unwrap();
    let r = report::of_period(&period, bundled(), ("2000-01-01", "2100-01-01"), today);
    assert_eq!(r.decisions, 1);
    let text = render::text(&r);
    assert!(
        text.contains(&format!(
            "1 decision record(s) damaged on disk are not counted: {}",
            damaged.decision_id
        )),
        "{text}"
    );
    assert!(render::csv(&r).contains(&format!("damaged,{}", damaged.decision_id)));
    assert!(render::html(&r).contains(&damaged.decision_id));
}

#[test]
fn a_store_of_schema_1_is_migrated_and_keeps_its_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.sqlite");
    // A store made by a router of schema 1, whose ids were made after the decision (a few
    // milliseconds after `received_at`), and whose records carry the spool's `entry` tag.
    let mut old = sample_record();
    let received = now_ms() - 3_600_000;
    old.received_at_ms = received;
    old.decision_id = format!("{:012x}feedfeed00000001", received + 3);
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(backend::SCHEMA_V1).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        let json = serde_json::to_string(&record::Entry::Decision(Box::new(old.clone()))).unwrap();
        conn.execute(
            "INSERT INTO decisions VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            rusqlite::params![
                old.decision_id,
                old.request_id,
                old.received_at_ms,
                old.outcome,
                old.department_id,
                old.rule_id,
                old.rules_version,
                json
            ],
        )
        .unwrap();
    }
    let store = open(dir.path(), TextMode::Masked);
    let new = decide(&store, "T-new", "小区电梯坏了三个月");
    let got = |id: &str| {
        store
            .get(Lookup::DecisionId(id.into()))
            .unwrap()
            .map(|d| d.record)
    };
    assert_eq!(got(&old.decision_id), Some(old.clone()));
    let by_ticket = store
        .get(Lookup::RequestId(old.request_id.clone()))
        .unwrap();
    assert_eq!(by_ticket.unwrap().record, old);
    // New ids begin with the received time.
    let new_record = got(&new.decision_id).unwrap();
    assert_eq!(
        i64::from_str_radix(&new.decision_id[..12], 16).unwrap(),
        new_record.received_at_ms
    );
    // Ranges of received time, at the edges of the old decision's millisecond.
    let ids = |from: i64, to: i64| -> Vec<String> {
        store
            .between(from, to)
            .unwrap()
            .decisions
            .into_iter()
            .map(|d| d.record.decision_id)
            .collect()
    };
    assert_eq!(ids(received, received + 1), [old.decision_id.clone()]);
    assert!(ids(received + 1, received + 10).is_empty());
    assert!(ids(received - 10, received).is_empty());
    assert_eq!(
        ids(0, i64::MAX),
        [old.decision_id.clone(), new.decision_id.clone()]
    );
    assert_eq!(
        ids(new_record.received_at_ms, new_record.received_at_ms + 1),
        std::slice::from_ref(&new.decision_id)
    );
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 4);
    // The caller's received time: NULL in the row stored before it was kept, and for a caller
    // that gave none.
    let received_time = |id: &str| -> Option<i64> {
        conn.query_row(
            "SELECT received_time FROM decisions WHERE decision_id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(received_time(&old.decision_id), None);
    assert_eq!(received_time(&new.decision_id), None);
    // The decision stored before keeps its JSON; the new one is its spool frame.
    let kind = |id: &str| -> String {
        conn.query_row(
            "SELECT typeof(record) FROM decisions WHERE decision_id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(kind(&old.decision_id), "text");
    assert_eq!(kind(&new.decision_id), "blob");
    let by_time: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'decisions_by_time'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(by_time, 0);
    drop(conn);

    // Purge by age: a retention of 0 days deletes both, through the id range.
    let config = StoreConfig::Sqlite(path.clone());
    let store = Store::open(&config, TextMode::Masked, Some(30))
        .unwrap()
        .unwrap();
    assert_eq!(store.between(0, i64::MAX).unwrap().decisions.len(), 2);
    drop(store);
    let mut db = sqlite::Sqlite::open(&path).unwrap();
    use backend::Backend;
    assert_eq!(db.purge(received + 1).unwrap(), 1);
    assert_eq!(db.purge(now_ms() + 1).unwrap(), 1);
    assert!(db.between(0, i64::MAX).unwrap().decisions.is_empty());
}

#[test]
fn a_store_made_with_16_kib_pages_keeps_them_and_new_stores_get_4_kib() {
    let page_size = |path: &std::path::Path| -> i64 {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.query_row("PRAGMA page_size", [], |r| r.get(0))
            .unwrap()
    };
    // As routers made them until 2026-12-06: 16 KiB pages, in WAL mode, schema 4.
    let old_dir = tempfile::tempdir().unwrap();
    {
        let conn = rusqlite::Connection::open(old_dir.path().join("d.sqlite")).unwrap();
        conn.execute_batch("PRAGMA page_size = 16384; PRAGMA journal_mode = WAL;")
            .unwrap();
    }
    let new_dir = tempfile::tempdir().unwrap();
    for (dir, expected) in [(&old_dir, 16384), (&new_dir, 4096)] {
        let store = open(dir.path(), TextMode::Masked);
        let r = decide(&store, "T-1", "小区电梯坏了三个月");
        let stored = store
            .get(Lookup::DecisionId(r.decision_id.clone()))
            .unwrap();
        assert_eq!(stored.unwrap().record.decision_id, r.decision_id);
        drop(store);
        assert_eq!(page_size(&dir.path().join("d.sqlite")), expected);
    }
}

/// The report of every decision in `store`, as seen on `today` (YYYY-MM-DD).
fn report_of_everything(store: &Store, today: &str) -> report::Report {
    let today = crate::situate::calendar::Date::parse(today).unwrap();
    let all = store.between(0, i64::MAX).unwrap();
    report::of_period(&all, bundled(), ("2000-01-01", "2100-01-01"), today)
}

#[test]
fn a_possible_emergency_is_recorded_as_one_and_counted_in_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), TextMode::Masked);
    let flagged = decide(&store, "T-E", "工地上的塔吊歪了，下面好多工人");
    assert_eq!(flagged.decided_by(), pb::DecidedBy::EmergencyCheck);
    let ordinary = decide(&store, "T-O", "公司三个月没发工资了");
    let got = store
        .get(Lookup::DecisionId(flagged.decision_id.clone()))
        .unwrap()
        .unwrap();
    assert!(got.record.possible_emergency());
    assert_eq!(got.record.decided_by, "DECIDED_BY_EMERGENCY_CHECK");
    assert_eq!(
        got.record.to_response().decided_by(),
        pb::DecidedBy::EmergencyCheck
    );
    let other = store
        .get(Lookup::DecisionId(ordinary.decision_id.clone()))
        .unwrap()
        .unwrap();
    assert!(!other.record.possible_emergency());

    let report = report_of_everything(&store, "2026-12-03");
    assert_eq!(report.manual.volume, 1);
    assert_eq!(report.manual.possible_emergencies, 1);
}

#[test]
fn a_dispute_of_the_cross_check_is_recorded_as_one_and_counted_in_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), TextMode::Masked);
    // The rules file a property-fee price rise under 城乡建设, the classifier under 商贸旅游.
    let disputed = decide(&store, "T-D", "物业费涨价了，物业公司也不公示收费标准");
    assert_eq!(disputed.decided_by(), pb::DecidedBy::CrossCheck);
    decide(&store, "T-O", "公司三个月没发工资了");
    let got = store
        .get(Lookup::DecisionId(disputed.decision_id.clone()))
        .unwrap()
        .unwrap();
    assert!(got.record.disputed() && !got.record.possible_emergency());

    let report = report_of_everything(&store, "2026-12-03");
    assert_eq!(report.manual.volume, 1);
    assert_eq!(report.manual.disputed, 1);
    assert_eq!(report.manual.possible_emergencies, 0);
    let text = render::text(&report);
    assert!(text.contains("1 disputed by the classifier"), "{text}");
}

#[test]
fn the_report_counts_the_classifiers_choices_and_how_many_came_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), TextMode::Masked);
    // Cooking fumes (环境保护) and a restaurant using the street (城乡建设): the rules cannot
    // choose, the classifier files it under 城乡建设 (settings.model.tie_break).
    let chosen = decide(&store, "T-T", "小区门口的饭店油烟太大，还占道经营");
    assert_eq!(chosen.decided_by(), pb::DecidedBy::ModelTieBreak);
    let ruled = decide(&store, "T-R", "公司三个月没发工资了");
    assert_eq!(ruled.decided_by(), pb::DecidedBy::Rules);
    let at = store
        .get(Lookup::DecisionId(chosen.decision_id.clone()))
        .unwrap()
        .unwrap()
        .record
        .received_at_ms;
    let mut returned = event("e-t", &chosen.decision_id, EventKind::Returned, at + 1);
    returned.department_id = chosen.department_id().to_owned();
    store.record_event(returned).unwrap();

    let report = report_of_everything(&store, "2026-12-04");
    let c = &report.classifier;
    assert_eq!((c.tie_break, c.fallback, c.returned), (1, 0, 1));
    assert_eq!(c.return_rate, 1.0);
    assert_eq!(c.all_return_rate, 0.5);
    let text = render::text(&report);
    assert!(
        text.contains(
            "模型取舍派单: 1 (1 tie-break, 0 fallback); returned 1 (100.0%; all dispatches 50.0%)"
        ),
        "{text}"
    );
    let html = render::html(&report);
    assert!(html.contains("<b id=\"tie-break\">1</b>"), "{html}");
    assert!(
        render::csv(&report).contains("\nclassifier,,,1,,1,1.0000,"),
        "{}",
        render::csv(&report)
    );
}

#[test]
fn a_decision_frame_of_an_older_router_without_decided_by_is_replayed() {
    let r = sample_record();
    let mut bytes = Vec::new();
    // The fields of a decision frame as routers wrote them before 2026-12-03: up to the reason.
    let mut f = spool::Frame::decision(&mut bytes);
    for s in [
        &r.decision_id,
        &r.request_id,
        &r.method,
        &r.channel,
        &r.client,
    ] {
        f.str(s);
    }
    f.i64(r.received_at_ms);
    f.u8(0);
    f.u8(1);
    f.str(r.text.as_deref().unwrap_or_default());
    for s in [
        &r.place,
        &r.rules_version,
        &r.outcome,
        &r.department_id,
        &r.unit,
        &r.rule_id,
    ] {
        f.str(s);
    }
    for list in [&r.category, &r.articles] {
        f.u32(list.len());
        for s in list {
            f.str(s);
        }
    }
    f.f64(r.confidence);
    f.str(&r.request_type);
    f.u32(r.working_days as usize);
    for s in [&r.due_date, &r.handoff_line, &r.reason] {
        f.str(s);
    }
    f.finish();
    let (items, bad) = spool::decode_frames(&bytes);
    assert_eq!(bad, 0);
    match items.as_slice() {
        [spool::Item::Decision(d)] => {
            assert_eq!(d.decided_by, "");
            assert_eq!(d.received_time_ms, None);
            assert_eq!(d.reason, r.reason);
            assert_eq!(d.decision_id, r.decision_id);
        }
        _ => panic!("one decision"),
    }
}

#[cfg(target_os = "linux")]
#[test]
fn the_writer_runs_below_the_request_path() {
    // The writer lowers its own priority when it starts (writer.rs, `yield_to_routing`).
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), TextMode::Masked);
    decide(&store, "T-N", "小区电梯坏了三个月");
    store.flush().unwrap();
    // Every writer thread of this process (other tests open stores too), by its name.
    let mut writers = 0;
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let task = task.unwrap().path();
        let comm = std::fs::read_to_string(task.join("comm")).unwrap_or_default();
        if comm.trim() != "hotline-store" {
            continue;
        }
        let stat = std::fs::read_to_string(task.join("stat")).unwrap_or_default();
        // Fields after the parenthesised name: state is field 3, nice field 19.
        let Some((_, after)) = stat.rsplit_once(") ") else {
            continue;
        };
        let fields: Vec<&str> = after.split(' ').collect();
        // Field 41, the scheduling policy: 5 is SCHED_IDLE; else field 19, nice, is 19.
        let (policy, nice) = (fields[38], fields[16]);
        assert!(policy == "5" || nice == "19", "{stat}");
        writers += 1;
    }
    assert!(writers >= 1, "no hotline-store thread found");
}

/// Frames go into a mapping of the active segment; a closed segment is cut to its frames, and
/// one left by a process that died (its allocated tail still zeros) reads back whole, without
/// damage, including frames that crossed from one mapped stretch into the next.
#[test]
fn a_mapped_segment_reads_back_whole_closed_or_left_by_a_crash() {
    let frame = |version: String| {
        let mut bytes = Vec::new();
        spool::Frame::rule_set(&mut bytes, &version, &[("a.yaml".into(), "x".repeat(1000))]);
        bytes
    };
    // Several mapped stretches (256 KiB each) of frames of ~1 KB.
    let n = 5_000;
    let dir = tempfile::tempdir().unwrap();
    let spool = spool::Spool::open(dir.path(), Gauge::default(), 0).unwrap();
    let mut total = 0;
    for i in 0..n {
        let f = frame(format!("v{i}"));
        total += f.len() as u64;
        spool.append(&f).unwrap();
    }
    assert!(total > 4 << 20);
    let closed = spool.rotate().unwrap();
    assert_eq!(closed.len(), 1);
    assert_eq!(std::fs::metadata(&closed[0].1).unwrap().len(), total);
    let (versions, bad) = read_back(&closed[0].1);
    assert_eq!((versions.len(), bad), (n, 0));
    assert_eq!(versions[n - 1], format!("v{}", n - 1));
    // The next segment's first stretch is sized from the one before: 1 MiB after 5 MB, 64 KiB
    // after 3 KB; its frames read back as well.
    let next = dir.path().join("seg-000000000001.bin");
    for i in 0..3 {
        spool.append(&frame(format!("w{i}"))).unwrap();
    }
    assert_eq!(std::fs::metadata(&next).unwrap().len(), 1 << 20);
    let closed = spool.rotate().unwrap();
    assert_eq!(closed.len(), 2);
    let (versions, bad) = read_back(&next);
    assert_eq!((versions.len(), bad), (3, 0));
    spool.append(&frame("s".into())).unwrap();
    let small = dir.path().join("seg-000000000002.bin");
    assert_eq!(std::fs::metadata(&small).unwrap().len(), 64 << 10);

    // A process that dies with its segment mapped: the file keeps its allocated length.
    let crashed = tempfile::tempdir().unwrap();
    {
        let spool = spool::Spool::open(crashed.path(), Gauge::default(), 0).unwrap();
        for i in 0..3 {
            spool.append(&frame(format!("c{i}"))).unwrap();
        }
        std::mem::forget(spool);
    }
    let path = crashed.path().join("seg-000000000000.bin");
    // A new spool's first stretch: 64 KiB, most of it zeros past the three frames.
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 64 << 10);
    assert_eq!(
        read_back(&path),
        (vec!["c0".into(), "c1".into(), "c2".into()], 0)
    );
}

/// A closed segment of rule-set frames read back as the writer reads it, a window at a time: the
/// versions of its frames in order, and how many damaged stretches were skipped.
fn read_back(path: &std::path::Path) -> (Vec<String>, usize) {
    let spool::Segment::Frames(mut windows) = spool::Segment::open(path).unwrap() else {
        panic!("{} is not a segment of frames", path.display());
    };
    let (mut versions, mut damaged) = (Vec::new(), 0);
    while let Some(frames) = windows.next_window().unwrap() {
        let (items, bad) = spool::decode_frames(frames);
        damaged += bad;
        for item in items {
            match item {
                spool::Item::RuleSet(a) => versions.push(a.version.to_owned()),
                spool::Item::Decision(_) => panic!("a decision among rule sets"),
            }
        }
    }
    (versions, damaged)
}

/// A rule-set frame of about `size` bytes named `version` (the smallest frame a test can make).
fn archive_frame(version: String, size: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    spool::Frame::rule_set(&mut bytes, &version, &[("a.yaml".into(), "x".repeat(size))]);
    bytes
}

fn versions(bytes: &[u8]) -> Vec<String> {
    let (items, bad) = spool::decode_frames(bytes);
    assert_eq!(bad, 0);
    items
        .into_iter()
        .filter_map(|i| match i {
            spool::Item::RuleSet(a) => Some(a.version.to_owned()),
            spool::Item::Decision(_) => None,
        })
        .collect()
}

/// The ring's file for a spool directory, or `None` (printed) where this machine has no tmpfs.
fn ring_place(spool_dir: &std::path::Path) -> Option<std::path::PathBuf> {
    std::fs::create_dir_all(spool_dir).unwrap();
    let place = ring::place(spool_dir).map(|(path, _owner)| path);
    if place.is_none() {
        println!("SKIPPED: /dev/shm is not a tmpfs here, so the spool has no ring");
    }
    place
}

#[test]
fn the_ring_takes_frames_first_and_the_next_process_replays_them() {
    let dir = tempfile::tempdir().unwrap();
    let spool_dir = dir.path().join("d.sqlite.spool");
    let Some(ring_file) = ring_place(&spool_dir) else {
        return;
    };
    let spool = spool::Spool::open(&spool_dir, Gauge::default(), 64 << 10).unwrap();
    let (r, frame) = decision_frame("000000000001beefbeefbeefbeef");
    spool.append(&frame).unwrap();
    // Nothing went to disk; the frame is in the ring, which outlives the process.
    let on_disk: u64 = std::fs::read_dir(&spool_dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert_eq!(on_disk, 0);
    drop(spool);
    assert!(ring_file.exists());

    let store = open(dir.path(), TextMode::Masked);
    let got = store
        .get(Lookup::DecisionId(r.decision_id.clone()))
        .unwrap();
    assert_eq!(
        got.map(|g| g.record.department_id),
        Some(r.department_id().to_owned())
    );
    assert!(!r.department_id().is_empty());
    assert_eq!(store.spool_bytes(), 0);
    // A store closed with its ring empty leaves nothing in /dev/shm.
    drop(store);
    assert!(!ring_file.exists());
}

#[test]
fn a_full_ring_sends_frames_to_disk_and_wraps_around_without_loss() {
    let dir = tempfile::tempdir().unwrap();
    if ring_place(dir.path()).is_none() {
        return;
    }
    let spool = spool::Spool::open(dir.path(), Gauge::default(), 4096).unwrap();
    let sent: Vec<String> = (0..40).map(|i| format!("v{i}")).collect();
    for v in &sent {
        spool.append(&archive_frame(v.clone(), 300)).unwrap();
    }
    let taken = spool.take_ring(Vec::new()).unwrap();
    let mut got = versions(&taken.bytes);
    assert!(
        (10..=13).contains(&got.len()),
        "{} frames in 4 KiB",
        got.len()
    );
    spool.release_ring(&taken);
    assert!(spool.take_ring(Vec::new()).is_none());
    for (_, path) in spool.rotate().unwrap() {
        got.extend(versions(&std::fs::read(path).unwrap()));
    }
    assert_eq!(got, sent);

    // Frames of odd sizes, taken a few at a time, cross the ring's end many times.
    let mut n = 0;
    for round in 0..50 {
        let batch: Vec<String> = (0..3).map(|k| format!("r{round}-{k}")).collect();
        for v in &batch {
            n += 1;
            spool
                .append(&archive_frame(v.clone(), 100 + n * 7 % 500))
                .unwrap();
        }
        let taken = spool.take_ring(Vec::new()).unwrap();
        assert_eq!(versions(&taken.bytes), batch, "round {round}");
        spool.release_ring(&taken);
    }
}

struct Down;

impl backend::Backend for Down {
    fn write(&mut self, _: &[spool::Item<'_>]) -> Result<(), String> {
        Err("connection refused".into())
    }
    fn get(&mut self, _: &Lookup) -> Result<Option<StoredDecision>, String> {
        Err("connection refused".into())
    }
    fn add_event(&mut self, _: &Event) -> Result<EventOutcome, String> {
        Err("connection refused".into())
    }
    fn between(&mut self, _: i64, _: i64) -> Result<Period, String> {
        Err("connection refused".into())
    }
    fn rule_files(&mut self, _: &str) -> Result<Option<Vec<(String, String)>>, String> {
        Err("connection refused".into())
    }
    fn purge(&mut self, _: i64) -> Result<usize, String> {
        Err("connection refused".into())
    }
    fn archived_versions(&mut self) -> Result<Vec<String>, String> {
        Err("connection refused".into())
    }
}

#[test]
fn when_the_database_is_down_the_ring_is_spilled_to_disk_and_replayed_later() {
    let dir = tempfile::tempdir().unwrap();
    let spool_dir = dir.path().join("d.sqlite.spool");
    let Some(ring_file) = ring_place(&spool_dir) else {
        return;
    };
    let stats = Arc::new(Stats::default());
    let spool =
        Arc::new(spool::Spool::open(&spool_dir, stats.spool_bytes.clone(), 64 << 10).unwrap());
    let sent: Vec<String> = (0..5).map(|i| format!("v{i}")).collect();
    for v in &sent {
        spool.append(&archive_frame(v.clone(), 200)).unwrap();
    }
    let backlog = stats.spool_bytes.get();
    assert!(backlog > 1000);
    let mut writer = writer::Writer {
        backend: Box::new(Down),
        spool: spool.clone(),
        stats: stats.clone(),
        retain_days: None,
        ring_buf: Vec::new(),
        failing: false,
    };
    let e = writer.empty_spool().unwrap_err();
    assert!(e.contains("connection refused"), "{e}");
    assert_eq!(stats.failures.get(), 1);
    // Logged when the failure starts, not again on every tick.
    assert_eq!(writer.say_when_failing_changes(&Err(e.clone())), Some(true));
    assert_eq!(writer.say_when_failing_changes(&Err(e.clone())), None);
    // The ring is empty, its frames are in a synced segment, and the backlog is the same.
    assert!(spool.take_ring(Vec::new()).is_none());
    assert_eq!(stats.spool_bytes.get(), backlog);
    // Until the database takes a write again, frames go to the segments on disk, not the ring:
    // one spill per outage.
    spool.append(&archive_frame("v5".into(), 200)).unwrap();
    assert!(spool.take_ring(Vec::new()).is_none());
    let on_disk = spool.rotate().unwrap();
    let names: Vec<String> = on_disk
        .iter()
        .map(|(_, p)| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["seg-000000000000.bin", "spill-000000000000.bin"]);
    assert_eq!(versions(&std::fs::read(&on_disk[1].1).unwrap()), sent);
    assert_eq!(versions(&std::fs::read(&on_disk[0].1).unwrap()), ["v5"]);
    // The database is back: the writer stores both files and the ring takes frames again.
    writer.backend = Box::new(sqlite::Sqlite::open(&dir.path().join("d.sqlite")).unwrap());
    let emptied = writer.empty_spool();
    assert_eq!(emptied, Ok(()));
    assert_eq!(
        writer.say_when_failing_changes(&emptied),
        Some(false),
        "the end is logged"
    );
    assert_eq!(stats.spool_bytes.get(), 0);
    spool.append(&archive_frame("v6".into(), 200)).unwrap();
    let taken = spool.take_ring(Vec::new()).unwrap();
    assert_eq!(versions(&taken.bytes), ["v6"]);
    drop(writer);
    drop(spool);
    assert!(ring_file.exists(), "a ring that holds a frame is kept");

    // v6 was left in the ring: the next process stores it with the rest.
    let store = open(dir.path(), TextMode::Masked);
    store.flush().unwrap();
    assert_eq!(store.spool_bytes(), 0);
    for v in ["v3", "v5", "v6"] {
        assert_eq!(
            store.rule_files(v).unwrap().map(|f| f.len()),
            Some(1),
            "{v}"
        );
    }
}

#[test]
fn rings_left_by_killed_routers_are_swept_when_empty_or_their_store_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    let deleted = tempfile::tempdir().unwrap();
    let at = |name: &str| dir.path().join(format!("hotline-router-0-{name}.ring"));
    let full_ring = |name: &str, owner: &std::path::Path| {
        let (ring, _) = ring::Ring::open(&at(name), 4096, owner).unwrap();
        assert!(ring.put(&archive_frame("v1".into(), 10)));
    };
    // Rings that hold a frame, their routers killed: kept for the router of a store that
    // exists, removed when the store was deleted (nothing could replay them).
    full_ring("full", store.path());
    full_ring("orphaned", deleted.path());
    drop(deleted);
    // A ring emptied by its writer, its router killed before it could remove the file (a
    // copy of an open, empty ring: the same bytes, nobody's lock).
    let (open, _) = ring::Ring::open(&at("open"), 4096, store.path()).unwrap();
    std::fs::copy(at("open"), at("emptied")).unwrap();
    // Another user's ring is not looked at.
    std::fs::copy(at("open"), dir.path().join("hotline-router-1000-x.ring")).unwrap();

    let (_new, damaged) = ring::Ring::open(&at("new"), 4096, store.path()).unwrap();
    assert!(!damaged);
    assert!(at("full").exists());
    assert!(!at("orphaned").exists());
    assert!(!at("emptied").exists());
    assert!(at("open").exists(), "a ring in use is never swept");
    assert!(dir.path().join("hotline-router-1000-x.ring").exists());
    // The kept ring reads back whole in the next process.
    let (full, damaged) = ring::Ring::open(&at("full"), 1 << 20, store.path()).unwrap();
    assert!(!damaged);
    assert_eq!(versions(&full.take(Vec::new()).unwrap().bytes), ["v1"]);
    drop(open);
}

#[test]
fn a_segment_stops_at_its_maximum_and_the_next_one_takes_over() {
    // A router saturated for a while, its writer idle: no segment grows past 8 MiB, so the
    // writer never reads more than that at once; every frame reads back, in order.
    let dir = tempfile::tempdir().unwrap();
    let spool = spool::Spool::open(dir.path(), Gauge::default(), 0).unwrap();
    let sent: Vec<String> = (0..20_000).map(|i| format!("v{i}")).collect();
    for v in &sent {
        spool.append(&archive_frame(v.clone(), 900)).unwrap();
    }
    let closed = spool.rotate().unwrap();
    assert_eq!(closed.len(), 3, "{closed:?}");
    let mut got = Vec::new();
    for (_, path) in &closed {
        assert!(std::fs::metadata(path).unwrap().len() <= 8 << 20);
        got.extend(versions(&std::fs::read(path).unwrap()));
    }
    assert_eq!(got, sent);
    // Segments started by Route calls are closed ones for the writer; the active one is not.
    spool.append(&archive_frame("last".into(), 900)).unwrap();
    let next = spool.rotate().unwrap();
    assert_eq!(next.len(), 4);
    assert_eq!(versions(&std::fs::read(&next[3].1).unwrap()), ["last"]);
}

/// A router restarted on rules its database already holds spools no copy of them: a version's
/// files go through the request path, the spool and the writer once per database, not once per
/// start (several megabytes each time with the bundled models).
#[test]
fn rules_already_archived_are_not_spooled_again() {
    let dir = tempfile::tempdir().unwrap();
    let first = open(dir.path(), TextMode::Masked);
    let r = decide(&first, "T-1", "公司三个月没发工资了");
    first
        .get(Lookup::DecisionId(r.decision_id))
        .unwrap()
        .unwrap();
    assert_eq!(
        first.stats().written.get(),
        2,
        "the decision and its rule set's archive"
    );
    drop(first);

    let second = open(dir.path(), TextMode::Masked);
    let again = decide(&second, "T-2", "公司三个月没发工资了");
    assert_eq!(again.rules_version, r.rules_version);
    second
        .get(Lookup::DecisionId(again.decision_id))
        .unwrap()
        .unwrap();
    assert_eq!(second.stats().written.get(), 1, "the decision alone");
    assert_eq!(
        second
            .rule_files(&again.rules_version)
            .unwrap()
            .map(|f| f.len()),
        Some(bundled().files().len())
    );
}

/// The writer reads a segment back a window at a time, each window whole frames: no window is
/// longer than `WINDOW` but for a single frame that is (a rule set's archive); damage is skipped
/// and counted once; the zeros a crash leaves at the end are the end.
#[test]
fn a_segment_is_read_back_in_windows_of_whole_frames() {
    let mut bytes = Vec::new();
    let mut expected = Vec::new();
    let mut put = |bytes: &mut Vec<u8>, version: String, size: usize| {
        bytes.extend_from_slice(&archive_frame(version.clone(), size));
        expected.push(version);
    };
    for i in 0..3_000 {
        put(&mut bytes, format!("v{i}"), 1_000 + i % 7);
    }
    put(&mut bytes, "big".into(), spool::WINDOW + 100_000);
    for i in 0..10 {
        put(&mut bytes, format!("w{i}"), 500);
    }
    bytes.extend_from_slice(&[0x5a; 100]);
    for i in 0..5 {
        put(&mut bytes, format!("z{i}"), 1_000);
    }
    bytes.extend_from_slice(&[0; 64 << 10]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seg-000000000000.bin");
    std::fs::write(&path, &bytes).unwrap();

    let spool::Segment::Frames(mut windows) = spool::Segment::open(&path).unwrap() else {
        panic!("not a segment of frames");
    };
    let (mut count, mut longest) = (0, 0);
    while let Some(frames) = windows.next_window().unwrap() {
        count += 1;
        let (items, _) = spool::decode_frames(frames);
        if frames.len() > spool::WINDOW {
            assert_eq!(items.len(), 1, "a long window holds one long frame");
        } else {
            longest = longest.max(frames.len());
        }
    }
    assert!(count >= 7, "{count} windows for {} bytes", bytes.len());
    assert!(longest > spool::WINDOW / 2);
    assert_eq!(read_back(&path), (expected, 1));
}

#[test]
fn another_programs_database_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.sqlite");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE invoices (id INTEGER, amount REAL);")
            .unwrap();
    }
    let config = StoreConfig::Sqlite(path.clone());
    let err = match Store::open(&config, TextMode::Masked, Some(30)) {
        Err(e) => e,
        Ok(_) => panic!("a foreign database was opened as a store"),
    };
    assert!(err.contains("not a hotline-router store"), "{err}");
    assert!(err.contains("invoices"), "{err}");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        (tables, mode.as_str()),
        (1, "delete"),
        "the file was changed"
    );
}

#[test]
fn a_return_that_names_no_department_leaves_the_final_department_unknown() {
    let mut d = StoredDecision {
        record: DecisionRecord {
            decision_id: "d".into(),
            request_id: String::new(),
            method: "cli".into(),
            channel: String::new(),
            client: String::new(),
            received_at_ms: 0,
            received_time_ms: None,
            text: None,
            text_mode: TextMode::None,
            place: String::new(),
            rules_version: String::new(),
            outcome: "OUTCOME_DISPATCH".into(),
            department_id: "hrss".into(),
            unit: String::new(),
            rule_id: String::new(),
            category: Vec::new(),
            articles: Vec::new(),
            confidence: 1.0,
            request_type: String::new(),
            working_days: 0,
            due_date: String::new(),
            handoff_line: String::new(),
            reason: String::new(),
            decided_by: String::new(),
        },
        events: Vec::new(),
    };
    assert_eq!(d.final_department(), "hrss");
    d.events.push(Event {
        event_id: "r".into(),
        decision_id: "d".into(),
        kind: EventKind::Returned,
        at_ms: 1,
        department_id: String::new(),
        reason: "不归我管".into(),
        satisfaction: None,
        due_date: String::new(),
        operator: String::new(),
    });
    // GetDecision's final_department_id: unknown, not hrss, which refused the order.
    assert_eq!(d.final_department(), "");
}

#[test]
fn the_writer_says_how_much_an_earlier_process_left_in_the_spool() {
    let dir = tempfile::tempdir().unwrap();
    let spool_dir = dir.path().join("d.sqlite.spool");
    // A killed router's answered decisions, only in its spool (on disk: the ring is optional).
    let earlier = spool::Spool::open(&spool_dir, Gauge::default(), 0).unwrap();
    for i in 0..3 {
        let (_, frame) = decision_frame(&format!("00000000000{i}cafecafecafecafe"));
        earlier.append(&frame).unwrap();
    }
    drop(earlier);
    let stats = Arc::new(Stats::default());
    let spool = Arc::new(spool::Spool::open(&spool_dir, stats.spool_bytes.clone(), 0).unwrap());
    let mut writer = writer::Writer {
        backend: Box::new(sqlite::Sqlite::open(&dir.path().join("d.sqlite")).unwrap()),
        spool,
        stats: stats.clone(),
        retain_days: None,
        ring_buf: Vec::new(),
        failing: false,
    };
    assert_eq!(writer.store_what_was_left(), Some(3));
    assert_eq!(stats.spool_bytes.get(), 0);
    // Nothing left: nothing to say.
    assert_eq!(writer.store_what_was_left(), None);
}

#[test]
fn a_rule_set_whose_archive_could_not_be_appended_is_archived_by_a_later_decision() {
    use std::sync::atomic::Ordering;
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), TextMode::Masked);
    let version = bundled().version().to_owned();
    // A full disk: neither the archive frame nor the decision is appended, and both are counted.
    store.spool.fail_appends.store(true, Ordering::Relaxed);
    decide(&store, "r1", "小区电梯坏了三个月");
    assert_eq!(store.stats().failures.get(), 2);
    // The disk has room again. The next decision, within ARCHIVE_RETRY of the failure, is
    // recorded without another try at the archive (no copy of the rule files on each call).
    store.spool.fail_appends.store(false, Ordering::Relaxed);
    decide(&store, "r2", "小区电梯坏了三个月");
    store.flush().unwrap();
    assert_eq!(store.rule_files(&version).unwrap(), None);
    assert_eq!(store.stats().failures.get(), 2);
    // A decision after it archives the version, so that both can be explained exactly.
    std::thread::sleep(ARCHIVE_RETRY + std::time::Duration::from_millis(50));
    decide(&store, "r3", "小区电梯坏了三个月");
    store.flush().unwrap();
    let files = store.rule_files(&version).unwrap().expect("archived");
    assert_eq!(files.len(), bundled().files().len());
    assert!(store.get(Lookup::RequestId("r2".into())).unwrap().is_some());
}

#[test]
fn only_a_department_that_had_the_order_accepts_or_returns_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), TextMode::Masked);
    let handoff = decide(&store, "T-H", "快来人，隔壁厨房着火了，烟很大");
    assert_eq!(handoff.outcome(), pb::Outcome::Handoff);
    let manual = decide(&store, "T-M", "工地上的塔吊歪了，下面好多工人");
    assert_eq!(manual.outcome(), pb::Outcome::Manual);
    let record = |e: Event| {
        let key = Lookup::DecisionId(e.decision_id.clone());
        events::record(&store, e, key, "", TextMode::Masked).unwrap()
    };
    let later = |d: &pb::RouteResponse| {
        let got = store.get(Lookup::DecisionId(d.decision_id.clone()));
        got.unwrap().unwrap().record.received_at_ms + 1000
    };
    // Nobody had these orders: nobody can accept or return them.
    for (d, kind) in [
        (&handoff, EventKind::Accepted),
        (&handoff, EventKind::Returned),
        (&manual, EventKind::Returned),
    ] {
        let mut e = event(
            &format!("{}-{kind:?}", d.decision_id),
            &d.decision_id,
            kind,
            later(d),
        );
        e.department_id = "housing".into();
        let refused = record(e);
        assert!(
            matches!(refused, EventOutcome::NotDispatched { .. }),
            "{refused:?}"
        );
        let message = events::refusal(&refused).unwrap();
        assert!(message.contains("REASSIGNED"), "{message}");
    }
    // An operator judges the hand-off a housing matter and sends it there; housing then
    // accepts it. The labelled export and the report name the same department.
    let mut sent = event(
        "sent",
        &handoff.decision_id,
        EventKind::Reassigned,
        later(&handoff),
    );
    sent.department_id = "housing".into();
    assert!(matches!(record(sent), EventOutcome::Recorded { .. }));
    let accepted = event(
        "acc",
        &handoff.decision_id,
        EventKind::Accepted,
        later(&handoff) + 1,
    );
    assert!(matches!(record(accepted), EventOutcome::Recorded { .. }));
    let got = store
        .get(Lookup::DecisionId(handoff.decision_id.clone()))
        .unwrap()
        .unwrap();
    assert_eq!(got.known_final_department(), Some("housing"));
    let report = report_of_everything(&store, "2026-12-03");
    assert_eq!(report.outcomes.handoffs_sent_on, 1);
    let housing = report
        .departments
        .iter()
        .find(|d| d.department_id == "housing")
        .expect("housing in the report");
    assert_eq!((housing.orders, housing.from_manual), (0, 1));
    assert!(render::text(&report).contains("1 hand-offs, 0 out of scope"));
    // The manual decision was never sent on: still unchosen.
    assert_eq!(report.manual.unchosen, 1);
}

#[test]
fn a_store_path_through_a_file_says_which_file_is_in_the_way() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notadir"), "").unwrap();
    let config = StoreConfig::Sqlite(dir.path().join("notadir/d.sqlite"));
    let err = match Store::open(&config, TextMode::Masked, Some(30)) {
        Err(e) => e,
        Ok(_) => panic!("a store was opened under a file"),
    };
    assert!(err.contains("notadir is a file, not a directory"), "{err}");
}
