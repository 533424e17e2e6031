//! An existing cluster, reached through a kubeconfig: the harness adds to it only what the
//! scenario creates, and removes exactly that afterwards.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube::api::ListParams;

use super::snapshot::ClusterSnapshot;
use super::{Cluster, PodNetwork, Powers};
use crate::backends::BackendError;
use crate::scenario::model::{Backend, ClusterSpec};

/// A cluster the harness did not start.
pub struct ExistingCluster {
    kubeconfig: PathBuf,
    client: kube::Client,
    server: String,
    version: String,
    nodes: Vec<NodeFacts>,
    before: ClusterSnapshot,
    cluster_dns: bool,
    jobs: bool,
}

/// What the harness reads of a node.
#[derive(Debug, Clone)]
struct NodeFacts {
    name: String,
    internal_ip: Option<IpAddr>,
    kubelet: String,
    runtime: String,
}

impl ExistingCluster {
    /// Connects, checks that the cluster has what `spec` needs, and notes what is there.
    pub async fn connect(
        kubeconfig: &Path,
        spec: &ClusterSpec,
        progress: &(dyn Fn(&str) + Sync),
    ) -> anyhow::Result<Self> {
        progress(&format!("existing cluster ({})", kubeconfig.display()));
        let client = crate::environment::kube_client(kubeconfig).await?;
        let version = client
            .apiserver_version()
            .await
            .with_context(|| format!("the cluster of {} does not answer", kubeconfig.display()))?
            .git_version;
        let server = crate::environment::kubeconfig_server(kubeconfig).unwrap_or_default();
        let nodes: Vec<NodeFacts> = Api::<Node>::all(client.clone())
            .list(&ListParams::default())
            .await
            .context("listing the cluster's nodes")?
            .items
            .into_iter()
            .map(node_facts)
            .collect();
        if nodes.len() < spec.nodes.len() {
            return Err(BackendError::NotApplicable {
                backend: Backend::Existing.to_string(),
                reason: format!(
                    "the scenario needs {} nodes ({}), the cluster has {}",
                    spec.nodes.len(),
                    spec.nodes.join(", "),
                    nodes.len()
                ),
            }
            .into());
        }
        let before = ClusterSnapshot::take(&client)
            .await
            .context("listing the cluster's namespaces and cluster-scoped objects")?;
        // What the cluster serves: Jobs in discovery, a DNS Service in kube-system.
        let jobs = client
            .list_api_group_resources("batch/v1")
            .await
            .is_ok_and(|r| r.resources.iter().any(|r| r.name == "jobs"));
        let services: Api<k8s_openapi::api::core::v1::Service> =
            Api::namespaced(client.clone(), "kube-system");
        let cluster_dns = services.get_opt("kube-dns").await.ok().flatten().is_some();
        Ok(ExistingCluster {
            kubeconfig: kubeconfig.to_owned(),
            client,
            server,
            version,
            nodes,
            before,
            cluster_dns,
            jobs,
        })
    }
}

fn node_facts(node: Node) -> NodeFacts {
    let status = node.status.unwrap_or_default();
    let internal_ip = status
        .addresses
        .unwrap_or_default()
        .into_iter()
        .find(|a| a.type_ == "InternalIP")
        .and_then(|a| a.address.parse().ok());
    let info = status.node_info.unwrap_or_default();
    NodeFacts {
        name: node.metadata.name.unwrap_or_default(),
        internal_ip,
        kubelet: info.kubelet_version,
        runtime: info.container_runtime_version,
    }
}

#[async_trait]
impl Cluster for ExistingCluster {
    fn backend(&self) -> Backend {
        Backend::Existing
    }

    fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    fn describe(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "Kubernetes: existing cluster at {} ({}), through {}",
            self.server,
            self.version,
            self.kubeconfig.display()
        )];
        for node in &self.nodes {
            lines.push(format!(
                "node {}: kubelet {}, runtime {}",
                node.name, node.kubelet, node.runtime
            ));
        }
        lines
    }

    fn powers(&self) -> Powers {
        // Pods on a node whose address is this machine's loopback share the host's network.
        let host_network = self
            .nodes
            .iter()
            .any(|n| n.internal_ip.is_some_and(|ip| ip.is_loopback()));
        Powers {
            pod_network: if host_network {
                PodNetwork::Host
            } else {
                PodNetwork::Own
            },
            port_forward: !host_network,
            cluster_dns: self.cluster_dns,
            jobs: self.jobs,
            disposable: false,
        }
    }

    fn host_address(&self) -> Option<IpAddr> {
        // A node that is this machine reaches it at its own address.
        self.nodes
            .iter()
            .filter_map(|n| n.internal_ip)
            .find(|ip| crate::environment::is_local_address(*ip))
    }

    async fn stop(self: Box<Self>) -> String {
        let (removed, failed) = self
            .before
            .remove_added(&self.client, Duration::from_secs(180))
            .await;
        let mut summary = format!(
            "existing cluster: removed {} object(s) the scenario created",
            removed.len()
        );
        if !failed.is_empty() {
            tracing::warn!(left = ?failed, "could not remove everything the scenario created");
            summary.push_str(&format!("; could not remove: {}", failed.join(", ")));
        }
        summary
    }
}
