//! Terminal resizes of `exec -t` and `attach -t` sessions, forwarded to the engine.

use bollard::Docker;
use bollard::query_parameters::{ResizeContainerTTYOptionsBuilder, ResizeExecOptionsBuilder};
use harness_apiserver::node_streams::TerminalSize;

/// The terminal a resize applies to: an exec session's or the container's own.
pub(super) enum Terminal {
    /// An exec session, by exec id.
    Exec(String),
    /// The container's TTY (attach), by container id.
    Container(String),
}

/// Spawns the task that applies the sizes sent on the returned channel to `terminal` (zero
/// sizes skipped) until the sender is dropped.
pub(super) fn forward_resizes(
    docker: Docker,
    terminal: Terminal,
) -> tokio::sync::mpsc::Sender<TerminalSize> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<TerminalSize>(8);
    tokio::spawn(async move {
        while let Some(size) = rx.recv().await {
            if size.width == 0 || size.height == 0 {
                continue;
            }
            let (w, h) = (i32::from(size.width), i32::from(size.height));
            let resized = match &terminal {
                Terminal::Exec(exec_id) => {
                    let options = ResizeExecOptionsBuilder::new().w(w).h(h).build();
                    docker.resize_exec(exec_id, options).await
                }
                Terminal::Container(id) => {
                    let options = ResizeContainerTTYOptionsBuilder::new().w(w).h(h).build();
                    docker.resize_container_tty(id, options).await
                }
            };
            if let Err(e) = resized {
                let session = match terminal {
                    Terminal::Exec(_) => "exec",
                    Terminal::Container(_) => "attach",
                };
                tracing::debug!(error = %e, "{session} resize failed");
            }
        }
    });
    tx
}
