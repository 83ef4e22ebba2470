//! The `categories` section: the three-level classification tree requests are filed under.

use std::collections::{HashMap, HashSet};

use serde_saphyr::Spanned;

use super::super::diagnostic::{Code, Diagnostics, SourceLocation};
use super::super::ids::IdTable;
use super::super::load::SourceFile;
use super::super::raw::RawCategory;

/// A category of the tree (any level), where it is defined, and whether it is dispatched.
pub(crate) struct CategoryPath {
    pub path: Vec<String>,
    pub location: SourceLocation,
    /// Why not, when the category or one of its ancestors is marked `not_dispatched`.
    pub not_dispatched: Option<String>,
}

/// The validated tree, and the lookups rules need.
pub(crate) struct Categories {
    pub paths: Vec<CategoryPath>,
    /// Joined paths ("城乡建设/其他/其他"), indexed as `paths`.
    ids: IdTable,
    /// First-level categories (domains) by name → their index among the first levels.
    domains: HashMap<String, u32>,
}

impl Categories {
    /// A rule's `category`, if it has one, as its path (level 1, 2, 3), reported at its place when
    /// the tree has no such path; an empty path when it has none.
    pub fn path_of(
        &self,
        file: &str,
        category: Option<&Spanned<String>>,
        rule_id: &str,
        diags: &mut Diagnostics,
    ) -> Vec<String> {
        let Some(raw) = category else {
            return Vec::new();
        };
        let path: Vec<String> = raw.value.split('/').map(|s| s.trim().to_owned()).collect();
        let context = format!(" in rule \"{rule_id}\"");
        self.ids
            .resolve_as(file, raw, &path.join("/"), &context, diags);
        path
    }

    /// Why a city hotline does not dispatch requests of `path`, when it does not.
    pub fn not_dispatched(&self, path: &[String]) -> Option<&str> {
        let i = self.ids.get(&path.join("/"))?;
        self.paths[i].not_dispatched.as_deref()
    }

    /// The index of the domain (first level) `name`, `u32::MAX` for none.
    pub fn domain(&self, name: &str) -> u32 {
        self.domains.get(name).copied().unwrap_or(u32::MAX)
    }
}

pub(crate) fn validate(files: &[SourceFile], diags: &mut Diagnostics) -> Categories {
    let mut paths = Vec::new();
    for f in files {
        let mut seen_top = HashSet::new();
        for c in &f.raw.categories {
            let mut walk = Walk {
                file: &f.name,
                out: &mut paths,
                diags,
            };
            walk.node(c, &mut Vec::new(), None, &mut seen_top);
        }
    }
    let mut ids = IdTable::new("category", Code::UnknownCategory);
    for p in &paths {
        ids.define(&p.path.join("/"), p.location.clone(), diags);
    }
    let domains = paths
        .iter()
        .filter(|p| p.path.len() == 1)
        .enumerate()
        .map(|(i, p)| (p.path[0].clone(), u32::try_from(i).unwrap_or(u32::MAX)))
        .collect();
    Categories {
        paths,
        ids,
        domains,
    }
}

struct Walk<'a> {
    file: &'a str,
    out: &'a mut Vec<CategoryPath>,
    diags: &'a mut Diagnostics,
}

impl Walk<'_> {
    fn node(
        &mut self,
        c: &RawCategory,
        prefix: &mut Vec<String>,
        inherited: Option<&str>,
        seen: &mut HashSet<String>,
    ) {
        let at = SourceLocation::of(self.file, &c.name);
        let name = c.name.value.trim().to_owned();
        if name.is_empty() || name.contains('/') {
            self.diags.error(
                Code::EmptyValue,
                at,
                format!("category name \"{name}\" must be non-empty and contain no '/'"),
            );
            return;
        }
        if !seen.insert(name.clone()) {
            let full = prefix.iter().chain([&name]).cloned().collect::<Vec<_>>();
            self.diags.error(
                Code::DuplicateEntry,
                at,
                format!("duplicate category \"{}\"", full.join("/")),
            );
            return;
        }
        prefix.push(name);
        let why = c.not_dispatched.as_deref().or(inherited);
        if c.not_dispatched
            .as_deref()
            .is_some_and(|w| w.trim().is_empty())
        {
            self.diags.error(
                Code::EmptyValue,
                at.clone(),
                format!(
                    "not_dispatched of category \"{}\" is empty; say why a city hotline does not \
                     dispatch it",
                    prefix.join("/")
                ),
            );
        }
        self.out.push(CategoryPath {
            path: prefix.clone(),
            location: at,
            not_dispatched: why.map(str::to_owned),
        });
        let mut seen_children = HashSet::new();
        for child in &c.children {
            self.node(child, prefix, why, &mut seen_children);
        }
        for leaf in &c.leaves {
            let l = leaf.value.trim().to_owned();
            if l.is_empty() || l.contains('/') || !seen_children.insert(l.clone()) {
                self.diags.error(
                    Code::DuplicateEntry,
                    SourceLocation::of(self.file, leaf),
                    format!("category leaf \"{l}\" is empty, contains '/' or is listed twice"),
                );
                continue;
            }
            let mut p = prefix.clone();
            p.push(l);
            self.out.push(CategoryPath {
                path: p,
                location: SourceLocation::of(self.file, leaf),
                not_dispatched: why.map(str::to_owned),
            });
        }
        prefix.pop();
    }
}
