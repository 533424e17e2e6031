//! The contract between the API server and a node (kubelet) for the streaming pod subresources.
//!
//! A real API server proxies `pods/log`, `pods/exec` and `pods/attach` to the kubelet of the pod's
//! node. The embedded server keeps the wire protocols (chunked logs, WebSocket `v5.channel.k8s.io`)
//! on its side and asks the node, through this trait, only for the process-level streams. The
//! kubelet registers one implementation per node name.

use std::pin::Pin;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use tokio::io::AsyncWrite;

/// Which container of which pod a stream request is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRef {
    /// Namespace of the pod.
    pub namespace: String,
    /// Pod name.
    pub pod: String,
    /// Container name inside the pod (already defaulted by the API server).
    pub container: String,
}

/// Options of a `pods/log` request, as the API server parsed them from the query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// Keep the stream open and send new output as it arrives.
    pub follow: bool,
    /// Only the last N lines.
    pub tail_lines: Option<i64>,
    /// Prefix each line with an RFC 3339 timestamp.
    pub timestamps: bool,
    /// Logs of the previous (terminated) instance of the container.
    pub previous: bool,
    /// Only output newer than this many seconds.
    pub since_seconds: Option<i64>,
    /// Stop after this many bytes.
    pub limit_bytes: Option<i64>,
}

/// What an exec or attach session wants connected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamOptions {
    /// Connect the process's stdin.
    pub stdin: bool,
    /// Connect stdout.
    pub stdout: bool,
    /// Connect stderr (never with `tty`).
    pub stderr: bool,
    /// Allocate a terminal.
    pub tty: bool,
}

/// One chunk of process output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputChunk {
    /// Bytes written to stdout (or the terminal, with a tty).
    Stdout(Bytes),
    /// Bytes written to stderr.
    Stderr(Bytes),
}

/// How a process finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessExit {
    /// Exit code of the process (0 is success).
    Code(i64),
    /// The process could not be run at all (e.g. executable not found); the message is shown to the user.
    Failed(String),
}

/// A terminal size change requested by the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TerminalSize {
    /// Columns.
    pub width: u16,
    /// Rows.
    pub height: u16,
}

/// The live streams of an exec'd or attached process.
pub struct ProcessIo {
    /// Where client stdin goes; dropping or shutting it down closes the process's stdin.
    pub stdin: Option<Pin<Box<dyn AsyncWrite + Send>>>,
    /// Interleaved stdout/stderr output, ending when the process closes them.
    pub output: BoxStream<'static, std::io::Result<OutputChunk>>,
    /// Terminal resizes (only with a tty).
    pub resize: Option<tokio::sync::mpsc::Sender<TerminalSize>>,
    /// Resolves once the process has exited (after `output` ended).
    pub exit: BoxFuture<'static, ProcessExit>,
}

/// Why a node could not serve a stream.
#[derive(Debug, thiserror::Error)]
pub enum NodeStreamError {
    /// The pod or container is not (or no longer) running on this node.
    #[error("{0}")]
    NotFound(String),
    /// The request is valid but the container is in a state that cannot serve it.
    #[error("{0}")]
    BadRequest(String),
    /// The runtime failed.
    #[error("{0}")]
    Runtime(String),
}

/// Implemented by a kubelet to serve `pods/log`, `pods/exec` and `pods/attach` for its node.
#[async_trait::async_trait]
pub trait NodeStreams: Send + Sync + 'static {
    /// Container output as bytes (lines already timestamp-prefixed when `timestamps` is asked).
    async fn logs(
        &self,
        target: ContainerRef,
        options: LogOptions,
    ) -> Result<BoxStream<'static, std::io::Result<Bytes>>, NodeStreamError>;

    /// Runs `command` in the container.
    async fn exec(
        &self,
        target: ContainerRef,
        command: Vec<String>,
        options: StreamOptions,
    ) -> Result<ProcessIo, NodeStreamError>;

    /// Connects to the container's main process.
    async fn attach(
        &self,
        target: ContainerRef,
        options: StreamOptions,
    ) -> Result<ProcessIo, NodeStreamError>;
}
