//! The classifier beside the rules: what it adds to decisions (model check, suggestions, the
//! cross-check, the tie-break, the opt-in fallback), what it never touches (hand-offs), and the `train` and
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

/// The rules' property-fee rule (城乡建设) against a classifier that learned, from the corpus,
/// to file price rises and undisclosed charges under 商贸旅游 (price supervision).
const DISPUTED: &str = "物业费涨价了，物业公司也不公示收费标准";
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
    // The bundled rules send a dispute to a person, with the classifier's suggestions.
    let set = common::bundled();
    let r = route(set, DISPUTED);
    assert_eq!(r.outcome(), pb::Outcome::Manual, "{}", r.reason);
    assert_eq!(r.decided_by(), pb::DecidedBy::CrossCheck);
    assert!(r.reason.contains("分歧"), "{}", r.reason);
    assert_eq!(r.suggestions.len(), 3);
    assert!(
        r.suggestions.iter().any(|s| s.label == "城乡建设"),
        "the rules' own domain is among the choices: {:?}",
        r.suggestions
    );
    let without = set.with_model(None).unwrap();
    let plain = route(&without, DISPUTED);
    assert_eq!(plain.outcome(), pb::Outcome::Dispatch);

    // `action: flag` keeps the rules' dispatch, with less confidence and the dispute in the
    // reason.
    let dir = bundled_with_settings("action: manual", "action: flag");
    let set = load_dir(dir.path()).unwrap();
    let flagged = route(&set, DISPUTED);
    assert_eq!(flagged.outcome(), pb::Outcome::Dispatch);
    assert_eq!(flagged.rule_id, plain.rule_id);
    assert!(flagged.reason.contains("请复核"), "{}", flagged.reason);
    assert!(flagged.confidence < plain.confidence);
    assert!(!flagged.model_check.unwrap().agrees);
}

