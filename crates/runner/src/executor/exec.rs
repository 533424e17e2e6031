//! Running a stage script in a pod container through `pods/exec`, and waiting for the pod.

use std::time::Duration;

use futures::FutureExt;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams, WatchParams};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use super::JobFailure;
use super::pod::DETECT_SHELL;
use super::script::Stage;
use crate::trace::JobTrace;

/// Runs `stage` in its container: the script goes to a shell on stdin; stdout and stderr go to
/// the trace; the exit code comes from the exec status.
pub async fn run_stage(
    pods: &Api<Pod>,
    pod: &str,
    stage: &Stage,
    trace: &JobTrace,
    cancel: &CancellationToken,
) -> Result<(), JobFailure> {
    tracing::debug!(pod, stage = stage.name, "running stage");
    let params = AttachParams::default()
        .container(stage.container.name())
        .stdin(true)
        .stdout(true)
        .stderr(true)
        .max_stdin_buf_size(64 * 1024)
        .max_stdout_buf_size(64 * 1024)
        .max_stderr_buf_size(64 * 1024);
    let mut process = pods
        .exec(pod, vec!["sh", "-c", DETECT_SHELL], &params)
        .await
        .map_err(|e| JobFailure::System(format!("{}: {}", stage.name, describe_kube_error(&e))))?;
    let status = process.take_status();
    let stdin = process.stdin();
    let stdout = process.stdout();
    let stderr = process.stderr();

    let script = stage.script.clone().into_bytes();
    let writer = async move {
        if let Some(mut w) = stdin {
            let _ = w.write_all(&script).await;
            let _ = w.shutdown().await;
        }
    };
    let pump = |r: Option<tokio::io::ReadHalf<tokio::io::SimplexStream>>| {
        let trace = trace.clone();
        async move {
            let Some(mut r) = r else { return };
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                match r.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => trace.write(&buf[..n]),
                }
            }
        }
    };
    let io = futures::future::join3(writer, pump(stdout), pump(stderr));
    let finished = async {
        io.await;
        match status {
            Some(s) => s.await,
            None => None,
        }
    };
    let result = tokio::select! {
        r = finished.fuse() => r,
        _ = cancel.cancelled() => {
            process.abort();
            return Err(JobFailure::Canceled);
        }
    };
    let _ = process.join().await;
    match result {
        None => Err(JobFailure::System(format!(
            "{}: the exec stream ended without an exit status",
            stage.name
        ))),
        Some(s) if s.status.as_deref() == Some("Success") => Ok(()),
        Some(s) => {
            let code = s
                .details
                .as_ref()
                .and_then(|d| d.causes.as_ref())
                .and_then(|c| c.iter().find(|c| c.reason.as_deref() == Some("ExitCode")))
                .and_then(|c| c.message.as_deref())
                .and_then(|m| m.parse::<i32>().ok());
            match code {
                Some(code) => Err(JobFailure::Script { exit_code: code }),
                None => Err(JobFailure::System(format!(
                    "{}: {}",
                    stage.name,
                    s.message
                        .or(s.reason)
                        .unwrap_or_else(|| "exec failed".into())
                ))),
            }
        }
    }
}

/// The API server's own words for a failed request (for the trace).
pub fn describe_kube_error(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(status) => {
            if status.message.is_empty() {
                format!("{} ({})", status.reason, status.code)
            } else {
                status.message.clone()
            }
        }
        other => other.to_string(),
    }
}

/// Waits until the pod is Running, printing its status like the executor; fails on image pull
/// errors, on a terminal phase, or after `timeout`.
pub async fn wait_for_running(
    pods: &Api<Pod>,
    name: &str,
    namespace: &str,
    trace: &JobTrace,
    interval: Duration,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<(), JobFailure> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let pod = pods
            .get(name)
            .await
            .map_err(|e| JobFailure::System(describe_kube_error(&e)))?;
        let status = pod.status.unwrap_or_default();
        let phase = status.phase.unwrap_or_else(|| "Pending".into());
        match phase.as_str() {
            "Running" => return Ok(()),
            "Succeeded" | "Failed" | "Unknown" => {
                return Err(JobFailure::System(format!("pod status is {phase}")));
            }
            _ => {}
        }
        for cs in status.container_statuses.iter().flatten() {
            if let Some(waiting) = cs.state.as_ref().and_then(|s| s.waiting.as_ref()) {
                let reason = waiting.reason.clone().unwrap_or_default();
                if matches!(
                    reason.as_str(),
                    "ErrImagePull" | "ImagePullBackOff" | "InvalidImageName" | "ErrImageNeverPull"
                ) {
                    return Err(JobFailure::ImagePull(format!(
                        "prepare environment: image pull failed: {} {}",
                        reason,
                        waiting.message.clone().unwrap_or_default()
                    )));
                }
            }
        }
        let mut line =
            format!("Waiting for pod {namespace}/{name} to be running, status is {phase}");
        for c in status
            .conditions
            .iter()
            .flatten()
            .filter(|c| c.status != "True")
        {
            line.push_str(&format!(
                "\n\t{}: {:?}",
                c.reason.as_deref().unwrap_or(&c.type_),
                c.message.as_deref().unwrap_or("")
            ));
        }
        for cs in status.container_statuses.iter().flatten() {
            if let Some(w) = cs.state.as_ref().and_then(|s| s.waiting.as_ref()) {
                line.push_str(&format!(
                    "\n\tcontainer {}: {} {}",
                    cs.name,
                    w.reason.as_deref().unwrap_or(""),
                    w.message.as_deref().unwrap_or("")
                ));
            }
        }
        trace.line(&line);
        if tokio::time::Instant::now() >= deadline {
            return Err(JobFailure::System(format!(
                "timed out waiting for pod to start (poll_timeout {}s)",
                timeout.as_secs()
            )));
        }
        let since = pod.metadata.resource_version.unwrap_or_default();
        tokio::select! {
            _ = pod_changed(pods, name, &since, interval) => {}
            _ = cancel.cancelled() => return Err(JobFailure::Canceled),
        }
    }
}

/// Returns when the pod changes after resourceVersion `since` (a watch event) or after
/// `interval`, whichever comes first. The runner 12.8 this one stands in for only polls every
/// `poll_interval`; waking on the change starts the job as soon as the pod runs, and the poll
/// stays the fallback where the account may not watch pods.
async fn pod_changed(pods: &Api<Pod>, name: &str, since: &str, interval: Duration) {
    let wp = WatchParams::default()
        .fields(&format!("metadata.name={name}"))
        .timeout(interval.as_secs().clamp(1, u64::from(u32::MAX)) as u32);
    let wait = async {
        if since.is_empty() {
            // Without a version a watch would replay the pod at once.
            std::future::pending::<()>().await;
        }
        match pods.watch(&wp, since).await {
            Ok(events) => {
                let mut events = events.boxed();
                if events.next().await.is_none() {
                    std::future::pending::<()>().await;
                }
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    let _ = tokio::time::timeout(interval, wait).await;
}
