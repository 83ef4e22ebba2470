//! Giving freed memory back to the system once a burst is over.
//!
//! The binary allocates with mimalloc, which returns freed pages to the system lazily: a page
//! is purged at the allocator's next *new* allocation from the arena, after a delay. A server
//! that has just closed thousands of connections (2,000 stalled uploads: +78 MB) and then serves
//! only health checks reuses the pages it kept and never allocates anew, so it kept the memory
//! (measured: 169 MB before and after 15 s of health checks; 91 MB before the burst).
//!
//! So each runtime worker, when it goes idle ([`on_park`]), asks mimalloc to collect its heap and
//! purge what is free (`mi_collect(true)`), at most once per [`INTERVAL`]; a timer wakes the
//! runtime every [`INTERVAL`] so that an idle server gets there too. The cost is one collection
//! per worker per interval, only when the worker has nothing else to do.
//!
//! The server also turns transparent huge pages off for itself ([`forgo_huge_pages`]): mimalloc
//! marks its 1 GiB arena `MADV_HUGEPAGE`, and on a kernel whose THP mode is `madvise` (Debian's
//! default) or `always`, each 2 MiB of the arena that the heap touches becomes resident whole.
//! A routing server's heap is many small objects spread over the arena, so huge pages cost it
//! a third of its memory (measured: 108 MB resident after start-up with them, 75 MB without,
//! the same Route throughput; BENCHMARKS.md §4) and buy it little.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// Least time between two collections on one worker thread.
pub(crate) const INTERVAL: Duration = Duration::from_secs(5);

thread_local! {
    static LAST: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// The runtime's `on_thread_park` hook: collects this thread's heap if the last collection on
/// it is at least [`INTERVAL`] old.
pub(crate) fn on_park() {
    let now = Instant::now();
    let due = LAST.with(|last| {
        let due = last.get().is_none_or(|t| now.duration_since(t) >= INTERVAL);
        if due {
            last.set(Some(now));
        }
        due
    });
    if due {
        collect();
    }
}

/// Gives what the calling thread's heap has freed back to the system (the workers when idle, the
/// rules thread after each load and each set it frees, `loader.rs`).
pub(crate) fn collect() {
    // SAFETY: `mi_collect` has no preconditions: it frees the calling thread's unused pages and
    // purges mimalloc's arenas under the allocator's own synchronisation. When the process's
    // global allocator is not mimalloc (the library's tests), it finds an empty heap and returns.
    unsafe { libmimalloc_sys::mi_collect(true) };
}

/// Turns transparent huge pages off for this process, before the server builds its heap.
/// Pages already faulted in stay as they are; every later fault gets ordinary 4 KiB pages.
/// Benchmarks of the engine call it too, so that they measure it in the server's memory regime
/// (with huge pages, mimalloc's purged pages come back as 2 MiB faults that the kernel zeroes:
/// about 5% of `route_loop`'s samples).
pub fn forgo_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl(PR_SET_THP_DISABLE) takes integers only and sets a flag on the process's
    // memory map; it touches no memory of ours. On a kernel without it (before 3.15) it fails
    // with EINVAL and THP stays as it was, which is only a matter of footprint.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// Wakes the runtime every [`INTERVAL`], so that an idle server's workers park again and
/// collect.
pub(crate) async fn tick() {
    let mut every = tokio::time::interval(INTERVAL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
    }
}
