//! `--watch-config`: reload (as SIGHUP does) when the configuration file, or the client TLS
//! certificate or key it names, changes content. The files are polled: that works for editors
//! that replace a file, for symlink swaps (Kubernetes ConfigMaps and Secrets) and on every
//! filesystem. A change is acted on once its content has held for one more poll, so a file
//! caught half-written is not loaded; a file refused is not tried again until it changes.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ddlgate_config::Config;

/// How often the files are read.
pub const POLL: Duration = Duration::from_secs(1);

/// The files whose content a reload depends on.
pub fn watched(config_file: &Path, config: &Config) -> Vec<PathBuf> {
    let mut files = vec![config_file.to_path_buf()];
    files.extend(config.client_tls.cert.iter().cloned());
    files.extend(config.client_tls.key.iter().cloned());
    files
}

/// What the files hold now: a hash per file, `None` for one that cannot be read.
fn fingerprint(files: &[PathBuf]) -> Vec<Option<u64>> {
    files
        .iter()
        .map(|f| {
            std::fs::read(f).ok().map(|bytes| {
                let mut h = DefaultHasher::new();
                bytes.hash(&mut h);
                h.finish()
            })
        })
        .collect()
}

/// Decides, poll after poll, when a reload is due.
pub struct Watcher {
    files: Vec<PathBuf>,
    /// What the files held at the last load (or attempt).
    loaded: Vec<Option<u64>>,
    /// A new content seen at the previous poll, not yet acted on.
    pending: Option<Vec<Option<u64>>>,
}

impl Watcher {
    /// Watches `files`, as they are now.
    pub fn new(files: Vec<PathBuf>) -> Self {
        let loaded = fingerprint(&files);
        Self {
            files,
            loaded,
            pending: None,
        }
    }

    /// One poll: true when the files changed and have held still since the previous poll.
    pub fn poll(&mut self) -> bool {
        let now = fingerprint(&self.files);
        if now == self.loaded {
            self.pending = None;
            return false;
        }
        if self.pending.as_ref() == Some(&now) {
            self.pending = None;
            self.loaded = now;
            return true;
        }
        self.pending = Some(now);
        false
    }

    /// After a reload: watch `files` (the new configuration may name other certificates).
    pub fn rewatch(&mut self, files: Vec<PathBuf>) {
        if files != self.files {
            self.loaded = fingerprint(&files);
            self.files = files;
        }
    }
}

/// Polls until the process ends; `reload` runs a reload and returns the files the
/// configuration now in force depends on.
pub async fn run(files: Vec<PathBuf>, reload: impl Fn() -> Option<Vec<PathBuf>>) {
    let mut watcher = Watcher::new(files);
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if watcher.poll() {
            tracing::info!("configuration changed on disk: reloading the policy");
            if let Some(files) = reload() {
                watcher.rewatch(files);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_acted_on_once_it_holds_and_only_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("gw.toml");
        std::fs::write(&file, "a").expect("write");
        let mut w = Watcher::new(vec![file.clone()]);
        assert!(!w.poll(), "unchanged");
        std::fs::write(&file, "b").expect("write");
        assert!(!w.poll(), "just changed: wait one poll");
        std::fs::write(&file, "c").expect("write");
        assert!(!w.poll(), "still changing");
        assert!(w.poll(), "held still: reload");
        assert!(!w.poll(), "loaded (or refused): not again");
        // Touched without a change of content: nothing to do.
        std::fs::write(&file, "c").expect("write");
        assert!(!w.poll() && !w.poll());
        // Removed, then back as it was: no reload.
        std::fs::remove_file(&file).expect("remove");
        assert!(!w.poll());
        std::fs::write(&file, "c").expect("write");
        assert!(!w.poll() && !w.poll());
    }

    #[test]
    fn new_files_are_watched_from_their_content_at_the_reload() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (file, cert) = (dir.path().join("gw.toml"), dir.path().join("c.pem"));
        std::fs::write(&file, "a").expect("write");
        std::fs::write(&cert, "x").expect("write");
        let mut w = Watcher::new(vec![file.clone()]);
        w.rewatch(vec![file.clone(), cert.clone()]);
        assert!(!w.poll() && !w.poll(), "nothing changed since the reload");
        std::fs::write(&cert, "y").expect("write");
        assert!(!w.poll());
        assert!(w.poll(), "the certificate changed");
    }
}
