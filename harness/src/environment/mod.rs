//! An *Environment*: the cluster (API server + kubelets), the GitLab with the scenario's project,
//! the image registry and the Maven service, started together and stopped together.
//!
//! Everything it writes lives under its state directory; every container it starts carries the
//! label `io.gitlab-k8s-harness.env=<id>`. [`Environment::shutdown`] stops it all; dropping an
//! environment that was not shut down still removes its containers (the kubelet's guard) and
//! kills its processes.

pub mod git;
pub mod kubectl;
pub mod leftovers;
pub mod recorder;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use harness_apiserver::{ApiServer, ApiServerConfig, ApiServerHandle, StorageClassSpec};
use harness_gitlab::{GitLab, GitLabConfig, GitLabHandle, Project, Variable, VariableType};
use harness_images::catalog::{MAVEN_MIRROR_HOST, MAVEN_MIRROR_PORT};
use harness_kubelet::{Kubelet, KubeletConfig, KubeletHandle};

use crate::scenario::model::{EnvironmentSpec, VariableSpec};
use crate::scenario::vars::Vars;
use crate::services::maven_repo::{DEBIAN_MAVEN_REPO, MavenRepoHandle};
use crate::services::registry::{RegistryCredentials, RegistryHandle};
use git::WorkingCopy;
use kubectl::Kubectl;
use recorder::PodRecorder;

/// Label on every container of an environment.
pub const ENV_LABEL: &str = "io.gitlab-k8s-harness.env";

/// A running environment.
pub struct Environment {
    /// Unique id (container label value, directory name).
    pub id: String,
    state: Option<tempfile::TempDir>,
    state_dir: PathBuf,
    /// The cluster's API server.
    pub apiserver: ApiServerHandle,
    kubelets: Vec<KubeletHandle>,
    /// The GitLab.
    pub gitlab: GitLabHandle,
    /// The scenario's project.
    pub project: Project,
    /// The image registry.
    pub registry: RegistryHandle,
    /// The Maven repository service.
    pub maven: MavenRepoHandle,
    /// kubectl bound to this cluster.
    pub kubectl: Kubectl,
    /// Every pod seen.
    pub pods: PodRecorder,
    /// Admin client.
    pub client: kube::Client,
    /// The project's working copy.
    pub working_copy: WorkingCopy,
    /// `${…}` values this environment provides.
    pub vars: Vars,
    /// What is simulated, for reports.
    pub simulated: Vec<String>,
}

/// Progress callback: one line per start-up phase.
pub type Progress<'a> = &'a (dyn Fn(&str) + Sync);

