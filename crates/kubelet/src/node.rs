//! The Node object of this kubelet: registration, heartbeat (status + Lease), and NotReady on stop.

use std::collections::BTreeMap;

use bollard::Docker;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{
    DaemonEndpoint, Node, NodeAddress, NodeCondition, NodeDaemonEndpoints, NodeStatus,
    NodeSystemInfo,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};

use crate::error::Result;
use crate::status::NODE_IP;
use crate::{KubeletConfig, KubeletError};

const LEASE_NAMESPACE: &str = "kube-node-lease";

/// Facts about this machine shown in the Node's status.
#[derive(Debug, Clone)]
pub(crate) struct NodeFacts {
    pub runtime_version: String,
    pub kubelet_version: String,
    pub kernel: String,
    pub os_image: String,
    pub cpus: usize,
    pub memory_kib: u64,
}

impl NodeFacts {
    pub(crate) async fn gather(docker: &Docker, client: &kube::Client) -> Result<Self> {
        let version = docker
            .version()
            .await
            .map_err(|e| KubeletError::docker("reading the engine version", e))?;
        let kubelet_version = client
            .apiserver_version()
            .await
            .map(|v| v.git_version)
            .unwrap_or_else(|_| "v1.32.4".into());
        let os_image = std::fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|t| {
                t.lines().find_map(|l| {
                    l.strip_prefix("PRETTY_NAME=")
                        .map(|v| v.trim_matches('"').to_owned())
                })
            })
            .unwrap_or_else(|| "Linux".into());
        let memory_kib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|t| {
                t.lines().find_map(|l| {
                    l.strip_prefix("MemTotal:")
                        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                })
            })
            .unwrap_or(4 * 1024 * 1024);
        Ok(NodeFacts {
            runtime_version: format!(
                "docker://{}",
                version.version.unwrap_or_else(|| "unknown".into())
            ),
            kubelet_version,
            kernel: version.kernel_version.unwrap_or_default(),
            os_image,
            cpus: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            memory_kib,
        })
    }
}

fn condition(type_: &str, ok: bool, reason: &str, message: &str, now: Timestamp) -> NodeCondition {
    NodeCondition {
        type_: type_.into(),
        status: if ok { "True" } else { "False" }.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_heartbeat_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
    }
}

fn node_status(facts: &NodeFacts, config: &KubeletConfig, ready: bool) -> NodeStatus {
    let now = Timestamp::now();
    let resources: BTreeMap<String, Quantity> = [
        ("cpu", facts.cpus.to_string()),
        ("memory", format!("{}Ki", facts.memory_kib)),
        ("pods", "110".to_owned()),
        ("ephemeral-storage", "100Gi".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), Quantity(v)))
    .collect();
    let ready_condition = if ready {
        condition(
            "Ready",
            true,
            "KubeletReady",
            "kubelet is posting ready status",
            now,
        )
    } else {
        condition("Ready", false, "KubeletNotReady", "kubelet stopped", now)
    };
    NodeStatus {
        capacity: Some(resources.clone()),
        allocatable: Some(resources),
        conditions: Some(vec![
            condition(
                "MemoryPressure",
                false,
                "KubeletHasSufficientMemory",
                "kubelet has sufficient memory available",
                now,
            ),
            condition(
                "DiskPressure",
                false,
                "KubeletHasNoDiskPressure",
                "kubelet has no disk pressure",
                now,
            ),
            condition(
                "PIDPressure",
                false,
                "KubeletHasSufficientPID",
                "kubelet has sufficient PID available",
                now,
            ),
            ready_condition,
        ]),
        addresses: Some(vec![
            NodeAddress {
                type_: "InternalIP".into(),
                address: NODE_IP.into(),
            },
            NodeAddress {
                type_: "Hostname".into(),
                address: config.node_name.clone(),
            },
        ]),
        daemon_endpoints: Some(NodeDaemonEndpoints {
            kubelet_endpoint: Some(DaemonEndpoint { port: 10250 }),
        }),
        node_info: Some(NodeSystemInfo {
            architecture: config
                .node_labels
                .get("kubernetes.io/arch")
                .cloned()
                .unwrap_or_else(|| "amd64".into()),
            boot_id: String::new(),
            container_runtime_version: facts.runtime_version.clone(),
            kernel_version: facts.kernel.clone(),
            kube_proxy_version: String::new(),
            kubelet_version: facts.kubelet_version.clone(),
            machine_id: config.environment_id.clone(),
            operating_system: "linux".into(),
            os_image: facts.os_image.clone(),
            system_uuid: config.node_name.clone(),
            swap: None,
        }),
        ..Default::default()
    }
}

