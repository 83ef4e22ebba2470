//! The rule files as written: the serde types of the YAML a rule author edits.
//!
//! This layer only describes shape. It knows nothing about references between files, term
//! normalization or scoring; `compile.rs` turns a set of these into a validated [`RuleSet`]
//! (ripgrep's raw config → validated config → execution layering). Every value whose position a
//! diagnostic may need to point at is wrapped in [`Spanned`], and every struct denies unknown
//! fields, so that a misspelt key (`departmnet:`) is an error with a location instead of a silently
//! ignored line.
//!
//! Field names here are the rule author's vocabulary and must stay in step with the proto and with
//! `docs/rules.md`: department, regulation, category, rule, example.
//!
//! [`RuleSet`]: super::RuleSet

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

/// One YAML file under the rules directory. Every section is optional; the sections of all files
/// are merged into one rule set, so authors can split rules by department or topic.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    #[serde(default)]
    #[schemars(with = "Vec<RawDepartment>")]
    pub departments: Vec<Spanned<RawDepartment>>,
    #[serde(default)]
    #[schemars(with = "Vec<RawRegulation>")]
    pub regulations: Vec<Spanned<RawRegulation>>,
    #[serde(default)]
    pub categories: Vec<RawCategory>,
    /// Groups of interchangeable terms: wherever a rule names one, all of the group match.
    #[serde(default)]
    #[schemars(with = "Vec<Vec<String>>")]
    pub synonyms: Vec<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    #[schemars(with = "Option<RawSettings>")]
    pub settings: Option<Spanned<RawSettings>>,
    #[serde(default)]
    #[schemars(with = "Vec<RawRule>")]
    pub rules: Vec<Spanned<RawRule>>,
    /// Emergencies handed off to 110 / 119 / 120 / 122. They take precedence over every rule.
    #[serde(default)]
    #[schemars(with = "Vec<RawHandoff>")]
    pub handoffs: Vec<Spanned<RawHandoff>>,
    /// Matters the hotline does not take: the citizen is told where to go instead.
    #[serde(default)]
    #[schemars(with = "Vec<RawOutOfScope>")]
    pub out_of_scope: Vec<Spanned<RawOutOfScope>>,
    /// The gazetteer: the city's districts, counties, development zones, streets and towns.
    #[serde(default)]
    #[schemars(with = "Vec<RawPlace>")]
    pub places: Vec<Spanned<RawPlace>>,
    /// Working-day calendar, one entry per year.
    #[serde(default)]
    #[schemars(with = "Vec<RawCalendarYear>")]
    pub calendar: Vec<Spanned<RawCalendarYear>>,
}

/// A place of the city: a district (区), county (县), development zone (开发区), street (街道) or
/// town (乡镇).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPlace {
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    pub name: String,
    /// `district`, `county`, `development-zone`, `street` or `town`.
    #[schemars(with = "String")]
    pub kind: Spanned<String>,
    /// Other names people use, e.g. 高新区 for 高新技术产业开发区.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub aliases: Vec<Spanned<String>>,
    /// For streets and towns: the id of the district or county they belong to.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub parent: Option<Spanned<String>>,
    /// For streets and towns: the office that handles community matters (default: the name +
    /// 办事处 for a street, + 人民政府 for a town).
    #[serde(default)]
    pub office: Option<String>,
}

/// A department's handling unit in one district, county or development zone.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawUnit {
    /// The place id.
    #[schemars(with = "String")]
    pub place: Spanned<String>,
    /// The unit's name, e.g. 高新区建设局.
    pub name: String,
}

/// One year of the working-day calendar: public holidays and adjusted working days (调休).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCalendarYear {
    #[schemars(with = "i32")]
    pub year: Spanned<i32>,
    /// Days off that would otherwise be working days (YYYY-MM-DD).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub holidays: Vec<Spanned<String>>,
    /// Weekend days that are working days (调休上班), YYYY-MM-DD.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub workdays: Vec<Spanned<String>>,
    /// The notice the dates come from (for the people who maintain the file; not used in routing).
    #[serde(default)]
    #[allow(dead_code)]
    pub source: Option<String>,
}

/// The cue phrases of one request type (咨询 / 求助 / 投诉 / 举报 / 建议 / 表扬).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRequestType {
    #[schemars(with = "String")]
    pub r#type: Spanned<String>,
    #[schemars(with = "Vec<String>")]
    pub cues: Vec<Spanned<String>>,
}

/// Default time limits, in working days, per request type.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTimeLimits {
    /// The rule the defaults come from, e.g. 四川省12345政务服务便民热线运行管理办法（2025）.
    pub basis: String,
    #[schemars(with = "Vec<RawTypeDays>")]
    pub working_days: Vec<Spanned<RawTypeDays>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTypeDays {
    #[schemars(with = "String")]
    pub r#type: Spanned<String>,
    pub days: u32,
}

/// A time limit set by law for one rule's matters, overriding the defaults.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRuleTimeLimit {
    pub days: u32,
    /// The articles that set it.
    #[schemars(with = "Vec<String>")]
    pub regulations: Vec<Spanned<String>>,
    /// The request types it applies to (all when empty), e.g. `[投诉]`.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub types: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDepartment {
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// `government`, `public-institution`, `public-utility` or `other`.
    #[schemars(with = "String")]
    pub kind: Spanned<String>,
    /// The department's units in districts, counties and development zones (属地承办单位).
    #[serde(default)]
    #[schemars(with = "Vec<RawUnit>")]
    pub units: Vec<Spanned<RawUnit>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRegulation {
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    /// Without 《》.
    #[schemars(with = "String")]
    pub title: Spanned<String>,
    /// e.g. 第四十一条
    #[schemars(with = "String")]
    pub article: Spanned<String>,
    /// Verbatim text of the article.
    #[schemars(with = "String")]
    pub text: Spanned<String>,
    /// The date of the revision quoted (YYYY-MM-DD).
    #[serde(default)]
    pub revision_date: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
}

