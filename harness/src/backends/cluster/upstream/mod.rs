//! Upstream Kubernetes on this machine: etcd, kube-apiserver, kube-controller-manager,
//! kube-scheduler, a private containerd, the real kubelet and kube-proxy as plain processes (the
//! way `hack/local-up-cluster.sh` runs them), CoreDNS as the cluster's DNS add-on, all built from
//! their Go modules ([`crate::toolchain`]). Pods get their own addresses on a bridge; everything
//! listens on loopback or the bridge; everything lives under the environment's state directory,
//! except the image store, kept between environments like Docker's.
//!
//! One upstream cluster runs on a machine at a time: kube-proxy and the kubelet own the host's
//! `KUBE-*` iptables chains. A lock file says which environment holds it.

mod addons;
mod args;
mod configs;
mod images;
mod layout;
mod network;
mod pki;
mod ready;
mod supervisor;
mod teardown;

pub use teardown::{cgroups_left, remove_leftovers};

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use async_trait::async_trait;

pub use configs::NodeRegistry;
pub use network::{bridge_exists, owned_chains};

use super::{Cluster, Powers, StartContext};
use crate::backends::BackendError;
use crate::scenario::model::Backend;
use crate::toolchain::{self, Built, Tool};
use layout::{KUBERNETES_SERVICE_IP, Layout, NODE_IP, NODE_NAME, Ports};
use ready::{apply, wait_coredns, wait_file, wait_http, wait_node_ready, wait_ready};
use supervisor::Supervisor;

/// A running upstream cluster.
pub struct UpstreamCluster {
    layout: Layout,
    kubeconfig: PathBuf,
    kubernetes: Built,
    supervisor: Option<Supervisor>,
    network: Option<network::HostNetwork>,
    lock: Option<std::fs::File>,
    crictl: PathBuf,
    started_in: Duration,
}

fn missing(tool: Tool, version: &str) -> BackendError {
    BackendError::MissingPrerequisite {
        backend: Backend::Upstream.to_string(),
        missing: format!("{tool} {version} built from its Go module"),
        fix: format!(
            "run `harness build {}`{} (or `harness doctor --fix`)",
            tool.name(),
            if tool == Tool::Kubernetes {
                format!(" --kubernetes-version {version}")
            } else {
                String::new()
            }
        ),
    }
}

/// The built tools the backend needs, or which one is missing.
async fn tools(version: Option<&str>) -> Result<[Built; 4], BackendError> {
    let mut built = vec![];
    for (tool, version) in [
        (Tool::Kubernetes, version),
        (Tool::Etcd, None),
        (Tool::CoreDns, None),
        (Tool::Crictl, None),
    ] {
        let wanted = version.unwrap_or(tool.default_version());
        match toolchain::installed(tool, Some(wanted)).await {
            Some(b) => built.push(b),
            None => return Err(missing(tool, wanted)),
        }
    }
    built
        .try_into()
        .map_err(|_| BackendError::Usage("tool list".into()))
}

/// Whether the upstream backend can run here, for `harness doctor`.
pub async fn prerequisites() -> Result<String, BackendError> {
    let [kubernetes, ..] = tools(None).await?;
    for program in ["containerd", "runc", "ctr", "iptables", "ip"] {
        if crate::process::which(program).is_none() {
            return Err(BackendError::MissingPrerequisite {
                backend: Backend::Upstream.to_string(),
                missing: format!("`{program}` (Debian's containerd, runc, iptables, iproute2)"),
                fix: "run `harness doctor --fix`".into(),
            });
        }
    }
    if !Path::new("/usr/lib/cni/bridge").is_file() {
        return Err(BackendError::MissingPrerequisite {
            backend: Backend::Upstream.to_string(),
            missing: "the CNI plugins (Debian's containernetworking-plugins)".into(),
            fix: "run `harness doctor --fix`".into(),
        });
    }
    Ok(format!(
        "Kubernetes {} built ({}), containerd, runc, CNI plugins",
        kubernetes.version,
        kubernetes.dir.display()
    ))
}

