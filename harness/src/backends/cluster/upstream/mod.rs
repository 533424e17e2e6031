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
mod configs;
mod images;
mod layout;
mod network;
mod pki;
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

use super::{Cluster, PodNetwork, Powers, StartContext};
use crate::backends::BackendError;
use crate::scenario::model::Backend;
use crate::toolchain::{self, Built, Tool};
use layout::{KUBERNETES_SERVICE_IP, Layout, NODE_IP, NODE_NAME, Ports, SERVICE_CIDR};
use supervisor::Supervisor;

/// How long each component may take to become ready.
const READY: Duration = Duration::from_secs(90);

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
        let path = |p: &Path| p.display().to_string();

        // containerd first: image import can run while the control plane starts.
        supervisor.start(
            "containerd",
            Path::new("containerd"),
            &[s("--config"), path(&layout.config("containerd.toml"))],
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

        supervisor.start(
            "etcd",
            &etcd.binary("etcd"),
            &[
                s("--name"),
                s("harness"),
                s("--data-dir"),
                path(&layout.data("etcd")),
                format!(
                    "--listen-client-urls=http://127.0.0.1:{}",
                    ports.etcd_client
                ),
                format!(
                    "--advertise-client-urls=http://127.0.0.1:{}",
                    ports.etcd_client
                ),
                format!("--listen-peer-urls=http://127.0.0.1:{}", ports.etcd_peer),
                format!(
                    "--initial-advertise-peer-urls=http://127.0.0.1:{}",
                    ports.etcd_peer
                ),
                format!(
                    "--initial-cluster=harness=http://127.0.0.1:{}",
                    ports.etcd_peer
                ),
                s("--listen-metrics-urls="),
                s("--log-level=warn"),
            ],
        )?;
        let etcd_health = format!("http://127.0.0.1:{}/health", ports.etcd_client);
        wait_http(&etcd_health, None, "etcd", &mut supervisor).await?;

        (ctx.progress)("kube-apiserver");
        let pki_path = |f: &Path| f.display().to_string();
        supervisor.start(
            "kube-apiserver",
            &bin("kube-apiserver"),
            &[
                format!("--etcd-servers=http://127.0.0.1:{}", ports.etcd_client),
                format!("--bind-address={NODE_IP}"),
                format!("--advertise-address={NODE_IP}"),
                format!("--secure-port={}", ports.apiserver),
                format!("--service-cluster-ip-range={SERVICE_CIDR}"),
                format!("--client-ca-file={}", pki_path(&pki.ca.cert)),
                format!("--tls-cert-file={}", pki_path(&pki.apiserver.cert)),
                format!("--tls-private-key-file={}", pki_path(&pki.apiserver.key)),
                format!(
                    "--kubelet-client-certificate={}",
                    pki_path(&pki.apiserver_kubelet_client.cert)
                ),
                format!(
                    "--kubelet-client-key={}",
                    pki_path(&pki.apiserver_kubelet_client.key)
                ),
                format!("--kubelet-certificate-authority={}", pki_path(&pki.ca.cert)),
                s("--kubelet-preferred-address-types=InternalIP"),
                s("--service-account-issuer=https://kubernetes.default.svc.cluster.local"),
                format!(
                    "--service-account-key-file={}",
                    pki_path(&pki.service_account_pub)
                ),
                format!(
                    "--service-account-signing-key-file={}",
                    pki_path(&pki.service_account_key)
                ),
                s("--authorization-mode=Node,RBAC"),
                s("--enable-admission-plugins=NodeRestriction"),
                s("--allow-privileged=true"),
                format!(
                    "--requestheader-client-ca-file={}",
                    pki_path(&pki.front_proxy_ca.cert)
                ),
                s("--requestheader-allowed-names=front-proxy-client"),
                s("--requestheader-username-headers=X-Remote-User"),
                s("--requestheader-group-headers=X-Remote-Group"),
                s("--requestheader-extra-headers-prefix=X-Remote-Extra-"),
                format!(
                    "--proxy-client-cert-file={}",
                    pki_path(&pki.front_proxy_client.cert)
                ),
                format!(
                    "--proxy-client-key-file={}",
                    pki_path(&pki.front_proxy_client.key)
                ),
            ],
        )?;
        let client = crate::environment::kube_client(&self.kubeconfig).await?;
        wait_ready(&client, &mut supervisor).await?;
        apply(&client, addons::APISERVER_TO_KUBELET).await?;

        let kcm_kubeconfig = path(&layout.config("controller-manager.kubeconfig"));
        supervisor.start(
            "kube-controller-manager",
            &bin("kube-controller-manager"),
            &[
                format!("--kubeconfig={kcm_kubeconfig}"),
                format!("--authentication-kubeconfig={kcm_kubeconfig}"),
                format!("--authorization-kubeconfig={kcm_kubeconfig}"),
                s("--bind-address=127.0.0.1"),
                format!("--secure-port={}", ports.controller_manager),
                format!(
                    "--service-account-private-key-file={}",
                    pki_path(&pki.service_account_key)
                ),
                format!("--root-ca-file={}", pki_path(&pki.ca.cert)),
                format!("--cluster-signing-cert-file={}", pki_path(&pki.ca.cert)),
                format!("--cluster-signing-key-file={}", pki_path(&pki.ca.key)),
                s("--use-service-account-credentials=true"),
                format!("--service-cluster-ip-range={SERVICE_CIDR}"),
                s("--leader-elect=false"),
                s("--controllers=*"),
                format!(
                    "--flex-volume-plugin-dir={}",
                    path(&layout.data("flex-volumes"))
                ),
            ],
        )?;
        let scheduler_kubeconfig = path(&layout.config("scheduler.kubeconfig"));
        supervisor.start(
            "kube-scheduler",
            &bin("kube-scheduler"),
            &[
                format!("--config={}", path(&layout.config("kube-scheduler.yaml"))),
                format!("--authentication-kubeconfig={scheduler_kubeconfig}"),
                format!("--authorization-kubeconfig={scheduler_kubeconfig}"),
                s("--bind-address=127.0.0.1"),
                format!("--secure-port={}", ports.scheduler),
            ],
        )?;
        supervisor.start(
            "kube-proxy",
            &bin("kube-proxy"),
            &[format!(
                "--config={}",
                path(&layout.config("kube-proxy.yaml"))
            )],
        )?;
        (ctx.progress)("kubelet");
        std::fs::create_dir_all(layout.kubelet_root())?;
        supervisor.start(
            "kubelet",
            &bin("kubelet"),
            &[
                format!("--config={}", path(&layout.config("kubelet.yaml"))),
                format!(
                    "--kubeconfig={}",
                    path(&layout.config("kubelet.kubeconfig"))
                ),
                format!("--hostname-override={NODE_NAME}"),
                format!("--node-ip={NODE_IP}"),
                format!("--root-dir={}", path(&layout.kubelet_root())),
                s("--v=1"),
            ],
        )?;
        self.supervisor = Some(supervisor);
        let supervisor = self.supervisor.as_mut().context("no supervisor")?;
        wait_node_ready(&client, supervisor).await?;
        (ctx.progress)("CoreDNS");
        apply(&client, &addons::coredns()).await?;
        wait_coredns(&client, supervisor).await?;
        Ok(())
    }
}

