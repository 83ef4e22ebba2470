//! Reading a rules directory: files, limits, YAML parsing and the rule-set version.
//!
//! Rule files are edited by people and reloaded into a running server, so this layer treats them
//! as untrusted input: each file is size-capped before it is parsed, must be UTF-8, and is parsed
//! under serde-saphyr's budget (nesting depth, node count, alias expansion), so that deep nesting
//! or an alias bomb is an error with a location instead of a hung or exhausted process.
//!
//! A file that fails to parse is reported and the other files are still parsed, so an author sees
//! the problems of every file in one go. The set is only built when there are no errors at all:
//! never half-loaded.

use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::RuleSet;
use super::diagnostic::{Code, Diagnostic, Diagnostics, Reach, Severity, SourceLocation};
use super::raw::RawFile;

/// Largest rule file accepted, in bytes.
pub const MAX_FILE_BYTES: u64 = 8 << 20;
/// Most rule files in one directory tree.
pub const MAX_FILES: usize = 2_000;

/// A rule set that could not be loaded, with every diagnostic found (errors and warnings).
#[derive(Debug, Clone)]
pub struct LoadError {
    pub diagnostics: Vec<Diagnostic>,
}

impl LoadError {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors().count();
        writeln!(
            f,
            "rule set not loaded: {n} error{}",
            if n == 1 { "" } else { "s" }
        )?;
        for d in &self.diagnostics {
            writeln!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

/// A parsed rule file.
pub(crate) struct SourceFile {
    /// Path relative to the rules directory, with `/` separators.
    pub name: String,
    pub raw: RawFile,
}

/// Loads, validates and compiles every `*.yaml` / `*.yml` file under `dir`, then runs every
/// rule's examples. Succeeds only if there is no error; warnings travel with the rule set.
/// This is what the server and `route` use: a set whose examples fail is not served.
pub fn load_dir(dir: &Path) -> Result<RuleSet, LoadError> {
    super::examples::require_examples_pass(compile_dir(dir)?)
}

/// Like [`load_dir`] but without running the examples (for `hotline-router test`, which reports
/// them one by one).
pub fn compile_dir(dir: &Path) -> Result<RuleSet, LoadError> {
    compile_dir_with(dir, true)
}

/// [`compile_dir`] leaving out the models beside the rules: for `hotline-router train`, which
/// needs the rules' examples and makes a model, and must work when the old one cannot be read
/// (trained with features of another version).
pub(crate) fn compile_dir_without_models(dir: &Path) -> Result<RuleSet, LoadError> {
    compile_dir_with(dir, false)
}

fn compile_dir_with(dir: &Path, models: bool) -> Result<RuleSet, LoadError> {
    let mut diags = Diagnostics::default();
    let dir_name = dir.display().to_string();
    let paths = match list_rule_files(dir) {
        Ok(p) => p,
        Err(e) => {
            diags.error(Code::Unreadable, SourceLocation::file_start(&dir_name), e);
            return Err(LoadError {
                diagnostics: diags.into_sorted(),
            });
        }
    };
    if paths.is_empty() {
        diags.error(
            Code::NoRuleFiles,
            SourceLocation::file_start(&dir_name),
            format!("no rule files (*.yaml, *.yml) in \"{dir_name}\"; is --rules pointing at the right directory?"),
        );
    }
    if paths.len() > MAX_FILES {
        diags.error(
            Code::TooManyFiles,
            SourceLocation::file_start(&dir_name),
            format!(
                "{} rule files is more than the limit of {MAX_FILES}",
                paths.len()
            ),
        );
        return Err(LoadError {
            diagnostics: diags.into_sorted(),
        });
    }

    let mut texts = Vec::with_capacity(paths.len());
    for path in &paths {
        let name = relative_name(dir, path);
        if !models && is_model(&name) {
            continue;
        }
        if let Some(content) = read_file(path, &name, &mut diags) {
            // Checked here, not for archived sets: a set archived before this check keeps
            // compiling for `explain`.
            if !is_model(&name) && is_blank_yaml(&content) {
                diags.error(
                    Code::EmptyFile,
                    SourceLocation::file_start(&name),
                    format!(
                        "\"{name}\" holds no rules (it is empty, or only comments); a rule file \
                         left empty by an interrupted save would drop its rules without a word"
                    ),
                );
                continue;
            }
            texts.push((name, content));
        }
    }
    compile_texts_with(texts, dir.to_path_buf(), diags)
}

/// Validates and compiles rule files given as (path relative to the rules directory, content),
/// in any order (they are taken in path order, as [`compile_dir`] reads them, so the version is
/// the same): for a rule set that is not in a directory, such as one archived in the decision
/// store. `source` is what the set says it was loaded from.
pub fn compile_texts(texts: Vec<(String, String)>, source: PathBuf) -> Result<RuleSet, LoadError> {
    compile_texts_with(texts, source, Diagnostics::default())
}

/// [`compile_texts`] without the classifier file, if any (for [`RuleSet::with_model`]).
pub(crate) fn compile_texts_without_model(
    texts: Vec<(String, String)>,
    source: PathBuf,
) -> Result<RuleSet, LoadError> {
    let texts = texts.into_iter().filter(|(n, _)| !is_model(n)).collect();
    compile_texts_with(texts, source, Diagnostics::default())
}

/// Whether a rule-directory file is a model (`*.model`): the classifier, or the emergency check.
fn is_model(name: &str) -> bool {
    name.ends_with(".model")
}

/// The emergency check's file (see `crate::engine::alarm`); any other `*.model` is the
/// classifier.
pub(crate) const EMERGENCY_MODEL: &str = "emergency.model";

fn is_emergency_model(name: &str) -> bool {
    Path::new(name).file_name().and_then(|n| n.to_str()) == Some(EMERGENCY_MODEL)
}

fn compile_texts_with(
    mut texts: Vec<(String, String)>,
    source: PathBuf,
    mut diags: Diagnostics,
) -> Result<RuleSet, LoadError> {
    texts.sort_by(|a, b| Path::new(&a.0).cmp(Path::new(&b.0)));
    // A file that could not be read may hold anything; one that did not parse is still text whose
    // top-level keys can be seen (see `checks_without`).
    let unread_anything =
        diags.has_error_of(&[Code::Unreadable, Code::NotUtf8, Code::FileTooLarge]);
    let mut unparsed: Vec<&str> = Vec::new();
    let mut hasher = Sha256::new();
    let mut files = Vec::with_capacity(texts.len());
    let mut model: Option<(String, crate::model::Model)> = None;
    let mut emergency: Option<(String, crate::model::Model)> = None;
    for (name, content) in &texts {
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(content.as_bytes());
        hasher.update([0]);
        if is_model(name) {
            // The models are part of the version (a retrained model is a new rule set) and of
            // the archive, but they are not YAML.
            let m = match crate::model::Model::parse(content) {
                Ok(m) => m,
                Err((line, msg)) => {
                    let at = SourceLocation {
                        file: name.clone(),
                        line,
                        column: 1,
                    };
                    diags.error(Code::BadModel, at, msg);
                    continue;
                }
            };
            if is_emergency_model(name) {
                if m.label_index(super::NOT_AN_EMERGENCY).is_none() {
                    diags.error(
                        Code::BadModel,
                        SourceLocation::file_start(name),
                        format!(
                            "the emergency check has no label \"{}\" for ordinary requests (its labels: {}); train it with scripts/train_emergency_model.py",
                            super::NOT_AN_EMERGENCY,
                            m.labels().join(", ")
                        ),
                    );
                } else {
                    emergency = Some((name.clone(), m));
                }
            } else if let Some((first, _)) = &model {
                diags.error(
                    Code::BadModel,
                    SourceLocation::file_start(name),
                    format!("a rule set has one classifier; \"{first}\" is one already"),
                );
            } else {
                model = Some((name.clone(), m));
            }
            continue;
        }
        match parse(content) {
            Ok(mut raw) => {
                // The file-level lists apply only to the hand-offs of their own file.
                for (list, key, code, what) in [
                    (
                        &raw.handoffs_none,
                        "handoffs_none",
                        Code::UnusedHandoffsNone,
                        "term",
                    ),
                    (
                        &raw.handoffs_turn,
                        "handoffs_turn",
                        Code::UnusedHandoffsTurn,
                        "phrase",
                    ),
                    (
                        &raw.handoffs_background,
                        "handoffs_background",
                        Code::UnusedHandoffsTurn,
                        "phrase",
                    ),
                    (
                        &raw.handoffs_now,
                        "handoffs_now",
                        Code::UnusedHandoffsTurn,
                        "word",
                    ),
                ] {
                    if let (true, Some(first)) = (raw.handoffs.is_empty(), list.first()) {
                        diags.warning(
                            code,
                            SourceLocation::of(name, first),
                            format!(
                                "{key} lists {} {what}(s), but \"{name}\" has no hand-offs; it applies only to the hand-offs of its own file",
                                list.len()
                            ),
                        );
                    }
                }
                raw.share_handoffs_lists();
                files.push(SourceFile {
                    name: name.clone(),
                    raw,
                });
            }
            Err(problems) => {
                unparsed.push(content);
                for ((line, column), code, msg) in problems {
                    diags.error(
                        code,
                        SourceLocation {
                            file: name.clone(),
                            line,
                            column,
                        },
                        msg,
                    );
                }
            }
        }
    }
    let version = hex::encode(&hasher.finalize()[..8]);
    if diags.has_errors() {
        if !files.is_empty() {
            let checked = super::validate::compile(
                files,
                Vec::new(),
                version,
                source,
                Diagnostics::default(),
            );
            let found = match checked {
                Ok(set) => set.warnings,
                Err(e) => e.diagnostics,
            };
            let holds = checks_without(&unparsed, unread_anything);
            diags.extend(found.into_iter().filter(|d| holds(d.code)));
        }
        return Err(LoadError {
            diagnostics: diags.into_sorted(),
        });
    }
    let source_name = source.display().to_string();
    let mut set = super::validate::compile(files, texts, version, source, diags)?;
    if set.count(super::RuleKind::Dispatch) == 0 {
        // A set that dispatches nothing sends every request to manual triage: that is a
        // misconfiguration (a wrong --rules, an empty or unmounted folder), never a rule set.
        let mut diags = Diagnostics::default();
        diags.error(
            Code::NoDispatchRules,
            SourceLocation::file_start(&source_name),
            format!(
                "no dispatch rules in \"{source_name}\" ({}); every request would go to manual \
                 triage",
                set.rule_count_summary()
            ),
        );
        return Err(LoadError {
            diagnostics: diags.into_sorted(),
        });
    }
    if let Some((_, m)) = model {
        set.model = Some(std::sync::Arc::new(super::Consultant::new(&set, m)));
    }
    // The check needs both its model and its setting; either alone is a gap to point out.
    let half = match (&emergency, set.settings.model.emergency) {
        (Some(_), None) => Some(format!(
            "{EMERGENCY_MODEL} is beside the rules but settings.model.emergency is not set"
        )),
        (None, Some(_)) => Some(format!(
            "settings.model.emergency is set but there is no {EMERGENCY_MODEL} beside the rules"
        )),
        _ => None,
    };
    let half = half.map(|what| format!("{what}; the emergency check is off"));
    // The doubt on hand-offs is the same check's: without its model, it is off too.
    let doubt_off =
        (set.settings.model.handoff_doubt.is_some() && emergency.is_none()).then(|| {
            format!(
                "settings.model.handoff_doubt is set but there is no {EMERGENCY_MODEL} beside the \
             rules; hand-offs are not doubted"
            )
        });
    for message in [half, doubt_off].into_iter().flatten() {
        set.warnings.push(super::diagnostic::Diagnostic {
            location: SourceLocation::file_start(&source_name),
            severity: Severity::Warning,
            code: Code::BadModel,
            message,
        });
    }
    if let Some((_, m)) = emergency {
        set.emergency = Some(std::sync::Arc::new(super::EmergencyCheck::new(&set, m)));
    }
    set.fuse_models();
    Ok(set)
}

/// Which of the validator's findings on the files that parsed still hold when `unparsed` files
/// (and, with `unread_anything`, files whose text is unknown) are left out. A rule author fixing
/// a YAML slip in one file should still see the bad terms and duplicate ids of the others, as a
/// compiler reports every file's syntax errors at once; but "unknown department" is only said
/// when no left-out file could define departments, and what rests on the whole set (examples,
/// hand-off lines) waits until every file reads.
fn checks_without(unparsed: &[&str], unread_anything: bool) -> impl Fn(Code) -> bool {
    let sections: Vec<&'static str> = [
        "departments",
        "regulations",
        "categories",
        "places",
        "settings",
    ]
    .into_iter()
    .filter(|key| unread_anything || unparsed.iter().any(|t| names_section(t, key)))
    .collect();
    move |code| match code.reach() {
        Reach::Local => true,
        Reach::Section(key) => !sections.contains(&key),
        Reach::WholeSet => false,
    }
}

/// Whether a text that did not parse has a line that starts `key:` (with the full-width colon a
/// Chinese keyboard types, too): the section may be there. Only unindented lines count, as a
/// top-level key is written; rules' own `regulations:` are indented.
fn names_section(text: &str, key: &str) -> bool {
    text.lines().any(|line| {
        line.trim_start_matches('\u{feff}')
            .strip_prefix(key)
            .map(|rest| rest.trim_start())
            .is_some_and(|rest| rest.starts_with(':') || rest.starts_with('：'))
    })
}

/// A problem in one file: ((line, column), code, message).
pub(crate) type ParseProblem = ((u32, u32), Code, String);

/// Parses one rule file from text. serde stops at the first problem; when the file is valid YAML
/// but has keys the format does not know, every such key is reported instead (see `schema.rs`).
pub(crate) fn parse(content: &str) -> Result<RawFile, Vec<ParseProblem>> {
    if content.trim().is_empty() {
        return Ok(RawFile::default());
    }
    serde_saphyr::from_str::<RawFile>(content).map_err(|e| {
        let unknown = super::schema::unknown_keys(content);
        if !unknown.is_empty() {
            return unknown
                .into_iter()
                .map(|(l, c, m)| ((l, c), Code::UnknownField, m))
                .collect();
        }
        let loc = e
            .location()
            .map(|l| {
                (
                    u32::try_from(l.line()).unwrap_or(u32::MAX),
                    u32::try_from(l.column()).unwrap_or(u32::MAX),
                )
            })
            .unwrap_or((1, 1));
        vec![super::yaml_slips::explain(content, loc, yaml_message(&e))]
    })
}

/// serde-saphyr's message, reduced to its first line and lowercased at the start, with the
/// location removed (the diagnostic carries the location itself).
fn yaml_message(e: &serde_saphyr::Error) -> String {
    let full = e.to_string();
    let first = full
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid YAML")
        .trim();
    let first = first.strip_prefix("error:").unwrap_or(first).trim();
    // Drop a trailing " at line X, column Y" that duplicates the location.
    let first = match first.find(" at line ") {
        Some(i) => &first[..i],
        None => first,
    };
    authors_words(without_location(first))
}

/// `first` without a leading "line X column Y: ".
fn without_location(first: &str) -> &str {
    let Some(rest) = first.strip_prefix("line ") else {
        return first;
    };
    match rest.find(": ") {
        Some(i)
            if rest[..i]
                .chars()
                .all(|c| c.is_ascii_digit() || c == ' ' || c.is_ascii_lowercase()) =>
        {
            &rest[i + 2..]
        }
        _ => first,
    }
}

/// The YAML library's message in a rule author's words: its own settings and types mean nothing
/// to them.
fn authors_words(first: &str) -> String {
    let first = first.replace(
        ", set DuplicateKeyPolicy in Options if acceptable",
        "; keep one of them",
    );
    let beyond = |what: &str| {
        format!(
            "this file is beyond what a rule file can be: {what}; write the rules out plainly, \
             one list or mapping per rule"
        )
    };
    if let Some(breach) = first.strip_prefix("budget breached: ") {
        return beyond(match breach.split([' ', '{']).next().unwrap_or("") {
            "Depth" | "InclusionDepth" => "it is nested too deeply",
            "Aliases" | "Anchors" => "it uses too many aliases (*name) or anchors (&name)",
            _ => "it expands into too many values",
        });
    }
    if first.starts_with("recursion limit exceeded") {
        return beyond("it is nested too deeply");
    }
    if first.contains("did not match any variant of untagged enum") {
        return "this value has a shape the rule file does not allow here (a list where a word \
                is expected, or the reverse); compare it with the examples in docs/rules.md"
            .to_owned();
    }
    let mut chars = first.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => "invalid YAML".to_owned(),
    }
}

