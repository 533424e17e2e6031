//! An *Environment*: a cluster and a GitLab from their backends, the scenario's project, the
//! image registry, the Maven service and the storage provisioner, started together and stopped
//! together.
//!
//! The environment holds the backends only to start and stop them; everything a step or an
//! assertion does goes through public interfaces: [`Environment::kube`] and
//! [`Environment::kubectl`] (the kubeconfig), [`Environment::gitlab`] (GitLab's REST API with a
//! token) and the working copy's `git push`, and the registry's HTTP API. Everything it writes
//! lives under its state directory (mode 0700).

pub mod command;
pub mod git;
pub mod kubectl;
pub mod leftovers;
pub mod recorder;
mod setup;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::backends::cluster::{self, Cluster, Powers, StartContext};
use crate::backends::gitlab::{self as gitlab_backend, GitLabServer};
use crate::backends::{BackendError, Choice, Overrides};
use crate::clients::gitlab_api::{ApiProject, GitLabApi};
use crate::provisioner::Provisioner;
use crate::scenario::model::EnvironmentSpec;
use crate::scenario::vars::Vars;
use crate::services::maven_repo::{DEBIAN_MAVEN_REPO, MavenRepoHandle};
use crate::services::registry::{RegistryCredentials, RegistryHandle};
use git::WorkingCopy;
use kubectl::Kubectl;
use recorder::PodRecorder;

pub use setup::{is_local_address, kube_client, kubeconfig_server, write_private};

/// Label on every container and cluster-scoped object of an environment.
pub const ENV_LABEL: &str = "io.gitlab-k8s-harness.env";

/// The project CI/CD variable that tells the Maven stand-in where the Maven service is.
pub const MAVEN_MIRROR_VARIABLE: &str = "MAVEN_MIRROR_URL";

/// A running environment.
pub struct Environment {
    /// Unique id (labels, directory names).
    pub id: String,
    state: Option<tempfile::TempDir>,
    state_dir: PathBuf,
    cluster: Option<Box<dyn Cluster>>,
    gitlab_server: Option<Box<dyn GitLabServer>>,
    /// GitLab's REST API, as the environment's token.
    pub gitlab: GitLabApi,
    /// The scenario's project.
    pub project: ApiProject,
    project_created: bool,
    runners_before: Vec<u64>,
    /// The image registry.
    pub registry: RegistryHandle,
    /// The Maven repository service.
    pub maven: MavenRepoHandle,
    /// kubectl bound to the cluster.
    pub kubectl: Kubectl,
    /// A client of the cluster (the kubeconfig's credentials).
    pub kube: kube::Client,
    /// Every pod seen.
    pub pods: PodRecorder,
    provisioner: Option<Provisioner>,
    /// The project's working copy.
    pub working_copy: WorkingCopy,
    /// `${…}` values this environment provides.
    pub vars: Vars,
    /// For reports: what served as each part, and what of it is real or a stand-in.
    pub described: Vec<String>,
    /// What the cluster offers beyond its API.
    pub powers: Powers,
    /// The address pods reach this machine at.
    pub advertise: IpAddr,
}

/// Progress callback: one line per start-up phase.
pub type Progress<'a> = &'a (dyn Fn(&str) + Sync);

