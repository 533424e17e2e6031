//! One job from acceptance to the final update: acknowledge, run in a pod, stream the trace,
//! report success or the failure reason.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use crate::api::{Client, JobResponse, UpdateOutcome};
use crate::config::RunnerConfig;
use crate::executor::{JobContext, JobFailure, KubernetesExecutor};
use crate::trace::{JobTrace, TraceSender};
use harness_error_chain::Chain;

/// Hands out the smallest free `CI_CONCURRENT_ID` / `CI_CONCURRENT_PROJECT_ID` of a runner.
#[derive(Debug, Default, Clone)]
pub struct Slots {
    used: Arc<Mutex<BTreeMap<Option<i64>, BTreeSet<usize>>>>,
}

/// A taken slot; released on drop.
#[derive(Debug)]
pub struct SlotGuard {
    slots: Slots,
    key: Option<i64>,
    value: usize,
}

impl Slots {
    /// Takes the smallest free slot for `project` (`None`: runner-wide).
    pub fn take(&self, project: Option<i64>) -> SlotGuard {
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        let set = used.entry(project).or_default();
        let value = (0..).find(|i| !set.contains(i)).unwrap_or(0);
        set.insert(value);
        SlotGuard {
            slots: self.clone(),
            key: project,
            value,
        }
    }
}

impl SlotGuard {
    /// The slot number.
    pub fn value(&self) -> usize {
        self.value
    }
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        let mut used = self.slots.used.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(set) = used.get_mut(&self.key) {
            set.remove(&self.value);
        }
    }
}

/// Runs `job` to completion and reports it. `shutdown` is the runner's abort signal.
pub async fn process_job(
    client: Client,
    runner: RunnerConfig,
    job: JobResponse,
    slots: Slots,
    shutdown: CancellationToken,
) {
    let id = job.id;
    let token = job.token.clone();
    match client
        .update_job(id, &token, "running", None, None, None)
        .await
    {
        Ok(UpdateOutcome::Abort) => {
            tracing::warn!(job = id, "GitLab aborted the job before it started");
            return;
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(job = id, error = %Chain(&e), "acknowledging the job failed"),
    }
    let runner_slot = slots.take(None);
    let project_slot = slots.take(Some(job.job_info.project_id));
    let features = job.features.failure_reasons.clone();
    let ctx = JobContext::new(
        job,
        runner.clone(),
        runner_slot.value(),
        project_slot.value(),
    );
    let trace = JobTrace::new(runner.output_limit_bytes(), ctx.masked_values());
    let cancel = shutdown.child_token();
    let sender = TraceSender::start(client, id, token, trace.clone(), cancel.clone());
    tracing::info!(job = id, project = ctx.job.job_info.project_id, runner = %runner.short_token(), "Checking for jobs... received");

    let result = match KubernetesExecutor::new(&runner).await {
        Ok(executor) => executor.run(&ctx, &trace, &cancel).await,
        Err(e) => Err(JobFailure::System(Chain(&e).to_string())),
    };
    match result {
        Ok(()) => {
            trace.line("\x1b[32;1mJob succeeded\x1b[0;m");
            tracing::info!(job = id, "Job succeeded");
            sender.finish("success", None, None).await;
        }
        Err(JobFailure::Canceled) if shutdown.is_cancelled() => {
            let failure = JobFailure::System("aborted: terminated".into());
            trace.error(&failure.message());
            sender
                .finish("failed", failure.reason(&features), None)
                .await;
        }
        Err(failure) => {
            trace.error(&failure.message());
            tracing::warn!(job = id, reason = ?failure.reason(&features), "{}", failure.message());
            sender
                .finish("failed", failure.reason(&features), failure.exit_code())
                .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_smallest_free_and_released() {
        let s = Slots::default();
        let a = s.take(Some(7));
        let b = s.take(Some(7));
        let c = s.take(Some(8));
        assert_eq!((a.value(), b.value(), c.value()), (0, 1, 0));
        drop(a);
        assert_eq!(s.take(Some(7)).value(), 0);
    }
}