/// Waits until `path` exists (a socket a component makes when it is ready).
async fn wait_file(path: &Path, name: &str, supervisor: &mut Supervisor) -> anyhow::Result<()> {
    let deadline = Instant::now() + READY;
    while !path.exists() {
        if Instant::now() >= deadline || !supervisor.running(name) {
            anyhow::bail!("{name} did not start: {}", supervisor.report(name));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Waits until `url` answers 200.
async fn wait_http(
    url: &str,
    client: Option<&reqwest::Client>,
    name: &str,
    supervisor: &mut Supervisor,
) -> anyhow::Result<()> {
    let plain = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let client = client.unwrap_or(&plain);
    let deadline = Instant::now() + READY;
    loop {
        if let Ok(r) = client.get(url).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        if Instant::now() >= deadline || !supervisor.running(name) {
            anyhow::bail!("{name} did not become ready: {}", supervisor.report(name));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for the API server's `/readyz`.
async fn wait_ready(client: &kube::Client, supervisor: &mut Supervisor) -> anyhow::Result<()> {
    let deadline = Instant::now() + READY;
    loop {
        let request = http::Request::get("/readyz").body(Vec::new())?;
        if client
            .request_text(request)
            .await
            .is_ok_and(|t| t.trim() == "ok")
        {
            return Ok(());
        }
        if Instant::now() >= deadline || !supervisor.running("kube-apiserver") {
            anyhow::bail!(
                "kube-apiserver did not become ready: {}",
                supervisor.report("kube-apiserver")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits (with a watch) for the node to be Ready.
async fn wait_node_ready(client: &kube::Client, supervisor: &mut Supervisor) -> anyhow::Result<()> {
    use k8s_openapi::api::core::v1::Node;
    let nodes: kube::Api<Node> = kube::Api::all(client.clone());
    let ready = kube::runtime::wait::await_condition(nodes, NODE_NAME, |node: Option<&Node>| {
        node.and_then(|n| n.status.as_ref())
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
    });
    match tokio::time::timeout(READY, ready).await {
        Ok(Ok(_)) => Ok(()),
        _ => anyhow::bail!(
            "node {NODE_NAME} did not become Ready: {}",
            supervisor.report("kubelet")
        ),
    }
}

/// Waits (with a watch) for CoreDNS to be Available.
async fn wait_coredns(client: &kube::Client, supervisor: &mut Supervisor) -> anyhow::Result<()> {
    use k8s_openapi::api::apps::v1::Deployment;
    let deployments: kube::Api<Deployment> = kube::Api::namespaced(client.clone(), "kube-system");
    let available =
        kube::runtime::wait::await_condition(deployments, "coredns", |d: Option<&Deployment>| {
            d.is_some_and(crate::scenario::steps::deployment_available)
        });
    match tokio::time::timeout(READY, available).await {
        Ok(Ok(_)) => Ok(()),
        _ => anyhow::bail!(
            "CoreDNS did not become Available: {}",
            supervisor.report("kubelet")
        ),
    }
}

/// Server-side applies every document of `yaml`.
async fn apply(client: &kube::Client, yaml: &str) -> anyhow::Result<()> {
    use kube::api::{DynamicObject, Patch, PatchParams};
    use kube::discovery::{ApiResource, Discovery, Scope};
    let discovery = Discovery::new(client.clone()).run().await?;
    for document in serde_norway::Deserializer::from_str(yaml) {
        let object: DynamicObject = serde::Deserialize::deserialize(document)?;
        let types = object
            .types
            .clone()
            .context("a document has no apiVersion/kind")?;
        let gvk = kube::core::GroupVersionKind::try_from(&types)?;
        let (resource, capabilities): (ApiResource, _) = discovery
            .resolve_gvk(&gvk)
            .with_context(|| format!("the cluster does not serve {gvk:?}"))?;
        let name = object
            .metadata
            .name
            .clone()
            .context("a document has no name")?;
        let api: kube::Api<DynamicObject> = match capabilities.scope {
            Scope::Namespaced => kube::Api::namespaced_with(
                client.clone(),
                object.metadata.namespace.as_deref().unwrap_or("default"),
                &resource,
            ),
            Scope::Cluster => kube::Api::all_with(client.clone(), &resource),
        };
        api.patch(
            &name,
            &PatchParams::apply("gitlab-k8s-harness"),
            &Patch::Apply(&object),
        )
        .await
        .with_context(|| format!("applying {} {name}", types.kind))?;
    }
    Ok(())
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
        Powers {
            pod_network: PodNetwork::Own,
            port_forward: true,
            cluster_dns: true,
            jobs: true,
            disposable: true,
        }
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