/// Creates the Node (or takes over an existing one) with a Ready status.
pub(crate) async fn register(
    client: &kube::Client,
    config: &KubeletConfig,
    facts: &NodeFacts,
) -> Result<()> {
    let api: Api<Node> = Api::all(client.clone());
    let node = Node {
        metadata: ObjectMeta {
            name: Some(config.node_name.clone()),
            labels: Some(config.node_labels.clone()),
            annotations: Some(BTreeMap::from([(
                "io.gitlab-k8s-harness/runtime".to_owned(),
                "embedded kubelet: pods run as Docker containers on the host network".to_owned(),
            )])),
            ..Default::default()
        },
        spec: None,
        status: Some(node_status(facts, config, true)),
    };
    match api.create(&PostParams::default(), &node).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {
            let patch = serde_json::json!({ "metadata": { "labels": config.node_labels } });
            api.patch(
                &config.node_name,
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
            .map_err(|e| KubeletError::api(format!("updating node {}", config.node_name), e))?;
        }
        Err(e) => {
            return Err(KubeletError::api(
                format!("registering node {}", config.node_name),
                e,
            ));
        }
    }
    write_status(client, config, facts, true).await
}

/// Writes the node status (status subresource, or the object where the server has none).
pub(crate) async fn write_status(
    client: &kube::Client,
    config: &KubeletConfig,
    facts: &NodeFacts,
    ready: bool,
) -> Result<()> {
    let api: Api<Node> = Api::all(client.clone());
    let patch = serde_json::json!({ "status": node_status(facts, config, ready) });
    let params = PatchParams::default();
    match api
        .patch_status(&config.node_name, &params, &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(first) => api
            .patch(&config.node_name, &params, &Patch::Merge(&patch))
            .await
            .map(drop)
            .map_err(|_| {
                KubeletError::api(
                    format!("writing the status of node {}", config.node_name),
                    first,
                )
            }),
    }
}

/// Renews the node's Lease in `kube-node-lease` (creating it the first time).
pub(crate) async fn renew_lease(client: &kube::Client, config: &KubeletConfig) -> Result<()> {
    let api: Api<Lease> = Api::namespaced(client.clone(), LEASE_NAMESPACE);
    let now = MicroTime(Timestamp::now());
    let spec = LeaseSpec {
        holder_identity: Some(config.node_name.clone()),
        lease_duration_seconds: Some(40),
        renew_time: Some(now),
        ..Default::default()
    };
    let patch = serde_json::json!({ "spec": spec });
    match api
        .patch(
            &config.node_name,
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(config.node_name.clone()),
                    namespace: Some(LEASE_NAMESPACE.into()),
                    ..Default::default()
                },
                spec: Some(spec),
            };
            api.create(&PostParams::default(), &lease)
                .await
                .map(drop)
                .map_err(|e| {
                    KubeletError::api(
                        format!("creating lease {LEASE_NAMESPACE}/{}", config.node_name),
                        e,
                    )
                })
        }
        Err(e) => Err(KubeletError::api(
            format!("renewing lease {LEASE_NAMESPACE}/{}", config.node_name),
            e,
        )),
    }
}
