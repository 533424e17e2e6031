//! The configuration files of the components: kubeconfigs, the kubelet's, kube-proxy's and the
//! scheduler's configuration, containerd's, the CNI network and the registry's hosts file.

use std::path::{Path, PathBuf};

use base64::Engine;

use super::layout::{
    BRIDGE, CLUSTER_CIDR, DNS_SERVICE_IP, Layout, NODE_IP, NODE_NAME, POD_SUBNET, Ports,
};
use super::pki::{CertFiles, Pki};
use crate::environment::write_private;

/// The registry the node pulls the scenario's images from (over plain HTTP, with its login).
#[derive(Debug, Clone)]
pub struct NodeRegistry {
    /// `host:port`.
    pub host: String,
    /// User.
    pub username: String,
    /// Password.
    pub password: String,
}

fn b64(path: &Path) -> std::io::Result<String> {
    Ok(base64::engine::general_purpose::STANDARD.encode(std::fs::read(path)?))
}

/// A kubeconfig for `user`'s client certificate.
pub(crate) fn kubeconfig(
    path: &Path,
    server: &str,
    ca: &Path,
    user: &str,
    cert: &CertFiles,
) -> std::io::Result<()> {
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: upstream\n  cluster:\n    server: {server}\n    certificate-authority-data: {}\nusers:\n- name: {user}\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\ncontexts:\n- name: {user}@upstream\n  context: {{cluster: upstream, user: {user}}}\ncurrent-context: {user}@upstream\n",
        b64(ca)?,
        b64(&cert.cert)?,
        b64(&cert.key)?,
    );
    write_private(path, text.as_bytes())
}

/// Writes every kubeconfig; returns the admin's.
pub(crate) fn kubeconfigs(layout: &Layout, pki: &Pki, ports: &Ports) -> std::io::Result<PathBuf> {
    let server = format!("https://{NODE_IP}:{}", ports.apiserver);
    for (component, _) in &pki.clients {
        kubeconfig(
            &layout.config(&format!("{component}.kubeconfig")),
            &server,
            &pki.ca.cert,
            component,
            pki.client(component),
        )?;
    }
    Ok(layout.admin_kubeconfig())
}

/// containerd's configuration: a private instance whose sandboxes may not lower their OOM score
/// (this machine refuses negative `oom_score_adj`), cgroupfs, the CNI network and the registry's
/// hosts directory; its image store is `image_root`, kept between environments.
pub(crate) fn containerd(
    layout: &Layout,
    image_root: &Path,
    pause_image: &str,
    registry: Option<&NodeRegistry>,
) -> String {
    let auth = registry
        .map(|r| {
            format!(
                "\n  [plugins.\"io.containerd.grpc.v1.cri\".registry.configs.\"{}\".auth]\n    username = \"{}\"\n    password = \"{}\"\n",
                r.host, r.username, r.password
            )
        })
        .unwrap_or_default();
    format!(
        r#"version = 2
root = "{root}"
state = "{state}"
oom_score = 0
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]

[grpc]
  address = "{socket}"

[debug]
  address = ""

[metrics]
  address = ""

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "{opt}"
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "{pause_image}"
    restrict_oom_score_adj = true
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    enable_selinux = false
    disable_apparmor = true
    tolerate_missing_hugepages_controller = true
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          SystemdCgroup = false
          Root = "{runc_root}"
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "{cni}"
      max_conf_num = 1
    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = "{hosts}"
{auth}"#,
        root = image_root.display(),
        state = layout.data("containerd-state").display(),
        socket = layout.containerd_socket().display(),
        opt = layout.data("containerd-opt").display(),
        runc_root = layout.run().join("runc").display(),
        cni = layout.config("cni").display(),
        hosts = layout.registry_hosts().display(),
    )
}

