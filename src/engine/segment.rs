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
//! life of the process) and is swapped together with the rules.
//!
//! The segmenter is a function of the vocabulary alone (the same words added in the same order
//! give the same dictionary), and it is most of a rule set's memory (about 33 MB of 52). So rule
//! sets with the same vocabulary share one ([`Segmenter::shared`]): a reload that edits a
//! regulation, a department, an example, a setting or a model, but no term, reuses the serving
//! set's segmenter instead of holding two while the new set is built and swapped in.
//!
//! Edges are those of jieba's search mode, which also reports the dictionary words inside a long
//! word (物业 and 工资 inside 物业费 and 发工资): a rule that names 物业 still fires on 物业费, and
//! 没发 still fires on 没发工资, but never on a span that does not start and end on a word or
//! sub-word edge. Rather than listing every sub-word of every long word (what search mode does, at
//! twice the cost of segmenting), plain `cut` gives the word edges, and only an endpoint of a term
//! hit that falls inside a word is checked: is it the edge of a 2-character dictionary word inside
//! a word longer than 2, or of a 3-character one inside a word longer than 3?

use std::sync::{Arc, Mutex, PoisonError, Weak};

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
    /// The words added to jieba's dictionary, in the order added, each written as `length:word`
    /// (so that no two different lists read the same): what decides whether two rule sets can
    /// share this segmenter.
    vocabulary: String,
}

/// The segmenters of the rule sets alive in this process (see [`Segmenter::shared`]). Weak: a
/// segmenter is freed with the last rule set that holds it, never kept by this list.
static LIVE: Mutex<Vec<Weak<Segmenter>>> = Mutex::new(Vec::new());

impl Segmenter {
    /// The segmenter for `words`: the one a live rule set holds if it was built from the same
    /// words in the same order, otherwise a new one (see the module docs).
    pub fn shared<'a>(words: impl IntoIterator<Item = &'a str>) -> Arc<Segmenter> {
        let words: Vec<&str> = words.into_iter().filter(|w| kept(w)).collect();
        let vocabulary = vocabulary_key(&words);
        {
            let mut live = LIVE.lock().unwrap_or_else(PoisonError::into_inner);
            live.retain(|s| s.strong_count() > 0);
            if let Some(s) = live
                .iter()
                .filter_map(Weak::upgrade)
                .find(|s| s.vocabulary == vocabulary)
            {
                return s;
            }
        }
        // Built outside the lock (about 110 ms): two threads building the same vocabulary at
        // once each get a correct segmenter, the second only costs memory.
        let built = Arc::new(Segmenter::build(&words, vocabulary));
        LIVE.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::downgrade(&built));
        built
    }

    /// A segmenter of its own for `words`, shared with nothing (for tests of the engine's parts).
    #[cfg(test)]
    pub fn with_vocabulary<'a>(words: impl IntoIterator<Item = &'a str>) -> Self {
        let words: Vec<&str> = words.into_iter().filter(|w| kept(w)).collect();
        let vocabulary = vocabulary_key(&words);
        Segmenter::build(&words, vocabulary)
    }

    /// A new segmenter of the same vocabulary, shared with nothing (for tests that compare).
    #[cfg(test)]
    pub fn rebuilt(&self) -> Segmenter {
        let mut words = Vec::new();
        let mut rest = self.vocabulary.as_str();
        while let Some((len, tail)) = rest.split_once(':') {
            let len: usize = len.parse().expect("a length");
            words.push(&tail[..len]);
            rest = &tail[len..];
        }
        Segmenter::build(&words, self.vocabulary.clone())
    }

    fn build(words: &[&str], vocabulary: String) -> Self {
        // A fresh dictionary per vocabulary rather than a clone of a cached one: each copy is
        // ~30 MB resident, and ~110 ms to parse is a fair price at load time for not holding two.
        let mut jieba = Jieba::new();
        for w in words {
            // suggest_freq keeps the word whole on its own; ×10 keeps it whole next to an
            // overlapping dictionary word too (有违建: 有违 / 建 without it, 有 / 违建 with it),
            // while 暂停电梯 still cuts as 暂停 / 电梯 (tests below).
            let freq = jieba.suggest_freq(w).saturating_mul(10);
            jieba.add_word(w, Some(freq), None);
        }
        Segmenter { jieba, vocabulary }
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

/// Whether a rule term goes into the dictionary: a single character is a word or not by jieba's
/// own dictionary, and adding it would only change how the text around it is cut.
fn kept(word: &str) -> bool {
    word.chars().nth(1).is_some()
}

/// `words` as one string, each word as `length:word`.
fn vocabulary_key(words: &[&str]) -> String {
    let mut key = String::with_capacity(words.iter().map(|w| w.len() + 4).sum());
    for w in words {
        key.push_str(&w.len().to_string());
        key.push(':');
        key.push_str(w);
    }
    key
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

    #[test]
    fn rule_sets_with_the_same_vocabulary_share_one_segmenter() {
        // Words no other test uses, so that no segmenter of a test running alongside is found.
        let a = Segmenter::shared(["共享测试甲", "共享测试乙", "丙"]);
        // The single character is not in the vocabulary, so leaving it out changes nothing.
        let b = Segmenter::shared(["共享测试甲", "共享测试乙"]);
        assert!(Arc::ptr_eq(&a, &b));
        // Another word, or the same words in another order, is another dictionary.
        let c = Segmenter::shared(["共享测试甲", "共享测试乙", "共享测试丙"]);
        let d = Segmenter::shared(["共享测试乙", "共享测试甲"]);
        assert!(!Arc::ptr_eq(&a, &c));
        assert!(!Arc::ptr_eq(&a, &d));
        // "ab" + "c" and "a" + "bc" are different lists.
        assert_ne!(
            vocabulary_key(&["共享", "测试"]),
            vocabulary_key(&["共", "享测试"])
        );
        // A segmenter no rule set holds any more is freed, not kept for later.
        let weak = Arc::downgrade(&c);
        drop(c);
        assert!(weak.upgrade().is_none());
        let e = Segmenter::shared(["共享测试甲", "共享测试乙", "共享测试丙"]);
        assert!(!Arc::ptr_eq(&a, &e));
        assert_eq!(
            e.words("共享测试丙和共享测试甲"),
            Segmenter::with_vocabulary(["共享测试甲", "共享测试乙", "共享测试丙"])
                .words("共享测试丙和共享测试甲")
        );
    }
}
