//! `gitlab-runner unregister` and `gitlab-runner verify`.

use clap::Args;

use crate::api::Client;
use crate::config;

use super::{CommandError, ConfigFile};
use harness_error_chain::Chain;

/// Arguments of `unregister` (the chart's preStop hook runs `unregister --all-runners`).
#[derive(Debug, Clone, Default, Args)]
pub struct UnregisterArgs {
    /// The file the runners are read from.
    #[command(flatten)]
    pub config: ConfigFile,
    /// Unregister every runner in the config file.
    #[arg(long = "all-runners")]
    pub all_runners: bool,
    /// Name of the runner to unregister.
    #[arg(short = 'n', long = "name")]
    pub name: Option<String>,
    /// GitLab URL (with `--token`).
    #[arg(short = 'u', long = "url")]
    pub url: Option<String>,
    /// Runner token (with `--url`).
    #[arg(short = 't', long = "token")]
    pub token: Option<String>,
}

impl UnregisterArgs {
    /// Removes the selected runners from GitLab and from `config.toml`; returns how many.
    pub async fn execute(&self) -> Result<usize, CommandError> {
        let path = self.config.path();
        let mut cfg = config::load(&path)?;
        let selected = |r: &config::RunnerConfig| {
            self.all_runners
                || self.name.as_deref() == Some(r.name.as_str())
                || (self.token.as_deref() == Some(r.token.as_str())
                    && self.url.as_deref().is_none_or(|u| u == r.url))
        };
        if !self.all_runners && self.name.is_none() && self.token.is_none() {
            return Err(CommandError::Usage(
                "unregister needs --all-runners, --name NAME or --url URL --token TOKEN".into(),
            ));
        }
        let mut kept = Vec::new();
        let mut removed = 0;
        let mut first_error = None;
        for runner in std::mem::take(&mut cfg.runners) {
            if !selected(&runner) {
                kept.push(runner);
                continue;
            }
            let result = match Client::new(&runner.url) {
                Ok(client) => client.unregister(&runner.token).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(()) => {
                    tracing::info!(runner = %runner.short_token(), "Unregistering runner from GitLab succeeded");
                    removed += 1;
                }
                Err(e) => {
                    tracing::error!(runner = %runner.short_token(), error = %Chain(&e), "Unregistering runner from GitLab failed");
                    first_error.get_or_insert(e);
                    kept.push(runner);
                }
            }
        }
        if removed == 0 && first_error.is_none() {
            return Err(CommandError::Usage(format!(
                "no runner in {} matches the selection",
                path.display()
            )));
        }
        cfg.runners = kept;
        config::save(&path, &cfg)?;
        match first_error {
            Some(e) => Err(e.into()),
            None => Ok(removed),
        }
    }
}

/// Arguments of `verify`.
#[derive(Debug, Clone, Default, Args)]
pub struct VerifyArgs {
    /// The file the runners are read from.
    #[command(flatten)]
    pub config: ConfigFile,
    /// Remove runners GitLab no longer knows from the config file.
    #[arg(long = "delete")]
    pub delete: bool,
    /// Only this runner.
    #[arg(short = 'n', long = "name")]
    pub name: Option<String>,
}

impl VerifyArgs {
    /// Checks every runner's token; returns the names of the invalid ones.
    pub async fn execute(&self) -> Result<Vec<String>, CommandError> {
        let path = self.config.path();
        let mut cfg = config::load(&path)?;
        let mut invalid = Vec::new();
        for runner in &cfg.runners {
            if self.name.as_deref().is_some_and(|n| n != runner.name) {
                continue;
            }
            let ok = Client::new(&runner.url)?.verify(&runner.token).await?;
            if ok {
                tracing::info!(runner = %runner.short_token(), "Verifying runner... is alive");
            } else {
                tracing::error!(runner = %runner.short_token(), "Verifying runner... is removed");
                invalid.push(runner.name.clone());
            }
        }
        if self.delete && !invalid.is_empty() {
            cfg.runners.retain(|r| !invalid.contains(&r.name));
            config::save(&path, &cfg)?;
        }
        Ok(invalid)
    }
}
