//! What a YAML parse error means to the person who made it.
//!
//! Rule authors are hotline staff typing with a Chinese input method, not programmers. The YAML
//! library reports what it expected at the byte where it gave up ("simple key expected ':'",
//! "invalid i32", "cannot deserialize null into string; use Option<String>"); the slip that
//! caused it is usually something else, often on the line before and invisible on screen: a
//! full-width colon `：` or space `　`, a tab, a sentence holding ": " that YAML reads as a key.
//! This module looks at the text around the reported place and says what the author did and
//! what to type instead, at the place of the slip when it can find it. It only rewords: a
//! problem it does not recognize keeps the library's message and place.

use super::diagnostic::Code;

/// A problem at (line, column), with its code and message, as `load::parse` reports it.
pub(crate) type Slip = ((u32, u32), Code, String);

/// The author's view of the library's `message` reported at `at` in `content`.
pub(crate) fn explain(content: &str, at: (u32, u32), message: String) -> Slip {
    let lines: Vec<&str> = content.lines().collect();
    let line_at = |l: u32| -> &str {
        l.checked_sub(1)
            .and_then(|i| lines.get(i as usize))
            .copied()
            .unwrap_or("")
    };
    let here = line_at(at.0);
    let (key, value) = key_value(here);
    let named = |what: &str| match key {
        Some(k) => format!("`{k}` {what}"),
        None => format!("this value {what}"),
    };
    let shown = |v: &str| {
        let v: String = v.chars().take(20).collect();
        format!("\"{v}\"")
    };

    // Slips of the input method, on this line or the one before (the library often notices a
    // broken line only at the next one).
    let syntax = message.starts_with("simple key expected")
        || message.starts_with("expected mapping")
        || message.starts_with("mapping values are not allowed")
        || message.starts_with("did not find expected")
        || message.contains("could not find expected ':'");
    if syntax || message.contains("found a tab") {
        for l in [at.0.saturating_sub(1), at.0, at.0 + 1] {
            if let Some(slip) = input_method_slip(line_at(l), l) {
                return slip;
            }
        }
    }
    if message.contains("tab") {
        for l in [at.0, at.0 + 1, at.0.saturating_sub(1)] {
            if let Some(c) = tab_in_indentation(line_at(l)) {
                return (
                    (l, c),
                    Code::YamlSyntax,
                    "a tab in the indentation; YAML indents with spaces only (have the editor \
                     turn tabs into spaces)"
                        .to_owned(),
                );
            }
        }
    }
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|m| m.split('`').next())
    {
        let (entry, code, what) = missing_field(&lines, at, field);
        // A field written with a full-width colon or indented with full-width spaces is read as
        // part of the value above it, and reported as missing.
        // The library reports where the entry starts or ends: look through the whole entry.
        let end = (entry.0 + 1..=entry.0 + 200)
            .find(|&l| l as usize > lines.len() || line_at(l).trim_start().starts_with("- id:"))
            .unwrap_or(at.0)
            .max(at.0 + 1);
        for l in entry.0..end {
            if let Some((place, code, slip)) = input_method_slip(line_at(l), l) {
                return (place, code, format!("{slip}, so `{field}` was not read"));
            }
        }
        return (entry, code, what);
    }
    if message.starts_with("cannot deserialize null") {
        let what = if here.trim() == "-" {
            "an empty list item \"-\": write the text after it, or remove the line".to_owned()
        } else {
            named("is empty: write it after the \":\", or remove the line")
        };
        return (at, Code::WrongType, what);
    }
    let number =
        if message.starts_with("invalid floating point") || message.starts_with("invalid f") {
            Some("a number such as 0.15 (no %, no units)")
        } else if message.starts_with("invalid u") {
            Some("a whole number, 0 or more (such as 0, 1 or 3)")
        } else if message.starts_with("invalid i") {
            Some("a whole number (such as -1, 0 or 1)")
        } else {
            None
        };
    if let Some(kind) = number {
        let v = shown(value.unwrap_or(""));
        return (
            at,
            Code::WrongType,
            named(&format!("must be {kind}, not {v}")),
        );
    }
    if message.starts_with("expected sequence start") {
        return (
            at,
            Code::WrongType,
            named("must be a list: write [a, b] on one line, or one \"- a\" per line below it"),
        );
    }
    if message.starts_with("expected string scalar")
        || message.starts_with("unexpected character")
        || message.starts_with("alias references unknown anchor")
    {
        // The value of `key: value`, or the list item's text.
        let text = match (key, value) {
            (Some(_), Some(v)) => v,
            _ => here.trim_start().trim_start_matches("- ").trim(),
        };
        if text.starts_with(['[', '{']) {
            return (
                at,
                Code::WrongType,
                named("must be text, not a list: write it without brackets, or put it in quotes"),
            );
        }
        let why = if message.starts_with("alias") || text.starts_with('*') {
            "a text that starts with \"*\" is read as a YAML reference".to_owned()
        } else if let Some(c) = text.chars().next().filter(|c| "@`&!%|>".contains(*c)) {
            format!("a text cannot start with \"{c}\" in YAML")
        } else if text.contains(": ") {
            "this text holds \": \", which YAML reads as a key and its value".to_owned()
        } else {
            "this value must be text".to_owned()
        };
        return (
            at,
            Code::WrongType,
            format!("{why}; put the whole text in quotes: \"{text}\""),
        );
    }
    (at, Code::YamlSyntax, message)
}

