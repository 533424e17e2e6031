//! Host ports of this node. Every pod uses the host network, so a declared `containerPort` is a
//! host port (as for `hostNetwork: true` pods in Kubernetes, where the scheduler keeps two such
//! pods off one node). A pod whose port is held by another pod waits; during a Deployment
//! rollout the pod of the newer revision takes the port over by deleting the older revision's
//! pod (the rollout then proceeds like `strategy: Recreate`).

use std::collections::HashMap;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use tokio::sync::Mutex;

/// The Deployment and revision a pod was created for, when it comes from one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Revision {
    pub deployment_uid: String,
    pub revision: i64,
}

/// Who holds a port.
#[derive(Debug, Clone)]
pub(crate) struct PortHolder {
    pub uid: String,
    pub namespace: String,
    pub name: String,
    pub revision: Option<Revision>,
}

/// What a pod must do about its ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Claim {
    /// All ports are now held by the pod.
    Granted,
    /// A port is held by an older revision of the same Deployment: delete that pod, then retry.
    Preempt {
        port: u16,
        namespace: String,
        name: String,
        uid: String,
    },
    /// A port is held by an unrelated pod: wait for it to stop.
    Wait { port: u16, holder: String },
}

/// The machine's host ports. Shared by every kubelet of the process: all of them run their pods
/// on the same host network.
#[derive(Default)]
pub(crate) struct HostPorts {
    held: Mutex<HashMap<u16, PortHolder>>,
}

/// The process-wide table.
pub(crate) fn host_ports() -> &'static HostPorts {
    static PORTS: std::sync::OnceLock<HostPorts> = std::sync::OnceLock::new();
    PORTS.get_or_init(HostPorts::default)
}

impl HostPorts {
    /// Tries to take every port in `ports` for `me`.
    pub(crate) async fn claim(&self, me: &PortHolder, ports: &[u16]) -> Claim {
        let mut held = self.held.lock().await;
        for port in ports {
            let Some(holder) = held.get(port).filter(|h| h.uid != me.uid) else {
                continue;
            };
            return match (&me.revision, &holder.revision) {
                (Some(mine), Some(theirs))
                    if mine.deployment_uid == theirs.deployment_uid
                        && mine.revision > theirs.revision =>
                {
                    Claim::Preempt {
                        port: *port,
                        namespace: holder.namespace.clone(),
                        name: holder.name.clone(),
                        uid: holder.uid.clone(),
                    }
                }
                _ => Claim::Wait {
                    port: *port,
                    holder: format!("{}/{}", holder.namespace, holder.name),
                },
            };
        }
        for port in ports {
            held.insert(*port, me.clone());
        }
        Claim::Granted
    }

    /// Frees every port `uid` holds.
    pub(crate) async fn release(&self, uid: &str) {
        self.held.lock().await.retain(|_, holder| holder.uid != uid);
    }
}

/// The TCP ports the pod's containers declare (`hostPort`, else `containerPort`).
pub(crate) fn declared_ports(pod: &Pod) -> Vec<u16> {
    let mut ports: Vec<u16> = pod
        .spec
        .iter()
        .flat_map(|s| s.containers.iter())
        .flat_map(|c| c.ports.iter().flatten())
        .filter(|p| p.protocol.as_deref().unwrap_or("TCP") == "TCP")
        .filter_map(|p| {
            u16::try_from(p.host_port.filter(|h| *h > 0).unwrap_or(p.container_port)).ok()
        })
        .filter(|p| *p > 0)
        .collect();
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// The Deployment revision of the pod's ReplicaSet, when it has one.
pub(crate) async fn revision_of(client: &kube::Client, pod: &Pod) -> Option<Revision> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let owner = pod
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true) && o.kind == "ReplicaSet")?;
    let api: Api<ReplicaSet> = Api::namespaced(client.clone(), ns);
    let rs = api.get_opt(&owner.name).await.ok()??;
    let revision = rs
        .metadata
        .annotations
        .as_ref()?
        .get("deployment.kubernetes.io/revision")?
        .parse()
        .ok()?;
    let deployment_uid = rs
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true) && o.kind == "Deployment")?
        .uid
        .clone();
    Some(Revision {
        deployment_uid,
        revision,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(uid: &str, revision: Option<i64>) -> PortHolder {
        PortHolder {
            uid: uid.into(),
            namespace: "ns".into(),
            name: format!("pod-{uid}"),
            revision: revision.map(|r| Revision {
                deployment_uid: "d1".into(),
                revision: r,
            }),
        }
    }

    #[tokio::test]
    async fn newer_revisions_preempt_and_others_wait() {
        let ports = HostPorts::default();
        assert_eq!(
            ports.claim(&holder("a", Some(1)), &[8080]).await,
            Claim::Granted
        );
        // Same revision (a replacement of a deleted pod): wait.
        assert!(matches!(
            ports.claim(&holder("b", Some(1)), &[8080]).await,
            Claim::Wait { port: 8080, .. }
        ));
        // Newer revision of the same Deployment: take over.
        assert!(
            matches!(ports.claim(&holder("c", Some(2)), &[8080]).await, Claim::Preempt { ref uid, .. } if uid == "a")
        );
        // A plain pod: wait.
        assert!(matches!(
            ports.claim(&holder("d", None), &[8080, 9090]).await,
            Claim::Wait { .. }
        ));
        ports.release("a").await;
        assert_eq!(
            ports.claim(&holder("c", Some(2)), &[8080]).await,
            Claim::Granted
        );
        assert_eq!(
            ports.claim(&holder("c", Some(2)), &[8080]).await,
            Claim::Granted
        );
    }
}
