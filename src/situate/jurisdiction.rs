//! Where a matter is (属地), and which concrete unit handles it.
//!
//! 12345 orders go to units, not to abstract departments: "housing" in 高新区 is 高新区建设局, and
//! community matters in a street go to that street's office. The jurisdiction comes from the
//! request's `district` field when the intake system knows it, else from place names in the text
//! (the longest name found, with its position as evidence), else the city as a whole.
//!
//! Unit resolution, for a decision of department D in place P:
//! - a rule marked `local` in a street or town → that street office / town government;
//! - D's unit in P's district (a street or town counts as its district) → that unit;
//! - otherwise D itself, at city level.

use std::collections::HashMap;

use crate::proto::v1 as pb;
use crate::ruleset::SourceLocation;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceKind {
    District,
    County,
    DevelopmentZone,
    Street,
    Town,
}

impl PlaceKind {
    pub(crate) const NAMES: [&'static str; 5] =
        ["district", "county", "development-zone", "street", "town"];

    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "district" => PlaceKind::District,
            "county" => PlaceKind::County,
            "development-zone" => PlaceKind::DevelopmentZone,
            "street" => PlaceKind::Street,
            "town" => PlaceKind::Town,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// Streets and towns sit below a district or county.
    pub fn is_local(self) -> bool {
        matches!(self, PlaceKind::Street | PlaceKind::Town)
    }
}

#[derive(Debug, Clone)]
pub struct Place {
    pub id: String,
    pub name: String,
    pub kind: PlaceKind,
    pub aliases: Vec<String>,
    pub parent: Option<usize>,
    /// The office for community matters (streets and towns).
    pub office: String,
    pub location: SourceLocation,
}

/// How a jurisdiction was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Request,
    Text { start: usize, end: usize },
}

/// The gazetteer: places, and their names and aliases as phrases for the matcher's automaton.
#[derive(Default)]
pub struct Gazetteer {
    pub(crate) places: Vec<Place>,
    /// Normalized name / alias / id → place.
    by_name: HashMap<String, usize>,
    /// The phrases the matcher looks for (normalized names and aliases), and their places.
    pub(crate) phrases: Vec<String>,
    owners: Vec<usize>,
    /// Each place's jurisdiction message (source "text"), and the city's (source "default"),
    /// built once so that a request only copies them.
    jurisdictions: Vec<pb::Jurisdiction>,
    city: pb::Jurisdiction,
}

impl Gazetteer {
    /// `names` holds every (normalized name or alias, place).
    pub(crate) fn new(places: Vec<Place>, names: Vec<(String, usize)>) -> Self {
        let mut by_name = HashMap::new();
        for (i, p) in places.iter().enumerate() {
            by_name.insert(p.id.clone(), i);
        }
        for (n, i) in &names {
            by_name.insert(n.clone(), *i);
        }
        let (phrases, owners) = names.into_iter().unzip();
        let jurisdictions = places
            .iter()
            .map(|p| pb::Jurisdiction {
                place_id: p.id.clone(),
                name: p.name.clone(),
                kind: p.kind.as_str().to_owned(),
                source: "text".to_owned(),
                ..Default::default()
            })
            .collect();
        let city = pb::Jurisdiction {
            place_id: String::new(),
            name: "全市".to_owned(),
            kind: "city".to_owned(),
            source: "default".to_owned(),
            ..Default::default()
        };
        Gazetteer {
            places,
            by_name,
            phrases,
            owners,
            jurisdictions,
            city,
        }
    }

    pub(crate) fn jurisdiction(&self, place: usize) -> &pb::Jurisdiction {
        self.jurisdictions.get(place).unwrap_or(&self.city)
    }

    pub(crate) fn city(&self) -> &pb::Jurisdiction {
        &self.city
    }

    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }

    /// The place named (or with id) `district` in a request.
    pub fn lookup(&self, normalized_district: &str) -> Option<usize> {
        self.by_name.get(normalized_district).copied()
    }

    /// The known name, alias or id closest to a request's place that is none of them, if any is
    /// close (ties go to the first in code-point order, so the answer does not depend on the
    /// table's iteration order).
    pub(crate) fn closest_name(&self, normalized_district: &str) -> Option<&str> {
        crate::ruleset::closest(normalized_district, self.by_name.keys().map(String::as_str))
    }

    /// The longest place name among the matcher's hits on phrase `i` (the first of equal
    /// length), with its byte span: (place, start, end).
    pub fn longest(
        &self,
        hits: impl Iterator<Item = (usize, usize, usize)>,
    ) -> Option<(usize, usize, usize)> {
        let mut best: Option<(usize, usize, usize)> = None;
        for (i, start, end) in hits {
            let Some(&place) = self.owners.get(i) else {
                continue;
            };
            if best
                .is_none_or(|(_, s, e)| end - start > e - s || (end - start == e - s && start < s))
            {
                best = Some((place, start, end));
            }
        }
        best
    }

    /// The district or county of `place` (itself unless it is a street or town).
    pub fn district_of(&self, place: usize) -> usize {
        match self.places.get(place) {
            Some(p) if p.kind.is_local() => p.parent.unwrap_or(place),
            _ => place,
        }
    }
}
