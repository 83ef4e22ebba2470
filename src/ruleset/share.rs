//! Parts of a compiled rule set that other live sets built from the same inputs share.
//!
//! A hot reload builds the new set beside the serving one, so for a moment the server holds two.
//! Two parts depend on few of a set's inputs: the matcher (the term automaton and the compiled
//! patterns: about 8 MB with the bundled rules of 2026-12-07, and more in temporaries while it
//! is compiled) on the terms, the
//! patterns and the extra phrases, and the segmenter (the rule terms beside jieba's dictionary,
//! which every segmenter shares: `engine::dictionary`) on the terms. An edit that changes none of
//! these (an article's wording, a department, an example, a setting, a model) gets the serving
//! set's parts instead of building the same ones again.
//!
//! Each part is a pure function of its key (the inputs it is built from, in order), so a shared
//! part decides exactly as a new one would. The registry holds weak references: a part is freed
//! with the last rule set that holds it, never kept for a set that may come later.

use std::sync::{Arc, Mutex, PoisonError, Weak};

/// The live parts of one kind, by key.
pub(crate) struct Shared<T> {
    live: Mutex<Vec<(String, Weak<T>)>>,
}

impl<T> Shared<T> {
    pub const fn new() -> Self {
        Shared {
            live: Mutex::new(Vec::new()),
        }
    }

    /// The part a live rule set holds under `key`, or the one `build` makes (then registered).
    pub fn get_or_build<E>(
        &self,
        key: Key,
        build: impl FnOnce() -> Result<T, E>,
    ) -> Result<Arc<T>, E> {
        if not_shared() {
            return build().map(Arc::new);
        }
        if let Some(part) = self.live(&key) {
            return Ok(part);
        }
        // Built outside the lock (the segmenter takes about 110 ms). Another thread may have
        // built the same part meanwhile: then that one is kept and this one dropped, so that
        // there is never more than one live part per key.
        let built = build()?;
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(part) = Self::find(&mut live, &key) {
            return Ok(part);
        }
        let built = Arc::new(built);
        live.push((key.0, Arc::downgrade(&built)));
        Ok(built)
    }

    fn live(&self, key: &Key) -> Option<Arc<T>> {
        Self::find(
            &mut self.live.lock().unwrap_or_else(PoisonError::into_inner),
            key,
        )
    }

    /// The live part under `key`, dropping the entries of freed parts first.
    fn find(live: &mut Vec<(String, Weak<T>)>, key: &Key) -> Option<Arc<T>> {
        live.retain(|(_, part)| part.strong_count() > 0);
        live.iter()
            .filter(|(k, _)| *k == key.0)
            .find_map(|(_, part)| part.upgrade())
    }
}

/// The inputs a part is built from, written so that different inputs never read the same: each
/// list as its length, then each string as its length in bytes and the string.
#[derive(Default)]
pub(crate) struct Key(String);

impl Key {
    pub fn list<'a>(mut self, items: impl ExactSizeIterator<Item = &'a str>) -> Key {
        use std::fmt::Write;
        let _ = write!(self.0, "[{}]", items.len());
        for item in items {
            let _ = write!(self.0, "{}:", item.len());
            self.0.push_str(item);
        }
        self
    }
}

#[cfg(test)]
thread_local! {
    /// Set by a test that needs parts of its own on this thread, to compare them with shared ones.
    static NOT_SHARED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[cfg(test)]
fn not_shared() -> bool {
    NOT_SHARED.with(|c| c.get())
}

#[cfg(not(test))]
fn not_shared() -> bool {
    false
}

/// Runs `f` with every part built anew on this thread (a test's baseline).
#[cfg(test)]
pub(crate) fn unshared<R>(f: impl FnOnce() -> R) -> R {
    NOT_SHARED.with(|c| c.set(true));
    let r = f();
    NOT_SHARED.with(|c| c.set(false));
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    fn key(words: &[&str]) -> Key {
        Key::default().list(words.iter().copied())
    }

    fn part(shared: &Shared<String>, words: &[&str]) -> Arc<String> {
        shared
            .get_or_build(key(words), || Ok::<_, Infallible>(words.concat()))
            .unwrap_or_else(|e| match e {})
    }

    #[test]
    fn a_live_part_of_the_same_inputs_is_shared_and_a_freed_one_is_not_kept() {
        let shared = Shared::new();
        let a = part(&shared, &["物业费", "停水"]);
        assert!(Arc::ptr_eq(&a, &part(&shared, &["物业费", "停水"])));
        // Another input, or the same inputs in another order, is another part.
        assert!(!Arc::ptr_eq(
            &a,
            &part(&shared, &["物业费", "停水", "停电"])
        ));
        assert!(!Arc::ptr_eq(&a, &part(&shared, &["停水", "物业费"])));
        // No part is kept for a set that may come later.
        let weak = Arc::downgrade(&a);
        drop(a);
        assert!(weak.upgrade().is_none());
        // Each lookup drops the entries of freed parts first.
        assert_eq!(shared.live.lock().unwrap().len(), 2);
        let _b = part(&shared, &["物业费", "停水"]);
        assert_eq!(shared.live.lock().unwrap().len(), 1);
    }

    #[test]
    fn a_part_built_twice_at_once_is_kept_once() {
        let shared = Shared::new();
        // While this thread builds the part, another builds and registers the same one.
        let mut other = None;
        let this = shared
            .get_or_build(key(&["物业费"]), || {
                other = Some(part(&shared, &["物业费"]));
                Ok::<_, Infallible>("物业费".to_owned())
            })
            .unwrap_or_else(|e| match e {});
        let other = other.expect("built meanwhile");
        assert!(
            Arc::ptr_eq(&this, &other),
            "the first one registered is kept"
        );
        assert_eq!(shared.live.lock().unwrap().len(), 1);
    }

    #[test]
    fn different_inputs_never_make_the_same_key() {
        assert_ne!(key(&["共享", "测试"]).0, key(&["共", "享测试"]).0);
        assert_ne!(key(&["12:ab"]).0, key(&["12", "ab"]).0);
        let two_lists = Key::default()
            .list(["a"].into_iter())
            .list(["b"].into_iter());
        assert_ne!(two_lists.0, key(&["a", "b"]).0);
    }

    #[test]
    fn a_test_can_ask_for_parts_of_its_own() {
        let shared = Shared::new();
        let a = part(&shared, &["物业费"]);
        let own = unshared(|| part(&shared, &["物业费"]));
        assert!(!Arc::ptr_eq(&a, &own));
        assert_eq!(a, own);
        // Its own parts are not offered to others.
        drop(a);
        assert!(!Arc::ptr_eq(&own, &part(&shared, &["物业费"])));
    }
}
