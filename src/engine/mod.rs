//! The request path: normalize → segment → match → score → decide → consult → alarm → explain,
//! then `situate`.
//!
//! - [`normalize`]: NFKC, case, whitespace, punctuation, traditional → simplified, with a map
//!   back to offsets in the caller's original text;
//! - `segment`: jieba's word segmentation, with the rule vocabulary beside `dictionary`, jieba's
//!   dictionary as one compact trie that every segmenter shares;
//! - `matcher`: one Aho-Corasick automaton over every rule term (hits only on word
//!   boundaries) and the patterns' literals; a pattern runs only where a branch's prefix literal
//!   occurs with one of that branch's suffix literals within its reach, the few without literals
//!   in a small `RegexSet`;
//! - `score`: evaluates only the rules the hits touch, via posting lists (with the lead bonus and
//!   `within` windows);
//! - `decide`: hand-off, threshold, priority tiers, ambiguity margin settled by each department's
//!   support, the support override and the domain check → outcome and confidence;
//! - `consult`: the classifier's part, when the rule set has one: the cross-check of a dispatch,
//!   the opt-in fallback when no rule fires, suggestions for manual triage (`crate::model`);
//! - `alarm`: the emergency check, when the rule set has one: a request the rules did not hand
//!   off that may be an emergency goes to manual triage at once, flagged (never handed off);
//! - `explain`: the `RouteResponse` (department, cited articles, evidence, alternatives), and
//!   `render` its text form for a terminal;
//! - `pipeline`: [`RuleSet::route`](crate::RuleSet::route), the stages in order, once;
//! - `analyse`: the same stages for rule authors' tools (`tokens`, `lint`, `eval`).

pub(crate) mod alarm;
pub(crate) mod analyse;
pub(crate) mod consult;
pub(crate) mod decide;
pub(crate) mod dictionary;
pub(crate) mod explain;
pub(crate) mod matcher;
pub mod normalize;
pub(crate) mod pipeline;
pub(crate) mod render;
pub(crate) mod score;
pub(crate) mod segment;
pub(crate) mod traditional;

pub use analyse::{Analysis, RuleConditions, RuleTouched};
pub use render::render_text;
