//! `hotline-router lint`: warnings about rules that load but may not do what their authors mean.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{ReportArgs, ReportFormat, Result, Status, outln, print_json};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    report: ReportArgs,
    /// A corpus (JSONL with title and/or text) for the shadowed-rule check.
    #[arg(long, value_name = "PATH")]
    input: Option<PathBuf>,
}

pub(crate) fn run(args: Args) -> Result {
    let set = args.report.rules.load()?;
    let corpus = match &args.input {
        None => None,
        Some(path) => Some(super::read_labelled(path, "label")?),
    };
    let findings = crate::authoring::lint::lint(&set, corpus.as_deref());
    match args.report.format {
        ReportFormat::Text => {
            for f in &findings {
                outln!("{f}");
            }
            let mut by_code: BTreeMap<&str, usize> = BTreeMap::new();
            for f in &findings {
                *by_code.entry(f.code).or_insert(0) += 1;
            }
            let summary: Vec<String> = by_code.iter().map(|(c, n)| format!("{c} {n}")).collect();
            let summary = if summary.is_empty() {
                String::new()
            } else {
                format!(": {}", summary.join(", "))
            };
            outln!("{} warning(s){summary}", findings.len());
        }
        ReportFormat::Json => {
            print_json(&findings)?;
        }
    }
    Ok(if findings.is_empty() {
        Status::Ok
    } else {
        Status::Findings
    })
}
