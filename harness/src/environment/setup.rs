//! The pieces of starting and stopping an environment that are not a backend's own: its private
//! state directory, clients from a kubeconfig, the project's variables, storage classes, and the
//! clean-up of what a scenario made in a GitLab it does not own.

use std::net::IpAddr;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use anyhow::{Context, anyhow};

use super::{Environment, MAVEN_MIRROR_VARIABLE};
use crate::clients::gitlab_api::{ApiProject, ApiVariable, GitLabApi};
use crate::provisioner::ClassOffer;
use crate::scenario::model::{EnvironmentSpec, VariableSpec};
use crate::scenario::vars::Vars;
use crate::services::maven_repo::MavenRepoHandle;
use harness_error_chain::Chain;

/// A new state directory for environment `id`, readable by its owner only (it holds tokens and
/// keys). The log goes there from now on.
pub(super) fn state_dir(id: &str) -> anyhow::Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new()
        .prefix(&format!("harness-{id}-"))
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir()
        .context("creating the environment's state directory")?;
    crate::logging::log_to(dir.path());
    Ok(dir)
}

/// Writes a file only its owner can read (kubeconfigs, tokens).
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(contents)
}

/// A kube client from a kubeconfig file (its current context).
pub async fn kube_client(kubeconfig: &Path) -> anyhow::Result<kube::Client> {
    let file = kube::config::Kubeconfig::read_from(kubeconfig)
        .with_context(|| format!("reading the kubeconfig {}", kubeconfig.display()))?;
    let config =
        kube::Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default())
            .await
            .with_context(|| format!("using the kubeconfig {}", kubeconfig.display()))?;
    kube::Client::try_from(config)
        .with_context(|| format!("a client for the kubeconfig {}", kubeconfig.display()))
}

/// The API server URL of a kubeconfig's current context.
pub fn kubeconfig_server(kubeconfig: &Path) -> Option<String> {
    let file = kube::config::Kubeconfig::read_from(kubeconfig).ok()?;
    let context = file.current_context.clone()?;
    let cluster = file
        .contexts
        .iter()
        .find(|c| c.name == context)?
        .context
        .as_ref()?
        .cluster
        .clone();
    file.clusters
        .iter()
        .find(|c| c.name == cluster)?
        .cluster
        .as_ref()?
        .server
        .clone()
}

/// Whether `ip` is an address of this machine (something on it can bind there).
pub fn is_local_address(ip: IpAddr) -> bool {
    ip.is_loopback() || std::net::TcpListener::bind((ip, 0)).is_ok()
}

/// `http://user:token@host/…` for git over HTTP with a personal access token.
pub(super) fn remote_with_token(http_url: &str, user: &str, token: &str) -> String {
    match http_url.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{user}:{token}@{rest}"),
        None => http_url.to_owned(),
    }
}

/// The scenario's StorageClasses (default: the tutorial's `rbd`).
pub(super) fn class_offers(spec: &EnvironmentSpec) -> Vec<ClassOffer> {
    match &spec.cluster.storage_classes {
        None => vec![ClassOffer::tutorial_rbd()],
        Some(classes) => classes
            .iter()
            .map(|c| ClassOffer {
                name: c.name.clone(),
                provisioner: c.provisioner.clone(),
                access_modes: c.access_modes.clone(),
                reported_access_modes: c.reported_access_modes.clone(),
                binding_mode: c.binding_mode.clone(),
                default: c.default,
            })
            .collect(),
    }
}

/// Sets the scenario's CI/CD variables on the project, and the Maven service's URL.
pub(super) async fn set_variables(
    gitlab: &GitLabApi,
    project: &ApiProject,
    spec: &EnvironmentSpec,
    vars: &Vars,
    maven: &MavenRepoHandle,
) -> anyhow::Result<()> {
    let mirror = ApiVariable {
        key: MAVEN_MIRROR_VARIABLE.into(),
        value: maven.url(),
        masked: false,
        protected: false,
        variable_type: "env_var".into(),
    };
    gitlab
        .set_variable(project.id, &mirror)
        .await
        .context("setting the Maven mirror variable")?;
    for (key, value) in &spec.gitlab.variables {
        let (value, masked, protected, variable_type) = match value {
            VariableSpec::Plain(value) => (value, false, false, None),
            VariableSpec::Full {
                value,
                masked,
                protected,
                variable_type,
            } => (value, *masked, *protected, variable_type.as_deref()),
        };
        let variable = ApiVariable {
            key: key.clone(),
            value: vars
                .expand(value)
                .map_err(|e| anyhow!("variable {key}: {e}"))?,
            masked,
            protected,
            variable_type: variable_type.unwrap_or("env_var").to_owned(),
        };
        gitlab
            .set_variable(project.id, &variable)
            .await
            .with_context(|| format!("setting CI/CD variable {key}"))?;
    }
    Ok(())
}

/// Removes the runners registered for the project during the scenario and the project when the
/// environment created it.
pub(super) async fn clean_gitlab(env: &Environment) -> String {
    let mut removed = vec![];
    let mut failed = vec![];
    match env.new_runners().await {
        Ok(runners) => {
            for runner in runners {
                match env.gitlab.delete_runner(runner.id).await {
                    Ok(()) => removed.push(format!("runner #{}", runner.id)),
                    Err(e) => failed.push(format!("runner #{}: {}", runner.id, Chain(&e))),
                }
            }
        }
        Err(e) => failed.push(format!("listing runners: {}", Chain(&e))),
    }
    if env.project_created {
        match env.gitlab.delete_project(env.project.id).await {
            Ok(()) => removed.push(format!("project {}", env.project.path_with_namespace)),
            Err(e) => failed.push(format!("project: {}", Chain(&e))),
        }
    }
    if failed.is_empty() {
        format!("external GitLab: removed {}", list_or_nothing(&removed))
    } else {
        tracing::warn!(
            ?failed,
            "could not remove everything the scenario made in GitLab"
        );
        format!(
            "external GitLab: removed {}; could not remove {}",
            list_or_nothing(&removed),
            failed.join(", ")
        )
    }
}

fn list_or_nothing(items: &[String]) -> String {
    if items.is_empty() {
        "nothing".into()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_carries_credentials() {
        assert_eq!(
            remote_with_token("http://127.0.0.1:8080/demo/app.git", "root", "glpat-x"),
            "http://root:glpat-x@127.0.0.1:8080/demo/app.git"
        );
    }

    #[test]
    fn state_directories_and_secrets_are_private() {
        let dir = state_dir("env-test").unwrap();
        let mode = std::fs::metadata(dir.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        let file = dir.path().join("token");
        write_private(&file, b"secret").unwrap();
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn loopback_and_bindable_addresses_are_local() {
        assert!(is_local_address("127.0.0.1".parse().unwrap()));
        assert!(!is_local_address("192.0.2.77".parse().unwrap()));
    }
}
