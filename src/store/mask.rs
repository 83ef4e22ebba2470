//! Masking of the personal numbers citizens put in their requests, before a text is stored.
//!
//! A request often carries the caller's mobile or landline number, ID card number, bank card
//! number or licence plate. The decision store keeps texts masked by default (`--store-text
//! masked`): each such number is replaced by a label saying what it was (`[手机号]`), so a
//! supervisor can still read what the request was about.
//!
//! Numbers are found as runs of digits (with the spaces, tabs, line breaks, hyphens, dashes,
//! tildes, dots and invisible zero-width characters people type or paste inside them, up to
//! three together, an optional leading `+` and an
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
//! A run that is not a number as a whole may hold one: its longest prefix ending between two
//! groups of digits that is one is masked, and the rest scanned as a run of its own
//! ("13812345678 13912345678"); a telephone number followed by up to four digits keeps them as
//! its extension ("0536-8234567-801"). A run of more than 25 groups is only looked at whole, so
//! that the scan stays one pass. After a telephone number, a `/`, `、`, `或` and the like make
//! the 7 or 8 digits after them a telephone number too ("0536-8234567/8234568").
//!
//! Plates are a province character, an optional space, `·`, `•` or `・`, a letter, and five or
//! six letters and digits with an optional separator (`·`, `•`, `・`, `-`, `.` or a space) before
//! them or after the first of them ("鲁G·D12345", "鲁GD 12345"), letters and digits ASCII or
//! full-width; where a plate and a masked number overlap, the number wins.
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
/// tab, line break or NUL, a hyphen, dash, tilde or dot (ASCII, full-width or typographic), an
/// ideographic space, or a zero-width character. Up to [`MAX_SEPARATORS`] of them may stand
/// together ("138 - 1234 - 5678").
fn separator_at(b: &[u8], i: usize) -> usize {
    match b.get(i..) {
        Some([b' ' | b'-' | b'.' | b'~' | b'\t' | b'\n' | b'\r' | 0, ..]) => 1,
        Some(
            [0xEF, 0xBC, 0x8D | 0x8E, ..]      // － ．
            | [0xEF, 0xBD, 0x9E, ..]           // ～
            | [0xEF, 0xB9, 0xA3, ..]           // ﹣ (small hyphen-minus)
            | [0xE3, 0x80, 0x80, ..]           // ideographic space
            | [0xE2, 0x80, 0x90..=0x95, ..]    // ‐ ‑ ‒ – — ―
            | [0xE2, 0x88, 0x92, ..]           // − (minus sign)
            | [0xE2, 0x80, 0x8B..=0x8D, ..]    // zero-width space, non-joiner, joiner
            | [0xE2, 0x81, 0xA0, ..]           // word joiner
            | [0xEF, 0xBB, 0xBF, ..],          // zero-width no-break space
        ) => 3,
        _ => 0,
    }
}

/// The most separator characters that may stand together between two digits of a number.
const MAX_SEPARATORS: usize = 3;

