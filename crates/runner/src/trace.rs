//! A job's trace: collected with masking and the `output_limit`, streamed to GitLab with
//! `PATCH /jobs/:id/trace`, and closed by the final `PUT /jobs/:id`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::api::{Client, PatchOutcome, UpdateOutcome};
use harness_error_chain::Chain;

const DEFAULT_UPDATE_INTERVAL: Duration = Duration::from_secs(3);
const FORCE_SEND_INTERVAL: Duration = Duration::from_secs(30);
const MAX_PATCH: usize = 1024 * 1024;

#[derive(Debug)]
struct Buffer {
    data: Vec<u8>,
    limit: usize,
    full: bool,
    masks: Vec<String>,
}

/// The trace buffer of one job; cheap to clone, shared by the executor and the sender.
#[derive(Debug, Clone)]
pub struct JobTrace {
    inner: Arc<Mutex<Buffer>>,
}

impl JobTrace {
    /// A trace holding at most `limit` bytes, replacing each of `masks` with `[MASKED]`.
    pub fn new(limit: usize, masks: Vec<String>) -> Self {
        let masks = masks.into_iter().filter(|m| m.len() >= 8).collect();
        Self {
            inner: Arc::new(Mutex::new(Buffer {
                data: Vec::new(),
                limit,
                full: false,
                masks,
            })),
        }
    }

    /// Appends output.
    pub fn write(&self, bytes: &[u8]) {
        let Ok(mut b) = self.inner.lock() else { return };
        if b.full {
            return;
        }
        let mut chunk = bytes.to_vec();
        for m in &b.masks {
            chunk = replace_all(&chunk, m.as_bytes(), b"[MASKED]");
        }
        let room = b.limit.saturating_sub(b.data.len());
        if chunk.len() > room {
            b.data.extend_from_slice(&chunk[..room]);
            let note = format!(
                "\n\x1b[31;1mJob's log exceeded limit of {} bytes.\x1b[0;m\n",
                b.limit
            );
            b.data.extend_from_slice(note.as_bytes());
            b.full = true;
        } else {
            b.data.extend_from_slice(&chunk);
        }
    }

    /// Appends a line.
    pub fn line(&self, text: &str) {
        self.write(format!("{text}\n").as_bytes());
    }

    /// Appends a line in the runner's error colour.
    pub fn error(&self, text: &str) {
        self.write(format!("\x1b[31;1mERROR: {text}\x1b[0;m\n").as_bytes());
    }

    /// Appends a line in the runner's warning colour.
    pub fn warning(&self, text: &str) {
        self.write(format!("\x1b[0;33mWARNING: {text}\x1b[0;m\n").as_bytes());
    }

    /// Everything written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.inner
            .lock()
            .map(|b| b.data.clone())
            .unwrap_or_default()
    }

    fn slice_from(&self, offset: usize) -> Vec<u8> {
        self.inner
            .lock()
            .map(|b| {
                let end = b.data.len().min(offset + MAX_PATCH);
                b.data
                    .get(offset..end)
                    .map(<[u8]>::to_vec)
                    .unwrap_or_default()
            })
            .unwrap_or_default()
    }

    fn len(&self) -> usize {
        self.inner.lock().map(|b| b.data.len()).unwrap_or(0)
    }
}