/// `  topic: 物业费` → (Some("topic"), Some("物业费")); a list item's key too (`- id: x`).
fn key_value(line: &str) -> (Option<&str>, Option<&str>) {
    let t = line.trim_start();
    let t = t.strip_prefix("- ").unwrap_or(t).trim_start();
    match t.split_once(':') {
        Some((k, v))
            if !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit()) =>
        {
            let v = v.split(" #").next().unwrap_or("").trim();
            (Some(k), (!v.is_empty()).then_some(v))
        }
        _ => (None, None),
    }
}

/// A full-width colon after a key, or a full-width space in the indentation or after a key's
/// colon, on `line` (number `n`): what an input method left in Chinese mode types.
fn input_method_slip(line: &str, n: u32) -> Option<Slip> {
    let column = |byte: usize| u32::try_from(line[..byte].chars().count() + 1).unwrap_or(u32::MAX);
    let indent_end = line
        .char_indices()
        .find(|&(_, c)| c != ' ' && c != '\u{3000}' && c != '-')
        .map_or(line.len(), |(i, _)| i);
    if let Some(i) = line[..indent_end].find('\u{3000}') {
        return Some((
            (n, column(i)),
            Code::YamlSyntax,
            "a full-width space \"　\" in the indentation; indent with ASCII spaces (switch the \
             input method to half-width)"
                .to_owned(),
        ));
    }
    let body = &line[indent_end..];
    let key_len = body
        .find(|c: char| !(c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit()))
        .unwrap_or(body.len());
    if key_len == 0 {
        return None;
    }
    let after = &body[key_len..];
    let at = indent_end + key_len;
    let key = &body[..key_len];
    if after.starts_with('：') {
        return Some((
            (n, column(at)),
            Code::YamlSyntax,
            format!(
                "\"{key}：\" has a full-width colon \"：\"; YAML needs the ASCII colon: \"{key}:\" \
                 (switch the input method to half-width punctuation)"
            ),
        ));
    }
    if let Some(rest) = after.strip_prefix(':')
        && rest.starts_with('\u{3000}')
    {
        return Some((
            (n, column(at + 1)),
            Code::YamlSyntax,
            format!(
                "a full-width space \"　\" after \"{key}:\"; YAML needs an ASCII space after the \
                 colon"
            ),
        ));
    }
    if after.starts_with(' ') && !after.trim_start().starts_with('#') && !after.contains(':') {
        return Some((
            (n, column(at)),
            Code::YamlSyntax,
            format!("\"{key}\" has no colon after it; write \"{key}: …\""),
        ));
    }
    None
}

/// The column of a tab among `line`'s leading whitespace.
fn tab_in_indentation(line: &str) -> Option<u32> {
    let lead = line.len() - line.trim_start_matches([' ', '\t', '-']).len();
    line[..lead]
        .chars()
        .position(|c| c == '\t')
        .map(|p| u32::try_from(p + 1).unwrap_or(u32::MAX))
}

