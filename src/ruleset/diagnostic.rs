//! Diagnostics for rule authors: every problem found while loading a rule set, with the place in
//! the file and a message that says what to fix.
//!
//! Modelled on cedar-policy's validator: loading collects *all* problems rather than stopping at
//! the first, messages are lowercase and name the offending input in quotes, and where the input
//! is probably a typo of something that exists, the message ends with a "did you mean" suggestion.

use std::fmt;

/// How bad a diagnostic is. Errors stop a rule set from loading; warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

macro_rules! codes {
    ($($variant:ident = $code:literal $name:literal $help:literal;)*) => {
        /// The stable code of a diagnostic: `E…` for errors, `W…` for warnings. Codes never change
        /// meaning and are never reused; `docs/rules.md` lists each with what to do about it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $($variant,)* }

        impl Code {
            /// Every code, in the order of `docs/rules.md`.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// `E0201`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// `unknown-department`.
            pub fn name(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// What a rule author does about it.
            pub fn help(self) -> &'static str {
                match self { $(Code::$variant => $help,)* }
            }
        }
    };
}

codes! {
    // Files and YAML.
    Unreadable = "E0101" "unreadable-file" "check the path and the file's permissions";
    NotUtf8 = "E0102" "not-utf8" "save the file as UTF-8 (not GBK)";
    FileTooLarge = "E0103" "file-too-large" "split the file into several files";
    TooManyFiles = "E0104" "too-many-files" "merge rule files, or point --rules at a smaller directory";
    NoRuleFiles = "E0105" "no-rule-files" "point --rules at the directory that holds the *.yaml rule files";
    YamlSyntax = "E0106" "yaml-syntax" "fix the YAML at this place (indentation, quotes, brackets)";
    UnknownField = "E0107" "unknown-field" "correct the key's spelling, or remove it";
    NoDispatchRules = "E0108" "no-dispatch-rules" "point --rules at the directory that holds the department rule files, or add rules that name a department";
    EmptyFile = "E0109" "empty-file" "restore the file's rules, or delete the file if they are meant to go";
    HandoffLineDropped = "E0110" "handoff-line-dropped" "restore the hand-offs (handoffs.yaml in the bundled rules); to stop a line on purpose, restart the server with the new rules";
    MissingField = "E0111" "missing-field" "add the field the message names (docs/rules.md lists the fields of each section)";
    WrongType = "E0112" "wrong-type" "write the kind of value the message asks for: a number, a list, or text (in quotes when it holds \": \" or starts with @, *, &, !, %)";
    // References.
    UnknownDepartment = "E0201" "unknown-department" "use the id of a department listed under `departments`";
    UnknownRegulation = "E0202" "unknown-regulation" "use the id (title/article) of an article listed under `regulations`";
    UnknownCategory = "E0203" "unknown-category" "use a path of the category tree, levels joined by `/`";
    UnknownPlace = "E0204" "unknown-place" "use the id of a place listed under `places`";
    UnknownRequestType = "E0205" "unknown-request-type" "use one of 咨询, 求助, 投诉, 举报, 建议, 表扬";
    UnknownKind = "E0206" "unknown-kind" "use one of the kinds the message lists";
    // Ids.
    DuplicateId = "E0301" "duplicate-id" "give each department, regulation, rule and place its own id";
    InvalidId = "E0302" "invalid-id" "write ids in lowercase ASCII letters, digits and '-'";
    DuplicateEntry = "E0303" "duplicate-entry" "list each entry once";
    // Conditions.
    NoConditions = "E0401" "no-conditions" "give the rule `all`, `any` or `patterns` under `conditions`";
    EmptyGroup = "E0402" "empty-group" "remove the empty `all` group or add terms to it";
    InvalidPattern = "E0403" "invalid-pattern" "fix the regular expression (see the message)";
    PatternMatchesEmpty = "E0404" "pattern-matches-empty" "make the pattern require at least one character";
    BadTerm = "E0405" "bad-term" "remove empty terms, shorten long ones to a word or phrase, and separate terms with ASCII commas";
    BadWithin = "E0406" "bad-within" "give `within` only with two or more `all` groups, as a number of characters";
    TooManyGroups = "E0407" "too-many-groups" "split the rule: a rule has at most 32 `all` groups";
    SynonymConflict = "E0408" "synonym-conflict" "merge the two synonym groups into one";
    // Values.
    OutOfRange = "E0501" "out-of-range" "use a value in the range the message gives";
    MissingSettings = "E0502" "missing-settings" "add one `settings` section with `threshold` and `margin`";
    DuplicateSettings = "E0503" "duplicate-settings" "keep one `settings` section in one file";
    BadArticle = "E0504" "bad-article" "write the article as 第…条, the title without 《》, and quote its text verbatim";
    NoGround = "E0505" "no-ground" "cite at least one article under `regulations`";
    NotDispatched = "E0506" "not-dispatched" "file the rule under another category, or make it an out-of-scope matter";
    BadLine = "E0507" "bad-line" "a hand-off goes to 110, 119, 120 or 122";
    SelfCoHandling = "E0508" "self-co-handling" "remove the rule's own department from `co_handling`";
    EmptyValue = "E0509" "empty-value" "write the missing name, text or reason";
    // Places and dates.
    BadDate = "E0601" "bad-date" "write dates as YYYY-MM-DD within the year they are listed under";
    HolidayAndWorkday = "E0602" "holiday-and-workday" "list the day either as a holiday or as a working day";
    AmbiguousPlaceName = "E0603" "ambiguous-place-name" "give each place its own names and aliases";
    BadParent = "E0604" "bad-parent" "a street or town names its district or county as `parent`";
    BadUnit = "E0605" "bad-unit" "give a department one unit per district, county or development zone";
    // Examples.
    ExampleFails = "E0701" "example-fails" "change the rule or the example until `hotline-router test` passes";
    // The classifier.
    BadModel = "E0801" "bad-model" "retrain the model with `hotline-router train` (docs/accuracy.md gives the command) or remove the file";
    // The compiled set.
    TooLarge = "E0901" "rule-set-too-large" "the rule set's terms and patterns are over the matcher's size limit; remove some";
    // Warnings.
    SingleCharTerm = "W0101" "single-character-term" "prefer a word of two or more characters";
    SmallSynonymGroup = "W0102" "small-synonym-group" "a synonym group needs at least two terms";
    NoExamples = "W0103" "no-examples" "add sentences a citizen would say under `examples`";
    WeekdayWorkday = "W0104" "weekday-workday" "`workdays` lists weekend days that are worked (调休); remove weekdays";
    UnusedHandoffsNone = "W0105" "unused-handoffs-none" "move `handoffs_none` into the file of the hand-offs it is for";
    UngatedPattern = "W0106" "ungated-pattern" "begin or end the pattern with fixed words (a literal alternation such as `(很大|呛人)` counts)";
    MissingHandoffLine = "W0107" "missing-handoff-line" "restore the hand-offs of the lines the message names (handoffs.yaml in the bundled rules)";
    FoldedExample = "W0108" "folded-example" "start every example's `-` at the same column as the others";
    UnusedHandoffsTurn = "W0109" "unused-handoffs-turn" "move `handoffs_turn`, `handoffs_background` and `handoffs_now` into the file of the hand-offs they are for";
    UnnormalizedPattern = "W0110" "unnormalized-pattern" "write the characters as the message gives them: requests are matched after normalization (simplified characters, half-width punctuation, lowercase)";
}

