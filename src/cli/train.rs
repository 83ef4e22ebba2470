//! `hotline-router train`: trains the classifier the rules consult (see `crate::model`) from a
//! labelled corpus, the format `eval` reads and `export --labelled` writes.

use std::path::PathBuf;

use super::{Result, Status, fail, read_labelled};
use crate::model::train::{self, Options};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The labelled corpus (JSONL with id, title and/or text, and a label).
    #[arg(long, value_name = "PATH")]
    input: PathBuf,
    /// The field holding the label: a level-1 category, a deeper category path or a department
    /// id, whichever the corpus has.
    #[arg(long, default_value = "label")]
    label_field: String,
    /// Also train on the examples of the dispatch rules under DIR (each with the corpus label its
    /// rule falls under), so that the classifier knows the rule authors' categories for their
    /// own phrasings. They are never scored: the recorded figures are the corpus's.
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
    /// Where to write the model; put it in the rules directory as `classifier.model` to serve it.
    #[arg(long, value_name = "PATH")]
    out: PathBuf,
    /// Folds of the cross-validation whose figures the model records.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(2..=20))]
    folds: u32,
    /// log2 of the number of hash buckets (16: 65,536 buckets, about 1 MB with 7 labels).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u8).range(8..=20))]
    bits: u8,
    /// Passes over the rows.
    #[arg(long, default_value_t = Options::default().epochs, value_parser = clap::value_parser!(u32).range(1..=200))]
    epochs: u32,
    /// The first pass's step size (the n-th pass uses it divided by n).
    #[arg(long, default_value_t = Options::default().learning_rate)]
    learning_rate: f32,
    /// How much an n-gram's weight grows when the rows holding it fall under one label (0 to 10;
    /// 0: plain IDF). `eval --folds` trains with the default.
    #[arg(long, default_value_t = Options::default().concentration)]
    concentration: f32,
}

pub(crate) fn run(args: Args) -> Result {
    let corpus = read_labelled(&args.input, &args.label_field)?;
    let rows: Vec<(String, String)> = corpus
        .iter()
        .map(|item| (item.input().joined().into_owned(), item.label.clone()))
        .collect();
    let examples = match &args.rules {
        Some(dir) => {
            // The model beside the rules is the one being replaced: it is not read.
            let set = crate::ruleset::compile_dir_without_models(dir)?;
            super::eval::warn_unknown_labels(&set, &corpus);
            crate::authoring::folds::example_rows(&set, rows.iter().map(|r| r.1.as_str()))
        }
        None => Vec::new(),
    };
    let data = train::prepare_with(&rows, &examples);
    if data.labels.len() < 2 {
        return fail(format!(
            "{} has {} distinct label(s); a classifier needs at least two",
            args.input.display(),
            data.labels.len()
        ));
    }
    // Each fold must hold rows to score, or the model would record figures of no row.
    if data.scored < args.folds as usize {
        return fail(format!(
            "{} has {} usable row(s), fewer than --folds {}: each fold needs at least one row to \
             score; use fewer folds or more rows",
            args.input.display(),
            data.scored,
            args.folds
        ));
    }
    if !(args.learning_rate.is_finite() && args.learning_rate > 0.0 && args.learning_rate <= 100.0)
    {
        return fail(format!(
            "--learning-rate {} must be above 0 and at most 100",
            args.learning_rate
        ));
    }
    if !(args.concentration.is_finite() && (0.0..=10.0).contains(&args.concentration)) {
        return fail(format!(
            "--concentration {} must be between 0 and 10",
            args.concentration
        ));
    }
    let opts = Options {
        bits: args.bits,
        epochs: args.epochs,
        learning_rate: args.learning_rate,
        concentration: args.concentration,
        ..Options::default()
    };
    let started = std::time::Instant::now();
    let rules_arg = args
        .rules
        .as_deref()
        .map(|d| format!(" --rules {}", file_name(d)))
        .unwrap_or_default();
    let command = format!(
        "hotline-router train --input {}{rules_arg} --label-field {} --folds {} --bits {} \
         --epochs {} --learning-rate {} --concentration {} --out {}",
        file_name(&args.input),
        args.label_field,
        args.folds,
        args.bits,
        args.epochs,
        args.learning_rate,
        args.concentration,
        file_name(&args.out)
    );
    let model = train::train(&data, &opts, args.folds as usize, &command);
    let file = model.to_file();
    if let Err(e) = std::fs::write(&args.out, &file) {
        return fail(format!("cannot write {}: {e}", args.out.display()));
    }
    let cv = model
        .provenance()
        .map(|p| p.cross_validated.clone())
        .unwrap_or_default();
    eprintln!(
        "trained on {} rows ({} of them rule examples), {} labels in {:.1} s; {}-fold \
         cross-validated accuracy {:.4}, log loss {:.4}, calibration error {:.4}; wrote {} ({} \
         bytes)",
        data.x.len(),
        examples.len(),
        data.labels.len(),
        started.elapsed().as_secs_f64(),
        cv.folds,
        cv.accuracy,
        cv.log_loss,
        cv.calibration_error,
        args.out.display(),
        file.len()
    );
    Ok(Status::Ok)
}

/// The file name only: the recorded command must not carry this machine's directories.
fn file_name(p: &std::path::Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}
