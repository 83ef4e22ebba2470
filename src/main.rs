//! The `hotline-router` binary: parses arguments and hands over to the library (`cli::run`).

use clap::Parser;

fn main() -> std::process::ExitCode {
    hotline_router::cli::run(hotline_router::cli::Cli::parse())
}
