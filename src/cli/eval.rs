//! `hotline-router eval`: accuracy of the rule set on a labelled corpus.

use std::path::PathBuf;

use super::{ReportArgs, ReportFormat, Result, Status, fail, out, print_json, read_labelled};
use crate::authoring::folds::Fold;

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
    /// Exit 1 when overall accuracy is below this (a regression guard for CI); with --folds,
    /// the cross-validated overall accuracy of the rules with the classifier as settings.yaml
    /// configures it.
    #[arg(long)]
    min_accuracy: Option<f64>,
    /// Exit 1 when the accuracy on dispatched requests is below this; with --folds, that of the
    /// rules with the classifier as settings.yaml configures it. With a cross-check that sends
    /// disputes to a person, overall accuracy falls as precision rises, so CI guards both.
    #[arg(long)]
    min_dispatched: Option<f64>,
    /// Cross-validate: train a classifier on K − 1 folds, score the rules consulting it on the
    /// K-th, K times (a fixed shuffle), and report rules alone and rules + classifier on the
    /// held-out folds only.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(2..=20))]
    folds: Option<u32>,
    /// With --folds: write one JSON line per corpus row (its id, fold and label, the rules'
    /// decision alone, the rules that fired, the held-out classifier's probabilities, and the
    /// decision as settings.yaml configures the classifier) to PATH. Ids only, no text:
    /// `scripts/frontier.py` reads it.
    #[arg(long, value_name = "PATH", requires = "folds")]
    rows: Option<PathBuf>,
    /// Score only fold F of K (the shuffle of --folds and `train`): the rows a rule author reads
    /// before an edit. Log which fold you read in docs/rule-edits.md.
    #[arg(long, value_name = "F/K", conflicts_with_all = ["folds", "without"])]
    part: Option<Fold>,
    /// Score every fold but F of K: how an edit written from fold F does on rows it was not
    /// written from.
    #[arg(long, value_name = "F/K", conflicts_with = "folds")]
    without: Option<Fold>,
}

pub(crate) fn run(args: Args) -> Result {
    let set = args.report.rules.load()?;
    let mut corpus = read_labelled(&args.input, &args.label_field)?;
    if let Some(fold) = args.part {
        corpus = fold.select(&corpus, true);
        eprintln!("fold {fold}: {} rows", corpus.len());
    } else if let Some(fold) = args.without {
        corpus = fold.select(&corpus, false);
        eprintln!("every fold but {fold}: {} rows", corpus.len());
    }
    warn_unknown_labels(&set, &corpus);
    if corpus.is_empty() {
        return fail(format!(
            "no labelled row to score in {}{}",
            args.input.display(),
            if args.part.is_some() || args.without.is_some() {
                " in the fold asked for: use fewer folds or a larger corpus"
            } else {
                ""
            }
        ));
    }
    // The figures the floors guard: with --folds, those of the rules with the classifier as
    // settings.yaml configures it.
    let (overall, dispatched) = if let Some(k) = args.folds {
        let report = match crate::authoring::folds::cross_validate(
            &set,
            &corpus,
            k as usize,
            args.worst,
            args.rows.is_some(),
        ) {
            Ok(r) => r,
            Err(e) => return fail(e),
        };
        if let Some(path) = &args.rows {
            if let Err(e) = std::fs::write(path, report.held_out_jsonl()) {
                return fail(format!("cannot write {}: {e}", path.display()));
            }
            eprintln!(
                "wrote {} row(s) to {}",
                report.held_out.len(),
                path.display()
            );
        }
        match args.report.format {
            ReportFormat::Text => out!("{}", report.render_text()),
            ReportFormat::Json => {
                print_json(&report)?;
            }
        }
        let configured = report.configured();
        (
            configured.map_or(0.0, |r| r.overall_accuracy),
            configured.map_or(0.0, |r| r.dispatched_accuracy),
        )
    } else {
        // The bundled classifier was trained on the development corpus: scored on its own
        // training rows it is right nearly every time, and so are the figures of the rules
        // consulting it. Said, so that a rule author reading a fold does not take them as
        // held-out figures.
        if let Some(p) = set.model().and_then(|m| m.provenance()) {
            eprintln!(
                "note: the rules consult their classifier ({} rows; `{}`); on rows it was trained \
                 on, the figures with it are not held out: `--folds` scores each row with a \
                 classifier trained without it, and a copy of the rules without the .model files \
                 scores the rules alone",
                p.rows, p.command
            );
        }
        let report = crate::authoring::eval::evaluate(&set, &corpus, args.worst);
        match args.report.format {
            ReportFormat::Text => out!("{}", report.render_text()),
            ReportFormat::Json => {
                print_json(&report)?;
            }
        }
        (report.overall_accuracy, report.dispatched_accuracy)
    };
    // Both checked (`|`, not `||`), so that both messages are printed.
    let low = below_floor("overall accuracy", overall, args.min_accuracy)
        | below_floor("accuracy on dispatched", dispatched, args.min_dispatched);
    Ok(if low { Status::Findings } else { Status::Ok })
}

/// Whether `value` (the figure named `what`) is below the floor given, saying so.
fn below_floor(what: &str, value: f64, floor: Option<f64>) -> bool {
    match floor {
        Some(floor) if value < floor => {
            eprintln!("error: {what} {value:.4} is below the floor {floor:.4}");
            true
        }
        _ => false,
    }
}

/// Warns about labels the rules do not know: those rows count as wrong whatever is decided.
pub(crate) fn warn_unknown_labels(
    set: &crate::RuleSet,
    corpus: &[crate::authoring::eval::Labelled],
) {
    let unknown = crate::authoring::eval::unknown_labels(set, corpus);
    if unknown.is_empty() {
        return;
    }
    let rows: usize = unknown.iter().map(|u| u.1).sum();
    let shown: Vec<String> = unknown
        .iter()
        .take(10)
        .map(|(label, n)| format!("{label:?} ({n})"))
        .collect();
    eprintln!(
        "warning: {rows} row(s) have a label that is neither a department id nor a level-1 \
         category of the rules, and count as wrong whatever is decided: {}{}",
        shown.join(", "),
        if unknown.len() > 10 { ", …" } else { "" }
    );
}
