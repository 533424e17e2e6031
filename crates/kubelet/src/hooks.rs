//! Container lifecycle hooks: `postStart` right after a container starts and `preStop` before it
//! is stopped, with the exec, httpGet, tcpSocket and sleep handlers, as the kubelet runs them.
//! The gitlab-runner chart relies on one: its preStop hook unregisters the runner from GitLab.

use std::time::Duration;

use bollard::Docker;
use k8s_openapi::api::core::v1::{Container, LifecycleHandler, Probe};

use crate::probes;

/// Which hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hook {
    /// After the container started.
    PostStart,
    /// Before the container is stopped.
    PreStop,
}

impl Hook {
    /// The container's handler for this hook, if it has one.
    pub(crate) fn handler(self, container: &Container) -> Option<&LifecycleHandler> {
        let lifecycle = container.lifecycle.as_ref()?;
        match self {
            Hook::PostStart => lifecycle.post_start.as_ref(),
            Hook::PreStop => lifecycle.pre_stop.as_ref(),
        }
    }

    /// The event reason of a failure (`FailedPostStartHook`, `FailedPreStopHook`).
    pub(crate) fn failure_reason(self) -> &'static str {
        match self {
            Hook::PostStart => "FailedPostStartHook",
            Hook::PreStop => "FailedPreStopHook",
        }
    }
}

/// Runs `handler` against the running container `docker_id` for at most `limit`.
pub(crate) async fn run(
    docker: &Docker,
    docker_id: &str,
    container: &Container,
    handler: &LifecycleHandler,
    limit: Duration,
) -> Result<(), String> {
    if let Some(sleep) = &handler.sleep {
        let wanted = Duration::from_secs(sleep.seconds.max(0) as u64);
        tokio::time::sleep(wanted.min(limit)).await;
        return Ok(());
    }
    // The exec, httpGet and tcpSocket handlers are the probes' handlers, run once.
    let probe = Probe {
        exec: handler.exec.clone(),
        http_get: handler.http_get.clone(),
        tcp_socket: handler.tcp_socket.clone(),
        timeout_seconds: Some(limit.as_secs().clamp(1, i32::MAX as u64) as i32),
        ..Default::default()
    };
    probes::run_once(docker, docker_id, container, &probe).await
}

/// Stops a container as the kubelet kills one: its preStop hook first (if any), within `grace`,
/// then the stop signal with what is left of it. Returns the hook's failure and the stop's result.
pub(crate) async fn pre_stop_then_stop(
    docker: &Docker,
    docker_id: &str,
    container: Option<&Container>,
    grace: Duration,
) -> (Option<String>, crate::error::Result<()>) {
    let started = std::time::Instant::now();
    let mut hook_error = None;
    if let Some((container, handler)) =
        container.and_then(|c| Hook::PreStop.handler(c).map(|h| (c, h)))
    {
        hook_error = run(docker, docker_id, container, handler, grace)
            .await
            .err();
    }
    let left = grace.saturating_sub(started.elapsed());
    (
        hook_error,
        crate::runtime::stop(docker, docker_id, left).await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{ExecAction, Lifecycle};

    #[test]
    fn handlers_are_found_per_hook() {
        let exec = LifecycleHandler {
            exec: Some(ExecAction {
                command: Some(vec!["/entrypoint".into(), "unregister".into()]),
            }),
            ..Default::default()
        };
        let container = Container {
            name: "runner".into(),
            lifecycle: Some(Lifecycle {
                pre_stop: Some(exec.clone()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(Hook::PreStop.handler(&container), Some(&exec));
        assert_eq!(Hook::PostStart.handler(&container), None);
        assert_eq!(Hook::PreStop.failure_reason(), "FailedPreStopHook");
    }
}
