//! The engine as a rule author and an integrator see it: the bundled rules load, the reference
//! case routes with its article, broken rules report every error with its place, and any input
//! gets a deterministic decision whose evidence points into the original text.

use hotline_router::RouteInput;
use std::path::Path;

mod common;

use common::{bundled, rules_dir_with};
use hotline_router::proto::v1 as pb;
use hotline_router::{RuleSet, load_dir};
use proptest::prelude::*;

const REFERENCE: &str =
    "我在高新区买的房子还没过户，物业公司催我交物业费，未过户的房产物业费应该由谁交？";

#[test]
fn reference_case_goes_to_housing_citing_article_41() {
    let r = bundled().route(&RouteInput::text(REFERENCE));
    assert_eq!(r.outcome, pb::Outcome::Dispatch as i32, "{}", r.reason);
    assert_eq!(
        r.department.as_ref().map(|d| d.id.as_str()),
        Some("housing")
    );
    let art = r
        .regulations
        .iter()
        .find(|g| g.title == "物业管理条例" && g.article == "第四十一条")
        .expect("cites 物业管理条例 第四十一条");
    assert!(
        art.text
            .contains("已竣工但尚未出售或者尚未交给物业买受人的物业，物业服务费用由建设单位交纳")
    );
    assert_eq!(r.rules_version, bundled().version());
    assert!(!r.evidence.is_empty());
}

