//! The emergency check beside the rules (`rules/emergency.model`, `settings.model.emergency`):
//! a request the rules did not hand off that may be an emergency goes to a person at once,
//! flagged; the check never hands off and never changes the rules' hand-offs, though it says
//! when it doubts one (`settings.model.handoff_doubt`).

use std::process::Command;

use hotline_router::proto::v1 as pb;
use hotline_router::{RouteInput, load_dir};

mod common;

fn route(set: &hotline_router::RuleSet, text: &str) -> pb::RouteResponse {
    set.route(&RouteInput {
        text,
        ..Default::default()
    })
}

/// A tower crane leaning over people at work: the rules know only the building-site safety
/// complaint, and the classifier agrees with them. ("……下面好多工人" was the example until the
/// classifier of features version 4, which reads 工人 as a labour matter and, with the check off,
/// sends it to manual triage itself.)
const LEANING_CRANE: &str = "工地上的塔吊歪了，下面有人在施工";

#[test]
fn a_possible_emergency_the_rules_miss_goes_to_a_person_at_once_flagged() {
    let set = common::bundled();
    let model = set
        .emergency_model()
        .expect("the bundled rules ship rules/emergency.model");
    assert!(
        model.labels().iter().any(|l| l == "none"),
        "{:?}",
        model.labels()
    );

    let r = route(set, LEANING_CRANE);
    assert_eq!(r.outcome(), pb::Outcome::Manual, "{}", r.reason);
    assert_eq!(
        r.decided_by(),
        pb::DecidedBy::EmergencyCheck,
        "{}",
        r.reason
    );
    assert!(r.handoff.is_none(), "the check never hands off");
    let flag = r.possible_emergency.as_ref().expect("possible_emergency");
    assert!(
        flag.probability >= common::emergency_threshold() && flag.probability <= 1.0,
        "{flag:?}"
    );
    assert!(!flag.lines.is_empty() && flag.lines.len() <= 3, "{flag:?}");
    assert!(
        flag.lines
            .windows(2)
            .all(|w| w[0].probability >= w[1].probability),
        "most likely first: {flag:?}"
    );
    for l in &flag.lines {
        assert!(
            ["110", "119", "120", "122"].contains(&l.line.as_str()),
            "{l:?}"
        );
        assert!(
            !l.name.is_empty(),
            "the hand-off rules name every line: {l:?}"
        );
    }
    assert!(r.reason.contains("紧急情况检查"), "{}", r.reason);
    assert!(r.reason.contains(&flag.lines[0].line), "{}", r.reason);
    // What the rules would have done is kept for the operator.
    assert!(r.reason.contains("规则原本的判断"), "{}", r.reason);
    assert!(
        !r.alternatives.is_empty(),
        "the rules' candidates stay listed"
    );
    // The same text, the same flag, byte for byte.
    assert_eq!(route(set, LEANING_CRANE), r);
}

#[test]
fn the_rules_hand_offs_and_ordinary_requests_are_untouched() {
    let set = common::bundled();
    let r = route(set, "十字路口发生车祸了，有人被撞倒在地上流了很多血");
    assert_eq!(r.outcome(), pb::Outcome::Handoff, "{}", r.reason);
    assert_eq!(r.decided_by(), pb::DecidedBy::Rules);
    assert!(r.possible_emergency.is_none());

    let r = route(set, "小区消防通道被占用，请消防部门检查");
    assert_eq!(r.outcome(), pb::Outcome::Dispatch, "{}", r.reason);
    assert!(r.possible_emergency.is_none(), "{:?}", r.possible_emergency);
}

