//! Stage 2 of a request: segment the normalized text into words, as jieba does.
//!
//! Chinese has no spaces, so "a keyword occurs in the text" is not enough: 停电 (power cut) occurs
//! in 暂停电梯 (pause the lift), and 工资 in 工资条 is fine but 资 in 投资 is not. The segmenter
//! decides where words begin and end; the matcher only accepts a keyword whose start and end fall
//! on those word boundaries.
//!
//! The segmentation is jieba's precise mode without its HMM, edge for edge (a test compares it
//! with `jieba_rs` on every text the project has): the text is split into runs of CJK characters,
//! ASCII letters and digits (and `+#&._%-`), each run is cut along the most probable route
//! through the dictionary words it contains (frequencies over their total; on a tie the longer
//! word), a run of single ASCII letters and digits the route leaves is one word, and every other
//! character is a word of its own.
//!
//! Every term of the rule set is added to the dictionary with the frequency jieba suggests for
//! keeping it whole ([`Segmenter::suggest_freq`], as `Jieba::suggest_freq`), ×10, so that no rule
//! keyword is split by the segmenter. The terms are kept beside jieba's dictionary, not in it
//! ([`dictionary::JIEBA`], read once per process): a term shadows the dictionary's frequency of
//! the same word and moves the total, exactly as `Jieba::add_word` would, but a segmenter owns
//! only its terms (tens of kilobytes), so a hot reload that adds a term no longer copies the
//! dictionary. Live rule sets of the same terms still share one (`ruleset::share`).
//!
//! Edges are those of jieba's search mode, which also reports the dictionary words inside a long
//! word (物业 and 工资 inside 物业费 and 发工资): a rule that names 物业 still fires on 物业费, and
//! 没发 still fires on 没发工资, but never on a span that does not start and end on a word or
//! sub-word edge. Rather than listing every sub-word of every long word (what search mode does, at
//! twice the cost of segmenting), plain `cut` gives the word edges, and only an endpoint of a term
//! hit that falls inside a word is checked: is it the edge of a 2-character dictionary word inside
//! a word longer than 2, or of a 3-character one inside a word longer than 3?

use super::dictionary::{self, Dictionary};

/// The word edges of one text (see the module docs), and the segmenter's scratch space.
#[derive(Debug, Default)]
pub(crate) struct Words {
    /// Indexed by byte offset (length `text.len() + 1`): a word starts or ends here.
    boundary: Vec<bool>,
    /// (byte start, byte end) of each word longer than two characters, in text order.
    spans: Vec<(u32, u32)>,
    scratch: Scratch,
}

/// Buffers of one cut, reused between requests.
#[derive(Debug, Default)]
struct Scratch {
    /// The current run: (byte offset in the text, character).
    chars: Vec<(u32, char)>,
    /// Per character of the run: the best route's log probability from there, and where its
    /// first word ends.
    route: Vec<(f64, u32)>,
    /// Where the terms that start at the current character end.
    term_ends: Vec<u32>,
}

/// The rule set's terms, beside jieba's dictionary: a trie of their own, small enough to stay in
/// cache, laid out as the dictionary's (one open-addressing table of `(parent, character)`).
///
/// Its nodes are every prefix of every term, made at once; a term becomes a *word* only when it
/// is added, because `suggest_freq` for each term sees only the terms added before it (as with
/// `Jieba::add_word`), and a prefix that is not a word changes no cut.
#[derive(Default)]
struct Terms {
    /// A filter of the terms' first two characters (every term has at least two): a bit per
    /// hashed pair. Most characters of a text start no term, and the filter, 8 KB, answers that
    /// without touching the table, which the automaton and the models push out of cache.
    starts: Vec<u64>,
    slots: Vec<TermSlot>,
    /// Per added word: its frequency and the frequency's logarithm.
    words: Vec<(u64, f64)>,
}

#[derive(Clone, Copy, Default)]
struct TermSlot {
    /// [`term_key`] of the transition, with [`TERM_CHILDREN`] when the node has children; 0 for
    /// an empty slot.
    key: u64,
    /// 1 + the index in `Terms::words` of the word that ends here; 0 when none does.
    word: u32,
}

