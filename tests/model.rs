//! The classifier beside the rules: what it adds to decisions (model check, suggestions, the
//! cross-check, the opt-in fallback), what it never touches (hand-offs), and the `train` and
//! `eval --folds` commands.

use std::path::Path;
use std::process::Command;

use hotline_router::proto::v1 as pb;
use hotline_router::ruleset::compile_dir;
use hotline_router::{RouteInput, load_dir};

mod common;

fn route(set: &hotline_router::RuleSet, text: &str) -> pb::RouteResponse {
    set.route(&RouteInput {
        text,
        ..Default::default()
    })
}

/// A copy of the bundled rules with `from` replaced by `to` in settings.yaml.
fn bundled_with_settings(from: &str, to: &str) -> tempfile::TempDir {
    common::bundled_copy(|text| replaced(text, from, to), &[])
}

fn replaced(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "settings.yaml has no {from:?}");
    text.replace(from, to)
}

/// The rules' construction-noise rule (环境保护) against a classifier that learned, from the
/// corpus, to file night-time building-site noise under 城乡建设.
const DISPUTED: &str = "小区旁边的工地每天晚上施工到凌晨两点，打桩声吵得根本睡不着";
/// No rule fires; the classifier is confident.
const UNROUTED: &str = "公园里每天早上有人拿着大喇叭放歌，住在旁边的老人受不了";

#[test]
fn the_bundled_rules_consult_their_classifier() {
    let set = common::bundled();
    let model = set
        .model()
        .expect("the bundled rules ship rules/classifier.model");
    let cv = &model
        .provenance()
        .expect("the model records how it was made")
        .cross_validated;
    assert_eq!(cv.folds, 5);
    assert!(cv.accuracy > 0.8, "{cv:?}");

    let r = route(set, "我买的房子还没过户，物业费应该谁交");
    assert_eq!(r.outcome(), pb::Outcome::Dispatch);
    assert_eq!(r.decided_by(), pb::DecidedBy::Rules);
    let check = r
        .model_check
        .expect("a dispatch says what the classifier thought");
    assert!(check.agrees, "{check:?}");
    assert_eq!(check.top_label, "城乡建设");
    assert!(r.suggestions.is_empty());
}

#[test]
fn manual_decisions_carry_ranked_suggestions_with_departments_and_terms() {
    let r = route(common::bundled(), UNROUTED);
    assert_eq!(r.outcome(), pb::Outcome::Manual, "{}", r.reason);
    assert_eq!(r.suggestions.len(), 3);
    let p: Vec<f64> = r.suggestions.iter().map(|s| s.probability).collect();
    assert!(p.windows(2).all(|w| w[0] >= w[1]), "{p:?}");
    assert!(p.iter().sum::<f64>() <= 1.0 + 1e-9);
    for s in &r.suggestions {
        assert!(s.department.is_some(), "{s:?}");
        assert!(!s.terms.is_empty(), "{s:?}");
        assert!(
            s.terms.iter().all(|t| UNROUTED.contains(t.as_str())),
            "{s:?}"
        );
    }
    assert!(r.model_check.is_none());
}

#[test]
fn hand_offs_are_the_rules_alone() {
    let r = route(common::bundled(), "快来人，隔壁厨房着火了，烟很大");
    assert_eq!(r.outcome(), pb::Outcome::Handoff);
    assert_eq!(r.decided_by(), pb::DecidedBy::Rules);
    assert!(r.suggestions.is_empty() && r.model_check.is_none());
}

