//! The last stage of a request, after `explain`: where the matter is, which concrete unit handles
//! it, what kind of request it is, and by when it must be handled.
//!
//! These depend on the decision (the department, the rule) and on facts about the request that
//! are not the text's topic: the caller's district, place names, cue phrases, the received time.
//! See `jurisdiction.rs`, `request_type.rs` and `calendar.rs` for each.

use crate::calendar::Date;
use crate::jurisdiction::Source;
use crate::normalize::Normalized;
use crate::proto::v1 as pb;
use crate::request_type;
use crate::ruleset::{RuleSet, Target};

/// Facts about a request besides its text.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestContext<'a> {
    /// The district the intake system gave, if any.
    pub district: &'a str,
    /// The day the hotline received the request (China time), if known.
    pub received: Option<Date>,
}

fn evidence(
    original: &str,
    normalized: &Normalized,
    start: usize,
    end: usize,
    term: &str,
) -> pb::Evidence {
    let (s, e) = normalized.original_span(start, end);
    let text: String = original
        .chars()
        .skip(s as usize)
        .take((e - s) as usize)
        .collect();
    pb::Evidence {
        term: term.to_owned(),
        text,
        start: s,
        end: e,
        condition: pb::Condition::Unspecified as i32,
    }
}

/// Fills jurisdiction, unit, request type and time limit into `resp`; `rule` is the deciding rule.
pub(crate) fn situate(
    set: &RuleSet,
    resp: &mut pb::RouteResponse,
    rule: Option<usize>,
    original: &str,
    normalized: &Normalized,
    cx: &RequestContext<'_>,
) {
    let loc = &set.locality;
    let g = &loc.gazetteer;

    // Where.
    let place = if cx.district.trim().is_empty() {
        None
    } else {
        g.lookup(crate::normalize::normalize(cx.district).text())
            .map(|p| (p, Source::Request))
    }
    .or_else(|| {
        g.find_in(normalized.text())
            .map(|(p, s, e)| (p, Source::Text { start: s, end: e }))
    });
    resp.jurisdiction = Some(match place {
        Some((p, source)) => {
            let pl = &g.places[p];
            pb::Jurisdiction {
                place_id: pl.id.clone(),
                name: pl.name.clone(),
                kind: pl.kind.as_str().to_owned(),
                source: match source {
                    Source::Request => "request",
                    Source::Text { .. } => "text",
                }
                .to_owned(),
                evidence: match source {
                    Source::Text { start, end } => Some(evidence(
                        original,
                        normalized,
                        start,
                        end,
                        &normalized.text()[start..end],
                    )),
                    Source::Request => None,
                },
            }
        }
        None => pb::Jurisdiction {
            place_id: String::new(),
            name: "全市".to_owned(),
            kind: "city".to_owned(),
            source: "default".to_owned(),
            evidence: None,
        },
    });

    // What kind of request.
    let (kind, cues) = loc.classifier.classify(normalized.text());
    resp.request_type = kind as i32;
    resp.request_type_evidence = cues
        .iter()
        .map(|&(_, s, e)| evidence(original, normalized, s, e, &normalized.text()[s..e]))
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
        Some(p) if rule.local && g.places[p].kind.is_local() => pb::HandlingUnit {
            name: g.places[p].office.clone(),
            department_id: dept.id.clone(),
            place_id: g.places[p].id.clone(),
            level: "street".to_owned(),
        },
        Some(p) => {
            let district = g.district_of(p);
            match loc
                .units
                .get(department)
                .and_then(|u| u.iter().find(|(q, _)| *q == district))
            {
                Some((_, name)) => pb::HandlingUnit {
                    name: name.clone(),
                    department_id: dept.id.clone(),
                    place_id: g.places[district].id.clone(),
                    level: "district".to_owned(),
                },
                None => city_unit(dept),
            }
        }
        None => city_unit(dept),
    });

    let own = rule
        .time_limit
        .as_ref()
        .filter(|tl| tl.types.is_empty() || tl.types.contains(&kind));
    let limit = match own {
        Some(tl) => {
            let regulations: Vec<pb::Regulation> = tl
                .regulations
                .iter()
                .map(|&i| crate::explain::regulation_pb(set, i))
                .collect();
            let basis = regulations
                .iter()
                .map(|g| format!("《{}》{}", g.title, g.article))
                .collect::<Vec<_>>()
                .join("、");
            Some(pb::TimeLimit {
                working_days: tl.days,
                basis,
                regulations,
                ..Default::default()
            })
        }
        None => loc.default_limits.get(&kind).map(|&days| pb::TimeLimit {
            working_days: days,
            basis: format!("{}（{}）", loc.limits_basis, request_type::label(kind)),
            ..Default::default()
        }),
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

fn city_unit(dept: &crate::ruleset::Department) -> pb::HandlingUnit {
    pb::HandlingUnit {
        name: dept.name.clone(),
        department_id: dept.id.clone(),
        place_id: String::new(),
        level: "city".to_owned(),
    }
}
