//! Jurisdiction, handling unit, request type and time limits (issue #7), on the bundled rules.

use hotline_router::situate::calendar::Date;
mod common;

use common::{bundled, rules_dir_with};
use hotline_router::RouteInput;
use hotline_router::load_dir;
use hotline_router::proto::v1 as pb;

fn route(text: &str, place: &str, received: Option<&str>) -> pb::RouteResponse {
    bundled().route(&RouteInput {
        text,
        place,
        received: received.map(|d| Date::parse(d).unwrap()),
        ..Default::default()
    })
}

#[test]
fn gaoxin_property_fee_question_goes_to_the_gaoxin_unit_as_a_consultation_with_its_deadline() {
    let r = route("高新区的房子没过户，物业费谁交", "", Some("2026-11-27"));
    assert_eq!(r.department.as_ref().unwrap().id, "housing");
    let j = r.jurisdiction.as_ref().unwrap();
    assert_eq!((j.place_id.as_str(), j.source.as_str()), ("gaoxin", "text"));
    let e = j.evidence.as_ref().unwrap();
    assert_eq!((e.text.as_str(), e.start, e.end), ("高新区", 0, 3));
    let u = r.unit.as_ref().unwrap();
    assert_eq!(
        (u.name.as_str(), u.department_id.as_str(), u.level.as_str()),
        ("高新区建设局", "housing", "district")
    );
    assert_eq!(r.request_type, pb::RequestType::Consultation as i32);
    assert_eq!(r.request_type_evidence[0].text, "谁交");
    let tl = r.time_limit.as_ref().unwrap();
    // Friday 27 Nov 2026 + 5 working days: Mon 30 Nov to Fri 4 Dec (潍坊 条例 第二十条).
    assert_eq!(
        (
            tl.working_days,
            tl.received_date.as_str(),
            tl.due_date.as_str()
        ),
        (5, "2026-11-27", "2026-12-04")
    );
    assert!(
        tl.basis.contains("潍坊市12345政务服务便民热线条例"),
        "{}",
        tl.basis
    );
}

#[test]
fn a_complaint_received_before_the_spring_festival_skips_it_and_counts_the_adjusted_days() {
    // Friday 13 Feb 2026; 15–23 Feb off; Saturdays 14 and 28 Feb are working days.
    let r = route(
        "我要投诉，小区门口的垃圾站好几天没人清理了，臭气熏天",
        "",
        Some("2026-02-13"),
    );
    assert_eq!(r.department.as_ref().unwrap().id, "urban-management");
    assert_eq!(r.request_type, pb::RequestType::Complaint as i32);
    let tl = r.time_limit.as_ref().unwrap();
    // 14 Feb (1, a worked Saturday), then 24–27 Feb (2–5).
    assert_eq!((tl.working_days, tl.due_date.as_str()), (5, "2026-02-27"));

    // A consumer complaint: the law's own 7 working days (消费者权益保护法 第四十六条).
    let r = route(
        "我要投诉，在商场买的冰箱用了一周就坏了，商家不给退也不给换",
        "",
        Some("2026-02-13"),
    );
    assert_eq!(r.rule_id, "consumer-dispute");
    let tl = r.time_limit.as_ref().unwrap();
    assert_eq!((tl.working_days, tl.due_date.as_str()), (7, "2026-03-02"));
    assert!(
        tl.basis.contains("消费者权益保护法") && tl.basis.contains("第四十六条"),
        "{}",
        tl.basis
    );
    assert_eq!(tl.regulations[0].article, "第四十六条");
}

#[test]
fn a_due_date_outside_the_calendar_is_an_explicit_error() {
    let r = route(
        "我要投诉，小区门口的垃圾站好几天没人清理了，臭气熏天",
        "",
        Some("2026-12-28"),
    );
    let tl = r.time_limit.as_ref().unwrap();
    assert!(tl.due_date.is_empty());
    assert!(
        tl.due_date_error.contains("工作日历没有 2027 年"),
        "{}",
        tl.due_date_error
    );
    // Without a received date: the limit, no date, no error.
    let r = route(
        "我要投诉，小区门口的垃圾站好几天没人清理了，臭气熏天",
        "",
        None,
    );
    let tl = r.time_limit.as_ref().unwrap();
    assert_eq!(
        (
            tl.working_days,
            tl.due_date.as_str(),
            tl.due_date_error.as_str()
        ),
        (5, "", "")
    );
}