/// Whether a YAML text has no content: blank lines, comments and document markers only.
fn is_blank_yaml(content: &str) -> bool {
    content.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#') || l == "---" || l == "..."
    })
}

fn read_file(path: &Path, name: &str, diags: &mut Diagnostics) -> Option<String> {
    let cannot_read = |e: std::io::Error, diags: &mut Diagnostics| {
        let at = SourceLocation::file_start(name);
        diags.error(Code::Unreadable, at, format!("cannot read \"{name}\": {e}"));
    };
    let meta = std::fs::metadata(path)
        .map_err(|e| cannot_read(e, diags))
        .ok()?;
    // Opening a FIFO waits for a writer, and a device (a link to /dev/zero) reports no size and
    // never ends: only plain files are read, and never more than the limit.
    if !meta.is_file() {
        diags.error(
            Code::Unreadable,
            SourceLocation::file_start(name),
            format!(
                "\"{name}\" is not a regular file (a FIFO, a device or a socket); rule files must be plain files"
            ),
        );
        return None;
    }
    let too_large = |len: u64, diags: &mut Diagnostics| {
        diags.error(
            Code::FileTooLarge,
            SourceLocation::file_start(name),
            format!("\"{name}\" is {len} bytes, over the limit of {MAX_FILE_BYTES}; split it into several files"),
        );
    };
    if meta.len() > MAX_FILE_BYTES {
        too_large(meta.len(), diags);
        return None;
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| {
            std::io::Read::read_to_end(&mut std::io::Read::take(f, MAX_FILE_BYTES + 1), &mut bytes)
        })
        .map_err(|e| cannot_read(e, diags))
        .ok()?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        // It grew after it was measured.
        too_large(bytes.len() as u64, diags);
        return None;
    }
    match String::from_utf8(bytes) {
        Ok(s) => Some(s.strip_prefix('\u{feff}').map(str::to_owned).unwrap_or(s)),
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
            let column = valid.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
            diags.error(
                Code::NotUtf8,
                SourceLocation {
                    file: name.to_owned(),
                    line: line as u32,
                    column: column as u32,
                },
                format!("\"{name}\" is not valid UTF-8; save it as UTF-8 (not GBK)"),
            );
            None
        }
    }
}