/// What a diagnostic's finding rests on, for a rule set some of whose files could not be read
/// or parsed: whether it still holds whatever those files hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    /// Found within what was read (a bad term, a duplicate id, a date): it stands.
    Local,
    /// An id looked up in a top-level section (`departments`, …): the unread file may define it.
    Section(&'static str),
    /// The whole set (its examples, its hand-off lines, its size): unknown until every file reads.
    WholeSet,
}

impl Code {
    /// See [`Reach`]. Exhaustive on purpose: a new code must say what it rests on.
    pub(crate) fn reach(self) -> Reach {
        use Code::*;
        match self {
            UnknownDepartment => Reach::Section("departments"),
            UnknownRegulation => Reach::Section("regulations"),
            UnknownCategory | NotDispatched => Reach::Section("categories"),
            UnknownPlace | BadParent => Reach::Section("places"),
            MissingSettings => Reach::Section("settings"),
            NoDispatchRules | HandoffLineDropped | MissingHandoffLine | ExampleFails | BadModel
            | TooLarge => Reach::WholeSet,
            Unreadable | NotUtf8 | FileTooLarge | TooManyFiles | NoRuleFiles | YamlSyntax
            | UnknownField | EmptyFile | MissingField | WrongType | UnknownRequestType
            | UnknownKind | DuplicateId | InvalidId | DuplicateEntry | NoConditions
            | EmptyGroup | InvalidPattern | PatternMatchesEmpty | BadTerm | BadWithin
            | TooManyGroups | SynonymConflict | OutOfRange | DuplicateSettings | BadArticle
            | NoGround | BadLine | SelfCoHandling | EmptyValue | BadDate | HolidayAndWorkday
            | AmbiguousPlaceName | BadUnit | SingleCharTerm | SmallSynonymGroup | NoExamples
            | WeekdayWorkday | UnusedHandoffsNone | UnusedHandoffsTurn | UngatedPattern
            | UnnormalizedPattern | FoldedExample => Reach::Local,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A position in a rule file: path relative to the rules directory, 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
pub struct SourceLocation {
    pub file: String,
    pub line: u32,
    pub column: u32,
}

impl SourceLocation {
    pub(crate) fn new(file: &str, loc: serde_saphyr::Location) -> Self {
        SourceLocation {
            file: file.to_owned(),
            line: u32::try_from(loc.line()).unwrap_or(u32::MAX),
            column: u32::try_from(loc.column()).unwrap_or(u32::MAX),
        }
    }

    /// Where a spanned value of `file` is written.
    pub(crate) fn of<T>(file: &str, s: &serde_saphyr::Spanned<T>) -> Self {
        Self::new(file, s.referenced)
    }

    pub fn file_start(file: &str) -> Self {
        SourceLocation {
            file: file.to_owned(),
            line: 1,
            column: 1,
        }
    }
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// One problem in a rule set: where, how bad, which kind (a stable code), what exactly, and what
/// to do about it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Diagnostic {
    pub location: SourceLocation,
    pub severity: Severity,
    pub code: Code,
    pub message: String,
}

impl Diagnostic {
    /// What to do about it (the code's help line).
    pub fn help(&self) -> &'static str {
        self.code.help()
    }
}

/// `file:line:column: error[E0201]: message` (rustc's shape), then the help line.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}[{}]: {}\n  help: {}",
            self.location,
            self.severity.as_str(),
            self.code,
            self.message,
            self.help()
        )
    }
}

