//! The rule files as written: the serde types of the YAML a rule author edits.
//!
//! This layer only describes shape. It knows nothing about references between files, term
//! normalization or scoring; `validate/` turns a set of these into a validated [`RuleSet`]
//! (ripgrep's raw config → validated config → execution layering). Every value whose position a
//! diagnostic may need to point at is wrapped in [`Sp`] (serde-saphyr's `Spanned`), and every
//! struct denies unknown fields, so that a misspelt key (`departmnet:`) is an error with a
//! location instead of a silently ignored line.
//!
//! Field names here are the rule author's vocabulary and must stay in step with the proto and with
//! `docs/rules.md`: department, regulation, category, rule, example.
//!
//! [`RuleSet`]: super::RuleSet

use schemars::JsonSchema;
use serde::Deserialize;
use std::borrow::Cow;

use serde_saphyr::Spanned;

/// A value with the place it is written at (serde-saphyr's `Spanned`), whose JSON Schema is the
/// value's own: rule authors' editors see a string where the file has a string.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub(crate) struct Sp<T>(pub Spanned<T>);

impl<T> std::ops::Deref for Sp<T> {
    type Target = Spanned<T>;
    fn deref(&self) -> &Spanned<T> {
        &self.0
    }
}

impl<T: JsonSchema> JsonSchema for Sp<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

/// One YAML file under the rules directory. Every section is optional; the sections of all files
/// are merged into one rule set, so authors can split rules by department or topic.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    #[serde(default)]
    pub departments: Vec<Sp<RawDepartment>>,
    #[serde(default)]
    pub regulations: Vec<Sp<RawRegulation>>,
    #[serde(default)]
    pub categories: Vec<RawCategory>,
    /// Groups of interchangeable terms: wherever a rule names one, all of the group match.
    #[serde(default)]
    pub synonyms: Vec<Sp<Vec<Sp<String>>>>,
    #[serde(default)]
    pub settings: Option<Sp<RawSettings>>,
    #[serde(default)]
    pub rules: Vec<Sp<RawRule>>,
    /// Emergencies handed off to 110 / 119 / 120 / 122. They take precedence over every rule.
    #[serde(default)]
    pub handoffs: Vec<Sp<RawHandoff>>,
    /// Terms that keep every hand-off of this file from firing, as if each hand-off's `none`
    /// listed them: the words of a past event, a consultation or a complaint, which no
    /// emergency of any kind is.
    #[serde(default)]
    pub handoffs_none: Vec<Sp<String>>,
    /// Phrases with which a caller turns from the background to something new happening now
    /// (结果刚才, 就刚才 …): a `none` term of this file's hand-offs that ends before the last of them
    /// in a request does not stop the hand-off ("我投诉过好几次物业不管事，结果现在真烧起来了" is a
    /// fire); one after it still does.
    #[serde(default)]
    pub handoffs_turn: Vec<Sp<String>>,
    /// Phrases that open background (本来是想, 我想问问 …): the text up to the end of the sentence
    /// they stand in (。！？； or ……) is background for this file's hand-offs, whose `none` terms and
    /// evidence there do not count ("我本来想问热水器维修的……我家孩子刚才打翻了一锅开水" is a scald;
    /// "我想问问，燃气泄漏了应该怎么办。" is a question). Without a sentence end after it, only what
    /// precedes the opener is (see `engine/score.rs`, `turn_at`).
    #[serde(default)]
    pub handoffs_background: Vec<Sp<String>>,
    /// Words with which a caller starts telling what is happening now (现在, 刚才, 刚刚 …): when
    /// one stands at the start of a sentence or clause (after 。！？；，： or a space, or at the
    /// start of the text) and the evidence of one of this file's hand-offs begins there or after
    /// it, that hand-off's `none` terms before the word do not stop it ("我是住在国道边上的村民，
    /// 我们去年就申请装红绿灯，一直没批下来。刚刚我家门口又出事了……" is a crash, whatever 去年 says).
    /// Vetoes after the word still count, and so do vetoes before it when the evidence begins
    /// earlier (see `engine/score.rs`, `now_from`).
    #[serde(default)]
    pub handoffs_now: Vec<Sp<String>>,
    /// Matters the hotline does not take: the citizen is told where to go instead.
    #[serde(default)]
    pub out_of_scope: Vec<Sp<RawOutOfScope>>,
    /// The gazetteer: the city's districts, counties, development zones, streets and towns.
    #[serde(default)]
    pub places: Vec<Sp<RawPlace>>,
    /// Working-day calendar, one entry per year.
    #[serde(default)]
    pub calendar: Vec<Sp<RawCalendarYear>>,
}

