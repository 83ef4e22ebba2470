//! Masking of the personal numbers citizens put in their requests, before a text is stored.
//!
//! A request often carries the caller's mobile or landline number, ID card number, bank card
//! number or licence plate. The decision store keeps texts masked by default (`--store-text
//! masked`): each such number is replaced by a label saying what it was (`[手机号]`), so a
//! supervisor can still read what the request was about.
//!
//! Numbers are found as runs of digits (with the single spaces, hyphens, dots and invisible
//! zero-width characters people type or paste inside them, an optional leading `+` and an
//! optional trailing X) that no other digit touches (a letter may: "ID370…", "Tel139…"), and
//! classified by length and shape: 18 characters ending in a digit or X is an ID
//! number (15 digits: an old one), 11 digits starting 13–19 a mobile number (with or without 86 /
//! +86), 16 to 19 digits a bank card, 10 to 12 digits starting with 0 a landline with its area
//! code, and 7 or 8 digits a landline when the words before it say it is a telephone (in
//! simplified or traditional characters: the text is masked as written). After the country code
//! `+86` or `0086` a number is a telephone number: 11 digits starting 13–19 a mobile number, else
//! a landline with its area code, the area code's 0 dropped (`+86-28-85123456`) or kept; old ID
//! numbers and bank cards never start with 0, so `0086…` is never one.
//!
//! An area code in parentheses (ASCII or full-width) makes the 7- or 8-digit number after it a
//! landline, with no word needed: `(028)85123456`, `（0536）888-1234`, `(028) 8512 3456` (one
//! separator may follow the parenthesis). The code is 0 and two or three digits, the second not
//! 0; after `+86` or `0086` it may also be two or three digits without the 0 (`+86 (28)
//! 85123456`). The whole, parentheses and country code included, is masked.
//!
//! Plates are a province character, an optional space, `·` or `•`, a letter, an optional separator
//! (`·`, `•`, `-` or a space) and five or six letters and digits; where a plate and a masked number overlap, the number wins.
//!
//! Full-width digits, `＋`, `Ｘ` and full-width separators count as their ASCII forms: input
//! methods type them, and the text is stored as the caller wrote it, before normalization.
//!
//! The scanner is one pass over the text's bytes that copies it into the caller's buffer as it
//! goes (the store masks every recorded request on the request path, so it must cost little more
//! than the copy). It looks for ASCII bytes and for a few whole multi-byte characters (full-width
//! forms, zero-width characters, a plate's province character and separator), each matched from
//! its lead byte, so a multi-byte character is never split: UTF-8 continuation bytes never equal
//! an ASCII byte or a lead byte. A table says what each byte may start, so the bytes that start
//! nothing (most of them) cost one load and one test, however many forms are looked for.

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

/// The characters a plate starts with (one per province-level region).
const PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";

/// Whether the six characters before a 7- or 8-digit number (the end of `before`) hold a word
/// that says it is a telephone number: 电话, 座机, 号码, 联系, 手机, in simplified or traditional
/// characters (texts are masked as written, before normalization folds them), or `tel` in any
/// case. One pass over those characters, without allocating: it runs for every such number,
/// dates (2026-12-05) included.
fn phone_word_before(before: &str) -> bool {
    // Backwards: `c` is the character before `next`, `next` the one before `last`.
    let (mut next, mut last) = ('\0', '\0');
    for c in before.chars().rev().take(6) {
        let word = matches!(
            (c, next),
            ('电', '话')
                | ('座', '机')
                | ('号', '码')
                | ('联', '系')
                | ('手', '机')
                | ('電', '話')
                | ('座', '機')
                | ('號', '碼')
                | ('聯', '繫' | '系')
                | ('手', '機')
        ) || [c, next, last]
            .iter()
            .map(char::to_ascii_lowercase)
            .eq(['t', 'e', 'l']);
        if word {
            return true;
        }
        (next, last) = (c, next);
    }
    false
}

/// The digit at `i` (ASCII or full-width `０`–`９`) as an ASCII digit, with its length in bytes.
fn digit_at(b: &[u8], i: usize) -> Option<(u8, usize)> {
    match b.get(i..) {
        Some([c, ..]) if c.is_ascii_digit() => Some((*c, 1)),
        Some([0xEF, 0xBC, c @ 0x90..=0x99, ..]) => Some((b'0' + (c - 0x90), 3)),
        _ => None,
    }
}

