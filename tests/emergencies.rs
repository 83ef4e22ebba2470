//! Emergencies are never missed, and ordinary requests are not sent to 110/119/120/122.
//!
//! `tests/data/emergencies*.jsonl` hold requests written for this test by ninety-eight authors working
//! apart (not taken from any corpus) about people hurt or in danger now, each with the lines that
//! apply, the primary one first; `tests/data/non-emergencies*.jsonl` hold ordinary requests that
//! use the same words (a fire-safety complaint, last month's accident, "急" about a permit). The
//! targets:
//!
//! | set | target | guarded here (the figure of the bundled rules, so that it cannot fall) |
//! | --- | --- | --- |
//! | emergencies | ≥ 98 % handed off, to one of their lines | ≥ 92.0 % |
//! | emergencies | | ≥ 98.30 % handed off to a right line or flagged by the emergency check |
//! | non-emergencies | ≤ 2 % handed off | ≤ 1.91 % handed off, ≤ 0.54 % flagged by the check |
//! | hand-offs the check doubts (`settings.model.handoff_doubt`) | | ≥ 80 % of the ordinary requests handed off; ≤ 2 real emergencies |
//!
//! The emergency check (`rules/emergency.model`) is trained on every set read and on
//! `-thirteenth` to `-seventeenth` (below), never on the sets held out from it; it flags, never
//! hands off (tests/emergency_check.rs). Its figures on the sets it is trained on flatter it;
//! docs/accuracy.md gives those on the held-out ones.
//!
//! What the hand-off rules were written from (docs/accuracy.md reports each part):
//! - read: the even-numbered lines of `emergencies.jsonl` (lines 1, 3, 5, … in a text editor), all
//!   of `emergencies-more.jsonl`, `-third`, `-fifth`, `-sixth`, `-seventh`, `-ninth` and
//!   `-eleventh`, with their non-emergency files, and `-nineteenth` to `-thirty-first`,
//!   `-thirty-third` to `-thirty-sixth`, `-thirty-eighth` to `-forty-first`, `-forty-third`,
//!   `-forty-fourth`, `-forty-sixth`, `-forty-seventh`, `-forty-ninth`, `-fiftieth` and
//!   `-fifty-third`, `-fifty-fifth`, `-fifty-sixth`, `-fifty-eighth`, `-fifty-ninth`, `-sixty-first`,
//!   `-sixty-second`, `-sixty-fourth`, `-sixty-sixth` to `-sixty-ninth`, `-seventy-first`,
//!   `-seventy-second`, `-seventy-fourth`, `-seventy-fifth`, `-seventy-seventh` to
//!   `-seventy-ninth`, `-eighty-first` to `-eighty-third`, `-eighty-fifth`, `-eighty-sixth` and
//!   `-eighty-eighth` to `-ninetieth`, `-ninety-second`, `-ninety-third`, `-ninety-fifth` to
//!   `-ninety-seventh`, `-ninety-ninth` to `-hundred-first` and `-hundred-third` to
//!   `-hundred-fifth` (written by
//!   rule authors after the others, for the kinds the held-out sets miss most, for ordinary requests
//!   in emergency words, for callers' voices, typed messages, third parties, descriptions without
//!   the obvious word, callers who first complain or ask about something else, villages, farms,
//!   building sites and factories, messages of a few words, long messages with the emergency
//!   buried in them, and ten of the kinds most missed, with callers who add something of the
//!   past);
//! - held out, never read: the odd-numbered lines of `emergencies.jsonl`, and `-fourth`,
//!   `-eighth`, `-tenth` and `-twelfth` (emergencies and non-emergencies), each written by an
//!   author who saw neither the rules nor the other sets;
//! - never read, held out from the rules: `-thirteenth` to `-seventeenth` (five more authors,
//!   each in a voice of their own: speech-recognition transcripts, children, foreigners and deaf
//!   residents, third parties at work, the outdoors and relatives far away, home and family); the
//!   emergency check is trained on them;
//! - never read, held out from the rules and from the check: `-eighteenth` (an author who saw
//!   neither the rules nor any set: chat messages, operators' notes, long messages, dialect,
//!   elderly callers and children), measured once on arrival, `-thirty-second` (another such
//!   author, 2026-12-06: callers who give the background first or mention the past while
//!   something is happening now, letters to the mayor's hotline), measured on arrival with the
//!   rules of the thirty-first set, `-thirty-seventh` (another, 2026-12-06: a busy week of
//!   contacts, every kind in proportion), measured on arrival with the rules of the thirty-fifth
//!   set, `-forty-second` (another, 2026-12-06: a holiday fortnight, Spring Festival and
//!   National Day, every kind in proportion), measured on arrival with the rules of the
//!   thirty-ninth set, and `-forty-fifth` (another: a southern city's summer, typhoons, heat and
//!   swimming), measured on arrival with the rules of the forty-first set, and `-forty-eighth`
//!   (another: a northern city's autumn and winter, heating season, ice and fireworks), measured on
//!   arrival with the rules of the forty-fourth set, and `-fifty-first` (another: an inland city's
//!   spring, grave fires, renovation, kites and spring ploughing), measured on arrival with the
//!   rules of the forty-seventh set, and `-fifty-second` (another: a southern coastal city's
//!   summer, typhoons, beaches, night markets and ports), measured on arrival with the rules
//!   before and after the words of the present (`handoffs_now`), and `-fifty-fourth` (another: a
//!   mountainous south-western city's autumn, landslides, tunnels, hot pot and hiking), measured
//!   on arrival with the rules before and after the fifty-third set's edits, and `-fifty-seventh`
//!   (another: an inland industrial city's late spring and early summer, factories, logistics
//!   parks, dormitories, building sites, exam season, the dragon-boat festival, thunderstorms),
//!   measured on arrival with the rules before and after the fifty-fifth and fifty-sixth sets'
//!   edits, and `-sixtieth` (another: a coastal metropolis's autumn, high-rises, the metro,
//!   e-bikes and delivery riders, elderly people living alone, the National Day crowds, typhoon
//!   rain), measured on arrival with the rules before and after the fifty-eighth and fifty-ninth
//!   sets' edits, and `-sixty-third` (another: a real day's mix of calls, every kind in
//!   proportion), measured on arrival with the rules before and after the sixty-first and
//!   sixty-second sets' edits, and `-sixty-fifth` (another: a north-eastern city's winter and
//!   spring, heating season, ice, coal stoves, fireworks, villages), measured on arrival with the
//!   rules before and after the sixty-fourth set's edits, and `-seventieth` (another: a humid
//!   southern metropolis, urban villages, e-bikes, night markets, migrant workers, typhoons),
//!   measured on arrival with the rules before and after the sixty-eighth and sixty-ninth sets'
//!   edits, and `-seventy-third` (another: a north-western region, deserts and mountain roads,
//!   herders, mines, sandstorms, coal heating), measured on arrival with the rules before and
//!   after the seventy-first and seventy-second sets' edits, and `-seventy-sixth` (another: an
//!   eastern river-delta city over a year, water towns, canals, chemical parks, workshops,
//!   typhoons), measured on arrival with the rules before and after the seventy-fourth and
//!   seventy-fifth sets' edits, and `-eightieth` (another: every kind of emergency, at most twelve
//!   of each, and ordinary requests of more than twenty-five kinds), measured on arrival with the
//!   rules before and after the seventy-seventh to seventy-ninth sets' edits, and `-eighty-fourth`
//!   (another: a central-China river city over a year, lakes, plum-rain floods, universities,
//!   bridges and tunnels), measured on arrival with the rules before and after the eighty-first
//!   to eighty-third sets' edits, and `-eighty-seventh` (another: a northern inland province over
//!   a year, coal and steel towns, wheat harvest, trucks, villages), measured on arrival with the
//!   rules before and after the eighty-fifth and eighty-sixth sets' edits, and `-ninety-first`
//!   (another: a western province over a year, earthquakes, mountain highways, rivers in flood,
//!   grasslands, tourists), measured on arrival with the rules before and after the eighty-eighth
//!   to ninetieth sets' edits, and `-ninety-fourth` (another: a large eastern city over a year,
//!   lakes and the river, university towns, metro building sites), measured on arrival with the
//!   rules before and after the ninety-second and ninety-third sets' edits, and `-ninety-eighth`
//!   (another: every kind of emergency, five to ten of each, and ordinary requests of sixty-one
//!   kinds), measured on arrival with the rules before and after the ninety-fifth to
//!   ninety-seventh sets' edits, and `-hundred-second` (another: a central-China city's night
//!   shift over a year, every kind in proportion), measured on arrival with the rules before and
//!   after the ninety-ninth to hundred-first sets' edits, and `-hundred-sixth` (another: a
//!   southern provincial capital over a year, every kind in proportion), measured on arrival
//!   with the rules before and after the hundred-third to hundred-fifth sets' edits.
//!
//! `tests/data/held-out.txt` names the held-out parts and what each is held out from; this test
//! and `scripts/train_emergency_model.py` both read it.
//!
//! The guards are the figures of the bundled rules on all hundred and six pairs of files, held-out ones
//! included, so that an edit cannot lose ground; two of them are below the issue's targets, which
//! the held-out sets of new authors show are not met (docs/accuracy.md).
//!
//! Each run prints the figures and the misses of the files that were read, so a rule author sees
//! what to fix; the misses of the held-out files are counted, never printed, so that they keep
//! measuring phrasings nobody has read.

