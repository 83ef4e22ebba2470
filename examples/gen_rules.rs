//! Writes the bundled rules plus N generated rules into DIR (for benchmarks and reload tests).
//! Usage: cargo run --release --example gen_rules -- DIR [N]

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next() else {
        eprintln!("usage: gen_rules DIR [N]");
        std::process::exit(2);
    };
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let bundled = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    match hotline_router::synthetic::write_rules(&bundled, std::path::Path::new(&dir), n) {
        Ok(made) => println!("wrote {made} generated rules and the bundled rules to {dir}"),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