/// The machine-readable form (`check --format json`, `GetRuleSet.lastLoadErrors`).
impl serde::Serialize for Diagnostic {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Diagnostic", 8)?;
        st.serialize_field("code", self.code.as_str())?;
        st.serialize_field("name", self.code.name())?;
        st.serialize_field("severity", &self.severity)?;
        st.serialize_field("file", &self.location.file)?;
        st.serialize_field("line", &self.location.line)?;
        st.serialize_field("column", &self.location.column)?;
        st.serialize_field("message", &self.message)?;
        st.serialize_field("help", self.help())?;
        st.end()
    }
}

/// Collects diagnostics while a rule set is validated.
#[derive(Debug, Default)]
pub(crate) struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn error(&mut self, code: Code, location: SourceLocation, message: impl Into<String>) {
        self.push(Severity::Error, code, location, message.into());
    }

    pub fn warning(&mut self, code: Code, location: SourceLocation, message: impl Into<String>) {
        self.push(Severity::Warning, code, location, message.into());
    }

    fn push(&mut self, severity: Severity, code: Code, location: SourceLocation, message: String) {
        self.items.push(Diagnostic {
            location,
            severity,
            code,
            message,
        });
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    /// Whether any error has one of `codes`.
    pub(crate) fn has_error_of(&self, codes: &[Code]) -> bool {
        self.items
            .iter()
            .any(|d| d.severity == Severity::Error && codes.contains(&d.code))
    }

    pub(crate) fn extend(&mut self, items: impl IntoIterator<Item = Diagnostic>) {
        self.items.extend(items);
    }

    /// All diagnostics, sorted by file, line and column so that output is stable.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.items.sort();
        self.items.dedup();
        self.items
    }
}