#[test]
fn a_disputed_dispatch_is_flagged_or_sent_to_a_person_as_settings_say() {
    let set = common::bundled();
    let flagged = route(set, DISPUTED);
    let without = set.with_model(None).unwrap();
    let plain = route(&without, DISPUTED);
    assert_eq!(flagged.outcome(), pb::Outcome::Dispatch);
    assert_eq!(flagged.rule_id, plain.rule_id);
    assert!(flagged.reason.contains("请复核"), "{}", flagged.reason);
    assert!(flagged.confidence < plain.confidence);
    assert!(!flagged.model_check.unwrap().agrees);

    // Compiled without running the examples: four rule examples are disputes of this kind, and
    // `action: manual` would send them to a person (which is why the bundled rules flag).
    let dir = bundled_with_settings("action: flag", "action: manual");
    let set = compile_dir(dir.path()).unwrap();
    let r = route(&set, DISPUTED);
    assert_eq!(r.outcome(), pb::Outcome::Manual);
    assert_eq!(r.decided_by(), pb::DecidedBy::CrossCheck);
    assert!(r.reason.contains("分歧"), "{}", r.reason);
    assert_eq!(r.suggestions.len(), 3);
}

#[test]
fn the_opt_in_fallback_dispatches_by_a_fallback_rule_and_says_so() {
    // Compiled without running the examples: a counterexample no rule takes is taken by the
    // fallback, which an author enabling it must look at. The emergency check is off: at the
    // bundled threshold it flags this text (a loudspeaker and "老人受不了": 110 at 0.31), and a
    // flag goes before the fallback.
    let dir = common::bundled_copy(
        |text| {
            let text = replaced(text, "    # fallback: 0.7", "    fallback: 0.7");
            common::without_emergency_setting(&text)
        },
        &[],
    );
    let set = compile_dir(dir.path()).unwrap();
    let r = route(&set, UNROUTED);
    assert_eq!(r.outcome(), pb::Outcome::Dispatch, "{}", r.reason);
    assert_eq!(r.decided_by(), pb::DecidedBy::ModelFallback);
    assert!(
        r.reason.starts_with("没有规则命中；分类模型判断属于"),
        "{}",
        r.reason
    );
    assert!(
        !r.regulations.is_empty(),
        "a fallback rule cites its articles"
    );
    assert!(r.department.is_some());
    // The same text with the fallback off goes to a person.
    assert_eq!(
        route(common::bundled(), UNROUTED).outcome(),
        pb::Outcome::Manual
    );
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hotline-router"))
}

fn examples() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/requests.jsonl"
    ))
}

#[test]
fn train_is_deterministic_and_its_model_loads_with_the_rules() {
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (d1.path().join("c.model"), d2.path().join("c.model"));
    for out in [&a, &b] {
        let o = bin()
            .args(["train", "--bits", "10", "--folds", "3", "--input"])
            .arg(examples())
            .arg("--out")
            .arg(out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(String::from_utf8_lossy(&o.stderr).contains("cross-validated accuracy"));
    }
    assert!(
        std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
        "two trainings on the same rows wrote different models"
    );

    // Swapped in beside the core rules, it loads and is part of the version.
    let rules = common::core_rules_dir();
    let before = load_dir(rules.path()).unwrap().version().to_owned();
    std::fs::copy(&a, rules.path().join("classifier.model")).unwrap();
    let set = load_dir(rules.path()).unwrap();
    assert!(set.model().is_some());
    assert_ne!(set.version(), before);

    // A damaged model is a load error with its place and code.
    let text = std::fs::read_to_string(&a).unwrap();
    let cut: String = text.lines().take(5).map(|l| format!("{l}\n")).collect();
    std::fs::write(rules.path().join("classifier.model"), cut).unwrap();
    let Err(err) = load_dir(rules.path()) else {
        panic!("a damaged model loaded");
    };
    let err = err.to_string();
    assert!(err.contains("classifier.model:3:1: error[E0801]"), "{err}");
}

#[test]
fn eval_folds_reports_rules_alone_and_with_the_classifier_on_held_out_folds() {
    let o = bin()
        .args(["eval", "--folds", "3", "--format", "json", "--input"])
        .arg(examples())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["folds"], 3);
    let names: Vec<&str> = r["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "rules alone",
            "rules + cross-check (manual)",
            "rules + model (settings.yaml)"
        ]
    );
    for v in r["variants"].as_array().unwrap() {
        assert_eq!(v["report"]["total"], r["rows"]);
    }
}
