//! The `conditions` of every rule, and the `synonyms` they expand through, compiled into the
//! term index: every distinct term gets one id, and a posting list per term says which slot of
//! which rule it feeds, so that routing work depends on what the text contains, not on how many
//! rules exist.

use std::collections::HashMap;

use regex::RegexBuilder;
use serde_saphyr::Spanned;

use super::super::diagnostic::{Code, Diagnostics, SourceLocation};
use super::super::load::SourceFile;
use super::super::{Posting, Slot};
use super::rules::PendingRule;
use crate::engine::matcher::PATTERN_SIZE_LIMIT;
use crate::engine::normalize::normalize;

/// Most `all` groups in one rule (they are tracked in a bitmask).
pub(crate) const MAX_GROUPS: usize = 32;
/// Largest `within` window, in characters: beyond a paragraph, "near" means nothing.
const MAX_WITHIN: u32 = 500;
/// Longest term, in characters.
const MAX_TERM_CHARS: usize = 64;

/// Groups of interchangeable terms (the `synonyms` section), normalized.
pub(crate) struct Synonyms {
    group_of: HashMap<String, usize>,
    groups: Vec<Vec<String>>,
}

pub(crate) fn synonyms(files: &[SourceFile], diags: &mut Diagnostics) -> Synonyms {
    let mut s = Synonyms {
        group_of: HashMap::new(),
        groups: Vec::new(),
    };
    // Where each term was first put in a group: the conflict names both places, since files are
    // read in path order and the group an author just wrote may be either of the two.
    let mut first_at: HashMap<String, SourceLocation> = HashMap::new();
    for f in files {
        for g in &f.raw.synonyms {
            let idx = s.groups.len();
            let mut terms = Vec::new();
            for t in &g.value {
                let Some(n) = normalize_term(&f.name, t, diags) else {
                    continue;
                };
                if s.group_of.get(&n).is_some_and(|&other| other != idx) {
                    let other = first_at
                        .get(&n)
                        .map_or_else(String::new, |at| format!(" at {at}"));
                    diags.error(
                        Code::SynonymConflict,
                        SourceLocation::of(&f.name, t),
                        format!(
                            "term \"{}\" is already in the synonym group{other}; merge the two groups",
                            t.value
                        ),
                    );
                    continue;
                }
                first_at
                    .entry(n.clone())
                    .or_insert_with(|| SourceLocation::of(&f.name, t));
                s.group_of.insert(n.clone(), idx);
                terms.push(n);
            }
            if terms.len() < 2 {
                diags.warning(
                    Code::SmallSynonymGroup,
                    SourceLocation::of(&f.name, g),
                    "a synonym group needs at least two terms",
                );
            }
            s.groups.push(terms);
        }
    }
    s
}

/// The term index being built: terms, patterns and their postings.
#[derive(Default)]
pub(crate) struct TermIndex {
    ids: HashMap<String, u32>,
    pub terms: Vec<Box<str>>,
    pub term_postings: Vec<Vec<Posting>>,
    /// The text of each pattern that compiled. The compiled regex is dropped once checked: the
    /// matcher compiles its own pieces of it, and a set's worth of regexes held until then
    /// would be most of a reload's peak memory.
    pub patterns: Vec<Box<str>>,
    pub pattern_postings: Vec<Posting>,
}

impl TermIndex {
    /// Adds the conditions of `p`, the rule with index `rule`: checks them and posts every term
    /// (expanded through its synonym group) and pattern. Returns the number of `all` groups.
    pub fn add(
        &mut self,
        rule: u32,
        p: &PendingRule<'_>,
        synonyms: &Synonyms,
        diags: &mut Diagnostics,
    ) -> u8 {
        let (c, file, id) = (&p.conditions.value, p.file, p.id.value.as_str());
        if c.all.is_empty() && c.any.is_empty() && c.patterns.is_empty() {
            diags.error(
                Code::NoConditions,
                SourceLocation::of(file, p.conditions),
                format!("rule \"{id}\" has no conditions; give `all`, `any` or `patterns`"),
            );
        }
        if let Some(w) = &c.within {
            check_within(file, id, w, c.all.len(), diags);
        }
        if c.all.len() > MAX_GROUPS {
            diags.error(
                Code::TooManyGroups,
                SourceLocation::of(file, p.conditions),
                format!("rule \"{id}\" has more than {MAX_GROUPS} `all` groups"),
            );
        }
        for (g, group) in c.all.iter().enumerate().take(MAX_GROUPS) {
            if group.value.is_empty() {
                diags.error(
                    Code::EmptyGroup,
                    SourceLocation::of(file, group),
                    format!("empty `all` group in rule \"{id}\"; remove it or add terms"),
                );
            }
            for t in &group.value {
                self.term(file, t, rule, Slot::Group(g as u8), synonyms, diags);
            }
        }
        for t in &c.any {
            self.term(file, t, rule, Slot::Any, synonyms, diags);
        }
        for t in &c.none {
            self.term(file, t, rule, Slot::None, synonyms, diags);
        }
        for t in &c.turn {
            self.term(file, t, rule, Slot::Turn, synonyms, diags);
        }
        for t in &c.background {
            self.term(file, t, rule, Slot::Background, synonyms, diags);
        }
        for t in &c.now {
            self.term(file, t, rule, Slot::Now, synonyms, diags);
        }
        for pat in &c.patterns {
            self.pattern(file, pat, rule, diags);
        }
        c.all.len().min(MAX_GROUPS) as u8
    }

