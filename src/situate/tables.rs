//! Validation and compilation of the parts of a rule set that say where and by when: the places
//! gazetteer, departments' units, request types, time limits and the working-day calendar.
//!
//! Errors are collected like the rest of the rule set's, each at its place: unknown place
//! references, aliases claimed by two places, malformed dates or dates outside their year, a day
//! listed both as a holiday and as a working day, unknown request types.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_saphyr::Spanned;

use super::diagnostic::{Diagnostics, SourceLocation, did_you_mean};
use super::load::SourceFile;
use crate::calendar::{Calendar, Date};
use crate::jurisdiction::{Gazetteer, Place, PlaceKind};
use crate::normalize::normalize;
use crate::proto::v1 as pb;
use crate::request_type::{self, Classifier};

fn loc<T>(file: &str, s: &Spanned<T>) -> SourceLocation {
    SourceLocation::new(file, s.referenced)
}

/// Everything about where and by when, compiled.
#[derive(Default)]
pub(crate) struct Locality {
    // Place names and request-type cues are also phrases of the rule set's matcher (see
    // `Locality::phrases`), so that the text is scanned once per request.
    pub gazetteer: Gazetteer,
    /// Per department: its unit message per district place, and at city level (built once).
    units: Vec<(HashMap<usize, pb::HandlingUnit>, pb::HandlingUnit)>,
    /// Per place: its street office / town government (for `local` rules).
    offices: Vec<pb::HandlingUnit>,
    pub calendar: Calendar,
    pub classifier: Classifier,
    /// Default time limit per request type, with its basis (received and due dates empty).
    pub default_limits: HashMap<pb::RequestType, pb::TimeLimit>,
}

pub(crate) fn request_type(
    file: &str,
    s: &Spanned<String>,
    diags: &mut Diagnostics,
) -> Option<pb::RequestType> {
    let t = request_type::parse(s.value.trim());
    if t.is_none() {
        diags.error(
            loc(file, s),
            format!(
                "unknown request type \"{}\"; use one of {}{}",
                s.value,
                request_type::NAMES.join(", "),
                did_you_mean(&s.value, request_type::NAMES)
            ),
        );
    }
    t
}

