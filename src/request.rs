//! What the engine takes: a [`RouteInput`], and its validation, shared by the gRPC server and the
//! CLI so that both refuse the same inputs with the same words.

use crate::proto::v1 as pb;
use crate::situate::calendar::{Date, FIRST_SECOND_CHINA, LAST_SECOND_CHINA};

/// Longest request accepted (title and text together), in Unicode scalar values. A 12345 record
/// rarely exceeds 2,000 characters; 20,000 leaves room for pasted documents while bounding work.
pub const MAX_TEXT_CHARS: usize = 20_000;
/// Longest caller request id.
pub const MAX_REQUEST_ID_CHARS: usize = 128;
/// Longest place name.
pub const MAX_PLACE_CHARS: usize = 64;
/// Most requests in one `RouteBatch` call.
pub const MAX_BATCH_SIZE: usize = 1_000;

/// One request to route, as the server, the CLI, batch, `eval` and `diff` give it to
/// [`RuleSet::route`](crate::RuleSet::route).
#[derive(Debug, Clone, Copy, Default)]
pub struct RouteInput<'a> {
    /// The caller's id for the request (the ticket number), echoed as the response's `id`.
    pub id: &'a str,
    /// A title or summary line (web message boards have one); routed before `text`.
    pub title: &'a str,
    /// The citizen's request.
    pub text: &'a str,
    /// The place the intake system gave (a name or alias of one of the rules' places), if any.
    pub place: &'a str,
    /// The day the hotline received the request (China time), if known: for the due date.
    pub received: Option<Date>,
    /// When the hotline received the request, in milliseconds since 1970, if the caller gave the
    /// time (gRPC's `received_time`): recorded with the decision. A caller that gives only the
    /// day (`received`) has it recorded as the first millisecond of that day, China time.
    pub received_ms: Option<i64>,
}

impl<'a> RouteInput<'a> {
    /// A request that is only a text.
    pub fn text(text: &'a str) -> Self {
        RouteInput {
            text,
            ..Self::default()
        }
    }

    /// What is routed: `title + "\n" + text` when the request has both (web message boards
    /// do), else whichever it has.
    pub fn joined(&self) -> std::borrow::Cow<'a, str> {
        match (self.title.is_empty(), self.text.is_empty()) {
            (true, _) => self.text.into(),
            (false, true) => self.title.into(),
            (false, false) => format!("{}\n{}", self.title, self.text).into(),
        }
    }

    /// The request of a gRPC `RouteRequest` (also each item of a `RouteBatch`), validated: its
    /// received time as a China date, and [`validate`](Self::validate).
    pub fn from_proto(r: &'a pb::RouteRequest) -> Result<Self, String> {
        let received = match &r.received_time {
            None => None,
            Some(t) if !(0..1_000_000_000).contains(&t.nanos) => {
                return Err(format!(
                    "received_time.nanos ({}) is outside 0 to 999,999,999",
                    t.nanos
                ));
            }
            Some(t) => Some(Date::from_unix_china(t.seconds).ok_or_else(|| {
                format!(
                    "received_time ({} s since 1970) is outside the years 0001 to 9999 in China \
                     time: from {FIRST_SECOND_CHINA} (0001-01-01 00:00:00 +08:00) to \
                     {LAST_SECOND_CHINA} (9999-12-31 23:59:59 +08:00)",
                    t.seconds
                )
            })?),
        };
        let input = RouteInput {
            id: &r.request_id,
            title: &r.title,
            text: &r.text,
            place: &r.place,
            received,
            received_ms: r
                .received_time
                .as_ref()
                .map(|t| t.seconds.saturating_mul(1000) + i64::from(t.nanos / 1_000_000)),
        };
        input.validate()?;
        Ok(input)
    }

    /// Checks the request's fields; the error says what is wrong and how to fix it.
    pub fn validate(&self) -> Result<(), String> {
        self.problem().map_or(Ok(()), |p| Err(p.to_string()))
    }

    /// What is wrong with the request's fields, if anything (the first problem found).
    pub fn problem(&self) -> Option<Problem> {
        let (title, text) = (self.title, self.text);
        // Invisible characters (zero-width spaces, direction marks, a BOM) say nothing either:
        // normalization removes them, and a decision on nothing would be a guess.
        let blank = |s: &str| {
            s.chars().all(|c| {
                c.is_whitespace()
                    || c.is_control()
                    || crate::engine::normalize::is_control_or_format(c)
            })
        };
        if blank(text) && blank(title) {
            return Some(Problem::Empty);
        }
        let n = text.chars().count() + title.chars().count();
        if n > MAX_TEXT_CHARS {
            return Some(Problem::TextTooLong(n));
        }
        if self.id.chars().count() > MAX_REQUEST_ID_CHARS {
            return Some(Problem::IdTooLong);
        }
        if self.place.chars().count() > MAX_PLACE_CHARS {
            return Some(Problem::PlaceTooLong);
        }
        if self.id.chars().any(char::is_control) {
            return Some(Problem::IdControl);
        }
        None
    }
}

