//! Text → features: every 1-, 2- and 3-character n-gram of the normalized text's runs of letters
//! and digits (punctuation and spaces split runs, so no n-gram spans a sentence break), each
//! hashed from its code points into 32 bits; the model keeps as many low bits as it has buckets.
//!
//! A run of [`LONG_NUMBER`] or more digits is a break, not features: it is a phone, ID, bank card
//! or plate number, which says nothing of the matter and everything of the caller. As features,
//! the fragments of one ID number took a plain "小区停水了" from the water domain (0.94) to
//! manual triage. Shorter numbers stay: 110, 120, a year, an amount.
//!
//! Features are the hashes of every n-gram occurrence, in text order; the model weighs them as
//! TF-IDF does (each bucket's count times its inverse document frequency, scaled at training by
//! how much the bucket's rows agree on a label, `train::idf`; the vector scaled to unit length,
//! `model::weigh`) so that a 的 in every message weighs little and a long message
//! and a short one give logits of the same size. The length is that of the grouped vector, which
//! a text pasted many times does not change; the serving path sums occurrences as they come and
//! corrects the length for the few buckets a text repeats (`model::Repeats`), rather than sort
//! every text's n-grams. No segmentation: n-grams see phrasings the segmenter's dictionary does
//! not know, and cost a hash each.

/// The n-gram lengths used.
const MIN_N: usize = 1;
const MAX_N: usize = 3;

/// The fewest digits in a row that make a personal number rather than a feature (a landline
/// without its area code has 7, a plate's tail 5; the emergency lines 3, a year 4).
const LONG_NUMBER: usize = 5;

/// The hashed n-grams of a text, one per occurrence, in text order.
#[derive(Debug, Clone, Default)]
pub struct Features {
    hashes: Vec<u32>,
}

impl Features {
    /// The features of an already normalized text (see `engine::normalize`).
    pub fn of(text: &str) -> Features {
        let mut hashes = Vec::with_capacity(text.len());
        for_each_gram(text, |hash, _, _| hashes.push(hash));
        Features { hashes }
    }

