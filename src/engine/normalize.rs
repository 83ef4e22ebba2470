//! Stage 1 of a request: normalize the citizen's text so that rules match however it was typed.
//!
//! Intake text arrives from phones, web forms and WeChat: full-width digits and letters, mixed
//! case, stray control characters from copy-paste, zero-width spaces, runs of blanks, traditional
//! characters from callers who type them. Rules are written once, in simplified Chinese, so the
//! text is brought to one form:
//!
//! - NFKC, per character (full-width → half-width, compatibility forms → canonical);
//! - Latin lowercased;
//! - control and format characters (Cc, Cf: NUL, ZWSP, BOM, bidi marks) dropped, except that line
//!   breaks and tabs count as whitespace;
//! - every run of whitespace becomes one ASCII space, and CJK punctuation becomes its ASCII
//!   counterpart, so that punctuation is a separator whichever way it was typed;
//! - traditional characters folded to simplified, one character for one (`traditional.rs`:
//!   OpenCC's complete character table, not its phrase tables: enough that 物業費 matches 物业费).
//!
//! Evidence must point into the text the caller sent, not into this normalized copy, so every
//! normalized character remembers which original character (by Unicode scalar index) produced it.
//! NFKC is applied character by character rather than to the whole string so that this map is
//! exact; the only cost is that combining sequences are not composed, which no rule relies on.

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

/// The normalized text of one request, with the way back to the original.
#[derive(Debug, Clone, Default)]
pub struct Normalized {
    text: String,
    /// For each character of `text`: the index of the original character it came from.
    origin: Vec<u32>,
    /// For each character of `text`: its byte offset in `text`; one extra entry for the end.
    byte_of_char: Vec<u32>,
    /// For each character of the original: its byte offset there; one extra entry for the end
    /// (so the original has `len() - 1` characters).
    original_starts: Vec<u32>,
    /// Byte offset in `text` where the lead ends (see [`Normalized::lead_end`]).
    lead_end: u32,
}

/// A first sentence shorter than this is a greeting ("您好！"), not the subject: the lead runs on
/// to the next sentence end. A line break (the end of a title) ends it whatever its length.
const LEAD_MIN_CHARS: usize = 6;
/// A lead never runs longer than this, so that a text without any sentence end has a lead too.
const LEAD_MAX_CHARS: usize = 64;

impl Normalized {
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The *lead* of the request: the text up to its first line break or sentence end (at least
    /// a few characters, at most 64 characters), as a byte offset into [`Self::text`]. With
    /// a title it is the title; without one, the first sentence. Citizens and intake staff state
    /// the subject first and the circumstances after, so a rule that the lead speaks of is more
    /// likely the subject than one that only a later detail touches (see `score`).
    pub fn lead_end(&self) -> usize {
        self.lead_end as usize
    }

    /// Number of characters of the original text.
    pub fn original_chars(&self) -> u32 {
        u32::try_from(self.original_starts.len().saturating_sub(1)).unwrap_or(u32::MAX)
    }

    /// Maps a byte range of the normalized text (on char boundaries) to the range of original
    /// characters that produced it: `[start, end)` in Unicode scalar values of the original.
    pub fn original_span(&self, byte_start: usize, byte_end: usize) -> (u32, u32) {
        let first = self.char_index(byte_start);
        let last = self.char_index(byte_end).saturating_sub(1).max(first);
        match (self.origin.get(first), self.origin.get(last)) {
            (Some(&s), Some(&e)) => (s, (e + 1).min(self.original_chars())),
            _ => (self.original_chars(), self.original_chars()),
        }
    }

    /// The original characters `[start, end)` (as [`Self::original_span`] gives them) of
    /// `original`, the text this was normalized from: the evidence's words as the caller typed
    /// them.
    pub fn original_slice<'t>(&self, original: &'t str, start: u32, end: u32) -> &'t str {
        let at = |i: u32| {
            self.original_starts
                .get(i as usize)
                .map_or(original.len(), |&b| b as usize)
        };
        let s = at(start);
        let e = at(end).max(s);
        original.get(s..e).unwrap_or("")
    }

    /// The index of the character of [`Self::text`] that starts at `byte` (a char boundary).
    pub(crate) fn char_index(&self, byte: usize) -> usize {
        let byte = u32::try_from(byte).unwrap_or(u32::MAX);
        match self.byte_of_char.binary_search(&byte) {
            Ok(i) | Err(i) => i,
        }
    }
}

/// Normalizes `original` (see the module docs).
pub fn normalize(original: &str) -> Normalized {
    let mut out = Normalized::default();
    normalize_into(original, &mut out);
    out
}

