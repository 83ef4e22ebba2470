//! Stage 4 of a request: score every rule that the matched terms and patterns touch.
//!
//! Each hit is looked up in its posting list (which slots of which rules it feeds); the postings
//! are gathered by rule (a counting sort over the touched rules only), and each touched rule is
//! evaluated once: most of them lack a hit for one of their `all` groups anywhere in the text and
//! are set aside before anything else is looked at. Rules that nothing in the
//! text mentions are never looked at, so the cost follows the text, not the size of the rule set.
//!
//! A rule fires when every `all` group has a hit, no `none` term has one, and, for a rule without
//! `all` groups, at least one `any` term or pattern has one. A hand-off's `none` terms are scoped
//! by its file's turn phrases and background openers. A veto that ends before the start of the
//! last turn phrase in the text (`handoffs_turn`: 结果现在, 就刚才 …) does not stop the hand-off
//! ("我投诉过好几次物业不管事，结果现在真烧起来了"); a veto after the turn still does. What came
//! before a turn still counts as evidence: "他说没事，结果刚才又吐了" continues the event it
//! follows. A background opener (`handoffs_background`: 本来是想, 我想问问 …) makes the text up to
//! the end of its sentence background: neither its vetoes nor its evidence count ("我本来想问热水器
//! 维修的……我家孩子刚才打翻了一锅开水" is a scald; "我想问问，燃气泄漏了应该怎么办。" is a question,
//! not a leak). Everything before that end is background, what precedes the opener included, so an
//! opener after the emergency hides it; the bundled list keeps to phrases that open a message. An
//! opener with no sentence end after it ends the background at its own start. Callers who complain
//! or ask about something else first and then say what is happening now were otherwise stopped
//! by the words of their preamble. A word of the present (`handoffs_now`: 现在, 刚才, 刚刚 …) does
//! the same without a phrase to name the preamble: when it opens a sentence or clause and the
//! hand-off's evidence begins there or later, the vetoes before it do not count ("我们去年就申请装
//! 红绿灯，一直没批下来。刚刚我家门口又出事了……" is a crash); vetoes after it do, and so do vetoes before
//! it when the evidence begins earlier ("去年家里着火了，现在保险公司不赔" is not a fire). Only a
//! hand-off that a veto would stop and whose text holds such a word has its evidence collected
//! before the vetoes are weighed (`now_from`); every other rule costs what it did. Its score is
//!
//! ```text
//! weight × ( number of all-groups
//!          + min(0.5 × distinct any-terms matched, 3.0)
//!          + min(1.0 × distinct patterns matched, 2.0) )
//! ```
//!
//! so a more specific rule (more required groups) outscores a general one, corroborating terms
//! help up to a cap (a long rambling message cannot win on volume alone), and one generic `any`
//! word (0.5) stays below a threshold of 1.0 by itself.
//!
//! A rule that reaches the threshold and has evidence in the *lead* of the request (its title, or
//! its first sentence: see [`crate::engine::normalize::Normalized::lead_end`]) gets `weight × 1.0` more.
//! People state the subject first: "小区电梯坏了三个月｜……楼下的烧烤店油烟也很大" is a lift
//! complaint with a detail about fumes, not the other way round. The bonus never lifts a rule over
//! the threshold, so it reorders what already fired and adds no new dispatches on weak evidence.

use crate::engine::matcher::Hit;
use crate::engine::normalize::Normalized;
use crate::ruleset::{RuleSet, Slot};

const ANY_POINTS: f64 = 0.5;
const ANY_CAP: f64 = 3.0;
const PATTERN_POINTS: f64 = 1.0;
const PATTERN_CAP: f64 = 2.0;
const LEAD_POINTS: f64 = 1.0;
/// Most evidence items kept per candidate.
const MAX_EVIDENCE: usize = 32;

/// A rule that fired, with the hits that made it fire.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub rule: usize,
    pub score: f64,
    /// Range of this candidate's evidence in [`Scored::evidence`].
    pub evidence: std::ops::Range<u32>,
}