impl RawFile {
    /// Adds the file's `handoffs_none` to the `none` of each of its hand-offs, and its
    /// `handoffs_turn`, `handoffs_background` and `handoffs_now` to their (unwritten) `turn`,
    /// `background` and `now`, so that the validator, the matcher and the
    /// explanations see one list per hand-off, each term with the place it is written at.
    pub(crate) fn share_handoffs_lists(&mut self) {
        for h in &mut self.handoffs {
            let c = &mut h.0.value.conditions.0.value;
            c.none.extend(self.handoffs_none.iter().cloned());
            c.turn.extend(self.handoffs_turn.iter().cloned());
            c.background
                .extend(self.handoffs_background.iter().cloned());
            c.now.extend(self.handoffs_now.iter().cloned());
        }
    }
}

/// A place of the city: a district (区), county (县), development zone (开发区), street (街道) or
/// town (乡镇).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPlace {
    pub id: Sp<String>,
    pub name: String,
    /// `district`, `county`, `development-zone`, `street` or `town`.
    pub kind: Sp<String>,
    /// Other names people use, e.g. 高新区 for 高新技术产业开发区.
    #[serde(default)]
    pub aliases: Vec<Sp<String>>,
    /// For streets and towns: the id of the district or county they belong to.
    #[serde(default)]
    pub parent: Option<Sp<String>>,
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
    pub place: Sp<String>,
    /// The unit's name, e.g. 高新区建设局.
    pub name: String,
}

/// One year of the working-day calendar: public holidays and adjusted working days (调休).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCalendarYear {
    pub year: Sp<i32>,
    /// Days off that would otherwise be working days (YYYY-MM-DD).
    #[serde(default)]
    pub holidays: Vec<Sp<String>>,
    /// Weekend days that are working days (调休上班), YYYY-MM-DD.
    #[serde(default)]
    pub workdays: Vec<Sp<String>>,
    /// The notice the dates come from (for the people who maintain the file; not used in routing).
    #[serde(default)]
    #[allow(dead_code)]
    pub source: Option<String>,
}

/// The cue phrases of one request type (咨询 / 求助 / 投诉 / 举报 / 建议 / 表扬).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRequestType {
    pub r#type: Sp<String>,
    pub cues: Vec<Sp<String>>,
}

/// Default time limits, in working days, per request type.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTimeLimits {
    /// The rule the defaults come from, e.g. 潍坊市12345政务服务便民热线条例 第二十条.
    pub basis: String,
    pub working_days: Vec<Sp<RawTypeDays>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTypeDays {
    pub r#type: Sp<String>,
    pub days: u32,
}

