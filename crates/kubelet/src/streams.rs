//! `pods/log`, `pods/exec` and `pods/attach` for this node's pods, through the engine.

use std::sync::Arc;
use std::time::Duration;

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::query_parameters::{AttachContainerOptionsBuilder, LogsOptionsBuilder};
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use harness_apiserver::node_streams::{
    ContainerRef, LogOptions, NodeStreamError, NodeStreams, OutputChunk, ProcessExit, ProcessIo,
    StreamOptions,
};

use crate::{labels, runtime};

mod resize;

use harness_error_chain::Chain;
use resize::{Terminal, forward_resizes};

/// Serves the streaming pod subresources of one environment's containers from the Docker engine.
/// Register it with the API server for the kubelet's node name.
#[derive(Clone)]
pub struct DockerNodeStreams {
    docker: Docker,
    environment_id: String,
}

impl DockerNodeStreams {
    /// Streams over `docker` for containers labelled with `environment_id`.
    pub fn new(docker: Docker, environment_id: impl Into<String>) -> Self {
        Self {
            docker,
            environment_id: environment_id.into(),
        }
    }

    /// The Docker id of the container instance serving `target` (the current one, or the one
    /// before it with `previous`).
    async fn find(&self, target: &ContainerRef, previous: bool) -> Result<String, NodeStreamError> {
        let filters = [
            (labels::ENV, self.environment_id.as_str()),
            (labels::POD_NAMESPACE, target.namespace.as_str()),
            (labels::POD_NAME, target.pod.as_str()),
            (labels::CONTAINER_NAME, target.container.as_str()),
        ];
        let mut found = runtime::list(&self.docker, &filters)
            .await
            .map_err(|e| NodeStreamError::Runtime(Chain(&e).to_string()))?;
        // Newest pod instance first, then the newest attempt.
        found.sort_by_key(|c| std::cmp::Reverse(c.created.unwrap_or(0)));
        let newest_uid = found
            .first()
            .and_then(|c| c.labels.as_ref())
            .and_then(|l| l.get(labels::POD_UID))
            .cloned();
        let mut instances: Vec<(u32, String)> = found
            .into_iter()
            .filter(|c| {
                c.labels.as_ref().and_then(|l| l.get(labels::POD_UID)) == newest_uid.as_ref()
            })
            .filter_map(|c| {
                let attempt = c
                    .labels
                    .as_ref()?
                    .get(labels::RESTART_COUNT)?
                    .parse()
                    .ok()?;
                Some((attempt, c.id?))
            })
            .collect();
        instances.sort_by_key(|(attempt, _)| std::cmp::Reverse(*attempt));
        let index = usize::from(previous);
        instances
            .into_iter()
            .nth(index)
            .map(|(_, id)| id)
            .ok_or_else(|| {
                let what = if previous {
                    "previous terminated container"
                } else {
                    "container"
                };
                NodeStreamError::BadRequest(format!(
                    "{what} \"{}\" in pod \"{}\" not found",
                    target.container, target.pod
                ))
            })
    }

    async fn running(&self, target: &ContainerRef) -> Result<String, NodeStreamError> {
        let id = self.find(target, false).await?;
        let state = runtime::inspect(&self.docker, &id)
            .await
            .map_err(|e| NodeStreamError::Runtime(Chain(&e).to_string()))?;
        match state {
            Some(s) if s.running => Ok(id),
            _ => Err(NodeStreamError::BadRequest(format!(
                "container {} is not running in pod {}/{}",
                target.container, target.namespace, target.pod
            ))),
        }
    }
}

fn chunk(output: LogOutput) -> OutputChunk {
    match output {
        LogOutput::StdErr { message } => OutputChunk::Stderr(message),
        other => OutputChunk::Stdout(other.into_bytes()),
    }
}

fn io_error(e: bollard::errors::Error) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// Cuts a byte stream after `limit` bytes.
fn limit_bytes(
    stream: BoxStream<'static, std::io::Result<Bytes>>,
    limit: Option<i64>,
) -> BoxStream<'static, std::io::Result<Bytes>> {
    let Some(limit) = limit.filter(|l| *l > 0) else {
        return stream;
    };
    let mut left = limit as usize;
    stream
        .take_while(move |_| {
            let more = left > 0;
            futures::future::ready(more)
        })
        .map(move |item| {
            item.map(|mut bytes| {
                if bytes.len() > left {
                    bytes.truncate(left);
                }
                left -= bytes.len();
                bytes
            })
        })
        .boxed()
}

