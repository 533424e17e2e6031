//! Records every pod the cluster runs, from watch events, so that assertions can look at a job's
//! pod after the runner has deleted it, and so that concurrency limits can be checked.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use tokio::task::JoinHandle;

/// Annotation (or label) the kubernetes executor puts the GitLab job id in.
pub const JOB_ID_KEY: &str = "job.runner.gitlab.com/id";

/// A pod as last seen.
#[derive(Debug, Clone)]
pub struct RecordedPod {
    /// The pod, as in its last watch event.
    pub pod: Pod,
    /// Whether it was deleted.
    pub deleted: bool,
}

impl RecordedPod {
    /// The GitLab job id of a job pod.
    pub fn job_id(&self) -> Option<u64> {
        let meta = &self.pod.metadata;
        meta.annotations
            .as_ref()
            .and_then(|a| a.get(JOB_ID_KEY))
            .or_else(|| meta.labels.as_ref().and_then(|l| l.get(JOB_ID_KEY)))
            .and_then(|v| v.parse().ok())
    }
}

#[derive(Default)]
struct State {
    pods: BTreeMap<String, RecordedPod>,
    live_job_pods: HashSet<String>,
    max_concurrent_job_pods: usize,
}

/// The recorder; stops watching when dropped.
pub struct PodRecorder {
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl PodRecorder {
    /// Starts watching pods in every namespace.
    pub fn start(client: kube::Client) -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            let api: Api<Pod> = Api::all(client);
            let mut events = watcher::watcher(api, watcher::Config::default())
                .default_backoff()
                .boxed();
            while let Some(event) = events.next().await {
                match event {
                    Ok(Event::Apply(pod)) | Ok(Event::InitApply(pod)) => {
                        record(&shared, pod, false)
                    }
                    Ok(Event::Delete(pod)) => record(&shared, pod, true),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::debug!(error = %e, "pod watch interrupted; the watcher retries")
                    }
                }
            }
        });
        Self { state, task }
    }

    /// Every pod seen, by uid.
    pub fn pods(&self) -> Vec<RecordedPod> {
        self.state
            .lock()
            .map(|s| s.pods.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The pod that ran GitLab job `job_id`.
    pub fn job_pod(&self, job_id: u64) -> Option<RecordedPod> {
        self.pods().into_iter().find(|p| p.job_id() == Some(job_id))
    }

    /// The most job pods that existed at the same time.
    pub fn max_concurrent_job_pods(&self) -> usize {
        self.state
            .lock()
            .map(|s| s.max_concurrent_job_pods)
            .unwrap_or_default()
    }
}

impl Drop for PodRecorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn record(state: &Mutex<State>, pod: Pod, deleted: bool) {
    let Some(uid) = pod.metadata.uid.clone() else {
        return;
    };
    let Ok(mut state) = state.lock() else {
        return;
    };
    let recorded = RecordedPod { pod, deleted };
    let finished = deleted
        || recorded
            .pod
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .is_some_and(|p| p == "Succeeded" || p == "Failed");
    if recorded.job_id().is_some() {
        if finished {
            state.live_job_pods.remove(&uid);
        } else {
            state.live_job_pods.insert(uid.clone());
            state.max_concurrent_job_pods =
                state.max_concurrent_job_pods.max(state.live_job_pods.len());
        }
    }
    match state.pods.get_mut(&uid) {
        // Keep the richest spec: a deletion event still carries the whole object.
        Some(existing) => *existing = recorded,
        None => {
            state.pods.insert(uid, recorded);
        }
    }
}
