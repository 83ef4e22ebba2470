//! Stage 3 of a request: find every rule term and pattern in the normalized text.
//!
//! All terms of all rules go into one Aho-Corasick automaton, so finding them costs one pass over
//! the text whatever the number of rules (a province's 10,000 rules cost the same scan as 100).
//! The automaton reports every occurrence, overlapping ones included; an occurrence counts only
//! when both its ends fall on word boundaries from the segmenter (see `segment.rs`).
//!
//! Patterns (regular expressions) are found through their required prefixes: the literals every
//! match must start with (`required_prefixes`) go into the same automaton, after the terms, and a pattern is tried
//! only where one of its literals starts, as an anchored search from there. The leftmost such
//! start that matches gives the same match as an unanchored search of the whole text (a match can
//! only start at one of those literals), but a pattern whose prefix is a common character ("人",
//! "车") costs a few short anchored checks instead of a scan of the text each time it occurs.
//! A pattern whose matches must also end with one of a few literals (`required_suffixes`) is tried
//! only at starts with one of those literals found at or after them: every match ends with one,
//! so where none follows, the anchored check cannot succeed. Most of the hand-off patterns start
//! with everyday characters ("说", "打", "房") and end with rare phrases ("出不来", "就跳"), and
//! an ordinary request then costs no anchored check at all.
//! A pattern that is a long alternation ("叫不醒|倒在地上|…|抽筋", as hand-offs are written) is
//! gated branch by branch: a literal's start is tried only where one of its own branch's suffix
//! literals ends within that branch's longest match of it. With the union of every branch's
//! suffixes and the longest branch's reach, one common suffix anywhere later in the text let every
//! start through (on the corpus and the test sets, 9,657 anchored checks instead of 76,555).
//! The check itself runs only the branches whose literals start there, each compiled on its own
//! (see `BranchSearch`): at one start, the first of them in the pattern's order that matches is
//! the pattern's leftmost-first match there.
//! A pattern that can start with almost anything ("(^|[^油])烟很大") but must end with one of a
//! few literals is searched for only where one of those literals occurs: every match ends with
//! one, so when the pattern's matches are at most `n` bytes long, each lies in the `n` bytes
//! before the end of an occurrence. Those windows, merged where they overlap, are searched in
//! order; the first match found starts where the leftmost match of the whole text starts (see
//! `leftmost_in_windows`).
//! Patterns without usable literals at either end go into one `RegexSet`, which says in a single
//! pass which of them match; only those are run again to find where, for the evidence (`check`
//! warns about them: W0106). The regex engines guarantee linear time in the text, and compiled
//! size is capped at load time, so a pathological pattern is a load error rather than a slow
//! request.

use daachorse::CharwiseDoubleArrayAhoCorasick;
use regex::RegexSet;
use regex_automata::nfa::thompson::{self, backtrack};
use regex_automata::{Anchored, Input, meta};

use crate::engine::segment::{Segmenter, Words};

/// Where a condition was satisfied: a term occurrence or a pattern match, as a byte range of the
/// normalized text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Hit {
    pub start: u32,
    pub end: u32,
    /// Term id, or pattern id for pattern hits.
    pub id: u32,
    pub is_pattern: bool,
}

impl Hit {
    /// The hit of pattern `id`'s match `m`.
    fn of_pattern(id: u32, m: regex_automata::Match) -> Hit {
        Hit {
            start: to_u32(m.start()),
            end: to_u32(m.end()),
            id,
            is_pattern: true,
        }
    }
}

/// The compiled vocabulary and patterns of a rule set.
pub(crate) struct Matcher {
    /// Every distinct word of the automaton's list (rule terms first, then the extra phrases,
    /// then the patterns' literals; see [`Matcher::new`]) once, valued by its [`Words`] group.
    automaton: CharwiseDoubleArrayAhoCorasick<u32>,
    /// For each distinct word, its ids in the list: `word_ids[group_start[g]..group_start[g + 1]]`
    /// for group `g`, ascending. A term can also be another pattern's literal, or two branches'
    /// literal, and the double array takes each word once.
    group_start: Vec<u32>,
    word_ids: Vec<u32>,
    terms: Vec<Box<str>>,
    /// The patterns' texts, for evidence and explanations.
    pattern_texts: Vec<Box<str>>,
    /// The patterns that are not gated branch by branch (`suffix_only` and `unfiltered`),
    /// compiled once each; None for the others.
    compiled: Vec<Option<meta::Regex>>,
    /// How many extra phrases follow the terms in `automaton`; the required prefix literals of
    /// the patterns that have them follow the extras (a pattern is run only where one of its
    /// literals occurs in the text).
    n_extras: usize,
    /// For each pattern literal of `automaton`, in order: the branch it belongs to.
    literal_owner: Vec<u32>,
    /// For each required suffix literal of `automaton` (they follow the prefix literals), in
    /// order: the branch it belongs to.
    suffix_owner: Vec<u32>,
    /// The gated patterns' branches (see [`Branch`]), and one for each pattern of `suffix_only`.
    branches: Vec<Branch>,
    /// Patterns with suffix literals but no prefix literals, with the longest match in bytes when
    /// it is bounded: each is searched for only before the occurrences of its suffix literals.
    suffix_only: Vec<(u32, Option<usize>)>,
    /// Patterns without a usable literal, tested together in one pass.
    unfiltered: RegexSet,
    unfiltered_ids: Vec<u32>,
}

/// One top-level branch of a pattern (`a|b|c` has three; any other pattern is one branch): every
/// match of the branch starts with one of its prefix literals, and, when it has suffix literals,
/// ends with one of them, at most `reach` bytes after its start. A start of a prefix literal is
/// tried only when one of its branch's suffix literals lies between it and that reach.
struct Branch {
    pattern: u32,
    has_suffixes: bool,
    /// The branch's longest match in bytes, when it is bounded.
    reach: Option<u32>,
    /// The branch compiled on its own, for anchored searches at its literals' starts; None for
    /// the branch of a `suffix_only` pattern.
    search: Option<BranchSearch>,
}

/// Compiled regexes may use at most this much memory each (the `regex` default is 10 MiB; rule
/// patterns are short, and a pattern that needs more is almost certainly a mistake).
pub(crate) const PATTERN_SIZE_LIMIT: usize = 1 << 20;

