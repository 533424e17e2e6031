//! One task per pod: volumes, images, init containers in order, containers, restarts, probes,
//! deadline, status, and graceful termination.

mod setup;
mod start;
mod stop;
mod sync;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bollard::Docker;
use harness_images::ImageProvisioner;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::{Patch, PatchParams};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use crate::KubeletConfig;
use crate::events::{EventRecorder, EventType};
use crate::probes::ProbeTracker;
use crate::status::{self, ContainerRecord, StatusInput};
use crate::volumes::PodVolumes;

/// What every pod worker of a node shares.
pub(crate) struct NodeContext {
    pub config: KubeletConfig,
    pub client: kube::Client,
    pub docker: Docker,
    pub provisioner: ImageProvisioner,
    pub recorder: EventRecorder,
    pub cancel: CancellationToken,
    pub api_host: String,
    pub api_port: u16,
    /// Host ports held by pods (all pods of all nodes share the host network).
    pub ports: &'static crate::ports::HostPorts,
}

/// The latest word from the API server about a pod.
#[derive(Debug, Clone)]
pub(crate) enum PodUpdate {
    /// The pod as it is now.
    Present(Box<Pod>),
    /// The pod object is gone.
    Gone,
}

/// Why a worker stops driving its pod.
#[derive(Debug)]
pub(crate) enum Stop {
    /// `deletionTimestamp` is set: stop the containers gracefully, then delete the object.
    Deleting,
    /// The object is gone: stop and remove what is left.
    Gone,
    /// The kubelet is shutting down; its shutdown removes the containers.
    Cancelled,
}

/// Per-container restart/pull back-off.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backoff {
    pub until: Instant,
    pub next: Duration,
}

/// The state of one pod worker.
pub(crate) struct PodWorker {
    ctx: Arc<NodeContext>,
    pod: Pod,
    updates: watch::Receiver<PodUpdate>,
    wake: Arc<Notify>,
    pod_dir: PathBuf,
    volumes: Option<PodVolumes>,
    init: Vec<ContainerRecord>,
    main: Vec<ContainerRecord>,
    init_done: bool,
    init_failed: bool,
    terminal: Option<(String, String, String)>,
    start_time: Time,
    deadline: Option<Instant>,
    readiness: Vec<Option<ProbeTracker>>,
    liveness: Vec<Option<ProbeTracker>>,
    backoff: std::collections::HashMap<String, Backoff>,
    previous_ids: std::collections::HashMap<String, String>,
    last_published: Option<serde_json::Value>,
}

/// Drives `pod` until it is deleted or the kubelet stops.
pub(crate) async fn run_pod(ctx: Arc<NodeContext>, pod: Pod, updates: watch::Receiver<PodUpdate>) {
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let spec = pod.spec.clone().unwrap_or_default();
    let records = |list: &[k8s_openapi::api::core::v1::Container]| {
        list.iter()
            .map(|c| ContainerRecord::new(&c.name, c.image.as_deref().unwrap_or_default()))
            .collect::<Vec<_>>()
    };
    let init = records(spec.init_containers.as_deref().unwrap_or(&[]));
    let main = records(&spec.containers);
    let deadline = spec
        .active_deadline_seconds
        .map(|s| Instant::now() + Duration::from_secs(s.max(0) as u64));
    let mut worker = PodWorker {
        pod_dir: ctx.config.state_dir.join("pods").join(&uid),
        readiness: vec![None; main.len()],
        liveness: vec![None; main.len()],
        ctx,
        pod,
        updates,
        wake: Arc::new(Notify::new()),
        volumes: None,
        init,
        main,
        init_done: false,
        init_failed: false,
        terminal: None,
        start_time: Time(Timestamp::now()),
        deadline,
        backoff: Default::default(),
        previous_ids: Default::default(),
        last_published: None,
    };
    let already_done = matches!(
        worker.pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    );
    let stop = if worker.pod.metadata.deletion_timestamp.is_some() {
        Stop::Deleting
    } else if already_done {
        worker.idle().await
    } else {
        match worker.drive().await {
            Ok(()) => {
                worker.ctx.ports.release(&uid).await;
                worker.idle().await
            }
            Err(stop) => stop,
        }
    };
    tracing::debug!(pod = %name, ?stop, "pod worker stopping");
    match stop {
        Stop::Cancelled => {}
        Stop::Deleting => worker.terminate(true).await,
        Stop::Gone => worker.terminate(false).await,
    }
    worker.ctx.ports.release(&uid).await;
}

impl PodWorker {
    fn namespace(&self) -> &str {
        self.pod.metadata.namespace.as_deref().unwrap_or("default")
    }

    fn name(&self) -> &str {
        self.pod.metadata.name.as_deref().unwrap_or_default()
    }

    fn uid(&self) -> &str {
        self.pod.metadata.uid.as_deref().unwrap_or_default()
    }

    fn restart_policy(&self) -> String {
        self.pod
            .spec
            .as_ref()
            .and_then(|s| s.restart_policy.clone())
            .unwrap_or_else(|| "Always".into())
    }

