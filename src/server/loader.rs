//! The one thread that builds the server's rule sets and frees the ones it no longer serves.
//!
//! Why a thread of its own: the allocator (mimalloc) keeps each thread's memory in pages owned by
//! that thread. A block freed by another thread is only queued for the owner, and is given back
//! when the owner next allocates or collects. A rule set is about 18 MB of heap with the bundled
//! rules of 2026-12-07 (about 8 of them the matcher, which sets of the same terms share:
//! `ruleset::share`; jieba's dictionary, 8.4 MB, is one per process), and its load allocates
//! about 30 MB more while it runs; it is built once and freed when a reload replaces it. Built on
//! the main thread (which then only waits) or on a blocking-pool thread (idle after the load), and
//! freed by a runtime worker, nearly all of it stayed queued: 88 MB after start-up, about 150 MB
//! after a few reloads and while idle (BENCHMARKS.md §4). Here the set is built, and freed, by the
//! same thread, which then collects its heap, so a replaced set's memory goes back to the system.
//!
//! A retired set may still be in use by calls that took a snapshot before the swap: the thread
//! holds it until it is the last owner (checking every [`RETIRE_POLL`]), then drops it. A set
//! dropped elsewhere (a call still holding it when [`RETIRE_PATIENCE`] runs out) is still freed
//! correctly; its memory is only given back later.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant};

use crate::ruleset::{self, LoadError, RuleSet};

/// How often a retired set is checked for calls still using it.
const RETIRE_POLL: Duration = Duration::from_millis(20);
/// How long a retired set waits for the calls that hold it (a call routes in microseconds; a
/// batch of 1,000 in tens of milliseconds).
const RETIRE_PATIENCE: Duration = Duration::from_secs(10);

enum Job {
    Load(
        PathBuf,
        tokio::sync::oneshot::Sender<Result<RuleSet, LoadError>>,
    ),
    Retire(Arc<RuleSet>),
}

/// A handle on the loading thread; the thread ends when the handle is dropped.
pub(crate) struct Loader {
    /// `None` when the thread could not be started: sets are then loaded on the blocking pool
    /// and freed where they are dropped, as any value (correct, only slower to give memory back).
    jobs: Option<Sender<Job>>,
}

impl Loader {
    pub fn start() -> Loader {
        let (jobs, rx) = channel();
        match std::thread::Builder::new()
            .name("hotline-rules".into())
            .spawn(move || run(rx))
        {
            Ok(_) => Loader { jobs: Some(jobs) },
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the rules thread; loading on the blocking pool");
                Loader { jobs: None }
            }
        }
    }

    /// Loads the rules in `dir` on the loading thread, without blocking the caller's thread.
    pub async fn load(&self, dir: PathBuf) -> Result<RuleSet, LoadError> {
        if let Some(jobs) = &self.jobs {
            let (reply, answer) = tokio::sync::oneshot::channel();
            if jobs.send(Job::Load(dir.clone(), reply)).is_ok()
                && let Ok(loaded) = answer.await
            {
                return loaded;
            }
        }
        let shown = dir.display().to_string();
        tokio::task::spawn_blocking(move || ruleset::load_dir(&dir))
            .await
            .unwrap_or_else(|join| {
                Err(LoadError {
                    diagnostics: vec![ruleset::Diagnostic {
                        location: ruleset::SourceLocation::file_start(&shown),
                        severity: ruleset::Severity::Error,
                        code: ruleset::Code::Unreadable,
                        message: format!("rule loading stopped unexpectedly: {join}"),
                    }],
                })
            })
    }

    /// Hands a set that is no longer served (or was loaded and not kept) to the loading thread,
    /// which frees it once no call holds it.
    pub fn retire(&self, set: Arc<RuleSet>) {
        if let Some(jobs) = &self.jobs {
            // When the thread is gone, the set comes back in the error and is dropped here.
            let _ = jobs.send(Job::Retire(set));
        }
    }
}