/// The profiling helper behind `examples/route_mix.rs` times every stage of every call, and runs
/// the caller's work between calls (once each), so that its figures are those of the calls asked
/// for.
#[test]
fn stage_timings_between_runs_the_work_between_every_call() {
    let mut between = 0;
    let timings = hotline_router::stage_timings_between(
        bundled(),
        &[REFERENCE, "楼下广场舞音响开得特别大"],
        10,
        || between += 1,
    );
    assert_eq!(between, 10);
    // The stages of the request path, named as the one-text helper names them.
    let names = |t: &[(&'static str, f64)]| t.iter().map(|(name, _)| *name).collect::<Vec<_>>();
    let one = hotline_router::stage_timings(bundled(), REFERENCE, 1);
    assert_eq!(names(&timings), names(&one));
    assert_eq!(names(&timings).first(), Some(&"normalize"));
    assert_eq!(names(&timings).last(), Some(&"situate"));
    assert!(timings.iter().all(|(_, ns)| ns.is_finite() && *ns >= 0.0));
    assert!(timings.iter().map(|(_, ns)| ns).sum::<f64>() > 0.0);
    // No texts: nothing is routed and nothing is run between.
    let mut between = 0;
    let none = hotline_router::stage_timings_between(bundled(), &[], 10, || between += 1);
    assert_eq!(between, 0);
    assert!(none.iter().all(|(_, ns)| *ns == 0.0));
}

#[test]
fn golden_decisions_on_realistic_requests() {
    let cases = [
        (
            "公司已经四个月没发工资了，老板天天躲着不见人，我们该找哪个部门",
            pb::Outcome::Dispatch,
            Some("hrss"),
        ),
        (
            "楼下饭店的油烟每天直排到我家阳台，窗户都不敢开",
            pb::Outcome::Dispatch,
            Some("urban-management"),
        ),
        (
            "在外地住院医保报销不了，说是没有做异地就医备案",
            pb::Outcome::Dispatch,
            Some("healthcare-security"),
        ),
        (
            "离职以后住房公积金怎么提取出来",
            pb::Outcome::Dispatch,
            Some("housing-fund"),
        ),
        ("快来人，隔壁厨房着火了，烟很大", pb::Outcome::Handoff, None),
        (
            "法院判决书下来一年了对方还不还钱，执行庭也不管",
            pb::Outcome::OutOfScope,
            None,
        ),
        ("今天天气怎么样", pb::Outcome::Manual, None),
    ];
    for (text, outcome, dept) in cases {
        let r = bundled().route(&RouteInput::text(text));
        assert_eq!(r.outcome, outcome as i32, "{text}: {}", r.reason);
        assert_eq!(r.department.as_ref().map(|d| d.id.as_str()), dept, "{text}");
    }
    let fire = bundled().route(&RouteInput::text("快来人，隔壁厨房着火了，烟很大"));
    // A hand-off is filed under the taxonomy's category too.
    assert_eq!(fire.category, ["政法", "社会治安", "消防安全"]);
    assert_eq!(fire.handoff.map(|h| h.line), Some("119".to_owned()));
}

#[test]
fn manual_lists_candidates_instead_of_guessing() {
    // No rule reaches the threshold: manual, with the reason.
    let r = bundled().route(&RouteInput::text("我想反映一个问题"));
    assert_eq!(r.outcome, pb::Outcome::Manual as i32);
    assert!(r.department.is_none());
    assert!(!r.reason.is_empty());
}

#[test]
fn every_bundled_example_passes() {
    let report = bundled().run_examples();
    assert_eq!(report.failed(), 0);
    assert!(report.passed() > 200, "only {} examples", report.passed());
}

/// The rendered load error of the core rules plus `file` holding `yaml`, which must not load.
fn load_errors_of(file: &str, yaml: &str) -> String {
    let dir = rules_with("");
    std::fs::write(dir.path().join(file), yaml).unwrap();
    load_errors(dir.path())
}

/// The rendered load error of a rule directory that must not load.
fn load_errors(dir: &Path) -> String {
    match load_dir(dir) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("broken rules loaded"),
    }
}

#[test]
fn broken_rules_report_every_error_with_its_place() {
    let dir = rules_with("");
    std::fs::write(
        dir.path().join("broken.yaml"),
        "rules:\n  - id: bad-one\n    topic: t\n    category: 城乡建设/住房保障与房地产/物业服务\n    department: housng\n    regulations: [物业条例/第四十一条]\n    conditions: {all: [[物业费]], patterns: ['(unclosed']}\n    examples: [物业费]\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("syntax.yaml"), "rules: [\n  - id: x\n").unwrap();
    let text = load_errors(dir.path());
    assert!(text.contains("syntax.yaml:"), "{text}");
    // A file that does not parse does not hide the other files' errors: syntax.yaml has no
    // `departments` or `regulations` section, so the references are checked without it.
    let every_error = |text: &str| {
        assert!(
            text.contains("broken.yaml:5:17: error[E0201]: unknown department \"housng\""),
            "{text}"
        );
        assert!(text.contains("did you mean \"housing\""), "{text}");
        assert!(
            text.contains(
                "broken.yaml:6:19: error[E0202]: unknown regulation \"物业条例/第四十一条\""
            ),
            "{text}"
        );
        assert!(text.contains("invalid pattern \"(unclosed\""), "{text}");
    };
    every_error(&text);
    std::fs::remove_file(dir.path().join("syntax.yaml")).unwrap();
    every_error(&load_errors(dir.path()));
}

#[test]
fn a_file_that_does_not_parse_holds_back_only_what_it_may_define() {
    let dir = rules_with("");
    std::fs::write(
        dir.path().join("broken.yaml"),
        "rules:\n  - id: bad-one\n    topic: t\n    category: 城乡建设/住房保障与房地产/物业服务\n    department: housng\n    regulations: [物业管理条例/第四十一条]\n    conditions: {all: [[物业费, 涨了，调价]]}\n    examples: [物业费]\n",
    )
    .unwrap();
    // A departments section that does not parse: "housng" may be defined in it.
    std::fs::write(
        dir.path().join("more-departments.yaml"),
        "departments:\n  - id: housng\n    name: [住建\n",
    )
    .unwrap();
    let text = load_errors(dir.path());
    assert!(text.contains("more-departments.yaml:"), "{text}");
    assert!(
        text.contains("broken.yaml:7:30: error[E0405]: term \"涨了，调价\" contains \"，\""),
        "{text}"
    );
    assert!(!text.contains("E0201"), "{text}");
    // Examples wait for a rule set that reads whole.
    assert!(!text.contains("E0701"), "{text}");
    assert!(text.starts_with("rule set not loaded: 2 errors"), "{text}");
}

#[test]
fn a_full_width_comma_between_terms_is_an_error_that_shows_the_list_meant() {
    let text = load_errors_of(
        "comma.yaml",
        "rules:\n  - id: fee-rise\n    topic: t\n    category: 城乡建设/住房保障与房地产/物业服务\n    department: housing\n    regulations: [物业管理条例/第四十一条]\n    conditions:\n      all:\n        - [物业费, 物业公司]\n        - [涨价, 涨了，调价, 上调、提高]\n    examples: [物业费又涨价了, 物业公司把物业费上调了]\n",
    );
    assert!(
        text.contains("comma.yaml:10:16: error[E0405]: term \"涨了，调价\" contains \"，\""),
        "{text}"
    );
    assert!(text.contains("[涨了, 调价]"), "{text}");
    assert!(
        text.contains("term \"上调、提高\" contains \"、\""),
        "{text}"
    );
}

#[test]
fn an_article_missing_from_the_catalogue_is_never_answered_with_its_neighbour() {
    let text = load_errors_of(
        "cite.yaml",
        "rules:\n  - id: common-revenue\n    topic: t\n    category: 城乡建设/住房保障与房地产/物业服务\n    department: housing\n    regulations: [民法典/第二百八十二条, 物业管理条例/第41条, 《物业管理条例》第五条, 物业管里条例/第四十一条]\n    conditions: {all: [[公共收益]]}\n    examples: [小区公共收益去哪了, 电梯广告的公共收益谁拿了]\n",
    );
    let line = |id: &str| {
        text.lines()
            .find(|l| l.contains(&format!("unknown regulation \"{id}\"")))
            .unwrap_or_else(|| panic!("no error for {id}: {text}"))
            .to_owned()
    };
    // Article 282 is not catalogued; 286, one character away, is another rule of law.
    let missing = line("民法典/第二百八十二条");
    assert!(!missing.contains("did you mean"), "{missing}");
    assert!(
        missing.contains("《民法典》 is in the catalogue, its 第二百八十二条 is not")
            && missing.contains("add the article to regulations.yaml"),
        "{missing}"
    );
    // Spelling slips get the id they spell.
    assert!(
        line("物业管理条例/第41条").contains("did you mean \"物业管理条例/第四十一条\"?"),
        "{text}"
    );
    assert!(
        line("《物业管理条例》第五条").contains("did you mean \"物业管理条例/第五条\"?"),
        "{text}"
    );
    assert!(
        line("物业管里条例/第四十一条").contains("did you mean \"物业管理条例/第四十一条\"?"),
        "{text}"
    );
}

#[test]
fn input_method_slips_are_named_at_their_place() {
    let rule = |department_line: &str, priority: &str| {
        format!(
            "rules:\n  - id: fee\n    topic: t\n    category: 城乡建设/住房保障与房地产/物业服务\n{department_line}\n    regulations: [物业管理条例/第四十一条]\n    priority: {priority}\n    conditions: {{all: [[物业费]]}}\n    examples: [物业费谁交, 物业费该谁出]\n"
        )
    };
    let cases = [
        (
            rule("    department：housing", "0"),
            "slip.yaml:5:15: error[E0106]: \"department：\" has a full-width colon",
        ),
        (
            rule("\u{3000}\u{3000}department: housing", "0"),
            "slip.yaml:5:1: error[E0106]: a full-width space \"　\" in the indentation",
        ),
        (
            rule("    department: housing", "高"),
            "slip.yaml:7:15: error[E0112]: `priority` must be a whole number (such as -1, 0 or 1), not \"高\"",
        ),
    ];
    for (yaml, expected) in cases {
        let text = load_errors_of("slip.yaml", &yaml);
        assert!(text.contains(expected), "{expected}\n{text}");
    }
}

#[test]
fn unknown_field_is_an_error_with_location() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.yaml"),
        "settings:\n  threshold: 1.0\n  margin: 0.1\n  margn: 0.2\n",
    )
    .unwrap();
    let text = load_errors(dir.path());
    assert!(text.contains("a.yaml:4:"), "{text}");
    assert!(text.contains("margn"), "{text}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_unicode_routes_deterministically_with_char_offsets(text in "\\PC{0,200}|[\\u{0}-\\u{2FFFF}]{0,80}") {
        let a = bundled().route(&RouteInput::text(&text));
        let b = bundled().route(&RouteInput::text(&text));
        prop_assert_eq!(&a, &b);
        let chars = text.chars().count() as u32;
        for e in a.evidence.iter().chain(a.alternatives.iter().flat_map(|x| x.evidence.iter())) {
            prop_assert!(e.start <= e.end && e.end <= chars);
            let slice: String = text.chars().skip(e.start as usize).take((e.end - e.start) as usize).collect();
            prop_assert_eq!(&slice, &e.text);
        }
    }

    #[test]
    fn noise_around_a_request_keeps_offsets_exact(prefix in "[ \\t\\u{200b}Ａ-Ｚ😀]{0,10}") {
        let text = format!("{prefix}{REFERENCE}");
        let r = bundled().route(&RouteInput::text(&text));
        prop_assert_eq!(r.department.as_ref().map(|d| d.id.as_str()), Some("housing"));
        for e in &r.evidence {
            let slice: String = text.chars().skip(e.start as usize).take((e.end - e.start) as usize).collect();
            prop_assert_eq!(slice, e.text.clone());
        }
    }
}

#[test]
fn committed_schema_matches_the_rule_types() {
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/rules/schema.json")).unwrap();
    assert_eq!(
        committed,
        hotline_router::ruleset::json_schema_text(),
        "rules/schema.json is stale: run `cargo run -- schema > rules/schema.json`"
    );
}

#[test]
fn every_rule_file_references_the_schema() {
    let root = common::bundled_dir();
    let files = common::yaml_files(&root);
    for p in &files {
        let text = std::fs::read_to_string(p).unwrap();
        let first = text.lines().next().unwrap_or("");
        let depth = p.strip_prefix(&root).unwrap().components().count() - 1;
        let prefix = if depth == 0 {
            "./".to_owned()
        } else {
            "../".repeat(depth)
        };
        let expected = format!("# yaml-language-server: $schema={prefix}schema.json");
        assert_eq!(first, expected, "{}", p.display());
    }
    assert!(files.len() >= 10);
}

#[test]
fn bundled_rules_are_grounded_and_exemplified() {
    let set = bundled();
    assert!(set.warnings().is_empty(), "{:?}", set.warnings());
    for r in set.rules() {
        assert!(
            r.examples.len() >= 2,
            "rule {} has {} examples",
            r.id,
            r.examples.len()
        );
        if r.department().is_some() {
            assert!(!r.regulations.is_empty(), "rule {} cites nothing", r.id);
        }
    }
}

/// A rules directory with the bundled catalogue and settings plus `extra` as one more rule file.
fn rules_with(extra: &str) -> tempfile::TempDir {
    let dir = rules_dir_with(common::CORE_FILES);
    // An empty rule file is an error of its own (E0109): no file when there is nothing to add.
    if !extra.trim().is_empty() {
        std::fs::write(dir.path().join("extra.yaml"), extra).unwrap();
    }
    dir
}

/// A settings file's text without the line that sets `key` (which it must set).
fn without_setting(text: &str, key: &str) -> String {
    let prefix = format!("{key}:");
    let kept: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with(&prefix))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(kept, text, "the settings set {key}");
    kept
}

