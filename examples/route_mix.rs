//! Routes the load generator's requests (`examples/requests.jsonl`) in turn, with and without
//! other memory traffic between calls, and prints each stage's average time: what a request
//! costs a server whose caches the network stack, the runtime and other work have used since
//! the last one, against a loop that keeps everything hot (BENCHMARKS.md §5).
//! Usage: cargo run --release --example route_mix -- [ITERATIONS] [KIB_BETWEEN_CALLS ...]
//! Transparent huge pages are off, as in the server (`forgo_huge_pages`); `KEEP_THP=1` leaves
//! them as the kernel has them, to see what the page tables' misses cost.

/// mimalloc, as the server uses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    if std::env::var_os("KEEP_THP").is_none() {
        hotline_router::server::forgo_huge_pages();
    }
    let mut args = std::env::args().skip(1);
    let n: u32 = args.next().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let mut sizes: Vec<usize> = args.filter_map(|s| s.parse().ok()).collect();
    if sizes.is_empty() {
        sizes = vec![0, 256, 1024, 2048];
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/requests.jsonl");
    let requests = std::fs::File::open(path)
        .map(std::io::BufReader::new)
        .and_then(hotline_router::authoring::eval::read_corpus_unlabelled)
        .map(|(requests, _)| requests)
        .unwrap_or_default();
    let texts: Vec<&str> = requests.iter().map(|r| r.text.as_str()).collect();
    let rules = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"));
    let set = match hotline_router::load_dir(rules) {
        Ok(s) => s,
        Err(e) => {
            eprint!("{e}");
            std::process::exit(1);
        }
    };
    let chars: usize = texts.iter().map(|t| t.chars().count()).sum();
    println!(
        "{} requests, {:.1} characters on average",
        texts.len(),
        chars as f64 / texts.len().max(1) as f64
    );
    for kib in sizes {
        // Written a cache line at a time between calls, as other work would.
        let mut other = vec![0u8; kib << 10];
        let timings = hotline_router::stage_timings_between(&set, &texts, n, || {
            for b in other.iter_mut().step_by(64) {
                *b = b.wrapping_add(1);
            }
            std::hint::black_box(&other);
        });
        let total: f64 = timings.iter().map(|(_, ns)| ns).sum();
        let stages: Vec<String> = timings
            .iter()
            .map(|(stage, ns)| format!("{stage} {:.2}", ns / 1000.0))
            .collect();
        println!(
            "{kib:>5} KiB between calls: route {:.2} µs ({})",
            total / 1000.0,
            stages.join(", ")
        );
    }
}
