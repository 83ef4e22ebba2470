//! Masking of the personal numbers citizens put in their requests, before a text is stored.
//!
//! A request often carries the caller's mobile or landline number, ID card number, bank card
//! number or licence plate. The decision store keeps texts masked by default (`--store-text
//! masked`): each such number is replaced by a label saying what it was (`[手机号]`), so a
//! supervisor can still read what the request was about.
//!
//! Numbers are found as runs of digits (with the spaces and hyphens people type inside them) that
//! no other digit touches, and classified by length and shape: 18 characters ending in a digit or
//! X is an ID number (15 digits: an old one), 11 digits starting 13–19 a mobile number (with or
//! without 86 / +86), 16 to 19 digits a bank card, 10 to 12 digits starting with 0 a landline with
//! its area code, and 7 or 8 digits a landline when the words before it say it is a telephone.
//! Plates are a province character, a letter and five or six letters and digits.

use std::sync::OnceLock;

use regex::Regex;

/// What a masked span was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Mobile,
    Landline,
    IdNumber,
    BankCard,
    Plate,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Mobile => "[手机号]",
            Kind::Landline => "[电话]",
            Kind::IdNumber => "[身份证号]",
            Kind::BankCard => "[银行卡号]",
            Kind::Plate => "[车牌号]",
        }
    }
}

fn digit_runs() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    // A digit, then digits with single spaces or hyphens between them, ending in a digit or an X
    // (ID numbers). `regex` has no look-around; the neighbours are checked in `mask`.
    RE.get_or_init(|| {
        Regex::new(r"\+?[0-9](?:[ \-]?[0-9])*(?:[Xx])?").unwrap_or_else(|_| unreachable!())
    })
}

fn plates() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-Za-z][·•\- ]?[A-Za-z0-9]{5,6}",
        )
        .unwrap_or_else(|_| unreachable!())
    })
}

/// Words that, just before a 7- or 8-digit number, say it is a telephone number.
const PHONE_WORDS: [&str; 6] = ["电话", "座机", "号码", "联系", "手机", "tel"];

fn classify(run: &str, before: &str) -> Option<Kind> {
    let digits: String = run.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let n = digits.len();
    let last_is_x = digits.ends_with(['X', 'x']);
    let all_digits = !last_is_x;
    let national = digits
        .strip_prefix("86")
        .filter(|_| run.starts_with('+') || n == 13);
    match n {
        18 => Some(Kind::IdNumber),
        15 if all_digits => Some(Kind::IdNumber),
        _ if last_is_x => None,
        11 if digits.starts_with('1') && digits.as_bytes()[1] >= b'3' => Some(Kind::Mobile),
        13 if national.is_some_and(|m| m.starts_with('1')) => Some(Kind::Mobile),
        16..=19 => Some(Kind::BankCard),
        10..=12 if digits.starts_with('0') => Some(Kind::Landline),
        7 | 8 => {
            let tail: String = before
                .chars()
                .rev()
                .take(6)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            let tail = tail.to_lowercase();
            PHONE_WORDS
                .iter()
                .any(|w| tail.contains(w))
                .then_some(Kind::Landline)
        }
        _ => None,
    }
}

/// `text` with every phone, ID, bank card and plate number replaced by a label.
pub fn mask(text: &str) -> String {
    let mut spans: Vec<(usize, usize, Kind)> = Vec::new();
    for m in digit_runs().find_iter(text) {
        let (s, e) = (m.start(), m.end());
        // Touching letters or digits make it part of something else (an order code, a model).
        let prev = text[..s].chars().next_back();
        let next = text[e..].chars().next();
        if prev.is_some_and(|c| c.is_ascii_alphanumeric())
            || next.is_some_and(|c| c.is_ascii_alphanumeric())
        {
            continue;
        }
        if let Some(kind) = classify(m.as_str(), &text[..s]) {
            spans.push((s, e, kind));
        }
    }
    for m in plates().find_iter(text) {
        if !spans.iter().any(|&(s, e, _)| m.start() < e && s < m.end()) {
            spans.push((m.start(), m.end(), Kind::Plate));
        }
    }
    spans.sort_unstable_by_key(|s| s.0);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (s, e, kind) in spans {
        out.push_str(&text[at..s]);
        out.push_str(kind.label());
        at = e;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn personal_numbers_are_replaced_by_what_they_were() {
        let cases = [
            ("我的手机13812345678，请回电", "我的手机[手机号]，请回电"),
            ("电话 138-1234-5678", "电话 [手机号]"),
            ("+8613812345678", "[手机号]"),
            ("座机0536-8881234打不通", "座机[电话]打不通"),
            ("联系电话8881234", "联系电话[电话]"),
            ("身份证370702199001011234", "身份证[身份证号]"),
            ("身份证号37070219900101123X。", "身份证号[身份证号]。"),
            ("卡号6222 0212 3456 7890 123", "卡号[银行卡号]"),
            ("车牌鲁G12345的车一直占道", "车牌[车牌号]的车一直占道"),
            ("鲁G·D12345新能源车", "[车牌号]新能源车"),
        ];
        for (text, masked) in cases {
            assert_eq!(mask(text), masked, "{text}");
        }
    }

    #[test]
    fn other_numbers_stay() {
        for text in [
            "拨打12345热线",
            "欠了我3个月工资共计12000元",
            "2026年11月27日下午3点",
            "房子面积89.5平方米，单价8500元",
            "订单号AB13812345678X",
            "1234567号楼",
        ] {
            assert_eq!(mask(text), text);
        }
    }

    #[test]
    fn any_text_is_safe() {
        for text in [
            "",
            "\u{0}\u{200b}😀",
            "鲁",
            "1",
            "+",
            "X",
            &"9".repeat(10_000),
        ] {
            let _ = mask(text);
        }
    }
}