/// "missing field `category`", reported where the entry ends, becomes the entry that misses it,
/// at its `- id:` line: "rule "property-fee-charging" has no `category`".
fn missing_field(lines: &[&str], at: (u32, u32), field: &str) -> Slip {
    let upto = (at.0 as usize).min(lines.len());
    let entry = lines[..upto].iter().enumerate().rev().find_map(|(i, l)| {
        let t = l.trim_start();
        let id = t.strip_prefix("- id:")?.split(" #").next()?.trim();
        let id = id.trim_matches(|c| c == '"' || c == '\'');
        let col = l.len() - t.len() + 1;
        Some((i, id, col))
    });
    let Some((i, id, col)) = entry else {
        return (
            at,
            Code::MissingField,
            format!("`{field}` is missing here; add it"),
        );
    };
    // The section the entry is in: the nearest line above it without indentation.
    let section = lines[..i]
        .iter()
        .rev()
        .find(|l| !l.starts_with([' ', '#', '-']) && l.contains(':'))
        .and_then(|l| l.split(':').next())
        .unwrap_or("");
    let what = match section {
        "rules" => "rule",
        "handoffs" => "hand-off",
        "out_of_scope" => "out-of-scope matter",
        "departments" => "department",
        "regulations" => "regulation",
        "places" => "place",
        _ => "entry",
    };
    (
        (
            u32::try_from(i + 1).unwrap_or(u32::MAX),
            u32::try_from(col).unwrap_or(u32::MAX),
        ),
        Code::MissingField,
        format!("{what} \"{id}\" has no `{field}`; add it (docs/rules.md lists each field)"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_colon_and_space_are_named_where_they_are() {
        let text = "rules:\n  - id: a\n    department：housing\n";
        let (at, code, m) = explain(text, (4, 1), "simple key expected ':'".into());
        assert_eq!((at, code), ((3, 15), Code::YamlSyntax));
        assert!(m.contains("\"department：\" has a full-width colon"), "{m}");

        let text = "rules:\n  - id: a\n    department:\u{3000}housing\n";
        let (at, _, m) = explain(text, (3, 5), "simple key expected ':'".into());
        assert_eq!(at, (3, 16));
        assert!(m.contains("full-width space"), "{m}");
    }

    #[test]
    fn a_tab_is_found_on_its_own_line() {
        let text = "rules:\n  - id: a\n\ttopic: t\n";
        let (at, _, m) = explain(
            text,
            (2, 9),
            "while scanning a plain scalar, found a tab".into(),
        );
        assert_eq!(at, (3, 1));
        assert!(m.starts_with("a tab in the indentation"), "{m}");
    }

    #[test]
    fn type_errors_name_the_key_and_what_to_write() {
        let m = |line: &str, lib: &str| explain(line, (1, 1), lib.into()).2;
        assert_eq!(
            m("    priority: 高", "invalid i32"),
            "`priority` must be a whole number (such as -1, 0 or 1), not \"高\""
        );
        assert!(m("  margin: 15%", "invalid floating point").contains("not \"15%\""));
        assert!(
            m(
                "    topic:",
                "cannot deserialize null into string; use Option<String>"
            )
            .starts_with("`topic` is empty")
        );
        assert!(m("      -", "cannot deserialize null").starts_with("an empty list item"));
        assert!(
            m(
                "    regulations: 物业管理条例/第四十条",
                "expected sequence start"
            )
            .starts_with("`regulations` must be a list")
        );
        assert!(
            m("      - 物业经理说: 不交就停水", "expected string scalar").contains("holds \": \"")
        );
        assert!(m("      - @物业 不管", "unexpected character: `@'").contains("\"@\""));
        assert_eq!(
            m("    topic: [unclosed", "expected string scalar"),
            "`topic` must be text, not a list: write it without brackets, or put it in quotes"
        );
        assert!(m("    topic: 说: 不交", "expected string scalar").contains("holds \": \""));
        assert!(m("      - *物业 不管", "alias references unknown anchor").contains("\"*\""));
    }

    #[test]
    fn a_missing_field_is_reported_at_its_entry() {
        let text = "rules:\n  - id: fee\n    topic: t\n    examples: [x]\n";
        let (at, code, m) = explain(text, (4, 5), "missing field `category`".into());
        assert_eq!((at, code), ((2, 3), Code::MissingField));
        assert_eq!(
            m,
            "rule \"fee\" has no `category`; add it (docs/rules.md lists each field)"
        );
    }

    #[test]
    fn a_field_hidden_by_a_full_width_slip_is_named_with_the_slip() {
        let text = "rules:\n  - id: fee\n    topic: t\n\u{3000}\u{3000}department: housing\n";
        let (at, code, m) = explain(text, (4, 3), "missing field `department`".into());
        assert_eq!((at, code), ((4, 1), Code::YamlSyntax));
        assert!(
            m.starts_with("a full-width space") && m.ends_with("so `department` was not read"),
            "{m}"
        );
    }

    #[test]
    fn what_it_does_not_recognize_keeps_the_library_s_words() {
        let (at, code, m) = explain("a: [", (1, 4), "did not find expected node".into());
        assert_eq!(
            (at, code, m.as_str()),
            ((1, 4), Code::YamlSyntax, "did not find expected node")
        );
    }
}