/// Every rule file under `dir`, in path order. Symlinks are followed, to files and to
/// directories: Kubernetes mounts a ConfigMap as symlinks into a hidden `..data` directory that
/// is itself a symlink, swapped atomically on update. Hidden entries (`..data` included) are not
/// walked themselves; what they hold is reached through the visible links. A link back into a
/// directory already walked is a loop, reported as such instead of walked forever.
fn list_rule_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    let mut walked = std::collections::HashSet::new();
    if let Ok(c) = std::fs::canonicalize(dir) {
        walked.insert(c);
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d)
            .map_err(|e| format!("cannot read rules directory \"{}\": {e}", d.display()))?;
        for entry in entries {
            let entry = entry
                .map_err(|e| format!("cannot read rules directory \"{}\": {e}", d.display()))?;
            let path = entry.path();
            let file_name = entry.file_name();
            let file_name = file_name.to_string_lossy();
            // Editors leave hidden swap and backup files; they are not rules.
            if file_name.starts_with('.') || file_name.ends_with('~') {
                continue;
            }
            let mut ty = entry
                .file_type()
                .map_err(|e| format!("cannot stat \"{}\": {e}", path.display()))?;
            if ty.is_symlink() {
                ty = std::fs::metadata(&path)
                    .map_err(|e| {
                        format!(
                            "cannot follow the symlink \"{}\": {e}; is its target missing?",
                            path.display()
                        )
                    })?
                    .file_type();
            }
            if ty.is_dir() {
                let real = std::fs::canonicalize(&path)
                    .map_err(|e| format!("cannot resolve \"{}\": {e}", path.display()))?;
                if !walked.insert(real.clone()) {
                    return Err(format!(
                        "symlink loop: \"{}\" leads to \"{}\", which is already loaded; \
                         remove the link",
                        path.display(),
                        real.display()
                    ));
                }
                stack.push(path);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml" | "model")
            ) {
                out.push(path);
            }
        }
        if out.len() > MAX_FILES {
            break;
        }
    }
    out.sort();
    Ok(out)
}

