//! hotline-router: decides which department handles a request to a city's 12345 government
//! service hotline, on what legal ground, and when not to decide at all.
//!
//! # Layout
//!
//! The path of a request through the engine is visible in the module names:
//!
//! - [`normalize`]: NFKC, case, whitespace, punctuation, traditional → simplified, with a map
//!   back to offsets in the caller's original text;
//! - `segment`: jieba word segmentation with the rule vocabulary in its dictionary;
//! - `matcher`: one Aho-Corasick automaton over every rule term (hits only on word
//!   boundaries); patterns run only when their required literal occurs (a second automaton),
//!   the few without one in a small `RegexSet`;
//! - `score`: evaluates only the rules the hits touch, via posting lists (with the lead bonus and
//!   `within` windows);
//! - `decide`: emergency hand-off, threshold, priority tiers, ambiguity margin settled by each
//!   department's support, and the support override (a department with far more evidence takes
//!   a request from a rule that fired on a detail), and the domain check (a request mostly about
//!   another domain goes to a person) → outcome and confidence;
//! - `explain`: the `RouteResponse` (department, cited articles, evidence, alternatives);
//! - `situate`: where the matter is (jurisdiction, handling unit), what kind of request it is
//!   and by when (`jurisdiction`, `request_type`, `calendar`);
//! - `pipeline`: [`RuleSet::route`], the stages above in order.
//!
//! Around the engine:
//!
//! - [`ruleset`]: the rule author's world (department, regulation, category, rule, example):
//!   raw YAML → validated, compiled [`RuleSet`], with diagnostics carrying file:line:column;
//! - [`proto`]: the generated `hotline.routing.v1` types and service, shared by the server, the
//!   CLI's JSON output and the client;
//! - [`server`]: the gRPC service (health, reflection, limits, metrics, graceful shutdown);
//! - [`eval`]: accuracy of a rule set on a labelled corpus (`hotline-router eval`);
//! - [`diff`]: what an edit to the rules changes on a corpus (`hotline-router diff`);
//! - [`lint`]: warnings about a rule set that loads but may not do what its authors mean;
//! - [`cli`]: the `hotline-router` command line (`route`, `check`, `test`, `eval`, `serve`, ...).
//!
//! The binary (`src/main.rs`) only parses arguments and calls [`cli::run`].

pub mod calendar;
pub mod cli;
mod decide;
pub mod diff;
pub mod eval;
mod explain;
pub mod jurisdiction;
pub mod lint;
mod matcher;
pub mod normalize;
mod pipeline;
pub mod proto;
pub mod request;
pub mod request_type;
pub mod ruleset;
mod score;
mod segment;
pub mod server;
pub mod situate;
#[doc(hidden)]
pub mod synthetic;

pub use explain::render_text;
#[doc(hidden)]
pub use pipeline::stage_timings;
pub use ruleset::{LoadError, RuleSet, load_dir};
