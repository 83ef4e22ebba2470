//! The last stage of a request, after `explain`: where the matter is, which concrete unit handles
//! it, what kind of request it is, and by when it must be handled.
//!
//! These depend on the decision (the department, the rule) and on facts about the request that
//! are not the text's topic: the place the intake system gave, place names in the text, cue
//! phrases, the received time. See `jurisdiction.rs`, `request_type.rs` and `calendar.rs` for
//! each; `tables.rs` holds what the rule set says about them (places, units, calendar, request
//! types, time limits) and validates it.

pub mod calendar;
pub mod jurisdiction;
pub mod request_type;
pub(crate) mod tables;

use crate::engine::normalize::Normalized;
use crate::proto::v1 as pb;
use crate::request::RouteInput;
use crate::ruleset::{RuleSet, Target};
use jurisdiction::Source;

/// Most cues shown as `request_type_evidence`.
const MAX_REQUEST_TYPE_EVIDENCE: usize = 16;

fn evidence(
    original: &str,
    normalized: &Normalized,
    start: usize,
    end: usize,
    term: &str,
) -> pb::Evidence {
    let (s, e) = normalized.original_span(start, end);
    pb::Evidence {
        term: term.to_owned(),
        text: normalized.original_slice(original, s, e).to_owned(),
        start: s,
        end: e,
        condition: pb::Condition::Unspecified as i32,
    }
}

/// The longest unknown place that gets a "did you mean" (see `situate`).
const MAX_HINTED_PLACE_CHARS: usize = 16;

/// Fills jurisdiction, unit, request type and time limit into `resp`; `rule` is the deciding rule.
pub(crate) fn situate(
    set: &RuleSet,
    resp: &mut pb::RouteResponse,
    rule: Option<usize>,
    original: &str,
    normalized: &Normalized,
    phrases: &[(u32, u32, u32)],
    cx: &RouteInput<'_>,
) {
    let loc = &set.tables;
    let g = &loc.gazetteer;
    // The matcher's phrase hits: place names first, then request-type cues.
    let n_places = g.phrases.len();
    let place_hits = phrases
        .iter()
        .filter(|h| (h.0 as usize) < n_places)
        .map(|h| (h.0 as usize, h.1 as usize, h.2 as usize));
    let cue_hits: Vec<(usize, usize, usize)> = phrases
        .iter()
        .filter(|h| (h.0 as usize) >= n_places)
        .map(|h| (h.0 as usize - n_places, h.1 as usize, h.2 as usize))
        .collect();

    // Where. A place the gazetteer does not know is not guessed at: it is named in the response
    // (with the closest known name) and the text or the city decides, so an intake system's
    // typo is visible instead of silently becoming the whole city.
    let mut unknown = None;
    let place = if cx.place.trim().is_empty() {
        None
    } else {
        let given = crate::engine::normalize::normalize(cx.place);
        let found = g.lookup(given.text());
        if found.is_none() {
            // A misspelt name is short; a longer value is an address or a sentence, and
            // comparing it with every name would cost each such request far more than routing.
            let hint = if given.text().chars().count() <= MAX_HINTED_PLACE_CHARS {
                g.closest_name(given.text()).unwrap_or_default().to_owned()
            } else {
                String::new()
            };
            unknown = Some((cx.place.trim().to_owned(), hint));
        }
        found.map(|p| (p, Source::Request))
    }
    .or_else(|| {
        g.longest(place_hits)
            .map(|(p, s, e)| (p, Source::Text { start: s, end: e }))
    });
    resp.jurisdiction = Some(match place {
        Some((p, source)) => {
            let mut j = g.jurisdiction(p).clone();
            match source {
                Source::Request => j.source = "request".to_owned(),
                Source::Text { start, end } => {
                    j.evidence = Some(evidence(
                        original,
                        normalized,
                        start,
                        end,
                        &normalized.text()[start..end],
                    ));
                }
            }
            j
        }
        None => g.city().clone(),
    });
    if let (Some(j), Some((place, hint))) = (resp.jurisdiction.as_mut(), unknown) {
        j.unknown_place = place;
        j.did_you_mean = hint;
    }

    // What kind of request.
    let (kind, cues) = loc.classifier.classify(&cue_hits);
    resp.request_type = kind as i32;
    // The first cues are enough to show why; a text that repeats them thousands of times would
    // otherwise make a response (and a batch of them) grow with it.
    resp.request_type_evidence = cues
        .iter()
        .take(MAX_REQUEST_TYPE_EVIDENCE)
        .map(|&(s, e)| evidence(original, normalized, s, e, &normalized.text()[s..e]))
        .collect();

    // Who handles it, and by when: only for dispatched requests.
    let (Some(r), true) = (rule, resp.outcome == pb::Outcome::Dispatch as i32) else {
        return;
    };
    let Some(rule) = set.rules.get(r) else { return };
    let Target::Dispatch { department, .. } = rule.target else {
        return;
    };
    let dept = &set.departments[department];
    resp.unit = Some(match place.map(|(p, _)| p) {
        Some(p) if rule.local && g.places[p].kind.is_local() => {
            let mut u = loc.street_office(p).clone();
            u.department_id = dept.id.clone();
            u
        }
        Some(p) => loc.unit(department, g.district_of(p)).clone(),
        None => loc.unit(department, usize::MAX).clone(),
    });

    let own = rule
        .time_limit
        .as_ref()
        .filter(|tl| tl.types.is_empty() || tl.types.contains(&kind));
    let limit = match own {
        Some(_) => set.prepared.get(r).and_then(|p| p.own_time_limit.clone()),
        None => loc.default_limits.get(&kind).cloned(),
    };
    resp.time_limit = limit.map(|mut tl| {
        if let Some(received) = cx.received {
            tl.received_date = received.to_string();
            match loc.calendar.due_date(received, tl.working_days) {
                Ok(d) => tl.due_date = d.to_string(),
                Err(e) => tl.due_date_error = e,
            }
        }
        tl
    });
}
