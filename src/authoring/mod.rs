//! Tools for rule authors, on top of the engine: how good a rule set is on a labelled corpus
//! ([`eval`], and [`folds`] for rules with the classifier on held-out folds), what an edit changes ([`diff`]), and what may not do what its authors mean
//! ([`lint`]), and which words the rules miss ([`suggest`]).

pub mod diff;
pub mod eval;
pub mod folds;
pub mod lint;
pub mod suggest;
