//! Starting and stopping a kubelet: node registration, heartbeat, the pod watch and its workers.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use bollard::Docker;
use futures::StreamExt;
use harness_apiserver::NodeStreams;
use harness_images::ImageProvisioner;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::error::Result;
use crate::events::EventRecorder;
use crate::node::{self, NodeFacts};
use crate::streams::DockerNodeStreams;
use crate::worker::{self, NodeContext, PodUpdate};
use crate::{KubeletConfig, KubeletError, runtime};
use harness_error_chain::Chain;

/// The embedded kubelet. See [`Kubelet::start`].
pub struct Kubelet;

impl Kubelet {
    /// Registers the node, hands the node's stream server to `register` (call
    /// `ApiServerHandle::register_node_streams(node, streams)` there), and starts running the
    /// pods bound to the node. Stop it with [`KubeletHandle::shutdown`]; dropping the handle
    /// also removes the environment's containers.
    pub async fn start(
        config: KubeletConfig,
        client: kube::Client,
        provisioner: ImageProvisioner,
        register: impl FnOnce(Arc<dyn NodeStreams>),
    ) -> Result<KubeletHandle> {
        config.validate()?;
        let (api_host, api_port) = config.api_host_port()?;
        std::fs::create_dir_all(config.state_dir.join("pods")).map_err(|e| {
            KubeletError::io(
                format!("creating {}", config.state_dir.join("pods").display()),
                e,
            )
        })?;
        let docker = provisioner.docker().clone();
        let facts = NodeFacts::gather(&docker, &client).await?;
        node::register(&client, &config, &facts).await?;
        register(Arc::new(DockerNodeStreams::new(
            docker.clone(),
            config.environment_id.clone(),
        )));
        let cancel = CancellationToken::new();
        let ctx = Arc::new(NodeContext {
            recorder: EventRecorder::new(client.clone(), config.node_name.clone()),
            config: config.clone(),
            client: client.clone(),
            docker: docker.clone(),
            provisioner,
            cancel: cancel.clone(),
            api_host,
            api_port,
            ports: crate::ports::host_ports(),
        });
        let heartbeat = tokio::spawn(heartbeat(ctx.clone(), facts.clone()));
        let pods = tokio::spawn(watch_pods(ctx.clone()));
        tracing::info!(node = %config.node_name, env = %config.environment_id, "kubelet started");
        Ok(KubeletHandle {
            config,
            client,
            docker,
            facts,
            cancel,
            tasks: vec![heartbeat, pods],
            stopped: false,
        })
    }
}

/// A running kubelet. Dropping it stops the node and removes the containers it created.
pub struct KubeletHandle {
    config: KubeletConfig,
    client: kube::Client,
    docker: Docker,
    facts: NodeFacts,
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    stopped: bool,
}

impl KubeletHandle {
    /// Name of the node this kubelet serves.
    pub fn node_name(&self) -> &str {
        &self.config.node_name
    }

    /// The engine the pods run in (for tests and inspection).
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// Stops watching, stops every pod worker, removes every container this node created (the
    /// environment's containers on this node) and marks the node NotReady. Returns how many containers were removed.
    pub async fn shutdown(mut self) -> Result<usize> {
        self.stopped = true;
        self.cancel.cancel();
        for task in std::mem::take(&mut self.tasks) {
            let _ = tokio::time::timeout(Duration::from_secs(15), task).await;
        }
        let removed = runtime::remove_node_containers(
            &self.docker,
            &self.config.environment_id,
            &self.config.node_name,
        )
        .await?;
        let not_ready = node::write_status(&self.client, &self.config, &self.facts, false);
        if let Ok(Err(e)) = tokio::time::timeout(Duration::from_secs(5), not_ready).await {
            tracing::debug!(error = %Chain(&e), "could not mark the node NotReady");
        }
        tracing::info!(node = %self.config.node_name, removed, "kubelet stopped");
        Ok(removed)
    }
}

impl Drop for KubeletHandle {
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        self.cancel.cancel();
        for task in &self.tasks {
            task.abort();
        }
        let env = self.config.environment_id.clone();
        let node = self.config.node_name.clone();
        // Drop cannot await: clean up on a thread with its own runtime and its own engine
        // connection (pooled connections of the caller's runtime may not make progress while
        // this thread blocks it), and wait for it.
        let cleanup = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                let docker = match Docker::connect_with_local_defaults() {
                    Ok(docker) => docker,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot reach the engine to remove containers on drop");
                        return;
                    }
                };
                if let Err(e) = runtime::remove_node_containers(&docker, &env, &node).await {
                    tracing::warn!(error = %Chain(&e), "removing the node's containers on drop failed");
                }
            });
        });
        let _ = cleanup.join();
    }
}

