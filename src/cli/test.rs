//! `hotline-router test`: runs every rule's examples and counterexamples, as a report (and JUnit
//! XML for CI systems).

use std::path::PathBuf;

use super::{Result, RulesArg, Status, fail, outln};
use crate::ruleset::ExampleKind;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    rules: RulesArg,
    /// Print every example, not only failures.
    #[arg(long, short)]
    verbose: bool,
    /// Also write the results as JUnit XML (one test case per example) for CI systems.
    #[arg(long, value_name = "PATH")]
    junit: Option<PathBuf>,
    /// Fail when fewer than this share (0..1) of the rules have a passing example.
    #[arg(long, value_name = "SHARE")]
    min_coverage: Option<f64>,
}

pub(crate) fn run(args: Args) -> Result {
    let set = args.rules.compile()?;
    let report = set.run_examples();
    for r in &report.results {
        if args.verbose || !r.passed {
            let status = if r.passed { "ok  " } else { "FAIL" };
            let kind = match r.kind {
                ExampleKind::Example => "example",
                ExampleKind::Counterexample => "counterexample",
            };
            outln!(
                "{status} {} {kind} of {}: {}",
                r.location,
                r.rule_id,
                r.text
            );
            if !r.passed {
                if !r.why.is_empty() {
                    outln!("     why {}", r.why);
                }
                outln!("     got {}", r.got);
            }
        }
    }
    let coverage = report.coverage(&set);
    outln!(
        "coverage: {} of {} rules have a passing example ({:.1}%)",
        coverage.covered,
        coverage.total,
        coverage.share() * 100.0
    );
    for id in &coverage.uncovered {
        outln!("  not exercised: {id}");
    }
    if let Some(path) = &args.junit
        && let Err(e) = std::fs::write(path, report.junit_xml(set.version()))
    {
        return fail(format!("cannot write {}: {e}", path.display()));
    }
    outln!("{} passed, {} failed", report.passed(), report.failed());
    if report.failed() > 0 {
        return Ok(Status::Findings);
    }
    match args.min_coverage {
        Some(min) if coverage.share() < min => {
            eprintln!(
                "error: coverage {:.3} is below --min-coverage {min:.3}",
                coverage.share()
            );
            Ok(Status::Findings)
        }
        _ => Ok(Status::Ok),
    }
}