/// [`normalize`] into `out`, reusing its buffers (the per-request path keeps one per thread).
pub fn normalize_into(original: &str, out: &mut Normalized) {
    let Normalized {
        text,
        origin,
        byte_of_char,
        original_starts,
        lead_end,
    } = out;
    text.clear();
    origin.clear();
    byte_of_char.clear();
    original_starts.clear();
    text.reserve(original.len());
    let mut last_was_space = true; // so that leading whitespace is dropped

    // The closure's body is a function marked for inlining: written in the closure, it was left
    // as a call once per character.
    #[inline(always)]
    fn push_char(
        c: char,
        i: u32,
        text: &mut String,
        last_was_space: &mut bool,
        origin: &mut Vec<u32>,
        byte_of_char: &mut Vec<u32>,
    ) {
        if c == ' ' {
            if *last_was_space {
                return;
            }
            *last_was_space = true;
        } else {
            *last_was_space = false;
        }
        byte_of_char.push(u32::try_from(text.len()).unwrap_or(u32::MAX));
        origin.push(i);
        text.push(c);
    }
    let mut push = |c: char, i: u32, text: &mut String, last_was_space: &mut bool| {
        push_char(c, i, text, last_was_space, origin, byte_of_char)
    };

    for (i, (at, c)) in original.char_indices().enumerate() {
        original_starts.push(u32::try_from(at).unwrap_or(u32::MAX));
        let i = u32::try_from(i).unwrap_or(u32::MAX);
        // The bulk of a request: CJK unified ideographs (with Extension A) are NFKC-stable and
        // never whitespace or control characters, so they skip every other test.
        if super::traditional::is_cjk_ideograph(c) {
            push(
                super::traditional::to_simplified(c),
                i,
                text,
                &mut last_was_space,
            );
            continue;
        }
        if c.is_ascii() {
            let c = match c {
                '\t' | '\n' | '\r' | '\x0b' | '\x0c' => ' ',
                c if c.is_ascii_control() => continue,
                c => c.to_ascii_lowercase(),
            };
            push(c, i, text, &mut last_was_space);
            continue;
        }
        // Full-width ASCII (，？！：；（）０-９Ａ-Ｚ), the rest of a typical request: NFKC maps
        // U+FF01..=U+FF5E to U+0021..=U+007E, without the normalization tables.
        if ('\u{ff01}'..='\u{ff5e}').contains(&c) {
            let a = char::from_u32(c as u32 - 0xfee0).unwrap_or(c);
            push(a.to_ascii_lowercase(), i, text, &mut last_was_space);
            continue;
        }
        if c.is_whitespace() {
            push(' ', i, text, &mut last_was_space);
            continue;
        }
        if is_control_or_format(c) {
            continue;
        }
        if is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes {
            push(fold(c), i, text, &mut last_was_space);
        } else {
            for d in std::iter::once(c).nfkc() {
                for l in d.to_lowercase() {
                    let l = if l.is_whitespace() { ' ' } else { fold(l) };
                    push(l, i, text, &mut last_was_space);
                }
            }
        }
    }
    // Trailing space carries no meaning.
    if text.ends_with(' ') {
        text.pop();
        byte_of_char.pop();
        origin.pop();
    }
    byte_of_char.push(u32::try_from(text.len()).unwrap_or(u32::MAX));
    original_starts.push(u32::try_from(original.len()).unwrap_or(u32::MAX));
    *lead_end = lead_end_of(original, origin, byte_of_char);
}

/// Where the lead ends (see [`Normalized::lead_end`]), as a byte offset into the normalized text:
/// found on the original's first characters, then carried over by the offset map. Kept out of
/// the main loop, which it would slow by a third.
fn lead_end_of(original: &str, origin: &[u32], byte_of_char: &[u32]) -> u32 {
    let mut end_char = None;
    for (i, c) in original.chars().enumerate().take(LEAD_MAX_CHARS + 1) {
        let line_break = matches!(c, '\n' | '\r') && i >= 2;
        let sentence_end = matches!(c, '。' | '！' | '？' | '!' | '?' | '；' | ';');
        if i >= LEAD_MAX_CHARS || line_break || (sentence_end && i >= LEAD_MIN_CHARS) {
            end_char = Some(i as u32);
            break;
        }
    }
    let total = byte_of_char.last().copied().unwrap_or(0);
    match end_char {
        // The first normalized character that comes from at or after the lead's end.
        Some(e) => byte_of_char
            .get(origin.partition_point(|&o| o < e))
            .copied()
            .unwrap_or(total),
        None => total,
    }
}

