//! `hotline-router schema`: the JSON Schema of rule files, for editors (rules/schema.json).

use super::{Result, Status, out};

pub(crate) fn run() -> Result {
    out!("{}", crate::ruleset::json_schema_text());
    Ok(Status::Ok)
}
