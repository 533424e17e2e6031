//! The `gitlab-runner` subcommands the chart's scripts call.

mod flags;
mod kubernetes_args;
pub mod register;
mod register_args;
pub mod run;
pub mod unregister;

use std::path::PathBuf;

use clap::Args;

use crate::api::ApiError;
use crate::config::{self, ConfigError};

/// `-c`/`--config` (`CONFIG_FILE`), the `config.toml` every command reads or writes.
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigFile {
    /// Config file.
    #[arg(short = 'c', long = "config", env = "CONFIG_FILE")]
    pub config: Option<PathBuf>,
}

impl ConfigFile {
    /// The file named, else where runner 12.8.0 looks by default.
    pub fn path(&self) -> PathBuf {
        self.config
            .clone()
            .unwrap_or_else(config::default_config_path)
    }
}

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
