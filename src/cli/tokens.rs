//! `hotline-router tokens`: how the engine sees a text (normalized, segmented, matched terms).

use super::{Result, RulesArg, Status, outln};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    rules: RulesArg,
    /// The text to analyse.
    text: String,
}

pub(crate) fn run(args: Args) -> Result {
    let set = args.rules.compile()?;
    let analysis = set.analyse(&args.text);
    outln!("normalized: {}", analysis.normalized);
    outln!("words:      {}", analysis.words.join(" / "));
    outln!("terms:      {}", analysis.terms.join(", "));
    Ok(Status::Ok)
}
