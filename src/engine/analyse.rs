//! The engine's first stages for rule authors' tools: how a text is normalized, segmented and
//! matched (`hotline-router tokens`), its content words (eval's report on manual requests), and
//! the terms that match in it (lint). These run outside the hot path's reused buffers.

use super::matcher::Hit;
use super::normalize::normalize;
use super::segment::Words;
use crate::ruleset::RuleSet;

/// How the engine sees a text (for `hotline-router tokens`).
pub struct Analysis {
    pub normalized: String,
    pub words: Vec<String>,
    /// Rule terms and patterns found on word boundaries, in text order.
    pub terms: Vec<String>,
}

impl RuleSet {
    /// Normalize, segment and match `text` outside the hot path's reused buffers (for the
    /// author-facing tools: `tokens`, `lint`).
    fn hits_of(&self, text: &str) -> (crate::engine::normalize::Normalized, Vec<Hit>) {
        let normalized = normalize(text);
        let mut words = Words::default();
        let mut hits = Vec::new();
        self.segmenter.segment(normalized.text(), &mut words);
        self.matcher.find(
            normalized.text(),
            &self.segmenter,
            &words,
            &mut hits,
            &mut Vec::new(),
        );
        (normalized, hits)
    }

    pub fn analyse(&self, text: &str) -> Analysis {
        let (normalized, hits) = self.hits_of(text);
        Analysis {
            normalized: normalized.text().to_owned(),
            words: self
                .segmenter
                .words(normalized.text())
                .into_iter()
                .map(str::to_owned)
                .collect(),
            terms: hits
                .iter()
                .map(|h| {
                    if h.is_pattern {
                        format!("/{}/", self.matcher.pattern(h.id))
                    } else {
                        self.matcher.term(h.id).to_owned()
                    }
                })
                .collect(),
        }
    }
}

/// Function words that say nothing about where a request goes (for eval's manual-term report).
const STOPWORDS: &[&str] = &[
    "我们",
    "你们",
    "他们",
    "自己",
    "这个",
    "那个",
    "这些",
    "那些",
    "什么",
    "怎么",
    "为什么",
    "因为",
    "所以",
    "但是",
    "而且",
    "如果",
    "已经",
    "还是",
    "就是",
    "可以",
    "没有",
    "不是",
    "一个",
    "一直",
    "现在",
    "时候",
    "问题",
    "情况",
    "希望",
    "领导",
    "您好",
    "你好",
    "请问",
    "谢谢",
    "相关",
    "部门",
    "有关",
    "进行",
    "要求",
    "反映",
    "目前",
    "知道",
    "应该",
    "不能",
    "能够",
    "这样",
    "那么",
    "还有",
    "以及",
    "对于",
    "关于",
    "通过",
    "其中",
    "之后",
    "以后",
    "之前",
    "以前",
    "然后",
    "非常",
    "尊敬",
    "市民",
    "百姓",
    "老百姓",
    "政府",
    "处理",
    "解决",
    "严重",
    "影响",
    "存在",
    "导致",
    "出现",
    "造成",
    "每天",
    "今年",
    "去年",
    "本人",
    "我家",
    "大家",
    "多次",
    "根本",
    "到底",
    "是否",
    "这种",
    "这么",
    "如何",
    "一下",
    "一些",
    "一样",
    "那里",
    "这里",
    "哪里",
    "地方",
    "方面",
    "工作",
    "几年",
    "请求",
    "恳请",
    "望",
    "万分",
];

impl RuleSet {
    /// The content words of `text`: segmented, at least two characters, no digits-only tokens,
    /// no function words. Used to show rule authors what unrouted requests talk about.
    pub fn content_words(&self, text: &str) -> Vec<String> {
        let normalized = normalize(text);
        self.segmenter
            .words(normalized.text())
            .into_iter()
            .filter(|w| {
                w.chars().count() >= 2
                    && w.chars().all(|c| c.is_alphanumeric())
                    && !w.chars().all(|c| c.is_ascii_digit())
                    && !STOPWORDS.contains(w)
            })
            .map(str::to_owned)
            .collect()
    }
}

