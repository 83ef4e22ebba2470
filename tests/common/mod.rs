//! Helpers shared by the integration tests. Each test binary uses a subset of them.

#![allow(dead_code)]

pub mod server;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use hotline_router::{RuleSet, load_dir};

/// The bundled `rules/` directory.
pub fn bundled_dir() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules")).to_path_buf()
}

/// The bundled rule set, loaded once per test binary.
pub fn bundled() -> &'static RuleSet {
    static SET: OnceLock<RuleSet> = OnceLock::new();
    SET.get_or_init(|| load_dir(&bundled_dir()).expect("bundled rules load"))
}

/// A temporary rules directory holding copies of the named bundled files.
pub fn rules_dir_with(files: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = bundled_dir();
    for f in files {
        std::fs::copy(src.join(f), dir.path().join(f)).unwrap();
    }
    dir
}
