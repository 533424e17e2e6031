//! The command lines of the components, as `hack/local-up-cluster.sh` and "Kubernetes the hard
//! way" give them: everything on loopback or the node address, every file under the layout.

use std::fmt::Display;
use std::path::Path;

use super::layout::{Layout, NODE_IP, NODE_NAME, Ports, SERVICE_CIDR};
use super::pki::Pki;

/// Command-line flags, `--name=value` each.
#[derive(Default)]
struct Flags(Vec<String>);

impl Flags {
    fn set(mut self, name: &str, value: impl Display) -> Self {
        self.0.push(format!("--{name}={value}"));
        self
    }

    fn path(self, name: &str, path: &Path) -> Self {
        self.set(name, path.display())
    }
}

/// etcd on loopback: clients and its one peer.
pub(super) fn etcd(layout: &Layout, ports: &Ports) -> Vec<String> {
    let client = format!("http://127.0.0.1:{}", ports.etcd_client);
    let peer = format!("http://127.0.0.1:{}", ports.etcd_peer);
    Flags::default()
        .set("name", "harness")
        .path("data-dir", &layout.data("etcd"))
        .set("listen-client-urls", &client)
        .set("advertise-client-urls", &client)
        .set("listen-peer-urls", &peer)
        .set("initial-advertise-peer-urls", &peer)
        .set("initial-cluster", format!("harness={peer}"))
        .set("listen-metrics-urls", "")
        .set("log-level", "warn")
        .0
}

/// kube-apiserver on the node address (the `kubernetes` Service's endpoint must be reachable
/// from pods), `Node,RBAC` authorization, the default admission plugins plus NodeRestriction.
pub(super) fn apiserver(pki: &Pki, ports: &Ports) -> Vec<String> {
    Flags::default()
        .set(
            "etcd-servers",
            format!("http://127.0.0.1:{}", ports.etcd_client),
        )
        .set("bind-address", NODE_IP)
        .set("advertise-address", NODE_IP)
        .set("secure-port", ports.apiserver)
        .set("service-cluster-ip-range", SERVICE_CIDR)
        .path("client-ca-file", &pki.ca.cert)
        .path("tls-cert-file", &pki.apiserver.cert)
        .path("tls-private-key-file", &pki.apiserver.key)
        .path(
            "kubelet-client-certificate",
            &pki.apiserver_kubelet_client.cert,
        )
        .path("kubelet-client-key", &pki.apiserver_kubelet_client.key)
        .path("kubelet-certificate-authority", &pki.ca.cert)
        .set("kubelet-preferred-address-types", "InternalIP")
        .set(
            "service-account-issuer",
            "https://kubernetes.default.svc.cluster.local",
        )
        .path("service-account-key-file", &pki.service_account_pub)
        .path("service-account-signing-key-file", &pki.service_account_key)
        .set("authorization-mode", "Node,RBAC")
        .set("enable-admission-plugins", "NodeRestriction")
        .set("allow-privileged", true)
        .path("requestheader-client-ca-file", &pki.front_proxy_ca.cert)
        .set("requestheader-allowed-names", "front-proxy-client")
        .set("requestheader-username-headers", "X-Remote-User")
        .set("requestheader-group-headers", "X-Remote-Group")
        .set("requestheader-extra-headers-prefix", "X-Remote-Extra-")
        .path("proxy-client-cert-file", &pki.front_proxy_client.cert)
        .path("proxy-client-key-file", &pki.front_proxy_client.key)
        .0
}

/// kube-controller-manager with every controller, one instance, its port on loopback.
pub(super) fn controller_manager(layout: &Layout, pki: &Pki, ports: &Ports) -> Vec<String> {
    let kubeconfig = layout.config("controller-manager.kubeconfig");
    Flags::default()
        .path("kubeconfig", &kubeconfig)
        .path("authentication-kubeconfig", &kubeconfig)
        .path("authorization-kubeconfig", &kubeconfig)
        .set("bind-address", "127.0.0.1")
        .set("secure-port", ports.controller_manager)
        .path("service-account-private-key-file", &pki.service_account_key)
        .path("root-ca-file", &pki.ca.cert)
        .path("cluster-signing-cert-file", &pki.ca.cert)
        .path("cluster-signing-key-file", &pki.ca.key)
        .set("use-service-account-credentials", true)
        .set("service-cluster-ip-range", SERVICE_CIDR)
        .set("leader-elect", false)
        .set("controllers", "*")
        .path("flex-volume-plugin-dir", &layout.data("flex-volumes"))
        .0
}

/// kube-scheduler, its port on loopback.
pub(super) fn scheduler(layout: &Layout, ports: &Ports) -> Vec<String> {
    let kubeconfig = layout.config("scheduler.kubeconfig");
    Flags::default()
        .path("config", &layout.config("kube-scheduler.yaml"))
        .path("authentication-kubeconfig", &kubeconfig)
        .path("authorization-kubeconfig", &kubeconfig)
        .set("bind-address", "127.0.0.1")
        .set("secure-port", ports.scheduler)
        .0
}

/// kube-proxy from its configuration file.
pub(super) fn kube_proxy(layout: &Layout) -> Vec<String> {
    Flags::default()
        .path("config", &layout.config("kube-proxy.yaml"))
        .0
}

/// The kubelet: its configuration file, its client certificate, the node address.
pub(super) fn kubelet(layout: &Layout) -> Vec<String> {
    Flags::default()
        .path("config", &layout.config("kubelet.yaml"))
        .path("kubeconfig", &layout.config("kubelet.kubeconfig"))
        .set("hostname-override", NODE_NAME)
        .set("node-ip", NODE_IP)
        .path("root-dir", &layout.kubelet_root())
        .set("v", 1)
        .0
}

/// containerd from its configuration file.
pub(super) fn containerd(layout: &Layout) -> Vec<String> {
    Flags::default()
        .path("config", &layout.config("containerd.toml"))
        .0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_listens_on_every_address() {
        let layout = Layout::new(Path::new("/state"));
        let ports = Ports::fixed_for_tests();
        let every = [
            etcd(&layout, &ports),
            controller_manager_without_pki(&layout, &ports),
            scheduler(&layout, &ports),
        ]
        .concat();
        assert!(!every.iter().any(|f| f.contains("0.0.0.0")), "{every:?}");
        assert!(every.contains(&"--bind-address=127.0.0.1".to_owned()));
        assert!(kubelet(&layout).contains(&format!("--node-ip={NODE_IP}")));
    }

    fn controller_manager_without_pki(layout: &Layout, ports: &Ports) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let pki = super::super::pki::generate(
            dir.path(),
            NODE_NAME,
            std::net::IpAddr::V4(NODE_IP),
            "10.96.0.1".parse().unwrap(),
        )
        .unwrap();
        controller_manager(layout, &pki, ports)
    }
}
