//! The JSON API behind the pages (documented in the README):
//!
//! - `POST /api/route`: a `RouteRequest` in proto3 JSON → the `RouteResponse` in proto3 JSON,
//!   the bytes `serde_json` makes of the gRPC method's answer for the same request and rule set
//!   (the console does not record it: `decisionId` stays empty);
//! - `GET /api/ruleset`: `GetRuleSetResponse` in proto3 JSON;
//! - `GET /api/rules[?q=…]`: every rule by department (with `q`: the rules whose terms contain it,
//!   and the rules its words would set off);
//! - `GET /api/rules/{id}`: one rule with its conditions, examples, articles and source lines;
//! - `GET /api/report?from=YYYY-MM-DD&to=YYYY-MM-DD`: the supervision report, as
//!   `report --format json` prints it.
//!
//! Errors are `{"code": "INVALID_ARGUMENT" | "NOT_FOUND" | …, "message": "…"}` with the HTTP
//! status gRPC's HTTP mapping gives the code.

use serde_json::{Value, json};

use crate::proto::v1 as pb;
use crate::request::RouteInput;
use crate::ruleset::{RuleKind, RuleSet, Target};

/// An API error: HTTP status, gRPC-style code, message.
pub(crate) struct ApiError(pub u16, pub &'static str, pub String);

impl ApiError {
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        ApiError(400, "INVALID_ARGUMENT", message.into())
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        ApiError(404, "NOT_FOUND", message.into())
    }

    pub(crate) fn body(&self) -> Vec<u8> {
        serde_json::to_vec(&json!({"code": self.1, "message": self.2})).unwrap_or_default()
    }
}

/// `POST /api/route`: the body is a `RouteRequest` in proto3 JSON, validated as the gRPC server
/// validates it.
pub(crate) fn route(set: &RuleSet, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let request: pb::RouteRequest = serde_json::from_slice(body).map_err(|e| {
        ApiError::invalid(format!(
            "the body is not a RouteRequest in proto3 JSON: {e}"
        ))
    })?;
    let input = RouteInput::from_proto(&request).map_err(ApiError::invalid)?;
    let response = set.route(&input);
    serde_json::to_vec(&response)
        .map_err(|e| ApiError(500, "INTERNAL", format!("cannot encode the response: {e}")))
}

fn rule_summary(set: &RuleSet, i: usize) -> Value {
    let r = &set.rules()[i];
    json!({
        "id": r.id,
        "kind": r.kind().plural(),
        "topic": r.topic,
        "category": r.category,
        "department": r.department().and_then(|d| set.departments().get(d)).map(|d| d.id.as_str()),
        "source": {"file": r.location.file, "line": r.location.line, "column": r.location.column},
    })
}

/// `GET /api/rules[?q=…]`.
pub(crate) fn rules(set: &RuleSet, q: &str) -> Value {
    let rules = set.rules();
    let mut departments = Vec::new();
    for (d, dept) in set.departments().iter().enumerate() {
        let ids: Vec<Value> = (0..rules.len())
            .filter(|&i| rules[i].department() == Some(d))
            .map(|i| rule_summary(set, i))
            .collect();
        departments.push(json!({"id": dept.id, "name": dept.name, "rules": ids}));
    }
    let of_kind = |k: RuleKind| -> Vec<Value> {
        (0..rules.len())
            .filter(|&i| rules[i].kind() == k)
            .map(|i| rule_summary(set, i))
            .collect()
    };
    let mut v = json!({
        "version": set.version(),
        "departments": departments,
        "handoffs": of_kind(RuleKind::Handoff),
        "outOfScope": of_kind(RuleKind::OutOfScope),
    });
    let q = q.trim();
    if !q.is_empty() {
        let needle = super::pages::search_needle(q);
        let with_term: Vec<Value> = (0..rules.len())
            .filter_map(|i| {
                let terms = super::pages::terms_containing(set, i, &needle);
                (!terms.is_empty()).then(|| json!({"rule": rules[i].id, "terms": terms}))
            })
            .collect();
        v["query"] = json!({
            "q": q,
            "rulesWithTerm": with_term,
            "rulesTouched": set.rules_touched_by(q),
        });
    }
    v
}

/// `GET /api/rules/{id}`.
pub(crate) fn rule(set: &RuleSet, id: &str) -> Result<Value, ApiError> {
    let i = set.rules().iter().position(|r| r.id == id).ok_or_else(|| {
        ApiError::not_found(format!("no rule \"{id}\" in rule set {}", set.version()))
    })?;
    let r = &set.rules()[i];
    let mut v = rule_summary(set, i);
    let examples = |list: &[crate::ruleset::Example]| -> Vec<Value> {
        list.iter()
            .map(|e| json!({"text": e.text, "source": {"file": e.location.file, "line": e.location.line}}))
            .collect()
    };
    v["weight"] = json!(r.weight);
    v["priority"] = json!(r.priority);
    v["conditions"] = json!(set.conditions_of(i));
    v["examples"] = json!(examples(&r.examples));
    v["counterexamples"] = json!(examples(&r.counterexamples));
    v["regulations"] = r
        .regulations
        .iter()
        .map(|&g| serde_json::to_value(crate::engine::explain::regulation_pb(set, g)))
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_default()
        .into();
    match &r.target {
        Target::Dispatch { co_handling, .. } => {
            v["coHandling"] = co_handling
                .iter()
                .filter_map(|d| set.departments().get(*d).map(|d| d.id.clone()))
                .collect::<Vec<_>>()
                .into();
        }
        Target::Handoff { line, name } => v["handoff"] = json!({"line": line, "name": name}),
        Target::OutOfScope { name, guidance } => {
            v["outOfScope"] = json!({"name": name, "guidance": guidance})
        }
    }
    v["sourceText"] = json!(super::pages::rule_source(set, r));
    v["version"] = json!(set.version());
    Ok(v)
}