fn relative_name(dir: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(dir).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_field_is_located() {
        let err = parse("rules:\n  - id: x\n    topc: y\n").err().unwrap();
        assert_eq!(err[0].0.0, 3, "{err:?}");
        assert!(err[0].2.contains("topc"), "{}", err[0].2);
        assert_eq!(err[0].1, Code::UnknownField);
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut y = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..12 {
            let prev = if i == 0 {
                "a".to_string()
            } else {
                format!("b{}", i - 1)
            };
            y.push_str(&format!("b{i}: &b{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        assert!(parse(&y).is_err());
    }

    #[test]
    fn a_section_is_seen_in_a_file_that_does_not_parse() {
        let text = "# 部门\ndepartments：\n  - id: [x\n";
        assert!(names_section(text, "departments"));
        assert!(names_section("\u{feff}places :\n", "places"));
        // A rule's own `regulations:` is indented; `department:` is not `departments:`.
        let rule = "rules:\n  - id: x\n    department: a\n    regulations: [b\n";
        assert!(!names_section(rule, "regulations"));
        assert!(!names_section(rule, "departments"));
    }

    #[test]
    fn the_yaml_librarys_words_become_the_authors() {
        for (library, author) in [
            (
                "budget breached: ScalarBytes { total_scalar_bytes: 9, max: 8 }",
                "it expands into too many values",
            ),
            (
                "budget breached: Depth { depth: 2000 }",
                "nested too deeply",
            ),
            (
                "budget breached: Aliases { aliases: 9 }",
                "too many aliases",
            ),
            ("recursion limit exceeded", "nested too deeply"),
            (
                "duplicate mapping key: id, set DuplicateKeyPolicy in Options if acceptable",
                "duplicate mapping key: id; keep one of them",
            ),
            (
                "data did not match any variant of untagged enum Content",
                "a shape the rule file does not allow here",
            ),
        ] {
            let said = authors_words(library);
            assert!(said.contains(author), "{library} → {said}");
            assert!(!said.contains('{') && !said.contains("Options"), "{said}");
        }
        assert_eq!(
            without_location("line 3 column 16: expected string scalar"),
            "expected string scalar"
        );
        assert_eq!(without_location("line of sight"), "line of sight");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let y = format!("rules: {}{}", "[".repeat(10_000), "]".repeat(10_000));
        let err = parse(&y).err().unwrap();
        assert!(err[0].2.contains("nested too deeply"), "{err:?}");
    }

    #[test]
    fn a_key_given_twice_is_named_in_the_authors_words() {
        let err = parse("rules:\n  - id: x\n    id: y\n").err().unwrap();
        assert!(err[0].2.contains("duplicate mapping key"), "{err:?}");
        assert!(!err[0].2.contains("DuplicateKeyPolicy"), "{err:?}");
    }

    #[test]
    fn empty_file_is_an_empty_section_set() {
        assert!(parse("").is_ok());
        assert!(parse("# only a comment\n").is_ok());
    }
}
