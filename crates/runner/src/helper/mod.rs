//! The `gitlab-runner-helper` subcommands the executor's helper stages call inside job pods.

pub mod artifacts;
pub mod git;

use std::path::PathBuf;

use crate::api::ApiError;

/// Why a helper command failed.
#[derive(Debug, thiserror::Error)]
pub enum HelperError {
    /// Bad arguments.
    #[error("{0}")]
    Usage(String),
    /// A file could not be read or written.
    #[error("{path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A git command failed.
    #[error("{command}: {message}")]
    Git {
        /// Which git command.
        command: String,
        /// What happened.
        message: String,
    },
    /// An archive could not be built or read.
    #[error("artifacts archive: {0}")]
    Archive(String),
    /// GitLab refused or could not be reached.
    #[error(transparent)]
    Api(#[from] ApiError),
}