const TERM_OCCUPIED: u64 = 1 << 63;
const TERM_CHILDREN: u64 = 1 << 62;
const TERM_KEY: u64 = !TERM_CHILDREN;

/// Bits of the terms' first-pair filter.
const PAIR_BITS: usize = 1 << 16;

#[inline(always)]
fn pair_bit(first: char, second: char) -> usize {
    dictionary::scaled_hash((u64::from(first) << 21) | u64::from(second), PAIR_BITS)
}

/// The key of the transition from node `parent` (0 for the root, else slot + 1) by `c`.
#[inline(always)]
fn term_key(parent: u32, c: char) -> u64 {
    TERM_OCCUPIED | (u64::from(parent) << 21) | u64::from(c)
}

impl Terms {
    /// The trie of every prefix of `words`, none of them a word yet.
    fn with_prefixes<'a>(words: impl IntoIterator<Item = &'a str> + Clone) -> Self {
        let prefixes: usize = words.clone().into_iter().map(|w| w.chars().count()).sum();
        let mut t = Terms {
            starts: vec![0; PAIR_BITS / 64],
            slots: vec![TermSlot::default(); (prefixes * 2).max(16)],
            words: Vec::new(),
        };
        for w in words {
            let mut chars = w.chars();
            let (Some(first), Some(second)) = (chars.next(), chars.next()) else {
                continue;
            };
            let bit = pair_bit(first, second);
            if let Some(bits) = t.starts.get_mut(bit / 64) {
                *bits |= 1 << (bit % 64);
            }
            let mut parent: Option<usize> = None;
            for c in w.chars() {
                let id = parent.map_or(0, |p| p as u32 + 1);
                if let Some(p) = parent.and_then(|p| t.slots.get_mut(p)) {
                    p.key |= TERM_CHILDREN;
                }
                parent = Some(t.find_or_insert(term_key(id, c)));
            }
        }
        t
    }

    fn find_or_insert(&mut self, key: u64) -> usize {
        match dictionary::probe(&self.slots, key, |s| s.key & TERM_KEY) {
            Some(Ok(i)) => i,
            Some(Err(i)) => {
                if let Some(slot) = self.slots.get_mut(i) {
                    slot.key = key;
                }
                i
            }
            // `with_prefixes` sizes the table at twice the prefixes it will hold.
            None => unreachable!("the terms' table is never full"),
        }
    }

    /// The slot of the child of `parent` (None for the root) by `c`.
    #[inline(always)]
    fn child(&self, parent: Option<usize>, c: char) -> Option<usize> {
        let key = term_key(parent.map_or(0, |p| p as u32 + 1), c);
        dictionary::probe(&self.slots, key, |s| s.key & TERM_KEY)?.ok()
    }

    /// Whether a term may start with `first`, `second`.
    #[inline(always)]
    fn may_start(&self, first: char, second: char) -> bool {
        let bit = pair_bit(first, second);
        self.starts
            .get(bit / 64)
            .is_some_and(|bits| bits & (1 << (bit % 64)) != 0)
    }

    /// The word that ends at `slot`: its frequency and logarithm.
    #[inline(always)]
    fn word_at(&self, slot: usize) -> Option<(u64, f64)> {
        let w = self.slots.get(slot)?.word;
        w.checked_sub(1)
            .and_then(|w| self.words.get(w as usize).copied())
    }

    #[inline(always)]
    fn has_children(&self, slot: usize) -> bool {
        self.slots
            .get(slot)
            .is_some_and(|s| s.key & TERM_CHILDREN != 0)
    }

    fn slot_of(&self, word: &str) -> Option<usize> {
        let mut node = None;
        for c in word.chars() {
            node = Some(self.child(node, c)?);
        }
        node
    }

    fn freq(&self, word: &str) -> Option<u64> {
        if self.words.is_empty() {
            return None;
        }
        self.word_at(self.slot_of(word)?).map(|(f, _)| f)
    }

    /// Makes `word` (one of the words the trie was made with) a word of frequency `freq`.
    fn set(&mut self, word: &str, freq: u64) {
        let Some(slot) = self.slot_of(word) else {
            return;
        };
        let entry = (freq, (freq as f64).ln());
        match self.slots.get(slot).map(|s| s.word) {
            Some(0) => {
                self.words.push(entry);
                if let Some(s) = self.slots.get_mut(slot) {
                    s.word = self.words.len() as u32;
                }
            }
            Some(w) => {
                if let Some(e) = self.words.get_mut(w as usize - 1) {
                    *e = entry;
                }
            }
            None => {}
        }
    }
}

