//! Routes JSON lines ({"id", "title", "text"}) from standard input with a rule set compiled
//! *without* running its examples, one RouteResponse JSON line per request.
//!
//! For measuring a model that was retrained on part of a corpus (`scripts/
//! train_emergency_model.py --corpus-folds`): such a model may move a rule's example, which
//! makes `route` refuse the rule set, as it should when serving. Never for serving.
//!
//! Usage: cargo run --release --example route_unchecked -- RULES_DIR < requests.jsonl

use std::io::{BufRead, Write};

fn main() {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: route_unchecked RULES_DIR < requests.jsonl");
        std::process::exit(2);
    };
    let set = match hotline_router::ruleset::compile_dir(std::path::Path::new(&dir)) {
        Ok(set) => set,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (n, line) in std::io::stdin().lock().lines().enumerate() {
        let line = line.unwrap_or_else(|e| panic!("line {}: {e}", n + 1));
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("line {}: {e}", n + 1));
        let field = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("");
        let input = hotline_router::RouteInput {
            id: field("id"),
            title: field("title"),
            text: field("text"),
            ..Default::default()
        };
        let resp = set.route(&input);
        let json = serde_json::to_string(&resp).unwrap_or_else(|e| panic!("line {}: {e}", n + 1));
        writeln!(out, "{json}").unwrap_or_else(|e| panic!("stdout: {e}"));
    }
}
