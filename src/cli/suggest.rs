//! `hotline-router suggest`: rule proposals from a labelled corpus (see `authoring::suggest`).

use std::path::PathBuf;

use super::{ReportArgs, ReportFormat, Result, Status, out, print_json, read_labelled};
use crate::authoring::folds::Fold;
use crate::authoring::suggest::{Options, suggest};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    report: ReportArgs,
    /// The labelled corpus (as `eval` reads it).
    #[arg(long, value_name = "PATH")]
    input: PathBuf,
    /// The field holding the label (a level-1 category or a department id).
    #[arg(long, default_value = "label")]
    label_field: String,
    /// Least number of the label's missed requests a word must occur in.
    #[arg(long, default_value_t = 3)]
    min_rows: usize,
    /// Least share of the corpus rows holding a word that must carry the label (0..1).
    #[arg(long, default_value_t = 0.8)]
    purity: f64,
    /// Most words proposed per label.
    #[arg(long, default_value_t = 8)]
    terms: usize,
    /// Propose from fold F of K only (the shuffle of `eval --folds`), so that the proposals can
    /// be judged with `eval --without F/K` on rows they did not come from.
    #[arg(long, value_name = "F/K")]
    part: Option<Fold>,
}

pub(crate) fn run(args: Args) -> Result {
    let set = args.report.rules.load()?;
    let mut corpus = read_labelled(&args.input, &args.label_field)?;
    if let Some(fold) = args.part {
        corpus = fold.select(&corpus, true);
        eprintln!("fold {fold}: {} rows", corpus.len());
    }
    let options = Options {
        min_rows: args.min_rows.max(1),
        purity: args.purity.clamp(0.0, 1.0),
        terms: args.terms,
    };
    let report = suggest(&set, &corpus, &options);
    match args.report.format {
        ReportFormat::Text => out!("{}", report.render_text()),
        ReportFormat::Json => {
            print_json(&report)?;
        }
    }
    Ok(Status::Ok)
}
