//! `hotline-router export --labelled`: the store's decisions as a labelled corpus, in the format
//! `eval`, `diff` and `lint --input` read, so that a centre's own history becomes its evaluation
//! corpus. The label of a decision is the department the order finally went to: after returns and
//! reassignments, or the operator's choice for a manual-triage request.

use std::io::Write;

use super::{Result, Status, StoreArg, stdout_failed};
use crate::store::{Decisions, EventKind};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    store: StoreArg,
    /// One row per decision with a known final department, labelled with it (the only form for now;
    /// required so that the output's meaning is explicit).
    #[arg(long, required = true)]
    labelled: bool,
}

pub(crate) fn run(args: Args) -> Result {
    let store = args.store.read_only()?;
    let decisions = match store.between(i64::MIN, i64::MAX) {
        Ok(period) => {
            if !period.damaged.is_empty() {
                eprintln!(
                    "warning: {} decision record(s) damaged on disk are left out: {}",
                    period.damaged.len(),
                    period.damaged.join(", ")
                );
            }
            period
        }
        Err(e) => return super::read_failed(&store, &e),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    // One row per ticket: its latest decision, the one its events by ticket number go to (an
    // earlier one stays without its outcome, and would label the ticket twice).
    let (latest, superseded) =
        crate::store::report::latest_per_ticket(&decisions.decisions, &decisions.superseded);
    let (mut written, mut no_text, mut no_department, mut returned) = (0, 0, 0, 0);
    for d in latest {
        let Some(text) = d.record.text.as_deref() else {
            no_text += 1;
            continue;
        };
        let Some(label) = d.known_final_department() else {
            // Returned with no destination named (and nothing after it): its final department
            // is unknown, and the one that refused it is the wrong label.
            if d.events.iter().any(|e| e.kind == EventKind::Returned) {
                returned += 1;
            } else {
                no_department += 1;
            }
            continue;
        };
        // The decision's own category still holds when the order stayed with its department.
        let category = if label == d.record.department_id {
            d.record.category.first().cloned().unwrap_or_default()
        } else {
            String::new()
        };
        let row = serde_json::json!({
            "id": if d.record.request_id.is_empty() { &d.record.decision_id } else { &d.record.request_id },
            "text": text,
            "label": label,
            "category": category,
            "decisionId": d.record.decision_id,
        });
        if let Err(e) = writeln!(out, "{row}") {
            stdout_failed(&e);
        }
        written += 1;
    }
    if let Err(e) = out.flush() {
        stdout_failed(&e);
    }
    eprintln!(
        "{written} labelled row(s); left out: {no_text} without a stored text, {no_department} without a final department, \
         {returned} returned with no department named to go to, {superseded} superseded by a later decision of the same ticket"
    );
    Ok(Status::Ok)
}
