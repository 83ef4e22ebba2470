//! HTML building blocks: escaping, query strings, the page layout, and the request text with its
//! evidence highlighted.
//!
//! Every string that reaches a page goes through [`esc`], whatever its origin (citizen text, rule
//! files, diagnostics): the console shows citizens' words, and a rule file is no more trusted
//! than a request. Pages load one stylesheet and one script from `/assets/`, never inline code,
//! so the Content-Security-Policy can forbid inline script and style outright.

use std::fmt::Write as _;

/// Escapes text for HTML element content and quoted attribute values: the report's escaping,
/// so that the console and `report --format html` escape alike.
pub(crate) use crate::store::render::esc;
/// Escapes a citizen's text for element content, showing the characters that would change how
/// the rest reads (see [`crate::store::render::esc_shown`]).
pub(crate) use crate::store::render::esc_shown;

/// Escapes a form field's value (a textarea's content, an input's `value`): as [`esc`], with
/// each control character (other than tab and the line breaks) written as a numeric character
/// reference, so that the page carries no raw control bytes while the field's value stays the
/// text as typed. (A NUL cannot survive HTML either way: browsers read it as U+FFFD.) Bidi
/// controls are kept: the field must hand back exactly what was routed.
pub(crate) fn esc_field(s: &str) -> String {
    let escaped = esc(s);
    if !escaped
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
    {
        return escaped;
    }
    let mut o = String::with_capacity(escaped.len() + 16);
    for c in escaped.chars() {
        if c.is_control() && !matches!(c, '\n' | '\t' | '\r') {
            let _ = write!(o, "&#x{:X};", c as u32);
        } else {
            o.push(c);
        }
    }
    o
}

/// Percent-encodes a query-string value (`application/x-www-form-urlencoded`, as browsers send
/// forms): unreserved ASCII as is, space as `+`, every other byte as `%XX`.
pub(crate) fn url_encode(s: &str) -> String {
    let mut o = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                o.push(b as char)
            }
            b' ' => o.push('+'),
            _ => {
                let _ = write!(o, "%{b:02X}");
            }
        }
    }
    o
}

/// Decodes one `application/x-www-form-urlencoded` value; `None` when the bytes it encodes are
/// not UTF-8.
pub(crate) fn url_decode(s: &str) -> Option<String> {
    percent_decode(s, true)
}

/// Decodes one path segment (a rule id in `/rules/{id}`): as [`url_decode`], except that `+` is
/// a literal `+`. Only forms turn spaces into `+`; a path never does, so an id written with a
/// `+` must open as written.
pub(crate) fn path_decode(s: &str) -> Option<String> {
    percent_decode(s, false)
}

fn percent_decode(s: &str, plus_is_space: bool) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' if plus_is_space => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).and_then(|h| {
                    std::str::from_utf8(h)
                        .ok()
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                });
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    // A lone '%' is kept as written, as browsers and most servers do.
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// A query string or form whose bytes are not UTF-8 once percent-decoded (a link re-encoded as
/// GBK on its way, say): which parameter, when its name could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NotUtf8(pub Option<String>);

impl NotUtf8 {
    /// For the API's JSON errors, in English as the API's other messages are.
    pub(crate) fn english(&self) -> String {
        match &self.0 {
            Some(key) => format!("query parameter \"{key}\" is not UTF-8"),
            None => "a query parameter name is not UTF-8".to_owned(),
        }
    }

    /// For the pages, in Chinese as the pages are.
    pub(crate) fn chinese(&self) -> String {
        let which = match &self.0 {
            Some(key) => format!("参数「{key}」"),
            None => "某个参数名".to_owned(),
        };
        format!(
            "链接或表单中的{which}经百分号解码后不是有效的 UTF-8 文字，可能是链接在转发时被改坏了\
             （例如按 GBK 编码）。请从控制台的页面重新打开或重新填写。"
        )
    }
}

/// The pairs of a query string, decoded; `Err` names the first parameter that is not UTF-8.
pub(crate) fn query_pairs(query: &str) -> Result<Vec<(String, String)>, NotUtf8> {
    let mut pairs = Vec::new();
    for part in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let key = url_decode(k).ok_or(NotUtf8(None))?;
        let Some(value) = url_decode(v) else {
            return Err(NotUtf8(Some(key)));
        };
        pairs.push((key, value));
    }
    Ok(pairs)
}

/// The value of `name` in decoded query pairs ("" when absent).
pub(crate) fn param<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// Which page of the navigation is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    Try,
    Rules,
    Reports,
    /// A page outside the three (a page not found): no link is marked as open.
    Other,
}

