//! The `run` loop: polls GitLab for every `[[runners]]` entry within `concurrent`, `limit` and
//! `request_concurrency`, re-reads `config.toml` when it changes, and stops on request.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::api::Client;
use crate::commands::CommandError;
use crate::config::{self, Config, RunnerConfig};
use crate::job::{Slots, process_job};
use harness_error_chain::Chain;

/// How the runner is told to stop.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    /// Stop asking for jobs and wait for running ones (SIGQUIT).
    pub graceful: CancellationToken,
    /// Stop asking for jobs and fail running ones (SIGTERM, SIGINT).
    pub abort: CancellationToken,
}

#[derive(Default)]
struct RunnerState {
    last_update: std::sync::Mutex<Option<String>>,
    requests: AtomicUsize,
    jobs: AtomicUsize,
    slots: Slots,
}

/// Counts one unit in an `AtomicUsize` for as long as it lives.
struct Counted(Arc<RunnerState>, fn(&RunnerState) -> &AtomicUsize);

impl Drop for Counted {
    fn drop(&mut self) {
        (self.1)(&self.0).fetch_sub(1, Ordering::SeqCst);
    }
}

struct GlobalSlot(Arc<AtomicUsize>);

impl Drop for GlobalSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn try_take(counter: &AtomicUsize, max: usize) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
            (n < max).then_some(n + 1)
        })
        .is_ok()
}

/// The multi-runner behind `gitlab-runner run`.
pub struct Supervisor {
    config_path: PathBuf,
    shutdown: Shutdown,
}

impl Supervisor {
    /// A supervisor for the runners in `config_path`.
    pub fn new(config_path: PathBuf, shutdown: Shutdown) -> Self {
        Self {
            config_path,
            shutdown,
        }
    }

    /// Runs until shut down; returns after every job has reported.
    pub async fn run(self) -> Result<(), CommandError> {
        let mut loaded_text = std::fs::read_to_string(&self.config_path).map_err(|source| {
            config::ConfigError::Io {
                path: self.config_path.clone(),
                source,
            }
        })?;
        let mut config = config::parse(&self.config_path, &loaded_text)?;
        tracing::info!(
            config = %self.config_path.display(),
            builds = 0,
            "Starting multi-runner"
        );
        if let Some(addr) = &config.listen_address {
            tracing::info!(address = %addr, "metrics server is not provided by this runner; listen_address is ignored");
        }
        let running = Arc::new(AtomicUsize::new(0));
        let states: std::sync::Mutex<HashMap<String, Arc<RunnerState>>> = Default::default();
        let wake = Arc::new(Notify::new());
        let mut tasks = JoinSet::new();
        let mut next = 0usize;
        let mut next_request = tokio::time::Instant::now();
        let stop = {
            let s = self.shutdown.clone();
            async move {
                tokio::select! {
                    _ = s.graceful.cancelled() => {}
                    _ = s.abort.cancelled() => {}
                }
            }
        };
        tokio::pin!(stop);
        loop {
            // Compared by content: two writes within one timestamp tick still count.
            if let Some(text) = std::fs::read_to_string(&self.config_path)
                .ok()
                .filter(|t| *t != loaded_text)
            {
                let parsed = config::parse(&self.config_path, &text);
                loaded_text = text;
                match parsed {
                    Ok(c) => {
                        config = c;
                        tracing::info!(
                            builds = running.load(Ordering::SeqCst),
                            "Configuration loaded"
                        );
                    }
                    Err(e) => {
                        tracing::error!(error = %Chain(&e), "reloading config failed; keeping the previous one")
                    }
                }
            }
            let pause = poll_pause(&config);
            let now = tokio::time::Instant::now();
            if now >= next_request {
                next_request = now + pause;
                if !config.runners.is_empty() {
                    let runner = config.runners[next % config.runners.len()].clone();
                    next = next.wrapping_add(1);
                    let state = states
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .entry(runner.token.clone())
                        .or_default()
                        .clone();
                    if let Some(task) = self.try_request(&config, runner, state, &running, &wake) {
                        tasks.spawn(task);
                    }
                }
            }
            while tasks.try_join_next().is_some() {}
            let wait_until = next_request.min(now + CONFIG_CHECK_INTERVAL);
            tokio::select! {
                _ = &mut stop => break,
                _ = tokio::time::sleep_until(wait_until) => {}
                _ = wake.notified() => next_request = tokio::time::Instant::now(),
            }
        }
        tracing::info!(
            builds = running.load(Ordering::SeqCst),
            graceful = self.shutdown.graceful.is_cancelled(),
            "Stopping: no new jobs are requested; waiting for running jobs to report"
        );
        while tasks.join_next().await.is_some() {}
        tracing::info!("All jobs finished; runner stopped");
        Ok(())
    }

    fn try_request(
        &self,
        config: &Config,
        runner: RunnerConfig,
        state: Arc<RunnerState>,
        running: &Arc<AtomicUsize>,
        wake: &Arc<Notify>,
    ) -> Option<impl std::future::Future<Output = ()> + Send + 'static> {
        if !try_take(running, config.concurrent_jobs()) {
            return None;
        }
        let global = GlobalSlot(running.clone());
        let limit = if runner.limit > 0 {
            runner.limit as usize
        } else {
            usize::MAX
        };
        if !try_take(&state.jobs, limit) {
            return None;
        }
        let job_slot = Counted(state.clone(), |s| &s.jobs);
        if !try_take(&state.requests, runner.request_concurrency()) {
            return None;
        }
        let request_slot = Counted(state.clone(), |s| &s.requests);
        let shutdown = self.shutdown.abort.clone();
        let graceful = self.shutdown.graceful.clone();
        let wake = wake.clone();
        Some(async move {
            let client = match Client::new(&runner.url) {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(runner = %runner.short_token(), error = %Chain(&e), "bad runner URL");
                    return;
                }
            };
            let last = state.last_update.lock().map(|l| l.clone()).unwrap_or(None);
            let knew_queue_version = last.is_some();
            // A stop ends a held long poll at once: no job was handed out yet, and waiting for
            // GitLab to let go (up to 50 s) would outlast a pod's stop timeout.
            let poll = tokio::select! {
                poll = client.request_job(&runner.token, &runner.executor, last) => poll,
                _ = graceful.cancelled() => return,
                _ = shutdown.cancelled() => return,
            };
            drop(request_slot);
            let poll = match poll {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(runner = %runner.short_token(), error = %Chain(&e), "Checking for jobs... failed");
                    return;
                }
            };
            let learned_queue_version = !knew_queue_version && poll.last_update.is_some();
            if let Some(lu) = poll.last_update
                && let Ok(mut l) = state.last_update.lock()
            {
                *l = Some(lu);
            }
            let Some(job) = poll.job else {
                // The first answer only tells the queue's version; sent with it, the next request
                // is a long poll that GitLab holds until a job is there, so ask again at once
                // instead of sleeping `check_interval` (30 s in the tutorial) first.
                if learned_queue_version {
                    wake.notify_one();
                }
                return;
            };
            // A job was received: ask again right away, as the real runner does.
            wake.notify_one();
            process_job(client, runner, *job, state.slots.clone(), shutdown).await;
            drop(job_slot);
            drop(global);
        })
    }
}

/// How often `config.toml` is checked for changes.
const CONFIG_CHECK_INTERVAL: Duration = Duration::from_secs(3);

fn poll_pause(config: &Config) -> Duration {
    let n = config.runners.len().max(1) as u64;
    Duration::from_millis(config.check_interval_secs() * 1000 / n)
}
