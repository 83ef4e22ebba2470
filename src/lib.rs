//! hotline-router: decides which department handles a request to a city's 12345 government
//! service hotline, on what legal ground, and when not to decide at all.
//!
//! # Layout
//!
//! The path of a request, one folder:
//!
//! - [`engine`]: normalize → segment → match → score → decide → consult → alarm → explain, in
//!   `engine/pipeline.rs` as [`RuleSet::route`], the one entry every caller uses with a
//!   [`RouteInput`];
//! - [`situate`]: place and time, the last stage: jurisdiction (属地), the handling unit, the
//!   request type (咨询/求助/投诉/举报/建议/表扬) and the due date on the working-day calendar,
//!   with the rule set's tables for them (places, units, calendar, request types, time limits);
//! - [`model`]: the classifier the rules consult (`rules/classifier.model`): hashed character
//!   n-grams, a calibrated linear model, deterministic training with cross-validation; it
//!   cross-checks dispatches and suggests departments for manual triage, never replacing the
//!   rules' legal ground; the same kind of model is the emergency check
//!   (`rules/emergency.model`), which puts a possible emergency the rules did not hand off before
//!   a person at once;
//! - [`request`]: [`RouteInput`] and its validation (shared by the server and the CLI);
//! - [`sink`]: what happens after a decision: the [`DecisionSink`](sink::DecisionSink) seam (the
//!   log line, the metrics, a record file, the decision store);
//! - [`store`]: the decision store: every decision, its events (退单, 改派, 办结, 回访) and the
//!   rule files that decided it, in embedded SQLite, through a crash-safe spool.
//!
//! Around it:
//!
//! - [`ruleset`]: the rule author's world (department, regulation, category, rule, hand-off,
//!   out-of-scope matter, example): raw YAML → validated, compiled [`RuleSet`], one validator per
//!   section, diagnostics with stable codes and file:line:column;
//! - [`authoring`]: tools for rule authors: `eval` (accuracy on a labelled corpus, and with
//!   `--folds` rules + classifier on held-out folds; `--part`/`--without` one fold to read and
//!   the others to judge an edit on), `diff` (what an edit changes), `lint` (what may not do what
//!   its authors mean), `suggest` (words the rules miss, as proposals tried on the corpus);
//! - [`proto`]: the generated `hotline.routing.v1` types and service, shared by the server, the
//!   CLI's JSON output and the client;
//! - [`server`]: the gRPC service (health, reflection, limits, metrics, hot reload, graceful
//!   shutdown);
//! - [`console`]: the web console `serve` also serves (试一试, 规则, 报表, and the JSON API behind
//!   them): read-only, server-rendered, every asset in the binary;
//! - [`cli`]: the `hotline-router` command line, one file per subcommand, and its exit statuses;
//! - `synthetic`: generated rule sets for the scale benchmarks (not part of the API).
//!
//! The binary (`src/main.rs`) only parses arguments and calls [`cli::run`].

pub mod authoring;
pub mod cli;
pub mod console;
pub mod engine;
pub mod model;
pub mod proto;
pub mod request;
pub mod ruleset;
pub mod server;
pub mod sink;
pub mod situate;
pub mod store;
#[doc(hidden)]
pub mod synthetic;

#[doc(hidden)]
pub use engine::pipeline::{stage_timings, stage_timings_between};
pub use request::RouteInput;
pub use ruleset::{LoadError, RuleSet, load_dir};
