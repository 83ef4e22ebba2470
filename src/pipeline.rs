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