pub(crate) fn compile(
    files: &[SourceFile],
    department_ids: &HashMap<String, usize>,
    department_count: usize,
    settings: Option<(&str, &Spanned<super::raw::RawSettings>)>,
    diags: &mut Diagnostics,
) -> Locality {
    // ---- places
    let mut places: Vec<Place> = Vec::new();
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut parents: Vec<Option<(String, Spanned<String>)>> = Vec::new();
    for f in files {
        for p in &f.raw.places {
            let raw = &p.value;
            if ids.contains_key(&raw.id.value) {
                diags.error(
                    loc(&f.name, &raw.id),
                    format!("duplicate place id \"{}\"", raw.id.value),
                );
                continue;
            }
            let kind = PlaceKind::parse(&raw.kind.value).unwrap_or_else(|| {
                diags.error(
                    loc(&f.name, &raw.kind),
                    format!(
                        "unknown place kind \"{}\"; use one of {}{}",
                        raw.kind.value,
                        PlaceKind::NAMES.join(", "),
                        did_you_mean(&raw.kind.value, PlaceKind::NAMES)
                    ),
                );
                PlaceKind::District
            });
            let office = raw.office.clone().unwrap_or_else(|| match kind {
                PlaceKind::Town => format!("{}人民政府", raw.name),
                _ => format!("{}办事处", raw.name),
            });
            ids.insert(raw.id.value.clone(), places.len());
            parents.push(raw.parent.as_ref().map(|p| (f.name.clone(), p.clone())));
            places.push(Place {
                id: raw.id.value.clone(),
                name: raw.name.clone(),
                kind,
                aliases: raw.aliases.iter().map(|a| a.value.clone()).collect(),
                parent: None,
                office,
                location: loc(&f.name, &raw.id),
            });
        }
    }
    for (i, parent) in parents.iter().enumerate() {
        match parent {
            Some((file, p)) => match ids.get(&p.value) {
                Some(&j) if !places[j].kind.is_local() => places[i].parent = Some(j),
                Some(_) => diags.error(
                    loc(file, p),
                    format!("place \"{}\" cannot be the parent of \"{}\": a parent is a district, county or development zone", p.value, places[i].id),
                ),
                None => diags.error(
                    loc(file, p),
                    format!(
                        "unknown parent place \"{}\" of \"{}\"{}",
                        p.value,
                        places[i].id,
                        did_you_mean(&p.value, ids.keys().map(String::as_str))
                    ),
                ),
            },
            None if places[i].kind.is_local() => diags.error(
                places[i].location.clone(),
                format!("{} \"{}\" needs a `parent` (its district or county)", places[i].kind.as_str(), places[i].id),
            ),
            None => {}
        }
    }
    // Names and aliases, normalized; one name may belong to one place only.
    let mut names: Vec<(String, usize)> = Vec::new();
    let mut owner: HashMap<String, usize> = HashMap::new();
    for f in files {
        for p in &f.raw.places {
            let Some(&i) = ids.get(&p.value.id.value) else {
                continue;
            };
            let mut all: Vec<(String, SourceLocation)> =
                vec![(p.value.name.clone(), loc(&f.name, &p.value.id))];
            all.extend(
                p.value
                    .aliases
                    .iter()
                    .map(|a| (a.value.clone(), loc(&f.name, a))),
            );
            for (n, at) in all {
                let n = normalize(&n).text().to_owned();
                if n.chars().count() < 2 {
                    diags.error(
                        at,
                        format!("place name or alias \"{n}\" is too short to find in text"),
                    );
                    continue;
                }
                match owner.get(&n) {
                    Some(&j) if j != i => diags.error(
                        at,
                        format!("\"{n}\" names both \"{}\" and \"{}\"; a name or alias must belong to one place", places[j].id, places[i].id),
                    ),
                    Some(_) => {}
                    None => {
                        owner.insert(n.clone(), i);
                        names.push((n, i));
                    }
                }
            }
        }
    }

    // ---- departments' units
    let mut units: Vec<Vec<(usize, String)>> = vec![Vec::new(); department_count];
    let mut department_names: Vec<(String, String)> =
        vec![(String::new(), String::new()); department_count];
    for f in files {
        for d in &f.raw.departments {
            let Some(&di) = department_ids.get(&d.value.id.value) else {
                continue;
            };
            department_names[di] = (d.value.id.value.clone(), d.value.name.clone());
            for u in &d.value.units {
                match ids.get(&u.value.place.value) {
                    Some(&p) if places[p].kind.is_local() => diags.error(
                        loc(&f.name, &u.value.place),
                        format!("a department's unit serves a district, county or development zone, not the {} \"{}\"", places[p].kind.as_str(), places[p].id),
                    ),
                    Some(&p) if units[di].iter().any(|(q, _)| *q == p) => diags.error(
                        loc(&f.name, &u.value.place),
                        format!("department \"{}\" already has a unit in \"{}\"", d.value.id.value, places[p].id),
                    ),
                    Some(&p) => units[di].push((p, u.value.name.clone())),
                    None => diags.error(
                        loc(&f.name, &u.value.place),
                        format!(
                            "unknown place \"{}\" in a unit of department \"{}\"{}",
                            u.value.place.value,
                            d.value.id.value,
                            did_you_mean(&u.value.place.value, ids.keys().map(String::as_str))
                        ),
                    ),
                }
            }
        }
    }

    // ---- calendar
    let mut years = BTreeSet::new();
    let (mut holidays, mut workdays) = (HashSet::new(), HashSet::new());
    for f in files {
        for y in &f.raw.calendar {
            let year = y.value.year.value;
            if !years.insert(year) {
                diags.error(
                    loc(&f.name, &y.value.year),
                    format!("calendar year {year} is listed twice"),
                );
                continue;
            }
            let parse =
                |s: &Spanned<String>, what: &str, diags: &mut Diagnostics| -> Option<Date> {
                    match Date::parse(&s.value) {
                        None => {
                            diags.error(
                                loc(&f.name, s),
                                format!("\"{}\" is not a date; write YYYY-MM-DD", s.value),
                            );
                            None
                        }
                        Some(d) if d.year() != year => {
                            diags.error(
                                loc(&f.name, s),
                                format!(
                                    "{what} {} is not in the year {year} it is listed under",
                                    s.value
                                ),
                            );
                            None
                        }
                        Some(d) => Some(d),
                    }
                };
            for h in &y.value.holidays {
                if let Some(d) = parse(h, "holiday", diags) {
                    holidays.insert(d);
                }
            }
            for w in &y.value.workdays {
                if let Some(d) = parse(w, "working day", diags) {
                    if holidays.contains(&d) {
                        diags.error(
                            loc(&f.name, w),
                            format!(
                                "{} is listed both as a holiday and as a working day",
                                w.value
                            ),
                        );
                    } else if d.weekday() < 5 {
                        diags.warning(loc(&f.name, w), format!("{} is a weekday anyway; `workdays` lists weekend days that are worked (调休)", w.value));
                    }
                    workdays.insert(d);
                }
            }
        }
    }

    // ---- request types and time limits (settings)
    let mut cues = Vec::new();
    let mut default_type = pb::RequestType::Consultation;
    let mut default_limits = HashMap::new();
    if let Some((file, s)) = settings {
        let mut seen = HashSet::new();
        for (rank, rt) in s.value.request_types.iter().enumerate() {
            let Some(t) = request_type(file, &rt.value.kind, diags) else {
                continue;
            };
            if !seen.insert(t) {
                diags.error(
                    loc(file, &rt.value.kind),
                    format!("request type \"{}\" is listed twice", rt.value.kind.value),
                );
            }
            for c in &rt.value.cues {
                let n = normalize(&c.value).text().to_owned();
                if n.is_empty() {
                    diags.error(loc(file, c), "empty cue; remove it");
                } else {
                    cues.push((n, rank, t));
                }
            }
        }
        if let Some(d) = &s.value.default_request_type {
            default_type = request_type(file, d, diags).unwrap_or(default_type);
        }
        if let Some(tl) = &s.value.time_limits {
            for wd in &tl.value.working_days {
                if let Some(t) = request_type(file, &wd.value.kind, diags) {
                    let basis = format!("{}（{}）", tl.value.basis, request_type::label(t));
                    default_limits.insert(
                        t,
                        pb::TimeLimit {
                            working_days: wd.value.days,
                            basis,
                            ..Default::default()
                        },
                    );
                }
            }
        }
    }
    let classifier = Classifier::new(cues, default_type);
    let offices = places
        .iter()
        .map(|p| pb::HandlingUnit {
            name: p.office.clone(),
            department_id: String::new(),
            place_id: p.id.clone(),
            level: "street".to_owned(),
        })
        .collect();
    let units = units
        .into_iter()
        .zip(department_names)
        .map(|(list, (id, name))| {
            let by_place = list
                .into_iter()
                .map(|(p, unit)| {
                    let msg = pb::HandlingUnit {
                        name: unit,
                        department_id: id.clone(),
                        place_id: places[p].id.clone(),
                        level: "district".to_owned(),
                    };
                    (p, msg)
                })
                .collect();
            let city = pb::HandlingUnit {
                name,
                department_id: id,
                place_id: String::new(),
                level: "city".to_owned(),
            };
            (by_place, city)
        })
        .collect();
    let gazetteer = Gazetteer::new(places, names);
    Locality {
        gazetteer,
        units,
        offices,
        calendar: Calendar::new(years, holidays, workdays),
        classifier,
        default_limits,
    }
}

impl Locality {
    /// The phrases the matcher must find anywhere in a text: place names, then cues.
    pub(crate) fn phrases(&self) -> Vec<String> {
        self.gazetteer
            .phrases
            .iter()
            .chain(&self.classifier.phrases)
            .cloned()
            .collect()
    }
}

impl Locality {
    /// The unit of department `d` in district `place` (the city department when it has none).
    pub(crate) fn unit(&self, d: usize, place: usize) -> &pb::HandlingUnit {
        static NONE: std::sync::OnceLock<pb::HandlingUnit> = std::sync::OnceLock::new();
        match self.units.get(d) {
            Some((by_place, city)) => by_place.get(&place).unwrap_or(city),
            None => NONE.get_or_init(pb::HandlingUnit::default),
        }
    }

    /// The street office or town government of `place`.
    pub(crate) fn street_office(&self, place: usize) -> &pb::HandlingUnit {
        static NONE: std::sync::OnceLock<pb::HandlingUnit> = std::sync::OnceLock::new();
        self.offices
            .get(place)
            .unwrap_or_else(|| NONE.get_or_init(pb::HandlingUnit::default))
    }
}