    fn term(
        &mut self,
        file: &str,
        t: &Spanned<String>,
        rule: u32,
        slot: Slot,
        synonyms: &Synonyms,
        diags: &mut Diagnostics,
    ) {
        let Some(n) = normalize_term(file, t, diags) else {
            return;
        };
        let expanded = match synonyms.group_of.get(&n) {
            Some(&g) => synonyms.groups[g].clone(),
            None => vec![n],
        };
        for term in expanded {
            let id = *self.ids.entry(term.clone()).or_insert_with(|| {
                self.terms.push(term.into_boxed_str());
                self.term_postings.push(Vec::new());
                u32::try_from(self.terms.len() - 1).unwrap_or(u32::MAX)
            });
            let list = &mut self.term_postings[id as usize];
            if !list.iter().any(|q| q.rule == rule && q.slot == slot) {
                list.push(Posting { rule, slot });
            }
        }
    }

    fn pattern(&mut self, file: &str, pat: &Spanned<String>, rule: u32, diags: &mut Diagnostics) {
        let built = RegexBuilder::new(&pat.value)
            .size_limit(PATTERN_SIZE_LIMIT)
            .build();
        match built {
            Ok(re) => {
                if re.is_match("") {
                    diags.error(
                        Code::PatternMatchesEmpty,
                        SourceLocation::of(file, pat),
                        format!(
                            "pattern \"{}\" matches the empty string, so it would fire on every request",
                            pat.value
                        ),
                    );
                } else if !crate::engine::matcher::is_gated(&pat.value) {
                    diags.warning(
                        Code::UngatedPattern,
                        SourceLocation::of(file, pat),
                        format!(
                            "pattern \"{}\" neither begins nor ends with a fixed word, so it is \
                             searched for in the whole text of every request",
                            pat.value
                        ),
                    );
                }
                unnormalized(file, pat, diags);
                self.patterns.push(pat.value.as_str().into());
                self.pattern_postings.push(Posting {
                    rule,
                    slot: Slot::Pattern,
                });
            }
            Err(e) => diags.error(
                Code::InvalidPattern,
                SourceLocation::of(file, pat),
                format!(
                    "invalid pattern \"{}\": {}",
                    pat.value,
                    last_line(&e.to_string())
                ),
            ),
        }
    }
}

fn check_within(file: &str, id: &str, w: &Spanned<u32>, groups: usize, diags: &mut Diagnostics) {
    if groups < 2 {
        diags.error(
            Code::BadWithin,
            SourceLocation::of(file, w),
            format!(
                "rule \"{id}\" sets `within` but has fewer than two `all` groups; `within` says \
                 how close the groups must be"
            ),
        );
    }
    if !(1..=MAX_WITHIN).contains(&w.value) {
        diags.error(
            Code::BadWithin,
            SourceLocation::of(file, w),
            format!(
                "`within` of rule \"{id}\" must be between 1 and {MAX_WITHIN} characters, not {}",
                w.value
            ),
        );
    }
}

/// Characters that separate items in a Chinese author's mind but not in YAML's: full-width
/// comma, enumeration comma, semicolons, a full-width space, and an ASCII comma or semicolon in
/// a quoted term.
const TERM_SEPARATORS: &[char] = &['，', '、', '；', ';', ',', '\u{3000}'];