/// The length of the separator at `i` that may stand between two digits of a number: a space,
/// hyphen or dot (ASCII or full-width), an ideographic space, or a zero-width character.
fn separator_at(b: &[u8], i: usize) -> usize {
    match b.get(i..) {
        Some([b' ' | b'-' | b'.', ..]) => 1,
        Some(
            [0xEF, 0xBC, 0x8D | 0x8E, ..]      // － ．
            | [0xE3, 0x80, 0x80, ..]           // ideographic space
            | [0xE2, 0x80, 0x8B..=0x8D, ..]    // zero-width space, non-joiner, joiner
            | [0xE2, 0x81, 0xA0, ..]           // word joiner
            | [0xEF, 0xBB, 0xBF, ..],          // zero-width no-break space
        ) => 3,
        _ => 0,
    }
}

/// The length of a `+` (or `＋`) at `i`, 0 if there is none.
fn plus_at(b: &[u8], i: usize) -> usize {
    match b.get(i..) {
        Some([b'+', ..]) => 1,
        Some([0xEF, 0xBC, 0x8B, ..]) => 3,
        _ => 0,
    }
}

/// The length of an X (`X`, `x`, `Ｘ`, `ｘ`) at `i`, 0 if there is none.
fn x_at(b: &[u8], i: usize) -> usize {
    match b.get(i..) {
        Some([b'X' | b'x', ..]) => 1,
        Some([0xEF, 0xBC, 0xB8, ..] | [0xEF, 0xBD, 0x98, ..]) => 3,
        _ => 0,
    }
}

/// The length of an opening parenthesis (`(` or `（`) at `i`, 0 if there is none.
fn open_paren_at(b: &[u8], i: usize) -> usize {
    match b.get(i..) {
        Some([b'(', ..]) => 1,
        Some([0xEF, 0xBC, 0x88, ..]) => 3,
        _ => 0,
    }
}

/// The length of a closing parenthesis (`)` or `）`) at `i`, 0 if there is none.
fn close_paren_at(b: &[u8], i: usize) -> usize {
    match b.get(i..) {
        Some([b')', ..]) => 1,
        Some([0xEF, 0xBC, 0x89, ..]) => 3,
        _ => 0,
    }
}

/// Whether `c`, touching a run of digits, makes it part of a longer number rather than a number
/// of its own: a digit. Letters do not: "ID370702199001011234", "Tel13912345678" and
/// "wx13912345678" are how callers and intake systems write an ID or a phone number, and an order
/// number masked by mistake costs nothing, where a phone number kept is a leak.
fn is_digit(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '０'..='９')
}

/// A run of digits as the classifier reads it: how many digits (and X), the first six (enough
/// for `0086` and the two digits after it), whether a `+` leads it and whether it ends in X.
#[derive(Default)]
struct Run {
    n: usize,
    head: [u8; 6],
    plus: bool,
    last_is_x: bool,
}

impl Run {
    /// How many of its digits are the country code: 2 for `+86`, 4 for `0086`, else 0.
    fn country_code(&self) -> usize {
        match self.head {
            [b'8', b'6', ..] if self.plus => 2,
            [b'0', b'0', b'8', b'6', ..] => 4,
            _ => 0,
        }
    }
}

/// Where the number starting at `start` (a digit, or a `+` before one) ends, and what it holds:
/// digits with single separators between them, then an optional X (ID numbers).
fn digit_run(b: &[u8], start: usize) -> (usize, Run) {
    let mut run = Run::default();
    let push = |run: &mut Run, d: u8| {
        if let Some(h) = run.head.get_mut(run.n) {
            *h = d;
        }
        run.n += 1;
    };
    let plus = plus_at(b, start);
    run.plus = plus > 0;
    let mut j = start + plus;
    loop {
        if let Some((d, len)) = digit_at(b, j) {
            push(&mut run, d);
            j += len;
            continue;
        }
        let sep = separator_at(b, j);
        if sep > 0 && digit_at(b, j + sep).is_some() {
            j += sep;
            continue;
        }
        break;
    }
    let x = x_at(b, j);
    if x > 0 {
        push(&mut run, b'X');
        run.last_is_x = true;
        j += x;
    }
    (j, run)
}

