//! Traditional → simplified folding for `normalize`, character by character, with OpenCC's
//! complete character table.
//!
//! # Why OpenCC's table
//!
//! Callers type traditional characters (from Hong Kong, Taiwan and Macao, on phones set to
//! traditional input, or by habit), and rules are written once, in simplified Chinese. A
//! hand-kept list of "the characters that matter" always misses one (沒 was missing, and
//! "公司三個月沒發工資了" lost its wage-arrears rule), so the fold uses the table of the
//! most widely used open converter: OpenCC's `TSCharacters.txt`, every traditional character with
//! its simplified candidates (4,113 of them). It is vendored verbatim in `opencc/` (origin,
//! version and licence in `opencc/README.md`): OpenCC is Apache-2.0, which this project's
//! MIT OR Apache-2.0 licence can carry, with OpenCC's licence text kept beside the data. The
//! first candidate is taken, as OpenCC's own `t2s` does for a character outside its phrase
//! tables.
//!
//! # Why characters, not phrases
//!
//! Only the character table is used, never OpenCC's phrase tables (`TSPhrases.txt`), and only
//! single characters are mapped (every entry of `TSCharacters.txt` is one character to one
//! first candidate; the parser checks it). So the normalized text has as many characters as the
//! original where only folding happened, and `normalize`'s map from normalized characters to
//! original offsets stays exact: evidence still points into the text the caller sent. What a
//! phrase table would add is the choice between candidates in context (乾 → 干 or 乾), which
//! matters for display, not for matching: rule terms are normalized by the same function, so a
//! term and a request meet in the same folded form either way.
//!
//! Two adjustments are made to the table as read, both to keep that last promise, that a
//! term and a request fold alike: a character whose first candidate is itself is left out (it
//! folds to itself anyway), and a candidate that is itself a key of the table is followed to the
//! end of its chain (OpenCC has one: 薴 → 苧 → 苎), so that folding is idempotent and a term
//! normalized once meets a text normalized once. `EXCLUDED` lists the characters not folded
//! at all (empty: no mapping broke a rule example).
//!
//! # The fast path
//!
//! Most characters of a request are already simplified. The table's characters in the Basic
//! Multilingual Plane all lie in CJK Extension A and the CJK Unified Ideographs
//! (U+3400..=U+9FFF, checked when the table is built), so a bitmap with one bit per code point
//! there (27,648 bits, 3.4 KB) answers "nothing to do" in one load; when the bit is set, a rank
//! count (the set bits before it: a prefix sum per 64-bit word plus one popcount) indexes the
//! simplified character directly, without a search. The 354 keys beyond the BMP (CJK Extension
//! B and later, rare in requests) are binary-searched, and only for code points that are
//! there. The table is parsed once, at first use (39 KB of text, about a millisecond; loading a
//! rule set normalizes its terms, so a server pays it at start-up). Built, it takes about 22 KB:
//! the bitmap 3.4 KB, the ranks 0.9 KB, 3,751 simplified characters 15 KB, 354 supplementary
//! pairs 2.8 KB.

use std::sync::OnceLock;

/// OpenCC's traditional → simplified character table, vendored verbatim (see `opencc/README.md`).
const TS_CHARACTERS: &str = include_str!("opencc/TSCharacters.txt");

/// Characters OpenCC maps that are not folded, each with the reason. Empty: the whole table is
/// used. Keep it small and explicit; a pair belongs here only when folding it breaks a rule
/// example or a golden decision that is right, and the reason says which.
const EXCLUDED: &[(char, &str)] = &[];

/// The first code point the bitmap covers: CJK Extension A.
const BMP_START: u32 = 0x3400;
/// The last code point the bitmap covers: the end of the CJK Unified Ideographs.
const BMP_END: u32 = 0x9fff;
const WORDS: usize = (BMP_END - BMP_START + 1).div_ceil(64) as usize;
/// Keys beyond the bitmap are all at or past this (CJK Extension B, the Supplementary Ideographic
/// Plane); anything below it and outside the bitmap folds to itself.
const SUPPLEMENTARY_START: u32 = 0x2_0000;

