//! Errors of the embedded GitLab.

use std::path::PathBuf;

/// What can go wrong starting or driving the embedded GitLab.
#[derive(Debug, thiserror::Error)]
pub enum GitLabError {
    /// The state directory could not be prepared.
    #[error("state directory {path} (pass a writable directory to GitLabConfig::new)")]
    StateDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Binding the HTTP listener failed.
    #[error("could not listen on 127.0.0.1: {0}")]
    Bind(std::io::Error),
    /// A git command failed.
    #[error("git {args}: {message} (is `git` on PATH? set GitLabConfig::git_binary otherwise)")]
    Git {
        /// The arguments.
        args: String,
        /// stderr or the spawn error.
        message: String,
    },
    /// Something does not exist.
    #[error("{kind} {id} not found")]
    NotFound {
        /// `project`, `pipeline`, `job`, ...
        kind: &'static str,
        /// Its id or path.
        id: String,
    },
    /// A request was refused, with GitLab's reason.
    #[error("{0}")]
    Invalid(String),
    /// A record failed validation: GitLab's field → messages map (`{"path": ["has already been
    /// taken"]}`), answered as `{"message": {...}}`.
    #[error("{0}")]
    Validation(serde_json::Value),
    /// No branch or tag has this name.
    #[error("Reference not found: {0}")]
    RefNotFound(String),
    /// `.gitlab-ci.yml` is invalid; the pipeline was created failed with these errors.
    #[error("invalid .gitlab-ci.yml: {}", .0.join("; "))]
    Config(Vec<String>),
    /// Waiting for a condition hit its deadline.
    #[error("timed out waiting for {0}")]
    Timeout(String),
    /// The server was shut down.
    #[error("the embedded GitLab has shut down")]
    Shutdown,
}

impl GitLabError {
    /// [`GitLabError::NotFound`] for the `kind` of object (`project`, `job`, ...) with `id`.
    pub fn not_found(kind: &'static str, id: impl ToString) -> Self {
        GitLabError::NotFound {
            kind,
            id: id.to_string(),
        }
    }
}