    fn grace_seconds(&self) -> i64 {
        self.pod
            .metadata
            .deletion_grace_period_seconds
            .or(self
                .pod
                .spec
                .as_ref()
                .and_then(|s| s.termination_grace_period_seconds))
            .unwrap_or(30)
    }

    async fn event(&self, container: Option<&str>, kind: EventType, reason: &str, message: &str) {
        self.ctx
            .recorder
            .pod_event(&self.pod, container, kind, reason, message)
            .await;
    }

    /// Waits up to `timeout` for anything to happen; `Err` when the pod must stop.
    pub(crate) async fn wait(&mut self, timeout: Duration) -> Result<(), Stop> {
        let timeout = match self.deadline {
            Some(d) if self.terminal.is_none() => {
                timeout.min(d.saturating_duration_since(Instant::now()))
            }
            _ => timeout,
        };
        tokio::select! {
            _ = self.ctx.cancel.cancelled() => Err(Stop::Cancelled),
            changed = self.updates.changed() => match changed {
                Ok(()) => self.absorb_update(),
                Err(_) => Err(Stop::Cancelled),
            },
            _ = self.wake.notified() => Ok(()),
            _ = tokio::time::sleep(timeout) => Ok(()),
        }
    }

    /// Takes in a pending update without waiting.
    pub(crate) fn check_updates(&mut self) -> Result<(), Stop> {
        if self.ctx.cancel.is_cancelled() {
            return Err(Stop::Cancelled);
        }
        if self.updates.has_changed().unwrap_or(false) {
            return self.absorb_update();
        }
        Ok(())
    }

    fn absorb_update(&mut self) -> Result<(), Stop> {
        let update = self.updates.borrow_and_update().clone();
        match update {
            PodUpdate::Gone => Err(Stop::Gone),
            PodUpdate::Present(pod) => {
                let deleting = pod.metadata.deletion_timestamp.is_some();
                self.pod = *pod;
                if deleting {
                    Err(Stop::Deleting)
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Once the pod is finished: wait until it is deleted (containers stay for `kubectl logs`).
    async fn idle(&mut self) -> Stop {
        loop {
            if let Err(stop) = self.wait(Duration::from_secs(3600)).await {
                return stop;
            }
        }
    }

    /// Runs the pod to a terminal phase (or forever, for restartPolicy Always).
    async fn drive(&mut self) -> Result<(), Stop> {
        self.publish().await;
        self.prepare_volumes().await?;
        self.claim_ports().await?;
        self.run_init_containers().await?;
        if self.terminal.is_some() {
            self.publish().await;
            return Ok(());
        }
        self.init_done = true;
        for index in 0..self.main.len() {
            self.check_updates()?;
            self.start_main(index).await?;
        }
        self.publish().await;
        loop {
            self.wait(self.ctx.config.sync_interval).await?;
            self.sync_main().await?;
            if self.deadline_passed() {
                self.exceed_deadline().await;
            }
            self.publish().await;
            if self.terminal.is_some() || matches!(self.phase().as_str(), "Succeeded" | "Failed") {
                return Ok(());
            }
        }
    }

    pub(crate) fn deadline_passed(&self) -> bool {
        self.terminal.is_none() && self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    fn phase(&self) -> String {
        if let Some((phase, _, _)) = &self.terminal {
            return phase.clone();
        }
        status::phase(
            &self.restart_policy(),
            self.init_done,
            self.init_failed,
            &self.main,
        )
        .into()
    }

    /// Writes the pod's status when it changed.
    pub(crate) async fn publish(&mut self) {
        let phase = self.phase();
        let (reason, message) = match &self.terminal {
            Some((_, r, m)) if !r.is_empty() => (Some(r.clone()), Some(m.clone())),
            _ => (None, None),
        };
        let status = status::pod_status(StatusInput {
            pod: &self.pod,
            phase: &phase,
            reason,
            message,
            init: &self.init,
            main: &self.main,
            init_done: self.init_done,
            start_time: self.start_time.clone(),
        });
        let Ok(value) = serde_json::to_value(&status) else {
            return;
        };
        let comparable = without_times(&value);
        if self.last_published.as_ref() == Some(&comparable) {
            return;
        }
        let api: Api<Pod> = Api::namespaced(self.ctx.client.clone(), self.namespace());
        let patch = serde_json::json!({ "status": value });
        match api
            .patch_status(self.name(), &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(pod) => {
                self.pod.status = pod.status;
                self.last_published = Some(comparable);
            }
            Err(e) => tracing::debug!(pod = %self.name(), error = %e, "status update failed"),
        }
    }
}

/// The status without the fields that change on every computation (transition times).
fn without_times(value: &serde_json::Value) -> serde_json::Value {
    let mut v = value.clone();
    if let Some(conditions) = v.get_mut("conditions").and_then(|c| c.as_array_mut()) {
        for c in conditions {
            if let Some(o) = c.as_object_mut() {
                o.remove("lastTransitionTime");
            }
        }
    }
    v
}