/// The hosts file that sends pulls of `host` to it over plain HTTP.
pub(crate) fn registry_hosts(layout: &Layout, registry: &NodeRegistry) -> std::io::Result<()> {
    let dir = layout.registry_hosts().join(&registry.host);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(
        dir.join("hosts.toml"),
        format!(
            "server = \"http://{0}\"\n\n[host.\"http://{0}\"]\n  capabilities = [\"pull\", \"resolve\"]\n",
            registry.host
        ),
    )
}

/// The pod network: a bridge with host-local addresses, hostPort mappings, loopback.
pub(crate) fn cni(layout: &Layout) -> String {
    serde_json::json!({
        "cniVersion": "1.0.0",
        "name": "harness-pods",
        "plugins": [
            {"type": "bridge", "bridge": BRIDGE, "isGateway": true, "ipMasq": true, "hairpinMode": true,
             "ipam": {"type": "host-local", "ranges": [[{"subnet": POD_SUBNET, "gateway": NODE_IP.to_string()}]],
                      "routes": [{"dst": "0.0.0.0/0"}], "dataDir": layout.data("cni-ipam").display().to_string()}},
            {"type": "portmap", "capabilities": {"portMappings": true}},
            {"type": "loopback"}
        ]
    })
    .to_string()
}

/// The kubelet's configuration: its API on the node address only, cgroupfs and cgroup v1 (which
/// this machine has), no lowered OOM scores, imported images never garbage-collected.
pub(crate) fn kubelet(layout: &Layout, pki: &Pki, ports: &Ports) -> String {
    format!(
        r#"apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: {NODE_IP}
port: {kubelet_port}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: {healthz}
tlsCertFile: {serving_cert}
tlsPrivateKeyFile: {serving_key}
authentication:
  anonymous: {{enabled: false}}
  webhook: {{enabled: true}}
  x509: {{clientCAFile: {ca}}}
authorization:
  mode: Webhook
containerRuntimeEndpoint: unix://{socket}
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
cgroupsPerQOS: true
enforceNodeAllocatable: [pods]
oomScoreAdj: 0
maxOpenFiles: 20000
clusterDNS: [{DNS_SERVICE_IP}]
clusterDomain: cluster.local
resolvConf: ""
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1Gi
  imagefs.available: 1Gi
  nodefs.inodesFree: "1%"
podLogsDir: {pod_logs}
volumePluginDir: {plugins}
staticPodPath: ""
serializeImagePulls: false
"#,
        kubelet_port = ports.kubelet,
        healthz = ports.kubelet_healthz,
        serving_cert = pki.kubelet_serving.cert.display(),
        serving_key = pki.kubelet_serving.key.display(),
        ca = pki.ca.cert.display(),
        socket = layout.containerd_socket().display(),
        pod_logs = layout.data("pod-logs").display(),
        plugins = layout.data("volume-plugins").display(),
    )
}

/// kube-proxy in iptables mode, listening on loopback only, leaving conntrack sysctls alone.
pub(crate) fn kube_proxy(layout: &Layout, ports: &Ports) -> String {
    format!(
        r#"apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection:
  kubeconfig: {kubeconfig}
hostnameOverride: {NODE_NAME}
clusterCIDR: {CLUSTER_CIDR}
bindAddress: {NODE_IP}
healthzBindAddress: 127.0.0.1:{healthz}
metricsBindAddress: 127.0.0.1:{metrics}
nodePortAddresses: ["{NODE_IP}/32"]
oomScoreAdj: 0
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
iptables:
  masqueradeAll: false
  syncPeriod: 30s
  minSyncPeriod: 1s
"#,
        kubeconfig = layout.config("kube-proxy.kubeconfig").display(),
        healthz = ports.proxy_healthz,
        metrics = ports.proxy_metrics,
    )
}

/// The scheduler's configuration (one instance, no leader election).
pub(crate) fn scheduler(layout: &Layout) -> String {
    format!(
        "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nclientConnection:\n  kubeconfig: {}\nleaderElection:\n  leaderElect: false\n",
        layout.config("scheduler.kubeconfig").display()
    )
}