/// The lock that makes one upstream cluster run at a time.
fn take_lock(env_id: &str) -> Result<std::fs::File, BackendError> {
    let path = crate::paths::cache_dir().join("upstream.lock");
    let _ = std::fs::create_dir_all(crate::paths::cache_dir());
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| BackendError::Usage(format!("opening {}: {e}", path.display())))?;
    if file.try_lock().is_err() {
        let holder = std::fs::read_to_string(&path).unwrap_or_default();
        return Err(BackendError::Unavailable {
            backend: Backend::Upstream.to_string(),
            reason: format!(
                "another upstream cluster runs on this machine ({}); its kube-proxy owns the host's KUBE-* iptables chains",
                holder.trim()
            ),
            fix: "wait for it to end, or stop it (Ctrl-C, or `harness down`)".into(),
        });
    }
    let _ = std::fs::write(&path, format!("{env_id} (pid {})\n", std::process::id()));
    Ok(file)
}

impl UpstreamCluster {
    /// Starts the cluster for one environment; `registry` is where its scenario pushes images the
    /// node must pull.
    pub async fn start(
        ctx: &StartContext<'_>,
        version: Option<&str>,
        registry: Option<&NodeRegistry>,
    ) -> anyhow::Result<Self> {
        let started = Instant::now();
        let [kubernetes, etcd, coredns, crictl] = tools(version).await?;
        let lock = take_lock(ctx.env_id)?;
        let layout = Layout::new(ctx.state_dir);
        for dir in ["config", "logs", "run", "data"] {
            std::fs::create_dir_all(layout.root.join(dir))?;
        }
        std::fs::create_dir_all(layout.config("cni"))?;
        (ctx.progress)(&format!(
            "upstream Kubernetes {} (etcd {}, containerd, kubelet, kube-proxy, CoreDNS {})",
            kubernetes.version, etcd.version, coredns.version
        ));
        let network = network::HostNetwork::prepare()?;
        let mut cluster = UpstreamCluster {
            kubeconfig: layout.admin_kubeconfig(),
            layout,
            kubernetes,
            supervisor: None,
            network: Some(network),
            lock: Some(lock),
            crictl: crictl.binary("crictl"),
            started_in: Duration::ZERO,
        };
        match cluster.bring_up(ctx, &etcd, registry).await {
            Ok(()) => {
                cluster.started_in = started.elapsed();
                tracing::info!(
                    seconds = cluster.started_in.as_secs_f64(),
                    "upstream cluster ready"
                );
                Ok(cluster)
            }
            Err(e) => {
                let left = Box::new(cluster).stop().await;
                tracing::debug!(%left, "teardown after a failed start");
                Err(e)
            }
        }
    }