/// The scoring result, in buffers reused from one request to the next (per thread): routing
/// allocates nothing here once the buffers have grown to the size requests need.
#[derive(Debug, Default)]
pub(crate) struct Scored {
    /// Best first.
    pub candidates: Vec<Candidate>,
    /// (index into the hits, slot it satisfied), each candidate's in text order.
    pub evidence: Vec<(usize, Slot)>,
    /// (slot, hit) of every posting the hits reach, grouped by rule (see `by_rule`).
    touched: Vec<(Slot, u32)>,
    /// (rule, start, end) of each touched rule's range in `touched`, in first-touch order.
    by_rule: Vec<(u32, u32, u32)>,
    /// For each rule of the set: its index in `by_rule`, valid only if that entry names the rule
    /// (a sparse set: never cleared, so a request costs what it touches, not the rule count).
    rule_index: Vec<u32>,
    any_terms: Vec<u32>,
    patterns: Vec<u32>,
    /// (character index, group) of the group hits of a rule with `within`.
    near: Vec<(u32, u32)>,
}

impl Scored {
    pub fn evidence_of(&self, c: &Candidate) -> &[(usize, Slot)] {
        self.evidence
            .get(c.evidence.start as usize..c.evidence.end as usize)
            .unwrap_or(&[])
    }
}

/// Scores the rules touched by `hits` into `out`. Candidates come back best first: higher score,
/// then higher priority, then lower rank (see `Rule::rank`), so that the order (and the decision)
/// is deterministic.
pub(crate) fn score(set: &RuleSet, hits: &[Hit], normalized: &Normalized, out: &mut Scored) {
    gather(set, hits, out);
    let Scored {
        candidates,
        evidence,
        touched,
        by_rule,
        any_terms,
        patterns,
        near,
        ..
    } = out;
    candidates.clear();
    evidence.clear();
    let mut rule_scorer = RuleScorer {
        set,
        hits,
        normalized,
        lead_end: normalized.lead_end(),
        evidence,
        any_terms,
        patterns,
        near,
    };
    for &(rule, lo, hi) in by_rule.iter() {
        let chunk = &touched[lo as usize..hi as usize];
        if let Some(c) = rule_scorer.score(rule as usize, chunk) {
            candidates.push(c);
        }
    }
    candidates.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| set.rules[b.rule].priority.cmp(&set.rules[a.rule].priority))
            .then_with(|| set.rules[a.rule].rank.cmp(&set.rules[b.rule].rank))
    });
}

/// Gathers the postings that `hits` reach by rule, into `out.touched` and `out.by_rule`: a
/// counting sort (count each touched rule's postings, lay out the ranges, then place each
/// (slot, hit)). Within a rule, entries stay in text order.
#[inline]
fn gather(set: &RuleSet, hits: &[Hit], out: &mut Scored) {
    let Scored {
        touched,
        by_rule,
        rule_index,
        ..
    } = out;
    touched.clear();
    by_rule.clear();
    if rule_index.len() < set.rules.len() {
        rule_index.resize(set.rules.len(), u32::MAX);
    }
    let postings_of = |h: &Hit| -> &[crate::ruleset::Posting] {
        if h.is_pattern {
            set.pattern_postings
                .get(h.id as usize)
                .map(std::slice::from_ref)
                .unwrap_or(&[])
        } else {
            set.term_postings
                .get(h.id as usize)
                .map(Vec::as_slice)
                .unwrap_or(&[])
        }
    };
    for h in hits {
        for p in postings_of(h) {
            let r = p.rule as usize;
            match rule_index.get(r).copied() {
                Some(k) if by_rule.get(k as usize).is_some_and(|e| e.0 == p.rule) => {
                    by_rule[k as usize].2 += 1;
                }
                Some(_) => {
                    rule_index[r] = by_rule.len() as u32;
                    by_rule.push((p.rule, 0, 1));
                }
                None => {}
            }
        }
    }
    let mut total = 0u32;
    for e in by_rule.iter_mut() {
        let n = e.2;
        e.1 = total;
        e.2 = total;
        total += n;
    }
    touched.resize(total as usize, (Slot::None, 0));
    for (i, h) in hits.iter().enumerate() {
        for p in postings_of(h) {
            if let Some(&k) = rule_index.get(p.rule as usize)
                && let Some(e) = by_rule.get_mut(k as usize)
            {
                if let Some(t) = touched.get_mut(e.2 as usize) {
                    *t = (p.slot, i as u32);
                }
                e.2 += 1;
            }
        }
    }
}

