//! Time to load, validate, compile and test a rule set of the bundled rules plus N generated rules.
//! Usage: cargo run --release --example load_time -- [N]

/// mimalloc rather than glibc malloc: the engine allocates many small, short-lived strings per
/// request, and glibc's free lists degrade once a large rule set has been built (28% of the time
/// in `_int_malloc` with 10,000 rules; see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let dir = std::env::temp_dir().join(format!("hotline-gen-{n}-{}", std::process::id()));
    let bundled = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let made = hotline_router::synthetic::write_rules(&bundled, &dir, n).expect("generate rules");
    let runs: Vec<std::time::Duration> = (0..5)
        .map(|_| {
            let t = std::time::Instant::now();
            let set = hotline_router::load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
            std::hint::black_box(set.rules().len());
            t.elapsed()
        })
        .collect();
    let mut sorted = runs.clone();
    sorted.sort();
    println!(
        "{made} generated + bundled rules: load+validate+compile+examples median {:?} (runs {runs:?})",
        sorted[2]
    );
    let _ = std::fs::remove_dir_all(&dir);
}