use hotline_router::RouteInput;
use hotline_router::proto::v1 as pb;

mod common;

/// The share of the emergency sets the bundled rules must hand off to a right line.
const FLOOR: f64 = 0.920;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

#[derive(serde::Deserialize)]
struct Case {
    text: String,
    #[serde(default)]
    lines: Vec<String>,
    kind: String,
    /// Whether the case is in a held-out part (see the module's documentation).
    #[serde(skip)]
    held_out: bool,
}

/// The parts the rules were not written from, one per line with what they are held out from;
/// shared with scripts/train_emergency_model.py.
const HELD_OUT_PARTS: &str = include_str!("data/held-out.txt");

/// The held-out parts: the odd-numbered lines of `emergencies.jsonl` (0-based index odd) and the
/// whole files of the parts named in [`HELD_OUT_PARTS`].
fn held_out(file: &str, index: usize) -> bool {
    // The part's whole name: `-twenty-fourth` is a read set, not `-fourth`.
    let part = file
        .strip_prefix("non-emergencies-")
        .or_else(|| file.strip_prefix("emergencies-"))
        .and_then(|rest| rest.strip_suffix(".jsonl"));
    (file == "emergencies.jsonl" && index % 2 == 1)
        || part.is_some_and(|part| {
            HELD_OUT_PARTS
                .lines()
                .filter(|l| !l.starts_with('#'))
                .any(|l| l.split_whitespace().next() == Some(part))
        })
}