/// A text pasted many times says what it says once, and a word or two says too little to flag:
/// before the models scaled by the grouped vector's length and a least length, "小区停水了" a
/// hundred times was flagged at 0.42 (119), a thousand times at 1.00, and "手机" alone at 0.98.
/// A short text also shows the mix of the check's training rows, since it carries little else:
/// trained on every read set without short ordinary rows, the check flagged "小区停电了" (0.30)
/// and "小区停水了" twice in a row (0.30), and nearly "手机" (0.27).
#[test]
fn repeated_and_very_short_texts_are_not_flagged() {
    let set = common::bundled();
    let once = route(set, "小区停水了");
    assert_eq!(once.outcome(), pb::Outcome::Dispatch, "{}", once.reason);
    for n in [100, 1000] {
        let text = "小区停水了".repeat(n);
        let r = route(set, &text);
        assert!(
            r.possible_emergency.is_none(),
            "×{n}: {:?} {}",
            r.possible_emergency,
            r.reason
        );
        assert_eq!(r.outcome(), pb::Outcome::Dispatch, "×{n}: {}", r.reason);
        assert_eq!(r.department_id(), once.department_id(), "×{n}");
    }
    for text in [
        "手机",
        "电话",
        "你好",
        "喂",
        "有人吗",
        "小区停电了",
        "停水了",
        "路灯坏了",
        "噪音扰民",
        "我要投诉",
        "小区停水了小区停水了",
    ] {
        let r = route(set, text);
        assert!(
            r.possible_emergency.is_none(),
            "{text}: {:?} {}",
            r.possible_emergency,
            r.reason
        );
    }
}

#[test]
fn without_the_setting_the_check_is_off_and_the_loader_says_so() {
    let dir = common::bundled_copy(common::without_emergency_setting, &[]);
    let set = load_dir(dir.path()).expect("loads");
    let r = route(&set, LEANING_CRANE);
    assert_eq!(r.outcome(), pb::Outcome::Dispatch, "{}", r.reason);
    assert!(r.possible_emergency.is_none());
    assert_warns(&set, "settings.model.emergency is not set");
}

#[test]
fn a_setting_without_the_model_is_a_warning_not_a_silent_gap() {
    let dir = common::bundled_copy(|s| s.to_owned(), &["emergency.model"]);
    let set = load_dir(dir.path()).expect("loads");
    assert!(set.emergency_model().is_none());
    assert_warns(&set, "no emergency.model");
    let check = Command::new(env!("CARGO_BIN_EXE_hotline-router"))
        .args(["check", "--rules"])
        .arg(dir.path())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&check.stdout).into_owned()
        + &String::from_utf8_lossy(&check.stderr);
    assert!(out.contains("the emergency check is off"), "{out}");
}