/// Evaluates one touched rule at a time, appending its evidence to the shared buffer.
struct RuleScorer<'a> {
    set: &'a RuleSet,
    hits: &'a [Hit],
    normalized: &'a Normalized,
    lead_end: usize,
    evidence: &'a mut Vec<(usize, Slot)>,
    any_terms: &'a mut Vec<u32>,
    patterns: &'a mut Vec<u32>,
    near: &'a mut Vec<(u32, u32)>,
}

impl RuleScorer<'_> {
    /// The candidate of rule `rule_index`, given the (slot, hit) entries that reach it; `None`
    /// when it does not fire (its evidence is then taken back).
    #[inline]
    fn score(&mut self, rule_index: usize, chunk: &[(Slot, u32)]) -> Option<Candidate> {
        let rule = self.set.rules.get(rule_index)?;
        let required: u32 = if rule.groups == 0 {
            0
        } else {
            u32::MAX >> (32 - u32::from(rule.groups))
        };
        // Most rules a request touches lack one of their groups anywhere in the text, and cannot
        // fire whatever the background and the vetoes say: they are set aside before those are
        // looked at (the groups found after the background are a subset of these).
        let anywhere = chunk.iter().fold(0u32, |acc, t| match t.0 {
            Slot::Group(g) => acc | 1 << g,
            _ => acc,
        });
        if anywhere != required {
            return None;
        }
        // A veto wins over everything else the rule matched, unless it lies before the end of
        // the background (see the module docs and `turn_at`).
        let (hits, text) = (self.hits, self.normalized.text());
        let (veto_from, from) = background_of(chunk, hits, text);
        let vetoed_from = |floor: u32| {
            chunk.iter().any(|t| {
                t.0 == Slot::None && {
                    let v = &hits[t.1 as usize];
                    v.end > veto_from && v.start >= floor
                }
            })
        };
        let start = self.evidence.len();
        let (groups, in_lead) = if !vetoed_from(0) {
            self.collect(chunk, start, from)
        } else if chunk.iter().any(|t| t.0 == Slot::Now) {
            // Vetoed, unless the evidence begins where the caller starts telling what is
            // happening now and every veto lies before that (`now_from`): only then is the
            // evidence needed to decide.
            let collected = self.collect(chunk, start, from);
            // The evidence is gathered in text order, so its first item is where it begins.
            let first = self.evidence[start..]
                .first()
                .map_or(0, |&(e, _)| hits[e].start);
            let floor = now_from(chunk, hits, text, first);
            if floor == 0 || vetoed_from(floor) {
                self.evidence.truncate(start);
                return None;
            }
            collected
        } else {
            return None;
        };
        let nothing = rule.groups == 0 && self.any_terms.is_empty() && self.patterns.is_empty();
        // Short-circuits: the window is only measured for a rule that otherwise fires.
        if groups != required
            || nothing
            || rule
                .within
                .is_some_and(|within| !self.groups_near(chunk, required, within, from))
        {
            self.evidence.truncate(start);
            return None;
        }
        let points = f64::from(rule.groups)
            + (ANY_POINTS * self.any_terms.len() as f64).min(ANY_CAP)
            + (PATTERN_POINTS * self.patterns.len() as f64).min(PATTERN_CAP);
        let mut score = rule.weight * points;
        if in_lead && score >= self.set.settings.threshold {
            score += rule.weight * LEAD_POINTS;
        }
        self.evidence[start..].sort_unstable_by_key(|e| (hits[e.0].start, hits[e.0].end));
        Some(Candidate {
            rule: rule_index,
            score,
            evidence: start as u32..self.evidence.len() as u32,
        })
    }

    /// Walks the rule's entries: which groups have a hit, the distinct `any` terms and patterns,
    /// whether any is in the lead, and the evidence (from `start` in the buffer).
    #[inline]
    fn collect(&mut self, chunk: &[(Slot, u32)], start: usize, from: u32) -> (u32, bool) {
        let (mut groups, mut in_lead) = (0u32, false);
        self.any_terms.clear();
        self.patterns.clear();
        for &(slot, hit) in chunk {
            // Vetoes, turn phrases and openers are not evidence (a rule reaches here with vetoes
            // only when they lie in its background), nor is what a background sentence says.
            let h = &self.hits[hit as usize];
            if h.start < from {
                continue;
            }
            match slot {
                Slot::None | Slot::Turn | Slot::Background | Slot::Now => continue,
                Slot::Group(g) => groups |= 1 << g,
                Slot::Any if !self.any_terms.contains(&h.id) => self.any_terms.push(h.id),
                Slot::Pattern if !self.patterns.contains(&h.id) => self.patterns.push(h.id),
                Slot::Any | Slot::Pattern => {}
            }
            in_lead |= (h.start as usize) < self.lead_end;
            // Evidence shows where each term first appears, not every repetition: a long text that
            // repeats itself must not yield an unbounded explanation.
            let mine = &self.evidence[start..];
            let first_of_term = !mine.iter().any(|&(e, es)| {
                e == hit as usize
                    || (es == slot
                        && self.hits[e].id == h.id
                        && self.hits[e].is_pattern == h.is_pattern)
            });
            if first_of_term && mine.len() < MAX_EVIDENCE {
                self.evidence.push((hit as usize, slot));
            }
        }
        (groups, in_lead)
    }

    /// Whether the rule's group hits lie within `within` characters of one another.
    fn groups_near(
        &mut self,
        chunk: &[(Slot, u32)],
        required: u32,
        within: u32,
        from: u32,
    ) -> bool {
        self.near.clear();
        let (hits, normalized) = (self.hits, self.normalized);
        self.near
            .extend(chunk.iter().filter_map(|&(slot, hit)| match slot {
                Slot::Group(g) if hits[hit as usize].start >= from => Some((
                    normalized.char_index(hits[hit as usize].start as usize) as u32,
                    u32::from(g),
                )),
                _ => None,
            }));
        groups_within(self.near, required, within)
    }
}

