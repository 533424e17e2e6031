//! The `wait` action and the Deployment checks it shares with assertions and the benchmark.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;

use super::{RunState, remaining};
use crate::environment::Environment;
use crate::scenario::model::{DeploymentRef, WaitName, WaitStep};

/// Waits for what `wait` names, until `deadline`.
pub(super) async fn run_wait(
    env: &mut Environment,
    state: &mut RunState,
    wait: &WaitStep,
    deadline: Instant,
) -> anyhow::Result<String> {
    match wait {
        WaitStep::Named(WaitName::Pipelines) => {
            if state.pending_pipelines.is_empty() {
                bail!("no pipeline was started since the last wait: push or run_pipeline first");
            }
            let ids = std::mem::take(&mut state.pending_pipelines);
            let mut lines = vec![];
            for id in &ids {
                let pipeline = env
                    .gitlab
                    .wait_pipeline(*id, remaining(deadline))
                    .await
                    .with_context(|| format!("waiting for pipeline {id}"))?;
                lines.push(format!(
                    "pipeline {id} ({}) {}",
                    pipeline.ref_name,
                    pipeline.status.as_str()
                ));
                env.vars.set("pipeline.id", id.to_string());
                env.vars.set("pipeline.sha", pipeline.sha.clone());
                env.vars.set(
                    "pipeline.short_sha",
                    pipeline.sha[..8.min(pipeline.sha.len())].to_owned(),
                );
                env.vars.set("pipeline.ref", pipeline.ref_name.clone());
            }
            state.last_pipelines = ids;
            Ok(lines.join("\n"))
        }
        WaitStep::Named(WaitName::RunnerOnline) => {
            env.gitlab
                .wait_for("a runner to contact GitLab", remaining(deadline), |g| {
                    g.runners()
                        .into_iter()
                        .find(|r| r.contacted_at.is_some())
                        .map(|_| ())
                })
                .await?;
            Ok("a runner is online".into())
        }
        WaitStep::DeploymentAvailable {
            deployment_available: DeploymentRef { name, namespace },
        } => {
            let api: Api<Deployment> = Api::namespaced(env.client.clone(), namespace);
            loop {
                if let Ok(deployment) = api.get(name).await
                    && deployment_available(&deployment)
                {
                    return Ok(format!("deployment {namespace}/{name} is Available"));
                }
                if Instant::now() >= deadline {
                    bail!("deployment {namespace}/{name} did not become Available in time");
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
}

/// The image of a Deployment's first container, as its spec asks for it.
pub fn deployment_image(deployment: &Deployment) -> Option<String> {
    deployment
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.clone())
}

/// Whether a Deployment has its `Available` condition and all replicas updated.
pub fn deployment_available(deployment: &Deployment) -> bool {
    let Some(status) = &deployment.status else {
        return false;
    };
    let generation_seen = status.observed_generation >= deployment.metadata.generation;
    let available = status.conditions.as_ref().is_some_and(|c| {
        c.iter()
            .any(|c| c.type_ == "Available" && c.status == "True")
    });
    let wanted = deployment
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or(1);
    generation_seen && available && status.updated_replicas.unwrap_or(0) >= wanted
}
