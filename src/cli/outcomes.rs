//! `hotline-router outcomes`: imports what happened to decisions (the ticket system's nightly
//! export) from JSON lines, one event per line in the API's form (proto3 JSON of `OutcomeEvent`,
//! e.g. `{"eventId":"e-1","requestId":"2026-1127-0042","kind":"RETURNED","at":"2026-11-28T09:30:00+08:00","departmentId":"housing","reason":"不属于本部门职责"}`).
//! Every line gets a result on standard output; bad lines are reported with their line number.

use std::io::Write;
use std::path::PathBuf;

use super::{Result, Status, StoreAndRules, fail, open, stdout_failed};
use crate::proto::v1 as pb;
use crate::store::{Decisions, EventOutcome, TextMode, events};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    store: StoreAndRules,
    /// The events, one JSON object per line.
    #[arg(long, value_name = "PATH")]
    input: PathBuf,
    /// How much of an event's free text (reason, operator) is stored: masked (phone, ID, bank
    /// card and plate numbers replaced; also under none), or full. As `serve --store-text`.
    #[arg(long, env = "HOTLINE_STORE_TEXT", value_enum, default_value = "masked")]
    store_text: TextMode,
}

/// The result of one line.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct LineResult {
    line: usize,
    event_id: String,
    /// recorded, duplicate, refused (the store said no) or invalid (the line is wrong).
    result: &'static str,
    #[serde(skip_serializing_if = "String::is_empty")]
    decision_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    message: String,
}

pub(crate) fn run(args: Args) -> Result {
    let set = args.store.rules.load()?;
    let store = args.store.store.reader()?;
    let input = open(&args.input)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut counts = [0usize; 4];
    for line in crate::authoring::eval::numbered_lines(input) {
        let (n, line) = match line {
            Ok(l) => l,
            Err(e) => return fail(format!("cannot read {}: {e}", args.input.display())),
        };
        // Every line gets a result, so that results line up with the export's lines.
        let r = match line.as_deref() {
            Some(line) if line.trim().is_empty() => invalid(n, format!("line {n} is blank")),
            Some(line) => one(line.trim_end(), n, &set, &store, args.store_text),
            None => invalid(n, format!("line {n} is not valid UTF-8")),
        };
        counts[match r.result {
            "recorded" => 0,
            "duplicate" => 1,
            "refused" => 2,
            _ => 3,
        }] += 1;
        match serde_json::to_string(&r) {
            Ok(s) => {
                if let Err(e) = writeln!(out, "{s}") {
                    stdout_failed(&e);
                }
            }
            Err(e) => return fail(format!("cannot encode a result: {e}")),
        }
    }
    if let Err(e) = out.flush() {
        stdout_failed(&e);
    }
    let [recorded, duplicates, refused, invalid] = counts;
    eprintln!(
        "{recorded} recorded, {duplicates} already recorded, {refused} refused, {invalid} invalid"
    );
    Ok(if refused + invalid > 0 {
        Status::Findings
    } else {
        Status::Ok
    })
}

/// The result of a line that is not an event at all.
fn invalid(n: usize, message: String) -> LineResult {
    LineResult {
        line: n,
        event_id: String::new(),
        result: "invalid",
        decision_id: String::new(),
        message,
    }
}

fn one(
    line: &str,
    n: usize,
    set: &crate::RuleSet,
    store: &dyn Decisions,
    text_mode: TextMode,
) -> LineResult {
    let mut r = LineResult {
        line: n,
        event_id: String::new(),
        result: "invalid",
        decision_id: String::new(),
        message: String::new(),
    };
    let event = match parse(line) {
        Ok(e) => e,
        Err((event_id, e)) => {
            r.event_id = event_id;
            r.message = format!("line {n}: {e}");
            return r;
        }
    };
    r.event_id = event.event_id.clone();
    let ticket = event.request_id.clone();
    let (event, key) = match events::check(&event, set) {
        Ok(v) => v,
        Err(e) => {
            r.message = format!("line {n}: {e}");
            return r;
        }
    };
    match events::record(store, event, key, &ticket, text_mode) {
        Ok(EventOutcome::Recorded { decision_id }) => {
            r.result = "recorded";
            r.decision_id = decision_id;
        }
        Ok(EventOutcome::Duplicate { decision_id }) => {
            r.result = "duplicate";
            r.decision_id = decision_id;
        }
        Ok(refused) => {
            r.result = "refused";
            r.message = format!(
                "line {n}: {}",
                events::refusal(&refused).unwrap_or_default()
            );
        }
        Err(e) => {
            r.result = "refused";
            r.message = format!("line {n}: the store could not record it: {e}");
        }
    }
    r
}

/// One event in the API's JSON form; `kind` may be written without its `EVENT_KIND_` prefix.
fn parse(line: &str) -> std::result::Result<pb::OutcomeEvent, (String, String)> {
    let mut v: serde_json::Value =
        serde_json::from_str(line).map_err(|e| (String::new(), format!("not JSON: {e}")))?;
    // The line's event id, for its result even when the rest does not parse.
    let event_id = ["eventId", "event_id"]
        .iter()
        .find_map(|k| v.get(k).and_then(|id| id.as_str()))
        .unwrap_or_default()
        .to_owned();
    let refuse = |message: String| Err((event_id.clone(), message));
    if let Some(kind) = v.get_mut("kind")
        && let Some(k) = kind.as_str()
        && !k.starts_with("EVENT_KIND_")
    {
        *kind = serde_json::Value::String(format!("EVENT_KIND_{}", k.to_ascii_uppercase()));
    }
    // The JSON mapping's own message for a fractional or huge score names no field ("did not
    // match any variant of untagged enum").
    if let Some(score) = v.get("satisfaction")
        && score.is_number()
    {
        match score.as_i64() {
            None => {
                return refuse(format!(
                    "satisfaction {score} is not a whole number; give the score on the centre's scale (e.g. 1 to 5)"
                ));
            }
            Some(s) if i32::try_from(s).is_err() => {
                return refuse(format!(
                    "satisfaction {score} is out of range; give the score on the centre's scale (e.g. 1 to 5)"
                ));
            }
            Some(_) => {}
        }
    }
    // The JSON mapping's own message for a bad time says only "premature end of input".
    if let Some(at) = v.get("at").and_then(|a| a.as_str())
        && at.parse::<jiff::Timestamp>().is_err()
    {
        return refuse(format!(
            "at {at:?} is not a time; write it with its offset, e.g. 2026-12-05T09:30:00+08:00"
        ));
    }
    match serde_json::from_value(v.clone()) {
        Ok(event) => Ok(event),
        // The mapping's message names no field ("invalid type: null, expected a string"): each
        // field is tried alone to find the one at fault.
        Err(e) => {
            let field = v.as_object().and_then(|fields| {
                fields.iter().find(|(k, value)| {
                    let alone = serde_json::json!({ k.as_str(): value });
                    serde_json::from_value::<pb::OutcomeEvent>(alone).is_err()
                })
            });
            match field {
                Some((k, value)) if value.is_null() => refuse(format!(
                    "not an event: {k} is null; leave it out or give a value"
                )),
                Some((k, _)) => refuse(format!("not an event: {k}: {e}")),
                None => refuse(format!("not an event: {e}")),
            }
        }
    }
}
