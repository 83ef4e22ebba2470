//! `hotline-router diff`: what an edit to the rules changes on a corpus.

use std::path::PathBuf;

use super::{ReportFormat, Result, RulesArg, Status, out, print_json};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The rules as they are now (e.g. a copy of the serving directory).
    #[arg(long, value_name = "DIR")]
    old: PathBuf,
    /// The edited rules.
    #[arg(long, value_name = "DIR")]
    new: PathBuf,
    /// The corpus (JSONL with id, title and/or text).
    #[arg(long, value_name = "PATH")]
    input: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: ReportFormat,
    /// How many changes to list in text output.
    #[arg(long, default_value_t = 100)]
    limit: usize,
}

pub(crate) fn run(args: Args) -> Result {
    let load = |dir: &PathBuf| {
        RulesArg {
            rules: Some(dir.clone()),
        }
        .load()
    };
    let (old, new) = (load(&args.old)?, load(&args.new)?);
    let corpus = super::read_input(&args.input, None)?;
    let report = crate::authoring::diff::diff(&old, &new, &corpus);
    match args.format {
        ReportFormat::Text => out!("{}", report.render_text(args.limit)),
        ReportFormat::Json => {
            print_json(&report)?;
        }
    }
    Ok(Status::Ok)
}