#[test]
fn an_emergency_model_without_a_none_label_is_refused_with_its_labels() {
    // The classifier in the emergency check's place: its labels are domains, not lines.
    let dir = common::bundled_copy(|s| s.to_owned(), &["emergency.model"]);
    std::fs::copy(
        common::bundled_dir().join("classifier.model"),
        dir.path().join("emergency.model"),
    )
    .unwrap();
    let err = match load_dir(dir.path()) {
        Ok(_) => panic!("a model without \"none\" must not serve as the emergency check"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("emergency.model:1:1: error[E0801]"), "{err}");
    assert!(err.contains("no label \"none\""), "{err}");
    assert!(err.contains("城乡建设"), "names the labels it has: {err}");
}

#[test]
fn a_retrained_check_is_a_new_rule_set_version() {
    let a = common::bundled_copy(|s| s.to_owned(), &[]);
    let b = common::bundled_copy(|s| s.to_owned(), &["emergency.model"]);
    let va = load_dir(a.path()).unwrap().version().to_owned();
    let vb = load_dir(b.path()).unwrap().version().to_owned();
    assert_ne!(va, vb, "the check decides, so it is part of the version");
    assert_eq!(va, common::bundled().version());
}

mod invariants {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    /// The bundled rules without the check (no model, no setting).
    fn without_check() -> &'static hotline_router::RuleSet {
        static SET: OnceLock<(tempfile::TempDir, hotline_router::RuleSet)> = OnceLock::new();
        &SET.get_or_init(|| {
            let dir = common::bundled_copy(common::without_emergency_setting, &["emergency.model"]);
            let set = load_dir(dir.path()).expect("loads");
            (dir, set)
        })
        .1
    }

    /// Pieces of emergencies, of ordinary requests and of the past, so that generated texts
    /// reach every outcome: hand-offs, flags, dispatches, manual triage.
    const PIECES: &[&str] = &[
        "着火了",
        "冒黑烟",
        "流了很多血",
        "倒在地上",
        "车祸",
        "去年",
        "塔吊歪了",
        "下面好多工人",
        "救命",
        "快来人",
        "投诉",
        "物业费",
        "电梯",
        "困住了",
        "孩子",
        "不见了",
        "煤气味",
        "工地",
        "噪音",
        "拖欠工资",
        "上个月",
        "赔偿",
        "，",
        "。",
        "🚑",
        "火灾隐患",
        "楼顶",
        "要跳下去",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn the_check_changes_a_decision_only_by_flagging_it(
            picks in prop::collection::vec(0..PIECES.len(), 1..8),
        ) {
            let text: String = picks.iter().map(|&i| PIECES[i]).collect();
            let with = route(common::bundled(), &text);
            let mut without = route(without_check(), &text);
            prop_assert_eq!(&with, &route(common::bundled(), &text), "deterministic");
            match &with.possible_emergency {
                Some(flag) => {
                    prop_assert_eq!(with.outcome(), pb::Outcome::Manual);
                    prop_assert_eq!(with.decided_by(), pb::DecidedBy::EmergencyCheck);
                    prop_assert!(with.handoff.is_none());
                    prop_assert!(flag.probability >= common::emergency_threshold(), "{:?}", flag);
                    // Only what the rules would have done without the check is overruled:
                    // never a hand-off or an out-of-scope matter.
                    prop_assert!(
                        !matches!(without.outcome(), pb::Outcome::Handoff | pb::Outcome::OutOfScope),
                        "{}: {}", text, without.reason
                    );
                }
                None => {
                    // Unflagged: the very decision the rules make without the check, but for
                    // the doubt it may add to a hand-off, which stands.
                    without.rules_version.clone_from(&with.rules_version);
                    let mut with = with.clone();
                    if let Some(doubt) = with.handoff_doubt.take() {
                        prop_assert_eq!(with.outcome(), pb::Outcome::Handoff);
                        prop_assert!(doubt.probability < handoff_doubt(), "{:?}", doubt);
                        // Shown below the threshold too, never rounded up to it (0.04996 was
                        // once shown as "0.05" against a threshold of 0.05).
                        prop_assert!(shown_probability(&with.reason) < handoff_doubt(), "{}", with.reason);
                        prop_assert!(with.reason.starts_with(&without.reason), "{}", with.reason);
                        with.reason.clone_from(&without.reason);
                    }
                    prop_assert_eq!(&with, &without, "{}", text);
                }
            }
        }
    }
}