    async fn bring_up(
        &mut self,
        ctx: &StartContext<'_>,
        etcd: &Built,
        registry: Option<&NodeRegistry>,
    ) -> anyhow::Result<()> {
        let layout = self.layout.clone();
        let ports = Ports::pick().context("picking free ports")?;
        let pki = pki::generate(
            &layout.pki(),
            NODE_NAME,
            IpAddr::V4(NODE_IP),
            IpAddr::V4(KUBERNETES_SERVICE_IP),
        )?;
        configs::kubeconfigs(&layout, &pki, &ports)?;
        let image_root = crate::paths::cache_dir().join("containerd");
        std::fs::create_dir_all(&image_root)?;
        std::fs::write(
            layout.config("containerd.toml"),
            configs::containerd(
                &layout,
                &image_root,
                harness_images::catalog::PAUSE_IMAGE,
                registry,
            ),
        )?;
        std::fs::create_dir_all(layout.registry_hosts())?;
        if let Some(registry) = registry {
            configs::registry_hosts(&layout, registry)?;
        }
        std::fs::write(
            layout.config("cni/10-harness.conflist"),
            configs::cni(&layout),
        )?;
        std::fs::write(
            layout.config("kubelet.yaml"),
            configs::kubelet(&layout, &pki, &ports),
        )?;
        std::fs::write(
            layout.config("kube-proxy.yaml"),
            configs::kube_proxy(&layout, &ports),
        )?;
        std::fs::write(
            layout.config("kube-scheduler.yaml"),
            configs::scheduler(&layout),
        )?;

        let mut supervisor = Supervisor::new(&layout.logs())?;
        let bin = |name: &str| self.kubernetes.binary(name);
        let s = |v: &str| v.to_owned();

        // containerd first: image import can run while the control plane starts.
        supervisor.start(
            "containerd",
            Path::new("containerd"),
            &args::containerd(&layout),
        )?;
        wait_file(&layout.containerd_socket(), "containerd", &mut supervisor).await?;
        let docker = bollard::Docker::connect_with_local_defaults()?;
        let mut references: Vec<String> = vec![
            s(harness_images::catalog::PAUSE_IMAGE),
            s(harness_images::catalog::COREDNS_IMAGE),
        ];
        references.extend(harness_images::catalog::POD_IMAGES.iter().map(|r| s(r)));
        (ctx.progress)("images into the node's containerd");
        let provisioner = crate::images::provisioner()?;
        for reference in &references {
            provisioner
                .ensure(reference, harness_images::PullPolicy::IfNotPresent)
                .await
                .with_context(|| format!("providing image {reference}"))?;
        }
        images::import(
            &docker,
            &layout.containerd_socket(),
            &image_root,
            &references,
        )
        .await?;

        supervisor.start("etcd", &etcd.binary("etcd"), &args::etcd(&layout, &ports))?;
        let etcd_health = format!("http://127.0.0.1:{}/health", ports.etcd_client);
        wait_http(&etcd_health, None, "etcd", &mut supervisor).await?;

        (ctx.progress)("kube-apiserver");
        supervisor.start(
            "kube-apiserver",
            &bin("kube-apiserver"),
            &args::apiserver(&pki, &ports),
        )?;
        let client = crate::environment::kube_client(&self.kubeconfig).await?;
        wait_ready(&client, &mut supervisor).await?;
        apply(&client, addons::APISERVER_TO_KUBELET).await?;

        supervisor.start(
            "kube-controller-manager",
            &bin("kube-controller-manager"),
            &args::controller_manager(&layout, &pki, &ports),
        )?;
        supervisor.start(
            "kube-scheduler",
            &bin("kube-scheduler"),
            &args::scheduler(&layout, &ports),
        )?;
        supervisor.start("kube-proxy", &bin("kube-proxy"), &args::kube_proxy(&layout))?;
        (ctx.progress)("kubelet");
        std::fs::create_dir_all(layout.kubelet_root())?;
        supervisor.start("kubelet", &bin("kubelet"), &args::kubelet(&layout))?;
        self.supervisor = Some(supervisor);
        let supervisor = self.supervisor.as_mut().context("no supervisor")?;
        wait_node_ready(&client, supervisor).await?;
        (ctx.progress)("CoreDNS");
        apply(&client, &addons::coredns()).await?;
        wait_coredns(&client, supervisor).await?;
        Ok(())
    }
}

#[async_trait]
impl Cluster for UpstreamCluster {
    fn backend(&self) -> Backend {
        Backend::Upstream
    }

    fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    fn describe(&self) -> Vec<String> {
        vec![
            format!(
                "Kubernetes: upstream {} built from k8s.io/kubernetes (kube-apiserver, controller-manager, scheduler, kubelet, kube-proxy), etcd, containerd {}, CoreDNS; started in {:.1}s",
                self.kubernetes.version,
                containerd_version(),
                self.started_in.as_secs_f64()
            ),
            "pause and CoreDNS images: stand-ins from Debian packages (the pause image is a shell loop; CoreDNS is the real one built from its module)".into(),
        ]
    }

    fn powers(&self) -> Powers {
        Powers::DISPOSABLE_REAL
    }

    fn host_address(&self) -> Option<IpAddr> {
        Some(IpAddr::V4(NODE_IP))
    }

    fn kubectl(&self) -> Option<PathBuf> {
        Some(self.kubernetes.binary("kubectl"))
    }

    async fn stop(mut self: Box<Self>) -> String {
        teardown::stop(&mut self).await
    }
}

fn containerd_version() -> String {
    std::process::Command::new("containerd")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .nth(2)
                .map(str::to_owned)
        })
        .unwrap_or_default()
}

impl Drop for UpstreamCluster {
    fn drop(&mut self) {
        if self.network.is_some() {
            teardown::blocking(self);
        }
    }
}
