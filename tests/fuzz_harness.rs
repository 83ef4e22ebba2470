//! The fuzz targets' harness (`fuzz/src/lib.rs`), built here as a module and run on part of the
//! corpus the campaigns kept (`fuzz/corpus/`, docs/fuzzing.md).
//!
//! `fuzz/` is a workspace of its own (AFL++ is not needed to build or test the project), so
//! nothing else builds its code between campaigns; it once fell behind the library's API (a
//! field added to `RouteInput`) and no one saw. Here it is compiled with every test run, and its
//! invariants (evidence spans inside the text, probabilities in 0..1, responses that round-trip,
//! rule sets that compile route) are checked on inputs that reached new code in a campaign.

#[allow(dead_code)] // the AFL binaries' entry points (`init`, `Target`) are not used here
#[path = "../fuzz/src/lib.rs"]
mod harness;

use std::path::{Path, PathBuf};

/// Every `step`-th file of a target's kept corpus, in name order (names are content hashes, so
/// the sample is a fixed, arbitrary one).
fn sample(target: &str, step: usize) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 100,
        "{}: {} inputs; the campaigns keep hundreds",
        dir.display(),
        paths.len()
    );
    paths
        .into_iter()
        .step_by(step)
        .map(|p| {
            let bytes = std::fs::read(&p).expect("corpus file");
            (p, bytes)
        })
        .collect()
}

#[test]
fn the_route_text_corpus_routes_within_the_responses_invariants() {
    for (path, bytes) in sample("route_text", 4) {
        let outcome = std::panic::catch_unwind(|| harness::route_text(&bytes));
        assert!(outcome.is_ok(), "{} panicked", path.display());
    }
}

#[test]
fn the_decode_request_corpus_decodes_validates_and_routes() {
    for (path, bytes) in sample("decode_request", 4) {
        let outcome = std::panic::catch_unwind(|| harness::decode_request(&bytes));
        assert!(outcome.is_ok(), "{} panicked", path.display());
    }
}

#[test]
fn the_load_rules_corpus_compiles_or_reports_errors() {
    // A replaced bundled file compiles the whole set (about a second each in a debug build):
    // a small sample.
    for (path, bytes) in sample("load_rules", 40) {
        let outcome = std::panic::catch_unwind(|| harness::load_rules(&bytes));
        assert!(outcome.is_ok(), "{} panicked", path.display());
    }
}