/// What the number `run` is, if it is one to mask; `before` is the text before it.
fn classify(run: &Run, before: &str) -> Option<Kind> {
    let (n, head, last_is_x) = (run.n, run.head, run.last_is_x);
    let code = run.country_code();
    if code > 0 && !last_is_x {
        // The national number: a mobile number, or a landline whose area code has its 0 dropped
        // (as it should be after a country code) or kept.
        let national = (n - code, head[code], head[code + 1]);
        match national {
            (11, b'1', b'3'..=b'9') => return Some(Kind::Mobile),
            (9..=11, b'1'..=b'9', _) | (10..=12, b'0', _) => return Some(Kind::Landline),
            _ => {}
        }
    }
    match n {
        18 => Some(Kind::IdNumber),
        15 if !last_is_x => Some(Kind::IdNumber),
        _ if last_is_x => None,
        11 if head[0] == b'1' && head[1] >= b'3' => Some(Kind::Mobile),
        13 if head[..3] == *b"861" => Some(Kind::Mobile),
        16..=19 => Some(Kind::BankCard),
        10..=12 if head[0] == b'0' => Some(Kind::Landline),
        7 | 8 => phone_word_before(before).then_some(Kind::Landline),
        _ => None,
    }
}

/// Whether a letter or digit comes right after `end`.
fn touches_after(text: &str, end: usize) -> bool {
    text.get(end..)
        .and_then(|t| t.chars().next())
        .is_some_and(is_digit)
}

/// Where the landline whose area code is in parentheses at `i` ends, if one is there: `(028)`
/// and a number of 7 or 8 digits that no letter or digit touches after it. `country`: right
/// after `+86` or `0086`, where the area code may also be written without its 0.
fn landline_in_parens(text: &str, i: usize, country: bool) -> Option<usize> {
    let b = text.as_bytes();
    let mut j = i + open_paren_at(b, i);
    // The area code's digits: how many (counting stops past 4) and the first two.
    let (mut n, mut code) = (0, [0u8; 2]);
    while let Some((d, len)) = digit_at(b, j) {
        if n > 4 {
            return None;
        }
        if let Some(c) = code.get_mut(n) {
            *c = d;
        }
        n += 1;
        j += len;
    }
    let area_code = match code {
        [b'0', b'1'..=b'9'] => (3..=4).contains(&n),
        [b'1'..=b'9', _] => country && (2..=3).contains(&n),
        _ => false,
    };
    let close = close_paren_at(b, j);
    if !area_code || close == 0 {
        return None;
    }
    j += close;
    let sep = separator_at(b, j);
    if sep > 0 && digit_at(b, j + sep).is_some() {
        j += sep;
    }
    digit_at(b, j)?;
    let (end, local) = digit_run(b, j);
    ((7..=8).contains(&local.n) && !local.last_is_x && !touches_after(text, end)).then_some(end)
}

/// The number starting at `start` (a digit, a `+` before one, or an opening parenthesis) if it
/// is one to mask: no letter or digit touches it. Where a parenthesis starts no number, only the
/// parenthesis is passed over.
fn number_at(text: &str, start: usize) -> (usize, Option<Kind>) {
    let b = text.as_bytes();
    let paren = open_paren_at(b, start);
    if paren > 0 {
        // The parenthesis stands between the area code and whatever is before it.
        return match landline_in_parens(text, start, false) {
            Some(end) => (end, Some(Kind::Landline)),
            None => (start + paren, None),
        };
    }
    let (end, run) = digit_run(b, start);
    if text
        .get(..start)
        .and_then(|t| t.chars().next_back())
        .is_some_and(is_digit)
    {
        return (end, None);
    }
    // A country code alone, then an area code in parentheses: `+86 (28) 85123456`.
    if run.country_code() == run.n {
        let sep = separator_at(b, end);
        if let Some(end) = landline_in_parens(text, end + sep, true) {
            return (end, Some(Kind::Landline));
        }
    }
    let kind = if touches_after(text, end) {
        None
    } else {
        classify(&run, text.get(..start).unwrap_or(""))
    };
    (end, kind)
}

