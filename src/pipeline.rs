//! The path of one request through the engine:
//! normalize → segment → match → score → decide → explain.
//!
//! Routing is a pure function of (text, rule set): no clock, no randomness, no global state that a
//! request can change, so the same text against the same rule-set version yields the same
//! response, byte for byte. The only state kept between calls is per-thread scratch space (the
//! boundary map and hit lists), reused so that the hot path does not allocate them anew.

use std::cell::RefCell;

use crate::decide::decide;
use crate::explain::{Context, explain};
use crate::matcher::Hit;
use crate::normalize::normalize;
use crate::proto::v1 as pb;
use crate::ruleset::{RuleSet, Slot};
use crate::score::score;

#[derive(Default)]
struct Scratch {
    boundary: Vec<bool>,
    hits: Vec<Hit>,
    touched: Vec<(u32, Slot, u32)>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl RuleSet {
    /// Routes one request text. Never fails: any string, including the empty one, gets a decision
    /// (text with nothing recognisable goes to manual triage). Input limits are the caller's
    /// business (the server and CLI enforce them before calling this).
    pub fn route(&self, text: &str) -> pb::RouteResponse {
        let normalized = normalize(text);
        SCRATCH.with(|cell| {
            // A panic while the scratch is borrowed cannot happen (no user code runs inside), but
            // fall back to fresh buffers rather than panic on a re-entrant borrow.
            let mut fresh = Scratch::default();
            let mut guard = cell.try_borrow_mut();
            let s: &mut Scratch = match guard.as_deref_mut() {
                Ok(s) => s,
                Err(_) => &mut fresh,
            };
            self.segmenter
                .mark_boundaries(normalized.text(), &mut s.boundary);
            self.matcher
                .find(normalized.text(), &s.boundary, &mut s.hits);
            let candidates = score(self, &s.hits, &mut s.touched);
            let decided = decide(self, &candidates);
            let cx = Context {
                set: self,
                original: text,
                normalized: &normalized,
                hits: &s.hits,
                candidates: &candidates,
            };
            explain(&cx, &decided)
        })
    }

    /// Routes a request given as title and text (web message boards have both): they are joined
    /// as `title + "\n" + text`, and evidence offsets index that joined string.
    pub fn route_request(&self, id: &str, title: &str, text: &str) -> pb::RouteResponse {
        let mut resp = if title.is_empty() {
            self.route(text)
        } else if text.is_empty() {
            self.route(title)
        } else {
            self.route(&format!("{title}\n{text}"))
        };
        resp.id = id.to_owned();
        resp
    }
}

/// How the engine sees a text (for `hotline-router tokens`).
pub struct Analysis {
    pub normalized: String,
    pub words: Vec<String>,
    /// Rule terms and patterns found on word boundaries, in text order.
    pub terms: Vec<String>,
}

impl RuleSet {
    pub fn analyse(&self, text: &str) -> Analysis {
        let normalized = normalize(text);
        let mut boundary = Vec::new();
        let mut hits = Vec::new();
        self.segmenter
            .mark_boundaries(normalized.text(), &mut boundary);
        self.matcher.find(normalized.text(), &boundary, &mut hits);
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
