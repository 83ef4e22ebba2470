//! Routes one request in a loop: a target for profilers (`perf record`, `valgrind --tool=callgrind`).
//! Usage: [HOTLINE_RULES=DIR] cargo run --release --example route_loop -- [ITERATIONS] [TEXT]

/// mimalloc rather than glibc malloc: the engine allocates many small, short-lived strings per
/// request, and glibc's free lists degrade once a large rule set has been built (28% of the time
/// in `_int_malloc` with 10,000 rules; see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    hotline_router::server::forgo_huge_pages();
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(200_000);
    let text = args.next().unwrap_or_else(|| {
        "你好，我在高新区买的房子还没过户，物业公司一直打电话催我交物业费，说不交就要起诉我，未过户的房产物业费到底应该由谁来交？".to_owned()
    });
    let dir = std::env::var_os("HOTLINE_RULES")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"));
    let set = match hotline_router::load_dir(&dir) {
        Ok(s) => s,
        Err(e) => {
            eprint!("{e}");
            std::process::exit(1);
        }
    };
    let start = std::time::Instant::now();
    let mut bytes = 0usize;
    for _ in 0..n {
        bytes += std::hint::black_box(set.route(std::hint::black_box(
            &hotline_router::RouteInput::text(&text),
        )))
        .rule_id
        .len();
    }
    let el = start.elapsed();
    println!(
        "{n} routes in {el:?}: {:.2} µs each ({bytes})",
        el.as_secs_f64() * 1e6 / n as f64
    );
    let r = set.route(&hotline_router::RouteInput::text(&text));
    println!(
        "{} chars, {} alternatives, {} evidence",
        text.chars().count(),
        r.alternatives.len(),
        r.evidence.len()
    );
    for (stage, ns) in hotline_router::stage_timings(&set, &text, 100_000) {
        println!("  {stage:<10} {:>8.0} ns", ns);
    }
}
