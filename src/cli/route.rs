//! `hotline-router route`: one request from the command line, or a batch of JSON lines from
//! standard input. Every decision takes the same path as the server's ([`route_and_record`]), to
//! the decision sink given with `--record`.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use super::{Result, RulesArg, Status, fail, parse_date, stdout_failed};
use crate::proto::v1 as pb;
use crate::request::RouteInput;
use crate::ruleset::RuleSet;
use std::sync::Arc;

use crate::sink::{DecisionSink, Discard, JsonlSink, Method, Sinks, route_and_record};
use crate::situate::calendar::Date;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    rules: RulesArg,
    /// Print the decision as one JSON object (the RouteResponse schema).
    #[arg(long, conflicts_with = "jsonl")]
    json: bool,
    /// Batch mode: read {"id", "text", "title", "place", "received"} lines from standard input
    /// and write one decision (or error object) per line; exit status 1 if any line was refused.
    /// Each line carries its own place and date, so --place, --received and TEXT are refused
    /// beside it rather than silently left out.
    #[arg(long, conflicts_with_all = ["place", "received", "text"])]
    jsonl: bool,
    /// The place the request is about (a district, county, zone, street or town), if known.
    #[arg(long, alias = "district", default_value = "")]
    place: String,
    /// The date the hotline received the request (YYYY-MM-DD), for the due date.
    #[arg(long, value_parser = parse_date)]
    received: Option<Date>,
    /// Append a record of every decision (JSON lines: request id, time, rules version, the
    /// decision; not the text) to this file.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    #[command(flatten)]
    store: crate::store::StoreArgs,
    /// The request text.
    #[arg(required_unless_present = "jsonl")]
    text: Option<String>,
}

pub(crate) fn run(args: Args) -> Result {
    let set = args.rules.load()?;
    let record = match &args.record {
        Some(path) => match JsonlSink::append(path) {
            Ok(s) => Some(Arc::new(s)),
            Err(e) => return fail(format!("cannot open {}: {e}", path.display())),
        },
        None => None,
    };
    let store = match args.store.open(crate::store::StoreConfig::None) {
        Ok(s) => s,
        Err(e) => return fail(format!("cannot open the decision store: {e}")),
    };
    let mut sinks: Vec<Arc<dyn DecisionSink>> = Vec::new();
    if let Some(s) = record.clone() {
        sinks.push(s);
    }
    if let Some(s) = store.clone() {
        sinks.push(s);
    }
    let sinks = Sinks(sinks);
    let sink: &dyn DecisionSink = if sinks.0.is_empty() { &Discard } else { &sinks };
    let ended = if args.jsonl {
        route_jsonl(&set, sink)
    } else {
        route_one(&set, &args, sink)
    };
    // Whatever ended the run (the last line, a reader that closed standard output, an error),
    // the decisions already printed are stored before the process exits: a decision id someone
    // has read must be one `explain` and `outcomes` find.
    let recorded = match (&record, &args.record) {
        (Some(s), Some(path)) => s
            .flush()
            .map_err(|e| format!("cannot write {}: {e}", path.display())),
        _ => Ok(()),
    };
    let stored = match &store {
        Some(s) => s.close().map_err(|e| {
            format!(
                "the decisions printed are not in the decision store: {e}; they stay in its spool {} \
                 and are stored by the next run that can write to the store",
                s.spool_dir().display()
            )
        }),
        None => Ok(()),
    };
    let status = match ended {
        Ended::Done(status) => status,
        // A reader that went away (`| head -1`) is no failure; another write error is.
        Ended::StdoutFailed(e) => {
            if let Err(m) = recorded.and(stored) {
                eprintln!("error: {m}");
                std::process::exit(2);
            }
            stdout_failed(&e)
        }
    };
    recorded.or_else(fail)?;
    // The store's failure is the run's: the exit status says that the output, the store, was
    // not written, and a script does not take the printed ids for stored ones.
    stored.or_else(fail)?;
    status
}

/// How routing ended: done, with its status, or at a failed write to standard output (the
/// process ends with [`stdout_failed`] once the store is closed).
enum Ended {
    Done(Result),
    StdoutFailed(std::io::Error),
}

impl From<Result> for Ended {
    fn from(r: Result) -> Self {
        Ended::Done(r)
    }
}

fn route_one(set: &RuleSet, args: &Args, sink: &dyn DecisionSink) -> Ended {
    let input = RouteInput {
        text: args.text.as_deref().unwrap_or_default(),
        place: &args.place,
        received: args.received,
        ..Default::default()
    };
    if let Err(reason) = input.validate() {
        return fail(reason).into();
    }
    let resp = route_and_record(set, &input, Method::Cli, pb::Channel::Unspecified, "", sink);
    let shown = if args.json {
        match serde_json::to_string(&resp) {
            Ok(s) => s + "\n",
            Err(e) => return fail(format!("cannot encode the decision as JSON: {e}")).into(),
        }
    } else {
        crate::engine::render_text(&resp)
    };
    let mut o = std::io::stdout().lock();
    match o.write_all(shown.as_bytes()).and_then(|()| o.flush()) {
        Ok(()) => Ok(Status::Ok).into(),
        Err(e) => Ended::StdoutFailed(e),
    }
}

/// One input line of `route --jsonl`.
#[derive(serde::Deserialize)]
struct BatchLine {
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default, alias = "district")]
    place: Option<String>,
    /// YYYY-MM-DD
    #[serde(default)]
    received: Option<String>,
}

