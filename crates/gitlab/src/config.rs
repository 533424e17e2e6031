//! How to start the embedded GitLab.

use std::path::PathBuf;
use std::time::Duration;

/// Settings for [`crate::GitLab::start`].
#[derive(Debug, Clone)]
pub struct GitLabConfig {
    /// Where repositories and artifacts are kept (created if missing).
    pub state_dir: PathBuf,
    /// Runner registration token; random (`GR1348941…`) when `None`.
    pub registration_token: Option<String>,
    /// Password of `root` (also accepted by git over HTTP); random when `None`.
    pub root_password: Option<String>,
    /// The git executable used for `git http-backend` and repository reads.
    pub git_binary: PathBuf,
    /// How long `POST /jobs/request` holds a runner that sent an up-to-date `last_update`
    /// (GitLab Workhorse's `apiCiLongPollingDuration`, 50 s on Omnibus installs).
    pub long_poll: Duration,
    /// `X-GitLab-Trace-Update-Interval` sent on trace patches (seconds).
    pub trace_update_interval: u64,
    /// Branches protected in new projects (plus the default branch).
    pub protected_branches: Vec<String>,
    /// Address to listen on; port 0 picks a free port.
    pub listen: std::net::SocketAddr,
    /// Largest artifact upload accepted (bytes); GitLab's default "Maximum artifacts size" is
    /// 100 MB. Bigger uploads get `413`.
    pub max_artifacts_size: u64,
    /// Largest job log kept (bytes), GitLab's `ci_jobs_trace_size_limit` (100 MB): a trace patch
    /// beyond it fails the job (`trace_size_exceeded`) with `403`.
    pub max_trace_size: u64,
    /// How long 10 failed sign-ins lock root (Devise's `unlock_in`, 10 minutes on GitLab).
    pub unlock_after: Duration,
}

impl GitLabConfig {
    /// Defaults: random tokens, `git` from PATH, 50 s long polling, `main`/`master` protected.
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        Self {
            state_dir: state_dir.into(),
            registration_token: None,
            root_password: None,
            git_binary: PathBuf::from("git"),
            long_poll: Duration::from_secs(50),
            trace_update_interval: 3,
            protected_branches: vec!["main".into(), "master".into()],
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            max_artifacts_size: 100 << 20,
            max_trace_size: 100 << 20,
            unlock_after: Duration::from_secs(600),
        }
    }

    /// Uses a fixed runner registration token (e.g. the one in a Helm values file).
    pub fn registration_token(mut self, token: impl Into<String>) -> Self {
        self.registration_token = Some(token.into());
        self
    }

    /// Uses a fixed `root` password.
    pub fn root_password(mut self, password: impl Into<String>) -> Self {
        self.root_password = Some(password.into());
        self
    }

    /// Changes how long job requests are held.
    pub fn long_poll(mut self, duration: Duration) -> Self {
        self.long_poll = duration;
        self
    }

    /// Changes the largest artifact upload accepted (bytes).
    pub fn max_artifacts_size(mut self, bytes: u64) -> Self {
        self.max_artifacts_size = bytes;
        self
    }

    /// Changes the largest job log kept (bytes).
    pub fn max_trace_size(mut self, bytes: u64) -> Self {
        self.max_trace_size = bytes;
        self
    }

    /// Changes how long a locked account stays locked.
    pub fn unlock_after(mut self, duration: Duration) -> Self {
        self.unlock_after = duration;
        self
    }

    /// Changes the trace update interval the runner is told to use.
    pub fn trace_update_interval(mut self, seconds: u64) -> Self {
        self.trace_update_interval = seconds;
        self
    }
}
