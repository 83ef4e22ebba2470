//! The `hotline-router` command line: `route`, `check`, `test`, `serve` and `client`.
//!
//! Every command that reads rules takes `--rules DIR` (env `HOTLINE_RULES`), defaulting to the
//! bundled `rules/`. Machine-readable output is the proto3 JSON mapping of the gRPC types, so one
//! schema serves the CLI and the wire.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Writes to standard output. When the reader has gone (`hotline-router route … | head`), the
/// command stops quietly with status 0, as ripgrep does, instead of panicking on a broken pipe.
pub(crate) fn write_stdout(args: std::fmt::Arguments<'_>) {
    let mut o = std::io::stdout().lock();
    if let Err(e) = o.write_fmt(args).and_then(|()| o.flush()) {
        stdout_failed(&e);
    }
}

/// Ends the process after a failed write to standard output (see [`write_stdout`]).
pub(crate) fn stdout_failed(e: &std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("error: cannot write to standard output: {e}");
    std::process::exit(1)
}

macro_rules! out {
    ($($t:tt)*) => { $crate::cli::write_stdout(format_args!($($t)*)) };
}
macro_rules! outln {
    ($($t:tt)*) => { $crate::cli::write_stdout(format_args!("{}\n", format_args!($($t)*))) };
}
pub(crate) use {out, outln};

use crate::proto::v1 as pb;
use crate::request;
use crate::ruleset::{self, ExampleKind, LoadError, RuleSet, Severity};

#[derive(Debug, Parser)]
#[command(
    name = "hotline-router",
    version,
    args_override_self = true,
    about = "Routes 12345 hotline requests to the responsible department, citing the articles that ground each decision."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, clap::Args)]
pub struct RulesArg {
    /// Rules directory (every *.yaml under it is loaded as one rule set).
    #[arg(long, env = "HOTLINE_RULES", value_name = "DIR")]
    pub rules: Option<PathBuf>,
}

impl RulesArg {
    pub fn dir(&self) -> PathBuf {
        self.rules.clone().unwrap_or_else(default_rules_dir)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Route one request (TEXT) or, with --jsonl, a batch from standard input.
    Route {
        #[command(flatten)]
        rules: RulesArg,
        /// Print the decision as one JSON object (the RouteResponse schema).
        #[arg(long, conflicts_with = "jsonl")]
        json: bool,
        /// Batch mode: read {"id": ..., "text": ..., "title": ...} lines from standard input and
        /// write one decision (or error object) per line.
        #[arg(long)]
        jsonl: bool,
        /// The district / county / development zone the request is about, if known.
        #[arg(long, default_value = "")]
        district: String,
        /// The date the hotline received the request (YYYY-MM-DD), for the due date.
        #[arg(long, value_parser = parse_date)]
        received: Option<crate::calendar::Date>,
        /// The request text.
        #[arg(required_unless_present = "jsonl")]
        text: Option<String>,
    },
    /// Validate the rules: print every error and warning with file:line:column.
    Check {
        #[command(flatten)]
        rules: RulesArg,
    },
    /// Run every rule's examples and counterexamples.
    Test {
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
    },
    /// Show how a text is normalized, segmented and which rule terms it contains: for rule authors
    /// asking "why did my keyword not fire?". Works on rule sets whose examples fail.
    Tokens {
        #[command(flatten)]
        rules: RulesArg,
        /// The text to analyse.
        text: String,
    },
    /// Measure a rule set on a labelled corpus (JSONL with id, title and/or text, and a label).
    Eval {
        #[command(flatten)]
        rules: RulesArg,
        /// The labelled corpus.
        #[arg(long, value_name = "PATH")]
        input: PathBuf,
        /// The field holding the gold level-1 category.
        #[arg(long, default_value = "label")]
        label_field: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: ReportFormat,
        /// How many misroutes to list.
        #[arg(long, default_value_t = 20)]
        worst: usize,
        /// Exit 1 when overall accuracy is below this (a regression guard for CI).
        #[arg(long)]
        min_accuracy: Option<f64>,
    },
    /// Warnings about rules that load but may not do what their authors mean (ambiguous examples,
    /// split or shared keywords, uncited articles, idle departments, unused categories; with
    /// --input, rules a corpus shows are shadowed). Exit 0 clean, 2 warnings, 1 errors.
    Lint {
        #[command(flatten)]
        rules: RulesArg,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: ReportFormat,
        /// A corpus (JSONL with title and/or text) for the shadowed-rule check.
        #[arg(long, value_name = "PATH")]
        input: Option<PathBuf>,
    },
    /// Route a corpus with two rule sets and report every decision that changes ("what will my
    /// edit change?"), with gains and losses per department.
    Diff {
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
    },
    /// Print the JSON Schema of rule files (committed as rules/schema.json for editors).
    Schema,
    /// Serve the gRPC API.
    Serve(crate::server::ServeArgs),
    /// Call a running server's Route and print the decision.
    Client {
        /// Server address.
        #[arg(long, env = "HOTLINE_ADDR", default_value = "http://127.0.0.1:50051")]
        addr: String,
        /// Print the decision as JSON.
        #[arg(long)]
        json: bool,
        /// Print the served rule set (GetRuleSet) instead of routing.
        #[arg(long, conflicts_with = "text")]
        rule_set: bool,
        /// The request text.
        #[arg(required_unless_present = "rule_set")]
        text: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
}

/// The bundled rules: `./rules` when run from a checkout, else the directory the crate was built
/// from (so `cargo run` works from anywhere in the tree).
pub fn default_rules_dir() -> PathBuf {
    let local = PathBuf::from("rules");
    if local.is_dir() {
        return local;
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"))
}

/// Runs a parsed command line; the exit code is the process's.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Route {
            rules,
            json,
            jsonl,
            district,
            received,
            text,
        } => {
            let context = crate::situate::RequestContext {
                district: &district,
                received,
            };
            route(&rules.dir(), json, jsonl, text.as_deref(), &context)
        }
        Command::Check { rules } => check(&rules.dir()),
        Command::Test {
            rules,
            verbose,
            junit,
            min_coverage,
        } => test(&rules.dir(), verbose, junit.as_deref(), min_coverage),
        Command::Tokens { rules, text } => tokens(&rules.dir(), &text),
        Command::Eval {
            rules,
            input,
            label_field,
            format,
            worst,
            min_accuracy,
        } => eval(
            &rules.dir(),
            &input,
            &label_field,
            format,
            worst,
            min_accuracy,
        ),
        Command::Lint {
            rules,
            format,
            input,
        } => lint(&rules.dir(), format, input.as_deref()),
        Command::Diff {
            old,
            new,
            input,
            format,
            limit,
        } => diff(&old, &new, &input, format, limit),
        Command::Schema => {
            out!("{}", ruleset::json_schema_text());
            ExitCode::SUCCESS
        }
        Command::Serve(args) => crate::server::run_blocking(args),
        Command::Client {
            addr,
            json,
            rule_set,
            text,
        } => crate::server::client::run_blocking(&addr, json, rule_set, text),
    }
}

