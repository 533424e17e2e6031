//! The cluster the executor tests run against: embedded GitLab, API server and kubelet (real
//! Docker containers from the stand-in images), with the tutorial's RBAC and PVC.

use std::path::PathBuf;

use harness_apiserver::{ApiServer, ApiServerConfig, ApiServerHandle};
use harness_gitlab::GitLabHandle;
use harness_images::ImageProvisioner;
use harness_images::catalog::{CatalogInputs, find_kubectl, recipes};
use harness_kubelet::{Kubelet, KubeletConfig, KubeletHandle};
use harness_runner::commands::CommandError;
use harness_runner::config::{
    self, Config, HostPathVolume, KubernetesConfig, PvcVolume, RunnerConfig,
};
use harness_runner::multi::{Shutdown, Supervisor};
use kube::Api;
use kube::api::PostParams;
use tokio::task::JoinHandle;

use crate::common::*;

/// The namespace of the runner and its job pods.
pub const NS: &str = "gitlab-runners";
/// The chart's ServiceAccount for the runner manager.
pub const MANAGER_SA: &str = "gitlab-runner-gitlab-runner";

/// The embedded GitLab, API server and kubelet, with the tutorial's cluster objects installed.
pub struct World {
    /// Holds every component's state.
    pub dir: tempfile::TempDir,
    /// The embedded GitLab.
    pub gitlab: GitLabHandle,
    api: ApiServerHandle,
    kubelet: Option<KubeletHandle>,
    /// A client of the API server with full rights.
    pub client: kube::Client,
}

async fn missing_prerequisite() -> Option<String> {
    if harness_images::which("git").is_none() {
        return Some("git is not installed".into());
    }
    harness_images::engine_unavailable().await
}

fn apply_json<K>(value: serde_json::Value) -> K
where
    K: serde::de::DeserializeOwned,
{
    serde_json::from_value(value).unwrap()
}

impl World {
    /// Starts everything, or prints why this machine cannot and returns `None`.
    pub async fn start(test: &str) -> Option<World> {
        harness_test_support::init_tracing();
        if !can_run(
            missing_prerequisite()
                .await
                .map(|reason| format!("{test}: {reason}")),
        ) {
            return None;
        }
        let (gitlab_dir, gitlab) = start_gitlab().await;
        let dir = gitlab_dir;
        let api = ApiServer::start(ApiServerConfig::new(dir.path().join("apiserver")))
            .await
            .unwrap();
        let client = api.client().await.unwrap();
        let env_id = format!(
            "runner-test-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..10]
        );
        let binaries = PathBuf::from(helper_bin()).parent().unwrap().to_path_buf();
        let provisioner = ImageProvisioner::connect(
            dir.path().join("images"),
            recipes(&CatalogInputs {
                kubectl: find_kubectl(),
                runner_binaries: Some(binaries),
                coredns: None,
            }),
        )
        .unwrap()
        .with_pulls(false);
        let mut kc = KubeletConfig::new(
            "node-1",
            env_id,
            dir.path().join("kubelet"),
            api.url(),
            api.ca_pem(),
        );
        kc.host_path_passthrough.push(dir.path().join("apiserver"));
        let mut streams = None;
        let kubelet = Kubelet::start(kc, client.clone(), provisioner, |s| streams = Some(s))
            .await
            .unwrap();
        api.register_node_streams("node-1", streams.unwrap());
        let world = World {
            dir,
            gitlab,
            api,
            kubelet: Some(kubelet),
            client,
        };
        world.install_tutorial_objects().await;
        Some(world)
    }

