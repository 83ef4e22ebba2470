//! jieba's dictionary as one compact character trie, read once per process and shared by every
//! segmenter (`segment.rs` adds each rule set's terms beside it, never into it).
//!
//! Why not `jieba_rs::Jieba`: its dictionary can only learn a word by mutation, so a segmenter
//! that knows a rule set's terms had to own a whole copy (33 MB resident: a hash table of 16 MB,
//! records and logarithms of 16 MB after `add_word` doubled their vectors). A hot reload that
//! added a term built a second copy beside the serving one, and the server's memory peaked at
//! 138–146 MB. Here the 349,045 words take 8.4 MB, once.
//!
//! The trie: a node is a prefix of a dictionary word. A first character in the Basic
//! Multilingual Plane (all of jieba's) is a direct index into `root`; every other transition is
//! one `u64` in an open-addressing table keyed by `(parent node, character)`, which also says
//! whether the child ends a word (its frequency class) and whether it has children of its own,
//! so a walk stops without a probe when nothing can follow. A node's id is its slot, which is why
//! the table is sized once, before any insertion, and never grows. Frequencies are stored as a
//! class (jieba has 5,087 distinct frequencies), so a word costs no more than its slot, and the
//! route's `ln(freq)` is one load from a small table instead of a logarithm per edge.

use std::collections::HashMap;
use std::sync::LazyLock;

/// jieba's `dict.txt`, zstd-compressed (origin, version and licence in `jieba/README.md`).
const DICT_ZST: &[u8] = include_bytes!("jieba/dict.txt.zst");
/// The decompressed size of [`DICT_ZST`] (checked by a test), the buffer decompression needs.
const DICT_BYTES: usize = 5_071_843;

/// The base dictionary, read on first use (start-up builds the first rule set, which uses it).
pub(crate) static JIEBA: LazyLock<Dictionary> = LazyLock::new(|| {
    // The dictionary is part of the binary, and a test reads it: failing here means a broken
    // build, which must not serve with a silently empty dictionary.
    let text = zstd::bulk::decompress(DICT_ZST, DICT_BYTES)
        .expect("the bundled jieba dictionary decompresses (src/engine/jieba)");
    let text = std::str::from_utf8(&text).expect("the bundled jieba dictionary is UTF-8");
    Dictionary::parse(text).expect("the bundled jieba dictionary parses")
});

const CHAR_BITS: u32 = 21;
const ID_BITS: u32 = 21;
const CLASS_SHIFT: u32 = CHAR_BITS + ID_BITS;
const CLASS_BITS: u32 = 14;
/// The largest frequency class a slot can hold (class + 1 is stored; 0 means "not a word").
const MAX_CLASSES: usize = (1 << CLASS_BITS) - 1;
/// Set on a node that has at least one child.
const CHILDREN: u64 = 1 << 56;
/// Set on every occupied slot (and root entry), so that an empty one is 0.
const OCCUPIED: u64 = 1 << 63;
/// The bits that identify a slot's transition: parent, character, occupied.
const KEY_MASK: u64 = OCCUPIED | ((1 << CLASS_SHIFT) - 1);
const CLASS_MASK: u64 = ((1 << CLASS_BITS) - 1) << CLASS_SHIFT;
/// Root entries cover the Basic Multilingual Plane.
const ROOT_LEN: usize = 0x1_0000;
const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;

/// `x` hashed (multiplicatively) and scaled to `0..len`: the high bits of the product, so no
/// power-of-two table is needed.
#[inline(always)]
pub(crate) fn scaled_hash(x: u64, len: usize) -> usize {
    ((u128::from(x.wrapping_mul(MULTIPLIER)) * len as u128) >> 64) as usize
}

/// Linear probing over an open-addressing table, shared by the dictionary's trie and a
/// segmenter's terms (`segment.rs`): `Ok(slot)` holding `key`, or `Err(slot)`, the empty slot
/// where it would go. `key_of` reads a slot's key; 0 is an empty slot, and no key is 0. `None`
/// only for a table without an empty slot, which both size so that it never happens.
#[inline(always)]
pub(crate) fn probe<S>(
    slots: &[S],
    key: u64,
    key_of: impl Fn(&S) -> u64,
) -> Option<Result<usize, usize>> {
    let len = slots.len();
    let mut i = scaled_hash(key, len);
    for _ in 0..len {
        let k = key_of(slots.get(i)?);
        if k == 0 {
            return Some(Err(i));
        }
        if k == key {
            return Some(Ok(i));
        }
        i = if i + 1 == len { 0 } else { i + 1 };
    }
    None
}