/// `text` with `from` replaced by `to` (which must occur).
fn replaced(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "no {from:?} to replace");
    text.replace(from, to)
}

/// `rules_with(extra)`, loaded (the directory is returned too: it must outlive the set's use).
fn set_with(extra: &str) -> (tempfile::TempDir, RuleSet) {
    let dir = rules_with(extra);
    let set = load_dir(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    (dir, set)
}

#[test]
fn priority_is_a_tier_the_margin_applies_within_it_and_support_settles_close_calls() {
    let rules = r#"
rules:
  - id: specific
    topic: 具体
    category: 城乡建设/住房保障与房地产/物业服务
    department: housing
    regulations: [物业管理条例/第四十一条]
    conditions: {all: [[物业费]]}
    examples: [物业费谁交, 物业费怎么算]
  - id: fallback
    topic: 兜底
    category: 劳动和社会保障/其他/其他
    department: hrss
    regulations: [劳动法/第九条]
    priority: -1
    weight: 5
    conditions: {any: [工资, 物业费, 单位]}
    examples: [单位工资的事, 工资和单位]
  - id: rival-a
    topic: 甲
    category: 城乡建设/住房保障与房地产/物业服务
    department: housing
    regulations: [物业管理条例/第四十一条]
    conditions: {all: [[甲乙]]}
    examples: [甲乙的事情, 又是甲乙]
  - id: rival-b
    topic: 乙
    category: 劳动和社会保障/其他/其他
    department: hrss
    regulations: [劳动法/第九条]
    conditions: {all: [[丙丁]]}
    examples: [丙丁的事情]
"#;
    let (_dir, set) = set_with(rules);
    // The fallback scores 5 × 1.0 on 物业费 + 单位 + 工资, the specific rule 1.0: the tier decides.
    let r = set.route(&RouteInput::text("单位工资里扣了物业费"));
    assert_eq!(r.rule_id, "specific", "{}", r.reason);
    assert!(r.alternatives.iter().any(|a| a.rule_id == "fallback"));
    // Two specific rules of different departments with equal scores: manual, both listed.
    let r = set.route(&RouteInput::text("甲乙丙丁"));
    assert_eq!(r.outcome, pb::Outcome::Manual as i32, "{}", r.reason);
    assert_eq!(r.alternatives.len(), 2);
    // The same close call, but the text also speaks of wages: every hrss rule that matched adds
    // to hrss's support, so the close call is settled for hrss, and the reason says how.
    let r = set.route(&RouteInput::text("甲乙丙丁，工资"));
    assert_eq!(r.outcome, pb::Outcome::Dispatch as i32, "{}", r.reason);
    assert_eq!(r.rule_id, "rival-b", "{}", r.reason);
    assert!(r.reason.contains("「甲」得分接近"), "{}", r.reason);
    assert!(r.reason.contains("合计得分"), "{}", r.reason);
    // Settled, but less sure than the same request without the rival.
    let clear = set.route(&RouteInput::text("丙丁，工资"));
    assert!(
        r.confidence > 0.0 && r.confidence < clear.confidence,
        "{} {}",
        r.confidence,
        clear.confidence
    );
    assert!(r.alternatives.iter().any(|a| a.rule_id == "rival-a"));
}

#[test]
fn a_department_with_far_more_evidence_takes_a_request_from_a_rule_that_fired_on_a_detail() {
    let rules = r#"
rules:
  - id: pension
    topic: 退休待遇
    category: 劳动和社会保障/其他/其他
    department: hrss
    regulations: [劳动法/第九条]
    conditions: {all: [[退休]]}
    examples: [退休手续怎么办]
  - id: card
    topic: 社保卡
    category: 劳动和社会保障/其他/其他
    department: hrss
    regulations: [劳动法/第九条]
    priority: 1
    conditions: {all: [[社保卡]]}
    examples: [社保卡丢了]
  - id: schools
    topic: 教育兜底
    category: 教育文体/教育行政管理/其他
    department: education
    regulations: [教育法/第十五条]
    priority: -1
    weight: 2
    conditions: {any: [学校, 教师, 老师, 校长, 教育局]}
    examples: [学校的老师]
"#;
    let (_dir, set) = set_with(rules);
    // One education word: the specific rule's tier decides, as before.
    let r = set.route(&RouteInput::text("退休教师"));
    assert_eq!(r.rule_id, "pension", "{}", r.reason);
    // The whole request is about a school; 退休 is a detail. The fallback's evidence (its score
    // over its weight 2) is more than 1.5 times the pension rule's, so education takes it and
    // the reason names the rule it overrode.
    let r = set.route(&RouteInput::text(
        "学校的老师和校长说教育局不管退休教师的事",
    ));
    assert_eq!(r.outcome, pb::Outcome::Dispatch as i32, "{}", r.reason);
    assert_eq!(r.rule_id, "schools", "{}", r.reason);
    assert!(r.reason.contains("规则「退休待遇」也命中"), "{}", r.reason);
    assert!(r.reason.contains("改派"), "{}", r.reason);
    assert!(r.alternatives.iter().any(|a| a.rule_id == "pension"));
    assert!(r.confidence > 0.0 && r.confidence < 1.0, "{}", r.confidence);
    // A priority 1 rule decides whatever else the text says.
    let r = set.route(&RouteInput::text(
        "学校的老师和校长说教育局不管退休教师的社保卡",
    ));
    assert_eq!(r.rule_id, "card", "{}", r.reason);
    // Without the setting there is no override.
    let dir = rules_with(rules);
    let settings = dir.path().join("settings.yaml");
    let text = std::fs::read_to_string(&settings).unwrap();
    let off = without_setting(&text, "support_override");
    std::fs::write(&settings, &off).unwrap();
    let plain = load_dir(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let r = plain.route(&RouteInput::text(
        "学校的老师和校长说教育局不管退休教师的事",
    ));
    // The education domain still outweighs the pension rule's, so the domain check (point 6)
    // asks a person instead of dispatching on the detail.
    assert_eq!(r.outcome, pb::Outcome::Manual as i32, "{}", r.reason);
    assert!(r.reason.contains("教育文体领域的证据合计"), "{}", r.reason);
    // With both off, the specific rule's tier decides.
    std::fs::write(&settings, without_setting(&off, "other_domain_factor")).unwrap();
    let plain = load_dir(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let r = plain.route(&RouteInput::text(
        "学校的老师和校长说教育局不管退休教师的事",
    ));
    assert_eq!(r.rule_id, "pension", "{}", r.reason);
    // A factor below 1 is an error at its place.
    std::fs::write(
        &settings,
        replaced(&text, "support_override: 1.5", "support_override: 0.5"),
    )
    .unwrap();
    let errors = load_errors(dir.path());
    assert!(
        errors.contains("settings.yaml:")
            && errors.contains("support_override 0.5 must be a number of at least 1"),
        "{errors}"
    );
}

#[test]
fn a_request_mostly_about_another_domain_goes_to_a_person() {
    // A fee rule that weighs 3 outscores either housing-domain rule, but the housing domain
    // (城乡建设: property management and water supply, two departments) has twice its evidence.
    // No single department has enough to take the request (support_override is 1.5), so the
    // router does not guess: it asks a person and says which domain the evidence points to.
    let rules = r#"
rules:
  - id: fee
    topic: 乱收费
    category: 商贸旅游/市场监管/物价监督
    department: market-regulation
    regulations: [价格法/第十二条]
    weight: 3
    conditions: {all: [[乱收费]]}
    examples: [乱收费]
  - id: fee-decides
    topic: 乱收费（一经命中即派）
    category: 商贸旅游/市场监管/物价监督
    department: market-regulation
    regulations: [价格法/第十二条]
    weight: 3
    priority: 1
    conditions: {all: [[明码标价]]}
    examples: [没有明码标价]
  - id: property
    topic: 物业
    category: 城乡建设/住房保障与房地产/物业服务
    department: housing
    regulations: [物业管理条例/第五条]
    conditions: {all: [[物业]]}
    examples: [物业不管事]
  - id: water
    topic: 停水
    category: 城乡建设/城市建设和市政管理/自来水供应
    department: water-supply
    regulations: [城市供水条例/第七条]
    conditions: {all: [[停水]]}
    examples: [小区停水]
"#;
    let (_dir, set) = set_with(rules);
    // One housing word: the fee rule keeps it.
    let r = set.route(&RouteInput::text("物业乱收费"));
    assert_eq!(r.outcome, pb::Outcome::Dispatch as i32, "{}", r.reason);
    assert_eq!(r.rule_id, "fee", "{}", r.reason);
    // Two housing departments' words: the request is mostly a housing matter.
    let text = "物业乱收费，小区还停水";
    let r = set.route(&RouteInput::text(text));
    assert_eq!(r.outcome, pb::Outcome::Manual as i32, "{}", r.reason);
    assert!(
        r.reason.contains("属于商贸旅游") && r.reason.contains("城乡建设领域的证据合计"),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("请人工分派"), "{}", r.reason);
    for id in ["fee", "property", "water"] {
        assert!(
            r.alternatives.iter().any(|a| a.rule_id == id),
            "{id} missing from {:?}",
            r.alternatives
        );
    }
    // Same text, same decision, byte for byte.
    assert_eq!(set.route(&RouteInput::text(text)), r);
    // A priority 1 rule decides whatever else the text says.
    let r = set.route(&RouteInput::text("物业没有明码标价，小区还停水"));
    assert_eq!(r.rule_id, "fee-decides", "{}", r.reason);
    // Without the setting the best rule dispatches.
    let dir = rules_with(rules);
    let settings = dir.path().join("settings.yaml");
    let bundled = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(&settings, without_setting(&bundled, "other_domain_factor")).unwrap();
    let plain = load_dir(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let r = plain.route(&RouteInput::text(text));
    assert_eq!(r.rule_id, "fee", "{}", r.reason);
    // A factor below 1 is an error at its place.
    std::fs::write(
        &settings,
        replaced(
            &bundled,
            "other_domain_factor: 1.3",
            "other_domain_factor: 0.8",
        ),
    )
    .unwrap();
    let errors = load_errors(dir.path());
    assert!(
        errors.contains("settings.yaml:")
            && errors.contains("other_domain_factor 0.8 must be a number of at least 1"),
        "{errors}"
    );
}

#[test]
fn out_of_scope_matters_carry_their_category_and_categories_not_dispatched_refuse_rules() {
    let rules = r#"
rules:
  - id: schools
    topic: 教育兜底
    category: 教育文体/教育行政管理/其他
    department: education
    regulations: [教育法/第十五条]
    priority: -1
    weight: 2
    conditions: {any: [学校, 教师, 老师, 校长, 教育局]}
    examples: [学校的老师]
  - id: teachers-pay
    topic: 教师工资
    category: 教育文体/教师队伍和待遇/工资福利
    department: education
    regulations: [教师法/第三十九条]
    conditions: {all: [[教师, 老师], [工资]]}
    examples: [老师的工资]
"#;
    let (_dir, set) = set_with(rules);
    // A matter for the courts is out of scope, and its category is a path of the tree.
    let r = set.route(&RouteInput::text(
        "我已经起诉开发商了，法院已经立案，想问问能不能加快",
    ));
    assert_eq!(r.outcome, pb::Outcome::OutOfScope as i32, "{}", r.reason);
    assert_eq!(r.category, ["政法", "诉讼", "其他"]);
    // Reporting an official's bribery goes to the discipline bodies (监察法第十一条).
    let r = set.route(&RouteInput::text("实名举报某局的副局长长期收受贿赂"));
    assert_eq!(r.outcome, pb::Outcome::OutOfScope as i32, "{}", r.reason);
    assert_eq!(r.category, ["纪检监察", "贪污贿赂", "行贿受贿索贿"]);
    assert!(r.reason.contains("12388"), "{}", r.reason);
    assert!(r.regulations.iter().any(|g| g.id == "监察法/第十一条"));
    // A request mostly about a school that mentions such a report in passing is the school's:
    // the support override applies to out-of-scope matters of priority 0 too.
    let r = set.route(&RouteInput::text(
        "教育局的副局长收受贿赂。学校的老师和校长都说教师工资被拖欠",
    ));
    assert_eq!(r.outcome, pb::Outcome::Dispatch as i32, "{}", r.reason);
    assert_eq!(
        r.department.as_ref().map(|d| d.id.as_str()),
        Some("education"),
        "{}",
        r.reason
    );
    assert!(
        r.reason.contains("改派") && r.reason.contains("该事项"),
        "{}",
        r.reason
    );

    // 纪检监察 is marked not_dispatched in the category tree: no dispatch rule may file there.
    let dir = rules_with(
        r#"
rules:
  - id: corruption
    topic: 贪污
    category: 纪检监察/贪污贿赂/贪污
    department: housing
    regulations: [监察法/第十一条]
    conditions: {all: [[贪污]]}
    examples: [干部贪污]
"#,
    );
    let errors = load_errors(dir.path());
    assert!(
        errors.contains("extra.yaml:5:15")
            && errors.contains("which a city hotline does not dispatch")
            && errors.contains("12388"),
        "{errors}"
    );
}

#[test]
fn the_lead_of_a_request_names_its_subject() {
    let rules = r#"
rules:
  - id: lift
    topic: 电梯
    category: 商贸旅游/质监检验检疫/特种设备管理
    department: market-regulation
    regulations: [特种设备安全法/第五条]
    conditions: {all: [[电梯], [坏了, 故障]]}
    examples: [电梯坏了, 电梯故障]
  - id: fumes
    topic: 油烟
    category: 环境保护/环境污染/大气污染
    department: urban-management
    regulations: [大气污染防治法/第八十一条]
    conditions: {all: [[油烟], [烧烤店, 饭店]]}
    examples: [烧烤店油烟, 饭店油烟]
"#;
    let (_dir, set) = set_with(rules);
    // Both rules score 2.0 on the body; the one the first sentence speaks of is the subject.
    let r = set.route(&RouteInput::text(
        "小区的电梯坏了三个月。楼下烧烤店的油烟也很大，一并反映",
    ));
    assert_eq!(r.rule_id, "lift", "{}", r.reason);
    assert_eq!(r.score, 3.0);
    let r = set.route(&RouteInput::text(
        "楼下烧烤店的油烟太大了！小区电梯也坏了三个月",
    ));
    assert_eq!(r.rule_id, "fumes", "{}", r.reason);
    // With a title, the title is the lead.
    let r = set.route(&RouteInput {
        id: "1",
        title: "投诉烧烤店油烟",
        text: "小区电梯坏了，每天走楼梯上下，楼下还有油烟",
        ..Default::default()
    });
    assert_eq!(r.rule_id, "fumes", "{}", r.reason);
    // A greeting does not end the lead, so both are in it: a close call, as before.
    let r = set.route(&RouteInput::text(
        "您好！我想反映一下情况：小区电梯坏了，楼下烧烤店油烟大",
    ));
    assert_eq!(r.outcome, pb::Outcome::Manual as i32, "{}", r.reason);
}

#[test]
fn within_keeps_an_emergency_to_one_sentence() {
    let set = bundled();
    // "正在" and "被打" in one sentence: a crime in progress.
    let r = set.route(&RouteInput::text("救命，楼下有人正在被打，快派警察来"));
    assert_eq!(r.outcome, pb::Outcome::Handoff as i32, "{}", r.reason);
    // The same two words in a long message, far apart: a narrative, not a call for the police.
    let r = set.route(&RouteInput::text(&format!(
        "我们正在办理房产证，开发商一直拖着不给办。{}去年在售楼部门口还有业主被打。",
        "我们多次找到售楼部和住建局，都说在走程序，让我们耐心等待，可是已经三年过去了。"
    )));
    assert_ne!(r.outcome, pb::Outcome::Handoff as i32, "{}", r.reason);

    // A rule author gets a located error for a `within` that cannot mean anything.
    let dir = rules_with(
        "rules:\n  - id: near\n    topic: t\n    category: 城乡建设/住房保障与房地产/物业服务\n    department: housing\n    regulations: [物业管理条例/第四十一条]\n    conditions: {all: [[物业费]], within: 0}\n    examples: [物业费]\n",
    );
    let text = load_errors(dir.path());
    assert!(text.contains("extra.yaml:7:"), "{text}");
    assert!(text.contains("fewer than two `all` groups"), "{text}");
    assert!(
        text.contains("must be between 1 and 500 characters, not 0"),
        "{text}"
    );
}

#[test]
fn repeated_terms_yield_bounded_evidence() {
    let r = bundled().route(&RouteInput::text(&"物业费没过户谁交？".repeat(2_000)));
    assert_eq!(
        r.department.as_ref().map(|d| d.id.as_str()),
        Some("housing")
    );
    let mut terms: Vec<&str> = r.evidence.iter().map(|e| e.term.as_str()).collect();
    let n = terms.len();
    terms.sort_unstable();
    terms.dedup();
    assert_eq!(terms.len(), n, "each term once");
    assert!(n <= 32);
}

#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    use std::io::{Read, Write};
    use std::process::{Command, Stdio};
    // 3,000 decisions are megabytes of output: far more than a pipe buffer, so the reader's
    // going away is felt by the writer.
    let mut child = Command::new(env!("CARGO_BIN_EXE_hotline-router"))
        .args(["route", "--jsonl"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        for i in 0..3000 {
            if writeln!(
                stdin,
                "{{\"id\": {i}, \"text\": \"公司三个月没发工资了，老板跑了\"}}"
            )
            .is_err()
            {
                break;
            }
        }
    });
    let mut first = [0u8; 64];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap(); // then the read end is closed
    let out = child.wait_with_output().unwrap();
    let _ = feeder.join();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.status.success(), "{:?} {stderr}", out.status);
}

#[test]
fn lint_reports_what_a_rule_author_must_look_at() {
    let rules = r#"
rules:
  - id: deposit
    topic: 押金
    category: 城乡建设/住房保障与房地产/房屋租赁
    department: housing
    regulations: [城市房地产管理法/第七条]
    conditions: {all: [[押金, 房东]], any: [租房, 退租]}
    examples: [租房的房东不退押金, 退租时房东扣押金]
  - id: deposit-labour
    topic: 押金（劳动）
    category: 劳动和社会保障/劳动关系/非法用工
    department: hrss
    regulations: [劳动保障监察条例/第十一条]
    conditions: {all: [[押金], [公司]]}
    examples: [公司收了押金不退, 公司押金]
  - id: deposit-shop
    topic: 押金（消费）
    category: 商贸旅游/市场监管/其他
    department: market-regulation
    regulations: [消费者权益保护法/第二十四条]
    conditions: {all: [[押金]], any: [健身卡, 健身房]}
    examples: [健身房的健身卡押金不退]
"#;
    let (_dir, set) = set_with(rules);
    let findings = hotline_router::authoring::lint::lint(&set, None);
    let has = |code: &str, needle: &str| {
        findings
            .iter()
            .any(|f| f.code == code && f.message.contains(needle))
    };
    // 扣押金 is cut 扣押 / 金: the keyword is in the example but does not match there.
    assert!(
        has("split-keyword", "\"押金\" of rule \"deposit\""),
        "{findings:#?}"
    );
    // 押金 alone fires the housing and the market rule (one group each, same priority and
    // weight): a request saying only that is a coin toss. The labour rule also needs 公司.
    assert!(
        has(
            "shared-keyword",
            "\"押金\" alone fires rules of 2 departments"
        ),
        "{findings:#?}"
    );
    assert!(
        !findings
            .iter()
            .any(|f| f.code == "shared-keyword" && f.message.contains("deposit-labour")),
        "{findings:#?}"
    );
    // The housing example scores 2.5 and fires the market rule at 2.0, within twice the margin:
    // worded a little differently it is a close call. The market example leads by more.
    assert!(
        has(
            "ambiguous-example",
            "\"deposit\" (housing) also fires rule \"deposit-shop\""
        ),
        "{findings:#?}"
    );
    assert!(
        !has(
            "ambiguous-example",
            "\"deposit-shop\" (market-regulation) also"
        ),
        "{findings:#?}"
    );
    assert!(has("idle-department", "\"water\""));
    assert!(has("uncited-regulation", "物业管理条例/第四十一条"));
    assert!(has("unused-category", "教育文体"));
    // A used domain's catch-all 其他 is the fallback's or a person's, not a missing rule.
    assert!(!has("unused-category", "城乡建设/其他"), "{findings:#?}");
    assert!(has("unused-category", "卫生计生/其他"), "{findings:#?}");
    assert!(findings.iter().all(|f| f.line > 0 && !f.file.is_empty()));
}

#[test]
fn lint_exit_status_and_json() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hotline-router"))
        .args(["lint", "--format", "json"])
        .output()
        .unwrap();
    // The bundled rules are kept clean: lint exits 0 with no findings (1 would mean warnings,
    // 2 a rule set that does not load).
    let findings: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{findings:#?}");
    assert!(findings.is_empty());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x.yaml"), "rules: [\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hotline-router"))
        .args(["lint", "--rules"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn test_command_writes_junit_and_enforces_coverage() {
    let rules = r#"
rules:
  - id: fee
    topic: 物业费
    category: 城乡建设/住房保障与房地产/物业服务
    department: housing
    regulations: [物业管理条例/第四十一条]
    conditions: {all: [[物业费]]}
    examples: [物业费谁交, "今天天气 <不错> & 晴"]
  - id: no-examples
    topic: 无例句
    category: 城乡建设/住房保障与房地产/物业服务
    department: housing
    regulations: [物业管理条例/第四十一条]
    conditions: {all: [[维修资金]]}
"#;
    let dir = rules_with(rules);
    let junit = dir.path().join("out").join("junit.xml");
    std::fs::create_dir_all(junit.parent().unwrap()).unwrap();
    let run = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_hotline-router"))
            .args(["test", "--rules"])
            .arg(dir.path())
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&["--junit", junit.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failing example fails the run"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("not exercised: no-examples"), "{stdout}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<failure message="), "{xml}");
    assert!(
        xml.contains("&lt;不错&gt; &amp; 晴"),
        "text is escaped: {xml}"
    );
    assert!(xml.contains(r#"classname="fee""#));
    // Without the failing example: passes, unless coverage is required above what it is.
    std::fs::write(
        dir.path().join("extra.yaml"),
        rules.replace(r#", "今天天气 <不错> & 晴""#, ""),
    )
    .unwrap();
    assert_eq!(run(&[]).status.code(), Some(0));
    assert_eq!(run(&["--min-coverage", "0.99"]).status.code(), Some(1));
}

#[test]
fn diff_reports_every_moved_decision_with_counts() {
    let old = rules_with(common::PRICE_TAG_RULE);
    let new = rules_with(
        "rules:\n  - id: fee-to-market\n    topic: 物业费收费\n    category: 商贸旅游/市场监管/物价监督\n    department: market-regulation\n    \
         regulations: [价格法/第十三条]\n    priority: 1\n    conditions: {all: [[物业费]]}\n    examples: [物业费太贵了, 物业费乱收]\n",
    );
    let (old_set, new_set) = (
        load_dir(old.path()).unwrap(),
        load_dir(new.path()).unwrap_or_else(|e| panic!("{e}")),
    );
    let (corpus, _) = hotline_router::authoring::eval::read_corpus_unlabelled(
        "{\"id\": \"a\", \"text\": \"物业费没过户谁交\"}\n{\"id\": \"b\", \"text\": \"今天天气不错\"}\n".as_bytes(),
    )
    .unwrap();
    let r = hotline_router::authoring::diff::diff(&old_set, &new_set, &corpus);
    assert_eq!((r.total, r.moved), (2, 1));
    assert_eq!(r.changes[0].id, "a");
    assert_eq!(r.changes[0].new_destination, "market-regulation");
    assert_eq!(r.by_destination["market-regulation"].gained, 1);
    assert!(
        r.render_text(10)
            .contains("1 of 2 requests change destination")
    );
}

/// Copies a rules directory, every file under a new name in the reverse of its sorted order (so
/// the files load in the opposite order).
fn copy_reversed(src: &Path, dst: &Path) {
    let files = common::yaml_files(src);
    let n = files.len();
    for (i, f) in files.iter().enumerate() {
        let name = f.file_name().unwrap().to_string_lossy();
        std::fs::copy(f, dst.join(format!("{:03}-{name}", n - i))).unwrap();
    }
}

#[test]
fn the_order_of_rule_files_does_not_change_a_decision() {
    let dir = tempfile::tempdir().unwrap();
    copy_reversed(&common::bundled_dir(), dir.path());
    // The models are part of the rule set (the cross-check, the model check and the emergency
    // check are in decisions).
    for model in ["classifier.model", "emergency.model"] {
        std::fs::copy(common::bundled_dir().join(model), dir.path().join(model)).unwrap();
    }
    let reversed = load_dir(dir.path()).expect("reversed copy loads");
    let strip = |mut r: pb::RouteResponse| {
        r.rules_version.clear();
        r.rule_source = None;
        r
    };
    // Every example, and every two examples of neighbouring rules in one text (where rules of
    // different departments tie).
    let examples: Vec<&str> = bundled()
        .rules()
        .iter()
        .flat_map(|r| r.examples.iter().chain(&r.counterexamples))
        .map(|e| e.text.as_str())
        .collect();
    let pairs = examples.windows(2).map(|w| format!("{}。{}", w[0], w[1]));
    let texts: Vec<String> = examples
        .iter()
        .map(|t| t.to_string())
        .chain(pairs)
        .collect();
    for text in &texts {
        let input = RouteInput::text(text);
        let (a, b) = (bundled().route(&input), reversed.route(&input));
        assert_eq!(strip(a), strip(b), "{text}");
    }
    assert!(texts.len() > 1_200, "{}", texts.len());
}

#[test]
fn the_primary_line_is_the_hand_off_of_the_highest_priority_then_score() {
    let handoffs = |priority: i32| {
        format!(
            r#"
rules:
  - id: fee
    topic: 物业费
    category: 城乡建设/住房保障与房地产/物业服务
    department: housing
    regulations: [物业管理条例/第四十一条]
    conditions: {{all: [[物业费]]}}
    examples: [物业费谁交]
handoffs:
  - id: fire-now
    line: "119"
    name: 火警
    weight: 2
    regulations: [北京市接诉即办工作条例/第十一条]
    conditions: {{all: [[甲乙险情]]}}
  - id: hurt-now
    line: "120"
    name: 伤病急救
    priority: {priority}
    regulations: [北京市接诉即办工作条例/第十一条]
    conditions: {{all: [[丙丁伤情]]}}
"#
        )
    };
    // Words no bundled hand-off knows, so that only these two fire.
    let text = "楼下甲乙险情，丙丁伤情";
    // "primary line +co-line… by rule".
    let lines = |set: &RuleSet| {
        let r = set.route(&RouteInput::text(text));
        assert_eq!(r.outcome(), pb::Outcome::Handoff, "{}", r.reason);
        let h = r.handoff.expect("a hand-off names its line");
        let co: String = h.co_lines.iter().map(|c| format!(" +{}", c.line)).collect();
        format!("{}{co} by {}", h.line, r.rule_id)
    };
    // Equal priority: the higher score (weight 2) gives the primary line, the other is a co-line.
    let (_dir, set) = set_with(&handoffs(0));
    assert_eq!(lines(&set), "119 +120 by fire-now");
    // A higher priority outranks the score: the request is the ambulance's first, the fire
    // brigade is told at once.
    let (_dir, set) = set_with(&handoffs(1));
    assert_eq!(lines(&set), "120 +119 by hurt-now");
}

#[test]
fn handoffs_none_keeps_every_hand_off_of_its_file_from_firing() {
    let route = |set: &RuleSet, text: &str| set.route(&RouteInput::text(text));
    let crash = "十字路口发生车祸了，有人被撞倒在地上流了很多血";
    let past = "去年十字路口发生车祸了，有人被撞倒在地上流了很多血";
    // The bundled hand-offs share their vetoes of past events: 去年 is written once, in
    // `handoffs_none`, and keeps the 122 and 120 hand-offs alike from firing.
    let set = bundled();
    assert_eq!(route(set, crash).outcome(), pb::Outcome::Handoff);
    assert_ne!(route(set, past).outcome(), pb::Outcome::Handoff);

    // Without the shared list, the same hand-offs fire on the past event, unless their own
    // `none` lists it: so the list is what vetoes it.
    let dir = common::core_rules_dir();
    let handoffs = dir.path().join("handoffs.yaml");
    let text = std::fs::read_to_string(&handoffs).unwrap();
    let start = text
        .find("\nhandoffs_none:")
        .expect("the bundled hand-offs share a none list");
    let end = start + text[start..].find("\nhandoffs:").unwrap();
    std::fs::write(&handoffs, format!("{}{}", &text[..start], &text[end..])).unwrap();
    // Compiled without running the examples: counterexamples that the shared list keeps from
    // firing (smoke "一做饭就", every time someone cooks) fire without it.
    let without = hotline_router::ruleset::compile_dir(dir.path()).expect("compiles");
    assert_eq!(
        route(&without, past).outcome(),
        pb::Outcome::Handoff,
        "no hand-off's own none holds 去年"
    );

    // In a file without hand-offs it applies to none, and the loader says where.
    let stray = stray_list(dir.path(), "handoffs_none: [去年]", "W0105");
    assert_eq!(route(&stray, past).outcome(), pb::Outcome::Handoff);
}

/// The rule set of `dir` with a file `stray.yaml` holding only `list` (a hand-offs list, "key:
/// [term]" on line 2), compiled: it must warn `code` at the first term, since the list applies to
/// no hand-off.
fn stray_list(dir: &Path, list: &str, code: &str) -> RuleSet {
    std::fs::write(dir.join("stray.yaml"), format!("# 说明\n{list}\n")).unwrap();
    let stray = hotline_router::ruleset::compile_dir(dir).expect("compiles");
    let w = stray
        .warnings()
        .iter()
        .find(|w| w.code.as_str() == code)
        .unwrap_or_else(|| panic!("{:?}", stray.warnings()));
    let key = list.split(':').next().unwrap_or_default();
    assert_eq!(
        (w.location.file.as_str(), w.location.line, w.location.column),
        ("stray.yaml", 2, key.chars().count() as u32 + 4)
    );
    assert!(
        w.message.contains(key) && w.message.contains("no hand-offs"),
        "{}",
        w.message
    );
    stray
}

/// A rule set with one dispatch rule (物业费) and one hand-off, `quake-now` (甲乙险情), under the
/// hand-offs file's top-level `lists`.
fn quake_set(lists: &str) -> (tempfile::TempDir, RuleSet) {
    set_with(&format!(
        r#"
rules:
  - id: fee
    topic: 物业费
    category: 城乡建设/住房保障与房地产/物业服务
    department: housing
    regulations: [物业管理条例/第四十一条]
    conditions: {{all: [[物业费]]}}
    examples: [物业费谁交]
{lists}
handoffs:
  - id: quake-now
    line: "119"
    name: 险情
    regulations: [北京市接诉即办工作条例/第十一条]
    conditions: {{all: [[甲乙险情]]}}
"#
    ))
}

/// Whether `quake-now` takes the text.
fn quake_handed(set: &RuleSet, text: &str) -> bool {
    let r = set.route(&RouteInput::text(text));
    r.outcome() == pb::Outcome::Handoff && r.rule_id == "quake-now"
}

/// What the console's rule search says of `quake-now` on the text: whether its conditions hold,
/// and the vetoes that stop it.
fn quake_holds(set: &RuleSet, text: &str) -> Option<(bool, Vec<String>)> {
    set.rules_touched_by(text)
        .into_iter()
        .find(|r| r.rule_id == "quake-now")
        .map(|r| (r.conditions_hold, r.stops))
}

#[test]
fn a_hand_off_reads_past_the_callers_background_but_not_past_a_veto_after_it() {
    let (dir, set) = quake_set(
        "handoffs_none: [投诉]\nhandoffs_turn: [结果刚才]\nhandoffs_background: [本来是想]",
    );
    let handed = |t: &str| quake_handed(&set, t);
    // The veto stops the hand-off wherever it stands when there is no turn and no opener.
    assert!(handed("楼下甲乙险情"));
    assert!(!handed("我要投诉，楼下甲乙险情"));
    // Before a turn phrase it is background; after one it still stops the hand-off.
    assert!(handed("我要投诉物业，结果刚才楼下甲乙险情"));
    assert!(!handed("结果刚才楼下甲乙险情，我要投诉"));
    // The sentence a background opener stands in is background: its veto does not count, nor
    // does its evidence (a question about the danger is not the danger).
    assert!(handed("我本来是想投诉物业的。楼下甲乙险情"));
    assert!(!handed("我本来是想问甲乙险情怎么办。谢谢"));
    // Without a sentence end after the opener nothing is background, its own words included.
    assert!(!handed("我本来是想投诉物业楼下甲乙险情"));
    // The console's rule search says what routing does.
    let holds = |t: &str| quake_holds(&set, t);
    assert_eq!(
        holds("我要投诉物业，结果刚才楼下甲乙险情"),
        Some((true, vec![]))
    );
    assert_eq!(
        holds("结果刚才楼下甲乙险情，我要投诉"),
        Some((false, vec!["投诉".to_owned()]))
    );
    assert_eq!(holds("我本来是想问甲乙险情怎么办。谢谢"), None);

    // In a file without hand-offs the lists apply to none, and the loader says where.
    stray_list(dir.path(), "handoffs_turn: [结果刚才]", "W0109");
    stray_list(dir.path(), "handoffs_background: [本来是想]", "W0109");
}

#[test]
fn a_word_of_the_present_that_opens_the_evidence_leaves_the_vetoes_before_it_behind() {
    let (dir, set) = quake_set("handoffs_none: [去年, 投诉]\nhandoffs_now: [刚刚]");
    let handed = |t: &str| quake_handed(&set, t);
    // Without the word, a veto anywhere stops the hand-off.
    assert!(!handed("去年我投诉过物业。楼下甲乙险情"));
    // The word opens the sentence or clause where the evidence begins: the vetoes before it are
    // the caller's background.
    assert!(handed("去年我投诉过物业。刚刚楼下甲乙险情"));
    assert!(handed("去年我投诉过物业，刚刚楼下甲乙险情"));
    assert!(handed("去年我投诉过物业 刚刚楼下甲乙险情"));
    // A veto after the word still stops it.
    assert!(!handed("去年的事不说了。刚刚楼下甲乙险情，我要投诉"));
    // The evidence begins before the word: the vetoes before the word still count.
    assert!(!handed("去年楼下甲乙险情。刚刚物业费又涨了"));
    // The word inside a clause, not at its start, opens nothing.
    assert!(!handed("去年我投诉过物业我刚刚看到楼下甲乙险情"));
    // The console's rule search says what routing does.
    let holds = |t: &str| quake_holds(&set, t);
    assert_eq!(
        holds("去年我投诉过物业。刚刚楼下甲乙险情"),
        Some((true, vec![]))
    );
    assert_eq!(
        holds("去年楼下甲乙险情。刚刚物业费又涨了"),
        Some((false, vec!["去年".to_owned()]))
    );
    assert_eq!(
        holds("去年的事不说了。刚刚楼下甲乙险情，我要投诉"),
        Some((false, vec!["投诉".to_owned()]))
    );

    // In a file without hand-offs the list applies to none, and the loader says where.
    stray_list(dir.path(), "handoffs_now: [刚刚]", "W0109");
}

/// The set's only warning with `code`, checked to stand at `at` (file, line, column).
fn the_one_warning<'s>(
    set: &'s RuleSet,
    code: &str,
    at: (&str, u32, u32),
) -> &'s hotline_router::ruleset::Diagnostic {
    let warned: Vec<_> = set
        .warnings()
        .iter()
        .filter(|w| w.code.as_str() == code)
        .collect();
    assert_eq!(warned.len(), 1, "{:?}", set.warnings());
    let w = warned[0];
    assert_eq!(
        (w.location.file.as_str(), w.location.line, w.location.column),
        at
    );
    w
}

#[test]
fn a_pattern_with_no_fixed_word_at_either_end_is_a_warning_at_its_place_and_still_fires() {
    let rules = r#"
rules:
  - id: long-number
    topic: 长号码
    category: 城乡建设/住房保障与房地产/物业服务
    department: housing
    regulations: [物业管理条例/第四十一条]
    conditions:
      patterns: ['\d{6,}', '(^|[^甲])乙丙丁']
    examples: [物业电话是123456789]
"#;
    let (_dir, set) = set_with(rules);
    // Only the first: the second ends with a fixed word (乙丙丁), which gates it.
    let w = the_one_warning(&set, "W0106", ("extra.yaml", 9, 18));
    assert!(w.message.contains(r"\d{6,}"), "{}", w.message);
    assert!(w.message.contains("every request"), "{}", w.message);
    let rule = |t: &str| set.route(&RouteInput::text(t)).rule_id;
    assert_eq!(rule("物业电话是123456789"), "long-number");
    assert_eq!(rule("戊乙丙丁"), "long-number");
    assert_eq!(rule("甲乙丙丁"), "");
}

#[test]
fn a_pattern_written_with_characters_normalization_changes_is_a_warning_naming_the_fix() {
    // Requests are matched after normalization (simplified, half-width, lowercase); a pattern
    // is not normalized, so "樓", "，" or "Lift" in it never match. Escapes, classes and spaces
    // are what they are in a text and draw no warning.
    let rules = r#"
rules:
  - id: lift
    topic: 电梯
    category: 城乡建设/住房保障与房地产/物业服务
    department: housing
    regulations: [物业管理条例/第四十一条]
    conditions:
      patterns: ['电梯樓层(，|坏了)|Lift', '楼层坏了|lift \d[A-Z]\D']
    examples: [电梯楼层坏了]
"#;
    let (_dir, set) = set_with(rules);
    let w = the_one_warning(&set, "W0110", ("extra.yaml", 9, 18));
    for fix in [
        "\"樓\", which requests hold as \"楼\"",
        "\"，\", which requests hold as \",\"",
        "\"L\", which requests hold as \"l\"",
    ] {
        assert!(w.message.contains(fix), "{fix}: {}", w.message);
    }
    // As written, the first pattern's 樓 branch does not match the text that holds it.
    let rule = |t: &str| set.route(&RouteInput::text(t)).rule_id;
    assert_eq!(rule("电梯樓层坏了"), "lift");
    assert_eq!(rule("电梯樓层，"), "");
}

/// The bundled rules with `added` inserted after the line `after` of `departments/housing.yaml`;
/// the load error's text.
fn housing_edit_errors(after: &str, added: &str) -> String {
    let dir = common::bundled_copy(|s| s.to_owned(), &[]);
    let path = dir.path().join("departments").join("housing.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(after), "housing.yaml has no {after:?}");
    std::fs::write(&path, text.replacen(after, &format!("{after}{added}"), 1)).unwrap();
    load_errors(dir.path())
}

#[test]
fn a_failing_example_says_first_what_its_own_rule_found() {
    let first = "      - 房子都还没交房呢，物管就上门要物业管理费，这个钱该我出吗\n";
    // The rule's first group (物业费) is there, its second (未过户, 没交房, …) is not.
    let text = housing_edit_errors(first, "      - 物业费一直这么贵，物业公司也不说清楚\n");
    assert!(
        text.contains(
            "example of rule \"property-fee-unsold\" does not route to it: rule \
             \"property-fee-unsold\" finds 物业费, but nothing of its `all` group 2 [没过户, 未过户"
        ),
        "{text}"
    );
    // The rule finds nothing: no model is what took it, so no advice to retrain one.
    let text = housing_edit_errors(
        first,
        "      - 楼道里的广告牌子一年收好几万，钱去哪了没人说\n",
    );
    assert!(
        text.contains("\"property-fee-unsold\" finds none of its terms or patterns in it; got"),
        "{text}"
    );
    assert!(!text.contains("train it again"), "{text}");
    // A hand-off took a dispatch rule's example: the hand-off and what to do about it.
    let text = housing_edit_errors(
        first,
        "      - 楼道灯坏了俩月，昨晚我妈摸黑下楼摔倒了头上流了很多血，物业公司还是不管\n",
    );
    assert!(
        text.contains("OUTCOME_HANDOFF by rule \"injury-120\" to 120"),
        "{text}"
    );
    assert!(
        text.contains("add a `none` term to hand-off \"injury-120\""),
        "{text}"
    );
    assert!(!text.contains("handoff_doubt"), "{text}");
}

#[test]
fn a_term_in_two_synonym_groups_names_both_places() {
    let dir = common::bundled_copy(|s| s.to_owned(), &[]);
    std::fs::write(
        dir.path().join("departments").join("aa-new.yaml"),
        "synonyms:\n  - [物业费, 管理费用]\n",
    )
    .unwrap();
    let text = load_errors(dir.path());
    // The new file is read before synonyms.yaml: the error is at the bundled group, and names
    // the new one.
    assert!(
        text.contains(
            "error[E0408]: term \"物业费\" is already in the synonym group at departments/aa-new.yaml:2:6"
        ),
        "{text}"
    );
}