#[test]
fn the_requests_district_field_wins_and_the_city_is_the_default() {
    let r = route("房子没过户，物业费谁交", "奎文区", None);
    let j = r.jurisdiction.as_ref().unwrap();
    assert_eq!(
        (j.place_id.as_str(), j.source.as_str()),
        ("kuiwen", "request")
    );
    assert_eq!(r.unit.as_ref().unwrap().name, "奎文区住房和城乡建设局");
    let r = route("房子没过户，物业费谁交", "", None);
    let j = r.jurisdiction.as_ref().unwrap();
    assert_eq!((j.kind.as_str(), j.source.as_str()), ("city", "default"));
    let u = r.unit.as_ref().unwrap();
    assert_eq!(
        (u.name.as_str(), u.level.as_str()),
        ("住房和城乡建设局", "city")
    );
    // A department without a unit in that district: the city department.
    let r = route("高新区，公司三个月没发工资了，老板跑了", "", None);
    assert_eq!(r.unit.as_ref().unwrap().level, "city");
    // A place the rules do not know is not used, and is named with the closest known name;
    // the text's place, if any, decides instead.
    let r = route("房子没过户，物业费谁交", "奎文", None);
    let j = r.jurisdiction.as_ref().unwrap();
    assert_eq!(
        (
            j.source.as_str(),
            j.unknown_place.as_str(),
            j.did_you_mean.as_str()
        ),
        ("default", "奎文", "奎文区")
    );
    assert_eq!(r.unit.as_ref().unwrap().level, "city");
    let r = route("高新区的房子没过户，物业费谁交", "Mars", None);
    let j = r.jurisdiction.as_ref().unwrap();
    assert_eq!(
        (
            j.place_id.as_str(),
            j.source.as_str(),
            j.unknown_place.as_str(),
            j.did_you_mean.as_str()
        ),
        ("gaoxin", "text", "Mars", "")
    );
    // An address is named, but not compared with every place name.
    let r = route(
        "房子没过户，物业费谁交",
        "高新区创业大道一千二百三十四号附近小区",
        None,
    );
    let j = r.jurisdiction.as_ref().unwrap();
    assert_eq!(
        (j.unknown_place.as_str(), j.did_you_mean.as_str()),
        ("高新区创业大道一千二百三十四号附近小区", "")
    );
    // A known place leaves both empty.
    let r = route("房子没过户，物业费谁交", "奎文区", None);
    let j = r.jurisdiction.as_ref().unwrap();
    assert!(j.unknown_place.is_empty() && j.did_you_mean.is_empty());
    // A street resolves to its district's unit…
    let r = route("新城街道这边的房子没过户，物业费谁交", "", None);
    assert_eq!(r.unit.as_ref().unwrap().name, "高新区建设局");
}

#[test]
fn community_matters_in_a_street_go_to_the_street_office() {
    let r = route(
        "东关街道我们小区想成立业主委员会，社区一直拖着不组织，该找谁",
        "",
        None,
    );
    assert_eq!(r.rule_id, "owners-committee");
    let u = r.unit.as_ref().unwrap();
    assert_eq!(
        (u.name.as_str(), u.level.as_str(), u.department_id.as_str()),
        ("东关街道办事处", "street", "housing")
    );
}

#[test]
fn reports_and_complaints_stay_distinct() {
    let report = route("我要举报，这家饭店后厨卫生条件差，还有苍蝇", "", None);
    assert_eq!(report.request_type, pb::RequestType::Report as i32);
    let complaint = route("我要投诉，这家饭店后厨卫生条件差，还有苍蝇", "", None);
    assert_eq!(complaint.request_type, pb::RequestType::Complaint as i32);
    // Both cues: a report of a violation takes precedence.
    let both = route("投诉并举报这家饭店后厨卫生条件差", "", None);
    assert_eq!(both.request_type, pb::RequestType::Report as i32);
    // No cue: the default (求助).
    let none = route("小区门口的垃圾站好几天没人清理了", "", None);
    assert_eq!(none.request_type, pb::RequestType::Help as i32);
    assert!(none.request_type_evidence.is_empty());
}

#[test]
fn new_files_are_validated_with_locations() {
    let dir = rules_dir_with(&[
        "departments.yaml",
        "regulations.yaml",
        "categories.yaml",
        "settings.yaml",
    ]);
    std::fs::write(
        dir.path().join("places.yaml"),
        "places:\n  - {id: a, name: 甲区, kind: district, aliases: [甲地]}\n  - {id: b, name: 乙区, kind: distrct, aliases: [甲地]}\n  - {id: s, name: 丙街道, kind: street, parent: zz}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("calendar.yaml"),
        "calendar:\n  - year: 2026\n    holidays: [2026-02-30, 2025-01-01, 2026-05-01]\n    workdays: [2026-05-01]\n",
    )
    .unwrap();
    let err = match load_dir(dir.path()) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("loaded"),
    };
    for needle in [
        "places.yaml:3:29: error[E0206]: unknown place kind \"distrct\"",
        "did you mean \"district\"",
        "\"甲地\" names both \"a\" and \"b\"",
        "unknown place \"zz\" (the parent of \"s\")",
        "calendar.yaml:3:16: error[E0601]: \"2026-02-30\" is not a date",
        "holiday 2025-01-01 is not in the year 2026",
        "2026-05-01 is listed both as a holiday and as a working day",
        "unknown place \"gaoxin\" in a unit of department \"housing\"",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in\n{err}");
    }
}

#[test]
fn a_text_repeating_cue_words_shows_a_bounded_number_of_them() {
    let text = "投诉举报咨询".repeat(3_000);
    let r = route(&text, "", None);
    assert!(!r.request_type_evidence.is_empty());
    assert!(
        r.request_type_evidence.len() <= 16,
        "{} cues shown",
        r.request_type_evidence.len()
    );
}