/// The normalized form of a term, or a diagnostic when it cannot match anything.
fn normalize_term(file: &str, t: &Spanned<String>, diags: &mut Diagnostics) -> Option<String> {
    let n = normalize(&t.value).text().to_owned();
    let at = SourceLocation::of(file, t);
    if n.is_empty() {
        diags.error(Code::BadTerm, at, "empty term; remove it");
        return None;
    }
    // A Chinese input method types "，" where YAML needs ","; `[涨了，调价]` is then one term
    // that no request contains, and nothing else would say so.
    if let Some(sep) = t.value.chars().find(|c| TERM_SEPARATORS.contains(c)) {
        let parts: Vec<&str> = t
            .value
            .split(TERM_SEPARATORS)
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        let shown = if sep == '\u{3000}' {
            "a full-width space".to_owned()
        } else {
            format!("\"{sep}\"")
        };
        diags.error(
            Code::BadTerm,
            at,
            format!(
                "term \"{}\" contains {shown}, so it is one term that requests rarely contain; \
                 to list {} terms, separate them with an ASCII comma: [{}]",
                t.value,
                parts.len(),
                parts.join(", ")
            ),
        );
        return None;
    }
    if n.chars().count() > MAX_TERM_CHARS {
        diags.error(
            Code::BadTerm,
            at,
            format!(
                "term \"{}\" is longer than {MAX_TERM_CHARS} characters",
                t.value
            ),
        );
        return None;
    }
    if n.chars().count() == 1 && n.chars().all(|c| !c.is_ascii()) {
        diags.warning(
            Code::SingleCharTerm,
            at,
            format!(
                "single-character term \"{}\" matches in many unrelated requests; prefer a word",
                t.value
            ),
        );
    }
    Some(n)
}

/// Warns about a pattern's literal characters that no request holds once normalized: requests
/// are matched after `normalize` (traditional to simplified, full-width to half-width, lowercase,
/// invisible characters dropped), and patterns are not, so a pattern written with "𨋢", "，" or
/// "Lift" never matches where its author meant it to. Terms are normalized when they are
/// compiled and need no such warning. Only literals are read (from the parsed pattern), so an
/// escape such as `\D` or a class such as `[A-Z]` is not mistaken for an uppercase letter.
fn unnormalized(file: &str, pat: &Spanned<String>, diags: &mut Diagnostics) {
    let Ok(hir) = regex_syntax::parse(&pat.value) else {
        return;
    };
    let mut literal = String::new();
    literal_chars(&hir, &mut literal);
    // Each distinct character once, in order of first appearance (a set, so that a long
    // pattern costs its length, not its square).
    let mut seen = std::collections::HashSet::new();
    let mut found: Vec<String> = Vec::new();
    for c in literal.chars() {
        if !seen.insert(c) {
            continue;
        }
        // Between two letters that normalization keeps, so that a space (which it only trims at
        // the ends and collapses) is seen as it is inside a text.
        let n = normalize(&format!("x{c}x"));
        let folded = n
            .text()
            .strip_prefix('x')
            .and_then(|t| t.strip_suffix('x'))
            .unwrap_or("");
        let mut one = [0u8; 4];
        if folded == c.encode_utf8(&mut one) {
            continue;
        }
        found.push(if folded.is_empty() {
            format!(
                "an invisible character U+{:04X}, which normalization removes",
                c as u32
            )
        } else {
            format!("\"{c}\", which requests hold as \"{folded}\"")
        });
    }
    if found.is_empty() {
        return;
    }
    diags.warning(
        Code::UnnormalizedPattern,
        SourceLocation::of(file, pat),
        format!(
            "pattern \"{}\" holds {}: requests are matched after normalization, so as written \
             it does not match them there",
            pat.value,
            found.join("; ")
        ),
    );
}

/// The characters of every literal in `hir`, in order.
fn literal_chars(hir: &regex_syntax::hir::Hir, out: &mut String) {
    use regex_syntax::hir::HirKind;
    match hir.kind() {
        HirKind::Literal(lit) => out.push_str(&String::from_utf8_lossy(&lit.0)),
        HirKind::Capture(c) => literal_chars(&c.sub, out),
        HirKind::Repetition(r) => literal_chars(&r.sub, out),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => {
            for sub in subs {
                literal_chars(sub, out);
            }
        }
        HirKind::Empty | HirKind::Class(_) | HirKind::Look(_) => {}
    }
}

/// The regex crate's errors are multi-line with a caret diagram; keep the explanation line.
fn last_line(s: &str) -> String {
    let lines: Vec<&str> = s.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    lines.last().copied().unwrap_or(s).to_owned()
}