/// `; did you mean "x"?` for the closest of `candidates` to `input`, or the empty string when
/// nothing is close. Closeness is normalized Levenshtein similarity over characters, which
/// works for both ASCII ids (`housng` → `housing`) and Chinese names (`物业条例` → `物业管理条例`).
pub(crate) fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    match closest(input, candidates) {
        Some(c) => format!("; did you mean \"{c}\"?"),
        None => String::new(),
    }
}

/// How alike two names are, 0 to 1: normalized Levenshtein similarity over characters, at least
/// 0.7 when one holds the other as a real part of it.
pub(crate) fn similarity(input: &str, c: &str) -> f64 {
    let score = strsim::normalized_levenshtein(input, c);
    // Substring containment is a strong hint for Chinese names and path fragments, when the
    // contained string is a real part of the other (not one letter of a longer id).
    let (short, long) = if input.chars().count() <= c.chars().count() {
        (input, c)
    } else {
        (c, input)
    };
    let (ns, nl) = (short.chars().count(), long.chars().count());
    let contained = ns >= 2 && ns * 5 >= nl * 2 && long.contains(short);
    if contained { score.max(0.7) } else { score }
}

/// The closest of `candidates` to `input` (see [`did_you_mean`]), or `None` when nothing is close.
pub(crate) fn closest<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = similarity(input, c);
        if score >= 0.5 && best.is_none_or(|(b, bc)| score > b || (score == b && c < bc)) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_closest_ascii_and_chinese() {
        assert_eq!(
            did_you_mean("housng", ["housing", "health", "hrss"]),
            "; did you mean \"housing\"?"
        );
        assert_eq!(
            did_you_mean(
                "物业条例/第四十一条",
                ["物业管理条例/第四十一条", "民法典/第九百四十四条"]
            ),
            "; did you mean \"物业管理条例/第四十一条\"?"
        );
        assert_eq!(did_you_mean("zzzz", ["housing"]), "");
        // One letter of a longer id is no suggestion.
        assert_eq!(did_you_mean("gaoxin", ["a", "b"]), "");
    }

    #[test]
    fn diagnostics_sort_by_place() {
        let mut d = Diagnostics::default();
        d.error(
            Code::YamlSyntax,
            SourceLocation {
                file: "b.yaml".into(),
                line: 1,
                column: 1,
            },
            "x",
        );
        d.error(
            Code::YamlSyntax,
            SourceLocation {
                file: "a.yaml".into(),
                line: 9,
                column: 1,
            },
            "y",
        );
        d.warning(
            Code::NoExamples,
            SourceLocation {
                file: "a.yaml".into(),
                line: 2,
                column: 3,
            },
            "z",
        );
        let v = d.into_sorted();
        assert_eq!(
            v[0].to_string(),
            "a.yaml:2:3: warning[W0103]: z\n  help: add sentences a citizen would say under `examples`"
        );
        assert_eq!(v[2].location.file, "b.yaml");
    }
}

#[cfg(test)]
mod code_tests {
    use super::Code;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_str()), "{} twice", c.as_str());
            assert!(seen.insert(c.name()), "{} twice", c.name());
            let s = c.as_str();
            assert!(
                s.len() == 5 && (s.starts_with('E') || s.starts_with('W')),
                "{s}"
            );
            assert!(!c.help().is_empty());
        }
    }

    /// A rule author looks a code up in the guide's table.
    #[test]
    fn every_code_has_a_row_in_the_authors_guide() {
        let guide = include_str!("../../docs/rules.md");
        for c in Code::ALL {
            let row = format!("| `{}` | `{}` |", c.as_str(), c.name());
            assert!(guide.contains(&row), "docs/rules.md has no row {row}");
        }
    }
}
