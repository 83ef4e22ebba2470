//! Stage 2 of a request: segment the normalized text into words with jieba.
//!
//! Chinese has no spaces, so "a keyword occurs in the text" is not enough: 停电 (power cut) occurs
//! in 暂停电梯 (pause the lift), and 工资 in 工资条 is fine but 资 in 投资 is not. The segmenter
//! decides where words begin and end; the matcher only accepts a keyword whose start and end fall
//! on those word boundaries.
//!
//! Every term of the rule set is added to the segmenter's dictionary with the frequency jieba
//! suggests for keeping it whole ([`Jieba::suggest_freq`]), so that no rule keyword is split by
//! the segmenter. Because `add_word` needs `&mut Jieba`, a segmenter is built at load time from a
//! fresh copy of the dictionary (a cached base copy would cost another ~30 MB resident for the
//! life of the process) and is swapped together with the rules. It is a function of the terms
//! alone, so live rule sets of the same terms share one (`ruleset::share`).
//!
//! Edges are those of jieba's search mode, which also reports the dictionary words inside a long
//! word (物业 and 工资 inside 物业费 and 发工资): a rule that names 物业 still fires on 物业费, and
//! 没发 still fires on 没发工资, but never on a span that does not start and end on a word or
//! sub-word edge. Rather than listing every sub-word of every long word (what search mode does, at
//! twice the cost of segmenting), plain `cut` gives the word edges, and only an endpoint of a term
//! hit that falls inside a word is checked: is it the edge of a 2-character dictionary word inside
//! a word longer than 2, or of a 3-character one inside a word longer than 3?

use jieba_rs::Jieba;

/// The word edges of one text (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct Words {
    /// Indexed by byte offset (length `text.len() + 1`): a word starts or ends here.
    boundary: Vec<bool>,
    /// (byte start, byte end) of each word longer than two characters, in text order.
    spans: Vec<(u32, u32)>,
}

/// A segmenter whose dictionary knows the rule set's vocabulary.
pub(crate) struct Segmenter {
    jieba: Jieba,
}

impl Segmenter {
    pub fn with_vocabulary<'a>(words: impl IntoIterator<Item = &'a str>) -> Self {
        // A fresh dictionary per vocabulary rather than a clone of a cached one: each copy is ~30 MB
        // resident, and ~110 ms to parse is a fair price at load time for not holding two.
        let mut jieba = Jieba::new();
        for w in words {
            if w.chars().count() >= 2 {
                // suggest_freq keeps the word whole on its own; ×10 keeps it whole next to an
                // overlapping dictionary word too (有违建: 有违 / 建 without it, 有 / 违建 with it),
                // while 暂停电梯 still cuts as 暂停 / 电梯 (tests below).
                let freq = jieba.suggest_freq(w).saturating_mul(10);
                jieba.add_word(w, Some(freq), None);
            }
        }
        Segmenter { jieba }
    }

    /// Segments `text` into `words` (buffers reused between requests).
    pub fn segment(&self, text: &str, words: &mut Words) {
        words.boundary.clear();
        words.boundary.resize(text.len() + 1, false);
        words.spans.clear();
        for t in self.jieba.cut(text, false) {
            words.boundary[t.byte_start] = true;
            words.boundary[t.byte_end] = true;
            if t.end - t.start > 2 {
                words.spans.push((t.byte_start as u32, t.byte_end as u32));
            }
        }
    }

    /// Whether byte offset `p` of `text` is a word edge or a search-mode sub-word edge.
    fn is_edge(&self, text: &str, words: &Words, p: usize) -> bool {
        if words.boundary.get(p).copied().unwrap_or(false) {
            return true;
        }
        // The long word containing p (only words longer than 2 characters have sub-words).
        let k = words.spans.partition_point(|w| (w.0 as usize) < p);
        let Some(&(ws, we)) = k.checked_sub(1).and_then(|k| words.spans.get(k)) else {
            return false;
        };
        let (ws, we) = (ws as usize, we as usize);
        if p >= we {
            return false;
        }
        let (Some(before), Some(after)) = (text.get(ws..p), text.get(p..we)) else {
            return false;
        };
        // Byte offsets (relative to p) of the 1..=3 characters on each side of p.
        let mut left = [0usize; 4];
        let mut nl = 0;
        for (b, _) in before.char_indices().rev().take(3) {
            nl += 1;
            left[nl] = before.len() - b;
        }
        let mut right = [0usize; 4];
        let mut nr = 0;
        for (b, c) in after.char_indices().take(3) {
            nr += 1;
            right[nr] = b + c.len_utf8();
        }
        let chars = before.chars().count() + after.chars().count();
        [2usize, 3].iter().any(|&n| {
            if chars <= n {
                return false;
            }
            (nl >= n && self.jieba.has_word(&text[p - left[n]..p]))
                || (nr >= n && self.jieba.has_word(&text[p..p + right[n]]))
        })
    }

    /// Whether a term found at `text[start..end]` starts and ends on edges.
    pub fn accepts(&self, text: &str, words: &Words, start: usize, end: usize) -> bool {
        self.is_edge(text, words, start) && self.is_edge(text, words, end)
    }

    /// The words of `text` (the segmentation shown to rule authors by `hotline-router tokens`).
    pub fn words<'t>(&self, text: &'t str) -> Vec<&'t str> {
        self.jieba
            .cut(text, false)
            .into_iter()
            .map(|t| t.word)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepts(s: &Segmenter, text: &str, term: &str) -> bool {
        let mut w = Words::default();
        s.segment(text, &mut w);
        let start = text.find(term).unwrap();
        s.accepts(text, &w, start, start + term.len())
    }

    #[test]
    fn rule_vocabulary_is_never_split() {
        let s = Segmenter::with_vocabulary(["未过户", "违建"]);
        assert!(accepts(&s, "房子还未过户", "未过户"));
        // 有违 is a dictionary word that overlaps 违建: the rule word must still win.
        assert!(accepts(&s, "宾馆后面有违建", "违建"));
    }

    #[test]
    fn no_match_across_an_unrelated_word_boundary() {
        let s = Segmenter::with_vocabulary(["停电", "电梯"]);
        assert!(!accepts(&s, "物业暂停电梯运行", "停电"));
        assert!(accepts(&s, "物业暂停电梯运行", "电梯"));
    }

    #[test]
    fn dictionary_sub_words_of_a_longer_word_count() {
        let s = Segmenter::with_vocabulary(["物业费", "物业", "没发", "工资"]);
        assert!(accepts(&s, "催我交物业费", "物业"));
        assert!(accepts(&s, "催我交物业费", "物业费"));
        // 没 / 发工资: 工资 is a sub-word of 发工资, so 没发 ends on a sub-word edge.
        assert!(accepts(&s, "三个月没发工资了", "没发"));
    }

    #[test]
    fn empty_text_accepts_nothing() {
        let s = Segmenter::with_vocabulary([]);
        let mut w = Words::default();
        s.segment("", &mut w);
        assert_eq!(w.boundary.len(), 1);
        assert!(!s.accepts("", &w, 0, 0));
    }
}
