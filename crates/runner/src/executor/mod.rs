//! The kubernetes executor: one pod per job, scripts run through `pods/exec`, pod deleted after.

pub mod context;
pub mod exec;
pub mod pod;
pub mod script;
#[cfg(test)]
mod test_support;

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, PostParams};
use tokio_util::sync::CancellationToken;

use crate::api::{RUNNER_REVISION, RUNNER_VERSION};
use crate::config::{KubernetesConfig, RunnerConfig};
use crate::trace::JobTrace;
pub use context::JobContext;

/// Why the executor could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    /// No Kubernetes configuration could be found or used.
    #[error(
        "kubernetes client for host {host:?}: {message} (set [runners.kubernetes] host, or run in a pod with a ServiceAccount token)"
    )]
    Client {
        /// The configured host (empty: in-cluster).
        host: String,
        /// What went wrong.
        message: String,
    },
    /// The runner entry is not a kubernetes one.
    #[error("runner {name:?} has executor {executor:?}; only \"kubernetes\" is supported")]
    UnsupportedExecutor {
        /// Runner name.
        name: String,
        /// Its executor.
        executor: String,
    },
}

/// How a job failed, mapped to GitLab's failure reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobFailure {
    /// A script exited non-zero.
    Script {
        /// Its exit code.
        exit_code: i32,
    },
    /// An image could not be pulled.
    ImagePull(String),
    /// The job ran longer than its timeout.
    Timeout(Duration),
    /// The runner or cluster failed (includes API errors such as RBAC Forbidden).
    System(String),
    /// GitLab canceled the job or the runner is shutting down.
    Canceled,
}

impl JobFailure {
    /// `failure_reason` for GitLab, limited to what the job payload says GitLab accepts.
    pub fn reason(&self, accepted: &[String]) -> Option<&'static str> {
        let wanted = match self {
            JobFailure::Script { .. } => "script_failure",
            JobFailure::ImagePull(_) => "image_pull_failure",
            JobFailure::Timeout(_) => "job_execution_timeout",
            JobFailure::System(_) => "runner_system_failure",
            JobFailure::Canceled => return None,
        };
        let always = [
            "script_failure",
            "runner_system_failure",
            "job_execution_timeout",
        ];
        if always.contains(&wanted) || accepted.iter().any(|a| a == wanted) {
            Some(wanted)
        } else {
            Some("runner_system_failure")
        }
    }

    /// The final trace line, worded like the runner's.
    pub fn message(&self) -> String {
        match self {
            JobFailure::Script { exit_code } => {
                format!("Job failed: command terminated with exit code {exit_code}")
            }
            JobFailure::ImagePull(m) | JobFailure::System(m) => {
                format!("Job failed (system failure): {m}")
            }
            JobFailure::Timeout(d) => {
                format!(
                    "Job failed: execution took longer than {} seconds",
                    d.as_secs()
                )
            }
            JobFailure::Canceled => "Job failed: canceled".into(),
        }
    }

    /// Exit code to report, when a script failed.
    pub fn exit_code(&self) -> Option<i32> {
        match self {
            JobFailure::Script { exit_code } => Some(*exit_code),
            _ => None,
        }
    }
}

/// Runs jobs of one `[[runners]]` entry as pods.
#[derive(Clone)]
pub struct KubernetesExecutor {
    client: kube::Client,
    config: KubernetesConfig,
}

