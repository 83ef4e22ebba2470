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

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

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

/// The gazetteer: places and one automaton over their names and aliases.
#[derive(Default)]
pub struct Gazetteer {
    pub(crate) places: Vec<Place>,
    /// Normalized name / alias / id → place.
    by_name: HashMap<String, usize>,
    automaton: Option<AhoCorasick>,
    /// For each pattern of the automaton: its place.
    owners: Vec<usize>,
}

impl Gazetteer {
    /// Builds the lookup structures; `names` holds every (normalized name or alias, place).
    pub(crate) fn new(places: Vec<Place>, names: Vec<(String, usize)>) -> Result<Self, String> {
        let mut by_name = HashMap::new();
        for (i, p) in places.iter().enumerate() {
            by_name.insert(p.id.clone(), i);
        }
        for (n, i) in &names {
            by_name.insert(n.clone(), *i);
        }
        let automaton = if names.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(names.iter().map(|(n, _)| n.as_bytes()))
                    .map_err(|e| format!("cannot build the place-name automaton: {e}"))?,
            )
        };
        let owners = names.iter().map(|(_, i)| *i).collect();
        Ok(Gazetteer {
            places,
            by_name,
            automaton,
            owners,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }

    /// The place named (or with id) `district` in a request.
    pub fn lookup(&self, normalized_district: &str) -> Option<usize> {
        self.by_name.get(normalized_district).copied()
    }

    /// The longest place name in `normalized` text (the first of equal length), with its byte span.
    pub fn find_in(&self, normalized: &str) -> Option<(usize, usize, usize)> {
        let ac = self.automaton.as_ref()?;
        let mut best: Option<(usize, usize, usize)> = None;
        for m in ac.find_iter(normalized) {
            let len = m.end() - m.start();
            if best.is_none_or(|(_, s, e)| len > e - s) {
                best = Some((self.owners[m.pattern().as_usize()], m.start(), m.end()));
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