impl RuleSet {
    /// The normalized text and the ids of the terms that match in it (for lint).
    pub(crate) fn term_hits(&self, text: &str) -> (String, Vec<u32>) {
        let (normalized, hits) = self.hits_of(text);
        let ids = hits
            .iter()
            .filter(|h| !h.is_pattern)
            .map(|h| h.id)
            .collect();
        (normalized.text().to_owned(), ids)
    }
}

/// A rule's conditions as the matcher holds them: the terms of each `all` group, the `any` and
/// `none` terms (synonyms expanded, normalized), and the `patterns` (for the console's rule page).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct RuleConditions {
    pub all: Vec<Vec<String>>,
    pub any: Vec<String>,
    pub none: Vec<String>,
    /// A hand-off's turn phrases (its file's `handoffs_turn`): vetoes before the last one in a
    /// text do not stop it.
    pub turn: Vec<String>,
    /// A hand-off's background openers (its file's `handoffs_background`): neither the vetoes
    /// nor the evidence in the rest of their sentence count.
    pub background: Vec<String>,
    /// A hand-off's words of the present (its file's `handoffs_now`): when one opens the sentence
    /// or clause where the evidence begins, the vetoes before it do not stop it.
    pub now: Vec<String>,
    pub patterns: Vec<String>,
    /// The rule's `within`: the `all` groups' hits must lie within this many characters.
    pub within: Option<u32>,
}

/// One rule that a text's terms or patterns feed, and which of them (for "which rules would this
/// word fire?").
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RuleTouched {
    /// Index into [`RuleSet::rules`].
    #[serde(skip)]
    pub rule: usize,
    pub rule_id: String,
    /// Terms (or `/pattern/`) found in the text that feed an `all` group, `any`, or a pattern.
    pub feeds: Vec<String>,
    /// Terms found in the text that are among the rule's `none` terms: they stop it.
    pub stops: Vec<String>,
    /// Whether every `all` group has a term in the text, within the rule's `within` of one
    /// another, and no `none` term is there: the rule's conditions hold on this text alone,
    /// before scores, thresholds and the other rules.
    pub conditions_hold: bool,
    /// The rule's `within` (characters), if it has one.
    pub within: Option<u32>,
    /// Whether every `all` group has a term in the text but no window of `within` characters
    /// holds one of each: the groups are too far apart for the rule to fire.
    pub groups_too_far: bool,
}

impl RuleSet {
    /// The conditions of rule `rule` (an index into [`RuleSet::rules`]), in the order the terms
    /// were first written.
    pub fn conditions_of(&self, rule: usize) -> RuleConditions {
        use crate::ruleset::Slot;
        let groups = self.rules.get(rule).map_or(0, |r| r.groups as usize);
        let mut c = RuleConditions {
            all: vec![Vec::new(); groups],
            within: self.rules.get(rule).and_then(|r| r.within),
            ..RuleConditions::default()
        };
        for (term, postings) in self.term_postings.iter().enumerate() {
            for p in postings.iter().filter(|p| p.rule as usize == rule) {
                let t = self.matcher.term(term as u32).to_owned();
                match p.slot {
                    Slot::Group(g) => {
                        if let Some(group) = c.all.get_mut(g as usize) {
                            group.push(t);
                        }
                    }
                    Slot::Any => c.any.push(t),
                    Slot::None => c.none.push(t),
                    Slot::Turn => c.turn.push(t),
                    Slot::Background => c.background.push(t),
                    Slot::Now => c.now.push(t),
                    Slot::Pattern => {}
                }
            }
        }
        for (pattern, p) in self.pattern_postings.iter().enumerate() {
            if p.rule as usize == rule {
                c.patterns
                    .push(self.matcher.pattern(pattern as u32).to_owned());
            }
        }
        c
    }