impl KubernetesExecutor {
    /// Connects to the cluster: in-cluster (ServiceAccount token, `KUBERNETES_SERVICE_HOST`) or
    /// kubeconfig when `host` is empty, else `host` with the configured token and CA.
    pub async fn new(runner: &RunnerConfig) -> Result<Self, ExecutorError> {
        let config =
            runner
                .kubernetes
                .clone()
                .ok_or_else(|| ExecutorError::UnsupportedExecutor {
                    name: runner.name.clone(),
                    executor: runner.executor.clone(),
                })?;
        let err = |message: String| ExecutorError::Client {
            host: config.host.clone(),
            message,
        };
        let mut kc = if config.host.is_empty() {
            kube::Config::infer()
                .await
                .map_err(|e| err(e.to_string()))?
        } else {
            let uri = config.host.parse().map_err(|e| err(format!("{e}")))?;
            let mut kc = kube::Config::new(uri);
            if let Some(ca) = config.ca_file.as_ref().filter(|c| !c.is_empty()) {
                let pem = std::fs::read(ca).map_err(|e| err(format!("ca_file {ca}: {e}")))?;
                kc.root_cert =
                    Some(vec![pem_to_der(&pem).ok_or_else(|| {
                        err(format!("ca_file {ca}: no PEM certificate found"))
                    })?]);
            }
            if let Some(token) = config.bearer_token.as_ref().filter(|t| !t.is_empty()) {
                let value = format!("Bearer {token}")
                    .parse()
                    .map_err(|_| err("bearer_token is not a valid header value".into()))?;
                kc.headers.push((http_auth_header(), value));
            }
            kc
        };
        // Exec streams stay silent while a build runs; only the connect may time out.
        kc.read_timeout = None;
        kc.write_timeout = None;
        crate::install_crypto_provider();
        let client = kube::Client::try_from(kc).map_err(|e| err(e.to_string()))?;
        Ok(Self { client, config })
    }

    /// An executor on an existing client (tests, embedded environments).
    pub fn with_client(client: kube::Client, config: KubernetesConfig) -> Self {
        Self { client, config }
    }

    /// Runs the job: pod, stages, cleanup. `cancel` stops it (GitLab cancel or shutdown).
    pub async fn run(
        &self,
        ctx: &JobContext,
        trace: &JobTrace,
        cancel: &CancellationToken,
    ) -> Result<(), JobFailure> {
        let namespace = pod::namespace(&self.config);
        trace.line(&format!(
            "Running with gitlab-runner {RUNNER_VERSION} ({RUNNER_REVISION})\n  on {} {}",
            ctx.runner.name,
            ctx.short_token()
        ));
        trace.line(&format!("Using Kubernetes namespace: {namespace}"));
        trace.line(&format!(
            "Using Kubernetes executor with image {} ...",
            ctx.image
        ));
        if !ctx.job.services.is_empty() {
            let names: Vec<&str> = ctx.job.services.iter().map(|s| s.name.as_str()).collect();
            trace.warning(&format!(
                "services are not supported by this runner's kubernetes executor; not starting {}",
                names.join(", ")
            ));
        }
        if ctx.image.is_empty() {
            return Err(JobFailure::System(
                "no image specified and no default image configured ([runners.kubernetes] image)"
                    .into(),
            ));
        }
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &namespace);
        let name = pod::pod_name(&pod::project_unique_name(ctx), &pod::random_suffix());
        let spec = pod::build_pod(ctx, &name);
        pods.create(&PostParams::default(), &spec)
            .await
            .map_err(|e| JobFailure::System(exec::describe_kube_error(&e)))?;
        tracing::info!(job = ctx.job.id, pod = %name, "job pod created");

        let timeout = Duration::from_secs(ctx.job.timeout_secs());
        let outcome = tokio::time::timeout(timeout, self.stages(ctx, &pods, &name, trace, cancel))
            .await
            .unwrap_or(Err(JobFailure::Timeout(timeout)));

