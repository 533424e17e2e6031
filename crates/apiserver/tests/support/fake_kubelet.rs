//! TEST DOUBLE of a kubelet: registers a Ready node, marks its pods Running/Ready without running
//! anything, and finishes graceful deletions (delete with gracePeriodSeconds=0) — the same API
//! calls the real kubelet makes, so the server's side of those semantics is exercised.

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;
use tokio::task::JoinHandle;

pub struct FakeKubelet {
    task: JoinHandle<()>,
}

impl Drop for FakeKubelet {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeKubelet {
    pub async fn start(client: kube::Client, node: &str) -> Self {
        let nodes: Api<Node> = Api::all(client.clone());
        let n: Node = serde_json::from_value(json!({
            "metadata": {"name": node, "labels": {"kubernetes.io/hostname": node, "kubernetes.io/os": "linux"}},
            "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "test double"}],
                       "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                       "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                       "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                       "nodeInfo": {"kubeletVersion": "v1.32.4", "osImage": "test double", "kernelVersion": "", "containerRuntimeVersion": "none://0",
                                    "architecture": "amd64", "bootID": "", "machineID": "", "systemUUID": "", "kubeProxyVersion": "", "operatingSystem": "linux"}}
        }))
        .unwrap();
        nodes.create(&PostParams::default(), &n).await.unwrap();
        let pods: Api<Pod> = Api::all(client.clone());
        let selector = format!("spec.nodeName={node}");
        let task = tokio::spawn(async move {
            let cfg = watcher::Config::default().fields(&selector);
            let mut stream = watcher(pods.clone(), cfg).default_backoff().boxed();
            while let Some(ev) = stream.next().await {
                let ev = match ev {
                    Ok(ev) => ev,
                    Err(e) => {
                        eprintln!("fake kubelet watch error: {e}");
                        continue;
                    }
                };
                let list: Vec<Pod> = match ev {
                    watcher::Event::Apply(p) | watcher::Event::InitApply(p) => vec![p],
                    _ => continue,
                };
                for p in list {
                    handle_pod(&client, p).await;
                }
            }
        });
        FakeKubelet { task }
    }
}

async fn handle_pod(client: &kube::Client, p: Pod) {
    let ns = p.metadata.namespace.clone().unwrap_or_default();
    let name = p.metadata.name.clone().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
    if p.metadata.deletion_timestamp.is_some() {
        let _ = api
            .delete(&name, &DeleteParams::default().grace_period(0))
            .await;
        return;
    }
    let phase = p
        .status
        .as_ref()
        .and_then(|s| s.phase.clone())
        .unwrap_or_default();
    if phase != "Pending" {
        return;
    }
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let statuses: Vec<_> = p.spec.as_ref().map(|s| s.containers.iter().map(|c| json!({
        "name": c.name, "image": c.image, "imageID": "", "ready": true, "restartCount": 0, "started": true,
        "state": {"running": {"startedAt": now}}})).collect()).unwrap_or_default();
    let status = json!({"status": {"phase": "Running", "podIP": "127.0.0.1", "podIPs": [{"ip": "127.0.0.1"}], "hostIP": "127.0.0.1", "startTime": now,
        "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
                       {"type": "Initialized", "status": "True", "lastTransitionTime": now},
                       {"type": "ContainersReady", "status": "True", "lastTransitionTime": now},
                       {"type": "Ready", "status": "True", "lastTransitionTime": now}],
        "containerStatuses": statuses}});
    let _ = api
        .patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
        .await;
}
