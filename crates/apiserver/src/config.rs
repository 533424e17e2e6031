//! Configuration of an embedded API server.

use std::path::PathBuf;

/// A StorageClass with the capabilities of its (simulated) provisioner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageClassSpec {
    /// StorageClass name, e.g. `rbd`.
    pub name: String,
    /// Provisioner name shown on the class, e.g. `kubernetes.io/rbd`.
    pub provisioner: String,
    /// Access modes the provisioner can provide; a claim asking for another stays Pending.
    pub access_modes: Vec<String>,
    /// `Immediate` or `WaitForFirstConsumer`.
    pub volume_binding_mode: String,
    /// Marked as the cluster's default class.
    pub is_default: bool,
    /// Access modes the provisioned volume reports, when the provisioner records other modes
    /// than the claim asked for (the tutorial's `rbd` listing shows RWO for an RWX claim).
    /// `None` = the claim's modes.
    pub reported_access_modes: Option<Vec<String>>,
}

impl StorageClassSpec {
    /// A class with `Immediate` binding that provides `access_modes`.
    pub fn new(name: &str, provisioner: &str, access_modes: &[&str]) -> Self {
        StorageClassSpec {
            name: name.into(),
            provisioner: provisioner.into(),
            access_modes: access_modes.iter().map(|s| s.to_string()).collect(),
            volume_binding_mode: "Immediate".into(),
            is_default: false,
            reported_access_modes: None,
        }
    }

    /// The tutorial's `rbd` class: binds ReadWriteMany claims and, as the tutorial's
    /// `kubectl get pvc` listing shows, the bound volume reports `RWO`.
    pub fn tutorial_rbd() -> Self {
        StorageClassSpec {
            reported_access_modes: Some(vec!["ReadWriteOnce".into()]),
            ..Self::new(
                "rbd",
                "kubernetes.io/rbd",
                &["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany"],
            )
        }
    }

    /// A host-path class that can only give ReadWriteOnce (RWX claims stay Pending).
    pub fn local_rwo() -> Self {
        Self::new("local-path", "rancher.io/local-path", &["ReadWriteOnce"])
    }
}

/// How to run an [`crate::ApiServer`].
#[derive(Debug, Clone)]
pub struct ApiServerConfig {
    /// Directory for the kubeconfig, certificates and volumes (`state_dir/volumes/…`).
    pub state_dir: PathBuf,
    /// StorageClasses created at start-up.
    pub storage_classes: Vec<StorageClassSpec>,
    /// Kubernetes version reported by `/version` (its minor picks the kubectl binary).
    pub version: (u32, u32, u32),
    /// Cluster name used in the kubeconfig.
    pub cluster_name: String,
    /// Run the built-in scheduler.
    pub run_scheduler: bool,
    /// Run the built-in controllers (deployments, replicasets, GC, namespaces, PVC binder, …).
    pub run_controllers: bool,
    /// How many past changes watches can resume from (older resourceVersions get 410 Expired).
    pub watch_history: usize,
    /// Keep the cluster's state in `state_dir/cluster-state.json` and start from it when it is
    /// there (same CA, tokens, objects and address), so the environment survives a restart.
    pub persist: bool,
}

impl ApiServerConfig {
    /// Defaults: Kubernetes v1.32.4, the tutorial's `rbd` class as default, all controllers on.
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        let mut rbd = StorageClassSpec::tutorial_rbd();
        rbd.is_default = true;
        ApiServerConfig {
            state_dir: state_dir.into(),
            storage_classes: vec![rbd],
            version: (1, 32, 4),
            cluster_name: "harness".into(),
            run_scheduler: true,
            run_controllers: true,
            watch_history: 200_000,
            persist: false,
        }
    }
}