/// Where the plate starting at `start` ends, if one does.
fn plate_end(text: &str, start: usize) -> Option<usize> {
    let b = text.as_bytes();
    // Province characters take three bytes; the letter after one is the cheap test. Callers
    // and operators also type a separator there ("川 A12345", "川·A12345").
    let letter = match b.get(start + 3) {
        Some(c) if c.is_ascii_alphabetic() => start + 3,
        Some(b' ') => start + 4,
        // The lead bytes of "·" and "•"; any other byte starts no plate (most characters).
        Some(0xC2 | 0xE2) => {
            let after = text.get(start + 3..)?;
            let s = ["·", "•"].into_iter().find(|s| after.starts_with(s))?;
            start + 3 + s.len()
        }
        _ => return None,
    };
    if !b.get(letter).is_some_and(u8::is_ascii_alphabetic) {
        return None;
    }
    let province = text.get(start..start + 3)?.chars().next()?;
    if !PROVINCES.contains(province) {
        return None;
    }
    let mut j = letter + 1;
    let rest = text.get(j..)?;
    let separator = [" ", "-", "·", "•"]
        .into_iter()
        .find(|s| rest.starts_with(s));
    if let Some(s) = separator {
        j += s.len();
    }
    let alnum = b[j..]
        .iter()
        .take(6)
        .take_while(|c| c.is_ascii_alphanumeric())
        .count();
    // Without the separator the letters and digits would have to start at it: no plate either.
    if alnum < 5 {
        return None;
    }
    // A number that starts among the plate's letters and digits (a letter does not make it part
    // of something else): if it is one to mask, it is masked as what it is, and the plate is not.
    let starts_number = |k: usize| b[k].is_ascii_digit() && (k == j || !b[k - 1].is_ascii_digit());
    if (j..j + alnum).any(|k| starts_number(k) && number_at(text, k).1.is_some()) {
        return None;
    }
    Some(j + alnum)
}

/// What a byte may start, looked up in one load: most bytes (continuation bytes, letters,
/// punctuation) start nothing, and the scanner passes them with one test.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Starts {
    Nothing,
    /// A digit or an opening parenthesis (an area code).
    Number,
    /// A `+`, a number if a digit follows.
    Plus,
    /// The lead byte of the full-width forms (digits, `＋`, `（`) and of other characters.
    FullWidth,
    /// The lead byte of another three- or four-byte character: a plate's province, maybe.
    Lead,
}

const STARTS: [Starts; 256] = {
    let mut table = [Starts::Nothing; 256];
    let mut c = 0;
    while c < 256 {
        table[c] = match c as u8 {
            b'0'..=b'9' | b'(' => Starts::Number,
            b'+' => Starts::Plus,
            0xEF => Starts::FullWidth,
            0xE0.. => Starts::Lead,
            _ => Starts::Nothing,
        };
        c += 1;
    }
    table
};

/// `text` with every phone, ID, bank card and plate number replaced by a label.
pub fn mask(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len());
    mask_into(text, &mut out);
    // Only whole characters of `text` and the labels were copied.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Appends `text`, masked, to `out`, in one pass over its bytes and without allocating.