/// What can be wrong with a request's fields. `Display` is the English the gRPC status and the
/// CLI give; [`Problem::chinese`] is what the console shows a rule author.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    Empty,
    /// Title and text together, in characters.
    TextTooLong(usize),
    IdTooLong,
    PlaceTooLong,
    IdControl,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Empty => write!(f, "text is empty; send the citizen's request in `text`"),
            Problem::TextTooLong(n) => write!(
                f,
                "title and text are {n} characters together, over the limit of \
                 {MAX_TEXT_CHARS}; send the request itself, not attached documents"
            ),
            Problem::IdTooLong => write!(
                f,
                "request_id is longer than {MAX_REQUEST_ID_CHARS} characters"
            ),
            Problem::PlaceTooLong => {
                write!(f, "place is longer than {MAX_PLACE_CHARS} characters")
            }
            Problem::IdControl => write!(f, "request_id contains control characters"),
        }
    }
}

impl Problem {
    /// The same, in Chinese, for the console.
    pub fn chinese(&self) -> String {
        match self {
            Problem::Empty => "请填写来电内容".to_owned(),
            Problem::TextTooLong(n) => format!(
                "来电内容（含标题）共 {n} 字，超过上限 {MAX_TEXT_CHARS} 字；请只粘贴诉求本身，不要附带文件全文"
            ),
            Problem::IdTooLong => format!("工单号超过 {MAX_REQUEST_ID_CHARS} 个字符"),
            Problem::PlaceTooLong => format!("属地超过 {MAX_PLACE_CHARS} 个字"),
            Problem::IdControl => "工单号含控制字符".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_length_error_counts_title_and_text_together() {
        let title = "标".repeat(MAX_TEXT_CHARS / 2 + 1);
        let text = "文".repeat(MAX_TEXT_CHARS / 2);
        let input = RouteInput {
            title: &title,
            text: &text,
            ..RouteInput::default()
        };
        let message = input.validate().unwrap_err();
        assert!(
            message.starts_with(&format!(
                "title and text are {} characters together",
                MAX_TEXT_CHARS + 1
            )),
            "{message}"
        );
    }

    fn validate(title: &str, text: &str, id: &str, place: &str) -> Result<(), String> {
        RouteInput {
            id,
            title,
            text,
            place,
            ..RouteInput::default()
        }
        .validate()
    }

    #[test]
    fn refuses_empty_blank_and_oversized() {
        assert!(validate("", "", "", "").is_err());
        assert!(validate("", " \n\t　", "", "").is_err());
        // Only invisible characters: nothing to decide on.
        assert!(validate("", "\u{200b}\u{200d}\u{feff}\u{202e}", "", "").is_err());
        assert!(validate("", "\u{200b}停电", "", "").is_ok());
        assert!(validate("", &"字".repeat(MAX_TEXT_CHARS + 1), "", "").is_err());
        assert!(validate("", &"字".repeat(MAX_TEXT_CHARS), "", "").is_ok());
        assert!(validate("标题", "", "", "").is_ok());
        assert!(validate("", "x", &"i".repeat(129), "").is_err());
        assert!(validate("", "x", "", &"区".repeat(65)).is_err());
    }

    /// A `RouteRequest` received at `seconds` and `nanos`: its received date, or the error.
    fn received(seconds: i64, nanos: i32) -> Result<String, String> {
        let r = pb::RouteRequest {
            text: "小区停水了".into(),
            received_time: Some(pbjson_types::Timestamp { seconds, nanos }),
            ..Default::default()
        };
        RouteInput::from_proto(&r).map(|i| i.received.map(|d| d.to_string()).unwrap_or_default())
    }

    #[test]
    fn received_time_is_in_the_years_0001_to_9999_in_china_time() {
        // The first and last instants of those years in China time (UTC+8).
        assert_eq!(received(-62_135_625_600, 0).as_deref(), Ok("0001-01-01"));
        assert_eq!(
            received(253_402_271_999, 999_999_999).as_deref(),
            Ok("9999-12-31")
        );
        assert_eq!(received(1_764_345_600, 0).as_deref(), Ok("2025-11-29"));
        // Before 0001 (year 0, -1199, -9999) and after 9999 in China time.
        for seconds in [
            -62_135_625_601,
            -62_135_596_801 - 86_400,
            -100_000_000_000,
            -377_705_023_201,
            253_402_272_000,
            253_402_300_799,
            i64::MIN,
            i64::MAX,
        ] {
            let e = received(seconds, 0).unwrap_err();
            assert!(
                e.starts_with(&format!(
                    "received_time ({seconds} s since 1970) is outside the years 0001 to 9999"
                )),
                "{e}"
            );
            assert!(
                e.contains("-62135625600") && e.contains("253402271999"),
                "{e}"
            );
        }
        assert!(received(0, 1_000_000_000).unwrap_err().contains("nanos"));
        assert!(received(0, -1).unwrap_err().contains("nanos"));
    }
}