/// jieba's dictionary: words with their frequencies, and the total of all frequencies.
pub(crate) struct Dictionary {
    /// Per BMP character: the entry of the one-character prefix (0 when no word starts with it).
    root: Box<[u64]>,
    slots: Box<[u64]>,
    /// `ln(freq)` per frequency class.
    log_freqs: Box<[f64]>,
    /// The frequency per class.
    freqs: Box<[u64]>,
    total: u64,
}

/// A node of the trie: its id (for the next step) and its entry (word class, children).
#[derive(Clone, Copy)]
pub(crate) struct Node {
    id: u32,
    entry: u64,
}

impl Node {
    /// The frequency class of the word that ends here, if one does.
    #[inline(always)]
    pub fn class(self) -> Option<usize> {
        match (self.entry & CLASS_MASK) >> CLASS_SHIFT {
            0 => None,
            c => Some(c as usize - 1),
        }
    }

    #[inline(always)]
    pub fn has_children(self) -> bool {
        self.entry & CHILDREN != 0
    }
}

impl Dictionary {
    /// Builds the trie from jieba's `word freq [tag]` lines. A later line for the same word
    /// replaces its frequency; every line counts toward the total (both as `jieba_rs` loads its
    /// own dictionary).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut entries: Vec<(&str, u64)> = Vec::with_capacity(text.len() / 14);
        let mut total: u64 = 0;
        for (n, line) in text.lines().enumerate() {
            let mut fields = line.split_ascii_whitespace();
            let Some(word) = fields.next() else { continue };
            let freq = match fields.next() {
                None => 0,
                Some(f) => f
                    .parse::<u64>()
                    .map_err(|e| format!("line {}: frequency {f:?}: {e}", n + 1))?,
            };
            total = total.saturating_add(freq);
            entries.push((word, freq));
        }
        // Sorted (stable, so the last line of a word is the last of its run), the prefixes a
        // word adds to the trie are those beyond what it shares with the word before it.
        entries.sort_by(|a, b| a.0.cmp(b.0));
        let mut nodes = 0usize;
        let mut previous = "";
        for &(word, _) in &entries {
            let shared = previous
                .chars()
                .zip(word.chars())
                .take_while(|(a, b)| a == b)
                .count();
            let first_in_slots = word.chars().next().is_some_and(|c| c as usize >= ROOT_LEN);
            let from = if first_in_slots { 0 } else { 1 };
            nodes += word.chars().count().saturating_sub(shared.max(from));
            previous = word;
        }
        // At most half full: a walk ends on a miss at almost every position, and a miss probes
        // until an empty slot.
        let len = (nodes * 2).max(16);
        if len + ROOT_LEN >= 1 << ID_BITS {
            return Err(format!(
                "{nodes} trie nodes are more than a node id can hold"
            ));
        }
        let mut dict = Dictionary {
            root: vec![0; ROOT_LEN].into_boxed_slice(),
            slots: vec![0; len].into_boxed_slice(),
            log_freqs: Box::new([]),
            freqs: Box::new([]),
            total,
        };
        let mut classes: HashMap<u64, usize> = HashMap::new();
        let mut freqs = Vec::new();
        for (i, &(word, freq)) in entries.iter().enumerate() {
            if entries.get(i + 1).is_some_and(|next| next.0 == word) {
                continue; // a later line of the same word wins
            }
            let class = *classes.entry(freq).or_insert_with(|| {
                freqs.push(freq);
                freqs.len() - 1
            });
            if class >= MAX_CLASSES {
                return Err(format!("more than {MAX_CLASSES} distinct frequencies"));
            }
            dict.insert(word, class);
        }
        dict.log_freqs = freqs.iter().map(|&f| (f as f64).ln()).collect();
        dict.freqs = freqs.into_boxed_slice();
        Ok(dict)
    }

    /// The total of all frequencies (jieba's denominator for a word's probability).
    pub fn total(&self) -> u64 {
        self.total
    }

    #[inline(always)]
    pub fn log_freq(&self, class: usize) -> f64 {
        self.log_freqs
            .get(class)
            .copied()
            .unwrap_or(f64::NEG_INFINITY)
    }

    /// The frequency of `word`, if it is a dictionary word.
    pub fn freq(&self, word: &str) -> Option<u64> {
        let mut chars = word.chars();
        let mut node = self.first(chars.next()?)?;
        for c in chars {
            node = self.next(node, c)?;
        }
        node.class().and_then(|c| self.freqs.get(c).copied())
    }

    /// The node of the one-character prefix `c`.
    #[inline(always)]
    pub fn first(&self, c: char) -> Option<Node> {
        let i = c as usize;
        if let Some(&entry) = self.root.get(i) {
            return (entry != 0).then_some(Node {
                id: (self.slots.len() + i) as u32,
                entry,
            });
        }
        self.child(self.root_id(), c)
    }

    /// The child of `node` by `c`.
    #[inline(always)]
    pub fn next(&self, node: Node, c: char) -> Option<Node> {
        if !node.has_children() {
            return None;
        }
        self.child(node.id, c)
    }

    /// The parent id of a first character outside the root table.
    fn root_id(&self) -> u32 {
        (self.slots.len() + ROOT_LEN) as u32
    }

    #[inline(always)]
    fn key(parent: u32, c: char) -> u64 {
        OCCUPIED | (u64::from(parent) << CHAR_BITS) | u64::from(c)
    }

    #[inline(always)]
    fn child(&self, parent: u32, c: char) -> Option<Node> {
        let i = probe(&self.slots, Self::key(parent, c), |&e| e & KEY_MASK)?.ok()?;
        let entry = *self.slots.get(i)?;
        Some(Node {
            id: i as u32,
            entry,
        })
    }

    /// Adds `word` with frequency class `class`, creating its prefixes (the table was sized for
    /// every node, so it never fills).
    fn insert(&mut self, word: &str, class: usize) {
        let mut parent: Option<(u32, Place)> = None;
        let n = word.chars().count();
        for (k, c) in word.chars().enumerate() {
            let place = match parent {
                None if (c as usize) < ROOT_LEN => Place::Root(c as usize),
                None => Place::Slot(self.find_or_insert(self.root_id(), c)),
                Some((id, parent_place)) => {
                    *self.entry_mut(parent_place) |= CHILDREN;
                    Place::Slot(self.find_or_insert(id, c))
                }
            };
            let entry = self.entry_mut(place);
            *entry |= OCCUPIED;
            if k + 1 == n {
                *entry = (*entry & !CLASS_MASK) | (((class as u64) + 1) << CLASS_SHIFT);
            }
            let id = match place {
                Place::Root(i) => self.slots.len() + i,
                Place::Slot(i) => i,
            };
            parent = Some((id as u32, place));
        }
    }

    fn entry_mut(&mut self, place: Place) -> &mut u64 {
        match place {
            Place::Root(i) => &mut self.root[i],
            Place::Slot(i) => &mut self.slots[i],
        }
    }

    fn find_or_insert(&mut self, parent: u32, c: char) -> usize {
        let key = Self::key(parent, c);
        match probe(&self.slots, key, |&e| e & KEY_MASK) {
            Some(Ok(i)) => i,
            Some(Err(i)) => {
                self.slots[i] = key;
                i
            }
            // `parse` sizes the table at twice the nodes it will hold.
            None => unreachable!("the trie's table is never full"),
        }
    }

    /// Bytes held by the trie and its tables.
    #[cfg(test)]
    pub fn heap_bytes(&self) -> usize {
        (self.root.len() + self.slots.len() + self.freqs.len()) * 8 + self.log_freqs.len() * 8
    }
}