/// The cases of `name.jsonl` and of every `name-*.jsonl` (`-more`, `-third`, …), in file-name
/// order.
fn cases(name: &str) -> Vec<Case> {
    files(name).iter().flat_map(|f| cases_of(f)).collect()
}

/// The files of `name.jsonl` and every `name-*.jsonl`, in file-name order.
fn files(name: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(DATA)
        .unwrap_or_else(|e| panic!("{DATA}: {e}"))
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|f| {
            f.ends_with(".jsonl")
                && (*f == format!("{name}.jsonl") || f.starts_with(&format!("{name}-")))
        })
        .collect();
    files.sort();
    assert!(files.len() >= 2, "{DATA}: the {name} files are missing");
    files
}

fn cases_of(file: &str) -> Vec<Case> {
    let path = format!("{DATA}/{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let mut c: Case =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{path}:{}: {e}", i + 1));
            c.held_out = held_out(file, i);
            c
        })
        .collect()
}

fn route(text: &str) -> pb::RouteResponse {
    common::bundled().route(&RouteInput {
        text,
        ..Default::default()
    })
}

/// The primary line and the co-lines of a decision (empty when it is not a hand-off).
fn lines_of(r: &pb::RouteResponse) -> Vec<String> {
    r.handoff
        .iter()
        .flat_map(|h| {
            std::iter::once(h.line.clone()).chain(h.co_lines.iter().map(|c| c.line.clone()))
        })
        .collect()
}

#[test]
fn emergencies_are_handed_off_to_a_right_line() {
    let cases = cases("emergencies");
    assert!(
        cases.len() >= 150,
        "the emergency set has {} requests",
        cases.len()
    );
    let (mut right, mut all_lines) = (0, 0);
    let mut misses = Vec::new();
    for c in &cases {
        assert!(!c.lines.is_empty(), "{}: no expected line", c.text);
        let r = route(&c.text);
        let got = lines_of(&r);
        let primary_right = got.first().is_some_and(|l| c.lines.contains(l));
        if primary_right {
            right += 1;
            if c.lines.iter().all(|l| got.contains(l)) {
                all_lines += 1;
            }
        } else {
            misses.push((
                c.held_out,
                format!(
                    "  [{}] {} → {} {:?} (expected {:?})",
                    c.kind,
                    c.text,
                    r.outcome_name(),
                    got,
                    c.lines
                ),
            ));
        }
    }
    let n = cases.len() as f64;
    println!(
        "emergencies: {right}/{} handed off to a right line ({:.1} %); {all_lines} with every line \
         expected ({:.1} %)",
        cases.len(),
        100.0 * right as f64 / n,
        100.0 * all_lines as f64 / n
    );
    print_misses(&misses);
    // The target is 98 %; the bundled rules reach 92.0 % of all hundred and six files (71-92 % of
    // each held-out set of a new author; docs/accuracy.md; the read `-ninety-second` and
    // `-ninety-third`, 114 of 160 and 16 of 40 on arrival, took the whole below 92.0 %, and the
    // read `-ninety-fifth` to `-ninety-seventh` and the held-out `-ninety-eighth`, 125 and 107 of
    // 160, 36 of 40 and 180 of 200 on arrival, below 91.9 %; the edits of the ninety-ninth to
    // hundred-first sets took it back to 92.0 %), and this floor keeps an edit from losing ground.
    assert!(
        right as f64 / n >= FLOOR,
        "{} of {} emergencies missed (the floor is {:.0} %, the target 98 %)",
        misses.len(),
        cases.len(),
        100.0 * FLOOR
    );
}

