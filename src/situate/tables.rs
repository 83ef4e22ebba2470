//! The rule set's tables for the situate stage, and their validators: the places gazetteer,
//! departments' units, the working-day calendar, request types and time limits.
//!
//! Errors are collected like the rest of the rule set's, each at its place: unknown place
//! references, aliases claimed by two places, malformed dates or dates outside their year, a day
//! listed both as a holiday and as a working day, unknown request types.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_saphyr::Spanned;

use super::calendar::{Calendar, Date};
use super::jurisdiction::{Gazetteer, Place, PlaceKind};
use super::request_type::{self, Classifier};
use crate::engine::normalize::normalize;
use crate::proto::v1 as pb;
use crate::ruleset::{
    Code, Diagnostics, RawSettingsIn, SourceFile, SourceLocation,
    ids::{IdTable, define_section, one_of},
    raw::RawPlace,
};

/// Everything about where and by when, compiled.
#[derive(Default)]
pub(crate) struct Tables {
    // Place names and request-type cues are also phrases of the rule set's matcher (see
    // `Tables::phrases`), so that the text is scanned once per request.
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

/// A request type named in the rules (`投诉`), reported at its place when unknown.
pub(crate) fn request_type(
    file: &str,
    s: &Spanned<String>,
    diags: &mut Diagnostics,
) -> Option<pb::RequestType> {
    let names = request_type::NAMES;
    let code = Code::UnknownRequestType;
    one_of(
        "request type",
        code,
        &names,
        request_type::parse,
        file,
        s,
        diags,
    )
}

pub(crate) fn validate(
    files: &[SourceFile],
    departments: &IdTable,
    settings: RawSettingsIn<'_>,
    diags: &mut Diagnostics,
) -> Tables {
    let (places, place_ids) = places(files, diags);
    let names = place_names(files, &places, &place_ids, diags);
    let units = units(files, departments, &places, &place_ids, diags);
    let calendar = calendar(files, diags);
    let (classifier, default_limits) = request_types(settings, diags);
    let offices = places
        .iter()
        .map(|p| pb::HandlingUnit {
            name: p.office.clone(),
            department_id: String::new(),
            place_id: p.id.clone(),
            level: "street".to_owned(),
        })
        .collect();
    Tables {
        gazetteer: Gazetteer::new(places, names),
        units,
        offices,
        calendar,
        classifier,
        default_limits,
    }
}

/// One place of the `places` section (its parent still unresolved).
fn place(file: &str, raw: &RawPlace, diags: &mut Diagnostics) -> Place {
    let kind = one_of(
        "place kind",
        Code::UnknownKind,
        &PlaceKind::NAMES,
        PlaceKind::parse,
        file,
        &raw.kind,
        diags,
    )
    .unwrap_or(PlaceKind::District);
    let office = raw.office.clone().unwrap_or_else(|| match kind {
        PlaceKind::Town => format!("{}人民政府", raw.name),
        _ => format!("{}办事处", raw.name),
    });
    Place {
        id: raw.id.value.clone(),
        name: raw.name.clone(),
        kind,
        aliases: raw.aliases.iter().map(|a| a.value.clone()).collect(),
        parent: None,
        office,
        location: SourceLocation::of(file, &raw.id),
    }
}

/// The `places` section: every place with its parent resolved.
fn places(files: &[SourceFile], diags: &mut Diagnostics) -> (Vec<Place>, IdTable) {
    let mut parents: Vec<Option<(&str, &Spanned<String>)>> = Vec::new();
    let (mut places, ids) = define_section(files, diags, |file, raw: &RawPlace, diags| {
        parents.push(raw.parent.as_deref().map(|p| (file, p)));
        place(file, raw, diags)
    });
    for (i, parent) in parents.into_iter().enumerate() {
        let context = format!(" (the parent of \"{}\")", places[i].id);
        match parent {
            Some((file, p)) => match ids.resolve(file, p, &context, diags) {
                Some(j) if !places[j].kind.is_local() => places[i].parent = Some(j),
                Some(_) => diags.error(
                    Code::BadParent,
                    SourceLocation::of(file, p),
                    format!(
                        "place \"{}\" cannot be the parent of \"{}\": a parent is a district, \
                         county or development zone",
                        p.value, places[i].id
                    ),
                ),
                None => {}
            },
            None if places[i].kind.is_local() => diags.error(
                Code::BadParent,
                places[i].location.clone(),
                format!(
                    "{} \"{}\" needs a `parent` (its district or county)",
                    places[i].kind.as_str(),
                    places[i].id
                ),
            ),
            None => {}
        }
    }
    (places, ids)
}

/// Names and aliases, normalized; one name may belong to one place only.
fn place_names(
    files: &[SourceFile],
    places: &[Place],
    ids: &IdTable,
    diags: &mut Diagnostics,
) -> Vec<(String, usize)> {
    let mut names: Vec<(String, usize)> = Vec::new();
    let mut owner: HashMap<String, usize> = HashMap::new();
    for f in files {
        for p in &f.raw.places {
            let Some(i) = ids.get(&p.value.id.value) else {
                continue;
            };
            let name = (
                p.value.name.clone(),
                SourceLocation::of(&f.name, &p.value.id),
            );
            let aliases = p.value.aliases.iter();
            let all = std::iter::once(name)
                .chain(aliases.map(|a| (a.value.clone(), SourceLocation::of(&f.name, a))));
            for (n, at) in all {
                let n = normalize(&n).text().to_owned();
                if n.chars().count() < 2 {
                    diags.error(
                        Code::EmptyValue,
                        at,
                        format!("place name or alias \"{n}\" is too short to find in text"),
                    );
                    continue;
                }
                match owner.get(&n) {
                    Some(&j) if j != i => diags.error(
                        Code::AmbiguousPlaceName,
                        at,
                        format!(
                            "\"{n}\" names both \"{}\" and \"{}\"; a name or alias must belong to \
                             one place",
                            places[j].id, places[i].id
                        ),
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
    names
}

type Units = Vec<(HashMap<usize, pb::HandlingUnit>, pb::HandlingUnit)>;

/// Departments' `units`: per department, its unit in each district, and itself at city level.
fn units(
    files: &[SourceFile],
    departments: &IdTable,
    places: &[Place],
    place_ids: &IdTable,
    diags: &mut Diagnostics,
) -> Units {
    let mut out: Units = vec![Default::default(); departments.len()];
    for f in files {
        for d in &f.raw.departments {
            let Some(di) = departments.get(&d.value.id.value) else {
                continue;
            };
            let id = &d.value.id.value;
            let (by_place, city) = &mut out[di];
            *city = pb::HandlingUnit {
                name: d.value.name.clone(),
                department_id: id.clone(),
                place_id: String::new(),
                level: "city".to_owned(),
            };
            let context = format!(" in a unit of department \"{id}\"");
            for u in &d.value.units {
                let at = SourceLocation::of(&f.name, &u.value.place);
                match place_ids.resolve(&f.name, &u.value.place, &context, diags) {
                    Some(p) if places[p].kind.is_local() => diags.error(
                        Code::BadUnit,
                        at,
                        format!(
                            "a department's unit serves a district, county or development zone, \
                             not the {} \"{}\"",
                            places[p].kind.as_str(),
                            places[p].id
                        ),
                    ),
                    Some(p) if by_place.contains_key(&p) => diags.error(
                        Code::BadUnit,
                        at,
                        format!(
                            "department \"{id}\" already has a unit in \"{}\"",
                            places[p].id
                        ),
                    ),
                    Some(p) => {
                        let unit = pb::HandlingUnit {
                            name: u.value.name.clone(),
                            department_id: id.clone(),
                            place_id: places[p].id.clone(),
                            level: "district".to_owned(),
                        };
                        by_place.insert(p, unit);
                    }
                    None => {}
                }
            }
        }
    }
    out
}

/// The `calendar` section: holidays and worked weekend days (调休) per year.
fn calendar(files: &[SourceFile], diags: &mut Diagnostics) -> Calendar {
    let mut years = BTreeSet::new();
    let (mut holidays, mut workdays) = (HashSet::new(), HashSet::new());
    for f in files {
        for y in &f.raw.calendar {
            let year = y.value.year.value;
            if !years.insert(year) {
                diags.error(
                    Code::DuplicateEntry,
                    SourceLocation::of(&f.name, &y.value.year),
                    format!("calendar year {year} is listed twice"),
                );
                continue;
            }
            for h in &y.value.holidays {
                if let Some(d) = date_in(&f.name, h, year, "holiday", diags) {
                    holidays.insert(d);
                }
            }
            for w in &y.value.workdays {
                let Some(d) = date_in(&f.name, w, year, "working day", diags) else {
                    continue;
                };
                let at = SourceLocation::of(&f.name, w);
                if holidays.contains(&d) {
                    diags.error(
                        Code::HolidayAndWorkday,
                        at,
                        format!(
                            "{} is listed both as a holiday and as a working day",
                            w.value
                        ),
                    );
                } else if d.weekday() < 5 {
                    diags.warning(
                        Code::WeekdayWorkday,
                        at,
                        format!(
                            "{} is a weekday anyway; `workdays` lists weekend days that are \
                             worked (调休)",
                            w.value
                        ),
                    );
                }
                workdays.insert(d);
            }
        }
    }
    Calendar::new(years, holidays, workdays)
}

/// A date of the calendar section, which must fall in the `year` it is listed under.
fn date_in(
    file: &str,
    s: &Spanned<String>,
    year: i32,
    what: &str,
    diags: &mut Diagnostics,
) -> Option<Date> {
    let at = SourceLocation::of(file, s);
    match Date::parse(&s.value) {
        None => {
            diags.error(
                Code::BadDate,
                at,
                format!("\"{}\" is not a date; write YYYY-MM-DD", s.value),
            );
            None
        }
        Some(d) if d.year() != year => {
            diags.error(
                Code::BadDate,
                at,
                format!(
                    "{what} {} is not in the year {year} it is listed under",
                    s.value
                ),
            );
            None
        }
        Some(d) => Some(d),
    }
}

/// The request types (with their cues) and default time limits of the settings section.
fn request_types(
    settings: RawSettingsIn<'_>,
    diags: &mut Diagnostics,
) -> (Classifier, HashMap<pb::RequestType, pb::TimeLimit>) {
    let mut cues = Vec::new();
    let mut default_type = pb::RequestType::Consultation;
    let mut default_limits = HashMap::new();
    let Some((file, s)) = settings else {
        return (Classifier::new(cues, default_type), default_limits);
    };
    let mut seen = HashSet::new();
    for (rank, rt) in s.value.request_types.iter().enumerate() {
        let Some(t) = request_type(file, &rt.value.r#type, diags) else {
            continue;
        };
        if !seen.insert(t) {
            diags.error(
                Code::DuplicateEntry,
                SourceLocation::of(file, &rt.value.r#type),
                format!("request type \"{}\" is listed twice", rt.value.r#type.value),
            );
        }
        for c in &rt.value.cues {
            let n = normalize(&c.value).text().to_owned();
            if n.is_empty() {
                diags.error(
                    Code::BadTerm,
                    SourceLocation::of(file, c),
                    "empty cue; remove it",
                );
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
            if let Some(t) = request_type(file, &wd.value.r#type, diags) {
                let basis = format!("{}（{}）", tl.value.basis, request_type::label(t));
                let limit = pb::TimeLimit {
                    working_days: wd.value.days,
                    basis,
                    ..Default::default()
                };
                default_limits.insert(t, limit);
            }
        }
    }
    (Classifier::new(cues, default_type), default_limits)
}

impl Tables {
    /// The phrases the matcher must find anywhere in a text: place names, then cues.
    pub(crate) fn phrases(&self) -> Vec<String> {
        self.gazetteer
            .phrases
            .iter()
            .chain(&self.classifier.phrases)
            .cloned()
            .collect()
    }

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