/// CJK Extension A and the CJK Unified Ideographs: the bulk of a request. Like every unified
/// ideograph they are NFKC-stable and never whitespace or control characters, so `normalize`
/// sends them straight to [`to_simplified`]; everything else reaches it through `fold`.
pub(crate) fn is_cjk_ideograph(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}')
}

/// The folding table, built from [`TS_CHARACTERS`] at first use.
struct Table {
    /// One bit per code point in `BMP_START..=BMP_END`: set when it folds to another character.
    bits: [u64; WORDS],
    /// For each word of `bits`: the number of set bits in the words before it.
    rank: [u16; WORDS],
    /// The simplified characters of the set bits, in code-point order of their keys.
    simplified: Vec<char>,
    /// Keys beyond the BMP with their simplified characters, sorted by key.
    supplementary: Vec<(char, char)>,
}

impl Table {
    fn get() -> &'static Table {
        static TABLE: OnceLock<Table> = OnceLock::new();
        TABLE.get_or_init(|| Table::build(&pairs()))
    }

    /// From sorted, deduplicated, non-identity pairs.
    fn build(pairs: &[(char, char)]) -> Table {
        let mut bits = [0u64; WORDS];
        let mut simplified = Vec::new();
        let mut supplementary = Vec::new();
        for &(t, s) in pairs {
            let u = t as u32;
            if (BMP_START..=BMP_END).contains(&u) {
                let i = (u - BMP_START) as usize;
                bits[i / 64] |= 1 << (i % 64);
                simplified.push(s);
            } else {
                assert!(
                    u >= SUPPLEMENTARY_START,
                    "OpenCC key {t:?} (U+{u:04X}) is outside the ranges the fast path covers"
                );
                supplementary.push((t, s));
            }
        }
        let mut rank = [0u16; WORDS];
        let mut n = 0u32;
        for (r, w) in rank.iter_mut().zip(&bits) {
            *r = u16::try_from(n).expect("fewer than 65,536 keys");
            n += w.count_ones();
        }
        simplified.shrink_to_fit();
        supplementary.shrink_to_fit();
        Table {
            bits,
            rank,
            simplified,
            supplementary,
        }
    }
}

/// The pairs `normalize` folds: OpenCC's table, first candidate, without identities and
/// [`EXCLUDED`], chains followed to their end; sorted by the traditional character.
pub(crate) fn pairs() -> Vec<(char, char)> {
    let mut map = std::collections::BTreeMap::new();
    for (n, line) in TS_CHARACTERS.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parse = || {
            let (key, candidates) = line.split_once('\t')?;
            let first = candidates.split(' ').next()?;
            Some((single(key)?, single(first)?))
        };
        let (t, s) = parse().unwrap_or_else(|| {
            panic!(
                "opencc/TSCharacters.txt line {}: expected one character, a tab and \
                 one-character candidates, got {line:?}",
                n + 1
            )
        });
        if t != s && !EXCLUDED.iter().any(|&(e, _)| e == t) {
            map.insert(t, s);
        }
    }
    // Follow chains (a candidate that is itself a key) so that folding twice is folding once.
    map.iter()
        .map(|(&t, &s)| {
            let mut s = s;
            for _ in 0..8 {
                match map.get(&s) {
                    Some(&next) if next != t => s = next,
                    _ => break,
                }
            }
            (t, s)
        })
        .collect()
}

fn single(s: &str) -> Option<char> {
    let mut chars = s.chars();
    let c = chars.next()?;
    chars.next().is_none().then_some(c)
}

