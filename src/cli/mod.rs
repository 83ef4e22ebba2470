//! The `hotline-router` command line, one file per subcommand (mini-redis's `cmd/`): each parses
//! its own arguments (a clap `Args` struct) and runs, returning a [`Result`] that `run` maps to the
//! process's exit status in one place.
//!
//! # Exit status
//!
//! | status | meaning |
//! | --- | --- |
//! | 0 | done, nothing to report |
//! | 1 | done, and the answer is "no": `test` has failing examples or low coverage, `lint` has warnings, `eval` is below `--min-accuracy` |
//! | 2 | could not do it: a usage error, unreadable input or unwritable output, or a rule set that does not load (`check` included: its errors are printed, with file:line:column) |
//!
//! Every command that reads rules takes `--rules DIR` (env `HOTLINE_RULES`), defaulting to the
//! bundled `rules/`. Machine-readable output is the proto3 JSON mapping of the gRPC types, so one
//! schema serves the CLI and the wire.

mod check;
mod client;
mod diff;
mod eval;
mod explain;
mod export;
mod lint;
mod outcomes;
mod report;
mod route;
mod schema;
mod suggest;
mod test;
mod tokens;
mod train;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::ruleset::{self, LoadError, RuleSet};

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
    std::process::exit(2)
}

macro_rules! out {
    ($($t:tt)*) => { $crate::cli::write_stdout(format_args!($($t)*)) };
}
macro_rules! outln {
    ($($t:tt)*) => { $crate::cli::write_stdout(format_args!("{}\n", format_args!($($t)*))) };
}
pub(crate) use {out, outln};

/// Why a command could not do what it was asked (exit status 2).
#[derive(Debug)]
pub enum Failure {
    /// The rule set did not load; its diagnostics are printed.
    Load(LoadError),
    /// Anything else: bad input, unreadable or unwritable files, a server that cannot start.
    Other(String),
}

impl From<LoadError> for Failure {
    fn from(e: LoadError) -> Self {
        Failure::Load(e)
    }
}

/// What a command returns: its exit status when it ran (0 or 1), or why it could not (2).
pub type Result<T = Status> = std::result::Result<T, Failure>;

/// The status of a command that ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 0.
    Ok,
    /// 1: the command ran, and what it reports is a failure (findings, failing tests).
    Findings,
}

pub(crate) fn fail<T>(message: impl Into<String>) -> Result<T> {
    Err(Failure::Other(message.into()))
}

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
    /// Rules directory (every *.yaml under it is loaded as one rule set). Without it: ./rules
    /// when the working directory has one, else the rules/ of the source tree this binary was
    /// built from (a binary copied to another machine needs --rules or HOTLINE_RULES).
    #[arg(long, env = "HOTLINE_RULES", value_name = "DIR")]
    pub rules: Option<PathBuf>,
}

impl RulesArg {
    pub fn dir(&self) -> PathBuf {
        self.rules.clone().unwrap_or_else(default_rules_dir)
    }

    /// The rule set, loaded and with its examples passing (what the server serves).
    pub(crate) fn load(&self) -> Result<RuleSet> {
        Ok(ruleset::load_dir(&self.dir())?)
    }