/// A time limit set by law for one rule's matters, overriding the defaults.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRuleTimeLimit {
    pub days: u32,
    /// The articles that set it.
    pub regulations: Vec<Sp<String>>,
    /// The request types it applies to (all when empty), e.g. `[投诉]`.
    #[serde(default)]
    pub types: Vec<Sp<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDepartment {
    pub id: Sp<String>,
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// `government`, `public-institution`, `public-utility` or `other`.
    pub kind: Sp<String>,
    /// The department's units in districts, counties and development zones (属地承办单位).
    #[serde(default)]
    pub units: Vec<Sp<RawUnit>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRegulation {
    pub id: Sp<String>,
    /// Without 《》.
    pub title: Sp<String>,
    /// e.g. 第四十一条
    pub article: Sp<String>,
    /// Verbatim text of the article.
    pub text: Sp<String>,
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
    pub name: Sp<String>,
    #[serde(default)]
    pub children: Vec<RawCategory>,
    #[serde(default)]
    pub leaves: Vec<Sp<String>>,
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
    pub threshold: Sp<f64>,
    /// When the best candidate of another department scores within this fraction of the winner,
    /// and the summed scores of each department's matching rules are within it too, the request
    /// goes to manual triage.
    pub margin: Sp<f64>,
    /// When the rules of another department that matched add up to more than this many times
    /// the support of the winner's department, that department gets the request (unless the
    /// winner has priority 1 or more). Absent: never.
    #[serde(default)]
    pub support_override: Option<Sp<f64>>,
    /// When the matching dispatch rules of another domain (the first level of a category) add up
    /// to more than this many times the evidence of the winner's domain, the request is mostly
    /// about something else and goes to manual triage (unless the winner has priority 1 or
    /// more). Absent: never.
    #[serde(default)]
    pub other_domain_factor: Option<Sp<f64>>,
    /// Request types with their cue phrases, in order of precedence (the first type with a cue in
    /// the text wins).
    #[serde(default)]
    pub request_types: Vec<Sp<RawRequestType>>,
    /// The request type when no cue matches.
    #[serde(default)]
    pub default_request_type: Option<Sp<String>>,
    /// Default time limits per request type.
    #[serde(default)]
    pub time_limits: Option<Sp<RawTimeLimits>>,
    /// How the classifier (`classifier.model` beside the rules) informs decisions. Without it:
    /// suggestions only.
    #[serde(default)]
    pub model: Option<Sp<RawModelSettings>>,
}

/// The classifier's part in a decision.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawModelSettings {
    /// When the rules dispatch but the classifier gives their domain less than `below` and
    /// another domain at least `above`, the request goes to manual triage. Absent: never.
    #[serde(default)]
    pub cross_check: Option<Sp<RawCrossCheck>>,
    /// How many suggestions a manual decision carries (0 to 5; default 3).
    #[serde(default)]
    pub suggestions: Option<Sp<u32>>,
    /// When no rule fires and the classifier gives one domain at least this probability, that
    /// domain's fallback rule decides. Absent: never.
    #[serde(default)]
    pub fallback: Option<Sp<f64>>,
    /// When the rules cannot choose between two dispatch rules of different departments (their
    /// scores and supports too close, or another domain's evidence outweighing the winner's)
    /// and the classifier gives one of their domains at least this probability, that rule
    /// decides. Absent: never.
    #[serde(default)]
    pub tie_break: Option<Sp<f64>>,
    /// When the rules do not hand a request off and the emergency check (`emergency.model`
    /// beside the rules) gives "an emergency" at least this probability, the request goes to
    /// manual triage at once, flagged as a possible emergency. Absent: the check is off.
    #[serde(default)]
    pub emergency: Option<Sp<f64>>,
    /// When the rules hand a request off and the emergency check gives "an emergency" below this
    /// probability, the hand-off stands (the rules decide emergencies) but says that the check
    /// doubts it, so that an operator confirms with the caller before transferring. Absent: off.
    #[serde(default)]
    pub handoff_doubt: Option<Sp<f64>>,
}

/// The two probabilities of the cross-check.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCrossCheck {
    pub below: Sp<f64>,
    pub above: Sp<f64>,
    /// `flag` (default): keep the dispatch, halve its confidence and say why in the reason;
    /// `manual`: send it to manual triage.
    #[serde(default)]
    pub action: Option<Sp<String>>,
}

/// The conditions of a rule over the tokens of a request.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawConditions {
    /// Every group must match; a group matches when any of its terms does.
    pub all: Vec<Sp<Vec<Sp<String>>>>,
    /// Each distinct term that matches adds to the score. Without `all`, at least one of `any`
    /// or `patterns` must match.
    pub any: Vec<Sp<String>>,
    /// If any of these matches, the rule does not fire.
    pub none: Vec<Sp<String>>,
    /// Regular expressions over the normalized text, for what terms cannot say (numbers, forms).
    pub patterns: Vec<Sp<String>>,
    /// The `all` groups must be matched within this many characters of one another: "正在" and
    /// "打人" in one sentence, not one in a memory and the other in a request.
    pub within: Option<Sp<u32>>,
    /// A hand-off's turn phrases, from its file's `handoffs_turn` (not written per rule).
    #[serde(skip)]
    #[schemars(skip)]
    pub turn: Vec<Sp<String>>,
    /// A hand-off's background openers, from its file's `handoffs_background`.
    #[serde(skip)]
    #[schemars(skip)]
    pub background: Vec<Sp<String>>,
    /// A hand-off's words of the present, from its file's `handoffs_now`.
    #[serde(skip)]
    #[schemars(skip)]
    pub now: Vec<Sp<String>>,
}