    /// The rules whose terms or patterns occur in `text` (normalized, segmented and matched as a
    /// request is), in the rules' order: what a word or a sentence would set off.
    pub fn rules_touched_by(&self, text: &str) -> Vec<RuleTouched> {
        use crate::ruleset::Slot;
        use std::collections::BTreeMap;
        let (normalized, hits) = self.hits_of(text);
        // rule → where its background ends for vetoes and for evidence, as in scoring (score.rs):
        // `background_of` over the rule's turn phrases and openers in the text (and, below,
        // `now_from` over its words of the present).
        let mut entries: BTreeMap<usize, Vec<(Slot, u32)>> = BTreeMap::new();
        for (i, h) in hits.iter().enumerate().filter(|(_, h)| !h.is_pattern) {
            for p in self.term_postings.get(h.id as usize).into_iter().flatten() {
                if matches!(p.slot, Slot::Turn | Slot::Background | Slot::Now) {
                    entries
                        .entry(p.rule as usize)
                        .or_default()
                        .push((p.slot, i as u32));
                }
            }
        }
        let turns: BTreeMap<usize, (u32, u32)> = entries
            .iter()
            .map(|(&rule, chunk)| {
                let ends = crate::engine::score::background_of(chunk, &hits, normalized.text());
                (rule, ends)
            })
            .collect();
        // rule → (feeds, (stop, its start), groups seen, (character, group) of each group hit,
        // where the first feed starts)
        type Seen = (Vec<String>, Vec<(String, u32)>, u64, Vec<(u32, u32)>, u32);
        let mut by_rule: BTreeMap<usize, Seen> = BTreeMap::new();
        let mut add = |rule: usize, slot: Slot, shown: &str, at: usize, end: u32| {
            // As in scoring: vetoes before the background's end, and evidence in a background
            // sentence, do not count.
            let (veto_from, from) = turns.get(&rule).copied().unwrap_or_default();
            if matches!(slot, Slot::Turn | Slot::Background | Slot::Now)
                || (slot == Slot::None && end <= veto_from)
                || (slot != Slot::None && (at as u32) < from)
            {
                return;
            }
            let e = by_rule
                .entry(rule)
                .or_insert_with(|| (Vec::new(), Vec::new(), 0, Vec::new(), u32::MAX));
            if slot == Slot::None {
                e.1.push((shown.to_owned(), at as u32));
                return;
            }
            e.4 = e.4.min(at as u32);
            if !e.0.iter().any(|t| t == shown) {
                e.0.push(shown.to_owned());
            }
            if let Slot::Group(g) = slot {
                e.2 |= 1 << (g % 64);
                e.3.push((normalized.char_index(at) as u32, u32::from(g)));
            }
        };
        for h in &hits {
            if h.is_pattern {
                if let Some(p) = self.pattern_postings.get(h.id as usize) {
                    add(
                        p.rule as usize,
                        p.slot,
                        &format!("/{}/", self.matcher.pattern(h.id)),
                        h.start as usize,
                        h.end,
                    );
                }
            } else if let Some(postings) = self.term_postings.get(h.id as usize) {
                for p in postings {
                    add(
                        p.rule as usize,
                        p.slot,
                        self.matcher.term(h.id),
                        h.start as usize,
                        h.end,
                    );
                }
            }
        }
        by_rule
            .into_iter()
            // A rule the text only stops (a `none` term, no other) is not set off by it.
            .filter(|(_, (feeds, _, _, _, _))| !feeds.is_empty())
            .filter_map(|(rule, (feeds, stop_hits, seen, mut near, first))| {
                let r = self.rules.get(rule)?;
                // As in scoring: when the evidence begins where a word of the present opens a
                // clause, the vetoes before that word do not count.
                let floor = entries.get(&rule).map_or(0, |chunk| {
                    crate::engine::score::now_from(chunk, &hits, normalized.text(), first)
                });
                let mut stops: Vec<String> = Vec::new();
                for (s, _) in stop_hits.into_iter().filter(|&(_, at)| at >= floor) {
                    if !stops.contains(&s) {
                        stops.push(s);
                    }
                }
                let groups = u32::from(r.groups).min(64);
                let all_groups = if groups == 64 {
                    u64::MAX
                } else {
                    (1u64 << groups) - 1
                };
                let every_group = seen & all_groups == all_groups;
                // The window scoring measures (score.rs), on the same hits: the search must not
                // say the conditions hold for a rule that routing will not fire.
                let groups_too_far = every_group
                    && r.within.is_some_and(|within| {
                        !crate::engine::score::groups_within(
                            &mut near,
                            u32::MAX >> (32 - u32::from(r.groups.clamp(1, 32))),
                            within,
                        )
                    });
                Some(RuleTouched {
                    rule,
                    rule_id: r.id.clone(),
                    conditions_hold: every_group && !groups_too_far && stops.is_empty(),
                    within: r.within,
                    groups_too_far,
                    feeds,
                    stops,
                })
            })
            .collect()
    }
}