    /// The rule set compiled, its examples not run (`test` reports them one by one).
    pub(crate) fn compile(&self) -> Result<RuleSet> {
        Ok(ruleset::compile_dir(&self.dir())?)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Route one request (TEXT) or, with --jsonl, a batch from standard input.
    Route(route::Args),
    /// Validate the rules: print every error and warning with file:line:column and its code.
    Check(check::Args),
    /// Run every rule's examples and counterexamples.
    Test(test::Args),
    /// Show how a text is normalized, segmented and which rule terms it contains: for rule authors
    /// asking "why did my keyword not fire?". Works on rule sets whose examples fail.
    Tokens(tokens::Args),
    /// Measure a rule set on a labelled corpus (JSONL with id, title and/or text, and a label).
    Eval(eval::Args),
    /// Train the classifier the rules consult (cross-check, suggestions, fallback) from a labelled
    /// corpus; it records its cross-validated figures.
    Train(train::Args),
    /// Warnings about rules that load but may not do what their authors mean (ambiguous examples,
    /// split or shared keywords, uncited articles, idle departments, unused categories; with
    /// --input, rules a corpus shows are shadowed).
    Lint(lint::Args),
    /// Route a corpus with two rule sets and report every decision that changes ("what will my
    /// edit change?"), with gains and losses per department.
    Diff(diff::Args),
    /// Propose words for the rules from a labelled corpus: per label, the words of the requests
    /// the rules missed, as YAML to add to the label's fallback rule, each tried on the corpus
    /// (requests fixed and broken). Writes nothing.
    Suggest(suggest::Args),
    /// Import what happened to recorded decisions (accepted, returned, reassigned, resolved,
    /// satisfaction, …) from JSON lines.
    Outcomes(outcomes::Args),
    /// Write the store's decisions as a labelled corpus for eval, diff and lint --input.
    Export(export::Args),
    /// Why a recorded decision went where it went, and whether today's rules decide the same.
    Explain(explain::Args),
    /// The supervision report of a period: per department, per rule, manual triage.
    Report(report::Args),
    /// Print the JSON Schema of rule files (committed as rules/schema.json for editors).
    Schema,
    /// Serve the gRPC API.
    Serve(crate::server::ServeArgs),
    /// Call a running server's Route and print the decision.
    Client(client::Args),
}

/// The decision store a closed-loop command reads (it may be one a server is recording to).
#[derive(Debug, Clone, clap::Args)]
pub struct StoreArg {
    /// The decision store: sqlite:PATH.
    #[arg(
        long,
        env = "HOTLINE_STORE",
        value_name = "STORE",
        default_value = "sqlite:hotline-data/decisions.sqlite"
    )]
    pub store: crate::store::StoreConfig,
    /// The spool of the store's writing process, if not the default (PATH.spool for SQLite,
    /// hotline-data/postgres.spool for PostgreSQL): decisions an earlier run left there are
    /// stored first, or counted in a warning when this user may not write the store.
    #[arg(long, env = "HOTLINE_SPOOL_DIR", value_name = "DIR")]
    pub spool_dir: Option<PathBuf>,
}

impl StoreArg {
    /// The store, to read and to record events in (`outcomes`).
    pub(crate) fn reader(&self) -> Result<crate::store::Reader> {
        self.settle_spool();
        crate::store::Reader::open(&self.store)
            .map_err(|e| Failure::Other(format!("cannot open the decision store: {e}")))
    }

    /// The store, only to read (`report`, `export`, `explain`): it writes nothing, so that it
    /// works for a user who may only read the store.
    pub(crate) fn read_only(&self) -> Result<crate::store::Reader> {
        self.settle_spool();
        crate::store::Reader::open_read_only(&self.store)
            .map_err(|e| Failure::Other(format!("cannot open the decision store: {e}")))
    }

    fn settle_spool(&self) {
        if let Some(message) = crate::store::settle_spool(&self.store, self.spool_dir.as_deref()) {
            eprintln!("{message}");
        }
    }
}

/// A read of the store that failed, as a message naming the store (a damaged database is a
/// file to restore).
pub(crate) fn read_failed<T>(store: &crate::store::Reader, e: &str) -> Result<T> {
    fail(format!("cannot read the store {}: {e}", store.name()))
}

/// A decision store, and the rules whose departments and calendar the command uses.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreAndRules {
    #[command(flatten)]
    pub store: StoreArg,
    #[command(flatten)]
    pub rules: RulesArg,
}

/// The rules a report is about, and its format.
#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub rules: RulesArg,
    /// Output format: text for people, json for editors, CI and scripts.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ReportFormat,
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

