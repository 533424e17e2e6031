//! `gitlab-runner register`: the flags and environment variables runner 12.8.0 reads, and the
//! `[[runners]]` entry it appends to `config.toml`.

use std::path::PathBuf;

use clap::Args;
use clap::builder::BoolishValueParser;

use crate::api::{Client, RegisterRequest, VersionInfo};
use crate::config::{self, CacheConfig, Config, KubernetesConfig, RunnerConfig};

use super::CommandError;
use super::flags::text;
pub use super::kubernetes_args::KubernetesArgs;

/// Arguments of `register` (each also read from the environment variable runner 12.8.0 binds).
#[derive(Debug, Clone, Default, Args)]
pub struct RegisterArgs {
    /// Config file.
    #[arg(short = 'c', long = "config", env = "CONFIG_FILE")]
    pub config: Option<PathBuf>,
    /// TOML file whose `[[runners]]` entry fills what flags and variables leave unset.
    #[arg(long = "template-config", env = "TEMPLATE_CONFIG_FILE")]
    pub template_config: Option<PathBuf>,
    /// Run registration unattended.
    #[arg(short = 'n', long = "non-interactive", env = "REGISTER_NON_INTERACTIVE", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub non_interactive: Option<bool>,
    /// Don't remove the runner from GitLab if saving the config fails.
    #[arg(long = "leave-runner", env = "REGISTER_LEAVE_RUNNER", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub leave_runner: Option<bool>,
    /// Registration token.
    #[arg(short = 'r', long = "registration-token", env = "REGISTRATION_TOKEN")]
    pub registration_token: Option<String>,
    /// Take jobs without tags.
    #[arg(long = "run-untagged", env = "REGISTER_RUN_UNTAGGED", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub run_untagged: Option<bool>,
    /// Lock the runner to the current project (default true).
    #[arg(long = "locked", env = "REGISTER_LOCKED", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub locked: Option<bool>,
    /// `not_protected` or `ref_protected`.
    #[arg(long = "access-level", env = "REGISTER_ACCESS_LEVEL")]
    pub access_level: Option<String>,
    /// Maximum job timeout in seconds.
    #[arg(long = "maximum-timeout", env = "REGISTER_MAXIMUM_TIMEOUT")]
    pub maximum_timeout: Option<i64>,
    /// Register paused.
    #[arg(long = "paused", env = "REGISTER_PAUSED", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub paused: Option<bool>,
    /// Comma-separated tags.
    #[arg(long = "tag-list", env = "RUNNER_TAG_LIST")]
    pub tag_list: Option<String>,
    /// Runner name (default: the hostname).
    #[arg(long = "name", alias = "description", short = 'd', env = "RUNNER_NAME")]
    pub name: Option<String>,
    /// Maximum jobs of this runner.
    #[arg(long = "limit", env = "RUNNER_LIMIT")]
    pub limit: Option<i64>,
    /// Trace limit in KiB.
    #[arg(long = "output-limit", env = "RUNNER_OUTPUT_LIMIT")]
    pub output_limit: Option<i64>,
    /// Maximum concurrent job requests.
    #[arg(long = "request-concurrency", env = "RUNNER_REQUEST_CONCURRENCY")]
    pub request_concurrency: Option<i64>,
    /// GitLab URL.
    #[arg(short = 'u', long = "url", env = "CI_SERVER_URL")]
    pub url: Option<String>,
    /// Existing runner token (verified instead of registering).
    #[arg(short = 't', long = "token", env = "CI_SERVER_TOKEN")]
    pub token: Option<String>,
    /// CA file for GitLab's certificate.
    #[arg(long = "tls-ca-file", env = "CI_SERVER_TLS_CA_FILE")]
    pub tls_ca_file: Option<String>,
    /// Executor.
    #[arg(long = "executor", env = "RUNNER_EXECUTOR")]
    pub executor: Option<String>,
    /// Builds directory.
    #[arg(long = "builds-dir", env = "RUNNER_BUILDS_DIR")]
    pub builds_dir: Option<String>,
    /// Cache directory.
    #[arg(long = "cache-dir", env = "RUNNER_CACHE_DIR")]
    pub cache_dir: Option<String>,
    /// Git URL jobs use instead of `url`.
    #[arg(long = "clone-url", env = "CLONE_URL")]
    pub clone_url: Option<String>,
    /// Extra `KEY=value` job variables.
    #[arg(long = "env", env = "RUNNER_ENV", value_delimiter = ',')]
    pub env: Vec<String>,
    /// Script run before cloning.
    #[arg(long = "pre-clone-script", env = "RUNNER_PRE_CLONE_SCRIPT")]
    pub pre_clone_script: Option<String>,
    /// Script prepended to the job script.
    #[arg(long = "pre-build-script", env = "RUNNER_PRE_BUILD_SCRIPT")]
    pub pre_build_script: Option<String>,
    /// Script appended to the job script.
    #[arg(long = "post-build-script", env = "RUNNER_POST_BUILD_SCRIPT")]
    pub post_build_script: Option<String>,
    /// Shell.
    #[arg(long = "shell", env = "RUNNER_SHELL")]
    pub shell: Option<String>,
    /// Cache type.
    #[arg(long = "cache-type", env = "CACHE_TYPE")]
    pub cache_type: Option<String>,
    /// Cache path prefix.
    #[arg(long = "cache-path", env = "CACHE_PATH")]
    pub cache_path: Option<String>,
    /// Shared cache.
    #[arg(long = "cache-shared", env = "CACHE_SHARED", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub cache_shared: Option<bool>,
    /// S3 server.
    #[arg(long = "cache-s3-server-address", env = "CACHE_S3_SERVER_ADDRESS")]
    pub cache_s3_server_address: Option<String>,
    /// S3 access key.
    #[arg(long = "cache-s3-access-key", env = "CACHE_S3_ACCESS_KEY")]
    pub cache_s3_access_key: Option<String>,
    /// S3 secret key.
    #[arg(long = "cache-s3-secret-key", env = "CACHE_S3_SECRET_KEY")]
    pub cache_s3_secret_key: Option<String>,
    /// S3 bucket.
    #[arg(long = "cache-s3-bucket-name", env = "CACHE_S3_BUCKET_NAME")]
    pub cache_s3_bucket_name: Option<String>,
    /// S3 region.
    #[arg(long = "cache-s3-bucket-location", env = "CACHE_S3_BUCKET_LOCATION")]
    pub cache_s3_bucket_location: Option<String>,
    /// S3 over plain HTTP.
    #[arg(long = "cache-s3-insecure", env = "CACHE_S3_INSECURE", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub cache_s3_insecure: Option<bool>,
    /// GCS bucket.
    #[arg(long = "cache-gcs-bucket-name", env = "CACHE_GCS_BUCKET_NAME")]
    pub cache_gcs_bucket_name: Option<String>,
    /// GCS access id.
    #[arg(long = "cache-gcs-access-id", env = "CACHE_GCS_ACCESS_ID")]
    pub cache_gcs_access_id: Option<String>,
    /// GCS private key.
    #[arg(long = "cache-gcs-private-key", env = "CACHE_GCS_PRIVATE_KEY")]
    pub cache_gcs_private_key: Option<String>,
    /// GCS credentials file.
    #[arg(
        long = "cache-gcs-credentials-file",
        env = "GOOGLE_APPLICATION_CREDENTIALS"
    )]
    pub cache_gcs_credentials_file: Option<String>,
    /// Kubernetes settings.
    #[command(flatten)]
    pub kubernetes: KubernetesArgs,
}