#[test]
fn an_example_the_classifier_takes_away_says_to_train_it_again() {
    // A cross-check so strict that the classifier disputes some of the rules' own examples.
    let dir = bundled_with_settings(
        "cross_check: {below: 0.3, above: 0.35, action: manual}",
        "cross_check: {below: 0.99, above: 0.01, action: manual}",
    );
    let Err(err) = load_dir(dir.path()) else {
        panic!("a rule set whose examples the cross-check sends to a person loaded");
    };
    let err = err.to_string();
    assert!(err.contains("error[E0701]"), "{err}");
    assert!(
        err.contains("DECIDED_BY_CROSS_CHECK") || err.contains("分歧"),
        "{err}"
    );
    assert!(err.contains("--rules RULES_DIR"), "{err}");
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

/// Two matters of two domains: cooking fumes (环境保护, the best-scoring rule) and a restaurant
/// using the street (城乡建设, where most of the evidence is). The rules ask a person; the
/// classifier files it under 城乡建设.
const TORN: &str = "小区门口的饭店油烟太大，还占道经营";

/// The bundled settings with `tie_break` set to `value`, or left out (`None`).
fn with_tie_break(value: Option<&str>) -> tempfile::TempDir {
    common::bundled_copy(
        |text| {
            let kept = common::without_setting_line(text, "    tie_break:");
            match value {
                Some(v) => replaced(
                    &kept,
                    "    suggestions: 3",
                    &format!("    tie_break: {v}\n    suggestions: 3"),
                ),
                None => kept,
            }
        },
        &[],
    )
}

#[test]
fn the_tie_break_lets_the_classifier_choose_between_two_fired_rules_and_says_so() {
    let off = load_dir(with_tie_break(None).path()).unwrap();
    let r = route(&off, TORN);
    assert_eq!(r.outcome(), pb::Outcome::Manual, "{}", r.reason);
    assert!(r.reason.contains("另一个领域"), "{}", r.reason);

    let on = load_dir(with_tie_break(Some("0.5")).path()).unwrap();
    let r = route(&on, TORN);
    assert_eq!(r.outcome(), pb::Outcome::Dispatch, "{}", r.reason);
    assert_eq!(r.decided_by(), pb::DecidedBy::ModelTieBreak);
    // The specific rule of the classifier's domain, not that domain's fallback, and on its own
    // grounds: its articles and its evidence.
    assert_eq!(r.rule_id, "street-vendors");
    assert_eq!(r.department_id(), "urban-management");
    assert!(!r.regulations.is_empty());
    assert!(
        r.evidence.iter().any(|e| e.text == "占道经营"),
        "{:?}",
        r.evidence
    );
    assert!(
        r.reason.starts_with("规则在「占道经营")
            && r.reason.contains("分类模型判断属于「城乡建设」"),
        "{}",
        r.reason
    );
    // The rule it did not choose is still listed for the operator.
    assert!(
        r.alternatives.iter().any(|a| a.topic.contains("油烟")),
        "{:?}",
        r.alternatives
    );

    // Where the classifier is not sure enough, a person decides, as without the setting.
    let strict = load_dir(with_tie_break(Some("0.99")).path()).unwrap();
    assert_eq!(route(&strict, TORN).outcome(), pb::Outcome::Manual);

    // Never between an emergency and anything else: hand-offs are the rules' alone.
    let fire = "厨房油锅起火了，火苗子蹿到抽油烟机上了";
    let r = route(&on, fire);
    assert_eq!(r.outcome(), pb::Outcome::Handoff);
    assert_eq!(r.decided_by(), pb::DecidedBy::Rules);
}

#[test]
fn a_tie_break_that_is_not_a_probability_is_refused_at_its_place() {
    let dir = with_tie_break(Some("1.5"));
    let Err(err) = load_dir(dir.path()) else {
        panic!("tie_break 1.5 was accepted");
    };
    let err = err.to_string();
    assert!(err.contains("settings.yaml:"), "{err}");
    assert!(err.contains("tie_break 1.5 must be a probability"), "{err}");
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
fn rule_examples_are_labelled_as_the_corpus_labels_their_rules() {
    let set = common::bundled();
    let examples_of = |id: &str| -> Vec<String> {
        set.rules()
            .iter()
            .find(|r| r.id == id)
            .unwrap()
            .examples
            .iter()
            .map(|e| e.text.clone())
            .collect()
    };
    let noise = examples_of("construction-noise");
    assert!(!noise.is_empty());

    // A corpus labelled by level-1 category: the rule's level-1 category (环境保护), whatever
    // the corpus files such messages under.
    let rows = hotline_router::authoring::folds::example_rows(set, ["环境保护"]);
    for text in &noise {
        assert!(
            rows.contains(&(text.clone(), "环境保护".to_owned())),
            "{text}"
        );
    }
    // Only the corpus's labels: examples of rules in other domains are left out.
    assert!(rows.iter().all(|(_, l)| l == "环境保护"));
    let property_fee = examples_of("property-fee-charging");
    assert!(!property_fee.is_empty());
    assert!(rows.iter().all(|(t, _)| !property_fee.contains(t)));

    // A corpus labelled by department id: the rule's department.
    let department = match set
        .rules()
        .iter()
        .find(|r| r.id == "construction-noise")
        .unwrap()
        .target
    {
        hotline_router::ruleset::Target::Dispatch { department, .. } => {
            set.departments()[department].id.clone()
        }
        _ => unreachable!("construction-noise dispatches"),
    };
    let rows = hotline_router::authoring::folds::example_rows(set, [department.as_str()]);
    assert_eq!(rows.len(), {
        set.rules()
            .iter()
            .filter(|r| matches!(r.target, hotline_router::ruleset::Target::Dispatch { department: d, .. } if set.departments()[d].id == department))
            .map(|r| r.examples.len())
            .sum::<usize>()
    });
    assert!(rows.contains(&(noise[0].clone(), department)));
}

/// `train` on the examples file and the examples of the rules in `rules`, into `out`.
fn train_with_rules(rules: &std::path::Path, out: &std::path::Path) -> std::process::Output {
    bin()
        .args(["train", "--bits", "10", "--folds", "3", "--rules"])
        .arg(rules)
        .arg("--input")
        .arg(examples())
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn train_with_rules_trains_on_their_examples_and_records_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c.model");
    let o = train_with_rules(&common::bundled_dir(), &out);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let corpus_rows = std::fs::read_to_string(examples()).unwrap().lines().count();
    // "trained on N rows (M of them rule examples)": M > 0, and N − M is the corpus.
    let numbers: Vec<usize> = stderr
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .take(2)
        .collect();
    assert!(numbers[1] > 100, "{stderr}");
    assert_eq!(numbers[0] - numbers[1], corpus_rows, "{stderr}");
    let model = std::fs::read_to_string(&out).unwrap();
    assert!(
        model.contains(&format!("\"rows\":{}", numbers[0])),
        "{}",
        &model[..400]
    );
    assert!(model.contains("--rules rules"), "{}", &model[..400]);
}

/// After the features change, the models beside the rules cannot be read; `train --rules` must
/// still train the new one from the rules' examples rather than refuse with the old model's error.
#[test]
fn train_with_rules_ignores_a_model_of_another_features_version() {
    let dir = common::bundled_copy(|s| s.to_owned(), &[]);
    for model in ["classifier.model", "emergency.model"] {
        std::fs::write(dir.path().join(model), "hotline-router classifier 2\n{}\n").unwrap();
    }
    let check = bin()
        .arg("check")
        .arg("--rules")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&check.stderr).contains("features of another version"),
        "the old models are refused where they are served"
    );
    let out = dir.path().join("fresh.model");
    let o = train_with_rules(dir.path(), &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .starts_with("hotline-router classifier 4\n")
    );
}

