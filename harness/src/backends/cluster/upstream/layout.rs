//! Where everything of one upstream cluster lives and listens: its directories under the
//! environment's state directory, its addresses on the pod bridge and loopback, and its ports.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

/// The pod bridge (the CNI bridge plugin reuses it); its address is the node's.
pub(crate) const BRIDGE: &str = "harness0";
/// The node's address: the bridge's gateway, reachable from this machine and from pods.
pub(crate) const NODE_IP: Ipv4Addr = Ipv4Addr::new(10, 244, 0, 1);
/// Pods of the node.
pub(crate) const POD_SUBNET: &str = "10.244.0.0/24";
/// Pods of the cluster.
pub(crate) const CLUSTER_CIDR: &str = "10.244.0.0/16";
/// Services.
pub(crate) const SERVICE_CIDR: &str = "10.96.0.0/16";
/// The `kubernetes` Service.
pub(crate) const KUBERNETES_SERVICE_IP: Ipv4Addr = Ipv4Addr::new(10, 96, 0, 1);
/// The cluster DNS Service (`kube-dns`).
pub(crate) const DNS_SERVICE_IP: Ipv4Addr = Ipv4Addr::new(10, 96, 0, 10);
/// The node's name.
pub(crate) const NODE_NAME: &str = "node-1";

/// Ports the components listen on, each picked free at start.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ports {
    pub(crate) etcd_client: u16,
    pub(crate) etcd_peer: u16,
    pub(crate) apiserver: u16,
    pub(crate) controller_manager: u16,
    pub(crate) scheduler: u16,
    pub(crate) kubelet: u16,
    pub(crate) kubelet_healthz: u16,
    pub(crate) proxy_healthz: u16,
    pub(crate) proxy_metrics: u16,
}

impl Ports {
    /// Free ports on loopback (and the API server's and kubelet's on the node address, which
    /// must exist already).
    pub(crate) fn pick() -> std::io::Result<Ports> {
        let loopback = |_: ()| free_port(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let node = || free_port(IpAddr::V4(NODE_IP));
        Ok(Ports {
            etcd_client: loopback(())?,
            etcd_peer: loopback(())?,
            apiserver: node()?,
            controller_manager: loopback(())?,
            scheduler: loopback(())?,
            kubelet: node()?,
            kubelet_healthz: loopback(())?,
            proxy_healthz: loopback(())?,
            proxy_metrics: loopback(())?,
        })
    }
}

#[cfg(test)]
impl Ports {
    /// Fixed ports, for tests that only read command lines.
    pub(crate) fn fixed_for_tests() -> Ports {
        Ports {
            etcd_client: 1,
            etcd_peer: 2,
            apiserver: 3,
            controller_manager: 4,
            scheduler: 5,
            kubelet: 6,
            kubelet_healthz: 7,
            proxy_healthz: 8,
            proxy_metrics: 9,
        }
    }
}

fn free_port(ip: IpAddr) -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind((ip, 0))?.local_addr()?.port())
}

/// The directories of one cluster, all under the environment's state directory.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub(crate) root: PathBuf,
}

impl Layout {
    pub(crate) fn new(state_dir: &Path) -> Self {
        Layout {
            root: state_dir.join("upstream"),
        }
    }
    pub(crate) fn pki(&self) -> PathBuf {
        self.root.join("pki")
    }
    pub(crate) fn config(&self, name: &str) -> PathBuf {
        self.root.join("config").join(name)
    }
    pub(crate) fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }
    pub(crate) fn data(&self, name: &str) -> PathBuf {
        self.root.join("data").join(name)
    }
    pub(crate) fn run(&self) -> PathBuf {
        self.root.join("run")
    }
    pub(crate) fn containerd_socket(&self) -> PathBuf {
        self.run().join("containerd.sock")
    }
    pub(crate) fn kubelet_root(&self) -> PathBuf {
        self.data("kubelet")
    }
    pub(crate) fn admin_kubeconfig(&self) -> PathBuf {
        self.config("admin.kubeconfig")
    }
    pub(crate) fn registry_hosts(&self) -> PathBuf {
        self.config("registry-hosts")
    }
}