#[async_trait::async_trait]
impl NodeStreams for DockerNodeStreams {
    async fn logs(
        &self,
        target: ContainerRef,
        options: LogOptions,
    ) -> Result<BoxStream<'static, std::io::Result<Bytes>>, NodeStreamError> {
        let id = self.find(&target, options.previous).await?;
        let tail = options
            .tail_lines
            .map(|n| n.max(0).to_string())
            .unwrap_or_else(|| "all".into());
        let mut builder = LogsOptionsBuilder::new()
            .follow(options.follow && !options.previous)
            .stdout(true)
            .stderr(true)
            .timestamps(options.timestamps)
            .tail(&tail);
        if let Some(seconds) = options.since_seconds {
            let since = chrono::Utc::now().timestamp() - seconds.max(0);
            builder = builder.since(since.clamp(0, i32::MAX as i64) as i32);
        }
        let stream = self
            .docker
            .logs(&id, Some(builder.build()))
            .map(|item| item.map(LogOutput::into_bytes).map_err(io_error))
            .boxed();
        Ok(limit_bytes(stream, options.limit_bytes))
    }

    async fn exec(
        &self,
        target: ContainerRef,
        command: Vec<String>,
        options: StreamOptions,
    ) -> Result<ProcessIo, NodeStreamError> {
        let id = self.running(&target).await?;
        if command.is_empty() {
            return Err(NodeStreamError::BadRequest(
                "you must specify at least 1 command".into(),
            ));
        }
        let exec = self
            .docker
            .create_exec(
                &id,
                CreateExecOptions {
                    attach_stdin: Some(options.stdin),
                    attach_stdout: Some(options.stdout),
                    attach_stderr: Some(options.stderr && !options.tty),
                    tty: Some(options.tty),
                    cmd: Some(command),
                    ..Default::default()
                },
            )
            .await
            .map_err(engine_error("creating exec in", &target.container))?;
        let started = self
            .docker
            .start_exec(
                &exec.id,
                Some(StartExecOptions {
                    detach: false,
                    tty: options.tty,
                    output_capacity: None,
                }),
            )
            .await
            .map_err(engine_error("starting exec in", &target.container))?;
        let StartExecResults::Attached { output, input } = started else {
            return Err(NodeStreamError::Runtime(
                "the engine detached the exec session".into(),
            ));
        };
        let resize = options
            .tty
            .then(|| forward_resizes(self.docker.clone(), Terminal::Exec(exec.id.clone())));
        let docker = self.docker.clone();
        let exec_id = exec.id.clone();
        let exit = Box::pin(async move { exec_exit(&docker, &exec_id).await });
        Ok(ProcessIo {
            stdin: options.stdin.then_some(input),
            output: output.map(|item| item.map(chunk).map_err(io_error)).boxed(),
            resize,
            exit,
        })
    }

    async fn attach(
        &self,
        target: ContainerRef,
        options: StreamOptions,
    ) -> Result<ProcessIo, NodeStreamError> {
        let id = self.running(&target).await?;
        // Docker ends the whole attach session when the client closes stdin; Kubernetes closes
        // the container's stdin only for `stdinOnce` containers and keeps streaming output.
        let stdin_once = self
            .docker
            .inspect_container(&id, None)
            .await
            .ok()
            .and_then(|c| c.config)
            .and_then(|c| c.stdin_once)
            .unwrap_or(false);
        let attach_options = AttachContainerOptionsBuilder::new()
            .stream(true)
            .logs(false)
            .stdin(options.stdin)
            .stdout(options.stdout)
            .stderr(options.stderr)
            .build();
        let attached = self
            .docker
            .attach_container(&id, Some(attach_options))
            .await
            .map_err(engine_error("attaching to", &target.container))?;
        let resize = options
            .tty
            .then(|| forward_resizes(self.docker.clone(), Terminal::Container(id.clone())));
        let docker = Arc::new(self.docker.clone());
        let exit = Box::pin(async move { container_exit(&docker, &id).await });
        let input: std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>> = if stdin_once {
            attached.input
        } else {
            Box::pin(KeepOpen(attached.input))
        };
        Ok(ProcessIo {
            stdin: options.stdin.then_some(input),
            output: attached
                .output
                .map(|item| item.map(chunk).map_err(io_error))
                .boxed(),
            resize,
            exit,
        })
    }
}

/// A writer whose shutdown only flushes: closing the client's stdin must not end a Docker
/// attach session of a container that keeps its stdin open.
struct KeepOpen(std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>);

impl tokio::io::AsyncWrite for KeepOpen {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.0.as_mut().poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        self.0.as_mut().poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        self.0.as_mut().poll_flush(cx)
    }
}

/// The exit code of an exec, once the engine reports it finished.
async fn exec_exit(docker: &Docker, exec_id: &str) -> ProcessExit {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match docker.inspect_exec(exec_id).await {
            Ok(info) if info.running != Some(true) => {
                return ProcessExit::Code(info.exit_code.unwrap_or(0));
            }
            Ok(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            Ok(_) => {
                return ProcessExit::Failed(
                    "the process is still running after its output closed".into(),
                );
            }
            Err(e) => return ProcessExit::Failed(format!("inspecting exec: {e}")),
        }
    }
}

/// The exit code of a container's main process, once it exits.
async fn container_exit(docker: &Docker, id: &str) -> ProcessExit {
    let mut wait =
        docker.wait_container(id, None::<bollard::query_parameters::WaitContainerOptions>);
    match wait.next().await {
        Some(Ok(response)) => ProcessExit::Code(response.status_code),
        Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => {
            ProcessExit::Code(code)
        }
        Some(Err(e)) => ProcessExit::Failed(e.to_string()),
        None => match runtime::inspect(docker, id).await {
            Ok(Some(state)) => ProcessExit::Code(state.exit_code),
            _ => ProcessExit::Failed("the container is gone".into()),
        },
    }
}
/// Maps an engine error to a stream error saying what failed for which container.
fn engine_error(
    doing: &str,
    container: &str,
) -> impl FnOnce(bollard::errors::Error) -> NodeStreamError {
    let context = format!("{doing} {container}");
    move |e| NodeStreamError::Runtime(format!("{context}: {e}"))
}