    /// Namespace, the tutorial's RBAC for SA `gitlab`, the chart's SA/Role/RoleBinding for the
    /// manager, and the Maven cache PVC.
    async fn install_tutorial_objects(&self) {
        use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim, ServiceAccount};
        use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
        let pp = PostParams::default();
        Api::<Namespace>::all(self.client.clone())
            .create(
                &pp,
                &apply_json(serde_json::json!({"metadata": {"name": NS}})),
            )
            .await
            .unwrap();
        let sas: Api<ServiceAccount> = Api::namespaced(self.client.clone(), NS);
        for name in ["gitlab", MANAGER_SA] {
            sas.create(
                &pp,
                &apply_json(serde_json::json!({"metadata": {"name": name}})),
            )
            .await
            .unwrap();
        }
        let roles: Api<Role> = Api::namespaced(self.client.clone(), NS);
        let bindings: Api<RoleBinding> = Api::namespaced(self.client.clone(), NS);
        for (name, sa) in [("gitlab", "gitlab"), (MANAGER_SA, MANAGER_SA)] {
            roles
                .create(
                    &pp,
                    &apply_json(serde_json::json!({
                        "metadata": {"name": name},
                        "rules": [
                            {"apiGroups": [""], "resources": ["*"], "verbs": ["*"]},
                            {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["*"]}
                        ]
                    })),
                )
                .await
                .unwrap();
            bindings
                .create(&pp, &apply_json(serde_json::json!({
                    "metadata": {"name": name},
                    "subjects": [{"kind": "ServiceAccount", "name": sa}],
                    "roleRef": {"kind": "Role", "name": name, "apiGroup": "rbac.authorization.k8s.io"}
                })))
                .await
                .unwrap();
        }
        Api::<PersistentVolumeClaim>::namespaced(self.client.clone(), NS)
            .create(
                &pp,
                &apply_json(serde_json::json!({
                    "metadata": {"name": "gitlab-runner-pvc"},
                    "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "rbd",
                             "resources": {"requests": {"storage": "2Gi"}}}
                })),
            )
            .await
            .unwrap();
    }

    /// A config.toml like the tutorial's, authenticating as the chart's manager SA.
    async fn write_runner_config(&self) -> PathBuf {
        let client = harness_runner::api::Client::new(&self.gitlab.url()).unwrap();
        let reg = register_runner(&client, "runner-e2e").await;
        let ca = self.dir.path().join("ca.crt");
        std::fs::write(&ca, self.api.ca_pem()).unwrap();
        let token = self
            .api
            .service_account_token(NS, MANAGER_SA, 3600)
            .expect("SA token");
        let config = Config {
            concurrent: 2,
            check_interval: 1,
            runners: vec![RunnerConfig {
                name: "runner-e2e".into(),
                output_limit: 4096,
                request_concurrency: 1,
                url: self.gitlab.url(),
                token: reg.token,
                executor: "kubernetes".into(),
                kubernetes: Some(KubernetesConfig {
                    host: self.api.url(),
                    ca_file: Some(ca.to_string_lossy().into_owned()),
                    bearer_token: Some(token),
                    image: "ubuntu:16.04".into(),
                    namespace: NS.into(),
                    privileged: true,
                    pull_policy: vec!["if-not-present".into()],
                    poll_interval: 1,
                    poll_timeout: 600,
                    service_account: "gitlab".into(),
                    volumes: harness_runner::config::Volumes {
                        pvc: vec![PvcVolume {
                            name: "gitlab-runner-pvc".into(),
                            mount_path: "/home/cache/maven".into(),
                            read_only: false,
                        }],
                        host_path: vec![HostPathVolume {
                            name: "docker".into(),
                            mount_path: "/var/run/docker.sock".into(),
                            ..Default::default()
                        }],
                        ..Default::default()
                    },
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        };
        let path = self.dir.path().join("runner/config.toml");
        config::save(&path, &config).unwrap();
        path
    }

    /// Writes the runner's `config.toml` and starts its `run` loop; cancel the returned
    /// shutdown's tokens to stop it.
    pub async fn start_runner(&self) -> (Shutdown, JoinHandle<Result<(), CommandError>>) {
        let config_path = self.write_runner_config().await;
        let shutdown = Shutdown::default();
        let supervisor = tokio::spawn(Supervisor::new(config_path, shutdown.clone()).run());
        (shutdown, supervisor)
    }

    /// Stops the kubelet (which removes its containers).
    pub async fn shutdown(mut self) {
        if let Some(k) = self.kubelet.take() {
            let _ = k.shutdown().await;
        }
    }
}