/// A comma followed by one of these ends a background opener's sentence as a full stop does: the
/// caller turns from what they meant to ask to what is happening ("我本来是要反映隔壁装修扰民的，
/// 可现在他们家窗户里一直往外冒白烟"). Normalization makes every comma ASCII.
const CLAUSE_TURNS: [&str; 5] = [",可", ",但", ",结果", ",其实", ",不过"];

/// (vetoes count from, evidence counts from): byte offsets into the normalized `text` where the
/// background of a rule's entries ends for its vetoes (the last turn phrase or background
/// sentence) and for its evidence (the last background sentence only); 0 when there is none.
pub(crate) fn background_of(chunk: &[(Slot, u32)], hits: &[Hit], text: &str) -> (u32, u32) {
    let (mut vetoes, mut evidence) = (0, 0);
    for &(slot, hit) in chunk {
        if let Some(at) = hits.get(hit as usize).and_then(|h| turn_at(slot, h, text)) {
            vetoes = vetoes.max(at);
            if slot == Slot::Background {
                evidence = evidence.max(at);
            }
        }
    }
    (vetoes, evidence)
}

/// Where a hand-off's background ends, if hit `h` in `slot` ends one (byte offset into the
/// normalized `text`): the start of a turn phrase, or the end of the sentence a background opener
/// stands in (the first `.`, `!`, `?` or `;` after it: normalization makes 。！？；…… those; or
/// the first comma before a contrasting conjunction, `CLAUSE_TURNS`). An opener without a
/// sentence end after it ends the background at its own start: its own words (投诉 in 投诉过好几次)
/// and all after them still count, so that a message typed without punctuation, which opens with
/// the opener, keeps its vetoes. Also what the console's rule search asks.
pub(crate) fn turn_at(slot: Slot, h: &Hit, text: &str) -> Option<u32> {
    match slot {
        Slot::Turn => Some(h.start),
        Slot::Background => {
            let from = h.end as usize;
            let rest = text.get(from..).unwrap_or_default();
            // The first sentence end, or a comma before a contrasting conjunction (……的，可是现在
            // …), whichever comes first; either is one byte long.
            let end = std::iter::once(rest.find(['.', '!', '?', ';']))
                .chain(CLAUSE_TURNS.iter().map(|c| rest.find(c)))
                .flatten()
                .min();
            Some(match end {
                Some(i) => u32::try_from(from + i + 1).unwrap_or(h.start),
                None => h.start,
            })
        }
        _ => None,
    }
}

