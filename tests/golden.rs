//! Golden decisions: the full decision JSON of the bundled rules for the hand-written requests in
//! `tests/golden/requests.jsonl`, kept in `tests/golden/decisions.jsonl` (one line per request,
//! in the same order, without `rulesVersion`, which is kept once in
//! `tests/golden/rules-version.txt`).
//!
//! Any change to a decision (outcome, department, articles, evidence, alternatives, reason,
//! place, due date, …) or to the rules fails this test with the requests that changed. After
//! reviewing the change, regenerate the files with
//!
//! ```sh
//! UPDATE_GOLDEN=1 cargo test --test golden
//! ```
//!
//! and review `git diff tests/golden` before committing.

use std::path::Path;

use hotline_router::RouteInput;
use hotline_router::situate::calendar::Date;

mod common;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");

#[derive(serde::Deserialize)]
struct Request {
    id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    place: String,
    #[serde(default)]
    received: Option<String>,
}

/// The decision of every golden request as one JSON line, and the rules version.
fn decide_all() -> (Vec<(String, String)>, String) {
    let set = common::bundled();
    let requests = std::fs::read_to_string(Path::new(DIR).join("requests.jsonl")).unwrap();
    let mut out = Vec::new();
    for (n, line) in requests.lines().enumerate() {
        let r: Request = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("requests.jsonl line {}: {e}", n + 1));
        let received = r.received.as_deref().map(|d| {
            Date::parse(d).unwrap_or_else(|| panic!("requests.jsonl line {}: bad date", n + 1))
        });
        let input = RouteInput {
            id: &r.id,
            title: &r.title,
            text: &r.text,
            place: &r.place,
            received,
            ..RouteInput::default()
        };
        input.validate().unwrap();
        let mut json = serde_json::to_value(set.route(&input)).unwrap();
        if let Some(o) = json.as_object_mut() {
            o.remove("rulesVersion");
        }
        out.push((r.id, json.to_string()));
    }
    (out, set.version().to_owned())
}

#[test]
fn decisions_match_the_golden_files() {
    let (decisions, version) = decide_all();
    assert!(decisions.len() >= 30, "{} golden requests", decisions.len());
    let lines: Vec<&str> = decisions.iter().map(|(_, d)| d.as_str()).collect();
    let expected_path = Path::new(DIR).join("decisions.jsonl");
    let version_path = Path::new(DIR).join("rules-version.txt");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&expected_path, lines.join("\n") + "\n").unwrap();
        std::fs::write(&version_path, format!("{version}\n")).unwrap();
        eprintln!("golden files rewritten; review `git diff tests/golden`");
        return;
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
    let expected: Vec<&str> = expected.lines().collect();
    let changed: Vec<&str> = decisions
        .iter()
        .enumerate()
        .filter(|(i, (_, d))| expected.get(*i) != Some(&d.as_str()))
        .map(|(_, (id, _))| id.as_str())
        .collect();
    let expected_version = std::fs::read_to_string(&version_path).unwrap_or_default();
    assert!(
        changed.is_empty() && expected.len() == lines.len(),
        "decisions changed for {changed:?} ({} expected, {} now); review, then regenerate with \
         UPDATE_GOLDEN=1 cargo test --test golden",
        expected.len(),
        lines.len()
    );
    assert_eq!(
        expected_version.trim(),
        version,
        "the rules changed (no golden decision did); regenerate with UPDATE_GOLDEN=1 cargo test \
         --test golden"
    );
}