    /// The hash of every n-gram occurrence.
    pub fn hashes(&self) -> &[u32] {
        &self.hashes
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// (hash, n-gram) of every n-gram occurrence of `text` (the text these features were made
    /// from), for explanations.
    pub fn grams<'t>(&self, text: &'t str) -> impl Iterator<Item = (u32, &'t str)> + 't {
        let mut out = Vec::new();
        for_each_gram(text, |hash, from, to| out.push((hash, &text[from..to])));
        out.into_iter()
    }
}

/// Calls `f(hash)` for every n-gram occurrence of `text`, in the order and with the hashes of
/// [`Features::of`], without keeping them: the serving path weighs each one as it is hashed
/// (`Model::probabilities_of_both`).
pub(crate) fn for_each_hash(text: &str, mut f: impl FnMut(u32)) {
    for_each_gram(text, |hash, _, _| f(hash));
}

/// A character of the current run: where it starts in the text, and its code point.
#[derive(Clone, Copy, Default)]
struct Held {
    at: usize,
    c: u64,
}

/// Calls `f(hash, from, to)` for every n-gram (`text[from..to]`) of every run of letters and
/// digits of `text`, ordered by start, then length.
///
/// No allocation: a window holds the last three characters of the current run, and the grams
/// starting at the oldest are emitted once the two characters after it are known (all of them end
/// by then); the run's last two characters are flushed when it ends. A gram's key is its code
/// points side by side (21 bits each), so hashing a gram is one mix of one integer, whatever its
/// length in bytes.
fn for_each_gram(text: &str, mut f: impl FnMut(u32, usize, usize)) {
    let mut window = [Held::default(); MAX_N];
    let mut held = 0usize;
    // The grams starting at window[s] of a window of `len` characters, the last ending at `end`.
    // Generic, not `dyn`: the serving path calls it for every character, and `f` (hash, look up,
    // add) is inlined into it.
    fn emit(
        window: &[Held],
        s: usize,
        len: usize,
        end: usize,
        f: &mut impl FnMut(u32, usize, usize),
    ) {
        let mut key = 0u64;
        for n in MIN_N..=(len - s).min(MAX_N) {
            key = (key << 21) | window[s + n - 1].c;
            let to = if s + n < len { window[s + n].at } else { end };
            f(mix(key), window[s].at, to);
        }
    }
    let bytes = text.as_bytes();
    // The end of the long number being skipped, if any (digits are ASCII: one byte each).
    let mut skip_to = 0usize;
    for (at, c) in text.char_indices() {
        if at < skip_to {
            continue;
        }
        if c.is_ascii_digit() {
            let digits = bytes[at..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if digits >= LONG_NUMBER {
                skip_to = at + digits;
                for s in 0..held {
                    emit(&window, s, held, at, &mut f);
                }
                held = 0;
                continue;
            }
        }
        if is_letter_or_digit(c) {
            if held == MAX_N {
                // Every gram starting at window[0] ends at window[1], window[2] or here.
                emit(&window, 0, MAX_N, at, &mut f);
                window.rotate_left(1);
                held -= 1;
            }
            window[held] = Held {
                at,
                c: u64::from(c),
            };
            held += 1;
        } else if held > 0 {
            for s in 0..held {
                emit(&window, s, held, at, &mut f);
            }
            held = 0;
        }
    }
    for s in 0..held {
        emit(&window, s, held, text.len(), &mut f);
    }
}

/// Letters and digits, with the common CJK block first: `char::is_alphanumeric` takes a slow
/// table lookup for every Chinese character.
#[inline]
fn is_letter_or_digit(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || ('\u{4e00}'..='\u{9fff}').contains(&c)
        || (!c.is_ascii() && c.is_alphanumeric())
}

/// The seed of [`mix`]. Which grams share a bucket depends on it, and that moves the
/// classifier's 5-fold cross-validated accuracy on the development corpus by about a point:
/// 0.8775 unseeded, 0.8844 with 0x9e37_79b9_7f4a_7c15, **0.8870** with this one, 0.8778 with
/// 0x123_4567 (docs/accuracy.md). Chosen by that cross-validation, like the number of buckets.
const SEED: u64 = 0x2545_f491_4f6c_dd1d;

/// A gram's hash from its key (its code points, 21 bits each, the first highest): the key is
/// unique per gram (a letter or digit is at least U+0030, so a longer gram's key is always larger
/// than any shorter one's), and MurmurHash3's 64-bit finalizer spreads it over every bit, so that
/// the model's low bits are as good as any. Two multiplications, independent from gram to gram,
/// where hashing the bytes cost one multiplication per byte in a chain.
#[inline]
fn mix(mut k: u64) -> u32 {
    k ^= SEED;
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grams_stay_within_runs_of_letters_and_digits() {
        let f = Features::of("物业费，a1");
        let grams: Vec<&str> = f.grams("物业费，a1").map(|g| g.1).collect();
        assert_eq!(
            grams,
            ["物", "物业", "物业费", "业", "业费", "费", "a", "a1", "1"]
        );
        assert_eq!(f.hashes().len(), 9);
        let f = Features::of("物物");
        assert_eq!(f.hashes().len(), 3);
        assert_eq!(f.hashes()[0], f.hashes()[2], "物 twice");
    }

    #[test]
    fn grams_come_by_start_then_length_in_runs_of_any_length() {
        let text = "一二三四五，六七。八，ab c";
        let grams: Vec<&str> = Features::of(text).grams(text).map(|g| g.1).collect();
        assert_eq!(
            grams,
            [
                "一",
                "一二",
                "一二三",
                "二",
                "二三",
                "二三四",
                "三",
                "三四",
                "三四五",
                "四",
                "四五",
                "五",
                "六",
                "六七",
                "七",
                "八",
                "a",
                "ab",
                "b",
                "c"
            ]
        );
        let mut hashes = Vec::new();
        for_each_hash(text, |h| hashes.push(h));
        assert_eq!(hashes, Features::of(text).hashes());
    }

    #[test]
    fn long_numbers_are_breaks_short_ones_are_features() {
        let text = "电话13812345678打120，2026年5000元";
        let grams: Vec<&str> = Features::of(text).grams(text).map(|g| g.1).collect();
        assert!(
            !grams.iter().any(|g| g.contains('3') && g.contains('8')),
            "{grams:?}"
        );
        assert!(grams.contains(&"电话"), "{grams:?}");
        // No gram spans the number: 话 and 打 are not neighbours.
        assert!(!grams.contains(&"话打"), "{grams:?}");
        for kept in ["打", "打1", "120", "202", "26年", "500", "0元"] {
            assert!(grams.contains(&kept), "{kept} in {grams:?}");
        }
        // The number alone, whole or at the end: nothing.
        assert!(Features::of("110101199003071234").is_empty());
        let f = Features::of("小区停水了，身份证110101199003071234");
        assert_eq!(f.hashes(), Features::of("小区停水了，身份证").hashes());
    }

    #[test]
    fn empty_and_punctuation_only_texts_have_no_features() {
        assert!(Features::of("").is_empty());
        assert!(Features::of("，。！？ ").is_empty());
    }
}