        let dp = DeleteParams {
            grace_period_seconds: Some(0),
            ..Default::default()
        };
        if let Err(e) = pods.delete(&name, &dp).await {
            tracing::warn!(pod = %name, error = %exec::describe_kube_error(&e), "deleting job pod failed");
        }
        outcome
    }

    async fn stages(
        &self,
        ctx: &JobContext,
        pods: &Api<Pod>,
        name: &str,
        trace: &JobTrace,
        cancel: &CancellationToken,
    ) -> Result<(), JobFailure> {
        let poll = |secs: i64, default: u64| {
            Duration::from_secs(if secs > 0 { secs as u64 } else { default })
        };
        exec::wait_for_running(
            pods,
            name,
            &pod::namespace(&self.config),
            trace,
            poll(self.config.poll_interval, 3),
            poll(self.config.poll_timeout, 180),
            cancel,
        )
        .await?;
        let host = hostname::get()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default();
        trace.line(&format!("Running on {name} via {host}..."));

        exec::run_stage(pods, name, &script::get_sources(ctx), trace, cancel).await?;
        if let Some(stage) = script::download_artifacts(ctx) {
            exec::run_stage(pods, name, &stage, trace, cancel).await?;
        }
        let mut result = Ok(());
        for step in ctx.job.steps.iter().filter(|s| s.name != "after_script") {
            let stage_name = if step.name == "script" {
                "build_script"
            } else {
                "step_release"
            };
            let stage = script::user_script(ctx, step, stage_name);
            result = exec::run_stage(pods, name, &stage, trace, cancel).await;
            if result.is_err() {
                break;
            }
        }
        if matches!(result, Err(JobFailure::Canceled)) {
            return result;
        }
        if let Some(step) = ctx.job.steps.iter().find(|s| s.name == "after_script")
            && step.script.iter().any(|s| !s.trim().is_empty())
        {
            {
                trace.line("\x1b[32;1mRunning after script...\x1b[0;m");
                let outcome = match &result {
                    Ok(()) => "success",
                    Err(JobFailure::Timeout(_)) => "timedout",
                    Err(_) => "failed",
                };
                let after_ctx = ctx.with_variable("CI_JOB_STATUS", outcome);
                let stage = script::user_script(&after_ctx, step, "after_script");
                if let Err(e) = exec::run_stage(pods, name, &stage, trace, cancel).await {
                    trace.warning(&format!("after_script failed: {}", e.message()));
                }
            }
        }
        if let Some(stage) = script::upload_artifacts(ctx, result.is_ok()) {
            let upload = exec::run_stage(pods, name, &stage, trace, cancel).await;
            if result.is_ok() {
                result = upload;
            }
        }
        result
    }
}

fn http_auth_header() -> http::HeaderName {
    http::header::AUTHORIZATION
}

fn pem_to_der(pem: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine;
    let text = std::str::from_utf8(pem).ok()?;
    let start = text.find("-----BEGIN CERTIFICATE-----")? + "-----BEGIN CERTIFICATE-----".len();
    let end = text[start..].find("-----END CERTIFICATE-----")? + start;
    let body: String = text[start..end].split_whitespace().collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_reasons_are_limited_to_what_gitlab_accepts() {
        let none: Vec<String> = Vec::new();
        let pull = JobFailure::ImagePull("x".into());
        assert_eq!(pull.reason(&none), Some("runner_system_failure"));
        assert_eq!(
            pull.reason(&["image_pull_failure".into()]),
            Some("image_pull_failure")
        );
        let script = JobFailure::Script { exit_code: 2 };
        assert_eq!(script.reason(&none), Some("script_failure"));
        assert_eq!(script.exit_code(), Some(2));
        assert_eq!(
            script.message(),
            "Job failed: command terminated with exit code 2"
        );
        let timeout = JobFailure::Timeout(Duration::from_secs(3600));
        assert_eq!(timeout.reason(&none), Some("job_execution_timeout"));
        assert_eq!(JobFailure::Canceled.reason(&none), None);
        let forbidden = JobFailure::System("pods is forbidden: User \"x\" cannot create".into());
        assert_eq!(forbidden.reason(&none), Some("runner_system_failure"));
        assert!(
            forbidden
                .message()
                .starts_with("Job failed (system failure): pods is forbidden")
        );
    }
}