/// A whole page: the navigation, the serving rule-set version, and `body` (already escaped).
pub(crate) fn page(title: &str, nav: Nav, version: &str, body: &str) -> String {
    let link = |n: Nav, href: &str, label: &str| {
        if n == nav {
            format!("<a href=\"{href}\" class=\"here\" aria-current=\"page\">{label}</a>")
        } else {
            format!("<a href=\"{href}\">{label}</a>")
        }
    };
    format!(
        "<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · 12345 派单控制台</title>\
         <link rel=\"stylesheet\" href=\"/assets/console.css\">\
         <script src=\"/assets/console.js\" defer></script></head>\
         <body><header><span class=\"brand\">12345 派单控制台</span><nav>{try_}{rules}{reports}</nav>\
         <span class=\"version\" title=\"规则集版本\">规则版本 <code id=\"rules-version\">{version}</code></span></header>\
         <main>{body}</main>\
         <footer>只读控制台：这里不能修改规则。页面内容含市民诉求，请勿外传。</footer></body></html>\n",
        title = esc(title),
        try_ = link(Nav::Try, "/try", "试一试"),
        rules = link(Nav::Rules, "/rules", "规则"),
        reports = link(Nav::Reports, "/reports", "报表"),
        version = esc(short_version(version)),
    )
}

/// The first 12 characters of a rule-set version (a content hash), as people quote it.
pub(crate) fn short_version(v: &str) -> &str {
    v.char_indices().nth(12).map_or(v, |(i, _)| &v[..i])
}

/// A highlighted span of the request text, in Unicode scalar values of the routed string.
#[derive(Debug, Clone)]
pub(crate) struct Mark {
    pub start: usize,
    pub end: usize,
    /// CSS class: `ev` (the deciding rule's evidence), `rt` (request-type cue), `pl` (place).
    pub class: &'static str,
    /// Shown on hover: the rule term and the condition it satisfied.
    pub note: String,
}

/// `text` with each mark wrapped in `<mark class=… data-start=… data-end=… title=…>`, its
/// bidi and control characters shown as visible marks ([`esc_shown`]): offsets stay those of
/// the routed text, since each such character is one character there and one mark here. Where
/// marks overlap, the earlier one in `marks` wins the overlapping characters (so the deciding
/// evidence is listed first). Offsets past the end are clipped; an empty mark is skipped.
pub(crate) fn highlighted(text: &str, marks: &[Mark]) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut owner: Vec<Option<usize>> = vec![None; chars.len()];
    for (m, mark) in marks.iter().enumerate() {
        let end = mark.end.min(chars.len());
        for slot in owner.iter_mut().take(end).skip(mark.start) {
            if slot.is_none() {
                *slot = Some(m);
            }
        }
    }
    let mut o = String::with_capacity(text.len() * 2);
    let mut i = 0;
    while i < chars.len() {
        let who = owner[i];
        let mut j = i;
        while j < chars.len() && owner[j] == who {
            j += 1;
        }
        let piece: String = chars[i..j].iter().collect();
        match who {
            Some(m) => {
                let mark = &marks[m];
                let _ = write!(
                    o,
                    "<mark class=\"{}\" data-start=\"{i}\" data-end=\"{j}\" title=\"{}\">{}</mark>",
                    mark.class,
                    esc(&mark.note),
                    esc_shown(&piece)
                );
            }
            None => o.push_str(&esc_shown(&piece)),
        }
        i = j;
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_both_quotes() {
        assert_eq!(
            esc("\"><img src=x onerror='alert(1)'>&"),
            "&quot;&gt;&lt;img src=x onerror=&#39;alert(1)&#39;&gt;&amp;"
        );
    }

    #[test]
    fn query_values_round_trip_through_encoding() {
        for s in [
            "物业费 没过户？",
            "a+b&c=d%",
            "<script>alert(1)</script>",
            "",
        ] {
            let q = format!("text={}", url_encode(s));
            let pairs = query_pairs(&q).unwrap();
            assert_eq!(param(&pairs, "text"), s);
        }
        assert_eq!(
            query_pairs("a=1&text=%FF%FE"),
            Err(NotUtf8(Some("text".into())))
        );
        assert_eq!(query_pairs("%FF=1"), Err(NotUtf8(None)));
        assert_eq!(url_decode("100%").as_deref(), Some("100%"));
    }

    #[test]
    fn marks_wrap_their_characters_and_escape_the_text() {
        let marks = [
            Mark {
                start: 0,
                end: 3,
                class: "ev",
                note: "物业费".into(),
            },
            Mark {
                start: 2,
                end: 5,
                class: "rt",
                note: "<b>".into(),
            },
        ];
        let h = highlighted("物业费<a>", &marks);
        assert_eq!(
            h,
            "<mark class=\"ev\" data-start=\"0\" data-end=\"3\" title=\"物业费\">物业费</mark>\
             <mark class=\"rt\" data-start=\"3\" data-end=\"5\" title=\"&lt;b&gt;\">&lt;a</mark>&gt;"
        );
        assert_eq!(highlighted("ab", &[]), "ab");
        let past_end = [Mark {
            start: 1,
            end: 99,
            class: "ev",
            note: String::new(),
        }];
        assert_eq!(
            highlighted("ab", &past_end),
            "a<mark class=\"ev\" data-start=\"1\" data-end=\"2\" title=\"\">b</mark>"
        );
    }
}