fn replace_all(hay: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    if needle.is_empty() || hay.len() < needle.len() {
        return hay.to_vec();
    }
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

/// Streams a [`JobTrace`] to GitLab while the job runs.
pub struct TraceSender {
    stop: CancellationToken,
    task: JoinHandle<usize>,
    client: Client,
    job_id: i64,
    token: String,
    trace: JobTrace,
}

impl TraceSender {
    /// Starts patching `trace` to job `job_id`; `abort` is fired when GitLab cancels the job.
    pub fn start(
        client: Client,
        job_id: i64,
        token: String,
        trace: JobTrace,
        abort: CancellationToken,
    ) -> Self {
        let stop = CancellationToken::new();
        let task = tokio::spawn(send_loop(
            client.clone(),
            job_id,
            token.clone(),
            trace.clone(),
            stop.clone(),
            abort,
        ));
        Self {
            stop,
            task,
            client,
            job_id,
            token,
            trace,
        }
    }

    /// Sends the rest of the trace and the final state; retries until GitLab accepts it.
    pub async fn finish(self, state: &str, failure_reason: Option<&str>, exit_code: Option<i32>) {
        self.stop.cancel();
        let mut offset = self.task.await.unwrap_or(0);
        let mut backoff = Duration::from_secs(1);
        for _ in 0..10 {
            offset = flush(&self.client, self.job_id, &self.token, &self.trace, offset).await;
            let full = self.trace.contents();
            match self
                .client
                .update_job(
                    self.job_id,
                    &self.token,
                    state,
                    failure_reason,
                    exit_code,
                    Some(&full),
                )
                .await
            {
                Ok(UpdateOutcome::Accepted) | Ok(UpdateOutcome::Abort) => return,
                Ok(UpdateOutcome::Retry) => {}
                Err(e) => {
                    tracing::warn!(job = self.job_id, error = %Chain(&e), "final job update failed")
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(60));
        }
        tracing::error!(
            job = self.job_id,
            "giving up on the final job update after 10 attempts"
        );
    }
}

async fn flush(
    client: &Client,
    id: i64,
    token: &str,
    trace: &JobTrace,
    mut offset: usize,
) -> usize {
    for _ in 0..100 {
        if offset >= trace.len() {
            break;
        }
        let chunk = trace.slice_from(offset);
        match client.patch_trace(id, token, offset, &chunk).await {
            Ok(PatchOutcome::Accepted { offset: o, .. }) => offset = o,
            Ok(PatchOutcome::RangeMismatch { offset: o }) => offset = o,
            Ok(PatchOutcome::Abort) | Ok(PatchOutcome::Retry) | Err(_) => break,
        }
    }
    offset
}

async fn send_loop(
    client: Client,
    id: i64,
    token: String,
    trace: JobTrace,
    stop: CancellationToken,
    abort: CancellationToken,
) -> usize {
    let mut offset = 0;
    let mut interval = DEFAULT_UPDATE_INTERVAL;
    let mut last_sent = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return offset,
            _ = tokio::time::sleep(interval) => {}
        }
        if offset < trace.len() {
            let chunk = trace.slice_from(offset);
            match client.patch_trace(id, &token, offset, &chunk).await {
                Ok(PatchOutcome::Accepted {
                    offset: o,
                    interval: i,
                }) => {
                    offset = o;
                    last_sent = tokio::time::Instant::now();
                    if let Some(i) = i {
                        interval = i;
                    }
                }
                Ok(PatchOutcome::RangeMismatch { offset: o }) => {
                    tracing::debug!(
                        job = id,
                        from = offset,
                        to = o,
                        "trace range mismatch, resuming"
                    );
                    offset = o;
                }
                Ok(PatchOutcome::Abort) => {
                    tracing::info!(job = id, "job canceled by GitLab");
                    abort.cancel();
                }
                Ok(PatchOutcome::Retry) => {}
                Err(e) => tracing::warn!(job = id, error = %Chain(&e), "trace patch failed"),
            }
        } else if last_sent.elapsed() >= FORCE_SEND_INTERVAL {
            let full = trace.contents();
            match client
                .update_job(id, &token, "running", None, None, Some(&full))
                .await
            {
                Ok(UpdateOutcome::Abort) => abort.cancel(),
                Ok(_) => last_sent = tokio::time::Instant::now(),
                Err(e) => tracing::warn!(job = id, error = %Chain(&e), "keep-alive update failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_values_and_stops_at_the_limit() {
        let t = JobTrace::new(64, vec!["s3cr3t-password".into(), "short".into()]);
        t.write(b"login -p s3cr3t-password short\n");
        assert_eq!(t.contents(), b"login -p [MASKED] short\n");
        t.write(&[b'x'; 100]);
        let text = String::from_utf8(t.contents()).unwrap();
        assert!(
            text.contains("Job's log exceeded limit of 64 bytes."),
            "{text}"
        );
        let len = t.contents().len();
        t.write(b"more");
        assert_eq!(t.contents().len(), len);
    }
}
