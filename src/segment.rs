//! Stage 2 of a request: segment the normalized text into words with jieba.
//!
//! Chinese has no spaces, so "a keyword occurs in the text" is not enough: 停电 (power cut) occurs
//! in 暂停电梯 (pause the lift), and 工资 in 工资条 is fine but 资 in 投资 is not. The segmenter
//! decides where words begin and end; the matcher only accepts a keyword whose start and end fall
//! on those word boundaries.
//!
//! Every term of the rule set is added to the segmenter's dictionary with the frequency jieba
//! suggests for keeping it whole ([`Jieba::suggest_freq`]), so that no rule keyword is split by
//! the segmenter. Because `add_word` needs `&mut Jieba`, each loaded rule set owns its segmenter,
//! built once at load time from a clone of the base dictionary (parsed once per process), and is
//! swapped together with the rules.
//!
//! Boundaries come from jieba's search mode, which also reports the dictionary words inside a long
//! word (物业费 → 物业, 物业费): a rule that names 物业 still fires on 物业费, but never on a span
//! that is not a word of its own.

use std::sync::OnceLock;

use jieba_rs::Jieba;

/// The base dictionary, parsed once per process (it is ~5 MB of text).
fn base() -> &'static Jieba {
    static BASE: OnceLock<Jieba> = OnceLock::new();
    BASE.get_or_init(Jieba::new)
}

/// A segmenter whose dictionary knows the rule set's vocabulary.
pub(crate) struct Segmenter {
    jieba: Jieba,
}

impl Segmenter {
    pub fn with_vocabulary<'a>(words: impl IntoIterator<Item = &'a str>) -> Self {
        let mut jieba = base().clone();
        for w in words {
            if w.chars().count() >= 2 {
                let freq = jieba.suggest_freq(w);
                jieba.add_word(w, Some(freq), None);
            }
        }
        Segmenter { jieba }
    }

    /// Marks in `boundary` (indexed by byte offset of `text`, length `text.len() + 1`) every
    /// offset where a word starts or ends.
    pub fn mark_boundaries(&self, text: &str, boundary: &mut Vec<bool>) {
        boundary.clear();
        boundary.resize(text.len() + 1, false);
        for t in self.jieba.cut_for_search(text, false) {
            boundary[t.byte_start] = true;
            boundary[t.byte_end] = true;
        }
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

    fn boundaries(s: &Segmenter, text: &str) -> Vec<usize> {
        let mut b = Vec::new();
        s.mark_boundaries(text, &mut b);
        b.iter()
            .enumerate()
            .filter(|(_, x)| **x)
            .map(|(i, _)| i)
            .collect()
    }

    #[test]
    fn rule_vocabulary_is_never_split() {
        let s = Segmenter::with_vocabulary(["未过户"]);
        let text = "房子还未过户";
        let b = boundaries(&s, text);
        let start = text.find("未过户").unwrap();
        assert!(
            b.contains(&start) && b.contains(&(start + "未过户".len())),
            "{b:?}"
        );
    }

    #[test]
    fn no_boundary_inside_an_unrelated_word() {
        let s = Segmenter::with_vocabulary(["停电", "电梯"]);
        let text = "物业暂停电梯运行";
        let b = boundaries(&s, text);
        let start = text.find("停电").unwrap();
        assert!(
            !(b.contains(&start) && b.contains(&(start + "停电".len()))),
            "{b:?}"
        );
    }

    #[test]
    fn boundaries_cover_empty_text() {
        let s = Segmenter::with_vocabulary([]);
        let mut b = Vec::new();
        s.mark_boundaries("", &mut b);
        assert_eq!(b.len(), 1);
    }
}
