//! Hot reload: watch the rules directory and reload after edits settle.
//!
//! The *directory* is watched, recursively, not the files: editors save by writing a temporary
//! file and renaming it over the original, which a watch on the original file would lose. Events
//! come in bursts (one save can be a create, several writes and a rename), so they are debounced:
//! the reload starts once [`QUIET`] has passed without another event. Editor droppings (hidden
//! files, `~` backups) are ignored. What a reload does, and why a bad edit never replaces the
//! serving set, is `state.rs`'s business.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

use super::metrics::Metrics;
use super::state::RuleState;

/// How long the directory must stay quiet before a reload starts.
pub const QUIET: Duration = Duration::from_millis(300);

/// Whether an event on `path` can change the rule set.
fn relevant(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    // Kubernetes updates a mounted ConfigMap by writing a new hidden directory and renaming a
    // `..data_tmp` symlink over `..data`: that rename is the whole update.
    if name.starts_with("..data") {
        return true;
    }
    if name.starts_with('.') || name.ends_with('~') {
        return false;
    }
    // Directories (created, renamed, removed) and rule files; anything else is not loaded.
    path.extension()
        .is_none_or(|e| e == "yaml" || e == "yml" || e == "model")
}

/// A watch on the rules directory, started before the rules are loaded: an edit saved while
/// they load is an event waiting for [`Watch::reload_on_change`], not a change nobody saw.
pub struct Watch {
    dir: PathBuf,
    watcher: notify::RecommendedWatcher,
    changes: mpsc::Receiver<()>,
}

impl Watch {
    /// Starts watching `dir` (recursively) and queues what changes in it from now on.
    pub fn start(dir: PathBuf) -> notify::Result<Watch> {
        let (tx, changes) = mpsc::channel::<()>(1);
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
                Ok(e) if e.kind.is_access() => {}
                Ok(e) if e.paths.iter().any(|p| relevant(p)) => {
                    // A full channel already holds a pending "something changed": nothing to add.
                    let _ = tx.try_send(());
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "rules directory watch error"),
            })?;
        watcher.watch(&dir, RecursiveMode::Recursive)?;
        Ok(Watch {
            dir,
            watcher,
            changes,
        })
    }

    /// Reloads `state` after each burst of changes, on the caller's tokio runtime. The returned
    /// watcher must be kept alive for as long as reloads should happen.
    pub fn reload_on_change(
        self,
        state: Arc<RuleState>,
        metrics: Arc<Metrics>,
    ) -> notify::RecommendedWatcher {
        let Watch {
            dir,
            watcher,
            mut changes,
        } = self;
        tokio::spawn(async move {
            while changes.recv().await.is_some() {
                // Debounce: wait until no event has arrived for QUIET.
                while tokio::time::timeout(QUIET, changes.recv())
                    .await
                    .is_ok_and(|e| e.is_some())
                {}
                tracing::info!(dir = %dir.display(), "rules changed on disk; reloading");
                state.reload_and_record(&metrics).await;
            }
        });
        watcher
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editor_droppings_are_ignored() {
        assert!(relevant(Path::new("rules/departments/housing.yaml")));
        assert!(relevant(Path::new("rules/departments")));
        assert!(!relevant(Path::new("rules/departments/.housing.yaml.swp")));
        assert!(!relevant(Path::new("rules/departments/housing.yaml~")));
        assert!(!relevant(Path::new("rules/notes.txt")));
        // Kubernetes' atomic swap of a mounted ConfigMap.
        assert!(relevant(Path::new("rules/..data")));
        assert!(relevant(Path::new("rules/..data_tmp")));
        assert!(relevant(Path::new("rules/classifier.model")));
    }
}
