//! State shared by every request handler and the [`crate::GitLabHandle`].

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::config::GitLabConfig;
use crate::git::Git;
use crate::store::Store;
use crate::tokens::PersonalAccessToken;

/// The running instance's state.
pub struct Shared {
    /// Settings it was started with.
    pub config: GitLabConfig,
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub base: String,
    store: Mutex<Store>,
    /// Bumped on every change of pipelines, jobs, runners (for waiters).
    pub changes: watch::Sender<u64>,
    /// Bumped whenever a job becomes pending (`X-GitLab-Last-Update`, long polls).
    pub queue: watch::Sender<u64>,
    /// Runner registration token.
    pub registration_token: String,
    /// `root`'s password.
    pub root_password: String,
    /// `root`'s personal access token (`glpat-…`).
    pub root_token: String,
    /// Repository access.
    pub git: Git,
    /// Where uploaded artifacts are stored.
    pub artifacts_dir: PathBuf,
    /// Fired on shutdown.
    pub shutdown: CancellationToken,
    /// Job requests currently held by long polling.
    pub waiting_requests: std::sync::atomic::AtomicUsize,
    /// Serializes pushes so ref snapshots before/after a receive-pack are consistent.
    pub push_lock: tokio::sync::Mutex<()>,
}

impl Shared {
    /// Builds the state (does not touch the disk); `root_token` becomes root's first personal
    /// access token (scopes `api`, `read_repository`, `write_repository`).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: GitLabConfig,
        base: String,
        registration_token: String,
        root_password: String,
        root_token: String,
        git: Git,
        artifacts_dir: PathBuf,
    ) -> Self {
        let mut store = Store::default();
        store.user_namespace_id = store.next_id();
        let id = store.next_id();
        store.tokens.personal.push(PersonalAccessToken::new(
            id,
            "harness",
            ["api", "read_repository", "write_repository"]
                .map(String::from)
                .to_vec(),
            Some(root_token.clone()),
        ));
        Self {
            config,
            base,
            store: Mutex::new(store),
            changes: watch::channel(0).0,
            queue: watch::channel(0).0,
            registration_token,
            root_password,
            root_token,
            git,
            artifacts_dir,
            shutdown: CancellationToken::new(),
            waiting_requests: std::sync::atomic::AtomicUsize::new(0),
            push_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// Locks the store (a poisoned lock is recovered: the data stays consistent per operation).
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wakes waiters; `queue_changed` also wakes long-polling runners.
    pub fn notify(&self, queue_changed: bool) {
        self.changes.send_modify(|v| *v += 1);
        if queue_changed {
            self.queue.send_modify(|v| *v += 1);
        }
    }

    /// The opaque `X-GitLab-Last-Update` value for the current queue.
    pub fn last_update(&self) -> String {
        format!("{:016x}", *self.queue.borrow())
    }

    /// `http://127.0.0.1:PORT/<path>`.
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }
}

/// A random token body of `len` hex characters.
pub fn random_token(len: usize) -> String {
    let mut s = String::new();
    while s.len() < len {
        s.push_str(&uuid::Uuid::new_v4().simple().to_string());
    }
    s.truncate(len);
    s
}