#[derive(Clone, Copy)]
enum Place {
    Root(usize),
    Slot(usize),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_dictionary_is_jiebas() {
        let text = zstd::bulk::decompress(DICT_ZST, DICT_BYTES).expect("decompresses");
        assert_eq!(text.len(), DICT_BYTES);
        let text = std::str::from_utf8(&text).expect("utf-8");
        assert_eq!(text.lines().count(), 349_045);
        let d = &*JIEBA;
        assert_eq!(d.total(), 60_101_964);
        assert_eq!(d.freq("物业"), Some(239));
        assert_eq!(d.freq("物业费"), Some(11));
        assert_eq!(d.freq("物业费用物业"), None);
        // 8.4 MB, against 33 MB for jieba_rs's copy.
        assert!(d.heap_bytes() < 10 << 20, "{} bytes", d.heap_bytes());
    }

    #[test]
    fn a_small_dictionary_walks_and_replaces_repeated_words() {
        let d = Dictionary::parse("ab 3\na 1\nabc 0 n\nab 5\n\n𠀀x 2\n").expect("parses");
        assert_eq!(d.total(), 11);
        assert_eq!(d.freq("a"), Some(1));
        assert_eq!(d.freq("ab"), Some(5));
        assert_eq!(d.freq("abc"), Some(0));
        assert_eq!(d.freq("𠀀x"), Some(2));
        assert_eq!(d.freq("𠀀"), None);
        assert_eq!(d.freq("b"), None);
        let a = d.first('a').expect("a");
        assert!(a.has_children());
        let abc = d.next(d.next(a, 'b').expect("ab"), 'c').expect("abc");
        assert!(!abc.has_children());
        assert_eq!(d.log_freq(abc.class().expect("a word")), f64::NEG_INFINITY);
    }

    #[test]
    fn a_bad_frequency_names_its_line() {
        let e = Dictionary::parse("a 1\nb x\n").err().expect("an error");
        assert!(e.starts_with("line 2: frequency \"x\""), "{e}");
    }
}
