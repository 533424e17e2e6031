//! The `gitlab-runner` subcommands the chart's scripts call.

mod flags;
mod kubernetes_args;
pub mod register;
pub mod run;
pub mod unregister;

use crate::api::ApiError;
use crate::config::ConfigError;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// Bad or missing arguments.
    #[error("{0}")]
    Usage(String),
    /// `config.toml` could not be read or written.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// GitLab refused or could not be reached.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The Kubernetes client could not be set up.
    #[error(transparent)]
    Executor(#[from] crate::executor::ExecutorError),
}