/// Unicode general categories Cc and Cf, without pulling in a category table: the ranges that
/// occur in practice (C0/C1 controls, soft hyphen, zero-width and bidi marks, BOM, tags).
pub(crate) fn is_control_or_format(c: char) -> bool {
    matches!(c,
        '\u{80}'..='\u{9f}' | '\u{ad}' | '\u{600}'..='\u{605}' | '\u{61c}' | '\u{6dd}' | '\u{70f}'
        | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}' | '\u{e0001}' | '\u{e0020}'..='\u{e007f}')
}

/// CJK punctuation to ASCII, then traditional to simplified (the characters that reach this
/// past NFKC: compatibility ideographs become unified ones, and Extension B and beyond are here).
/// `to_simplified` rejects a code point outside its table's ranges with a compare or two.
fn fold(c: char) -> char {
    match c {
        '。' | '｡' => '.',
        '、' => ',',
        '「' | '」' | '『' | '』' | '“' | '”' | '〝' | '〞' => '"',
        '‘' | '’' => '\'',
        '【' | '〔' | '〖' => '[',
        '】' | '〕' | '〗' => ']',
        '—' | '–' | '―' | '～' | '〜' => '-',
        '…' => '.',
        '·' | '・' => ' ',
        c => super::traditional::to_simplified(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_fast_path_agrees_with_nfkc() {
        for c in '\u{ff01}'..='\u{ff5e}' {
            let expected: String = std::iter::once(c)
                .nfkc()
                .flat_map(char::to_lowercase)
                .map(fold)
                .collect();
            assert_eq!(normalize(&c.to_string()).text(), expected, "{c:?}");
        }
    }

    #[test]
    fn the_lead_is_the_title_or_first_sentence() {
        let lead = |s: &str| {
            let n = normalize(s);
            n.text()[..n.lead_end()].to_owned()
        };
        assert_eq!(lead("物业费谁交\n我买的房子没过户。"), "物业费谁交");
        assert_eq!(
            lead("小区的电梯坏了三个月。楼下也吵"),
            "小区的电梯坏了三个月"
        );
        // A greeting is not the subject: the lead runs on to the next sentence end.
        assert_eq!(
            lead("您好！小区的电梯坏了三个月。"),
            "您好!小区的电梯坏了三个月"
        );
        // No sentence end: the whole of a short text, the first 64 characters of a long one.
        assert_eq!(lead("物业费谁交"), "物业费谁交");
        assert_eq!(lead(&"很".repeat(100)).chars().count(), 64);
        assert_eq!(lead(""), "");
    }

    #[test]
    fn full_width_case_space_and_controls() {
        let n = normalize("  ＡＢＣ１２３\u{200b}物业费\t\n 谁交？ ");
        assert_eq!(n.text(), "abc123物业费 谁交?");
    }

    #[test]
    fn traditional_folds_to_simplified() {
        assert_eq!(normalize("物業費誰繳").text(), "物业费谁缴");
    }

    #[test]
    fn spans_and_slices_point_into_the_original() {
        // A zero-width space, full-width letters, an emoji, traditional characters: the span
        // counts the original's characters and the slice is what the caller typed.
        for (original, found, span, typed) in [
            ("Ａ\u{200b}物业费", "物业费", (2, 5), "物业费"),
            ("ＡＢ😀物業費誰繳", "物业费", (3, 6), "物業費"),
        ] {
            let n = normalize(original);
            let start = n.text().find(found).unwrap();
            let (s, e) = n.original_span(start, start + found.len());
            assert_eq!((s, e), span, "{original}");
            let by_chars: String = original
                .chars()
                .skip(s as usize)
                .take((e - s) as usize)
                .collect();
            assert_eq!(by_chars, typed, "{original}");
            assert_eq!(n.original_slice(original, s, e), typed, "{original}");
        }
        let original = "ＡＢ😀物業費誰繳";
        let n = normalize(original);
        assert_eq!(n.original_chars(), 8);
        assert_eq!(n.original_slice(original, 0, 2), "ＡＢ");
        // Past the end, or reversed: empty, never a panic.
        assert_eq!(n.original_slice(original, 8, 8), "");
        assert_eq!(n.original_slice(original, 99, 120), "");
        assert_eq!(n.original_slice(original, 5, 2), "");
    }

    #[test]
    fn expanding_characters_map_back_to_their_source() {
        // U+3392 (㎒) expands to three characters under NFKC.
        let n = normalize("x㎒y");
        assert_eq!(n.text(), "xmhzy");
        let b = n.text().find('h').unwrap();
        assert_eq!(n.original_span(b, b + 1), (1, 2));
    }

    #[test]
    fn empty_and_blank() {
        assert_eq!(normalize("").text(), "");
        assert_eq!(normalize(" \t\u{feff}\n").text(), "");
        assert_eq!(normalize("").original_span(0, 0), (0, 0));
    }
}