/// The simplified form of `c`, or `c` itself.
pub(crate) fn to_simplified(c: char) -> char {
    let table = Table::get();
    let u = c as u32;
    let i = u.wrapping_sub(BMP_START) as usize;
    if let Some(&word) = table.bits.get(i / 64) {
        let bit = 1u64 << (i % 64);
        if word & bit == 0 {
            return c;
        }
        let k = table.rank[i / 64] as usize + (word & (bit - 1)).count_ones() as usize;
        return table.simplified[k];
    }
    if u < SUPPLEMENTARY_START {
        return c;
    }
    match table.supplementary.binary_search_by_key(&c, |&(t, _)| t) {
        Ok(k) => table.supplementary[k].1,
        Err(_) => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whole_opencc_table_is_used() {
        let pairs = pairs();
        // 4,113 entries, of which 8 have themselves as first candidate (彷 牴 瞭 祇 藉 衹 覆 阪).
        assert_eq!(pairs.len(), 4_113 - 8 - EXCLUDED.len());
        assert!(
            pairs.windows(2).all(|w| w[0].0 < w[1].0),
            "sorted, no duplicates"
        );
        for &(t, s) in &pairs {
            assert_eq!(to_simplified(t), s, "{t:?}");
        }
    }

    #[test]
    fn folding_is_idempotent() {
        for (t, s) in pairs() {
            assert_eq!(to_simplified(s), s, "{t:?} → {s:?} folds again");
        }
        assert_eq!(
            to_simplified('薴'),
            '苎',
            "the one chain in OpenCC: 薴 → 苧 → 苎"
        );
    }

    #[test]
    fn characters_outside_the_table_are_kept() {
        for c in [
            'a', 'Z', '0', ' ', '。', '没', '发', '工', '资', '么', '\u{3400}', '\u{9fff}',
        ] {
            assert_eq!(to_simplified(c), c, "{c:?}");
        }
        // Every code point of the bitmap's range agrees with a plain search of the pairs.
        let pairs = pairs();
        for u in BMP_START..=BMP_END {
            let c = char::from_u32(u).unwrap();
            let expected = pairs
                .binary_search_by_key(&c, |&(t, _)| t)
                .map_or(c, |k| pairs[k].1);
            assert_eq!(to_simplified(c), expected, "U+{u:04X}");
        }
    }

    #[test]
    fn common_traditional_characters_fold() {
        let folded: String = "公司三個月沒發工資了，物業費誰繳？乾淨的頭髮，後來怎麼樣"
            .chars()
            .map(to_simplified)
            .collect();
        assert_eq!(
            folded,
            "公司三个月没发工资了，物业费谁缴？干净的头发，后来怎么样"
        );
    }

    #[test]
    fn extension_a_and_beyond_the_bmp_fold() {
        // CJK Extension A (U+3400..=U+4DBF) and Extension B (U+20000..).
        assert_eq!(to_simplified('㑮'), '𫝈');
        assert_eq!(to_simplified('䊷'), '䌶');
        assert_eq!(to_simplified('𠁞'), '𠀾');
        assert_eq!(to_simplified('𡻕'), '岁');
        assert!(is_cjk_ideograph('㑮') && is_cjk_ideograph('沒'));
        assert!(!is_cjk_ideograph('a') && !is_cjk_ideograph('\u{4dc0}'));
    }

    #[test]
    fn normalize_folds_a_traditional_request() {
        let n = super::super::normalize::normalize("公司三個月沒發工資了");
        assert_eq!(n.text(), "公司三个月没发工资了");
        // One character for one: the offsets into the original are unchanged.
        let start = n.text().find("没发").unwrap();
        assert_eq!(n.original_span(start, start + "没发".len()), (5, 7));
        // Compatibility ideographs reach the table through NFKC: U+F900 is 豈.
        assert_eq!(super::super::normalize::normalize("\u{f900}").text(), "岂");
        // Extension A and B through normalize too.
        assert_eq!(super::super::normalize::normalize("㑮𡻕").text(), "𫝈岁");
    }
}