impl RegisterArgs {
    /// The `[[runners]]` entry these arguments describe (token not yet filled in).
    pub fn runner_config(&self, hostname: &str) -> Result<RunnerConfig, CommandError> {
        let executor = text(&self.executor).unwrap_or_default();
        let kubernetes = (executor == "kubernetes").then(|| -> Result<_, CommandError> {
            let mut kubernetes = KubernetesConfig::default();
            self.kubernetes.apply_to(&mut kubernetes)?;
            Ok(kubernetes)
        });
        let mut cache = CacheConfig {
            kind: text(&self.cache_type),
            path: text(&self.cache_path),
            shared: self.cache_shared.unwrap_or(false),
            ..Default::default()
        };
        cache.s3.server_address = text(&self.cache_s3_server_address);
        cache.s3.access_key = text(&self.cache_s3_access_key);
        cache.s3.secret_key = text(&self.cache_s3_secret_key);
        cache.s3.bucket_name = text(&self.cache_s3_bucket_name);
        cache.s3.bucket_location = text(&self.cache_s3_bucket_location);
        cache.s3.insecure = self.cache_s3_insecure.unwrap_or(false);
        cache.gcs.bucket_name = text(&self.cache_gcs_bucket_name);
        cache.gcs.access_id = text(&self.cache_gcs_access_id);
        cache.gcs.private_key = text(&self.cache_gcs_private_key);
        cache.gcs.credentials_file = text(&self.cache_gcs_credentials_file);
        Ok(RunnerConfig {
            name: text(&self.name).unwrap_or_else(|| hostname.to_string()),
            limit: self.limit.unwrap_or(0),
            output_limit: self.output_limit.unwrap_or(0),
            request_concurrency: self.request_concurrency.unwrap_or(0),
            url: text(&self.url).unwrap_or_default(),
            token: text(&self.token).unwrap_or_default(),
            tls_ca_file: text(&self.tls_ca_file),
            executor,
            builds_dir: text(&self.builds_dir),
            cache_dir: text(&self.cache_dir),
            clone_url: text(&self.clone_url),
            environment: self.env.iter().filter(|e| !e.is_empty()).cloned().collect(),
            pre_clone_script: text(&self.pre_clone_script),
            pre_build_script: text(&self.pre_build_script),
            post_build_script: text(&self.post_build_script),
            shell: text(&self.shell),
            cache,
            kubernetes: kubernetes.transpose()?,
            ..Default::default()
        })
    }

    /// Registers with GitLab (or verifies `--token`) and appends the runner to `config.toml`.
    pub async fn execute(&self) -> Result<RunnerConfig, CommandError> {
        let path = self
            .config
            .clone()
            .unwrap_or_else(config::default_config_path);
        let mut cfg: Config = config::load_or_default(&path)?;
        let hostname = hostname::get()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "gitlab-runner".into());
        let mut runner = self.runner_config(&hostname)?;
        if let Some(template) = &self.template_config {
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
        if let Some(reg_token) = text(&self.registration_token) {
            let tag_list = text(&self.tag_list).unwrap_or_default();
            let req = RegisterRequest {
                token: reg_token.clone(),
                description: runner.name.clone(),
                run_untagged: self.run_untagged.unwrap_or(false) || tag_list.is_empty(),
                tag_list,
                locked: self.locked.unwrap_or(true),
                access_level: text(&self.access_level).unwrap_or_default(),
                maximum_timeout: self.maximum_timeout.unwrap_or(0),
                paused: self.paused.unwrap_or(false),
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
            if !self.leave_runner.unwrap_or(false) && text(&self.registration_token).is_some() {
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
