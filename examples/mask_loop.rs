//! Masks one text in a loop: the cost the decision store's masking adds to a recorded request
//! (`src/store/mask.rs`), and a target for profilers.
//! Usage: cargo run --release --example mask_loop -- [ITERATIONS] [TEXT]

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000_000);
    let text = args.next().unwrap_or_else(|| {
        "我家楼下的饭店每天晚上油烟很大，我电话13812345678，车牌鲁G12345的车一直占道，请尽快处理，谢谢。2026-12-05".to_owned()
    });
    let start = std::time::Instant::now();
    let mut bytes = 0usize;
    let mut out = Vec::with_capacity(text.len() * 2);
    for _ in 0..n {
        out.clear();
        hotline_router::store::mask::mask_into(std::hint::black_box(&text), &mut out);
        bytes += std::hint::black_box(&out).len();
    }
    let elapsed = start.elapsed();
    println!(
        "{n} masks of {} characters in {elapsed:?}: {:.0} ns each ({bytes})",
        text.chars().count(),
        elapsed.as_nanos() as f64 / n as f64
    );
    println!("{}", hotline_router::store::mask::mask(&text));
}