/// Whether the matcher can gate `pattern` by literals: every match starts with one of a few
/// fixed words, or ends with one. A pattern that cannot be gated is searched for in the whole
/// text of every request (the validator warns about it).
pub(crate) fn is_gated(pattern: &str) -> bool {
    gated_branches(pattern).is_some() || required_suffixes(pattern).is_some()
}

/// The literals of one branch of a pattern: what its matches start with, what they end with (if
/// that can be listed), and the longest match in bytes (if bounded).
struct BranchLiterals {
    hir: regex_syntax::hir::Hir,
    prefixes: Vec<Vec<u8>>,
    suffixes: Option<Vec<Vec<u8>>>,
    max_len: Option<usize>,
}

/// The literals of each top-level branch of `pattern`, when every branch has prefix literals;
/// None when one can start with anything. A long alternation ("叫不醒|倒在地上|…|抽筋") gets each
/// branch's own suffixes and reach rather than those of the whole, which are the union of all
/// branches' suffixes and the longest branch's reach: a start is then tried only where its own
/// branch could end.
fn gated_branches(pattern: &str) -> Option<Vec<BranchLiterals>> {
    use regex_syntax::hir::{HirKind, literal::ExtractKind};
    let hir = regex_syntax::parse(pattern).ok()?;
    let subs = match hir.kind() {
        HirKind::Alternation(subs) => subs.as_slice(),
        _ => std::slice::from_ref(&hir),
    };
    subs.iter()
        .map(|sub| {
            Some(BranchLiterals {
                hir: sub.clone(),
                prefixes: literals_of(sub, ExtractKind::Prefix)?,
                suffixes: literals_of(sub, ExtractKind::Suffix),
                max_len: sub.properties().maximum_len(),
            })
        })
        .collect()
}

/// The literals every match of `pattern` must start with, if they can be listed (all non-empty);
/// None when the pattern can start with anything. (The matcher gates by branch, see
/// [`gated_branches`]; this is the same extraction for the whole pattern.)
#[cfg(test)]
fn required_prefixes(pattern: &str) -> Option<Vec<Vec<u8>>> {
    required_literals(pattern, regex_syntax::hir::literal::ExtractKind::Prefix)
}

/// The literals every match of `pattern` must end with (in their natural order, not reversed),
/// if they can be listed (all non-empty); None otherwise.
fn required_suffixes(pattern: &str) -> Option<Vec<Vec<u8>>> {
    required_literals(pattern, regex_syntax::hir::literal::ExtractKind::Suffix)
}

fn required_literals(
    pattern: &str,
    kind: regex_syntax::hir::literal::ExtractKind,
) -> Option<Vec<Vec<u8>>> {
    literals_of(&regex_syntax::parse(pattern).ok()?, kind)
}

fn literals_of(
    hir: &regex_syntax::hir::Hir,
    kind: regex_syntax::hir::literal::ExtractKind,
) -> Option<Vec<Vec<u8>>> {
    let suffix = matches!(kind, regex_syntax::hir::literal::ExtractKind::Suffix);
    let seq = regex_syntax::hir::literal::Extractor::new()
        .kind(kind)
        .extract(hir);
    let lits = seq.literals()?;
    // The extractor cuts a long literal at a byte count, which can fall inside a character; the
    // automaton steps by character, so such a literal is cut back to whole characters (a shorter
    // prefix or suffix of every match is still one).
    let whole: Vec<Vec<u8>> = lits
        .iter()
        .map(|l| whole_chars(l.as_bytes(), suffix).to_vec())
        .collect();
    if whole.is_empty() || whole.iter().any(Vec::is_empty) {
        return None;
    }
    Some(gate_set(whole, suffix))
}

/// The most characters a gating literal keeps (see [`gate_set`]). Three kept fewer but gated
/// less: more branches were tried, and the match stage of an 80-character request took 0.1–0.2 µs
/// longer than with the whole literals; with four it takes as long (BENCHMARKS.md §4).
const GATE_CHARS: usize = 4;

/// A set of gating literals cut to their first (prefixes) or last (suffixes) [`GATE_CHARS`]
/// characters, without those that begin (end) with another literal of the set.
///
/// The literals only gate: a branch is tried where one of its prefixes starts, and only if one
/// of its suffixes ends within its reach. Where a literal occurs, its first (last) characters
/// occur at the same start (end), and so does a literal it begins (ends) with; so the cut set
/// finds every start and end the full set finds, and the branch's own search still decides.
/// The full set is the cross product of a pattern's alternatives: "(桥|大桥|江桥|河桥)(上)?(跳|翻)
/// (下去|下河|下江|河|江|进水)" gives 96 prefixes of up to eight characters, 50 once cut; the
/// bundled rules' patterns 52,356 literals in all, 27,607 once cut. The automaton holds them beside
/// the terms (2.35 MB, 1.73 MB once cut), and a reload that adds a term builds it anew beside the
/// serving one: with the full sets such a reload peaked above 100 MB of resident memory.
fn gate_set(literals: Vec<Vec<u8>>, suffix: bool) -> Vec<Vec<u8>> {
    let cut: Vec<&[u8]> = literals
        .iter()
        .map(|l| cut_chars(l, GATE_CHARS, suffix))
        .collect();
    // Sorted (suffixes by their reversed bytes), a literal that others begin (end) with comes
    // just before them, so each one need only be compared with the last one kept.
    let mut sorted = cut.clone();
    if suffix {
        sorted.sort_by(|a, b| a.iter().rev().cmp(b.iter().rev()));
    } else {
        sorted.sort();
    }
    let mut kept: Vec<&[u8]> = Vec::with_capacity(sorted.len());
    for l in sorted {
        let covered = kept.last().is_some_and(|k| {
            if suffix {
                l.ends_with(k)
            } else {
                l.starts_with(k)
            }
        });
        if !covered {
            kept.push(l);
        }
    }
    // In the extractor's order, each once.
    let mut kept: std::collections::HashSet<&[u8]> = kept.into_iter().collect();
    cut.into_iter()
        .filter(|l| kept.remove(l))
        .map(<[u8]>::to_vec)
        .collect()
}

