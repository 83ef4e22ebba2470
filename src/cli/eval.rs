//! `hotline-router eval`: accuracy of the rule set on a labelled corpus.

use std::path::PathBuf;

use super::{ReportArgs, ReportFormat, Result, Status, fail, open, out, print_json};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    report: ReportArgs,
    /// The labelled corpus.
    #[arg(long, value_name = "PATH")]
    input: PathBuf,
    /// The field holding the gold level-1 category.
    #[arg(long, default_value = "label")]
    label_field: String,
    /// How many misroutes to list.
    #[arg(long, default_value_t = 20)]
    worst: usize,
    /// Exit 1 when overall accuracy is below this (a regression guard for CI).
    #[arg(long)]
    min_accuracy: Option<f64>,
}

pub(crate) fn run(args: Args) -> Result {
    let set = args.report.rules.load()?;
    let read = crate::authoring::eval::read_corpus(open(&args.input)?, &args.label_field);
    let (corpus, skipped) = match read {
        Ok(c) => c,
        Err(e) => return fail(format!("cannot read {}: {e}", args.input.display())),
    };
    if skipped > 0 {
        eprintln!(
            "warning: skipped {skipped} line(s) without JSON, text or \"{}\"",
            args.label_field
        );
    }
    let report = crate::authoring::eval::evaluate(&set, &corpus, args.worst);
    match args.report.format {
        ReportFormat::Text => out!("{}", report.render_text()),
        ReportFormat::Json => {
            print_json(&report)?;
        }
    }
    match args.min_accuracy {
        Some(floor) if report.overall_accuracy < floor => {
            eprintln!(
                "error: overall accuracy {:.4} is below the floor {floor:.4}",
                report.overall_accuracy
            );
            Ok(Status::Findings)
        }
        _ => Ok(Status::Ok),
    }
}
