//! The JSON Schema of the rule files, derived from the raw types, and the key check built on it.
//!
//! One description of the rule format serves three purposes:
//!
//! - `hotline-router schema` prints it, and `rules/schema.json` (committed, referenced by a
//!   yaml-language-server modeline at the top of every rule file) lets editors validate and
//!   complete rule files while they are typed;
//! - the loader walks a file against it to report *every* unknown key with its place and a
//!   "did you mean", where serde would stop at the first one;
//! - a test keeps the committed file equal to what the types generate, so the three never drift.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::{Location, Spanned};

use super::diagnostic::did_you_mean;
use super::raw::RawFile;

/// The JSON Schema (draft 2020-12) of one rule file.
pub fn json_schema() -> Value {
    let schema = schemars::schema_for!(RawFile);
    let mut v = serde_json::to_value(&schema).unwrap_or(Value::Null);
    if let Some(obj) = v.as_object_mut() {
        obj.insert(
            "title".into(),
            Value::String("hotline-router rule file".into()),
        );
        obj.insert(
            "description".into(),
            Value::String("12345 热线派单规则文件：departments / regulations / categories / synonyms / settings / rules / handoffs / out_of_scope / places / calendar".into()),
        );
    }
    v
}

/// The schema as committed in `rules/schema.json` (pretty-printed, trailing newline).
pub fn json_schema_text() -> String {
    let mut s = serde_json::to_string_pretty(&json_schema()).unwrap_or_default();
    s.push('\n');
    s
}

/// Any YAML node, with the locations of map keys and values kept. A scalar keeps its text (map
/// keys are scalars; YAML keys may be numbers or booleans).
#[derive(Debug)]
enum Node {
    Map(Vec<(Spanned<Node>, Spanned<Node>)>),
    Seq(Vec<Spanned<Node>>),
    Scalar(String),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Node;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some(k) = map.next_key::<Spanned<Node>>()? {
                    let v = map.next_value::<Spanned<Node>>()?;
                    entries.push((k, v));
                }
                Ok(Node::Map(entries))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(v) = seq.next_element::<Spanned<Node>>()? {
                    items.push(v);
                }
                Ok(Node::Seq(items))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
                Ok(Node::Scalar(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
                Ok(Node::Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
                Ok(Node::Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
                Ok(Node::Scalar(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
                Ok(Node::Scalar(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
                Ok(Node::Scalar("null".to_owned()))
            }
            fn visit_none<E: de::Error>(self) -> Result<Node, E> {
                Ok(Node::Scalar("null".to_owned()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Every key of `content` that the rule format does not know, as (line, column, message), in
/// file order. Empty when the file does not even parse as YAML (the parser reports that).
pub(crate) fn unknown_keys(content: &str) -> Vec<(u32, u32, String)> {
    let Ok(root) = serde_saphyr::from_str::<Spanned<Node>>(content) else {
        return Vec::new();
    };
    let schema = json_schema();
    let defs: BTreeMap<String, Value> = schema
        .get("$defs")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    walk(&root.value, &schema, "RawFile", &defs, &mut out);
    out
}

fn resolve<'a>(
    schema: &'a Value,
    name: &str,
    defs: &'a BTreeMap<String, Value>,
) -> (&'a Value, String) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let n = r.rsplit('/').next().unwrap_or(r);
        if let Some(d) = defs.get(n) {
            return resolve(d, n, defs);
        }
    }
    for alt in ["anyOf", "oneOf"] {
        let non_null = schema.get(alt).and_then(Value::as_array).and_then(|list| {
            list.iter()
                .find(|s| s.get("type").and_then(Value::as_str) != Some("null"))
        });
        if let Some(non_null) = non_null {
            return resolve(non_null, name, defs);
        }
    }
    (schema, name.to_owned())
}

/// Fields that were renamed, (old, new): rule files written for an earlier version name the
/// old one, which no spelling distance would lead to.
const RENAMED: &[(&str, &str)] = &[("match", "conditions")];

/// What a schema definition is called in the rule author's words.
fn noun(def: &str) -> String {
    match def {
        "RawFile" => "a rule file (top level)".to_owned(),
        "RawConditions" => "conditions".to_owned(),
        // "ModelSettings" → "model settings": the words a rule author knows, not a type name.
        other => {
            let mut words = String::new();
            for (i, c) in other
                .strip_prefix("Raw")
                .unwrap_or(other)
                .chars()
                .enumerate()
            {
                if c.is_uppercase() && i > 0 {
                    words.push(' ');
                }
                words.extend(c.to_lowercase());
            }
            words
        }
    }
}

fn walk(
    node: &Node,
    schema: &Value,
    name: &str,
    defs: &BTreeMap<String, Value>,
    out: &mut Vec<(u32, u32, String)>,
) {
    let (schema, name) = resolve(schema, name, defs);
    match node {
        Node::Map(entries) => {
            let Some(props) = schema.get("properties").and_then(Value::as_object) else {
                return;
            };
            let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
            for (k, v) in entries {
                // A key that is itself a map or a list is nothing the format has.
                let key = match &k.value {
                    Node::Scalar(key) => key.as_str(),
                    _ => "?",
                };
                match props.get(key) {
                    Some(child) => walk(&v.value, child, &name, defs, out),
                    None if closed => {
                        let loc: Location = k.referenced;
                        let mut known: Vec<&str> = props.keys().map(String::as_str).collect();
                        known.sort_unstable();
                        let renamed = RENAMED
                            .iter()
                            .find(|(old, new)| *old == key && known.contains(new))
                            .map(|(_, new)| format!("; it is now called \"{new}\""));
                        let hint =
                            renamed.unwrap_or_else(|| did_you_mean(key, known.iter().copied()));
                        let hint = if hint.is_empty() {
                            format!("; known fields: {}", known.join(", "))
                        } else {
                            hint
                        };
                        out.push((
                            u32::try_from(loc.line()).unwrap_or(u32::MAX),
                            u32::try_from(loc.column()).unwrap_or(u32::MAX),
                            format!("unknown field \"{key}\" in {}{hint}", noun(&name)),
                        ));
                    }
                    None => {}
                }
            }
        }
        Node::Seq(items) => {
            if let Some(item_schema) = schema.get("items") {
                for it in items {
                    walk(&it.value, item_schema, &name, defs, out);
                }
            }
        }
        Node::Scalar(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unknown_key_is_found_with_its_place() {
        let yaml = "rules:\n  - id: a\n    topc: x\n    conditions:\n      al: [[x]]\n  - id: b\n    departmnet: housing\nsetings: {}\n";
        let found = unknown_keys(yaml);
        let lines: Vec<u32> = found.iter().map(|f| f.0).collect();
        assert_eq!(lines, vec![3, 5, 7, 8], "{found:?}");
        let expected = [
            "\"topc\" in rule; did you mean \"topic\"",
            "in conditions; did you mean \"all\"",
            "did you mean \"department\"",
            "did you mean \"settings\"",
        ];
        for (f, e) in found.iter().zip(expected) {
            assert!(f.2.contains(e), "{} does not say {e}", f.2);
        }
    }

    #[test]
    fn a_renamed_field_is_given_its_new_name() {
        let found = unknown_keys("rules:\n  - id: a\n    match: {all: [[x]]}\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0]
                .2
                .contains("\"match\" in rule; it is now called \"conditions\""),
            "{}",
            found[0].2
        );
    }

    #[test]
    fn known_keys_pass() {
        assert!(unknown_keys("settings:\n  threshold: 1\n  margin: 0.1\n").is_empty());
    }
}
