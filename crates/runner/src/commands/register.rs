//! `gitlab-runner register`: the flags and environment variables runner 12.8.0 reads, and the
//! `[[runners]]` entry it appends to `config.toml`.

use clap::Args;

use crate::api::{Client, RegisterRequest, VersionInfo};
use crate::config::{self, Config, KubernetesConfig, RunnerConfig};

use super::flags::text;
pub use super::kubernetes_args::KubernetesArgs;
pub use super::register_args::{CacheArgs, RegistrationArgs, RunnerArgs};
use super::{CommandError, ConfigFile};

/// Arguments of `register` (each also read from the environment variable runner 12.8.0 binds).
#[derive(Debug, Clone, Default, Args)]
pub struct RegisterArgs {
    /// The file the runner is appended to.
    #[command(flatten)]
    pub config: ConfigFile,
    /// Registration token, tags and the other settings GitLab keeps.
    #[command(flatten)]
    pub registration: RegistrationArgs,
    /// `[[runners]]` keys.
    #[command(flatten)]
    pub runner: RunnerArgs,
    /// `[runners.cache]` keys.
    #[command(flatten)]
    pub cache: CacheArgs,
    /// `[runners.kubernetes]` keys.
    #[command(flatten)]
    pub kubernetes: KubernetesArgs,
}

impl RegisterArgs {
    /// The `[[runners]]` entry these arguments describe (token not yet filled in).
    pub fn runner_config(&self, hostname: &str) -> Result<RunnerConfig, CommandError> {
        let mut runner = RunnerConfig::default();
        self.runner.apply_to(&mut runner)?;
        if runner.name.is_empty() {
            runner.name = hostname.to_string();
        }
        if runner.executor == "kubernetes" {
            let mut kubernetes = KubernetesConfig::default();
            self.kubernetes.apply_to(&mut kubernetes)?;
            runner.kubernetes = Some(kubernetes);
        }
        self.cache.apply_to(&mut runner.cache)?;
        Ok(runner)
    }

    /// Registers with GitLab (or verifies `--token`) and appends the runner to `config.toml`.
    pub async fn execute(&self) -> Result<RunnerConfig, CommandError> {
        let path = self.config.path();
        let mut cfg: Config = config::load_or_default(&path)?;
        let hostname = hostname::get()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "gitlab-runner".into());
        let mut runner = self.runner_config(&hostname)?;
        if let Some(template) = &self.registration.template_config {
            let tpl = config::load(template)?;
            if let Some(t) = tpl.runners.first() {
                runner = merge_template(runner, t)?;
            }
        }
        if runner.url.is_empty() {
            return Err(CommandError::Usage(
                "no GitLab URL: pass --url or set CI_SERVER_URL (the chart's gitlabUrl)".into(),
            ));
        }
        if runner.executor.is_empty() {
            return Err(CommandError::Usage(
                "no executor: pass --executor or set RUNNER_EXECUTOR".into(),
            ));
        }
        let client = Client::new(&runner.url)?;
        if let Some(reg_token) = text(&self.registration.registration_token) {
            let tag_list = text(&self.registration.tag_list).unwrap_or_default();
            let req = RegisterRequest {
                token: reg_token.clone(),
                description: runner.name.clone(),
                run_untagged: self.registration.run_untagged.unwrap_or(false)
                    || tag_list.is_empty(),
                tag_list,
                locked: self.registration.locked.unwrap_or(true),
                access_level: text(&self.registration.access_level).unwrap_or_default(),
                maximum_timeout: self.registration.maximum_timeout.unwrap_or(0),
                paused: self.registration.paused.unwrap_or(false),
                info: VersionInfo::new(""),
            };
            let resp = client.register(&req).await?;
            tracing::info!(runner = %short(&reg_token), "Registering runner... succeeded");
            runner.token = resp.token;
        } else if !runner.token.is_empty() {
            if !client.verify(&runner.token).await? {
                return Err(CommandError::Usage(format!(
                    "runner token {}… is not valid for {} (check runnerToken / CI_SERVER_TOKEN)",
                    short(&runner.token),
                    runner.url
                )));
            }
            tracing::info!(runner = %short(&runner.token), "Verifying runner... is alive");
        } else {
            return Err(CommandError::Usage(
                "no registration token: pass --registration-token or set REGISTRATION_TOKEN (the chart's runnerRegistrationToken)".into(),
            ));
        }
        cfg.runners.push(runner.clone());
        if let Err(e) = config::save(&path, &cfg) {
            if !self.registration.leave_runner.unwrap_or(false)
                && text(&self.registration.registration_token).is_some()
            {
                let _ = client.unregister(&runner.token).await;
            }
            return Err(e.into());
        }
        tracing::info!(
            "Runner registered successfully. Feel free to start it, but if it's running already the config should be automatically reloaded!"
        );
        Ok(runner)
    }
}

fn short(token: &str) -> String {
    token.chars().take(8).collect()
}

/// Fills what `runner` leaves empty from the template entry (flags and variables win).
pub fn merge_template(
    runner: RunnerConfig,
    template: &RunnerConfig,
) -> Result<RunnerConfig, CommandError> {
    let to_json = |r: &RunnerConfig| {
        serde_json::to_value(r).map_err(|e| CommandError::Usage(format!("template: {e}")))
    };
    let mut base = to_json(&runner)?;
    merge_json(&mut base, to_json(template)?);
    serde_json::from_value(base).map_err(|e| CommandError::Usage(format!("template: {e}")))
}

fn is_empty_json(v: &serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_i64() == Some(0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(_) => false,
    }
}

fn merge_json(base: &mut serde_json::Value, template: serde_json::Value) {
    use serde_json::Value;
    match (base, template) {
        (Value::Object(b), Value::Object(t)) => {
            for (k, tv) in t {
                match b.get_mut(&k) {
                    Some(bv @ Value::Object(_)) => merge_json(bv, tv),
                    Some(bv) if is_empty_json(bv) => *bv = tv,
                    Some(_) => {}
                    None => {
                        b.insert(k, tv);
                    }
                }
            }
        }
        (b, t) => {
            if is_empty_json(b) {
                *b = t;
            }
        }
    }
}