/// The length of the separators at `i` if a digit follows them (at most [`MAX_SEPARATORS`]
/// characters), else 0.
fn separators_before_digit(b: &[u8], i: usize) -> usize {
    let mut j = i;
    for _ in 0..MAX_SEPARATORS {
        let sep = separator_at(b, j);
        if sep == 0 {
            break;
        }
        j += sep;
        if digit_at(b, j).is_some() {
            return j - i;
        }
    }
    0
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
/// for `0086` and the two digits after it), whether a `+` leads it and whether it ends in X; and
/// where it starts and how many separators split it into groups, to find a number inside a run
/// that is not one as a whole ([`Run::group_ends`] walks it again: few runs need it).
#[derive(Default, Clone, Copy)]
struct Run {
    n: usize,
    head: [u8; 6],
    plus: bool,
    last_is_x: bool,
    start: usize,
    /// Where separators split it: one fewer than its groups.
    splits: usize,
    /// Digits in its first group, and before its last split.
    first_n: usize,
    last_split_n: usize,
}

/// The most groups but one a run may have for a number to be looked for inside it: a run split
/// further is only looked at whole, which bounds the scanner's work on a long run of short
/// groups ("1 2 3 4 …") to one pass. 24 holds a bank card typed a digit at a time.
const GROUPS: usize = 24;

impl Run {
    /// How many of its digits are the country code: 2 for `+86`, 4 for `0086`, else 0.
    fn country_code(&self) -> usize {
        match self.head {
            [b'8', b'6', ..] if self.plus => 2,
            [b'0', b'0', b'8', b'6', ..] => 4,
            _ => 0,
        }
    }

    /// The run's first `n` digits (a prefix ending at a group's end) as a run of their own.
    fn prefix(&self, n: usize) -> Run {
        Run {
            n,
            last_is_x: false,
            splits: 0,
            ..*self
        }
    }

    /// Whether a number may be looked for inside it.
    fn may_split(&self) -> bool {
        (1..=GROUPS).contains(&self.splits)
    }

    /// Calls `f(byte where the group ends, digits up to there)` for each group but the last, in
    /// order.
    fn group_ends(&self, b: &[u8], mut f: impl FnMut(usize, usize)) {
        let (mut j, mut n) = (self.start + plus_at(b, self.start), 0);
        loop {
            if let Some((_, len)) = digit_at(b, j) {
                n += 1;
                j += len;
                continue;
            }
            let sep = separators_before_digit(b, j);
            if sep == 0 {
                return;
            }
            f(j, n);
            j += sep;
        }
    }
}

/// Where the number starting at `start` (a digit, or a `+` before one) ends, and what it holds:
/// digits with separators between them, then an optional X (ID numbers).
fn digit_run(b: &[u8], start: usize) -> (usize, Run) {
    let mut run = Run {
        start,
        ..Run::default()
    };
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
        let sep = separators_before_digit(b, j);
        if sep > 0 {
            if run.splits == 0 {
                run.first_n = run.n;
            }
            run.splits += 1;
            run.last_split_n = run.n;
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

/// The most digits after a telephone number that are taken as its extension.
const EXTENSION: usize = 4;

/// What the number `run` is, if it is one to mask; `before` is the text before it, `after_phone`
/// whether a telephone number masked just before it says it is one too ("0536-8234567/8234568").
fn classify(run: &Run, before: &str, after_phone: bool) -> Option<Kind> {
    let (n, head, last_is_x) = (run.n, run.head, run.last_is_x);
    let code = run.country_code();
    // A prefix of a run (a group that ends inside it, "00 86…") keeps the run's head: its own
    // digits may end before the country code does.
    if code > 0 && n >= code + 2 && !last_is_x {
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
        7 | 8 => (after_phone || phone_word_before(before)).then_some(Kind::Landline),
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
/// and a number of 7 or 8 digits that no letter or digit touches after it, with its extension
/// if one follows; `true` with it when the span ends inside a longer run of digits (a number of
/// 7 or 8 digits, then the rest of the run: "(028)85123456 13812345678"). `country`: right after
/// `+86` or `0086`, where the area code may also be written without its 0.
fn landline_in_parens(text: &str, i: usize, country: bool) -> Option<(usize, bool)> {
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
    if (7..=8).contains(&local.n) && !local.last_is_x {
        return (!touches_after(text, end)).then_some((end, false));
    }
    if !local.may_split() {
        return None;
    }
    let mut longest = None;
    local.group_ends(b, |group_end, n| {
        if (7..=8).contains(&n) {
            longest = Some((group_end, n));
        }
    });
    let (group_end, n) = longest?;
    let extension = !local.last_is_x && local.n - n <= EXTENSION && !touches_after(text, end);
    Some(if extension {
        (end, false)
    } else {
        (group_end, true)
    })
}

/// A number found where the scanner looks: where the scanner goes on, what was found there if
/// it is one to mask, and whether the scanner stopped inside a run of digits whose next group
/// is to be scanned as a run of its own.
struct Found {
    end: usize,
    kind: Option<Kind>,
    inside: bool,
}

impl Found {
    fn to(end: usize, kind: Option<Kind>) -> Found {
        Found {
            end,
            kind,
            inside: false,
        }
    }
}

/// The number starting at `start` (a digit, a `+` before one, or an opening parenthesis) if it
/// is one to mask: no letter or digit touches it. Where a parenthesis starts no number, only the
/// parenthesis is passed over. A run of digits that is not a number as a whole may hold one:
/// its longest prefix ending at a group's end that is one (a telephone number followed by at
/// most [`EXTENSION`] digits, an extension as in "0536-8234567-801", is masked with them; after
/// any other prefix the rest is scanned as a run of its own: "13812345678 13912345678" is two
/// mobile numbers). Where no prefix is one, its first group is passed over and the rest scanned
/// again. `after_phone`: a telephone number masked just before this one says
/// it is one too; `continued`: the run is the rest of one whose first groups were passed over or
/// masked (its start is not a country code's).
fn number_at(text: &str, start: usize, after_phone: bool, continued: bool) -> Found {
    let b = text.as_bytes();
    let paren = open_paren_at(b, start);
    if paren > 0 {
        // The parenthesis stands between the area code and whatever is before it.
        return match landline_in_parens(text, start, false) {
            Some((end, inside)) => Found {
                end,
                kind: Some(Kind::Landline),
                inside,
            },
            None => Found::to(start + paren, None),
        };
    }
    let (end, run) = digit_run(b, start);
    if text
        .get(..start)
        .and_then(|t| t.chars().next_back())
        .is_some_and(is_digit)
    {
        return Found::to(end, None);
    }
    // A country code alone, then an area code in parentheses: `+86 (28) 85123456`.
    if run.country_code() == run.n && !continued {
        let sep = separator_at(b, end);
        if let Some((end, inside)) = landline_in_parens(text, end + sep, true) {
            return Found {
                end,
                kind: Some(Kind::Landline),
                inside,
            };
        }
    }
    if touches_after(text, end) {
        return Found::to(end, None);
    }
    let before = text.get(..start).unwrap_or("");
    if let Some(kind) = classify(&run, before, after_phone) {
        return Found::to(end, Some(kind));
    }
    // The fewest digits a number has (a landline without its area code): a run whose prefixes
    // all have fewer, and that has fewer beyond its first group, holds none inside it and is
    // passed over whole (dates, times, amounts).
    let no_prefix = run.last_split_n < MIN_DIGITS;
    let no_rest = run.n - run.first_n < MIN_DIGITS;
    if !run.may_split() || (no_prefix && no_rest) {
        return Found::to(end, None);
    }
    let mut found = None;
    let mut first = (end, run.n);
    run.group_ends(b, |group_end, n| {
        first = first.min((group_end, n));
        if let Some(kind) = classify(&run.prefix(n), before, after_phone) {
            let extension = matches!(kind, Kind::Mobile | Kind::Landline)
                && !run.last_is_x
                && run.n - n <= EXTENSION;
            found = Some((if extension { end } else { group_end }, kind));
        }
    });
    match found {
        Some((masked_end, kind)) => Found {
            end: masked_end,
            kind: Some(kind),
            inside: masked_end < end,
        },
        None if run.n - first.1 >= MIN_DIGITS => Found {
            end: first.0,
            kind: None,
            inside: true,
        },
        None => Found::to(end, None),
    }
}

/// The fewest digits of a number to mask: a landline without its area code.
const MIN_DIGITS: usize = 7;

/// Whether the digit at `k` continues a run of digits: separators, and a digit before them.
fn continues_run(text: &str, k: usize) -> bool {
    let b = text.as_bytes();
    let mut j = k;
    for _ in 0..MAX_SEPARATORS {
        let Some(c) = text.get(..j).and_then(|t| t.chars().next_back()) else {
            return false;
        };
        let at = j - c.len_utf8();
        if is_digit(c) {
            return j < k;
        }
        if separator_at(b, at) != c.len_utf8() {
            return false;
        }
        j = at;
    }
    text.get(..j)
        .and_then(|t| t.chars().next_back())
        .is_some_and(is_digit)
}

/// The separators that may stand after a plate's province character, and inside the plate.
const PLATE_LEAD: [char; 5] = [' ', '·', '•', '・', '\u{3000}'];
const PLATE_INSIDE: [char; 9] = [' ', '-', '·', '•', '・', '.', '．', '－', '\u{3000}'];

/// A plate's letter or digit (ASCII or full-width) at the start of `s`, with its length.
fn plate_alnum(s: &str) -> Option<(char, usize)> {
    let c = s.chars().next()?;
    let ok = c.is_ascii_alphanumeric() || matches!(c, 'Ａ'..='Ｚ' | 'ａ'..='ｚ' | '０'..='９');
    ok.then(|| (c, c.len_utf8()))
}

/// A plate's letter (ASCII or full-width) at the start of `s`, with its length.
fn plate_letter(s: &str) -> Option<usize> {
    plate_alnum(s)
        .filter(|(c, _)| !is_digit(*c))
        .map(|(_, len)| len)
}

/// The length of one of `seps` at the start of `s`, 0 if there is none.
fn plate_separator(s: &str, seps: &[char]) -> usize {
    s.chars()
        .next()
        .filter(|c| seps.contains(c))
        .map_or(0, char::len_utf8)
}

/// Where the plate starting at `start` ends, if one does: a province character, an optional
/// separator, a letter, then five or six letters and digits with one optional separator before
/// them or after the first of them ("鲁G·D12345", "鲁GD 12345"); full-width letters and digits
/// count as their ASCII forms.
fn plate_end(text: &str, start: usize) -> Option<usize> {
    let b = text.as_bytes();
    // Province characters take three bytes; what follows one is the cheap test: an ASCII
    // letter, a space, or the lead byte of a separator or a full-width letter. Any other byte
    // starts no plate (most characters).
    match b.get(start + 3) {
        Some(c) if c.is_ascii_alphabetic() || *c == b' ' => {}
        Some(0xC2 | 0xE2 | 0xE3 | 0xEF) => {
            let may_follow = matches!(
                b.get(start + 3..),
                Some(
                    [0xC2, 0xB7, ..]                        // ·
                    | [0xE2, 0x80, 0xA2, ..]                // •
                    | [0xE3, 0x83, 0xBB, ..]                // ・
                    | [0xE3, 0x80, 0x80, ..]                // ideographic space
                    | [0xEF, 0xBC, 0xA1..=0xBA, ..]         // Ａ-Ｚ
                    | [0xEF, 0xBD, 0x81..=0x9A, ..] // ａ-ｚ
                )
            );
            if !may_follow {
                return None;
            }
        }
        _ => return None,
    }
    let province = text.get(start..start + 3)?.chars().next()?;
    if !PROVINCES.contains(province) {
        return None;
    }
    let mut j = start + 3;
    j += plate_separator(text.get(j..)?, &PLATE_LEAD);
    j += plate_letter(text.get(j..)?)?;
    // The letters and digits after the letter: where each starts, and where the last ends.
    let mut at = [0usize; 6];
    let tail = |mut j: usize, at: &mut [usize], skip_after_first: bool| -> (usize, usize) {
        let mut count = 0;
        while count < at.len() {
            if skip_after_first && count == 1 {
                let sep = text
                    .get(j..)
                    .map_or(0, |s| plate_separator(s, &PLATE_INSIDE));
                if sep == 0 {
                    break;
                }
                j += sep;
            }
            let Some((_, len)) = text.get(j..).and_then(plate_alnum) else {
                break;
            };
            if let Some(a) = at.get_mut(count) {
                *a = j;
            }
            count += 1;
            j += len;
        }
        (count, j)
    };
    let sep = plate_separator(text.get(j..)?, &PLATE_INSIDE);
    let (mut count, mut end) = tail(j + sep, &mut at, false);
    if count < 5 && sep == 0 {
        // The separator after the first letter or digit.
        (count, end) = tail(j, &mut at, true);
    }
    if count < 5 {
        return None;
    }
    // A number that starts among the plate's letters and digits (a letter does not make it part
    // of something else): if it is one to mask, it is masked as what it is, and the plate is not.
    let starts_number = |k: usize| {
        digit_at(b, k).is_some()
            && !text
                .get(..k)
                .and_then(|t| t.chars().next_back())
                .is_some_and(is_digit)
    };
    if at[..count].iter().any(|&k| {
        starts_number(k)
            && number_at(text, k, false, continues_run(text, k))
                .kind
                .is_some()
    }) {
        return None;
    }
    Some(end)
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

/// The characters that, between a telephone number and a number of 7 or 8 digits, say the
/// second is a telephone number too: "0536-8234567/8234568", "8234567或8234568".
const AFTER_PHONE: [char; 9] = ['/', '／', '、', '，', ',', '或', '和', '；', ';'];

/// Whether one of [`AFTER_PHONE`] alone stands between `from` and `to`.
fn one_char_between(text: &str, from: usize, to: usize) -> bool {
    let mut between = text.get(from..to).unwrap_or("").chars();
    between.next().is_some_and(|c| AFTER_PHONE.contains(&c)) && between.next().is_none()
}

/// Appends `text`, masked, to `out`, in one pass over its bytes and without allocating.
pub fn mask_into(text: &str, out: &mut Vec<u8>) {
    let b = text.as_bytes();
    // Copied up to `at`; looking at `i`.
    let (mut at, mut i) = (0, 0);
    // Where the rest of a run of digits starts whose first groups were passed over or masked,
    // and where the last telephone number masked ends.
    let (mut continued_at, mut phone_end) = (usize::MAX, usize::MAX);
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
        let found = if starts_number {
            // A number not masked is passed over whole, digits that touch it included.
            let after_phone = phone_end < i && one_char_between(text, phone_end, i);
            number_at(text, i, after_phone, i == continued_at)
        } else if matches!(starts, Starts::FullWidth | Starts::Lead) {
            match plate_end(text, i) {
                Some(end) => Found::to(end, Some(Kind::Plate)),
                None => Found::to(i + 1, None),
            }
        } else {
            Found::to(i + 1, None)
        };
        if let Some(kind) = found.kind {
            out.extend_from_slice(&b[at..i]);
            out.extend_from_slice(kind.label().as_bytes());
            at = found.end;
            if matches!(kind, Kind::Mobile | Kind::Landline) {
                phone_end = found.end;
            }
        }
        i = found.end;
        // A plate that ends in a digit ends inside a group of digits its letter touches (or it
        // would not be a plate): the rest of that group is passed over, not masked on its own,
        // and the groups after it are scanned as a run of their own.
        let ends_in_digit = found.kind == Some(Kind::Plate)
            && text
                .get(..i)
                .and_then(|t| t.chars().next_back())
                .is_some_and(is_digit);
        if ends_in_digit {
            while let Some((_, len)) = digit_at(b, i) {
                i += len;
            }
        }
        if found.inside || ends_in_digit {
            let sep = separators_before_digit(b, i);
            if sep > 0 {
                continued_at = i + sep;
            }
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
    fn numbers_written_as_callers_and_intake_systems_write_them() {
        let cases = [
            // An extension after the number.
            ("电话0536-8234567-801", "电话[电话]"),
            ("010-12345678-123转人工", "[电话]转人工"),
            ("(0536)8234567-801", "[电话]"),
            ("13812345678-1", "[手机号]"),
            ("0536-82345678转123", "[电话]转123"),
            // Two numbers in one run of digits.
            ("13812345678 13912345678", "[手机号] [手机号]"),
            ("(028)85123456 13812345678", "[电话] [手机号]"),
            ("房号12 37070219900101123X", "房号12 [身份证号]"),
            // A second number after a slash, 或 or 、.
            ("0536-8234567/8234568", "[电话]/[电话]"),
            ("座机8234567或8234568", "座机[电话]或[电话]"),
            ("13812345678、8234568", "[手机号]、[电话]"),
            ("2026-12-05/8234568", "2026-12-05/8234568"),
            // Dashes, tildes and spaces of every kind, and more than one together.
            ("0536—8234567", "[电话]"),
            ("0536~8234567", "[电话]"),
            ("138‐1234‐5678", "[手机号]"),
            ("１３８﹣１２３４﹣５６７８", "[手机号]"),
            ("138 - 1234 - 5678", "[手机号]"),
            ("138\t1234\t5678", "[手机号]"),
            ("138\n1234\n5678", "[手机号]"),
            ("138\u{0}1234\u{0}5678", "[手机号]"),
            // Plates in full-width letters and digits, and with other separators.
            ("鲁Ｇ12345", "[车牌号]"),
            ("鲁G１２３４５", "[车牌号]"),
            ("鲁Ｇ·Ｄ１２３４５", "[车牌号]"),
            ("鲁G・12345", "[车牌号]"),
            ("鲁G.12345", "[车牌号]"),
            ("鲁GD 12345", "[车牌号]"),
            ("车牌鲁ｇ１２３４５的车", "车牌[车牌号]的车"),
        ];
        for (text, masked) in cases {
            assert_eq!(mask(text), masked, "{text}");
        }
    }

    #[test]
    fn a_long_run_of_short_groups_is_looked_at_whole() {
        // More groups than a run keeps: looked at whole, in one pass (20,000 one-digit groups
        // would otherwise be scanned again after each).
        let text = "1 ".repeat(20_000) + "13812345678";
        assert_eq!(mask(&text), text);
        // A bank card typed a digit at a time is within the bound.
        assert_eq!(mask("6 2 2 2 0 2 1 2 3 4 5 6 7 8 9 0 1 2 3"), "[银行卡号]");
        assert_eq!(mask("12 13812345678"), "12 [手机号]");
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
            // The group of digits a plate ends in goes on past it: the rest of that group is not a
            // number of its own; the groups after it are scanned as a run of their own.
            ("鲁X05360 138123456700536", "[车牌号] [身份证号]"),
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

        use super::super::{GROUPS, Kind};

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

        fn classify(run: &str, before: &str, after_phone: bool) -> Option<Kind> {
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
                    (after_phone || PHONE_WORDS.iter().any(|w| tail.contains(w)))
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

        /// Where the landline after an area code in parentheses ends (`local`: the digits
        /// after it, from byte `at` of `text`): 7 or 8 digits (no X) and no digit after them,
        /// or with up to four more (an extension); or 7 or 8 digits that end a group, before
        /// more digits. `None`: no landline.
        fn local_number(text: &str, at: usize, local: &str) -> Option<usize> {
            let end = at + local.len();
            let touched = text[end..].chars().next().is_some_and(is_digit);
            let x = local.ends_with(['X', 'x', 'Ｘ', 'ｘ']);
            let n = count(local);
            if (7..=8).contains(&n) && !x {
                return (!touched).then_some(end);
            }
            let groups = groups(local);
            if groups.len() > GROUPS + 1 {
                return None;
            }
            let group_end = groups[..groups.len() - 1]
                .iter()
                .rev()
                .map(|&(_, e)| e)
                .find(|&e| (7..=8).contains(&count(&local[..e])))?;
            let before = count(&local[..group_end]);
            Some(if !x && n - before <= 4 && !touched {
                end
            } else {
                at + group_end
            })
        }

        /// The digits (and X) of a run.
        fn count(run: &str) -> usize {
            run.chars()
                .map(fold)
                .filter(char::is_ascii_alphanumeric)
                .count()
        }

        /// The byte ranges of a run's groups: what its separators stand between.
        fn groups(run: &str) -> Vec<(usize, usize)> {
            let seps = Regex::new(&format!("{SEP}+")).unwrap();
            let mut out = Vec::new();
            let mut at = 0;
            for m in seps.find_iter(run) {
                out.push((at, m.start()));
                at = m.end();
            }
            out.push((at, run.len()));
            out
        }

        const SEP: &str = r"[ \t\n\r\x00~\-.－．～﹣\x{2010}-\x{2015}\x{2212}\x{3000}\x{200B}-\x{200D}\x{2060}\x{FEFF}]";

        /// Separators that, alone between a telephone number and 7 or 8 digits, make those a
        /// telephone number too.
        fn one_char_between(text: &str, from: usize, to: usize) -> bool {
            let between: Vec<char> = text[from..to].chars().collect();
            between.len() == 1 && "/／、，,或和；;".contains(between[0])
        }

        pub fn mask(text: &str) -> String {
            const DIGIT: &str = "[0-9０-９]";
            let digit_runs = Regex::new(&format!(
                "[+＋]?{DIGIT}(?:{SEP}{{0,3}}{DIGIT})*(?:[XxＸｘ])?"
            ))
            .unwrap();
            let in_parens =
                format!("[(（]({DIGIT}+)[)）]{SEP}?({DIGIT}(?:{SEP}{{0,3}}{DIGIT})*(?:[XxＸｘ])?)");
            let parens = Regex::new(&in_parens).unwrap();
            let country_code =
                Regex::new("^(?:[+＋][8８][6６]|[+＋]?[0０][0０][8８][6６])$").unwrap();
            let after_country_code = Regex::new(&format!("^{SEP}?{in_parens}")).unwrap();
            const ALNUM: &str = "[A-Za-z0-9Ａ-Ｚａ-ｚ０-９]";
            const INSIDE: &str = "[ \\-·•・.．－\\x{3000}]";
            let plates = Regex::new(&format!(
                "[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][ ·•・\\x{{3000}}]?[A-Za-zＡ-Ｚａ-ｚ](?:{INSIDE}?{ALNUM}{{5,6}}|{ALNUM}{INSIDE}{ALNUM}{{4,5}})"
            ))
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
                    let local = c.get(2).unwrap();
                    if area_code(&c[1], true) {
                        let at = r.end() + local.start();
                        if let Some(end) = local_number(text, at, local.as_str()) {
                            spans.push((r.start(), end, Kind::Landline));
                        }
                    }
                }
            }
            for c in parens.captures_iter(text) {
                let (m, local) = (c.get(0).unwrap(), c.get(2).unwrap());
                if !area_code(&c[1], false) || overlaps(&spans, m.start(), m.end()) {
                    continue;
                }
                if let Some(end) = local_number(text, local.start(), local.as_str()) {
                    spans.push((m.start(), end, Kind::Landline));
                }
            }
            for m in runs {
                let (s, e) = (m.start(), m.end());
                let prev = text[..s].chars().next_back();
                let next = text[e..].chars().next();
                if prev.is_some_and(is_digit) || next.is_some_and(is_digit) {
                    continue;
                }
                let x = m.as_str().ends_with(['X', 'x', 'Ｘ', 'ｘ']);
                let groups: Vec<(usize, usize)> = groups(m.as_str())
                    .into_iter()
                    .map(|(a, b)| (s + a, s + b))
                    .collect();
                let mut idx = 0;
                while idx < groups.len() && overlaps(&spans, groups[idx].0, groups[idx].1) {
                    idx += 1;
                }

                'groups: while idx < groups.len() {
                    let gs = groups[idx].0;
                    let before = &text[..gs];
                    let after_phone = spans.iter().any(|&(_, end, kind)| {
                        matches!(kind, Kind::Mobile | Kind::Landline)
                            && end < gs
                            && one_char_between(text, end, gs)
                    });
                    if let Some(kind) = classify(&text[gs..e], before, after_phone) {
                        spans.push((gs, e, kind));
                        break;
                    }
                    if groups.len() - idx - 1 > GROUPS {
                        // Too many groups to look inside: the run is looked at whole.
                        break;
                    }
                    for j in (idx + 1..groups.len()).rev() {
                        let prefix_end = groups[j - 1].1;
                        if let Some(kind) = classify(&text[gs..prefix_end], before, after_phone) {
                            let rest = count(&text[groups[j].0..e]);
                            let phone = matches!(kind, Kind::Mobile | Kind::Landline);
                            if phone && !x && rest <= 4 {
                                spans.push((gs, e, kind));
                                break 'groups;
                            }
                            spans.push((gs, prefix_end, kind));
                            idx = j;
                            continue 'groups;
                        }
                    }
                    idx += 1;
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
                    "8512 3456", "—", "~", "\t", "/", "或", "、", "Ｇ", "１２３４５", "・", "ｄ",
                    "801", "13812345678", "8234567",
                ]),
                0..24,
            )
        ) {
            let text: String = parts.concat();
            proptest::prop_assert_eq!(mask(&text), reference::mask(&text), "{:?}", text);
        }
    }
}
