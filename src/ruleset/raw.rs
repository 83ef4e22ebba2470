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
    #[serde(default)]
    pub revision: Option<String>,
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
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSettings {
    /// The score a candidate must reach to be acted on.
    #[schemars(with = "f64")]
    pub threshold: Spanned<f64>,
    /// When the best candidate of another department scores within this fraction of the winner,
    /// the request goes to manual triage.
    #[schemars(with = "f64")]
    pub margin: Spanned<f64>,
    #[serde(default)]
    #[schemars(with = "Vec<RawEmergency>")]
    pub emergency: Vec<Spanned<RawEmergency>>,
    #[serde(default)]
    #[schemars(with = "Vec<RawOutOfScope>")]
    pub out_of_scope: Vec<Spanned<RawOutOfScope>>,
}

/// The conditions of a rule over the tokens of a request.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMatch {
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
    #[serde(rename = "match")]
    #[schemars(with = "RawMatch")]
    pub conditions: Spanned<RawMatch>,
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
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEmergency {
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    /// 110, 119, 120 or 122.
    #[schemars(with = "String")]
    pub line: Spanned<String>,
    pub name: String,
    #[serde(rename = "match")]
    #[schemars(with = "RawMatch")]
    pub conditions: Spanned<RawMatch>,
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
    #[serde(rename = "match")]
    #[schemars(with = "RawMatch")]
    pub conditions: Spanned<RawMatch>,
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