fn run(jobs: Receiver<Job>) {
    // (set, retired at)
    let mut retired: Vec<(Arc<RuleSet>, Instant)> = Vec::new();
    loop {
        let job = if retired.is_empty() {
            jobs.recv().map_err(|_| RecvTimeoutError::Disconnected)
        } else {
            jobs.recv_timeout(RETIRE_POLL)
        };
        match job {
            Ok(Job::Load(dir, reply)) => {
                let _ = reply.send(ruleset::load_dir(&dir));
                // The load's temporaries (parsed YAML, the dictionary's text, the validator's
                // tables) were freed on this thread: give them back too.
                super::memory::collect();
            }
            Ok(Job::Retire(set)) => retired.push((set, Instant::now())),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        let before = retired.len();
        // Dropped here, by the thread that allocated it, when no call holds it any more (or
        // when the calls that do have had their time; their last drop frees it then).
        retired.retain(|(set, at)| Arc::strong_count(set) > 1 && at.elapsed() < RETIRE_PATIENCE);
        if retired.len() < before {
            super::memory::collect();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundled() -> PathBuf {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"))
    }

    /// Waits up to 5 s for `f` to hold.
    fn eventually(f: impl Fn() -> bool) -> bool {
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if f() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        f()
    }

    #[tokio::test]
    async fn a_retired_set_is_freed_once_no_call_holds_it() {
        let loader = Loader::start();
        let set = Arc::new(loader.load(bundled()).await.expect("bundled rules load"));
        let freed = Arc::downgrade(&set);
        // A call in flight took a snapshot before the swap.
        let call = set.clone();
        loader.retire(set);
        std::thread::sleep(RETIRE_POLL * 5);
        assert!(
            freed.upgrade().is_some(),
            "freed under a call that holds it"
        );
        drop(call);
        assert!(
            eventually(|| freed.upgrade().is_none()),
            "a retired set no call holds is freed"
        );
    }

    /// A copy of the bundled rules with `edit` applied to the file `name`.
    fn edited_copy(name: &str, edit: impl Fn(&str) -> String) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        crate::synthetic::copy_dir(&bundled(), dir.path()).unwrap();
        let path = dir.path().join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, edit(&text)).unwrap();
        dir
    }

    /// A reload that edits no term, pattern or phrase (here an article's wording) builds no
    /// second dictionary or automaton: the new set shares the serving set's segmenter and
    /// matcher, and decides as a set with parts of its own would. One that adds a term gets
    /// parts of its own.
    #[tokio::test]
    async fn a_reload_that_adds_no_term_keeps_the_serving_sets_segmenter_and_matcher() {
        let loader = Loader::start();
        let serving = loader.load(bundled()).await.expect("bundled rules load");
        let reworded = edited_copy("regulations.yaml", |t| {
            t.replacen("物业服务人", "物业服务企业", 1)
        });
        let reloaded = loader
            .load(reworded.path().to_path_buf())
            .await
            .expect("reworded rules load");
        assert_ne!(serving.version(), reloaded.version());
        assert!(Arc::ptr_eq(&serving.segmenter, &reloaded.segmenter));
        assert!(Arc::ptr_eq(&serving.matcher, &reloaded.matcher));
        assert_eq!(
            reloaded.parts_shared_with(&serving),
            "segmenter and matcher"
        );

        let grown = edited_copy("synonyms.yaml", |t| {
            t.replacen("[物业费, ", "[物业费, 物业收费项目, ", 1)
        });
        let grown = loader
            .load(grown.path().to_path_buf())
            .await
            .expect("rules with a new term load");
        assert!(!Arc::ptr_eq(&serving.segmenter, &grown.segmenter));
        assert!(!Arc::ptr_eq(&serving.matcher, &grown.matcher));
        assert_eq!(grown.parts_shared_with(&serving), "none");
        assert!(
            grown
                .segmenter
                .words("物业收费项目太多")
                .contains(&"物业收费项目")
        );

        // The shared parts decide as parts built for the reworded set alone would.
        let alone = ruleset::share::unshared(|| ruleset::load_dir(reworded.path()))
            .expect("reworded rules load");
        assert!(!Arc::ptr_eq(&alone.segmenter, &reloaded.segmenter));
        assert!(!Arc::ptr_eq(&alone.matcher, &reloaded.matcher));
        for text in [
            "我在高新区买的房子还没过户，物业公司一直打电话催我交物业费，未过户的房产物业费到底应该由谁来交？",
            "楼下广场舞音响开得特别大，每天晚上十点还不停",
            "十字路口发生车祸了，有人被撞倒在地上流了很多血",
        ] {
            let input = crate::RouteInput::text(text);
            assert_eq!(alone.route(&input), reloaded.route(&input), "{text}");
        }
        drop((serving, grown));
    }

    #[tokio::test]
    async fn a_load_error_comes_back_from_the_thread() {
        let loader = Loader::start();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("broken.yaml"), "rules: [").unwrap();
        match loader.load(dir.path().to_path_buf()).await {
            Err(e) => assert!(e.to_string().contains("broken.yaml"), "{e}"),
            Ok(_) => panic!("a broken file loaded"),
        }
    }
}
