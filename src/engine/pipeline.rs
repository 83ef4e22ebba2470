//! The path of one request through the engine:
//! normalize → segment → match → score → decide → explain → situate.
//!
//! Routing is a pure function of (text, rule set): no clock, no randomness, no global state that a
//! request can change, so the same text against the same rule-set version yields the same
//! response, byte for byte. The only state kept between calls is per-thread scratch space (the
//! word spans and hit lists), reused so that the hot path does not allocate them anew.

use std::cell::RefCell;

use crate::decide::decide;
use crate::explain::{Context, explain};
use crate::matcher::Hit;
use crate::normalize::normalize;
use crate::proto::v1 as pb;
use crate::ruleset::RuleSet;
use crate::score::{Scored, score};
use crate::segment::Words;
use crate::situate::{RequestContext, situate};

#[derive(Default)]
struct Scratch {
    normalized: crate::normalize::Normalized,
    words: Words,
    hits: Vec<Hit>,
    scored: Scored,
    phrases: Vec<(u32, u32, u32)>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl RuleSet {
    /// Routes one request text. Never fails: any string, including the empty one, gets a decision
    /// (text with nothing recognisable goes to manual triage). Input limits are the caller's
    /// business (the server and CLI enforce them before calling this).
    pub fn route(&self, text: &str) -> pb::RouteResponse {
        self.route_in(text, &RequestContext::default())
    }

    /// Routes one request text with what else is known about it (district, received date).
    pub fn route_in(&self, text: &str, context: &RequestContext<'_>) -> pb::RouteResponse {
        SCRATCH.with(|cell| {
            // A panic while the scratch is borrowed cannot happen (no user code runs inside), but
            // fall back to fresh buffers rather than panic on a re-entrant borrow.
            let mut fresh = Scratch::default();
            let mut guard = cell.try_borrow_mut();
            let Scratch {
                normalized,
                words,
                hits,
                scored,
                phrases,
            } = match guard.as_deref_mut() {
                Ok(s) => s,
                Err(_) => &mut fresh,
            };
            crate::normalize::normalize_into(text, normalized);
            self.segmenter.segment(normalized.text(), words);
            self.matcher
                .find(normalized.text(), &self.segmenter, words, hits, phrases);
            score(self, hits, normalized, scored);
            let decided = decide(self, &scored.candidates);
            let cx = Context {
                set: self,
                original: text,
                normalized,
                hits,
                scored,
            };
            let mut resp = explain(&cx, &decided);
            let rule = decided.winner.map(|i| scored.candidates[i].rule);
            situate(self, &mut resp, rule, text, normalized, phrases, context);
            resp
        })
    }

    /// Routes a request given as title and text (web message boards have both): they are joined
    /// as `title + "\n" + text`, and evidence offsets index that joined string.
    pub fn route_request(&self, id: &str, title: &str, text: &str) -> pb::RouteResponse {
        self.route_full(id, title, text, &RequestContext::default())
    }

    /// `route_request` with the district and received date of the request.
    pub fn route_full(
        &self,
        id: &str,
        title: &str,
        text: &str,
        context: &RequestContext<'_>,
    ) -> pb::RouteResponse {
        let mut resp = if title.is_empty() {
            self.route_in(text, context)
        } else if text.is_empty() {
            self.route_in(title, context)
        } else {
            self.route_in(&format!("{title}\n{text}"), context)
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
    /// Normalize, segment and match `text` outside the hot path's reused buffers (for the
    /// author-facing tools: `tokens`, `lint`).
    fn hits_of(&self, text: &str) -> (crate::normalize::Normalized, Vec<Hit>) {
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

/// Average time of each stage of `route` on `text` over `iterations` runs, in nanoseconds:
/// normalize, segment, match, score, decide, explain. For benchmarks and profiling only.
#[doc(hidden)]
pub fn stage_timings(set: &RuleSet, text: &str, iterations: u32) -> [(&'static str, f64); 7] {
    use std::hint::black_box;
    use std::time::Instant;
    let n = iterations.max(1);
    let mut t = [0u128; 7];
    let mut s = Scratch::default();
    for _ in 0..n {
        let t0 = Instant::now();
        let normalized = black_box(normalize(black_box(text)));
        let t1 = Instant::now();
        set.segmenter.segment(normalized.text(), &mut s.words);
        let t2 = Instant::now();
        set.matcher.find(
            normalized.text(),
            &set.segmenter,
            &s.words,
            &mut s.hits,
            &mut s.phrases,
        );
        let t3 = Instant::now();
        score(set, &s.hits, &normalized, &mut s.scored);
        let t4 = Instant::now();
        let decided = black_box(decide(set, &s.scored.candidates));
        let t5 = Instant::now();
        let cx = Context {
            set,
            original: text,
            normalized: &normalized,
            hits: &s.hits,
            scored: &s.scored,
        };
        let mut resp = explain(&cx, &decided);
        let t6 = Instant::now();
        let rule = decided.winner.map(|i| s.scored.candidates[i].rule);
        situate(
            set,
            &mut resp,
            rule,
            text,
            &normalized,
            &s.phrases,
            &RequestContext::default(),
        );
        black_box(resp);
        let t7 = Instant::now();
        for (i, (a, b)) in [
            (t0, t1),
            (t1, t2),
            (t2, t3),
            (t3, t4),
            (t4, t5),
            (t5, t6),
            (t6, t7),
        ]
        .iter()
        .enumerate()
        {
            t[i] += (*b - *a).as_nanos();
        }
    }
    let avg = |i: usize| t[i] as f64 / f64::from(n);
    [
        ("normalize", avg(0)),
        ("segment", avg(1)),
        ("match", avg(2)),
        ("score", avg(3)),
        ("decide", avg(4)),
        ("explain", avg(5)),
        ("situate", avg(6)),
    ]
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