/// Where a hand-off's vetoes start to count when the caller starts telling what is happening now
/// (byte offset into the normalized `text`): the start of the last word of the present
/// (`Slot::Now`, its file's `handoffs_now`) that begins a sentence or clause (the text's start, or
/// after `.`, `!`, `?`, `;`, `,`, `:` or a space: normalization makes CJK punctuation those) at or
/// before `first`, where the hand-off's evidence begins; 0 when there is none. Only a word that
/// opens its clause counts: "现在补缴的话" at a clause's start is one, "我现在想问" is not, and
/// a word after the evidence's start never is, so that "去年着火了，现在保险公司不赔" keeps its veto
/// (the evidence begins before 现在). Also what the console's rule search asks.
pub(crate) fn now_from(chunk: &[(Slot, u32)], hits: &[Hit], text: &str, first: u32) -> u32 {
    let mut at = 0;
    for &(slot, hit) in chunk {
        if slot != Slot::Now {
            continue;
        }
        let Some(h) = hits.get(hit as usize) else {
            continue;
        };
        let opens_clause = text
            .get(..h.start as usize)
            .is_some_and(|before| before.is_empty() || before.ends_with(CLAUSE_ENDS));
        if h.start <= first && h.start > at && opens_clause {
            at = h.start;
        }
    }
    at
}

/// What ends a clause before a word of the present (see `now_from`).
const CLAUSE_ENDS: [char; 7] = ['.', '!', '?', ';', ',', ':', ' '];

/// Whether some window of `within` characters holds a hit of every group in `required` (a
/// bitmask). `near` holds (character index, group) of the group hits; it is sorted here. Also
/// what the console's rule search asks ([`RuleSet::rules_touched_by`]), so that it says a rule's
/// conditions hold exactly when scoring lets it fire on them.
pub(crate) fn groups_within(near: &mut [(u32, u32)], required: u32, within: u32) -> bool {
    near.sort_unstable();
    for (i, &(first, _)) in near.iter().enumerate() {
        let mut mask = 0u32;
        for &(pos, g) in &near[i..] {
            if pos.saturating_sub(first) > within {
                break;
            }
            mask |= 1 << g;
            if mask == required {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::groups_within;
    use crate::engine::normalize::normalize;

    #[test]
    fn groups_within_counts_characters_not_bytes() {
        // "正在" at char 0 (byte 0), "被打" at char 10 (byte 30): 10 characters apart.
        let n = normalize("正在一二三四五六七八被打");
        let at = |byte: usize| n.char_index(byte) as u32;
        let mut near = vec![(at(30), 1), (at(0), 0)];
        assert!(groups_within(&mut near, 0b11, 10));
        let mut near = vec![(at(30), 1), (at(0), 0)];
        assert!(!groups_within(&mut near, 0b11, 9));
        // One group alone never satisfies two.
        let mut near = vec![(at(0), 0), (at(30), 0)];
        assert!(!groups_within(&mut near, 0b11, 100));
    }
}
