//! Docker Engine calls the kubelet makes, always scoped by the environment label.

use std::collections::HashMap;
use std::time::Duration;

use bollard::Docker;
use bollard::models::ContainerSummary;
use bollard::query_parameters::{
    KillContainerOptionsBuilder, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
};

use crate::KubeletError;
use crate::error::Result;
use crate::labels;
use harness_error_chain::Chain;

/// Removes every container (running or not) labelled with `environment_id`, and nothing else.
/// This is what `harness down` runs after a crashed run, and what a kubelet's shutdown runs.
/// Returns how many containers were removed.
pub async fn remove_environment_containers(docker: &Docker, environment_id: &str) -> Result<usize> {
    remove_labelled(docker, environment_id, &[]).await
}

/// The containers (running or not) labelled with `environment_id`: what
/// [`remove_environment_containers`] removes, for callers that check what is left behind.
pub async fn environment_containers(
    docker: &Docker,
    environment_id: &str,
) -> Result<Vec<ContainerSummary>> {
    list(docker, &[(labels::ENV, environment_id)]).await
}

/// Removes the containers of `environment_id` that one node (kubelet) created.
pub(crate) async fn remove_node_containers(
    docker: &Docker,
    environment_id: &str,
    node: &str,
) -> Result<usize> {
    remove_labelled(docker, environment_id, &[(labels::NODE, node)]).await
}

async fn remove_labelled(
    docker: &Docker,
    environment_id: &str,
    extra: &[(&str, &str)],
) -> Result<usize> {
    let mut filters = vec![(labels::ENV, environment_id)];
    filters.extend_from_slice(extra);
    let containers = list(docker, &filters).await?;
    let mut removed = 0;
    for summary in containers {
        // Re-check the label on what the engine returned: the filter is the contract, this is the guard.
        let ours = summary
            .labels
            .as_ref()
            .and_then(|l| l.get(labels::ENV))
            .map(String::as_str)
            == Some(environment_id);
        let Some(id) = summary.id.filter(|_| ours) else {
            continue;
        };
        match remove(docker, &id).await {
            Ok(()) => removed += 1,
            Err(e) => {
                tracing::warn!(container = %id, error = %Chain(&e), "could not remove container")
            }
        }
    }
    Ok(removed)
}

/// All containers (any state) carrying every `label=value` pair.
pub(crate) async fn list(
    docker: &Docker,
    label_filters: &[(&str, &str)],
) -> Result<Vec<ContainerSummary>> {
    let mut filters: HashMap<&str, Vec<String>> = HashMap::new();
    filters.insert(
        "label",
        label_filters
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
    );
    let options = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&filters)
        .build();
    docker
        .list_containers(Some(options))
        .await
        .map_err(|e| KubeletError::docker("listing containers", e))
}

/// Force-removes a container with its anonymous volumes; a missing container is not an error.
pub(crate) async fn remove(docker: &Docker, id: &str) -> Result<()> {
    let options = RemoveContainerOptionsBuilder::new()
        .force(true)
        .v(true)
        .build();
    match docker.remove_container(id, Some(options)).await {
        Ok(()) => Ok(()),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 409,
            message,
        }) if message.contains("already in progress") => {
            // Someone else is removing it: wait until it is gone so callers can rely on it.
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
            while tokio::time::Instant::now() < deadline && inspect(docker, id).await?.is_some() {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Ok(())
        }
        Err(e) => Err(KubeletError::docker(format!("removing container {id}"), e)),
    }
}

/// SIGTERM, then SIGKILL after `grace_seconds` (the engine's stop semantics); missing or
/// already-stopped containers are fine.
pub(crate) async fn stop(docker: &Docker, id: &str, grace: Duration) -> Result<()> {
    // `docker stop -t` would hold one HTTP request for the whole grace period, which outlasts
    // the client's timeout for long periods (the runner chart's is an hour). So: the image's stop
    // signal, wait (polling the container's state) until it exits or the period ends, SIGKILL.
    let signal = match docker.inspect_container(id, None).await {
        Ok(info) => {
            if !info.state.as_ref().and_then(|s| s.running).unwrap_or(false) {
                return Ok(());
            }
            info.config
                .and_then(|c| c.stop_signal)
                .unwrap_or_else(|| "SIGTERM".into())
        }
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => return Ok(()),
        Err(e) => {
            return Err(KubeletError::docker(
                format!("inspecting container {id}"),
                e,
            ));
        }
    };
    let deadline = tokio::time::Instant::now() + grace;
    if !grace.is_zero() {
        send_signal(docker, id, &signal).await?;
        while tokio::time::Instant::now() < deadline {
            match docker.inspect_container(id, None).await {
                Ok(info) if info.state.as_ref().and_then(|s| s.running).unwrap_or(false) => {}
                _ => return Ok(()),
            }
            tokio::time::sleep(STOP_POLL.min(deadline - tokio::time::Instant::now())).await;
        }
    }
    send_signal(docker, id, "SIGKILL").await
}

/// How often a stopping container's state is checked.
const STOP_POLL: Duration = Duration::from_millis(100);

async fn send_signal(docker: &Docker, id: &str, signal: &str) -> Result<()> {
    let options = KillContainerOptionsBuilder::new().signal(signal).build();
    match docker.kill_container(id, Some(options)).await {
        Ok(()) => Ok(()),
        // Not running (409) or gone (404): stopped already.
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404 | 409,
            ..
        }) => Ok(()),
        Err(e) => Err(KubeletError::docker(
            format!("sending {signal} to container {id}"),
            e,
        )),
    }
}

/// The state of a container as the kubelet needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ContainerRuntimeState {
    pub running: bool,
    pub exit_code: i64,
    pub oom_killed: bool,
    pub error: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub image_id: String,
}

/// Inspects a container; `None` when it is gone.
pub(crate) async fn inspect(docker: &Docker, id: &str) -> Result<Option<ContainerRuntimeState>> {
    match docker.inspect_container(id, None).await {
        Ok(info) => {
            let state = info.state.unwrap_or_default();
            let real_time = |t: Option<String>| t.filter(|s| !s.starts_with("0001-"));
            Ok(Some(ContainerRuntimeState {
                running: state.running.unwrap_or(false) || state.restarting.unwrap_or(false),
                exit_code: state.exit_code.unwrap_or(0),
                oom_killed: state.oom_killed.unwrap_or(false),
                error: state.error.unwrap_or_default(),
                started_at: real_time(state.started_at),
                finished_at: real_time(state.finished_at),
                image_id: info.image.unwrap_or_default(),
            }))
        }
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(None),
        Err(e) => Err(KubeletError::docker(
            format!("inspecting container {id}"),
            e,
        )),
    }
}