/// Prints the misses of the files that were read, and only the count of the held-out ones.
fn print_misses(misses: &[(bool, String)]) {
    for (_, m) in misses.iter().filter(|(held, _)| !held) {
        println!("{m}");
    }
    let held = misses.iter().filter(|(held, _)| *held).count();
    println!("  … and {held} in the held-out files (not printed)");
}

/// Whether a decision puts the request before a person at once as a (possible) emergency: a
/// hand-off to one of `lines`, or the emergency check's flag.
fn urgent(r: &pb::RouteResponse, lines: &[String]) -> bool {
    lines_of(r).first().is_some_and(|l| lines.contains(l)) || r.possible_emergency.is_some()
}

#[test]
fn no_emergency_waits_in_the_ordinary_queue() {
    // Counts per file only: the held-out files' misses are not printed, so that nobody reads
    // them while editing the rules or retraining the check.
    let (mut total, mut urgent_total) = (0, 0);
    for file in files("emergencies") {
        let cases = cases_of(&file);
        let n = cases
            .iter()
            .filter(|c| urgent(&route(&c.text), &c.lines))
            .count();
        println!(
            "{file}: {n}/{} handed off to a right line or flagged ({:.1} %)",
            cases.len(),
            100.0 * n as f64 / cases.len() as f64
        );
        total += cases.len();
        urgent_total += n;
    }
    let share = urgent_total as f64 / total as f64;
    println!(
        "all emergencies: {urgent_total}/{total} ({:.1} %)",
        100.0 * share
    );
    // 98.30 % of all hundred and six files (16,286 of 16,567) with the bundled rules and check,
    // which is trained on the read sets among them; on the sets held out from both, 5,495 of
    // 5,605 (docs/accuracy.md). Before the check was trained on every read set, 97.79 % (16,201):
    // held-out sets of new authors had taken it below 98.0 % one by one, and read ones too (the
    // read `-eighty-sixth` and `-eighty-ninth`, 150 and 140 of 160 on arrival).
    assert!(
        share >= 0.9830,
        "{} emergencies would wait in the ordinary queue",
        total - urgent_total
    );
}

#[test]
fn ordinary_requests_with_the_same_words_are_not_handed_off() {
    let cases = cases("non-emergencies");
    assert!(
        cases.len() >= 150,
        "the non-emergency set has {} requests",
        cases.len()
    );
    let (mut handed, mut flagged, mut doubted) = (Vec::new(), 0, 0);
    for c in &cases {
        let r = route(&c.text);
        if r.outcome() == pb::Outcome::Handoff {
            handed.push((
                c.held_out,
                format!("  [{}] {} → {:?}", c.kind, c.text, lines_of(&r)),
            ));
            doubted += usize::from(r.handoff_doubt.is_some());
        }
        if r.possible_emergency.is_some() {
            flagged += 1;
        }
    }
    println!(
        "non-emergencies: {}/{} handed off ({:.1} %), {flagged} flagged by the emergency check",
        handed.len(),
        cases.len(),
        100.0 * handed.len() as f64 / cases.len() as f64
    );
    println!(
        "  of which the emergency check doubted {doubted} (they stand, and ask the operator to \
         confirm with the caller)"
    );
    print_misses(&handed);
    // The target is at most 2 % handed off. All hundred and six files: 1.90 % handed off (289),
    // 261 of them in the held-out sets of new authors (2-11 % of each), and 0.54 % flagged (82:
    // they go to an operator at once, marked as a possible emergency; all 82 are among the
    // 5,500 ordinary requests held out from the check, which is trained on the read sets).
    // docs/accuracy.md's emergency table gives each set's figures on its arrival and after the
    // edits it led to; the guards are today's figures, so that an edit cannot lose ground.
    let n = cases.len() as f64;
    assert!(
        handed.len() as f64 / n <= 0.0191,
        "{} ordinary requests handed off (at most 1.91 %; target: at most 2 %)",
        handed.len()
    );
    assert!(
        flagged as f64 / n <= 0.0054,
        "{flagged} ordinary requests flagged by the emergency check (at most 0.54 %)"
    );
    // The check doubts 239 of the 289 ordinary requests the rules hand off (most of them in the
    // sets held out from it, which it never saw): at least four in five must stay doubted.
    assert!(
        doubted * 5 >= handed.len() * 4,
        "the emergency check doubted only {doubted} of {} ordinary requests handed off",
        handed.len()
    );
}