/// Defines the struct of a section whose entries are rules (`rules`, `handoffs`, `out_of_scope`):
/// its own fields, then the fields every rule has, written once here.
macro_rules! rule_section {
    ($(#[$meta:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct $name {
            /// Lowercase ASCII letters, digits and '-'; unique among all rules.
            pub id: Sp<String>,
            $($(#[$fm])* pub $field: $ty,)*
            /// The conditions over the request's words.
            pub conditions: Sp<RawConditions>,
            /// The articles the decision rests on (ids of `regulations`).
            #[serde(default)]
            pub regulations: Vec<Sp<String>>,
            /// Sentences a citizen would say that this rule must win.
            #[serde(default)]
            pub examples: Vec<Sp<String>>,
            /// Sentences this rule must not win.
            #[serde(default)]
            pub counterexamples: Vec<Sp<String>>,
        }
    };
}

rule_section! {
    /// A dispatch rule: requests it wins go to `department`.
    RawRule {
        topic: String,
        /// Path in the category tree, levels joined by `/`.
        category: Sp<String>,
        department: Sp<String>,
        #[serde(default)]
        co_handling: Vec<Sp<String>>,
        #[serde(default)]
        weight: Option<Sp<f64>>,
        #[serde(default)]
        priority: i32,
        /// A time limit set by law for this rule's matters.
        #[serde(default)]
        time_limit: Option<Sp<RawRuleTimeLimit>>,
        /// Community matters: in a street or town, the street office or town government handles
        /// them (the department supervises).
        #[serde(default)]
        local: bool,
    }
}

rule_section! {
    /// An emergency, handed off to `line`.
    RawHandoff {
        /// 110, 119, 120 or 122.
        line: Sp<String>,
        name: String,
        /// Where such requests sit in the category tree, if the tree has a place for them.
        #[serde(default)]
        category: Option<Sp<String>>,
        /// Scales the score.
        #[serde(default)]
        weight: Option<Sp<f64>>,
        /// When several hand-offs fire, the one of the highest priority gives the primary line,
        /// the highest score among equals; the others become co-lines (a crash with people hurt:
        /// 122, with 120). Default 0.
        #[serde(default)]
        priority: i32,
        /// Whether the emergency check may doubt this hand-off (`settings.model.handoff_doubt`):
        /// `false` for emergencies whose transfer a question to the caller must never delay,
        /// such as a threat of suicide, whatever the check makes of the wording.
        #[serde(default = "yes")]
        doubt: bool,
    }
}

/// serde's default of a field that is on unless switched off.
fn yes() -> bool {
    true
}

rule_section! {
    /// A matter the hotline does not take: the citizen is told where to go instead.
    RawOutOfScope {
        name: String,
        /// What to tell the citizen instead.
        guidance: String,
        /// Where such requests sit in the category tree (level 1 / level 2 / level 3), if they
        /// do: matters for courts, discipline bodies or reconsideration have categories of their
        /// own.
        #[serde(default)]
        category: Option<Sp<String>>,
        #[serde(default)]
        weight: Option<Sp<f64>>,
    }
}

/// A section whose entries have ids that other sections refer to (see `ids::define_section`).
pub(crate) trait Section: Sized + 'static {
    /// What the ids name, in messages: "department".
    const WHAT: &'static str;
    /// The code of a reference to an id that is not defined.
    const UNKNOWN: super::Code;
    /// The section's entries in one file.
    fn entries(file: &RawFile) -> &[Sp<Self>];
    /// The entry's id.
    fn id(&self) -> &Sp<String>;
}

macro_rules! section {
    ($raw:ty, $field:ident, $what:literal, $unknown:ident) => {
        impl Section for $raw {
            const WHAT: &'static str = $what;
            const UNKNOWN: super::Code = super::Code::$unknown;
            fn entries(file: &RawFile) -> &[Sp<Self>] {
                &file.$field
            }
            fn id(&self) -> &Sp<String> {
                &self.id
            }
        }
    };
}

section!(RawDepartment, departments, "department", UnknownDepartment);
section!(RawRegulation, regulations, "regulation", UnknownRegulation);
section!(RawPlace, places, "place", UnknownPlace);
