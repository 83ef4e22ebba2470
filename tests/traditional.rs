//! Traditional characters route like simplified ones: every example and counterexample of the
//! bundled rules, written in traditional characters, gets the decision its simplified text gets.
//!
//! The traditional text is made with OpenCC's simplified → traditional character table
//! (`STCharacters.txt`, first candidate, character by character; vendored beside the
//! traditional → simplified table `normalize` uses, and used only here). Such a text is what a
//! caller typing traditional characters would send, give or take OpenCC's phrase-level choices
//! (which pick among candidates, and so only choose between traditional forms that fold to the
//! same simplified character).

use std::collections::HashMap;
use std::path::Path;

use hotline_router::engine::normalize::normalize;
use hotline_router::proto::v1 as pb;
use hotline_router::{RouteInput, RuleSet, load_dir};

const ST_CHARACTERS: &str = include_str!("../src/engine/opencc/STCharacters.txt");
const TS_CHARACTERS: &str = include_str!("../src/engine/opencc/TSCharacters.txt");

/// An OpenCC character table: each key with its first candidate.
fn first_candidates(table: &str) -> HashMap<char, char> {
    let mut map = HashMap::new();
    for line in table.lines().map(|l| l.trim_end_matches('\r')) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, candidates) = line.split_once('\t').expect("key, tab, candidates");
        let first = candidates.split(' ').next().expect("a candidate");
        let (mut k, mut f) = (key.chars(), first.chars());
        let (Some(k), None, Some(f), None) = (k.next(), k.next(), f.next(), f.next()) else {
            panic!("a one-character key and candidate: {line:?}");
        };
        map.insert(k, f);
    }
    map
}

fn convert(text: &str, table: &HashMap<char, char>) -> String {
    text.chars().map(|c| *table.get(&c).unwrap_or(&c)).collect()
}

fn bundled() -> RuleSet {
    load_dir(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"))).expect("bundled rules load")
}

/// What must not change when the same request is typed in traditional characters.
#[derive(Debug, PartialEq)]
struct Decision {
    outcome: i32,
    department: String,
    rule_id: String,
    score: String,
    /// (term, start, end) in characters of the original: the lengths are equal, so the offsets
    /// are too.
    evidence: Vec<Span>,
    /// Rule, outcome, department, score and evidence of each alternative.
    alternatives: Vec<(String, i32, String, String, Vec<Span>)>,
}

/// A cited term and where it is: (term, start, end).
type Span = (String, u32, u32);

/// The cited terms and where they are; not the cited text, which is the caller's own characters.
fn spans(evidence: &[pb::Evidence]) -> Vec<Span> {
    evidence
        .iter()
        .map(|e| (e.term.clone(), e.start, e.end))
        .collect()
}

fn decide(set: &RuleSet, text: &str) -> Decision {
    let r = set.route(&RouteInput::text(text));
    Decision {
        outcome: r.outcome,
        department: r.department.map(|d| d.id).unwrap_or_default(),
        rule_id: r.rule_id,
        score: format!("{:.6}", r.score),
        evidence: spans(&r.evidence),
        alternatives: r
            .alternatives
            .iter()
            .map(|a| {
                (
                    a.rule_id.clone(),
                    a.outcome,
                    a.department
                        .as_ref()
                        .map(|d| d.id.clone())
                        .unwrap_or_default(),
                    format!("{:.6}", a.score),
                    spans(&a.evidence),
                )
            })
            .collect(),
    }
}

#[test]
fn every_rule_example_routes_the_same_in_traditional_characters() {
    let set = bundled();
    let s2t = first_candidates(ST_CHARACTERS);
    let t2s = first_candidates(TS_CHARACTERS);
    let report = set.run_examples();
    let (mut checked, mut changed, mut skipped) = (0usize, 0usize, 0usize);
    let mut differing = Vec::new();
    for example in &report.results {
        let simplified = &example.text;
        let traditional = convert(simplified, &s2t);
        // S → T → S is not the identity for a few characters: a simplified character whose first
        // traditional candidate folds back to another simplified character (侭 → 儘 → 尽,
        // 馀 → 餘 → 余, 麽 → 麼 → 么, …). An example containing one would be a different request
        // once converted, so it is skipped and counted, not compared: its traditional form is
        // not what the simplified text says.
        if convert(&traditional, &t2s) != *simplified {
            skipped += 1;
            continue;
        }
        checked += 1;
        if traditional != *simplified {
            changed += 1;
        }
        assert_eq!(
            traditional.chars().count(),
            simplified.chars().count(),
            "character-level conversion keeps the length"
        );
        let (n_s, n_t) = (normalize(simplified), normalize(&traditional));
        let (d_s, d_t) = (decide(&set, simplified), decide(&set, &traditional));
        if n_s.text() != n_t.text() || d_s != d_t {
            differing.push(format!(
                "rule {} ({:?}, {}):\n  simplified  {simplified}\n  traditional {traditional}\n  \
                 normalized  {} / {}\n  decisions   {d_s:?}\n          vs  {d_t:?}",
                example.rule_id,
                example.kind,
                example.location,
                n_s.text(),
                n_t.text()
            ));
        }
    }
    println!(
        "{} examples and counterexamples: {checked} checked ({changed} of them with traditional \
         characters), {} differ, {skipped} skipped (S→T→S not the identity)",
        report.results.len(),
        differing.len()
    );
    assert!(checked >= 600, "only {checked} examples checked");
    assert!(
        changed * 10 > checked * 9,
        "only {changed} of {checked} examples have a traditional character"
    );
    assert!(
        differing.is_empty(),
        "{} of {checked} examples route differently in traditional characters:\n{}",
        differing.len(),
        differing.join("\n")
    );
}

#[test]
fn unpaid_wages_in_traditional_characters() {
    let set = bundled();
    let traditional = "公司三個月沒發工資了";
    let simplified = "公司三个月没发工资了";
    assert_eq!(normalize(traditional).text(), simplified);
    let t = set.route(&RouteInput::text(traditional));
    let s = set.route(&RouteInput::text(simplified));
    assert_eq!(s.outcome, pb::Outcome::Dispatch as i32, "{}", s.reason);
    assert_eq!(s.rule_id, "wage-arrears");
    assert_eq!((t.outcome, &t.rule_id), (s.outcome, &s.rule_id));
    assert_eq!(t.department, s.department);
    // The evidence points at the same characters, and cites the caller's (traditional) text.
    assert_eq!(spans(&t.evidence), spans(&s.evidence));
    assert!(!t.evidence.is_empty());
    for e in &t.evidence {
        let cited: String = traditional
            .chars()
            .skip(e.start as usize)
            .take((e.end - e.start) as usize)
            .collect();
        assert_eq!(e.text, cited, "{e:?}");
    }
}
