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
