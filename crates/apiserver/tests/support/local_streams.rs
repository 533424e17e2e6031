//! TEST DOUBLE of a node's streams: `exec` runs the command as a local process, `logs` and
//! `attach` run the container's own `command` from the pod spec as a local process.

use std::process::Stdio;

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use harness_apiserver::node_streams::{
    ContainerRef, LogOptions, NodeStreamError, NodeStreams, OutputChunk, ProcessExit, ProcessIo,
    StreamOptions,
};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use tokio::process::Command;
use tokio_util::io::ReaderStream;

pub struct LocalStreams {
    client: kube::Client,
}

impl LocalStreams {
    pub fn new(client: kube::Client) -> Self {
        LocalStreams { client }
    }

    async fn container_command(&self, t: &ContainerRef) -> Result<Vec<String>, NodeStreamError> {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &t.namespace);
        let pod = pods
            .get(&t.pod)
            .await
            .map_err(|e| NodeStreamError::NotFound(e.to_string()))?;
        let c = pod
            .spec
            .and_then(|s| s.containers.into_iter().find(|c| c.name == t.container))
            .ok_or_else(|| {
                NodeStreamError::NotFound(format!("container {} not found", t.container))
            })?;
        let mut cmd = c.command.unwrap_or_default();
        cmd.extend(c.args.unwrap_or_default());
        if cmd.is_empty() {
            return Err(NodeStreamError::BadRequest(
                "test double needs a command".into(),
            ));
        }
        Ok(cmd)
    }
}

fn spawn(command: &[String], options: &StreamOptions) -> Result<ProcessIo, NodeStreamError> {
    let mut cmd = Command::new(&command[0]);
    cmd.args(&command[1..])
        .stdin(if options.stdin {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Ok(ProcessIo {
                stdin: None,
                output: futures::stream::empty().boxed(),
                resize: None,
                exit: Box::pin(
                    async move { ProcessExit::Failed(format!("exec: \"{}\": {e}", "cmd")) },
                ),
            });
        }
    };
    let stdin = child
        .stdin
        .take()
        .map(|s| Box::pin(s) as std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>);
    let out = ReaderStream::new(child.stdout.take().unwrap()).map(|r| r.map(OutputChunk::Stdout));
    let err = ReaderStream::new(child.stderr.take().unwrap()).map(|r| r.map(OutputChunk::Stderr));
    let output = futures::stream::select(out, err).boxed();
    let exit = Box::pin(async move {
        match child.wait().await {
            Ok(s) => ProcessExit::Code(s.code().unwrap_or(1) as i64),
            Err(e) => ProcessExit::Failed(e.to_string()),
        }
    });
    Ok(ProcessIo {
        stdin,
        output,
        resize: None,
        exit,
    })
}

#[async_trait::async_trait]
impl NodeStreams for LocalStreams {
    async fn logs(
        &self,
        target: ContainerRef,
        _options: LogOptions,
    ) -> Result<BoxStream<'static, std::io::Result<Bytes>>, NodeStreamError> {
        let cmd = self.container_command(&target).await?;
        let io = spawn(
            &cmd,
            &StreamOptions {
                stdout: true,
                stderr: true,
                ..Default::default()
            },
        )?;
        // Keep the process (owned by the exit future) alive until its output ended.
        let exit = io.exit;
        let tail = futures::stream::once(async move {
            exit.await;
            None
        })
        .filter_map(|x: Option<std::io::Result<Bytes>>| async move { x });
        Ok(io
            .output
            .map(|c| {
                c.map(|c| match c {
                    OutputChunk::Stdout(b) | OutputChunk::Stderr(b) => b,
                })
            })
            .chain(tail)
            .boxed())
    }

    async fn exec(
        &self,
        _target: ContainerRef,
        command: Vec<String>,
        options: StreamOptions,
    ) -> Result<ProcessIo, NodeStreamError> {
        spawn(&command, &options)
    }

    async fn attach(
        &self,
        target: ContainerRef,
        options: StreamOptions,
    ) -> Result<ProcessIo, NodeStreamError> {
        let cmd = self.container_command(&target).await?;
        spawn(&cmd, &options)
    }
}
