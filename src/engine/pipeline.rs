//! The path of one request through the engine:
//! normalize → segment → match → score → decide → consult → explain → situate.
//!
//! [`RuleSet::route`] is the one entry: the server, the CLI, batch, `eval` and `diff` all call it
//! with a [`RouteInput`]. The stage sequence is written once, in `RuleSet::run`; the benchmark
//! helper [`stage_timings`] runs that same sequence with a probe that reads the clock between
//! stages, and the production path runs it with a probe that does nothing (and compiles away).
//!
//! Routing is a pure function of (input, rule set): no clock, no randomness, no global state that
//! a request can change, so the same input against the same rule-set version yields the same
//! response, byte for byte. The only state kept between calls is per-thread scratch space (the
//! word spans and hit lists), reused so that the hot path does not allocate them anew.

use std::cell::RefCell;
use std::time::Instant;

use super::alarm;
use super::consult::{annotate, consult, consulted_on};
use super::decide::decide;
use super::explain::{Context, explain};
use super::matcher::Hit;
use super::normalize::Normalized;
use super::score::{Scored, score};
use super::segment::Words;
use crate::proto::v1 as pb;
use crate::request::RouteInput;
use crate::ruleset::RuleSet;
use crate::situate::situate;

/// The stages, in order, as [`stage_timings`] names them.
pub const STAGES: [&str; 8] = [
    "normalize",
    "segment",
    "match",
    "score",
    "decide",
    "consult",
    "explain",
    "situate",
];

#[derive(Default)]
struct Scratch {
    normalized: Normalized,
    words: Words,
    hits: Vec<Hit>,
    scored: Scored,
    phrases: Vec<(u32, u32, u32)>,
    /// The normalized text's n-grams, for the models.
    grams: crate::model::Grams,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Told when each stage ends (stage index into [`STAGES`]).
trait Probe {
    fn done(&mut self, stage: usize);
}

/// The production probe: nothing.
struct NoProbe;

impl Probe for NoProbe {
    #[inline(always)]
    fn done(&mut self, _stage: usize) {}
}

/// Adds the time since the previous stage ended to that stage's total.
struct Timer {
    last: Instant,
    totals: [u128; 8],
}

impl Probe for Timer {
    fn done(&mut self, stage: usize) {
        let now = Instant::now();
        self.totals[stage] += (now - self.last).as_nanos();
        self.last = now;
    }
}

impl RuleSet {
    /// Routes one request. Never fails: any input, including an empty text, gets a decision (a
    /// text with nothing recognisable goes to manual triage). Input limits are the caller's
    /// business ([`RouteInput::validate`], which the server and the CLI apply first).
    ///
    /// A request with a title and a text (web message boards have both) is routed as
    /// `title + "\n" + text`, and evidence offsets index that joined string.
    pub fn route(&self, input: &RouteInput<'_>) -> pb::RouteResponse {
        SCRATCH.with(|cell| {
            // A panic while the scratch is borrowed cannot happen (no user code runs inside), but
            // fall back to fresh buffers rather than panic on a re-entrant borrow.
            let mut fresh = Scratch::default();
            let mut guard = cell.try_borrow_mut();
            let scratch = match guard.as_deref_mut() {
                Ok(s) => s,
                Err(_) => &mut fresh,
            };
            self.run(input, scratch, &mut NoProbe)
        })
    }

    /// The stages, in order.
    fn run(
        &self,
        input: &RouteInput<'_>,
        s: &mut Scratch,
        probe: &mut impl Probe,
    ) -> pb::RouteResponse {
        let joined = input.joined();
        let text = joined.as_ref();
        super::normalize::normalize_into(text, &mut s.normalized);
        probe.done(0);
        self.segmenter.segment(s.normalized.text(), &mut s.words);
        probe.done(1);
        let (normalized, words) = (&s.normalized, &s.words);
        self.matcher.find(
            normalized.text(),
            &self.segmenter,
            words,
            &mut s.hits,
            &mut s.phrases,
        );
        probe.done(2);
        score(self, &s.hits, normalized, &mut s.scored);
        probe.done(3);
        let mut decided = decide(self, &s.scored.candidates);
        probe.done(4);
        let consultant = self.model.as_deref();
        let doubting = alarm::doubting(self, decided.verdict, &s.scored.candidates);
        let (classified, checked) = if consulted_on(decided.verdict) || doubting.is_some() {
            let (a, b) = self.consulted_models();
            let text = s.normalized.text();
            match &self.joint {
                Some(joint) => joint.probabilities(a, b, text, &mut s.grams),
                None => crate::model::Model::probabilities_of_both(a, b, text),
            }
        } else {
            (None, None)
        };
        // A hand-off is the rules' alone: the classifier is not consulted on it, and the check
        // only says whether it doubts it.
        let (classified, doubt) = match (doubting, checked.as_deref()) {
            (Some((check, below)), Some(p)) => (None, alarm::doubt(check, below, p)),
            (Some(_), None) => (None, None),
            (None, _) => (classified, None),
        };
        let consulted = consult(self, consultant, classified, &mut s.scored, &mut decided);
        let alarm = if doubting.is_some() {
            None
        } else {
            alarm::check(self, checked, &s.scored.candidates, &mut decided)
        };
        probe.done(5);
        let normalized = &s.normalized;
        let cx = Context {
            set: self,
            original: text,
            normalized,
            hits: &s.hits,
            scored: &s.scored,
        };
        let mut resp = explain(&cx, &decided);
        annotate(
            self,
            consultant,
            consulted.as_ref(),
            normalized.text(),
            &mut resp,
        );
        alarm::annotate(self, alarm.as_ref(), &mut resp);
        alarm::annotate_doubt(doubt, &mut resp);
        probe.done(6);
        let rule = decided.winner.map(|i| s.scored.candidates[i].rule);
        situate(self, &mut resp, rule, text, normalized, &s.phrases, input);
        resp.id = input.id.to_owned();
        probe.done(7);
        resp
    }
}

/// Average time of each stage of [`RuleSet::route`] on `text` over `iterations` runs, in
/// nanoseconds, named as in [`STAGES`]. For benchmarks and profiling only.
#[doc(hidden)]
pub fn stage_timings(set: &RuleSet, text: &str, iterations: u32) -> [(&'static str, f64); 8] {
    stage_timings_between(set, &[text], iterations, || {})
}

/// [`stage_timings`] over `texts` in turn, running `between` (untimed) before each call: a
/// server's request meets caches that the network stack and other requests have used since
/// the last one, which a loop over one text never shows (BENCHMARKS.md §5).
#[doc(hidden)]
pub fn stage_timings_between(
    set: &RuleSet,
    texts: &[&str],
    iterations: u32,
    mut between: impl FnMut(),
) -> [(&'static str, f64); 8] {
    let n = iterations.max(1);
    let mut scratch = Scratch::default();
    let mut timer = Timer {
        last: Instant::now(),
        totals: [0; 8],
    };
    for text in texts.iter().cycle().take(n as usize) {
        let input = RouteInput::text(text);
        between();
        timer.last = Instant::now();
        std::hint::black_box(set.run(&input, &mut scratch, &mut timer));
    }
    let mut out = [("", 0.0); 8];
    for (i, name) in STAGES.iter().enumerate() {
        out[i] = (name, timer.totals[i] as f64 / f64::from(n));
    }
    out
}