fn route_jsonl(set: &RuleSet, sink: &dyn DecisionSink) -> Ended {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut buf = Vec::new();
    let mut line_no = 0usize;
    let mut refused = 0usize;
    loop {
        buf.clear();
        match std::io::Read::take(&mut input, MAX_LINE_BYTES + 1).read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => return fail(format!("cannot read standard input: {e}")).into(),
        }
        line_no += 1;
        // A file saved by a Windows editor starts with a byte-order mark, as `eval` and
        // `outcomes` accept.
        if line_no == 1 && buf.starts_with(crate::authoring::eval::BOM) {
            buf.drain(..crate::authoring::eval::BOM.len());
        }
        let too_long = buf.len() as u64 > MAX_LINE_BYTES;
        if too_long && let Err(e) = skip_line(&mut input) {
            return fail(format!("cannot read standard input: {e}")).into();
        }
        let item = match std::str::from_utf8(&buf) {
            _ if too_long => error_item(
                format!("line {line_no}"),
                format!(
                    "line {line_no} is longer than {MAX_LINE_BYTES} bytes; a request is at most {} characters",
                    crate::request::MAX_TEXT_CHARS
                ),
            ),
            // One output line per input line, blank ones included, so that outputs line up
            // with inputs (`paste`, spreadsheets) without counting.
            Ok(l) if l.trim().is_empty() => error_item(
                format!("line {line_no}"),
                format!("line {line_no} is blank; send one JSON object per line"),
            ),
            Ok(l) => route_line(set, l.trim(), line_no, sink),
            Err(_) => error_item(
                format!("line {line_no}"),
                format!("line {line_no} is not valid UTF-8"),
            ),
        };
        let json = match item {
            Ok(d) => serde_json::to_string(&d),
            Err(ItemError { id, message }) => {
                refused += 1;
                serde_json::to_string(&pb::RouteBatchItem {
                    id,
                    result: Some(pb::route_batch_item::Result::Error(pb::ItemError {
                        code: "INVALID_ARGUMENT".to_owned(),
                        message,
                    })),
                })
            }
        };
        match json {
            Ok(s) => {
                if let Err(e) = writeln!(out, "{s}") {
                    return Ended::StdoutFailed(e);
                }
            }
            Err(e) => eprintln!("error: cannot encode a decision as JSON: {e}"),
        }
    }
    if let Err(e) = out.flush() {
        return Ended::StdoutFailed(e);
    }
    // As `outcomes` does: a script learns that some lines were refused without reading them all.
    if refused > 0 {
        eprintln!(
            "{refused} of {line_no} line(s) refused; each has an \"error\" in its output line"
        );
        return Ok(Status::Findings).into();
    }
    Ok(Status::Ok).into()
}

/// Longest input line read: a request of the longest text allowed, in JSON with escapes, fits
/// well within it, and a line without an end is not read into memory whole.
const MAX_LINE_BYTES: u64 = 1 << 20;

/// Passes over the rest of the current line (up to and including its newline).
fn skip_line(input: &mut impl BufRead) -> std::io::Result<()> {
    loop {
        let available = input.fill_buf()?;
        if available.is_empty() {
            return Ok(());
        }
        match available.iter().position(|&b| b == b'\n') {
            Some(i) => {
                input.consume(i + 1);
                return Ok(());
            }
            None => {
                let n = available.len();
                input.consume(n);
            }
        }
    }
}

/// A line that is refused: its id and why (an INVALID_ARGUMENT item takes its place).
struct ItemError {
    id: String,
    message: String,
}

/// A decision, or the error that takes its place in the output.
type LineResult = std::result::Result<pb::RouteResponse, ItemError>;

fn route_line(set: &RuleSet, line: &str, line_no: usize, sink: &dyn DecisionSink) -> LineResult {
    let parsed: BatchLine = match serde_json::from_str(line) {
        Ok(p) => p,
        Err(e) => {
            return error_item(
                format!("line {line_no}"),
                format!("line {line_no} is not a JSON object with \"text\": {e}"),
            );
        }
    };
    let id = match parsed.id {
        Some(serde_json::Value::String(s)) => s,
        Some(serde_json::Value::Null) | None => format!("line {line_no}"),
        // A ticket number sent as a JSON number: only a whole number is kept exactly (a larger
        // one has already lost digits in JSON's float, and two tickets could share an id).
        Some(serde_json::Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
        Some(other) => {
            let shown = crate::store::events::shorten(&other.to_string());
            return error_item(
                format!("line {line_no}"),
                format!(
                    "line {line_no}: \"id\" is {shown}; give the ticket number as a string (or a whole number)"
                ),
            );
        }
    };
    let title = parsed.title.unwrap_or_default();
    let place = parsed.place.unwrap_or_default();
    if parsed.text.is_none() && title.is_empty() {
        return error_item(id, format!("line {line_no}: missing \"text\""));
    }
    let received = match parsed.received.as_deref().map(parse_date) {
        Some(Err(reason)) => {
            return error_item(id, format!("line {line_no}: received: {reason}"));
        }
        Some(Ok(d)) => Some(d),
        None => None,
    };
    let input = RouteInput {
        id: &id,
        title: &title,
        text: parsed.text.as_deref().unwrap_or_default(),
        place: &place,
        received,
        // A batch line gives a day: recorded as its first millisecond (see `RouteInput`).
        received_ms: None,
    };
    if let Err(reason) = input.validate() {
        return error_item(id.clone(), format!("line {line_no}: {reason}"));
    }
    Ok(route_and_record(
        set,
        &input,
        Method::Cli,
        pb::Channel::Unspecified,
        "",
        sink,
    ))
}

fn error_item(id: String, message: String) -> LineResult {
    Err(ItemError { id, message })
}
