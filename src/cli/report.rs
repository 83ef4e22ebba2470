//! `hotline-router report`: the supervision report of a period (大数据监测), as text, CSV, JSON
//! or one self-contained HTML page.

use std::path::PathBuf;

use super::{Result, Status, StoreAndRules, fail, out, parse_date};
use crate::situate::calendar::Date;
use crate::store::Decisions;
use crate::store::{render, report};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Text,
    Csv,
    Json,
    Html,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    store: StoreAndRules,
    /// The first day of the period (YYYY-MM-DD, China time). Periods go by when the router made
    /// each decision (its own clock), as retention does, not by the ticket's received time: a
    /// backlog ticket received in October and routed in December counts in December.
    #[arg(long, value_parser = parse_date)]
    from: Date,
    /// The day after the period (YYYY-MM-DD): decisions made before it are counted.
    #[arg(long, value_parser = parse_date)]
    to: Date,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Write the report to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub(crate) fn run(args: Args) -> Result {
    if args.to <= args.from {
        return fail(format!(
            "--to {} must be after --from {}",
            args.to, args.from
        ));
    }
    let set = args.store.rules.load()?;
    let store = args.store.store.read_only()?;
    let decisions = match store.between(args.from.start_ms_china(), args.to.start_ms_china()) {
        Ok(d) => d,
        Err(e) => return super::read_failed(&store, &e),
    };
    let today = report::china_date(crate::store::now_ms()).unwrap_or(args.to);
    let r = report::of_period(
        &decisions,
        &set,
        (&args.from.to_string(), &args.to.to_string()),
        today,
    );
    let body = match args.format {
        Format::Text => render::text(&r),
        Format::Csv => render::csv(&r),
        Format::Html => render::html(&r),
        Format::Json => match serde_json::to_string_pretty(&r) {
            Ok(s) => s + "\n",
            Err(e) => return fail(format!("cannot encode the report: {e}")),
        },
    };
    match &args.out {
        Some(path) => {
            if let Err(e) = std::fs::write(path, body) {
                return fail(format!("cannot write {}: {e}", path.display()));
            }
        }
        None => out!("{body}"),
    }
    Ok(Status::Ok)
}