impl Environment {
    /// Brings everything up on the backends `overrides` and `spec` choose. `scenario_dir`
    /// resolves relative paths.
    pub async fn start(
        spec: &EnvironmentSpec,
        scenario_dir: &Path,
        overrides: &Overrides,
        progress: Progress<'_>,
    ) -> anyhow::Result<Self> {
        let choice = Choice::resolve(spec, scenario_dir, overrides)?;
        let id = format!("env-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let state = setup::state_dir(&id)?;
        let state_dir = state.path().to_owned();
        tracing::info!(%id, state = %state_dir.display(), cluster = %choice.cluster, "starting environment");

        let mut started = Partial::default();
        let result = Self::compose(
            spec,
            scenario_dir,
            &choice,
            (&id, &state_dir),
            &mut started,
            progress,
        )
        .await;
        match (result, started.registry.take()) {
            (Ok(parts), Some(registry)) => {
                Ok(parts.finish(id, state, state_dir, registry, started))
            }
            (result, registry) => {
                started.registry = registry;
                started.stop().await;
                Err(result
                    .err()
                    .unwrap_or_else(|| anyhow::anyhow!("the registry did not start")))
            }
        }
    }

    /// Starts the parts one by one into `started` (so that a failure stops what was started).
    async fn compose(
        spec: &EnvironmentSpec,
        scenario_dir: &Path,
        choice: &Choice,
        (id, state_dir): (&str, &Path),
        started: &mut Partial,
        progress: Progress<'_>,
    ) -> anyhow::Result<Parts> {
        progress("image registry");
        let credentials = RegistryCredentials {
            username: spec.registry.username.clone(),
            password: spec.registry.password.clone(),
        };
        let registry = started
            .registry
            .insert(RegistryHandle::start(&state_dir.join("registry"), credentials).await?);
        let node_registry = cluster::upstream::NodeRegistry {
            host: registry.host(),
            username: spec.registry.username.clone(),
            password: spec.registry.password.clone(),
        };
        let context = StartContext {
            env_id: id,
            state_dir,
            spec: &spec.cluster,
            progress,
            registry: Some(node_registry),
        };
        let cluster = &**started
            .cluster
            .insert(cluster::start(choice, &context).await?);
        let kubeconfig = cluster.kubeconfig().to_owned();
        if let Some(reason) = cluster.powers().lacking(&spec.cluster.needs) {
            return Err(BackendError::NotApplicable {
                backend: cluster.backend().to_string(),
                reason,
            }
            .into());
        }
        let kube = kube_client(&kubeconfig).await?;
        let cluster_version = kube.apiserver_version().await?.git_version;
        let advertise = match choice.advertise_address.or(cluster.host_address()) {
            Some(ip) => ip,
            None => {
                return Err(BackendError::Usage(format!(
                    "cannot work out an address pods of the {} cluster reach this machine at: \
                     give environment.advertise_address or --advertise-address",
                    cluster.backend()
                ))
                .into());
            }
        };
        progress("Maven repository service");
        let maven = MavenRepoHandle::start(
            std::net::SocketAddr::new(advertise, 0),
            Path::new(DEBIAN_MAVEN_REPO),
        )
        .await?;
        progress("GitLab");
        let server = &**started
            .gitlab
            .insert(gitlab_backend::start(choice, state_dir, advertise).await?);
        let gitlab = GitLabApi::new(&server.url(), &server.token());
        let mut described = cluster.describe();
        described.extend(server.describe());
        let (project, project_created) = match gitlab.find_project(&spec.gitlab.project).await? {
            Some(project) => {
                described.push(format!(
                    "project {} existed already: reused, and left in place afterwards",
                    project.path_with_namespace
                ));
                (project, false)
            }
            None => (gitlab.create_project(&spec.gitlab.project).await?, true),
        };
        let runners_before = gitlab
            .project_runners(project.id)
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect();

        let mut vars = Vars::default();
        vars.set("env.id", id.to_owned());
        vars.set("env.state_dir", state_dir.display().to_string());
        vars.set("gitlab.url", gitlab.url());
        vars.set(
            "gitlab.registration_token",
            project.runners_token.clone().unwrap_or_default(),
        );
        vars.set("registry.host", registry.host());
        vars.set("registry.username", spec.registry.username.clone());
        vars.set("registry.password", spec.registry.password.clone());
        vars.set("kubeconfig", kubeconfig.display().to_string());
        vars.set("cluster.version", cluster_version);
        vars.set("maven.url", maven.url());
        vars.set("scenario.dir", scenario_dir.display().to_string());
        vars.set("repo", crate::paths::repo_root().display().to_string());
        setup::set_variables(&gitlab, &project, spec, &vars, &maven).await?;

        progress("storage provisioner");
        let provisioner = Provisioner::start(
            kube.clone(),
            setup::class_offers(spec),
            state_dir.join("volumes"),
            id,
        )
        .await
        .map_err(|e| match e {
            e @ crate::provisioner::ProvisionerError::Conflict { .. } => {
                anyhow::Error::from(BackendError::NotApplicable {
                    backend: cluster.backend().to_string(),
                    reason: e.to_string(),
                })
            }
            e => anyhow::Error::from(e),
        })?;

        let user = gitlab.username().await?;
        let working_copy = WorkingCopy::new(
            state_dir.join("work").join(&project.path_with_namespace),
            setup::remote_with_token(&project.http_url_to_repo, &user, gitlab.token()),
        );
        let kubectl = Kubectl::new(&kubeconfig, &state_dir.join("kubectl-cache"), scenario_dir)
            .with_binary(cluster.kubectl());
        let pods = PodRecorder::start(kube.clone());
        let powers = cluster.powers();
        Ok(Parts {
            gitlab,
            project,
            project_created,
            runners_before,
            maven,
            kubectl,
            kube,
            pods,
            provisioner,
            working_copy,
            vars,
            described,
            powers,
            advertise,
        })
    }

    /// The state directory.
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// The GitLab's sign-in user and password, when its backend knows them.
    pub fn gitlab_sign_in(&self) -> Option<(String, String)> {
        self.gitlab_server.as_ref().and_then(|g| g.sign_in())
    }

    /// The kubeconfig of the cluster.
    pub fn kubeconfig(&self) -> PathBuf {
        self.cluster
            .as_ref()
            .map(|c| c.kubeconfig().to_owned())
            .unwrap_or_default()
    }

    /// Runners registered for the project since the environment started.
    pub async fn new_runners(
        &self,
    ) -> Result<
        Vec<crate::clients::gitlab_api::ApiRunner>,
        crate::clients::gitlab_api::GitLabApiError,
    > {
        Ok(self
            .gitlab
            .project_runners(self.project.id)
            .await?
            .into_iter()
            .filter(|r| !self.runners_before.contains(&r.id))
            .collect())
    }

    /// Keeps the state directory after shutdown (for `--keep` and failed scenarios).
    pub fn keep_state(&mut self) -> PathBuf {
        if let Some(state) = self.state.take() {
            let _ = state.keep();
        }
        self.state_dir.clone()
    }

    /// Stops everything and removes what the scenario created where it does not own the place:
    /// namespaces and cluster-scoped objects of an existing cluster, the project and runners of
    /// an external GitLab. Returns one line per part.
    pub async fn shutdown(mut self) -> Vec<String> {
        drop(self.provisioner.take());
        self.registry.stop().await;
        // The cluster first: removing its namespaces stops the runner, which unregisters itself.
        let mut partial = Partial {
            cluster: self.cluster.take(),
            ..Default::default()
        };
        let mut summary = partial.stop().await;
        let external = self
            .gitlab_server
            .as_ref()
            .is_some_and(|g| g.backend() == crate::scenario::model::GitLabBackend::External);
        if external {
            summary.push(setup::clean_gitlab(&self).await);
        }
        partial.gitlab = self.gitlab_server.take();
        summary.extend(partial.stop().await);
        // After the cluster: its containers (the embedded kubelet's) run these images.
        summary.extend(self.remove_built_images().await);
        summary
    }

    /// Removes from the node's Docker engine the images the pipelines built and pushed to this
    /// environment's registry (job pods reach that engine through the mounted Docker socket).
    async fn remove_built_images(&self) -> Option<String> {
        match leftovers::remove_images_tagged_under(&self.registry.host()).await {
            Ok(0) => None,
            Ok(n) => Some(format!("removed {n} image tag(s) the pipelines built")),
            Err(e) => Some(format!("images the pipelines built not removed: {e}")),
        }
    }
}

/// The parts started so far, stopped together when the start fails half-way.
#[derive(Default)]
struct Partial {
    registry: Option<RegistryHandle>,
    cluster: Option<Box<dyn Cluster>>,
    gitlab: Option<Box<dyn GitLabServer>>,
}

impl Partial {
    async fn stop(&mut self) -> Vec<String> {
        let mut summary = vec![];
        if let Some(mut registry) = self.registry.take() {
            registry.stop().await;
        }
        if let Some(gitlab) = self.gitlab.take() {
            gitlab.stop().await;
        }
        if let Some(cluster) = self.cluster.take() {
            match tokio::time::timeout(Duration::from_secs(300), cluster.stop()).await {
                Ok(line) => summary.push(line),
                Err(_) => summary.push("the cluster did not stop within 300 s".into()),
            }
        }
        summary
    }
}

/// What [`Environment::compose`] made, before it is an [`Environment`].
struct Parts {
    gitlab: GitLabApi,
    project: ApiProject,
    project_created: bool,
    runners_before: Vec<u64>,
    maven: MavenRepoHandle,
    kubectl: Kubectl,
    kube: kube::Client,
    pods: PodRecorder,
    provisioner: Provisioner,
    working_copy: WorkingCopy,
    vars: Vars,
    described: Vec<String>,
    powers: Powers,
    advertise: IpAddr,
}

impl Parts {
    fn finish(
        self,
        id: String,
        state: tempfile::TempDir,
        state_dir: PathBuf,
        registry: RegistryHandle,
        env: Partial,
    ) -> Environment {
        Environment {
            registry,
            id,
            state: Some(state),
            state_dir,
            cluster: env.cluster,
            gitlab_server: env.gitlab,
            gitlab: self.gitlab,
            project: self.project,
            project_created: self.project_created,
            runners_before: self.runners_before,
            maven: self.maven,
            kubectl: self.kubectl,
            kube: self.kube,
            pods: self.pods,
            provisioner: Some(self.provisioner),
            working_copy: self.working_copy,
            vars: self.vars,
            described: self.described,
            powers: self.powers,
            advertise: self.advertise,
        }
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
