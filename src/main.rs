//! The `hotline-router` binary: parses arguments and hands over to the library (`cli::run`).

/// mimalloc rather than glibc malloc: the engine allocates many small, short-lived strings per
/// request, and glibc's free lists degrade once a large rule set has been built (28% of the time
/// in `_int_malloc` with 10,000 rules; see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;

fn main() -> std::process::ExitCode {
    hotline_router::cli::run(hotline_router::cli::Cli::parse())
}
