//! Validation of incoming requests, shared by the gRPC server and the CLI so that both refuse the
//! same inputs with the same words.

/// Longest request accepted (title and text together), in Unicode scalar values. A 12345 record
/// rarely exceeds 2,000 characters; 20,000 leaves room for pasted documents while bounding work.
pub const MAX_TEXT_CHARS: usize = 20_000;
/// Longest caller request id.
pub const MAX_REQUEST_ID_CHARS: usize = 128;
/// Longest district name.
pub const MAX_DISTRICT_CHARS: usize = 64;
/// Most requests in one `RouteBatch` call.
pub const MAX_BATCH_SIZE: usize = 1_000;

/// Checks a request's fields; the error says what is wrong and how to fix it.
pub fn validate(title: &str, text: &str, request_id: &str, district: &str) -> Result<(), String> {
    if text.trim().is_empty() && title.trim().is_empty() {
        return Err("text is empty; send the citizen's request in `text`".to_owned());
    }
    let n = text.chars().count() + title.chars().count();
    if n > MAX_TEXT_CHARS {
        return Err(format!(
            "text is {n} characters, over the limit of {MAX_TEXT_CHARS}; send the request itself, not attached documents"
        ));
    }
    if request_id.chars().count() > MAX_REQUEST_ID_CHARS {
        return Err(format!(
            "request_id is longer than {MAX_REQUEST_ID_CHARS} characters"
        ));
    }
    if district.chars().count() > MAX_DISTRICT_CHARS {
        return Err(format!(
            "district is longer than {MAX_DISTRICT_CHARS} characters"
        ));
    }
    if request_id.chars().any(char::is_control) {
        return Err("request_id contains control characters".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_empty_blank_and_oversized() {
        assert!(validate("", "", "", "").is_err());
        assert!(validate("", " \n\t　", "", "").is_err());
        assert!(validate("", &"字".repeat(MAX_TEXT_CHARS + 1), "", "").is_err());
        assert!(validate("", &"字".repeat(MAX_TEXT_CHARS), "", "").is_ok());
        assert!(validate("标题", "", "", "").is_ok());
        assert!(validate("", "x", &"i".repeat(129), "").is_err());
    }
}