/// A node of the classification tree: level 1 at the top, `children` below it, and `leaves` as a
/// compact way to list the last level.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCategory {
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    #[serde(default)]
    pub children: Vec<RawCategory>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub leaves: Vec<Spanned<String>>,
    /// Why a city hotline does not dispatch requests of this category (and of everything under
    /// it) to a department: they go through another channel by law. No dispatch rule may file
    /// under it; an out-of-scope matter may.
    #[serde(default)]
    pub not_dispatched: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSettings {
    /// The score a candidate must reach to be acted on.
    #[schemars(with = "f64")]
    pub threshold: Spanned<f64>,
    /// When the best candidate of another department scores within this fraction of the winner,
    /// and the summed scores of each department's matching rules are within it too, the request
    /// goes to manual triage.
    #[schemars(with = "f64")]
    pub margin: Spanned<f64>,
    /// When the rules of another department that matched add up to more than this many times
    /// the support of the winner's department, that department gets the request (unless the
    /// winner has priority 1 or more). Absent: never.
    #[serde(default)]
    #[schemars(with = "Option<f64>")]
    pub support_override: Option<Spanned<f64>>,
    /// When the matching dispatch rules of another domain (the first level of a category) add up
    /// to more than this many times the evidence of the winner's domain, the request is mostly
    /// about something else and goes to manual triage (unless the winner has priority 1 or
    /// more). Absent: never.
    #[serde(default)]
    #[schemars(with = "Option<f64>")]
    pub other_domain_factor: Option<Spanned<f64>>,
    /// Request types with their cue phrases, in order of precedence (the first type with a cue in
    /// the text wins).
    #[serde(default)]
    #[schemars(with = "Vec<RawRequestType>")]
    pub request_types: Vec<Spanned<RawRequestType>>,
    /// The request type when no cue matches.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub default_request_type: Option<Spanned<String>>,
    /// Default time limits per request type.
    #[serde(default)]
    #[schemars(with = "Option<RawTimeLimits>")]
    pub time_limits: Option<Spanned<RawTimeLimits>>,
}

/// The conditions of a rule over the tokens of a request.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConditions {
    /// Every group must match; a group matches when any of its terms does.
    #[serde(default)]
    #[schemars(with = "Vec<Vec<String>>")]
    pub all: Vec<Spanned<Vec<Spanned<String>>>>,
    /// Each distinct term that matches adds to the score. Without `all`, at least one of `any`
    /// or `patterns` must match.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub any: Vec<Spanned<String>>,
    /// If any of these matches, the rule does not fire.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub none: Vec<Spanned<String>>,
    /// Regular expressions over the normalized text, for what terms cannot say (numbers, forms).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub patterns: Vec<Spanned<String>>,
    /// The `all` groups must be matched within this many characters of one another: "正在" and
    /// "打人" in one sentence, not one in a memory and the other in a request.
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub within: Option<Spanned<u32>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    pub topic: String,
    /// Path in the category tree, levels joined by `/`.
    #[schemars(with = "String")]
    pub category: Spanned<String>,
    #[schemars(with = "String")]
    pub department: Spanned<String>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub co_handling: Vec<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub regulations: Vec<Spanned<String>>,
    #[schemars(with = "RawConditions")]
    pub conditions: Spanned<RawConditions>,
    #[serde(default)]
    #[schemars(with = "Option<f64>")]
    pub weight: Option<Spanned<f64>>,
    #[serde(default)]
    pub priority: i32,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub examples: Vec<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub counterexamples: Vec<Spanned<String>>,
    /// A time limit set by law for this rule's matters.
    #[serde(default)]
    #[schemars(with = "Option<RawRuleTimeLimit>")]
    pub time_limit: Option<Spanned<RawRuleTimeLimit>>,
    /// Community matters: in a street or town, the street office or town government handles
    /// them (the department supervises).
    #[serde(default)]
    pub local: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHandoff {
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    /// 110, 119, 120 or 122.
    #[schemars(with = "String")]
    pub line: Spanned<String>,
    pub name: String,
    /// Where such requests sit in the category tree, if the tree has a place for them.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub category: Option<Spanned<String>>,
    #[schemars(with = "RawConditions")]
    pub conditions: Spanned<RawConditions>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub regulations: Vec<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub examples: Vec<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub counterexamples: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOutOfScope {
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    pub name: String,
    /// What to tell the citizen instead.
    pub guidance: String,
    /// Where such requests sit in the category tree (level 1 / level 2 / level 3), if they do:
    /// matters for courts, discipline bodies or reconsideration have categories of their own.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub category: Option<Spanned<String>>,
    #[schemars(with = "RawConditions")]
    pub conditions: Spanned<RawConditions>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub regulations: Vec<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<f64>")]
    pub weight: Option<Spanned<f64>>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub examples: Vec<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub counterexamples: Vec<Spanned<String>>,
}