#[test]
fn eval_folds_on_too_few_rows_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("two.jsonl");
    std::fs::write(
        &input,
        "{\"text\":\"小区停水了\",\"label\":\"城乡建设\"}\n{\"text\":\"公司拖欠工资\",\"label\":\"劳动和社会保障\"}\n",
    )
    .unwrap();
    // `eval --folds K` on the two rows: refused, with what it says.
    let refused = |k: &str| {
        let o = bin()
            .args(["eval", "--folds", k, "--input"])
            .arg(&input)
            .args(["--rules"])
            .arg(common::core_rules_dir().path())
            .output()
            .unwrap();
        assert!(!o.status.success());
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    // Fewer rows than folds: a fold would score nothing.
    let err = refused("5");
    assert!(err.contains("2 row(s) cannot make 5 folds"), "{err}");
    // Enough rows, but a fold's training rows hold one label: named.
    let err = refused("2");
    assert!(
        err.contains("the training rows of fold 1 of 2 (1 rows) have 1 distinct label(s)"),
        "{err}"
    );
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
            "rules + tie-break",
            "rules + model (settings.yaml)"
        ]
    );
    for v in r["variants"].as_array().unwrap() {
        let report = &v["report"];
        assert_eq!(report["total"], r["rows"]);
        // How often an operator finds the right label among the classifier's suggestions.
        let n = |k: &str| report[k].as_u64().unwrap();
        assert!(n("suggested_first") <= n("suggested_among"), "{report}");
        assert!(
            n("suggested_among") <= n("manual_with_suggestions"),
            "{report}"
        );
        assert!(n("manual_with_suggestions") <= n("manual"), "{report}");
    }
    // Rules alone make no suggestions; with the classifier every manual decision has them.
    let variants = r["variants"].as_array().unwrap();
    assert_eq!(variants[0]["report"]["manual_with_suggestions"], 0);
    let configured = &variants[variants.len() - 1]["report"];
    assert_eq!(configured["manual_with_suggestions"], configured["manual"]);
}

