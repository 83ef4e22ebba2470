//! Runs a target on files without AFL: a corpus (regression), a crash or hang (reproduction).
//!
//! ```sh
//! cargo run --release --bin replay -- TARGET PATH...      # files or directories
//! ```
//!
//! Each input runs under `catch_unwind`; an input that panics is copied to `crashes/TARGET/`, one
//! that takes longer than the hang budget (`HANG_MS`, default 1000 ms; 5000 ms for `load_rules`)
//! to `hangs/TARGET/`. Prints the count, the slowest input and its time. Exit status 1 when
//! anything panicked or hung.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hotline_router_fuzz::Target;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(target) = args.first().and_then(|t| Target::parse(t)) else {
        eprintln!("usage: replay route_text|decode_request|load_rules PATH...");
        std::process::exit(2);
    };
    let budget = Duration::from_millis(
        std::env::var("HANG_MS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(if target == Target::LoadRules {
                5000
            } else {
                1000
            }),
    );
    let mut files = Vec::new();
    for p in &args[1..] {
        collect(Path::new(p), &mut files);
    }
    files.sort();
    hotline_router_fuzz::init(target);

    let out = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (mut panics, mut hangs) = (0, 0);
    let (mut slowest, mut slowest_file) = (Duration::ZERO, PathBuf::new());
    let started = Instant::now();
    for f in &files {
        let data = std::fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let t0 = Instant::now();
        let result = std::panic::catch_unwind(|| target.run(&data));
        let took = t0.elapsed();
        if took > slowest {
            (slowest, slowest_file) = (took, f.clone());
        }
        let keep = |kind: &str| {
            let dir = out.join(kind).join(target.name());
            std::fs::create_dir_all(&dir).expect("create output dir");
            let name = f.file_name().map(|n| n.to_owned()).unwrap_or_default();
            std::fs::write(dir.join(name), &data).expect("write input");
        };
        if result.is_err() {
            panics += 1;
            eprintln!("PANIC: {}", f.display());
            keep("crashes");
        } else if took > budget {
            hangs += 1;
            eprintln!("HANG ({took:?} > {budget:?}): {}", f.display());
            keep("hangs");
        }
    }
    println!(
        "{}: {} inputs in {:.2?}, {panics} panics, {hangs} hangs (> {budget:?}); slowest {slowest:?} ({})",
        target.name(),
        files.len(),
        started.elapsed(),
        slowest_file.display()
    );
    if panics + hangs > 0 {
        std::process::exit(1);
    }
}

fn collect(p: &Path, out: &mut Vec<PathBuf>) {
    if p.is_dir() {
        for e in std::fs::read_dir(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())) {
            collect(&e.expect("dir entry").path(), out);
        }
    } else if p.is_file() {
        out.push(p.to_owned());
    }
}