/// A segmenter whose dictionary knows the rule set's vocabulary.
pub(crate) struct Segmenter {
    base: &'static Dictionary,
    terms: Terms,
    total: u64,
    log_total: f64,
}

impl Segmenter {
    pub fn with_vocabulary<'a>(words: impl IntoIterator<Item = &'a str>) -> Self {
        let words: Vec<&str> = words
            .into_iter()
            .filter(|w| w.chars().count() >= 2)
            .collect();
        let base: &'static Dictionary = &dictionary::JIEBA;
        let mut s = Segmenter {
            base,
            terms: Terms::with_prefixes(words.iter().copied()),
            total: base.total(),
            log_total: (base.total() as f64).ln(),
        };
        let mut scratch = Scratch::default();
        for w in words {
            // suggest_freq keeps the word whole on its own; ×10 keeps it whole next to an
            // overlapping dictionary word too (有违建: 有违 / 建 without it, 有 / 违建 with it),
            // while 暂停电梯 still cuts as 暂停 / 电梯 (tests below).
            let freq = s.suggest_freq(w, &mut scratch).saturating_mul(10);
            s.add_word(w, freq);
        }
        s
    }

    /// The frequency of `word` in the dictionary as the terms changed it.
    fn freq(&self, word: &str) -> Option<u64> {
        self.terms.freq(word).or_else(|| self.base.freq(word))
    }

    /// What `Jieba::add_word` does: the word's frequency is set, and the total moves with it.
    fn add_word(&mut self, word: &str, freq: u64) {
        let old = self.freq(word).unwrap_or(0);
        self.total = self.total.saturating_add(freq).saturating_sub(old);
        self.log_total = (self.total as f64).ln();
        self.terms.set(word, freq);
    }

    /// `Jieba::suggest_freq`: the frequency that makes `segment` as likely as the words it is
    /// cut into now, plus one, and never less than its own frequency.
    fn suggest_freq(&self, segment: &str, scratch: &mut Scratch) -> u64 {
        let log_total = self.log_total;
        let mut log_freq = 0f64;
        self.cut(segment, scratch, |start, end, _| {
            let word = segment.get(start..end).unwrap_or("");
            log_freq = log_freq + (self.freq(word).unwrap_or(1) as f64).ln() - log_total;
        });
        ((log_freq + log_total).exp() as u64 + 1).max(self.freq(segment).unwrap_or(1))
    }

    /// Cuts `text` into words, handing each word's byte range and length in characters to
    /// `emit`, in order.
    fn cut(&self, text: &str, scratch: &mut Scratch, mut emit: impl FnMut(usize, usize, usize)) {
        let mut chars = text.char_indices();
        let Some((_, first)) = chars.next() else {
            return;
        };
        let mut in_run = is_han_default(first);
        scratch.chars.clear();
        scratch.chars.push((0, first));
        for (b, c) in chars {
            let han = is_han_default(c);
            if han != in_run {
                self.cut_stretch(in_run, scratch, b, &mut emit);
                scratch.chars.clear();
                in_run = han;
            }
            scratch.chars.push((b as u32, c));
        }
        self.cut_stretch(in_run, scratch, text.len(), &mut emit);
    }

    /// Cuts the stretch of characters in `scratch.chars`, which ends at byte `end`: a run along
    /// its best route, anything else a character at a time, except that \r\n is one word.
    fn cut_stretch(
        &self,
        in_run: bool,
        scratch: &mut Scratch,
        end: usize,
        emit: &mut impl FnMut(usize, usize, usize),
    ) {
        if in_run {
            self.cut_run(scratch, end, emit);
            return;
        }
        let chars = &scratch.chars;
        let mut i = 0;
        while let Some(&(b, c)) = chars.get(i) {
            let pair = c == '\r' && matches!(chars.get(i + 1), Some(&(_, '\n')));
            let n = if pair { 2 } else { 1 };
            i += n;
            let e = chars.get(i).map_or(end, |&(b, _)| b as usize);
            emit(b as usize, e, n);
        }
    }

    /// Cuts the run in `scratch.chars` (ending at byte `end` of the text) along its best route.
    fn cut_run(
        &self,
        scratch: &mut Scratch,
        end: usize,
        emit: &mut impl FnMut(usize, usize, usize),
    ) {
        self.route(scratch);
        let Scratch { chars, route, .. } = scratch;
        let n = chars.len();
        let byte_at = |i: usize| chars.get(i).map_or(end, |&(b, _)| b as usize);
        let mut x = 0;
        let mut ascii_from: Option<usize> = None;
        while x < n {
            let y = route.get(x).map_or(x + 1, |r| r.1 as usize);
            let single_ascii =
                y == x + 1 && chars.get(x).is_some_and(|c| c.1.is_ascii_alphanumeric());
            if single_ascii {
                ascii_from.get_or_insert(x);
            } else {
                if let Some(from) = ascii_from.take() {
                    emit(byte_at(from), byte_at(x), x - from);
                }
                emit(byte_at(x), byte_at(y), y - x);
            }
            x = y;
        }
        if let Some(from) = ascii_from {
            emit(byte_at(from), byte_at(n), n - from);
        }
    }

    /// jieba's route: from the last character back, the word from each character that
    /// maximises ln(freq) − ln(total) plus the best route after it (on a tie, the longer word);
    /// a character where no word starts is a word of frequency 1.
    fn route(&self, scratch: &mut Scratch) {
        let Scratch {
            chars,
            route,
            term_ends,
        } = scratch;
        let n = chars.len();
        route.clear();
        route.resize(n + 1, (0.0, n as u32));
        let log_total = self.log_total;
        for idx in (0..n).rev() {
            let mut best: Option<(f64, u32)> = None;
            let mut consider = |route: &[(f64, u32)], end: usize, log_freq: f64| {
                let after = route.get(end).map_or(0.0, |r| r.0);
                let prob = log_freq - log_total + after;
                let end = end as u32;
                match best {
                    Some((p, e)) if !(prob > p || (prob == p && end > e)) => {}
                    _ => best = Some((prob, end)),
                }
            };
            let Some(&(_, first)) = chars.get(idx) else {
                continue;
            };
            term_ends.clear();
            let second = chars.get(idx + 1).map(|c| c.1);
            if second.is_some_and(|second| self.terms.may_start(first, second)) {
                let mut node = None;
                for (k, &(_, c)) in chars.iter().enumerate().skip(idx) {
                    let Some(next) = self.terms.child(node, c) else {
                        break;
                    };
                    if let Some((_, log_freq)) = self.terms.word_at(next) {
                        term_ends.push(k as u32 + 1);
                        consider(route, k + 1, log_freq);
                    }
                    if !self.terms.has_children(next) {
                        break;
                    }
                    node = Some(next);
                }
            }
            if let Some(mut node) = self.base.first(first) {
                let mut k = idx;
                loop {
                    if let Some(class) = node.class()
                        && !term_ends.contains(&(k as u32 + 1))
                    {
                        consider(route, k + 1, self.base.log_freq(class));
                    }
                    k += 1;
                    let Some(&(_, c)) = chars.get(k) else { break };
                    let Some(next) = self.base.next(node, c) else {
                        break;
                    };
                    node = next;
                }
            }
            let entry = best.unwrap_or_else(|| {
                let after = route.get(idx + 1).map_or(0.0, |r| r.0);
                ((0.0 - log_total) + after, idx as u32 + 1)
            });
            if let Some(r) = route.get_mut(idx) {
                *r = entry;
            }
        }
    }

    /// Segments `text` into `words` (buffers reused between requests).
    pub fn segment(&self, text: &str, words: &mut Words) {
        let Words {
            boundary,
            spans,
            scratch,
        } = words;
        boundary.clear();
        boundary.resize(text.len() + 1, false);
        spans.clear();
        self.cut(text, scratch, |start, end, chars| {
            boundary[start] = true;
            boundary[end] = true;
            if chars > 2 {
                spans.push((start as u32, end as u32));
            }
        });
    }

    /// Whether `word` is in the dictionary (jieba's, or a term of the rule set).
    fn has_word(&self, word: &str) -> bool {
        // The dictionary first: the sub-words asked about are mostly its words.
        self.base.freq(word).is_some() || self.terms.freq(word).is_some()
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
            (nl >= n && self.has_word(&text[p - left[n]..p]))
                || (nr >= n && self.has_word(&text[p..p + right[n]]))
        })
    }

    /// Whether a term found at `text[start..end]` starts and ends on edges.
    pub fn accepts(&self, text: &str, words: &Words, start: usize, end: usize) -> bool {
        self.is_edge(text, words, start) && self.is_edge(text, words, end)
    }

    /// The words of `text` (the segmentation shown to rule authors by `hotline-router tokens`).
    pub fn words<'t>(&self, text: &'t str) -> Vec<&'t str> {
        let mut words = Vec::new();
        self.cut(text, &mut Scratch::default(), |start, end, _| {
            words.push(text.get(start..end).unwrap_or(""));
        });
        words
    }
}

