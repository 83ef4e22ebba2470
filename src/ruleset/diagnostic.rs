//! Diagnostics for rule authors: every problem found while loading a rule set, with the place in
//! the file and a message that says what to fix.
//!
//! Modelled on cedar-policy's validator: loading collects *all* problems rather than stopping at
//! the first, messages are lowercase and name the offending input in quotes, and where the input
//! is probably a typo of something that exists, the message ends with a "did you mean" suggestion.

use std::fmt;

/// How bad a diagnostic is. Errors stop a rule set from loading; warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

/// A position in a rule file: path relative to the rules directory, 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
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

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Diagnostic {
    pub location: SourceLocation,
    pub severity: Severity,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            self.location,
            self.severity.as_str(),
            self.message
        )
    }
}

/// Collects diagnostics while a rule set is validated.
#[derive(Debug, Default)]
pub(crate) struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn error(&mut self, location: SourceLocation, message: impl Into<String>) {
        self.items.push(Diagnostic {
            location,
            severity: Severity::Error,
            message: message.into(),
        });
    }

    pub fn warning(&mut self, location: SourceLocation, message: impl Into<String>) {
        self.items.push(Diagnostic {
            location,
            severity: Severity::Warning,
            message: message.into(),
        });
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
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
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
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
        let score = if contained { score.max(0.7) } else { score };
        if score >= 0.5 && best.is_none_or(|(b, bc)| score > b || (score == b && c < bc)) {
            best = Some((score, c));
        }
    }
    match best {
        Some((_, c)) => format!("; did you mean \"{c}\"?"),
        None => String::new(),
    }
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
            SourceLocation {
                file: "b.yaml".into(),
                line: 1,
                column: 1,
            },
            "x",
        );
        d.error(
            SourceLocation {
                file: "a.yaml".into(),
                line: 9,
                column: 1,
            },
            "y",
        );
        d.warning(
            SourceLocation {
                file: "a.yaml".into(),
                line: 2,
                column: 3,
            },
            "z",
        );
        let v = d.into_sorted();
        assert_eq!(v[0].to_string(), "a.yaml:2:3: warning: z");
        assert_eq!(v[2].location.file, "b.yaml");
    }
}
