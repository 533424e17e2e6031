//! The embedded cluster: the harness's own API server and kubelets, in this process. It needs
//! nothing but a Docker engine, and pods share this machine's network.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use harness_apiserver::{ApiServer, ApiServerConfig, ApiServerHandle};
use harness_kubelet::{Kubelet, KubeletConfig, KubeletHandle};

use super::{Cluster, PodNetwork, Powers};
use crate::scenario::model::Backend;
use harness_error_chain::Chain;

/// An embedded API server and one kubelet per node.
pub struct EmbeddedCluster {
    apiserver: ApiServerHandle,
    kubelets: Vec<KubeletHandle>,
    kubeconfig: PathBuf,
}

impl EmbeddedCluster {
    /// Starts the API server under `state_dir/cluster` and a kubelet per node. Containers carry
    /// the label of `env_id`; hostPath volumes under `state_dir` are used as they are.
    pub async fn start(
        env_id: &str,
        state_dir: &Path,
        nodes: &[String],
        progress: &(dyn Fn(&str) + Sync),
    ) -> anyhow::Result<Self> {
        progress("Kubernetes API server (embedded)");
        let mut config = ApiServerConfig::new(state_dir.join("cluster"));
        // Storage classes come from the harness's provisioner, through the API, as on any cluster.
        config.storage_classes.clear();
        let apiserver = ApiServer::start(config)
            .await
            .context("starting the API server")?;
        let client = apiserver
            .client()
            .await
            .context("connecting to the API server")?;
        progress("kubelet(s) (embedded, pods as Docker containers)");
        let images = crate::images::provisioner()?;
        let mut kubelets = Vec::new();
        for node in nodes {
            let mut config = KubeletConfig::new(
                node.clone(),
                env_id.to_owned(),
                state_dir.join("nodes").join(node),
                apiserver.url(),
                apiserver.ca_pem(),
            );
            config.host_path_passthrough.push(state_dir.to_owned());
            let kubelet = Kubelet::start(config, client.clone(), images.clone(), |streams| {
                apiserver.register_node_streams(node, streams)
            })
            .await
            .with_context(|| format!("starting the kubelet of node {node}"))?;
            kubelets.push(kubelet);
        }
        let kubeconfig = apiserver.kubeconfig_path().to_owned();
        Ok(EmbeddedCluster {
            apiserver,
            kubelets,
            kubeconfig,
        })
    }

    /// The API server's URL.
    pub fn url(&self) -> String {
        self.apiserver.url()
    }
}

#[async_trait]
impl Cluster for EmbeddedCluster {
    fn backend(&self) -> Backend {
        Backend::Embedded
    }

    fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    fn describe(&self) -> Vec<String> {
        vec![
            "Kubernetes API server: embedded (harness-apiserver), not kube-apiserver".into(),
            "kubelet: embedded (harness-kubelet); pods are Docker containers on the host network"
                .into(),
        ]
    }

    fn powers(&self) -> Powers {
        Powers {
            pod_network: PodNetwork::Host,
            port_forward: false,
            cluster_dns: false,
            jobs: false,
            disposable: true,
        }
    }

    fn host_address(&self) -> Option<IpAddr> {
        Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
    }

    async fn stop(self: Box<Self>) -> String {
        let mut removed = 0;
        for kubelet in self.kubelets {
            match tokio::time::timeout(Duration::from_secs(60), kubelet.shutdown()).await {
                Ok(Ok(n)) => removed += n,
                Ok(Err(e)) => tracing::warn!(error = %Chain(&e), "kubelet shutdown"),
                Err(_) => tracing::warn!("kubelet shutdown timed out"),
            }
        }
        self.apiserver.shutdown().await;
        format!("embedded cluster stopped, {removed} container(s) removed")
    }
}
