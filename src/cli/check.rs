//! `hotline-router check`: validates the rules and prints every diagnostic, with its place, code
//! and help line; `--format json` prints them for editors and CI.

use super::{Failure, ReportArgs, ReportFormat, Result, Status, outln, print_json};
use crate::ruleset::{self, Diagnostic, RuleKind, RuleSet, Severity};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    report: ReportArgs,
}

/// `check --format json`.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Report<'a> {
    ok: bool,
    version: Option<&'a str>,
    rule_count: usize,
    dispatch_rule_count: usize,
    handoff_count: usize,
    out_of_scope_count: usize,
    department_count: usize,
    regulation_count: usize,
    category_count: usize,
    errors: usize,
    warnings: usize,
    diagnostics: &'a [Diagnostic],
}

pub(crate) fn run(args: Args) -> Result {
    let loaded = ruleset::load_dir(&args.report.rules.dir());
    match (args.report.format, loaded) {
        (ReportFormat::Text, Ok(set)) => {
            for w in set.warnings() {
                eprintln!("{w}");
            }
            let warnings = count(set.warnings(), Severity::Warning);
            outln!(
                "ok: {}, {} departments, {} regulations, {} categories; {warnings} warning(s); version {}",
                set.rule_count_summary(),
                set.departments().len(),
                set.regulations().len(),
                set.category_count(),
                set.version()
            );
            Ok(Status::Ok)
        }
        (ReportFormat::Text, Err(e)) => Err(Failure::Load(e)),
        (ReportFormat::Json, Ok(set)) => print_json(&report(Some(&set), set.warnings())),
        (ReportFormat::Json, Err(e)) => {
            print_json(&report(None, &e.diagnostics))?;
            // The diagnostics are on standard output; the status says the set did not load.
            Err(Failure::Other(format!(
                "the rule set was not loaded ({} error(s))",
                count(&e.diagnostics, Severity::Error)
            )))
        }
    }
}

/// The JSON report of a rule set that loaded (`set`) or did not, with its diagnostics.
fn report<'a>(set: Option<&'a RuleSet>, diagnostics: &'a [Diagnostic]) -> Report<'a> {
    let of = |f: fn(&RuleSet) -> usize| set.map_or(0, f);
    Report {
        ok: set.is_some(),
        version: set.map(RuleSet::version),
        rule_count: of(|s| s.rules().len()),
        dispatch_rule_count: of(|s| s.count(RuleKind::Dispatch)),
        handoff_count: of(|s| s.count(RuleKind::Handoff)),
        out_of_scope_count: of(|s| s.count(RuleKind::OutOfScope)),
        department_count: of(|s| s.departments().len()),
        regulation_count: of(|s| s.regulations().len()),
        category_count: of(RuleSet::category_count),
        errors: count(diagnostics, Severity::Error),
        warnings: count(diagnostics, Severity::Warning),
        diagnostics,
    }
}

fn count(diagnostics: &[Diagnostic], severity: Severity) -> usize {
    diagnostics
        .iter()
        .filter(|d| d.severity == severity)
        .count()
}
