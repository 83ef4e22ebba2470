//! Text → features: every 1-, 2- and 3-character n-gram of the normalized text's runs of letters
//! and digits (punctuation and spaces split runs, so no n-gram spans a sentence break), hashed
//! with FNV-1a into 32 bits; the model keeps as many low bits as it has buckets.
//!
//! Features are the hashes of every n-gram occurrence, in text order; the model weighs them (each
//! occurrence by the inverse document frequency of its bucket, all scaled to unit length, as
//! TF-IDF does) so that a 的 in every message weighs little and a long message and a short one
//! give logits of the same size. Occurrences are not grouped: grouping would cost a sort per
//! request, and a repeated n-gram simply counts again. No segmentation: n-grams see phrasings the segmenter's dictionary
//! does not know, and cost a hash each.

/// The n-gram lengths used.
const MIN_N: usize = 1;
const MAX_N: usize = 3;

/// The hashed n-grams of a text, one per occurrence, in text order.
#[derive(Debug, Clone, Default)]
pub struct Features {
    hashes: Vec<u32>,
}

impl Features {
    /// The features of an already normalized text (see `engine::normalize`).
    pub fn of(text: &str) -> Features {
        let mut hashes = Vec::with_capacity(text.len());
        for_each_gram(text, |hash, _| hashes.push(hash));
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
        for_each_gram(text, |hash, gram| out.push((hash, gram)));
        out.into_iter()
    }
}

/// Calls `f(hash)` for every n-gram occurrence of `text`, in the order and with the hashes of
/// [`Features::of`], without keeping them: the serving path weighs each one as it is hashed
/// (`Model::logits_of`).
pub(crate) fn for_each_hash(text: &str, mut f: impl FnMut(u32)) {
    for_each_gram(text, |hash, _| f(hash));
}

/// Calls `f(hash, gram)` for every n-gram of every run of letters and digits of `text`, ordered
/// by start, then length.
///
/// No allocation: a window holds the starts of the last three characters of the current run, and
/// the grams starting at the oldest are emitted once the two characters after it are known (all
/// of them end by then); the run's last two starts are flushed when it ends.
fn for_each_gram<'t>(text: &'t str, mut f: impl FnMut(u32, &'t str)) {
    let mut window = [0usize; MAX_N];
    let mut held = 0usize;
    let flush = |window: &[usize], end: usize, f: &mut dyn FnMut(u32, &'t str)| {
        for s in 0..window.len() {
            for n in MIN_N..=(window.len() - s).min(MAX_N) {
                let to = window.get(s + n).copied().unwrap_or(end);
                let gram = &text[window[s]..to];
                f(hash(gram, n), gram);
            }
        }
    };
    for (at, c) in text.char_indices() {
        if is_letter_or_digit(c) {
            if held == MAX_N {
                // Every gram starting at window[0] ends at window[1], window[2] or here.
                let from = window[0];
                for n in MIN_N..=MAX_N {
                    let to = window.get(n).copied().unwrap_or(at);
                    let gram = &text[from..to];
                    f(hash(gram, n), gram);
                }
                window.rotate_left(1);
                window[MAX_N - 1] = at;
            } else {
                window[held] = at;
                held += 1;
            }
        } else if held > 0 {
            flush(&window[..held], at, &mut f);
            held = 0;
        }
    }
    if held > 0 {
        flush(&window[..held], text.len(), &mut f);
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

/// FNV-1a over the n-gram's bytes, seeded by its length (a 1-gram and a 2-gram of the same bytes
/// cannot occur, but the seed keeps the three families apart anyway).
fn hash(gram: &str, n: usize) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ (n as u64);
    for &b in gram.as_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h ^ (h >> 32)) as u32
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
    fn empty_and_punctuation_only_texts_have_no_features() {
        assert!(Features::of("").is_empty());
        assert!(Features::of("，。！？ ").is_empty());
    }
}