pub fn mask_into(text: &str, out: &mut Vec<u8>) {
    let b = text.as_bytes();
    // Copied up to `at`; looking at `i`.
    let (mut at, mut i) = (0, 0);
    while i < b.len() {
        let starts = STARTS[usize::from(b[i])];
        if starts == Starts::Nothing {
            i += 1;
            continue;
        }
        let starts_number = match starts {
            Starts::Number => true,
            Starts::Plus => digit_at(b, i + 1).is_some(),
            Starts::FullWidth => {
                digit_at(b, i).is_some()
                    || (plus_at(b, i) > 0 && digit_at(b, i + 3).is_some())
                    || open_paren_at(b, i) > 0
            }
            Starts::Nothing | Starts::Lead => false,
        };
        let (end, kind) = if starts_number {
            // A number not masked is passed over whole, digits that touch it included.
            number_at(text, i)
        } else if matches!(starts, Starts::FullWidth | Starts::Lead) {
            match plate_end(text, i) {
                Some(end) => (end, Some(Kind::Plate)),
                None => (i + 1, None),
            }
        } else {
            (i + 1, None)
        };
        if let Some(kind) = kind {
            out.extend_from_slice(&b[at..i]);
            out.extend_from_slice(kind.label().as_bytes());
            at = end;
        }
        i = end;
        // A plate that ends in a digit ends inside a number its letter touches (or it would not
        // be a plate): the rest of that number is passed over, not masked on its own.
        if kind == Some(Kind::Plate) && b[end - 1].is_ascii_digit() {
            i = digit_run(b, end - 1).0;
        }
    }
    out.extend_from_slice(&b[at..]);
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
            // As input methods type them, and as they are pasted.
            (
                "我电话１３８１２３４５６７８物业不修电梯",
                "我电话[手机号]物业不修电梯",
            ),
            (
                "身份证１１０１０１１９９００３０７１２３Ｘ",
                "身份证[身份证号]",
            ),
            ("＋８６ １３８ １２３４ ５６７８", "[手机号]"),
            ("手机138\u{200b}1234\u{200b}5678", "手机[手机号]"),
            ("手机138.1234.5678", "手机[手机号]"),
            ("座机0536－8881234", "座机[电话]"),
        ];
        for (text, masked) in cases {
            assert_eq!(mask(text), masked, "{text}");
        }
    }

    #[test]
    fn landlines_with_the_area_code_in_parentheses_or_a_country_code() {
        let cases = [
            ("座机(028)85123456", "座机[电话]"),
            ("（028）85123456，小区停水了", "[电话]，小区停水了"),
            ("(010)12345678", "[电话]"),
            ("(028) 8512 3456", "[电话]"),
            ("(028)8512-3456", "[电话]"),
            ("（0536）－888-1234转人工", "[电话]转人工"),
            ("（０２８）８５１２３４５６", "[电话]"),
            ("（028）\u{3000}85123456", "[电话]"),
            // The country code, the area code's 0 dropped (as it should be) or kept.
            ("+86-28-85123456", "[电话]"),
            ("+86 28 8512 3456", "[电话]"),
            ("0086-28-85123456", "[电话]"),
            ("＋８６－２８－８５１２３４５６", "[电话]"),
            ("+86 028 85123456", "[电话]"),
            ("+86 571 8765 4321", "[电话]"),
            ("+86 (28) 8512 3456", "[电话]"),
            ("+86(010)12345678", "[电话]"),
            ("0086 (28) 85123456", "[电话]"),
            // Mobile numbers after a country code.
            ("+86 139 1234 5678", "[手机号]"),
            ("+8613912345678", "[手机号]"),
            ("86-13912345678", "[手机号]"),
            ("0086 139 1234 5678", "[手机号]"),
            // 15 digits, but no old ID number starts with 0.
            ("008613812345678", "[手机号]"),
        ];
        for (text, masked) in cases {
            assert_eq!(mask(text), masked, "{text}");
        }
    }

    #[test]
    fn phone_words_in_traditional_characters() {
        for word in reference::PHONE_WORDS {
            assert_eq!(mask(&format!("{word}：8881234")), format!("{word}：[电话]"));
        }
        let cases = [
            ("座機85123456", "座機[电话]"),
            ("聯繫電話：8512 3456", "聯繫電話：[电话]"),
            ("手機號碼 8881234", "手機號碼 [电话]"),
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
            "2026-12-05下午3点到3-501室，12:30前送6件",
            "订单号123456，金额(2026)12345678元",
            "订单号(123456)，第(3)501室",
            // Not an area code: too short, or starting 00.
            "(01)12345678",
            "(0028)85123456",
            // Not a landline's number after the area code: too short or too long.
            "(028)123456",
            "(028)851234567",
            "+86元，涨幅+86.5%",
            "86-28-85123456",
        ] {
            assert_eq!(mask(text), text);
        }
    }

    #[test]
    fn edges_of_numbers_and_plates() {
        let cases = [
            // A plate's letters run on: the first six are the plate.
            ("鲁G1234567", "[车牌号]7"),
            // A number right after a plate's separator is masked as what it is.
            ("鲁G-13812345678", "鲁G-[手机号]"),
            ("鲁G 12345", "[车牌号]"),
            // Too short after the separator: no plate.
            ("鲁G-1234", "鲁G-1234"),
            // A phone word in the title counts for a number at the start of the text.
            ("电话\n8881234", "电话\n[电话]"),
            ("TEL:8881234", "TEL:[电话]"),
            // A `+` that touches a digit before it is part of something else.
            ("1+13812345678", "1+13812345678"),
            ("++8613812345678", "+[手机号]"),
            ("13812345678-", "[手机号]-"),
            ("0536 8881234", "[电话]"),
            ("京A12345与沪B67890", "[车牌号]与[车牌号]"),
            // A separator after the province character, as plates are often typed.
            ("川 A12345停在消防通道", "[车牌号]停在消防通道"),
            ("川·A 12345", "[车牌号]"),
            ("川•AD12345", "[车牌号]"),
            ("川 是A12345", "川 是A12345"),
            ("川  A12345", "川  A12345"),
            ("川 A1234", "川 A1234"),
            // The number a plate ends in goes on past it: the rest is not a number of its own.
            ("鲁X05360 138123456700536", "[车牌号] 138123456700536"),
            ("鲁X05360-13812345678", "鲁X[银行卡号]"),
            // Parentheses around an area code: the number after them is what it is.
            ("(028)13812345678", "(028)[手机号]"),
            // A letter after a number does not make it something else.
            ("(028)85123456A", "[电话]A"),
            ("ID370702199001011234", "ID[身份证号]"),
            ("Tel13912345678，wx13912345678", "Tel[手机号]，wx[手机号]"),
            ("鲁X37070219900101123", "鲁X[银行卡号]"),
            ("(028)8512345X", "(028)8512345X"),
            ("1(028)85123456", "1[电话]"),
            // A country code that ends a longer number is not one.
            ("1+86(28)85123456", "1+86(28)85123456"),
            ("1 0086(28)85123456", "1 0086(28)85123456"),
            ("鲁G12345(028)85123456", "[车牌号][电话]"),
            ("(028)85123456(010)12345678", "[电话][电话]"),
        ];
        for (text, masked) in cases {
            assert_eq!(mask(text), masked, "{text}");
        }
    }

    #[test]
    fn any_text_is_safe() {
        for text in [
            "",
            "\u{0}\u{200b}😀",
            "鲁",
            "鲁G",
            "鲁G·",
            "鲁 ",
            "鲁·",
            "鲁•",
            "鲁 G",
            "1",
            "+",
            "X",
            "(",
            "（",
            "(0",
            "(028)",
            "(028) ",
            "+86 (",
            &"(".repeat(10_000),
            &"9".repeat(10_000),
        ] {
            let _ = mask(text);
        }
    }

    /// The masking as first written, with two regular expressions: the scanner must agree with
    /// it on any text.
    mod reference {
        use regex::Regex;

        use super::super::Kind;

        /// Words that, just before a 7- or 8-digit number, say it is a telephone number.
        pub const PHONE_WORDS: [&str; 12] = [
            "电话", "座机", "号码", "联系", "手机", "tel", "電話", "座機", "號碼", "聯繫", "聯系",
            "手機",
        ];

        /// Full-width digits and X as ASCII; anything else as it is.
        fn fold(c: char) -> char {
            match c {
                '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
                'Ｘ' => 'X',
                'ｘ' => 'x',
                _ => c,
            }
        }

        fn is_digit(c: char) -> bool {
            c.is_ascii_digit() || matches!(c, '０'..='９')
        }

        fn classify(run: &str, before: &str) -> Option<Kind> {
            let digits: String = run
                .chars()
                .map(fold)
                .filter(|c| c.is_ascii_alphanumeric())
                .collect();
            let n = digits.len();
            let last_is_x = digits.ends_with(['X', 'x']);
            let national = digits
                .strip_prefix("86")
                .filter(|_| run.starts_with('+') || n == 13);
            // After a country code, +86 or 0086, a telephone number.
            let after_code = digits
                .strip_prefix("86")
                .filter(|_| run.starts_with(['+', '＋']))
                .or_else(|| digits.strip_prefix("0086"))
                .filter(|_| !last_is_x);
            if let Some(m) = after_code {
                let b = m.as_bytes();
                if m.len() == 11 && b[0] == b'1' && b[1] >= b'3' {
                    return Some(Kind::Mobile);
                }
                let zero = m.starts_with('0');
                if (!zero && (9..=11).contains(&m.len())) || (zero && (10..=12).contains(&m.len()))
                {
                    return Some(Kind::Landline);
                }
            }
            match n {
                18 => Some(Kind::IdNumber),
                15 if !last_is_x => Some(Kind::IdNumber),
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

        /// The digits of `s`, full-width ones as ASCII.
        fn digits(s: &str) -> String {
            s.chars().map(fold).filter(char::is_ascii_digit).collect()
        }

        /// Whether an area code in parentheses, `(028)`, is one (`country`: after +86 or 0086).
        fn area_code(code: &str, country: bool) -> bool {
            let code = digits(code);
            let b = code.as_bytes();
            match b {
                [b'0', b'1'..=b'9', ..] => (3..=4).contains(&b.len()),
                [b'1'..=b'9', ..] => country && (2..=3).contains(&b.len()),
                _ => false,
            }
        }

        /// Whether the number after an area code in parentheses makes it a landline: 7 or 8
        /// digits (no X), and no letter or digit after it.
        fn local_number(number: &str, after: Option<char>) -> bool {
            let n = number
                .chars()
                .map(fold)
                .filter(char::is_ascii_alphanumeric)
                .count();
            (7..=8).contains(&n)
                && !number.ends_with(['X', 'x', 'Ｘ', 'ｘ'])
                && !after.is_some_and(is_digit)
        }

        pub fn mask(text: &str) -> String {
            const SEP: &str = r"[ \-.－．\x{3000}\x{200B}-\x{200D}\x{2060}\x{FEFF}]";
            const DIGIT: &str = "[0-9０-９]";
            let digit_runs =
                Regex::new(&format!("[+＋]?{DIGIT}(?:{SEP}?{DIGIT})*(?:[XxＸｘ])?")).unwrap();
            let in_parens =
                format!("[(（]({DIGIT}+)[)）]{SEP}?({DIGIT}(?:{SEP}?{DIGIT})*(?:[XxＸｘ])?)");
            let parens = Regex::new(&in_parens).unwrap();
            let country_code =
                Regex::new("^(?:[+＋][8８][6６]|[+＋]?[0０][0０][8８][6６])$").unwrap();
            let after_country_code = Regex::new(&format!("^{SEP}?{in_parens}")).unwrap();
            let plates = Regex::new(
                r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][ ·•]?[A-Za-z][·•\- ]?[A-Za-z0-9]{5,6}",
            )
            .unwrap();
            let mut spans: Vec<(usize, usize, Kind)> = Vec::new();
            let overlaps = |spans: &[(usize, usize, Kind)], s: usize, e: usize| {
                spans.iter().any(|&(a, b, _)| s < b && a < e)
            };
            let runs: Vec<_> = digit_runs.find_iter(text).collect();
            // Landlines with the area code in parentheses, after a country code first: a number
            // that is only the country code.
            for r in &runs {
                let prev = text[..r.start()].chars().next_back();
                if !country_code.is_match(r.as_str()) || prev.is_some_and(is_digit) {
                    continue;
                }
                if let Some(c) = after_country_code.captures(&text[r.end()..]) {
                    let end = r.end() + c[0].len();
                    if area_code(&c[1], true) && local_number(&c[2], text[end..].chars().next()) {
                        spans.push((r.start(), end, Kind::Landline));
                    }
                }
            }
            for c in parens.captures_iter(text) {
                let m = c.get(0).unwrap();
                if area_code(&c[1], false)
                    && local_number(&c[2], text[m.end()..].chars().next())
                    && !overlaps(&spans, m.start(), m.end())
                {
                    spans.push((m.start(), m.end(), Kind::Landline));
                }
            }
            for m in runs {
                let (s, e) = (m.start(), m.end());
                let prev = text[..s].chars().next_back();
                let next = text[e..].chars().next();
                if prev.is_some_and(is_digit)
                    || next.is_some_and(is_digit)
                    || overlaps(&spans, s, e)
                {
                    continue;
                }
                if let Some(kind) = classify(m.as_str(), &text[..s]) {
                    spans.push((s, e, kind));
                }
            }
            for m in plates.find_iter(text) {
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
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        /// Texts made of what matters to masking: digits, separators, X, letters, province
        /// characters, plate separators, phone words, other Chinese text.
        #[test]
        fn the_scanner_masks_as_the_regular_expressions_did(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "0", "1", "3", "8", "6", "5", "9", "138", "0536", "8881234", "12345",
                    " ", "-", "+", "X", "x", "G", "a", "T", "鲁", "京", "·", "•", "电话", "tel",
                    "号", "，", "\n", "😀", "1381234567", "37070219900101123", "１", "３", "８",
                    "－", ".", "\u{200b}", "\u{3000}", "＋", "Ｘ", "ａ", "１３８１２３４",
                    "(", ")", "（", "）", "028", "０２８", "86", "0086", "+86", "85123456",
                    "座機", "聯繫", "0", "2", "TeL", "(028)", "（０２８）", "(28)", "+86 (28)", "0086(",
                    "8512 3456",
                ]),
                0..24,
            )
        ) {
            let text: String = parts.concat();
            proptest::prop_assert_eq!(mask(&text), reference::mask(&text), "{:?}", text);
        }
    }
}
