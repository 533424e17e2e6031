//! `gitlab-runner run`: the long-running process of the chart's Deployment.

use std::path::PathBuf;

use clap::Args;

use crate::multi::{Shutdown, Supervisor};

use super::{CommandError, ConfigFile};

/// Arguments of `run` (the chart's entrypoint: `run --user=gitlab-runner --working-directory=/home/gitlab-runner`).
#[derive(Debug, Clone, Default, Args)]
pub struct RunArgs {
    /// The file the runners are read from.
    #[command(flatten)]
    pub config: ConfigFile,
    /// User to run jobs as (used by the shell executor only; accepted and ignored here).
    #[arg(short = 'u', long = "user")]
    pub user: Option<String>,
    /// Directory to change to before running.
    #[arg(short = 'd', long = "working-directory")]
    pub working_directory: Option<PathBuf>,
    /// Service name (accepted for compatibility).
    #[arg(short = 'n', long = "service")]
    pub service: Option<String>,
    /// Log to syslog (accepted for compatibility).
    #[arg(long = "syslog")]
    pub syslog: bool,
}

impl RunArgs {
    /// Runs the multi-runner until `shutdown` fires.
    pub async fn execute(&self, shutdown: Shutdown) -> Result<(), CommandError> {
        if let Some(dir) = &self.working_directory {
            std::env::set_current_dir(dir).map_err(|e| {
                CommandError::Usage(format!("--working-directory {}: {e}", dir.display()))
            })?;
        }
        if let Some(user) = &self.user {
            tracing::debug!(user, "--user only applies to the shell executor");
        }
        let path = self.config.path();
        Supervisor::new(path, shutdown).run().await
    }
}
