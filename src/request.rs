//! What the engine takes: a [`RouteInput`], and its validation, shared by the gRPC server and the
//! CLI so that both refuse the same inputs with the same words.

use crate::proto::v1 as pb;
use crate::situate::calendar::Date;

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
            Some(t) => Some(Date::from_unix_china(t.seconds).ok_or_else(|| {
                format!(
                    "received_time ({} s since 1970) is outside the years 0001 to 9999",
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
        };
        input.validate()?;
        Ok(input)
    }

    /// Checks the request's fields; the error says what is wrong and how to fix it.
    pub fn validate(&self) -> Result<(), String> {
        let (title, text) = (self.title, self.text);
        if text.trim().is_empty() && title.trim().is_empty() {
            return Err("text is empty; send the citizen's request in `text`".to_owned());
        }
        let n = text.chars().count() + title.chars().count();
        if n > MAX_TEXT_CHARS {
            return Err(format!(
                "text is {n} characters, over the limit of {MAX_TEXT_CHARS}; send the request \
                 itself, not attached documents"
            ));
        }
        if self.id.chars().count() > MAX_REQUEST_ID_CHARS {
            return Err(format!(
                "request_id is longer than {MAX_REQUEST_ID_CHARS} characters"
            ));
        }
        if self.place.chars().count() > MAX_PLACE_CHARS {
            return Err(format!("place is longer than {MAX_PLACE_CHARS} characters"));
        }
        if self.id.chars().any(char::is_control) {
            return Err("request_id contains control characters".to_owned());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate(title: &str, text: &str, id: &str, place: &str) -> Result<(), String> {
        RouteInput {
            id,
            title,
            text,
            place,
            received: None,
        }
        .validate()
    }

    #[test]
    fn refuses_empty_blank_and_oversized() {
        assert!(validate("", "", "", "").is_err());
        assert!(validate("", " \n\t　", "", "").is_err());
        assert!(validate("", &"字".repeat(MAX_TEXT_CHARS + 1), "", "").is_err());
        assert!(validate("", &"字".repeat(MAX_TEXT_CHARS), "", "").is_ok());
        assert!(validate("标题", "", "", "").is_ok());
        assert!(validate("", "x", &"i".repeat(129), "").is_err());
        assert!(validate("", "x", "", &"区".repeat(65)).is_err());
    }
}