/// jieba's `RE_HAN_DEFAULT` class: the characters a run is made of (CJK ideographs, ASCII letters
/// and digits, `+#&._%-`).
#[inline]
fn is_han_default(c: char) -> bool {
    // The main CJK block first, alone: nearly every character of a request is in it, and one
    // range test is cheaper than the vectorised test of all ten ranges.
    if matches!(c, '\u{4E00}'..='\u{9FFF}') {
        return true;
    }
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || matches!(c, '+' | '#' | '&' | '.' | '_' | '%' | '-');
    }
    matches!(c,
        '\u{3400}'..='\u{4DBF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2A6DF}'
        | '\u{2A700}'..='\u{2B73F}'
        | '\u{2B740}'..='\u{2B81F}'
        | '\u{2B820}'..='\u{2CEAF}'
        | '\u{2CEB0}'..='\u{2EBEF}'
        | '\u{2F800}'..='\u{2FA1F}'
    )
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

    /// jieba_rs with the default dictionary, loaded once and cloned for each vocabulary.
    static JIEBA_RS: std::sync::LazyLock<jieba_rs::Jieba> =
        std::sync::LazyLock::new(jieba_rs::Jieba::new);

    /// jieba_rs with `terms` added as a segmenter adds them (`suggest_freq` ×10, in order; terms
    /// of one character left out).
    fn jieba_rs_with<'a>(terms: impl IntoIterator<Item = &'a str>) -> jieba_rs::Jieba {
        let mut jieba = JIEBA_RS.clone();
        for w in terms {
            if w.chars().count() >= 2 {
                let freq = jieba.suggest_freq(w).saturating_mul(10);
                jieba.add_word(w, Some(freq), None);
            }
        }
        jieba
    }

    /// The same words as jieba_rs with the same terms added the same way (`suggest_freq` ×10,
    /// in order), on every text the project has: the rules' terms as the vocabulary, the test
    /// sets and golden requests as they arrive and as `normalize` gives them to the segmenter.
    #[test]
    fn cuts_as_jieba_rs_does() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let set = crate::load_dir(&root.join("rules")).unwrap_or_else(|e| panic!("{e}"));
        let terms: Vec<&str> = set.matcher.terms().iter().map(|t| &**t).collect();
        assert!(terms.len() > 1_000, "{} terms", terms.len());
        let ours = Segmenter::with_vocabulary(terms.iter().copied());
        let theirs = jieba_rs_with(terms.iter().copied());
        let mut texts: Vec<String> = vec![
            "".into(),
            "\r\n".into(),
            "a\r\nb\r\r\n c".into(),
            "ABC123def 4S店和1号店,c++ & c#, 3.5%的_x-y".into(),
            "𠀀𠀁物业费𪚥未过户😀😀 ".into(),
            "物業費未過戶，電話13812345678，身份證110101199003071234".into(),
            "\u{0}\u{200b}物业\u{feff}费".into(),
        ];
        let mut files = 0;
        for dir in ["tests/data", "tests/golden"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_none_or(|e| e != "jsonl") {
                    continue;
                }
                files += 1;
                let body = std::fs::read_to_string(&path).unwrap_or_default();
                for line in body.lines() {
                    let v: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
                    if let Some(t) = v.get("text").and_then(|t| t.as_str()) {
                        texts.push(t.to_owned());
                        texts.push(crate::engine::normalize::normalize(t).text().to_owned());
                    }
                }
            }
        }
        assert!(
            files >= 30 && texts.len() > 10_000,
            "{files} files, {} texts",
            texts.len()
        );
        for text in &texts {
            let expected: Vec<&str> = theirs
                .cut(text, false)
                .into_iter()
                .map(|t| t.word)
                .collect();
            assert_eq!(ours.words(text), expected, "{text:?}");
        }
        // And without any term.
        let plain = Segmenter::with_vocabulary([]);
        let jieba = &*JIEBA_RS;
        for text in texts.iter().step_by(7) {
            let expected: Vec<&str> = jieba.cut(text, false).into_iter().map(|t| t.word).collect();
            assert_eq!(plain.words(text), expected, "{text:?}");
        }
    }

    /// Pieces whose words overlap in jieba's dictionary and in each other, and every class of
    /// character the cut treats apart (CJK, ASCII letters and digits, `+#&._%-`, punctuation,
    /// spaces, \r\n, an emoji, a character outside the BMP).
    const PIECES: [&str; 34] = [
        "物业",
        "物业费",
        "未过户",
        "过户",
        "停电",
        "暂停",
        "电梯",
        "工资",
        "发",
        "没",
        "有违",
        "违建",
        "建",
        "有",
        "拖欠",
        "欠薪",
        "投资",
        "资",
        "高空",
        "抛物",
        "广场舞",
        "音响",
        "a",
        "B",
        "3",
        "c++",
        "#",
        ".",
        "%",
        "，",
        " ",
        "\r\n",
        "😀",
        "𠀀",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        /// Any text of those pieces, with any vocabulary of them (terms of one character are
        /// left out by both): the same words as jieba_rs.
        #[test]
        fn cuts_as_jieba_rs_does_on_any_text_and_vocabulary(
            text in proptest::collection::vec(proptest::sample::select(PIECES.to_vec()), 0..24),
            vocabulary in proptest::collection::vec(
                proptest::collection::vec(proptest::sample::select(PIECES.to_vec()), 1..4),
                0..6,
            ),
        ) {
            let text: String = text.concat();
            let terms: Vec<String> = vocabulary.iter().map(|t| t.concat()).collect();
            let ours = Segmenter::with_vocabulary(terms.iter().map(|t| t.as_str()));
            let theirs = jieba_rs_with(terms.iter().map(|t| t.as_str()));
            let expected: Vec<&str> = theirs.cut(&text, false).into_iter().map(|t| t.word).collect();
            proptest::prop_assert_eq!(ours.words(&text), expected, "{:?} with {:?}", text, terms);
        }
    }

    #[test]
    fn a_term_moves_the_total_as_jieba_rs_does() {
        // 物业 is a dictionary word: a term replaces its frequency; 未过户 is not one.
        let s = Segmenter::with_vocabulary(["物业", "未过户"]);
        let mut j = JIEBA_RS.clone();
        let mut total = dictionary::JIEBA.total();
        for w in ["物业", "未过户"] {
            let freq = j.suggest_freq(w).saturating_mul(10);
            j.add_word(w, Some(freq), None);
            assert_eq!(s.freq(w), Some(freq as u64), "{w}");
            total = total + freq as u64 - dictionary::JIEBA.freq(w).unwrap_or(0);
        }
        assert_eq!(s.total, total);
        assert_eq!(s.log_total, (total as f64).ln());
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
