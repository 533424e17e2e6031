//! Cluster backends: each gives the environment a kubeconfig and nothing else. Everything the
//! scenario engine does to a cluster goes through that kubeconfig (kubectl, the kube client,
//! watches), so any of them can serve any scenario.

mod embedded;
mod existing;
mod k3s;
mod kind;
mod snapshot;
pub mod upstream;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use async_trait::async_trait;

pub use embedded::EmbeddedCluster;
pub use existing::ExistingCluster;
pub use snapshot::ClusterSnapshot;

use super::{BackendError, Choice};
use crate::scenario::model::{Backend, ClusterSpec, Power};

/// How pods are networked, which decides how the harness reaches a pod's port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodNetwork {
    /// Pods share this machine's network (the embedded kubelet): a pod's port is this
    /// machine's port, and two pods cannot bind the same one.
    Host,
    /// Pods have their own addresses (a CNI network).
    Own,
}

/// What a cluster backend offers beyond the Kubernetes API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Powers {
    /// How pods are networked.
    pub pod_network: PodNetwork,
    /// `kubectl port-forward` works.
    pub port_forward: bool,
    /// Services resolve by DNS name in pods.
    pub cluster_dns: bool,
    /// Jobs run.
    pub jobs: bool,
    /// The cluster exists for this environment only and goes with it, so nothing created in it
    /// needs removing one by one.
    pub disposable: bool,
}

impl Powers {
    /// A real cluster made for the environment: its own pod network, DNS, Jobs, port-forward;
    /// gone with the environment.
    pub const DISPOSABLE_REAL: Powers = Powers {
        pod_network: PodNetwork::Own,
        port_forward: true,
        cluster_dns: true,
        jobs: true,
        disposable: true,
    };

    /// Whether the cluster offers `power`.
    pub fn has(&self, power: Power) -> bool {
        match power {
            Power::PodNetwork => self.pod_network == PodNetwork::Own,
            Power::ClusterDns => self.cluster_dns,
            Power::Jobs => self.jobs,
            Power::PortForward => self.port_forward,
        }
    }

    /// The first of `needs` the cluster lacks, as the reason a scenario does not apply.
    pub fn lacking(&self, needs: &[Power]) -> Option<String> {
        needs.iter().find(|p| !self.has(**p)).map(|p| {
            format!(
                "the scenario needs {} and this cluster does not offer it",
                p.as_str()
            )
        })
    }
}

/// A running cluster of one backend.
#[async_trait]
pub trait Cluster: Send + Sync {
    /// Which backend this is.
    fn backend(&self) -> Backend;
    /// The kubeconfig everything reaches the cluster through.
    fn kubeconfig(&self) -> &Path;
    /// For reports: what serves as this cluster, and what of it is real or a stand-in.
    fn describe(&self) -> Vec<String>;
    /// What it offers beyond the API.
    fn powers(&self) -> Powers;
    /// The address pods reach this machine at, when the backend knows it.
    fn host_address(&self) -> Option<IpAddr> {
        None
    }
    /// The kubectl that matches the cluster's version, when the backend has one (else the
    /// machine's `kubectl`).
    fn kubectl(&self) -> Option<PathBuf> {
        None
    }
    /// Stops what the backend started (processes, containers, networks); returns a summary.
    async fn stop(self: Box<Self>) -> String;
}

/// What a backend needs to start a cluster for one environment.
pub struct StartContext<'a> {
    /// The environment's id (labels and names).
    pub env_id: &'a str,
    /// The environment's state directory; the backend keeps its files under it.
    pub state_dir: &'a Path,
    /// The scenario's cluster settings.
    pub spec: &'a ClusterSpec,
    /// One line per start-up phase.
    pub progress: &'a (dyn Fn(&str) + Sync),
    /// The environment's registry, which nodes that do not share the Docker engine's images pull
    /// the scenario's images from.
    pub registry: Option<upstream::NodeRegistry>,
}

/// Starts (or connects to) the cluster `choice` names.
pub async fn start(choice: &Choice, ctx: &StartContext<'_>) -> anyhow::Result<Box<dyn Cluster>> {
    match choice.cluster {
        Backend::Embedded => Ok(Box::new(
            EmbeddedCluster::start(ctx.env_id, ctx.state_dir, &ctx.spec.nodes, ctx.progress)
                .await?,
        )),
        Backend::Existing => {
            let kubeconfig: PathBuf = choice.kubeconfig.clone().ok_or_else(|| {
                BackendError::Usage("the existing cluster backend needs a kubeconfig".into())
            })?;
            Ok(Box::new(
                ExistingCluster::connect(&kubeconfig, ctx.spec, ctx.progress).await?,
            ))
        }
        Backend::Upstream => Ok(Box::new(
            upstream::UpstreamCluster::start(
                ctx,
                choice.kubernetes_version.as_deref(),
                ctx.registry.as_ref(),
            )
            .await?,
        )),
        Backend::K3s => Ok(Box::new(k3s::K3sCluster::start(ctx).await?)),
        Backend::Kind => Ok(Box::new(kind::KindCluster::start(ctx).await?)),
    }
}

/// Whether `backend` can run here, and if not, why — for `harness doctor`.
pub async fn availability(backend: Backend) -> Result<String, BackendError> {
    match backend {
        Backend::Embedded => Ok("the harness's own API server and kubelet (Docker)".into()),
        Backend::Existing => {
            Ok("any cluster through --kubeconfig PATH (e.g. `harness cluster serve`)".into())
        }
        Backend::Upstream => upstream::prerequisites().await,
        Backend::K3s => k3s::prerequisites().await,
        Backend::Kind => kind::prerequisites(),
    }
}