#[test]
fn eval_folds_writes_each_rows_held_out_decisions_by_id_without_text() {
    let dir = tempfile::tempdir().unwrap();
    let rows_path = dir.path().join("rows.jsonl");
    let o = bin()
        .args(["eval", "--folds", "3", "--format", "json", "--input"])
        .arg(examples())
        .arg("--rows")
        .arg(&rows_path)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let corpus: Vec<serde_json::Value> = std::fs::read_to_string(examples())
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let rows: Vec<serde_json::Value> = std::fs::read_to_string(&rows_path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), corpus.len());
    let (mut dispatched, mut right) = (0, 0);
    for (row, item) in rows.iter().zip(&corpus) {
        // The row's id, fold and label, decisions and probabilities: never the citizen's words.
        let mut keys: Vec<&str> = row
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "classifier",
                "configured",
                "fired",
                "fold",
                "id",
                "label",
                "rules"
            ]
        );
        assert_eq!(row["id"], item["id"]);
        assert_eq!(row["label"], item["label"]);
        assert!((1..=3).contains(&row["fold"].as_u64().unwrap()), "{row}");
        let p: f64 = row["classifier"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x[1].as_f64().unwrap())
            .sum();
        assert!((p - 1.0).abs() < 0.01, "{row}");
        // A dispatch of the rules is the first rule that fired.
        if row["rules"]["outcome"] == "dispatch" {
            assert_eq!(row["fired"][0]["ruleId"], row["rules"]["ruleId"], "{row}");
        }
        let c = &row["configured"];
        if c["outcome"] == "dispatch" {
            dispatched += 1;
            right += usize::from(c["category"] == row["label"]);
        }
    }
    // The rows' configured decisions are the figures of the report's configured variant.
    let variants = report["variants"].as_array().unwrap();
    let configured = &variants[variants.len() - 1]["report"];
    assert_eq!(configured["dispatched"], dispatched);
    let overall = right as f64 / rows.len() as f64;
    assert!(
        (configured["overall_accuracy"].as_f64().unwrap() - overall).abs() < 1e-4,
        "{configured}"
    );
    // The frontier script reads the file back and finds the same figures.
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/frontier.py");
    match Command::new("python3").arg(script).arg(&rows_path).output() {
        Ok(o) => {
            let text = String::from_utf8_lossy(&o.stdout);
            assert!(
                o.status.success(),
                "{text}{}",
                String::from_utf8_lossy(&o.stderr)
            );
            let line = format!(
                "{:.4} / {:.4} / {:.4}",
                configured["coverage"].as_f64().unwrap(),
                configured["dispatched_accuracy"].as_f64().unwrap(),
                configured["overall_accuracy"].as_f64().unwrap()
            );
            assert!(text.contains(&line), "{line} not in\n{text}");
            assert!(text.contains("learned combination"), "{text}");
        }
        Err(e) => eprintln!("skipped: scripts/frontier.py needs python3 ({e})"),
    }
}

#[test]
fn a_wrong_model_setting_is_named_as_a_rule_author_knows_it() {
    let refused = |from: &str, to: &str| {
        let dir = bundled_with_settings(from, to);
        match hotline_router::load_dir(dir.path()) {
            Ok(_) => panic!("{to:?} was accepted"),
            Err(e) => e.to_string(),
        }
    };
    // A count cannot be negative: the message does not offer -1 as an example.
    let m = refused("suggestions: 3", "suggestions: -1");
    assert!(m.contains("must be a whole number, 0 or more"), "{m}");
    assert!(!m.contains("such as -1"), "{m}");
    // A misspelt key: the section as the file calls it, not a type's name.
    let m = refused("suggestions: 3", "suggestons: 3");
    assert!(
        m.contains("unknown field \"suggestons\" in model settings"),
        "{m}"
    );
}

#[test]
fn labels_are_trimmed_and_unknown_ones_named_and_folds_need_rows() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("three.jsonl");
    std::fs::write(
        &input,
        "{\"text\":\"小区停水了\",\"label\":\" 城乡建设 \"}\n\
         {\"text\":\"公司拖欠工资\",\"label\":\"劳动和社会保障\"}\n\
         {\"text\":\"公交车不按站停\",\"label\":\"不存在的类\"}\n",
    )
    .unwrap();
    let o = bin()
        .args(["eval", "--format", "json", "--input"])
        .arg(&input)
        .args(["--rules"])
        .arg(common::core_rules_dir().path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(
            "1 row(s) have a label that is neither a department id nor a level-1 category"
        ) && err.contains("\"不存在的类\" (1)"),
        "{err}"
    );
    // " 城乡建设 " is 城乡建设: no category of its own in the report.
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let text = report.to_string();
    assert!(!text.contains(" 城乡建设"), "{text}");
    // Fewer rows than folds: refused, not a model recording figures of no row.
    let out = dir.path().join("x.model");
    let train = |folds: &str, input: &Path| {
        bin()
            .args(["train", "--folds", folds, "--input"])
            .arg(input)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap()
    };
    let o = train("5", &input);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("fewer than --folds 5"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!out.exists());
    // A request longer than the router accepts is skipped, named by its id: training on a
    // 12-million-character line took 57 s and 670 MB.
    let long = dir.path().join("long.jsonl");
    let mut rows = std::fs::read_to_string(&input).unwrap();
    rows.push_str(&format!(
        "{{\"id\":\"huge-1\",\"text\":\"{}\",\"label\":\"城乡建设\"}}\n",
        "小区停水了".repeat(300_000)
    ));
    std::fs::write(&long, rows).unwrap();
    let o = train("2", &long);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("skipped 1 request(s) longer than the 20000 characters")
            && err.contains("\"huge-1\""),
        "{err}"
    );
    assert!(err.contains("trained on 3 rows"), "{err}");
}