impl Environment {
    /// Brings everything up. `scenario_dir` resolves relative paths.
    pub async fn start(
        spec: &EnvironmentSpec,
        scenario_dir: &Path,
        progress: Progress<'_>,
    ) -> anyhow::Result<Self> {
        let id = format!("env-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let state = tempfile::Builder::new()
            .prefix(&format!("harness-{id}-"))
            .tempdir()
            .context("creating the environment's state directory")?;
        let state_dir = state.path().to_owned();
        tracing::info!(%id, state = %state_dir.display(), "starting environment");

        progress("Maven repository service");
        let maven =
            MavenRepoHandle::start_on_own_loopback(MAVEN_MIRROR_PORT, Path::new(DEBIAN_MAVEN_REPO))
                .await?;

        progress("image registry");
        let credentials = RegistryCredentials {
            username: spec.registry.username.clone(),
            password: spec.registry.password.clone(),
        };
        let registry = RegistryHandle::start(&state_dir.join("registry"), credentials).await?;

        progress("Kubernetes API server");
        let mut config = ApiServerConfig::new(state_dir.join("cluster"));
        if let Some(classes) = &spec.cluster.storage_classes {
            config.storage_classes = classes
                .iter()
                .map(|c| StorageClassSpec {
                    name: c.name.clone(),
                    provisioner: c.provisioner.clone(),
                    access_modes: c.access_modes.clone(),
                    volume_binding_mode: c.binding_mode.clone(),
                    is_default: c.default,
                    reported_access_modes: c.reported_access_modes.clone(),
                })
                .collect();
        }
        let apiserver = ApiServer::start(config)
            .await
            .context("starting the API server")?;
        let client = apiserver
            .client()
            .await
            .context("connecting to the API server")?;

        progress("kubelet(s)");
        let images = crate::images::provisioner()?;
        let mut kubelets = Vec::new();
        for node in &spec.cluster.nodes {
            let mut config = KubeletConfig::new(
                node.clone(),
                id.clone(),
                state_dir.join("nodes").join(node),
                apiserver.url(),
                apiserver.ca_pem(),
            );
            config
                .extra_hosts
                .push((MAVEN_MIRROR_HOST.into(), maven.addr().ip()));
            config.host_path_passthrough.push(state_dir.join("cluster"));
            let kubelet = Kubelet::start(config, client.clone(), images.clone(), |streams| {
                apiserver.register_node_streams(node, streams)
            })
            .await
            .with_context(|| format!("starting the kubelet of node {node}"))?;
            kubelets.push(kubelet);
        }

        progress("GitLab");
        let gitlab = GitLab::start(GitLabConfig::new(state_dir.join("gitlab")))
            .await
            .context("starting the embedded GitLab")?;
        let project = gitlab.create_project(&spec.gitlab.project).await?;

        let mut vars = Vars::default();
        vars.set("env.id", id.clone());
        vars.set("env.state_dir", state_dir.display().to_string());
        vars.set("gitlab.url", gitlab.url());
        vars.set("gitlab.registration_token", gitlab.registration_token());
        vars.set("registry.host", registry.host());
        vars.set("registry.username", spec.registry.username.clone());
        vars.set("registry.password", spec.registry.password.clone());
        vars.set(
            "kubeconfig",
            apiserver.kubeconfig_path().display().to_string(),
        );
        vars.set("maven.url", maven.url());
        vars.set("scenario.dir", scenario_dir.display().to_string());
        vars.set("repo", crate::paths::repo_root().display().to_string());

        for (key, value) in &spec.gitlab.variables {
            let variable = match value {
                VariableSpec::Plain(value) => Variable {
                    key: key.clone(),
                    value: vars
                        .expand(value)
                        .map_err(|e| anyhow::anyhow!("variable {key}: {e}"))?,
                    masked: false,
                    protected: false,
                    variable_type: VariableType::default(),
                    raw: false,
                    environment_scope: "*".into(),
                },
                VariableSpec::Full {
                    value,
                    masked,
                    protected,
                    variable_type,
                } => Variable {
                    key: key.clone(),
                    value: vars
                        .expand(value)
                        .map_err(|e| anyhow::anyhow!("variable {key}: {e}"))?,
                    masked: *masked,
                    protected: *protected,
                    variable_type: match variable_type.as_deref() {
                        Some("file") => VariableType::File,
                        _ => VariableType::default(),
                    },
                    raw: false,
                    environment_scope: "*".into(),
                },
            };
            gitlab
                .set_variable(&project, variable)
                .await
                .with_context(|| format!("setting CI/CD variable {key}"))?;
        }

        let root = gitlab.root_credentials();
        let remote = project_remote(&project.http_url_to_repo, &root.username, &root.password);
        let working_copy = WorkingCopy::new(
            state_dir.join("work").join(&project.path_with_namespace),
            remote,
        );
        let kubectl = Kubectl::new(
            apiserver.kubeconfig_path(),
            &state_dir.join("kubectl-cache"),
            scenario_dir,
        );
        let pods = PodRecorder::start(client.clone());
        let simulated = vec![
            "Kubernetes API server: embedded (harness-apiserver), not kube-apiserver".into(),
            "kubelet: embedded (harness-kubelet); pods are Docker containers on the host network"
                .into(),
            "GitLab: embedded (harness-gitlab); Runner API, git smart HTTP and pipelines".into(),
            "gitlab-runner: the harness's own (harness-runner) in a stand-in image".into(),
        ];
        Ok(Self {
            id,
            state: Some(state),
            state_dir,
            apiserver,
            kubelets,
            gitlab,
            project,
            registry,
            maven,
            kubectl,
            pods,
            client,
            working_copy,
            vars,
            simulated,
        })
    }

    /// The state directory.
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// Keeps the state directory after shutdown (for `--keep` and failed scenarios).
    pub fn keep_state(&mut self) -> PathBuf {
        if let Some(state) = self.state.take() {
            let _ = state.keep();
        }
        self.state_dir.clone()
    }

    /// Stops everything: kubelets (removing the environment's containers), GitLab, registry,
    /// Maven service, API server. Returns how many containers were removed.
    pub async fn shutdown(mut self) -> usize {
        let mut removed = 0;
        for kubelet in std::mem::take(&mut self.kubelets) {
            match tokio::time::timeout(Duration::from_secs(60), kubelet.shutdown()).await {
                Ok(Ok(n)) => removed += n,
                Ok(Err(e)) => tracing::warn!(error = %e, "kubelet shutdown"),
                Err(_) => tracing::warn!("kubelet shutdown timed out"),
            }
        }
        self.registry.stop().await;
        let Environment {
            gitlab, apiserver, ..
        } = self;
        gitlab.shutdown().await;
        apiserver.shutdown().await;
        removed
    }
}

fn project_remote(http_url: &str, user: &str, password: &str) -> String {
    match http_url.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{user}:{password}@{rest}"),
        None => http_url.to_owned(),
    }
}

/// Ids of the containers labelled with environment `id` (or any environment when `None`).
pub async fn labelled_containers(
    docker: &bollard::Docker,
    id: Option<&str>,
) -> anyhow::Result<Vec<String>> {
    let filter = match id {
        Some(id) => format!("{ENV_LABEL}={id}"),
        None => ENV_LABEL.to_owned(),
    };
    let options = bollard::query_parameters::ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&std::collections::HashMap::from([(
            "label".to_owned(),
            vec![filter],
        )]))
        .build();
    let list = docker.list_containers(Some(options)).await?;
    Ok(list.into_iter().filter_map(|c| c.id).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_carries_credentials() {
        assert_eq!(
            project_remote("http://127.0.0.1:8080/demo/app.git", "root", "pw"),
            "http://root:pw@127.0.0.1:8080/demo/app.git"
        );
    }
}
