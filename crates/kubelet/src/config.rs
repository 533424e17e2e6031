//! Configuration of an embedded kubelet.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::KubeletError;

/// How to run a [`crate::Kubelet`].
#[derive(Debug, Clone)]
pub struct KubeletConfig {
    /// Name of the Node object this kubelet registers and serves.
    pub node_name: String,
    /// Environment id written to every container's `io.gitlab-k8s-harness.env` label; cleanup
    /// removes exactly the containers carrying it.
    pub environment_id: String,
    /// Directory for pod volumes (`pods/<uid>/…`) and the simulated node filesystem.
    pub state_dir: PathBuf,
    /// URL of the API server (`https://127.0.0.1:PORT`); its port becomes `KUBERNETES_SERVICE_PORT`.
    pub api_server_url: String,
    /// CA certificate (PEM) of the API server, written as `ca.crt` into ServiceAccount volumes.
    pub ca_pem: String,
    /// Host names added to every container's `/etc/hosts` (e.g. the Maven mirror).
    pub extra_hosts: Vec<(String, IpAddr)>,
    /// Host path of the Docker engine socket, mounted where a pod asks for hostPath
    /// `/var/run/docker.sock`.
    pub docker_socket: PathBuf,
    /// Host directories a pod's `hostPath` may name as they are (the API server's volume directory,
    /// for instance). Any other hostPath is placed under `state_dir/node-fs/`, a simulated node
    /// filesystem, so pods never write outside the environment's state.
    pub host_path_passthrough: Vec<PathBuf>,
    /// Labels of the Node object.
    pub node_labels: BTreeMap<String, String>,
    /// How often the node status and Lease are renewed.
    pub heartbeat_interval: Duration,
    /// How often each pod worker re-checks its containers and probes when nothing wakes it.
    pub sync_interval: Duration,
    /// First delay before restarting a crashed container or retrying a failed pull (doubles, capped).
    pub backoff_base: Duration,
    /// Longest restart/pull back-off.
    pub backoff_max: Duration,
}

impl KubeletConfig {
    /// A configuration with defaults for everything but identity, state and API server.
    pub fn new(
        node_name: impl Into<String>,
        environment_id: impl Into<String>,
        state_dir: impl Into<PathBuf>,
        api_server_url: impl Into<String>,
        ca_pem: impl Into<String>,
    ) -> Self {
        let node_name = node_name.into();
        let state_dir = state_dir.into();
        let mut node_labels = BTreeMap::new();
        node_labels.insert("kubernetes.io/hostname".into(), node_name.clone());
        node_labels.insert("kubernetes.io/os".into(), "linux".into());
        node_labels.insert(
            "kubernetes.io/arch".into(),
            std::env::consts::ARCH
                .replace("x86_64", "amd64")
                .replace("aarch64", "arm64"),
        );
        KubeletConfig {
            node_name,
            environment_id: environment_id.into(),
            host_path_passthrough: vec![state_dir.clone()],
            state_dir,
            api_server_url: api_server_url.into(),
            ca_pem: ca_pem.into(),
            extra_hosts: Vec::new(),
            docker_socket: default_docker_socket(),
            node_labels,
            heartbeat_interval: Duration::from_secs(10),
            sync_interval: Duration::from_millis(500),
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(120),
        }
    }

    /// Host and port of the API server as containers reach it (host network).
    pub(crate) fn api_host_port(&self) -> Result<(String, u16), KubeletError> {
        let url: reqwest::Url = self.api_server_url.parse().map_err(|e| {
            KubeletError::Config(format!(
                "api_server_url {:?} is not a URL: {e}",
                self.api_server_url
            ))
        })?;
        let host = url
            .host_str()
            .unwrap_or("127.0.0.1")
            .trim_matches(['[', ']'])
            .to_owned();
        let port = url.port_or_known_default().ok_or_else(|| {
            KubeletError::Config(format!(
                "api_server_url {:?} has no port",
                self.api_server_url
            ))
        })?;
        Ok((host, port))
    }

    /// Checks the fields other code relies on.
    pub(crate) fn validate(&self) -> Result<(), KubeletError> {
        if self.node_name.is_empty() {
            return Err(KubeletError::Config(
                "node_name is empty; give the node a name".into(),
            ));
        }
        if self.environment_id.is_empty()
            || !self
                .environment_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            return Err(KubeletError::Config(format!(
                "environment_id {:?} must be non-empty and use only [A-Za-z0-9._-] (it is part of container names)",
                self.environment_id
            )));
        }
        self.api_host_port()?;
        Ok(())
    }
}

/// The engine socket named by `DOCKER_HOST` (`unix://…`), else `/var/run/docker.sock`.
fn default_docker_socket() -> PathBuf {
    std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|h| h.strip_prefix("unix://").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/var/run/docker.sock"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_port_comes_from_the_url() {
        let c = KubeletConfig::new("n", "env-1", "/tmp/x", "https://127.0.0.1:34567", "");
        assert_eq!(c.api_host_port().unwrap(), ("127.0.0.1".into(), 34567));
        c.validate().unwrap();
    }

    #[test]
    fn environment_ids_that_break_names_are_refused() {
        let c = KubeletConfig::new("n", "a/b", "/tmp/x", "https://127.0.0.1:1", "");
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("environment_id"), "{e}");
    }
}