/// The first (or, for a suffix, the last) `n` characters of `bytes` (whole UTF-8 characters).
fn cut_chars(bytes: &[u8], n: usize, suffix: bool) -> &[u8] {
    let Ok(s) = std::str::from_utf8(bytes) else {
        return bytes;
    };
    let mut starts = s.char_indices().map(|(i, _)| i);
    let cut = if suffix {
        starts
            .nth_back(n.saturating_sub(1))
            .and_then(|at| bytes.get(at..))
    } else {
        starts.nth(n).and_then(|at| bytes.get(..at))
    };
    cut.unwrap_or(bytes)
}

/// The longest run of whole UTF-8 characters of `bytes` at its start, or at its end for a
/// `suffix`.
fn whole_chars(bytes: &[u8], suffix: bool) -> &[u8] {
    if suffix {
        // A suffix cut inside a character starts with that character's continuation bytes.
        let skip = bytes.iter().take_while(|&&b| b & 0xC0 == 0x80).count();
        bytes.get(skip..).unwrap_or_default()
    } else {
        match std::str::from_utf8(bytes) {
            Ok(_) => bytes,
            Err(e) => bytes.get(..e.valid_up_to()).unwrap_or_default(),
        }
    }
}

impl Matcher {
    /// The automaton's words: the rule terms, then the extra phrases.
    #[cfg(test)]
    pub(crate) fn terms(&self) -> &[Box<str>] {
        &self.terms
    }

    /// `extras` are phrases found anywhere in the text, not only on word edges (place names,
    /// request-type cues): they ride on the same automaton so that the text is scanned once.
    ///
    /// `patterns` are the texts of patterns the validator has checked. The matcher takes texts,
    /// not the validator's compiled regexes: those are about 20 MB for the bundled rules, and a
    /// hot reload that builds a new matcher beside the serving one would hold them for as long
    /// as the build takes (the server's peak; BENCHMARKS.md §4).
    pub fn new(
        terms: Vec<Box<str>>,
        patterns: Vec<Box<str>>,
        extras: &[String],
    ) -> Result<Self, String> {
        let mut literal_bytes: Vec<Vec<u8>> = Vec::new();
        let mut literal_owner = Vec::new();
        let mut suffix_bytes: Vec<Vec<u8>> = Vec::new();
        let mut suffix_owner = Vec::new();
        let mut branches = Vec::new();
        let mut unfiltered_ids = Vec::new();
        let mut suffix_only = Vec::new();
        let mut compiled = Vec::with_capacity(patterns.len());
        for (i, re) in patterns.iter().enumerate() {
            let cannot_build = |e: String| format!("cannot build pattern {re}: {e}");
            match gated_branches(re) {
                // A pattern gated branch by branch is searched for by its branches alone.
                Some(gated) => {
                    compiled.push(None);
                    for b in gated {
                        let g = to_u32(branches.len());
                        let reach = b.max_len.and_then(|n| u32::try_from(n).ok());
                        branches.push(Branch {
                            pattern: i as u32,
                            has_suffixes: b.suffixes.is_some(),
                            reach,
                            search: Some(BranchSearch::new(&b.hir, reach).map_err(cannot_build)?),
                        });
                        for l in b.prefixes {
                            literal_bytes.push(l);
                            literal_owner.push(g);
                        }
                        for l in b.suffixes.into_iter().flatten() {
                            suffix_bytes.push(l);
                            suffix_owner.push(g);
                        }
                    }
                }
                None => {
                    compiled.push(Some(
                        compile()
                            .build(re)
                            .map_err(|e| cannot_build(e.to_string()))?,
                    ));
                    match required_suffixes(re) {
                        Some(lits) => {
                            let g = to_u32(branches.len());
                            branches.push(Branch {
                                pattern: i as u32,
                                has_suffixes: true,
                                reach: None,
                                search: None,
                            });
                            suffix_only.push((i as u32, maximum_len(re)));
                            for l in lits {
                                suffix_bytes.push(l);
                                suffix_owner.push(g);
                            }
                        }
                        None => unfiltered_ids.push(i as u32),
                    }
                }
            }
        }
        // One automaton, one pass over the text: terms, then extras, then pattern literals (prefixes,
        // then suffixes).
        let words: Vec<&[u8]> = terms
            .iter()
            .map(|t| t.as_bytes())
            .chain(extras.iter().map(|e| e.as_bytes()))
            .chain(literal_bytes.iter().map(Vec::as_slice))
            .chain(suffix_bytes.iter().map(Vec::as_slice))
            .collect();
        let (automaton, group_start, word_ids) = word_automaton(&words)?;
        let unfiltered =
            regex::RegexSetBuilder::new(unfiltered_ids.iter().map(|&i| &*patterns[i as usize]))
                .size_limit(PATTERN_SIZE_LIMIT.saturating_mul(unfiltered_ids.len().max(1)))
                .build()
                .map_err(|e| format!("cannot build the pattern set: {e}"))?;
        Ok(Matcher {
            automaton,
            group_start,
            word_ids,
            terms,
            pattern_texts: patterns,
            compiled,
            n_extras: extras.len(),
            literal_owner,
            suffix_owner,
            branches,
            suffix_only,
            unfiltered,
            unfiltered_ids,
        })
    }

    /// Whether a match of branch `g` starting at `at` could end with one of the branch's suffix
    /// literals found (`suffixes`: (branch, start, end), sorted): every match of the branch ends
    /// with one, which starts at or after `at` (it is part of the match) and, when the branch's
    /// matches are at most `n` bytes long, ends by `at + n`.
    fn could_end(&self, g: u32, at: u32, suffixes: &[(u32, u32, u32)]) -> bool {
        let Some(b) = self.branches.get(g as usize) else {
            return false;
        };
        if !b.has_suffixes {
            return true;
        }
        let from = suffixes.partition_point(|s| (s.0, s.1) < (g, at));
        let mut after = suffixes
            .get(from..)
            .unwrap_or_default()
            .iter()
            .take_while(|s| s.0 == g);
        match b.reach {
            Some(n) => {
                let reach = at.saturating_add(n);
                after.take_while(|s| s.1 <= reach).any(|s| s.2 <= reach)
            }
            None => after.next().is_some(),
        }
    }

    pub fn term(&self, id: u32) -> &str {
        self.terms.get(id as usize).map_or("", |t| t)
    }

