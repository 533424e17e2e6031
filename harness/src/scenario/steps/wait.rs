//! The `wait` action and the Deployment checks it shares with assertions and the benchmark.

use std::time::Instant;

use anyhow::bail;
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
                    .wait_pipeline(env.project.id, *id, remaining(deadline))
                    .await?;
                lines.push(format!(
                    "pipeline {id} ({}) {}",
                    pipeline.git_ref, pipeline.status
                ));
                env.vars.set("pipeline.id", id.to_string());
                env.vars.set("pipeline.sha", pipeline.sha.clone());
                env.vars.set(
                    "pipeline.short_sha",
                    pipeline.sha[..8.min(pipeline.sha.len())].to_owned(),
                );
                env.vars.set("pipeline.ref", pipeline.git_ref.clone());
            }
            state.last_pipelines = ids;
            Ok(lines.join("\n"))
        }
        WaitStep::Named(WaitName::RunnerOnline) => {
            let env: &Environment = env;
            env.gitlab
                .wait_until(
                    "a runner to contact GitLab",
                    remaining(deadline),
                    || async {
                        let online = env
                            .new_runners()
                            .await?
                            .into_iter()
                            .any(|r| r.status.as_deref() == Some("online"));
                        Ok(online.then_some(()))
                    },
                )
                .await?;
            Ok("a runner is online".into())
        }
        WaitStep::DeploymentAvailable {
            deployment_available: DeploymentRef { name, namespace },
        } => {
            let api: Api<Deployment> = Api::namespaced(env.kube.clone(), namespace);
            let available =
                kube::runtime::wait::await_condition(api, name, |d: Option<&Deployment>| {
                    d.is_some_and(deployment_available)
                });
            match tokio::time::timeout(remaining(deadline), available).await {
                Ok(Ok(_)) => Ok(format!("deployment {namespace}/{name} is Available")),
                Ok(Err(e)) => bail!("watching deployment {namespace}/{name}: {e}"),
                Err(_) => bail!("deployment {namespace}/{name} did not become Available in time"),
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
