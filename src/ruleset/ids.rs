//! One namespace of ids (departments, regulations, rules, places, categories): the place where a
//! duplicate is caught, a reference is resolved, and a misspelt reference gets its "did you mean".
//!
//! Every section of the rule files that defines ids registers them here, and every section that
//! refers to them resolves through here, so the messages a rule author sees for a duplicate or an
//! unknown id have one shape whatever the section.

use std::collections::HashMap;

use serde_saphyr::Spanned;

use super::diagnostic::{Code, Diagnostics, SourceLocation, did_you_mean};
use super::load::SourceFile;
use super::raw::Section;

pub(crate) struct IdTable {
    /// What the ids name, in the messages: "department", "regulation", "rule", "place".
    what: &'static str,
    /// The code of an unknown reference.
    unknown: Code,
    index: HashMap<String, usize>,
    /// Where each id is defined, by index.
    defined: Vec<SourceLocation>,
}

impl IdTable {
    pub fn new(what: &'static str, unknown: Code) -> Self {
        IdTable {
            what,
            unknown,
            index: HashMap::new(),
            defined: Vec::new(),
        }
    }

    /// Registers `id`, defined at `at`, and returns its index; a duplicate is reported (with the
    /// place of the first definition) and gets no index.
    pub fn define(
        &mut self,
        id: &str,
        at: SourceLocation,
        diags: &mut Diagnostics,
    ) -> Option<usize> {
        if let Some(&first) = self.index.get(id) {
            diags.error(
                Code::DuplicateId,
                at,
                format!(
                    "duplicate {} id \"{id}\" (first defined at {})",
                    self.what, self.defined[first]
                ),
            );
            return None;
        }
        let i = self.defined.len();
        self.index.insert(id.to_owned(), i);
        self.defined.push(at);
        Some(i)
    }

    pub fn get(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// Resolves a reference written at `r` in `file`; an unknown id is reported as
    /// `unknown <what> "<id>"<context>; did you mean "<closest>"?`.
    pub fn resolve(
        &self,
        file: &str,
        r: &Spanned<String>,
        context: &str,
        diags: &mut Diagnostics,
    ) -> Option<usize> {
        self.resolve_as(file, r, &r.value, context, diags)
    }

    /// [`resolve`](Self::resolve) for a reference whose id is `key`, a normalized form of what
    /// is written at `r` (a category path without spaces around its `/`).
    pub fn resolve_as(
        &self,
        file: &str,
        r: &Spanned<String>,
        key: &str,
        context: &str,
        diags: &mut Diagnostics,
    ) -> Option<usize> {
        let found = self.get(key);
        if found.is_none() {
            let hint = self.suggest(key);
            diags.error(
                self.unknown,
                SourceLocation::of(file, r),
                format!("unknown {} \"{}\"{context}{hint}", self.what, r.value),
            );
        }
        found
    }

    /// `; did you mean "x"?` for the closest id, or the empty string.
    pub fn suggest(&self, id: &str) -> String {
        did_you_mean(id, self.index.keys().map(String::as_str))
    }

    /// Every id defined, in no particular order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.index.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.defined.len()
    }
}

/// Validates one section whose entries have ids (departments, regulations, places) across all
/// files, in file order: each id is defined in a new [`IdTable`] (a duplicate is reported there
/// and its entry left out), and each entry is built by `build`.
pub(crate) fn define_section<'a, T: Section, R>(
    files: &'a [SourceFile],
    diags: &mut Diagnostics,
    mut build: impl FnMut(&'a str, &'a T, &mut Diagnostics) -> R,
) -> (Vec<R>, IdTable) {
    let mut ids = IdTable::new(T::WHAT, T::UNKNOWN);
    let mut out = Vec::new();
    for f in files {
        for entry in T::entries(&f.raw) {
            let raw = &entry.value;
            let at = SourceLocation::of(&f.name, raw.id());
            if ids.define(&raw.id().value, at, diags).is_some() {
                out.push(build(&f.name, raw, diags));
            }
        }
    }
    (out, ids)
}

/// A word from a closed list (a department's or place's `kind`, a request type), parsed; one
/// that is not on the list is reported at its place with the list and a "did you mean".
pub(crate) fn one_of<T>(
    what: &str,
    code: Code,
    names: &[&str],
    parse: impl Fn(&str) -> Option<T>,
    file: &str,
    s: &Spanned<String>,
    diags: &mut Diagnostics,
) -> Option<T> {
    let parsed = parse(s.value.trim());
    if parsed.is_none() {
        diags.error(
            code,
            SourceLocation::of(file, s),
            format!(
                "unknown {what} \"{}\"; use one of {}{}",
                s.value,
                names.join(", "),
                did_you_mean(&s.value, names.iter().copied())
            ),
        );
    }
    parsed
}

/// Whether `s` is an id: lowercase ASCII letters, digits and '-', not starting with '-'.
pub(crate) fn is_valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
}

/// Reports an id that is not of the form [`is_valid_id`] accepts.
pub(crate) fn check_id(what: &str, file: &str, id: &Spanned<String>, diags: &mut Diagnostics) {
    if !is_valid_id(&id.value) {
        diags.error(
            Code::InvalidId,
            SourceLocation::of(file, id),
            format!(
                "{what} id \"{}\" must be lowercase ASCII letters, digits and '-'",
                id.value
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(is_valid_id("property-fee-2"));
        assert!(!is_valid_id("Property"));
        assert!(!is_valid_id(""));
        assert!(!is_valid_id("物业"));
        assert!(!is_valid_id("-x"));
    }

    #[test]
    fn duplicates_and_unknown_references_are_reported_with_places() {
        let mut diags = Diagnostics::default();
        let mut t = IdTable::new("department", Code::UnknownDepartment);
        let at = |line| SourceLocation {
            file: "d.yaml".into(),
            line,
            column: 7,
        };
        assert_eq!(t.define("housing", at(1), &mut diags), Some(0));
        assert_eq!(t.define("housing", at(9), &mut diags), None);
        assert_eq!(t.get("housing"), Some(0));
        assert_eq!(t.suggest("housng"), "; did you mean \"housing\"?");
        let v = diags.into_sorted();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].code, Code::DuplicateId);
        assert_eq!(
            v[0].message,
            "duplicate department id \"housing\" (first defined at d.yaml:1:7)"
        );
    }
}