    pub fn pattern(&self, id: u32) -> &str {
        self.pattern_texts.get(id as usize).map_or("", |t| t)
    }

    /// Fills `hits` with every term occurrence that `words` accepts and every pattern match, sorted
    /// by position, and `extras` with every occurrence of an extra phrase (extra index, start, end).
    pub fn find(
        &self,
        text: &str,
        segmenter: &Segmenter,
        words: &Words,
        hits: &mut Vec<Hit>,
        extras: &mut Vec<(u32, u32, u32)>,
    ) {
        hits.clear();
        extras.clear();
        // The lists of pattern literals found live in per-thread scratch (see `FIND_SCRATCH`),
        // taken for the request and put back, emptied, after it.
        let mut scratch = FIND_SCRATCH.take();
        let FindScratch {
            starts,
            suffixes,
            suffix_ends,
            ..
        } = &mut scratch;
        let n_terms = self.terms.len();
        let n_words = n_terms + self.n_extras;
        let n_prefixes = self.literal_owner.len();
        let occurrences = self.automaton.find_overlapping_iter(text).flat_map(|m| {
            let g = m.value() as usize;
            let ids = match (self.group_start.get(g), self.group_start.get(g + 1)) {
                (Some(&a), Some(&b)) => self.word_ids.get(a as usize..b as usize),
                _ => None,
            };
            let (start, end) = (m.start(), m.end());
            ids.unwrap_or_default()
                .iter()
                .map(move |&id| (id as usize, start, end))
        });
        for (id, start, end) in occurrences {
            if id >= n_words + n_prefixes {
                if let Some(&g) = self.suffix_owner.get(id - n_words - n_prefixes) {
                    // A gated branch's suffixes tell where its starts could end; those of a
                    // pattern without prefix literals, where to look for it.
                    match self.branches.get(g as usize) {
                        Some(b) if b.search.is_none() => {
                            suffix_ends.push((b.pattern, to_u32(end)));
                        }
                        _ => suffixes.push((g, to_u32(start), to_u32(end))),
                    }
                }
            } else if id >= n_words {
                if let Some(&g) = self.literal_owner.get(id - n_words)
                    && let Some(b) = self.branches.get(g as usize)
                {
                    starts.push((b.pattern, to_u32(start), g));
                }
            } else if id >= n_terms {
                extras.push((to_u32(id - n_terms), to_u32(start), to_u32(end)));
            } else if segmenter.accepts(text, words, start, end) {
                hits.push(Hit {
                    start: to_u32(start),
                    end: to_u32(end),
                    id: to_u32(id),
                    is_pattern: false,
                });
            }
        }
        if !self.compiled.is_empty() {
            self.run_patterns(text, hits, &mut scratch);
        }
        scratch.empty();
        FIND_SCRATCH.set(scratch);
        hits.sort_unstable();
        hits.dedup();
    }

    /// The patterns' matches, into `hits`, from the literals the automaton found.
    #[inline(always)]
    fn run_patterns(&self, text: &str, hits: &mut Vec<Hit>, scratch: &mut FindScratch) {
        let FindScratch {
            starts,
            suffixes,
            suffix_ends,
            starting,
        } = scratch;
        // Only the suffixes of branches that start somewhere in the text are looked up:
        // the others (a common last character, and no first word before it) are dropped
        // before sorting.
        starting.clear();
        starting.resize(self.branches.len().div_ceil(64), 0);
        for &(_, _, g) in starts.iter() {
            if let Some(w) = starting.get_mut(g as usize / 64) {
                *w |= 1 << (g % 64);
            }
        }
        suffixes.retain(|&(g, _, _)| {
            starting
                .get(g as usize / 64)
                .is_some_and(|w| w & (1 << (g % 64)) != 0)
        });
        suffixes.sort_unstable();
        // Most starts have none of their branch's suffixes after them (an everyday first
        // character, a rare last phrase): dropped before sorting, they cost no sort.
        starts.retain(|&(_, at, g)| self.could_end(g, at, suffixes));
        starts.sort_unstable();
        starts.dedup();
        let mut done: Option<u32> = None;
        // By pattern, start and branch: at one start, the first branch in the pattern's order
        // that matches there is the pattern's match there (leftmost-first), and the first start
        // with a match is the pattern's leftmost match.
        for &(i, at, g) in starts.iter() {
            if done == Some(i) {
                continue;
            }
            let found = self
                .branches
                .get(g as usize)
                .and_then(|b| b.find_at(text, at as usize));
            if let Some(m) = found {
                hits.push(Hit::of_pattern(i, m));
                done = Some(i);
            }
        }
        if !suffix_ends.is_empty() {
            suffix_ends.sort_unstable();
            suffix_ends.dedup();
        }
        for &(i, max_len) in &self.suffix_only {
            let ends = {
                let from = suffix_ends.partition_point(|&(p, _)| p < i);
                let to = suffix_ends.partition_point(|&(p, _)| p <= i);
                suffix_ends.get(from..to).unwrap_or_default()
            };
            // Every match ends with one of the pattern's suffix literals: none found, no match.
            if ends.is_empty() {
                continue;
            }
            let Some(Some(re)) = self.compiled.get(i as usize) else {
                continue;
            };
            let found = match max_len {
                Some(n) => leftmost_in_windows(re, text, ends, n),
                None => re.find(text),
            };
            if let Some(m) = found {
                hits.push(Hit::of_pattern(i, m));
            }
        }
        if !self.unfiltered_ids.is_empty() {
            for i in self.unfiltered.matches(text).iter() {
                let id = self.unfiltered_ids[i];
                if let Some(m) = self
                    .compiled
                    .get(id as usize)
                    .and_then(Option::as_ref)
                    .and_then(|re| re.find(text))
                {
                    hits.push(Hit::of_pattern(id, m));
                }
            }
        }
    }
}

/// How many entries each of [`FindScratch`]'s lists keeps room for between requests (the
/// 80-character benchmark request fills them with a few dozen).
const SCRATCH_KEEP: usize = 1024;