async fn heartbeat(ctx: Arc<NodeContext>, facts: NodeFacts) {
    let mut ticker = tokio::time::interval(ctx.config.heartbeat_interval);
    let mut lease_ok = true;
    loop {
        tokio::select! {
            _ = ctx.cancel.cancelled() => return,
            _ = ticker.tick() => {}
        }
        if let Err(e) = node::write_status(&ctx.client, &ctx.config, &facts, true).await {
            tracing::warn!(error = %Chain(&e), "node heartbeat failed");
        }
        match node::renew_lease(&ctx.client, &ctx.config).await {
            Ok(()) => lease_ok = true,
            Err(e) if lease_ok => {
                tracing::debug!(error = %Chain(&e), "node lease not renewed");
                lease_ok = false;
            }
            Err(_) => {}
        }
    }
}

struct WorkerSlot {
    updates: watch::Sender<PodUpdate>,
    task: JoinHandle<()>,
}

/// Watches the pods bound to this node and keeps one worker per pod uid.
async fn watch_pods(ctx: Arc<NodeContext>) {
    let node = ctx.config.node_name.clone();
    let api: Api<Pod> = Api::all(ctx.client.clone());
    let config = watcher::Config::default().fields(&format!("spec.nodeName={node}"));
    let mut stream = watcher::watcher(api, config).default_backoff().boxed();
    let mut workers: HashMap<String, WorkerSlot> = HashMap::new();
    let mut listed: Option<HashSet<String>> = None;
    // Workers of deleted pods still stopping their containers; awaited at shutdown.
    let mut draining: Vec<JoinHandle<()>> = Vec::new();
    loop {
        let event = tokio::select! {
            _ = ctx.cancel.cancelled() => break,
            event = stream.next() => event,
        };
        draining.retain(|task| !task.is_finished());
        tracing::trace!(?event, "pod watch event");
        match event {
            None => break,
            Some(Err(e)) => tracing::debug!(error = %e, "pod watch error (retrying)"),
            Some(Ok(Event::Init)) => listed = Some(HashSet::new()),
            Some(Ok(Event::InitApply(pod))) => {
                if let (Some(set), Some(uid)) = (listed.as_mut(), pod.metadata.uid.clone()) {
                    set.insert(uid);
                }
                present(&ctx, &mut workers, &mut draining, pod);
            }
            Some(Ok(Event::InitDone)) => {
                if let Some(set) = listed.take() {
                    let gone: Vec<String> = workers
                        .keys()
                        .filter(|uid| !set.contains(*uid))
                        .cloned()
                        .collect();
                    for uid in gone {
                        if let Some(slot) = workers.remove(&uid) {
                            let _ = slot.updates.send(PodUpdate::Gone);
                            draining.push(slot.task);
                        }
                    }
                }
            }
            Some(Ok(Event::Apply(pod))) => present(&ctx, &mut workers, &mut draining, pod),
            Some(Ok(Event::Delete(pod))) => {
                if let Some(slot) = pod
                    .metadata
                    .uid
                    .as_ref()
                    .and_then(|uid| workers.remove(uid))
                {
                    let _ = slot.updates.send(PodUpdate::Gone);
                    draining.push(slot.task);
                }
            }
        }
    }
    let tasks = workers.into_values().map(|slot| slot.task).chain(draining);
    let all = futures::future::join_all(tasks);
    let _ = tokio::time::timeout(Duration::from_secs(30), all).await;
}

fn present(
    ctx: &Arc<NodeContext>,
    workers: &mut HashMap<String, WorkerSlot>,
    draining: &mut Vec<JoinHandle<()>>,
    pod: Pod,
) {
    let Some(uid) = pod.metadata.uid.clone() else {
        return;
    };
    let on_this_node = pod.spec.as_ref().and_then(|s| s.node_name.as_deref())
        == Some(ctx.config.node_name.as_str());
    if !on_this_node {
        if let Some(slot) = workers.remove(&uid) {
            let _ = slot.updates.send(PodUpdate::Gone);
            draining.push(slot.task);
        }
        return;
    }
    if let Some(slot) = workers.get(&uid) {
        let _ = slot.updates.send(PodUpdate::Present(Box::new(pod)));
        return;
    }
    let (tx, rx) = watch::channel(PodUpdate::Present(Box::new(pod.clone())));
    let task = tokio::spawn(worker::run_pod(ctx.clone(), pod, rx));
    workers.insert(uid, WorkerSlot { updates: tx, task });
}