#[test]
fn the_check_almost_never_doubts_a_real_emergency_handed_off() {
    let cases = cases("emergencies");
    let (mut handed, mut doubted) = (0, Vec::new());
    for c in &cases {
        let r = route(&c.text);
        if r.outcome() != pb::Outcome::Handoff {
            continue;
        }
        handed += 1;
        if let Some(d) = &r.handoff_doubt {
            doubted.push((
                c.held_out,
                format!(
                    "  [{}] {} → doubted at {:.3}",
                    c.kind, c.text, d.probability
                ),
            ));
        }
    }
    println!(
        "emergencies handed off: {handed}, of which the emergency check doubted {}",
        doubted.len()
    );
    print_misses(&doubted);
    // 2 of the 15,519 real emergencies the rules hand off carry the check's doubt, both in sets
    // held out from it. Until the check was trained on every read set it doubted 133, most of
    // them operators' notes and callers who first complain or ask about something else, a
    // preamble it now has read (14 of them in the held-out sets). A doubt delays a real
    // emergency by the operator's question, so the guard is that figure.
    assert!(
        doubted.len() <= 2,
        "{} real emergencies handed off with a doubt",
        doubted.len()
    );
}

#[test]
fn a_crash_with_people_hurt_needs_122_and_120() {
    let r = route("十字路口发生车祸了，有人被撞倒在地上流了很多血");
    assert_eq!(r.outcome(), pb::Outcome::Handoff, "{}", r.reason);
    let mut got = lines_of(&r);
    got.sort();
    assert_eq!(got, ["120", "122"], "{}", r.reason);
    assert!(r.reason.contains("一并通知"), "{}", r.reason);
}

#[test]
fn the_issues_hand_written_requests_find_their_rules() {
    // Requests that once found no rule, or waited in the manual queue.
    let r = route("楼下广场舞音响开得特别大");
    assert_eq!(r.outcome(), pb::Outcome::Dispatch, "{}", r.reason);
    assert_eq!(r.rule_id, "square-dance-noise");
    let r = route("有人在阳台上往下扔东西，差点砸到行人");
    assert_eq!(r.outcome(), pb::Outcome::Handoff, "{}", r.reason);
    assert_eq!(lines_of(&r), ["110"]);
    // The issue's near-synonyms for unpaid wages (拖欠工资 / 不发工资 / 欠薪).
    for (text, rule) in [
        ("公司拖欠工资三个月了", "wage-arrears"),
        ("老板不发工资", "wage-arrears"),
        ("公司欠薪三个月了", "wage-arrears"),
        ("工地欠薪，包工头跑了", "migrant-worker-wages"),
    ] {
        let r = route(text);
        assert_eq!(r.outcome(), pb::Outcome::Dispatch, "{text}: {}", r.reason);
        assert_eq!(r.rule_id, rule, "{text}: {}", r.reason);
    }
    // Other everyday phrasings: the noise of a drill, and smoke a factory lets out, which is
    // pollution, not a fire (the emergency check may still put it before an operator).
    // The rules find the drill; the classifier learned from the corpus, which files renovation
    // noise under 城乡建设 where the rule has 环境保护, so the cross-check sends it to a person.
    let text = "隔壁装修电钻声从早响到晚";
    let rules_alone = common::bundled().with_model(None).unwrap();
    let r = rules_alone.route(&RouteInput {
        text,
        ..Default::default()
    });
    assert_eq!(r.rule_id, "renovation-noise", "{}", r.reason);
    let r = route(text);
    assert_eq!(r.decided_by(), pb::DecidedBy::CrossCheck, "{}", r.reason);
    assert!(r.reason.contains("环境保护"), "{}", r.reason);
    let r = route("工厂排放黑烟，味道很刺鼻");
    assert_ne!(r.outcome(), pb::Outcome::Handoff, "{}", r.reason);
}