/// The lists [`Matcher::find`] builds on its way, per thread (see `FIND_SCRATCH`).
#[derive(Default)]
struct FindScratch {
    /// (pattern, start of one of its literals, the literal's branch), tried in order of pattern
    /// and start: the first start where the pattern matches, anchored, is its leftmost match.
    starts: Vec<(u32, u32, u32)>,
    /// (branch, start, end) of each occurrence of a suffix literal.
    suffixes: Vec<(u32, u32, u32)>,
    /// (pattern, end of one of its suffix literals), for the patterns without prefix literals.
    suffix_ends: Vec<(u32, u32)>,
    /// A bit per branch: one of its prefix literals occurs in the text.
    starting: Vec<u64>,
}

impl FindScratch {
    const EMPTY: FindScratch = FindScratch {
        starts: Vec::new(),
        suffixes: Vec::new(),
        suffix_ends: Vec::new(),
        starting: Vec::new(),
    };

    /// Empties the lists for the next request. A text of 20,000 characters of pattern literals
    /// fills them with megabytes; the thread keeps no more room than an ordinary request needs.
    fn empty(&mut self) {
        fn keep<T>(list: &mut Vec<T>) {
            list.clear();
            list.shrink_to(SCRATCH_KEEP);
        }
        keep(&mut self.starts);
        keep(&mut self.suffixes);
        keep(&mut self.suffix_ends);
    }
}

/// How one branch of a gated pattern is searched for at a start.
///
/// Most branches are short and bounded ("说.{0,6}就跳"): a bounded backtracker over the branch's
/// own NFA, searching only the bytes a match can span, needs no cache of its own (one per thread
/// serves every branch, see [`BACKTRACK`]). The meta engine would keep, per pattern and per
/// thread, lazy DFA caches of up to 2 MiB each and a reverse NFA: with the bundled hand-offs'
/// 275 patterns, a server's memory grew by about 90 MB over 22,552 varied requests. A branch
/// without a bound, or too large for the backtracker's bitset over its span, keeps the meta
/// engine.
enum BranchSearch {
    /// Only for a branch with a `reach` that the backtracker's bitset covers.
    Bounded(backtrack::BoundedBacktracker),
    Meta(meta::Regex),
}

thread_local! {
    /// [`Matcher::find`]'s lists, kept between requests: allocating and growing them anew cost
    /// the match stage about a tenth of its time (BENCHMARKS.md §1).
    static FIND_SCRATCH: std::cell::RefCell<FindScratch> =
        const { std::cell::RefCell::new(FindScratch::EMPTY) };
    /// The backtracker's scratch (its visited set and stack), reset to whichever branch is
    /// searched: at most [`VISITED_CAPACITY`] bytes per thread, whatever the number of branches.
    static BACKTRACK: std::cell::RefCell<Option<backtrack::Cache>> =
        const { std::cell::RefCell::new(None) };
}

/// The backtracker's visited set, in bytes: one bit per (NFA state, byte of the span).
const VISITED_CAPACITY: usize = 256 * 1024;

impl BranchSearch {
    /// The search of a branch whose matches are at most `reach` bytes long, when bounded.
    fn new(hir: &regex_syntax::hir::Hir, reach: Option<u32>) -> Result<Self, String> {
        if let Some(reach) = reach {
            let nfa = thompson::Compiler::new()
                .configure(
                    thompson::Config::new()
                        .nfa_size_limit(Some(PATTERN_SIZE_LIMIT))
                        .which_captures(thompson::WhichCaptures::Implicit),
                )
                .build_from_hir(hir)
                .map_err(|e| e.to_string())?;
            let re = backtrack::BoundedBacktracker::builder()
                .configure(backtrack::Config::new().visited_capacity(VISITED_CAPACITY))
                .build_from_nfa(nfa)
                .map_err(|e| e.to_string())?;
            if re.max_haystack_len() >= reach as usize {
                return Ok(BranchSearch::Bounded(re));
            }
        }
        compile()
            .build_from_hir(hir)
            .map(BranchSearch::Meta)
            .map_err(|e| e.to_string())
    }
}

impl Branch {
    /// The branch's match that starts at `at`, if any (None for the branch of a `suffix_only`
    /// pattern, which has no search of its own).
    fn find_at(&self, text: &str, at: usize) -> Option<regex_automata::Match> {
        match self.search.as_ref()? {
            BranchSearch::Meta(re) => re.find(Input::new(text).range(at..).anchored(Anchored::Yes)),
            BranchSearch::Bounded(re) => {
                // A match is at most `reach` bytes long, so only those bytes are searched; the
                // rest of the text stays the context that look-arounds see.
                let reach = self.reach.map_or(usize::MAX, |n| n as usize);
                let end = at.saturating_add(reach).min(text.len());
                let input = Input::new(text).range(at..end).anchored(Anchored::Yes);
                // The backtracker's one error is a span longer than its bitset allows, and the
                // span is at most `reach`, which was checked against it when built.
                BACKTRACK.with(|cache| match cache.try_borrow_mut() {
                    Ok(mut cache) => {
                        let cache = match cache.as_mut() {
                            Some(c) => {
                                c.reset(re);
                                c
                            }
                            None => cache.insert(re.create_cache()),
                        };
                        re.try_find(cache, input).ok().flatten()
                    }
                    // Never nested today; if it were, a scratch of its own rather than a panic.
                    Err(_) => re.try_find(&mut re.create_cache(), input).ok().flatten(),
                })
            }
        }
    }
}

/// A builder of the matcher's regexes (a pattern, or one branch of one).
fn compile() -> meta::Builder {
    let mut b = meta::Builder::new();
    b.configure(meta::Config::new().nfa_size_limit(Some(PATTERN_SIZE_LIMIT)));
    b
}

/// The term automaton, valued by group, with each group's start in `word_ids` and the ids.
type WordAutomaton = (CharwiseDoubleArrayAhoCorasick<u32>, Vec<u32>, Vec<u32>);