fn load_or_report(dir: &Path) -> Option<RuleSet> {
    match ruleset::load_dir(dir) {
        Ok(set) => Some(set),
        Err(e) => {
            eprint!("{e}");
            None
        }
    }
}

fn parse_date(s: &str) -> Result<crate::calendar::Date, String> {
    crate::calendar::Date::parse(s)
        .ok_or_else(|| format!("\"{s}\" is not a date; write YYYY-MM-DD"))
}

fn route(
    dir: &Path,
    json: bool,
    jsonl: bool,
    text: Option<&str>,
    context: &crate::situate::RequestContext<'_>,
) -> ExitCode {
    let Some(set) = load_or_report(dir) else {
        return ExitCode::from(2);
    };
    if jsonl {
        return route_jsonl(&set);
    }
    let text = text.unwrap_or_default();
    if let Err(reason) = request::validate("", text, "", "") {
        eprintln!("error: {reason}");
        return ExitCode::from(2);
    }
    let resp = set.route_in(text, context);
    if json {
        match serde_json::to_string(&resp) {
            Ok(s) => outln!("{s}"),
            Err(e) => {
                eprintln!("error: cannot encode the decision as JSON: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        out!("{}", crate::render_text(&resp));
    }
    ExitCode::SUCCESS
}

/// One input line of `route --jsonl`.
#[derive(serde::Deserialize)]
struct BatchLine {
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    district: Option<String>,
    /// YYYY-MM-DD
    #[serde(default)]
    received: Option<String>,
}

fn route_jsonl(set: &RuleSet) -> ExitCode {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut buf = Vec::new();
    let mut line_no = 0usize;
    loop {
        buf.clear();
        match input.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                eprintln!("error: cannot read standard input: {e}");
                return ExitCode::FAILURE;
            }
        }
        line_no += 1;
        let line = match std::str::from_utf8(&buf) {
            Ok(l) => l.trim(),
            Err(_) => {
                write_line(
                    &mut out,
                    &error_item(
                        format!("line {line_no}"),
                        format!("line {line_no} is not valid UTF-8"),
                    ),
                );
                continue;
            }
        };
        if line.is_empty() {
            continue;
        }
        let item = route_line(set, line, line_no);
        write_line(&mut out, &item);
    }
    if let Err(e) = out.flush() {
        stdout_failed(&e);
    }
    ExitCode::SUCCESS
}

enum LineResult {
    Decision(pb::RouteResponse),
    Error(pb::RouteBatchItem),
}

fn route_line(set: &RuleSet, line: &str, line_no: usize) -> LineResult {
    let parsed: BatchLine = match serde_json::from_str(line) {
        Ok(p) => p,
        Err(e) => {
            return error_item(
                format!("line {line_no}"),
                format!("line {line_no} is not a JSON object with \"text\": {e}"),
            );
        }
    };
    let id = match parsed.id {
        Some(serde_json::Value::String(s)) => s,
        Some(serde_json::Value::Null) | None => format!("line {line_no}"),
        Some(other) => other.to_string(),
    };
    let title = parsed.title.unwrap_or_default();
    let Some(text) = parsed.text else {
        if title.is_empty() {
            return error_item(id, "missing \"text\"".to_owned());
        }
        return LineResult::Decision(set.route_request(&id, &title, ""));
    };
    let district = parsed.district.unwrap_or_default();
    if let Err(reason) = request::validate(&title, &text, "", &district) {
        return error_item(id, reason);
    }
    let received = match parsed.received.as_deref().map(parse_date) {
        Some(Err(reason)) => return error_item(id, format!("received: {reason}")),
        Some(Ok(d)) => Some(d),
        None => None,
    };
    let context = crate::situate::RequestContext {
        district: &district,
        received,
    };
    LineResult::Decision(set.route_full(&id, &title, &text, &context))
}

fn error_item(id: String, message: String) -> LineResult {
    LineResult::Error(pb::RouteBatchItem {
        id,
        result: Some(pb::route_batch_item::Result::Error(pb::ItemError {
            code: "INVALID_ARGUMENT".to_owned(),
            message,
        })),
    })
}

fn write_line(out: &mut impl Write, item: &LineResult) {
    let json = match item {
        LineResult::Decision(d) => serde_json::to_string(d),
        LineResult::Error(e) => serde_json::to_string(e),
    };
    match json {
        Ok(s) => {
            if let Err(e) = writeln!(out, "{s}") {
                stdout_failed(&e);
            }
        }
        Err(e) => eprintln!("error: cannot encode a decision as JSON: {e}"),
    }
}

fn print_diagnostics(e: &LoadError) {
    for d in &e.diagnostics {
        eprintln!("{d}");
    }
    let errors = e.errors().count();
    let warnings = e.diagnostics.len() - errors;
    eprintln!("{errors} error(s), {warnings} warning(s); the rule set was not loaded");
}

fn check(dir: &Path) -> ExitCode {
    match ruleset::load_dir(dir) {
        Ok(set) => {
            for w in set.warnings() {
                eprintln!("{w}");
            }
            let emergency = set.rules().iter().filter(|r| r.is_emergency()).count();
            outln!(
                "ok: {} rules, {} emergency lines, {} out-of-scope matters, {} departments, {} regulations, {} categories; {} warning(s); version {}",
                set.dispatch_rule_count(),
                emergency,
                set.rules().len() - set.dispatch_rule_count() - emergency,
                set.departments().len(),
                set.regulations().len(),
                set.category_count(),
                set.warnings()
                    .iter()
                    .filter(|d| d.severity == Severity::Warning)
                    .count(),
                set.version()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            print_diagnostics(&e);
            ExitCode::FAILURE
        }
    }
}

fn test(dir: &Path, verbose: bool, junit: Option<&Path>, min_coverage: Option<f64>) -> ExitCode {
    let set = match ruleset::compile_dir(dir) {
        Ok(s) => s,
        Err(e) => {
            print_diagnostics(&e);
            return ExitCode::FAILURE;
        }
    };
    let report = set.run_examples();
    for r in &report.results {
        if verbose || !r.passed {
            let status = if r.passed { "ok  " } else { "FAIL" };
            outln!(
                "{status} {} {} of {}: {}",
                r.location,
                kind_name(r.kind),
                r.rule_id,
                r.text
            );
            if !r.passed {
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
    if let Some(path) = junit
        && let Err(e) = std::fs::write(path, report.junit_xml(set.version()))
    {
        eprintln!("error: cannot write {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    outln!("{} passed, {} failed", report.passed(), report.failed());
    if report.failed() > 0 {
        return ExitCode::FAILURE;
    }
    match min_coverage {
        Some(min) if coverage.share() < min => {
            eprintln!(
                "error: coverage {:.3} is below --min-coverage {min:.3}",
                coverage.share()
            );
            ExitCode::FAILURE
        }
        _ => ExitCode::SUCCESS,
    }
}

fn kind_name(kind: ExampleKind) -> &'static str {
    match kind {
        ExampleKind::Example => "example",
        ExampleKind::Counterexample => "counterexample",
    }
}

fn tokens(dir: &Path, text: &str) -> ExitCode {
    let set = match ruleset::compile_dir(dir) {
        Ok(s) => s,
        Err(e) => {
            print_diagnostics(&e);
            return ExitCode::FAILURE;
        }
    };
    let analysis = set.analyse(text);
    outln!("normalized: {}", analysis.normalized);
    outln!("words:      {}", analysis.words.join(" / "));
    outln!("terms:      {}", analysis.terms.join(", "));
    ExitCode::SUCCESS
}

fn eval(
    dir: &Path,
    input: &Path,
    label_field: &str,
    format: ReportFormat,
    worst: usize,
    min: Option<f64>,
) -> ExitCode {
    let Some(set) = load_or_report(dir) else {
        return ExitCode::from(2);
    };
    let file = match std::fs::File::open(input) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: cannot open {}: {e}", input.display());
            return ExitCode::from(2);
        }
    };
    let (corpus, skipped) =
        match crate::eval::read_corpus(std::io::BufReader::new(file), label_field) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", input.display());
                return ExitCode::from(2);
            }
        };
    if skipped > 0 {
        eprintln!("warning: skipped {skipped} line(s) without JSON, text or \"{label_field}\"");
    }
    let report = crate::eval::evaluate(&set, &corpus, worst);
    match format {
        ReportFormat::Text => out!("{}", report.render_text()),
        ReportFormat::Json => match serde_json::to_string_pretty(&report) {
            Ok(s) => outln!("{s}"),
            Err(e) => {
                eprintln!("error: cannot encode the report: {e}");
                return ExitCode::FAILURE;
            }
        },
    }
    match min {
        Some(floor) if report.overall_accuracy < floor => {
            eprintln!(
                "error: overall accuracy {:.4} is below the floor {floor:.4}",
                report.overall_accuracy
            );
            ExitCode::FAILURE
        }
        _ => ExitCode::SUCCESS,
    }
}

fn lint(dir: &Path, format: ReportFormat, input: Option<&Path>) -> ExitCode {
    let set = match ruleset::load_dir(dir) {
        Ok(s) => s,
        Err(e) => {
            print_diagnostics(&e);
            return ExitCode::FAILURE;
        }
    };
    let corpus = match input {
        None => None,
        Some(path) => {
            let read = std::fs::File::open(path).and_then(|f| {
                crate::eval::read_corpus(std::io::BufReader::new(f), "label").map(|(c, _)| c)
            });
            match read {
                Ok(c) => Some(c),
                Err(e) => {
                    eprintln!("error: cannot read {}: {e}", path.display());
                    return ExitCode::FAILURE;
                }
            }
        }
    };
    let findings = crate::lint::lint(&set, corpus.as_deref());
    match format {
        ReportFormat::Text => {
            for f in &findings {
                outln!("{f}");
            }
            let mut by_code: std::collections::BTreeMap<&str, usize> =
                std::collections::BTreeMap::new();
            for f in &findings {
                *by_code.entry(f.code).or_insert(0) += 1;
            }
            let summary: Vec<String> = by_code.iter().map(|(c, n)| format!("{c} {n}")).collect();
            outln!(
                "{} warning(s){}",
                findings.len(),
                if summary.is_empty() {
                    String::new()
                } else {
                    format!(": {}", summary.join(", "))
                }
            );
        }
        ReportFormat::Json => match serde_json::to_string_pretty(&findings) {
            Ok(s) => outln!("{s}"),
            Err(e) => {
                eprintln!("error: cannot encode the findings: {e}");
                return ExitCode::FAILURE;
            }
        },
    }
    if findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

fn diff(old: &Path, new: &Path, input: &Path, format: ReportFormat, limit: usize) -> ExitCode {
    let (Some(old_set), Some(new_set)) = (load_or_report(old), load_or_report(new)) else {
        return ExitCode::from(2);
    };
    let corpus = match std::fs::File::open(input)
        .and_then(|f| crate::eval::read_corpus_unlabelled(std::io::BufReader::new(f)))
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", input.display());
            return ExitCode::from(2);
        }
    };
    let report = crate::diff::diff(&old_set, &new_set, &corpus);
    match format {
        ReportFormat::Text => out!("{}", report.render_text(limit)),
        ReportFormat::Json => match serde_json::to_string_pretty(&report) {
            Ok(s) => outln!("{s}"),
            Err(e) => {
                eprintln!("error: cannot encode the report: {e}");
                return ExitCode::FAILURE;
            }
        },
    }
    ExitCode::SUCCESS
}