/// Runs a parsed command line; the exit status is the process's (see the module docs).
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Route(args) => route::run(args),
        Command::Check(args) => check::run(args),
        Command::Test(args) => test::run(args),
        Command::Tokens(args) => tokens::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Train(args) => train::run(args),
        Command::Lint(args) => lint::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Suggest(args) => suggest::run(args),
        Command::Outcomes(args) => outcomes::run(args),
        Command::Export(args) => export::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Report(args) => report::run(args),
        Command::Schema => schema::run(),
        Command::Serve(args) => crate::server::run_blocking(args),
        Command::Client(args) => client::run(args),
    };
    match result {
        Ok(Status::Ok) => ExitCode::SUCCESS,
        Ok(Status::Findings) => ExitCode::from(1),
        Err(Failure::Load(e)) => {
            print_diagnostics(&e);
            ExitCode::from(2)
        }
        Err(Failure::Other(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

/// Every diagnostic of a rule set that did not load, then a count.
fn print_diagnostics(e: &LoadError) {
    for d in &e.diagnostics {
        eprintln!("{d}");
    }
    let errors = e.errors().count();
    let warnings = e.diagnostics.len() - errors;
    eprintln!("{errors} error(s), {warnings} warning(s); the rule set was not loaded");
}

/// A JSON document on standard output.
pub(crate) fn print_json(value: &impl serde::Serialize) -> Result {
    match serde_json::to_string_pretty(value) {
        Ok(s) => {
            outln!("{s}");
            Ok(Status::Ok)
        }
        Err(e) => fail(format!("cannot encode the output as JSON: {e}")),
    }
}

/// Opens a corpus file for reading.
pub(crate) fn open(path: &Path) -> Result<std::io::BufReader<std::fs::File>> {
    match std::fs::File::open(path) {
        Ok(f) => Ok(std::io::BufReader::new(f)),
        Err(e) => fail(format!("cannot open {}: {e}", path.display())),
    }
}

/// Reads a labelled corpus (`eval`, `train`, `suggest`, `lint --input`), warning about the
/// lines it skips.
pub(crate) fn read_labelled(
    path: &Path,
    label_field: &str,
) -> Result<Vec<crate::authoring::eval::Labelled>> {
    read_input(path, Some(label_field))
}

/// Reads a corpus, labelled when `label_field` is given (else every line with text: `diff`),
/// warning about the lines it skips. A corpus without one usable line is an error: an `eval`
/// of nothing, or a `diff` that reports "0 of 0 requests change", would tell a reviewer that all
/// is well when the file was the wrong one (a CSV, an empty export).
pub(crate) fn read_input(
    path: &Path,
    label_field: Option<&str>,
) -> Result<Vec<crate::authoring::eval::Labelled>> {
    let read = match label_field {
        Some(field) => crate::authoring::eval::read_corpus(open(path)?, field),
        None => crate::authoring::eval::read_corpus_unlabelled(open(path)?),
    };
    let needs = match label_field {
        Some(field) => format!("JSON, text or \"{field}\""),
        None => "JSON or text".to_owned(),
    };
    // A request longer than the router accepts would be refused by Route; read, it would only
    // cost a trainer minutes and memory (a 12-million-character line: 57 s, 670 MB).
    let read = read.map(|(corpus, skipped)| {
        let (corpus, too_long): (Vec<_>, Vec<_>) = corpus.into_iter().partition(|item| {
            item.title.chars().count() + item.text.chars().count() <= crate::request::MAX_TEXT_CHARS
        });
        warn_too_long(&too_long);
        (corpus, skipped)
    });
    match read {
        Ok((corpus, skipped)) if corpus.is_empty() => {
            let lines = if skipped.is_empty() {
                "it has no lines".to_owned()
            } else {
                format!("{} line(s) without {needs}", skipped.len())
            };
            fail(format!(
                "{} has no usable line ({lines}); each line is a JSON object with \"id\", \
                 \"title\" and/or \"text\"{}",
                path.display(),
                label_field.map_or(String::new(), |f| format!(", and \"{f}\""))
            ))
        }
        Ok((corpus, skipped)) => {
            warn_skipped(&skipped, &needs);
            Ok(corpus)
        }
        Err(e) => fail(format!("cannot read {}: {e}", path.display())),
    }
}

/// The warning about the requests of a corpus longer than a request may be, which are skipped.
fn warn_too_long(items: &[crate::authoring::eval::Labelled]) {
    if !items.is_empty() {
        eprintln!(
            "warning: skipped {} request(s) longer than the {} characters (title and text \
             together) that the router accepts: {}",
            items.len(),
            crate::request::MAX_TEXT_CHARS,
            crate::authoring::eval::listed(
                items
                    .iter()
                    .map(|i| format!("\"{}\"", crate::authoring::eval::clipped(&i.id, 40)))
            )
        );
    }
}

/// The warning about the lines of a corpus that were skipped (`lacking`: what they lacked).
pub(crate) fn warn_skipped(skipped: &[usize], lacking: &str) {
    if !skipped.is_empty() {
        eprintln!(
            "warning: skipped {} line(s) without {lacking}, or not UTF-8: {}",
            skipped.len(),
            crate::authoring::eval::line_list(skipped)
        );
    }
}

pub(crate) fn parse_date(s: &str) -> std::result::Result<crate::situate::calendar::Date, String> {
    crate::situate::calendar::Date::parse(s)
        .ok_or_else(|| format!("\"{s}\" is not a date; write YYYY-MM-DD"))
}