/// The probability a doubted hand-off's reason shows ("（概率 0.04）").
fn shown_probability(reason: &str) -> f64 {
    reason
        .split("概率 ")
        .nth(1)
        .and_then(|rest| rest.split('）').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or(f64::NAN)
}

/// The bundled `settings.model.handoff_doubt`.
fn handoff_doubt() -> f64 {
    common::bundled()
        .settings()
        .model
        .handoff_doubt
        .expect("the bundled settings have handoff_doubt")
}

/// An ordinary question in emergency words ("快晕倒了" of a gym session) that the rules hand off.
const FAINT_FIGURE_OF_SPEECH: &str = "健身房教练让我练到快晕倒了，这种私教课能退费吗";

#[test]
fn a_hand_off_the_check_doubts_stands_and_asks_the_operator_to_confirm() {
    let set = common::bundled();
    let r = route(set, FAINT_FIGURE_OF_SPEECH);
    assert_eq!(r.outcome(), pb::Outcome::Handoff, "{}", r.reason);
    assert_eq!(r.decided_by(), pb::DecidedBy::Rules);
    assert!(r.possible_emergency.is_none());
    let doubt = r
        .handoff_doubt
        .as_ref()
        .expect("the check doubts this hand-off");
    assert!(
        doubt.probability >= 0.0 && doubt.probability < handoff_doubt(),
        "{doubt:?}"
    );
    assert!(r.reason.contains("转接前请向来电人核实"), "{}", r.reason);

    // A real emergency is handed off without a doubt.
    for text in [
        "十字路口发生车祸了，有人被撞倒在地上流了很多血",
        "我爸刚才突然倒在地上叫不醒了，快派救护车",
        "楼下三楼着火了，烟特别大，里面还有人",
    ] {
        let r = route(set, text);
        assert_eq!(r.outcome(), pb::Outcome::Handoff, "{text}: {}", r.reason);
        assert!(r.handoff_doubt.is_none(), "{text}: {:?}", r.handoff_doubt);
    }

    // Without the setting, the hand-off is the same and says nothing of the check.
    let dir = common::bundled_copy(
        |s| common::without_setting_line(s, "    handoff_doubt:"),
        &[],
    );
    let off = load_dir(dir.path()).expect("loads");
    let mut plain = route(&off, FAINT_FIGURE_OF_SPEECH);
    assert!(plain.handoff_doubt.is_none());
    assert!(!plain.reason.contains("核实"), "{}", plain.reason);
    plain.rules_version.clone_from(&r.rules_version);
    let mut doubted = route(set, FAINT_FIGURE_OF_SPEECH);
    doubted.handoff_doubt = None;
    doubted.reason.clone_from(&plain.reason);
    doubted.rules_version.clone_from(&plain.rules_version);
    assert_eq!(doubted, plain, "the doubt changes nothing else");
}

/// A threat of suicide is handed off at once: its hand-off is marked `doubt: false`, so the
/// check's doubt (0.0003 for "我想自杀", a wording the check's training sets lack) never asks the
/// operator to question the caller first. Without the mark, the same text is doubted.
#[test]
fn a_hand_off_marked_doubt_false_is_never_doubted() {
    let text = "我想自杀";
    let r = route(common::bundled(), text);
    assert_eq!(r.rule_id, "suicide-110", "{}", r.reason);
    assert!(r.handoff_doubt.is_none(), "{:?}", r.handoff_doubt);
    assert!(!r.reason.contains("核实"), "{}", r.reason);

    let dir = common::bundled_copy(|s| s.to_owned(), &[]);
    let handoffs = dir.path().join("handoffs.yaml");
    let yaml = std::fs::read_to_string(&handoffs).unwrap();
    assert_eq!(yaml.matches("    doubt: false\n").count(), 1);
    std::fs::write(&handoffs, yaml.replace("    doubt: false\n", "")).unwrap();
    let unmarked = load_dir(dir.path()).expect("loads");
    let r = route(&unmarked, text);
    assert_eq!(r.outcome(), pb::Outcome::Handoff, "{}", r.reason);
    assert!(r.handoff_doubt.is_some(), "{}", r.reason);
}

#[test]
fn a_hand_off_example_the_check_doubts_fails_with_what_to_do() {
    let dir = common::bundled_copy(|s| s.to_owned(), &[]);
    let path = dir.path().join("handoffs.yaml");
    let handoffs = std::fs::read_to_string(&path).unwrap();
    let example = "      - 老人一直咳嗽，刚才咯血了\n";
    assert!(
        handoffs.contains(example),
        "danger-120's first example moved"
    );
    let handoffs = handoffs.replacen(
        example,
        &format!("{example}      - {FAINT_FIGURE_OF_SPEECH}\n"),
        1,
    );
    std::fs::write(&path, handoffs).unwrap();
    let err = match load_dir(dir.path()) {
        Ok(_) => panic!("a doubted hand-off example must fail"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("error[E0701]"), "{err}");
    // It routes to its rule; only the doubt fails it.
    assert!(err.contains("by rule \"danger-120\""), "{err}");
    assert!(
        err.contains("the emergency check doubts this hand-off"),
        "{err}"
    );
    assert!(err.contains("model.handoff_doubt"), "{err}");
}

#[test]
fn a_doubt_setting_without_the_model_is_a_warning() {
    let dir = common::bundled_copy(common::without_emergency_setting, &["emergency.model"]);
    let set = load_dir(dir.path()).expect("loads");
    assert_warns(
        &set,
        "settings.model.handoff_doubt is set but there is no emergency.model",
    );
    assert!(route(&set, FAINT_FIGURE_OF_SPEECH).handoff_doubt.is_none());
}

/// Asserts that loading `set` gave a warning whose message contains `text`.
fn assert_warns(set: &hotline_router::RuleSet, text: &str) {
    assert!(
        set.warnings().iter().any(|w| w.message.contains(text)),
        "no warning about {text:?}: {:?}",
        set.warnings()
    );
}