/// The automaton of `words` (UTF-8, the ids being their indices), each distinct word once, with
/// the ids of each distinct word in ascending order (see [`Matcher::group_start`]).
///
/// A double array stepped by character rather than by byte: a CJK character is one step instead
/// of three, and each step is two array reads. On the bundled rules' 48,963 words of 2026-12-07
/// (32,102 distinct; before the pattern gates were cut, [`gate_set`]) it finds an 80-character
/// request's occurrences about three times faster than the `aho-corasick` crate's contiguous
/// NFA, in 2.1 MB against 3.5 MB (BENCHMARKS.md §1). An
/// occurrence is reported as the `aho-corasick` crate reports it in its overlapping search: by
/// end, longer words first, and the ids of one word in ascending order.
fn word_automaton(words: &[&[u8]]) -> Result<WordAutomaton, String> {
    let mut order: Vec<u32> = (0..to_u32(words.len())).collect();
    order.sort_by_key(|&i| (words.get(i as usize).copied().unwrap_or_default(), i));
    let mut distinct: Vec<(&str, u32)> = Vec::new();
    let mut group_start = Vec::new();
    let mut word_ids = Vec::with_capacity(order.len());
    let mut last: Option<&[u8]> = None;
    for i in order {
        let w = words.get(i as usize).copied().unwrap_or_default();
        // An empty word occurs nowhere a rule could use (the validator refuses empty terms and
        // phrases, and literals are never empty), and the double array refuses it.
        if w.is_empty() {
            continue;
        }
        if last != Some(w) {
            let text = std::str::from_utf8(w)
                .map_err(|e| format!("cannot build the keyword automaton: {e}"))?;
            distinct.push((text, to_u32(group_start.len())));
            group_start.push(to_u32(word_ids.len()));
            last = Some(w);
        }
        word_ids.push(i);
    }
    group_start.push(to_u32(word_ids.len()));
    if distinct.is_empty() {
        // The double array needs one word; this one cannot occur in a normalized text (control
        // characters are dropped) and has no ids.
        distinct.push(("\u{0}", 0));
        group_start = vec![0, 0];
    }
    let automaton = CharwiseDoubleArrayAhoCorasick::with_values(distinct)
        .map_err(|e| format!("cannot build the keyword automaton: {e}"))?;
    Ok((automaton, group_start, word_ids))
}

/// The longest match of `pattern` in bytes, when it is bounded.
fn maximum_len(pattern: &str) -> Option<usize> {
    regex_syntax::parse(pattern)
        .ok()?
        .properties()
        .maximum_len()
}

/// The leftmost match of `re` in `text`, given that every match ends at one of `ends` (pattern,
/// byte offset; ascending) and is at most `max_len` bytes long, so lies in one of the windows
/// `[end - max_len, end)`. Overlapping windows are merged into ranges, so that no byte is searched
/// twice and a text full of suffix literals costs one pass, as a search of the whole text would.
/// Each range is searched with the whole text as context (look-arounds such as `^` see the text,
/// not the range), so any match found there is a match in the text; the ranges are disjoint and
/// in order, so the first match found starts where the leftmost match of the text starts, and an
/// anchored search from there, over the rest of the text, is that match.
fn leftmost_in_windows(
    re: &meta::Regex,
    text: &str,
    ends: &[(u32, u32)],
    max_len: usize,
) -> Option<regex_automata::Match> {
    let search = |from: usize, to: usize| re.find(Input::new(text).range(from..to));
    let mut range: Option<(usize, usize)> = None;
    let mut start = None;
    for &(_, end) in ends {
        let end = (end as usize).min(text.len());
        let from = end.saturating_sub(max_len);
        range = match range {
            Some((a, b)) if from <= b => Some((a, end.max(b))),
            Some((a, b)) => {
                if let Some(m) = search(a, b) {
                    start = Some(m.start());
                    break;
                }
                Some((from, end))
            }
            None => Some((from, end)),
        };
    }
    if start.is_none() {
        let (a, b) = range?;
        start = Some(search(a, b)?.start());
    }
    re.find(Input::new(text).range(start?..).anchored(Anchored::Yes))
}

fn to_u32(x: usize) -> u32 {
    u32::try_from(x).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;

    #[test]
    fn terms_only_on_word_boundaries() {
        let terms: Vec<Box<str>> = vec!["停电".into(), "电梯".into()];
        let seg = Segmenter::with_vocabulary(terms.iter().map(|t| &**t));
        let m = Matcher::new(terms, vec![], &[]).unwrap();
        let mut words = Words::default();
        let mut hits = Vec::new();
        let text = "物业暂停电梯运行";
        seg.segment(text, &mut words);
        m.find(text, &seg, &words, &mut hits, &mut Vec::new());
        let found: Vec<&str> = hits.iter().map(|h| m.term(h.id)).collect();
        assert_eq!(found, vec!["电梯"]);
    }

    #[test]
    fn prefix_literals_gate_patterns() {
        assert_eq!(
            required_prefixes(r"维修\d+号"),
            Some(vec!["维修".as_bytes().to_vec()])
        );
        assert_eq!(
            required_prefixes(r"(停水|停电)了"),
            Some(vec![
                "停水了".as_bytes().to_vec(),
                "停电了".as_bytes().to_vec()
            ])
        );
        assert_eq!(required_prefixes(r"\d{3}元"), None);
        let m = Matcher::new(vec![], vec![r"维修\d+号".into(), r"\d{3}元".into()], &[]).unwrap();
        assert_eq!(
            pattern_spans(&m, "维修12号楼多收了200元"),
            vec!["维修12号", "200元"]
        );
    }

    /// Patterns whose gated hits are compared with a search of the whole text, with their
    /// matcher and a segmenter, built once.
    static GATED: std::sync::LazyLock<(Vec<Regex>, Matcher, Segmenter)> =
        std::sync::LazyLock::new(|| {
            let regexes: Vec<Regex> = [
                r"(拿|抄|举)(着|起)?(了)?.{0,4}(刀|棍子|砖)",
                r"(人|孩子|老人).{0,8}(躺|倒)(在)?.{0,6}(不动|没反应)",
                r"(在|正在)(打|踢)(人|孩子)|打人",
                r"(a|ab)(c|bcd)(d*)",
                r"车.{0,6}(撞|翻)",
                r"(说|喊着?).{0,6}就跳",
                r"(撞|翻)了",
                r"(^|[^油])(烟|烟雾)(很大|呛人)|着火",
                r"[^a]b.*cd",
                r"[^x]abcd|[^x]c",
                r"甲.{0,2}乙|丙.*丁|戊(己|庚)|乙{2}",
                r"甲乙|甲乙丙|乙.{0,3}丙",
                r"乙.{0,3}丙|甲乙丙|甲乙",
                // Literals longer than the gates keep (GATE_CHARS): cut and deduplicated.
                r"(桥|大桥)(上)?(跳|翻)(下去|进水)",
                r"一二三四五.{0,3}六七八九十",
            ]
            .iter()
            .map(|p| Regex::new(p).unwrap())
            .collect();
            let texts = regexes.iter().map(|r| r.as_str().into()).collect();
            let m = Matcher::new(vec![], texts, &[]).unwrap();
            (regexes, m, Segmenter::with_vocabulary([]))
        });

    /// The first of [`GATED`]'s patterns whose hit in `text` (anchored checks at its prefix
    /// literals, skipped where no suffix literal follows) is not its leftmost match in a search of
    /// the whole text, with both spans.
    fn gate_mismatch(text: &str) -> Option<String> {
        let (regexes, m, seg) = &*GATED;
        let mut words = Words::default();
        seg.segment(text, &mut words);
        let mut hits = Vec::new();
        m.find(text, seg, &words, &mut hits, &mut Vec::new());
        regexes.iter().enumerate().find_map(|(i, re)| {
            let expected = re.find(text).map(|x| (x.start() as u32, x.end() as u32));
            let got = hits
                .iter()
                .find(|h| h.is_pattern && h.id == i as u32)
                .map(|h| (h.start, h.end));
            (got != expected).then(|| format!("{}: {got:?}, expected {expected:?}", re.as_str()))
        })
    }

    #[test]
    fn anchored_checks_find_what_a_search_of_the_whole_text_finds() {
        for text in [
            "翻了，撞了，后来来了一辆车",
            "就跳吧，他说了，喊着说了很久很久很久很久就跳",
            "他喊着就跳，说完就跳",
            "有人拿刀，还有人拿着一根棍子",
            "人太多了，那个老人倒在地上不动了，孩子躺着没反应",
            "楼下有个男的正在打孩子，刚才还在打人",
            "abcd abcdd",
            "油烟很大，烟很大",
            "烟很大",
            "楼下油烟呛人",
            "xbcd abcd",
            "yabcd",
            "甲一二乙",
            "甲一二三乙，甲乙",
            "甲一二三乙丙丁",
            "丙一二三四五六七八九十丁",
            "戊一己，戊己",
            "甲乙乙",
            "甲乙丙",
            "乙一丙，甲乙丙",
            "油烟很大，油烟呛人，烟雾呛人，很大",
            "车车车，车子刚才翻了，又一辆车撞了",
            "大桥上跳下去，桥上翻进水，桥跳进水",
            "大桥上跳下，桥上跳，桥上跳下去",
            "一二三四五六七八九十，一二三四五甲六七八九十",
            "一二三四六七八九十，二三四五乙七八九十，一二三四五丙丁戊己六七八九十",
            "没有任何相关的字",
            "",
        ] {
            assert_eq!(gate_mismatch(text), None, "{text}");
        }
        // Suffix literals everywhere: the windows merge into one range.
        let long = format!(
            "{}，烟雾呛人{}",
            "油烟很大".repeat(2_000),
            "很大".repeat(500)
        );
        assert_eq!(gate_mismatch(&long), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        /// Texts made of the patterns' own pieces, in any order.
        #[test]
        fn prefix_and_suffix_gates_find_what_a_whole_text_search_finds(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "车", "撞", "翻", "说", "喊着", "就跳", "打", "人", "孩子", "在", "正在",
                    "拿", "着", "刀", "砖", "倒", "不动", "躺", "a", "b", "c", "d", "，", "了",
                    "一二", "😀", "油", "烟", "烟雾", "很大", "呛人", "着火", "甲", "乙", "丙",
                    "丁", "戊", "己", "庚", "桥", "大桥", "上", "跳", "下去", "进水", "一二三四",
                    "五", "六七八", "九十",
                ]),
                0..20,
            )
        ) {
            let text: String = parts.concat();
            proptest::prop_assert_eq!(gate_mismatch(&text), None, "{:?}", text);
        }
    }

    #[test]
    fn gates_are_cut_to_a_few_characters_and_cover_every_literal() {
        use regex_syntax::hir::literal::{ExtractKind, Extractor};
        let hir = regex_syntax::parse("(桥|大桥|江桥|河桥)(上)?(跳|翻)(下去|下河|下江|河|江|进水)")
            .unwrap();
        for kind in [ExtractKind::Prefix, ExtractKind::Suffix] {
            let suffix = matches!(kind, ExtractKind::Suffix);
            let full = Extractor::new().kind(kind.clone()).extract(&hir);
            let full = full.literals().unwrap();
            let cut = literals_of(&hir, kind).unwrap();
            assert!(cut.len() < full.len(), "{} of {}", cut.len(), full.len());
            for c in &cut {
                assert!(std::str::from_utf8(c).unwrap().chars().count() <= GATE_CHARS);
            }
            // Where a literal of the full set occurs, a gate occurs at the same start (or end).
            for l in full {
                let l = l.as_bytes();
                assert!(
                    cut.iter().any(|c| if suffix {
                        l.ends_with(c)
                    } else {
                        l.starts_with(c)
                    }),
                    "{}",
                    String::from_utf8_lossy(l)
                );
            }
            // And no gate is redundant.
            for (i, a) in cut.iter().enumerate() {
                for (j, b) in cut.iter().enumerate() {
                    let covers = if suffix {
                        b.ends_with(a)
                    } else {
                        b.starts_with(a)
                    };
                    assert!(i == j || !covers, "{:?} and {:?}", a, b);
                }
            }
        }
    }

    #[test]
    fn each_branch_of_an_alternation_is_gated_by_its_own_literals_and_reach() {
        let branches = gated_branches(r"甲.{0,2}乙|丙.*丁|戊(己|庚)").unwrap();
        fn text(l: &[Vec<u8>]) -> Vec<&str> {
            l.iter().map(|x| std::str::from_utf8(x).unwrap()).collect()
        }
        type Shown<'a> = (Vec<&'a str>, Option<Vec<&'a str>>, Option<usize>);
        let shown: Vec<Shown<'_>> = branches
            .iter()
            .map(|b| {
                (
                    text(&b.prefixes),
                    b.suffixes.as_deref().map(text),
                    b.max_len,
                )
            })
            .collect();
        assert_eq!(
            shown,
            vec![
                (vec!["甲"], Some(vec!["乙"]), Some(3 + 2 * 4 + 3)),
                (vec!["丙"], Some(vec!["丁"]), None),
                (vec!["戊己", "戊庚"], Some(vec!["戊己", "戊庚"]), Some(6)),
            ]
        );
        // One branch that can start with anything: the pattern is not gated by branches.
        assert!(gated_branches(r"甲乙|.丙").is_none());
        assert!(is_gated(r"甲乙|.丙"), "still gated by its suffix literals");
    }

    #[test]
    fn suffix_literals_are_listed_in_reading_order() {
        assert_eq!(
            required_suffixes(r"(说|喊着?).{0,6}就跳"),
            Some(vec!["就跳".as_bytes().to_vec()])
        );
        assert_eq!(required_suffixes(r"车.{0,6}\d+"), None);
    }

    #[test]
    fn a_term_that_is_also_a_pattern_literal_counts_for_both() {
        let terms: Vec<Box<str>> = vec!["打人".into()];
        let seg = Segmenter::with_vocabulary(terms.iter().map(|t| &**t));
        let m = Matcher::new(terms, vec![r"打人|拿刀".into()], &[]).unwrap();
        let text = "有人在打人";
        let mut words = Words::default();
        seg.segment(text, &mut words);
        let mut hits = Vec::new();
        m.find(text, &seg, &words, &mut hits, &mut Vec::new());
        assert!(hits.iter().any(|h| !h.is_pattern && m.term(h.id) == "打人"));
        assert!(hits.iter().any(|h| h.is_pattern && h.id == 0));
    }

    #[test]
    fn a_pattern_without_literals_at_either_end_is_still_found() {
        assert_eq!(required_prefixes(r"\d{5,}"), None);
        assert_eq!(required_suffixes(r"\d{5,}"), None);
        let m = Matcher::new(vec![], vec![r"\d{5,}".into()], &[]).unwrap();
        assert_eq!(pattern_spans(&m, "打了12345没人接"), vec!["12345"]);
    }

    #[test]
    fn patterns_report_their_first_match() {
        let m = Matcher::new(vec![], vec![r"\d{3}元".into()], &[]).unwrap();
        assert_eq!(pattern_spans(&m, "多收了200元，又收了300元"), vec!["200元"]);
    }

    #[test]
    fn a_literal_longer_than_the_extractor_keeps_is_cut_to_whole_characters() {
        // 37 characters, 111 bytes: the extractor keeps 100 bytes of a literal, which ends
        // inside the 34th character.
        let long = format!("{}了", "子丑寅卯辰巳午未申酉戌亥".repeat(3));
        let pattern = format!("{long}|{long}吗");
        for lits in [required_prefixes(&pattern), required_suffixes(&pattern)] {
            let lits = lits.expect("the pattern is gated");
            assert!(
                lits.iter().all(|l| std::str::from_utf8(l).is_ok()),
                "{lits:?}"
            );
        }
        let m = Matcher::new(vec![], vec![pattern.as_str().into()], &[]).unwrap();
        let text = format!("他说{long}吗？");
        assert_eq!(pattern_spans(&m, &text), vec![format!("{long}")]);
        assert!(pattern_spans(&m, &long[..long.len() - 3]).is_empty());
    }

    #[test]
    fn the_same_word_from_terms_extras_and_literals_is_reported_for_each() {
        let terms: Vec<Box<str>> = vec!["停电".into(), "停电".into()];
        let seg = Segmenter::with_vocabulary(terms.iter().map(|t| &**t));
        let m = Matcher::new(
            terms,
            vec![r"停电.{0,4}(三天|一周)".into()],
            &["停电".to_owned(), "停电了".to_owned()],
        )
        .unwrap();
        let text = "小区停电了三天";
        let mut words = Words::default();
        seg.segment(text, &mut words);
        let (mut hits, mut extras) = (Vec::new(), Vec::new());
        m.find(text, &seg, &words, &mut hits, &mut extras);
        let terms: Vec<u32> = hits
            .iter()
            .filter(|h| !h.is_pattern)
            .map(|h| h.id)
            .collect();
        assert_eq!(terms, vec![0, 1]);
        assert!(hits.iter().any(|h| h.is_pattern && h.id == 0));
        assert_eq!(extras, vec![(0, 6, 12), (1, 6, 15)]);
    }

    #[test]
    fn a_branch_too_wide_for_the_backtracker_is_searched_by_the_meta_engine() {
        let m = Matcher::new(vec![], vec![r"甲.{0,300}乙|丙丁|戊.*己".into()], &[]).unwrap();
        let kinds: Vec<&str> = m
            .branches
            .iter()
            .map(|b| match &b.search {
                Some(BranchSearch::Bounded(_)) => "bounded",
                Some(BranchSearch::Meta(_)) => "meta",
                None => "none",
            })
            .collect();
        assert_eq!(kinds, vec!["meta", "bounded", "meta"]);
        let far = format!("甲{}乙", "一".repeat(290));
        assert_eq!(pattern_spans(&m, &format!("说{far}了")), vec![far.as_str()]);
        let too_far = format!("甲{}乙", "一".repeat(301));
        assert!(pattern_spans(&m, &too_far).is_empty());
        assert_eq!(pattern_spans(&m, "甲一乙丙丁"), vec!["甲一乙"]);
        assert_eq!(pattern_spans(&m, "他丙丁了"), vec!["丙丁"]);
        assert_eq!(
            pattern_spans(&m, "戊一二三四五六七八九己"),
            vec!["戊一二三四五六七八九己"]
        );
    }

    /// The text of each pattern hit of `m` in `text`, in order (a matcher without terms).
    fn pattern_spans<'t>(m: &Matcher, text: &'t str) -> Vec<&'t str> {
        let seg = Segmenter::with_vocabulary([]);
        let mut words = Words::default();
        seg.segment(text, &mut words);
        let mut hits = Vec::new();
        m.find(text, &seg, &words, &mut hits, &mut Vec::new());
        hits.iter()
            .filter(|h| h.is_pattern)
            .map(|h| &text[h.start as usize..h.end as usize])
            .collect()
    }
}
