//! The parts an environment is composed of, each behind the interface a real one offers: a
//! cluster reached through a kubeconfig and a GitLab reached through its URL and a token.
//!
//! Which backend serves a scenario comes from the scenario file (`environment.cluster.backend`,
//! `environment.gitlab.backend`), overridden for every scenario at once by [`Overrides`] (the
//! command line and `HARNESS_*` variables). A backend that cannot run here says why and how to
//! make it work ([`BackendError::Unavailable`]); a scenario that needs a power the backend lacks
//! is not applicable ([`BackendError::NotApplicable`]) — neither is ever faked.

pub mod cluster;
pub mod gitlab;

use std::net::IpAddr;
use std::path::PathBuf;

use crate::scenario::model::{Backend, EnvironmentSpec, GitLabBackend};

/// Why an environment could not be composed.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The backend cannot run on this machine (exit code 2 on the command line).
    #[error("backend {backend} is not available here: {reason}; {fix}")]
    Unavailable {
        /// Which backend.
        backend: String,
        /// Why not.
        reason: String,
        /// What would make it work.
        fix: String,
    },
    /// The backend can run here once something is installed or built (`harness doctor --fix`;
    /// exit code 3 on the command line).
    #[error("backend {backend} needs {missing}: {fix}")]
    MissingPrerequisite {
        /// Which backend.
        backend: String,
        /// What is missing.
        missing: String,
        /// The command that provides it.
        fix: String,
    },
    /// The scenario needs something the backend does not offer.
    #[error("not applicable on backend {backend}: {reason}")]
    NotApplicable {
        /// Which backend.
        backend: String,
        /// What is missing.
        reason: String,
    },
    /// The backend was asked for with missing or contradictory settings.
    #[error("{0}")]
    Usage(String),
}

impl BackendError {
    /// The exit code this error means on the command line (see [`crate::exit`]).
    pub fn exit_code(&self) -> u8 {
        match self {
            BackendError::MissingPrerequisite { .. } => crate::exit::PREREQUISITE,
            BackendError::NotApplicable { .. } => crate::exit::FAILED,
            BackendError::Unavailable { .. } | BackendError::Usage(_) => crate::exit::USAGE,
        }
    }
}

/// Backend choices that apply to every scenario of a run, from the command line or the
/// environment (`HARNESS_CLUSTER`, `HARNESS_KUBECONFIG`, `HARNESS_KUBERNETES_VERSION`,
/// `HARNESS_GITLAB`, `HARNESS_GITLAB_URL`, `HARNESS_GITLAB_TOKEN`, `HARNESS_ADVERTISE_ADDRESS`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// Cluster backend for every scenario.
    pub cluster: Option<Backend>,
    /// Kubeconfig of an `existing` cluster.
    pub kubeconfig: Option<PathBuf>,
    /// Kubernetes version of the `upstream` backend.
    pub kubernetes_version: Option<String>,
    /// GitLab backend for every scenario.
    pub gitlab: Option<GitLabBackend>,
    /// URL of an `external` GitLab.
    pub gitlab_url: Option<String>,
    /// Personal access token (`api` scope) for an `external` GitLab.
    pub gitlab_token: Option<String>,
    /// Address pods reach this machine at.
    pub advertise_address: Option<IpAddr>,
}

impl Overrides {
    /// The `HARNESS_*` variables of the process environment.
    pub fn from_env() -> Result<Self, BackendError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, BackendError> {
        Ok(Overrides {
            cluster: parsed(&get, "HARNESS_CLUSTER")?,
            kubeconfig: get("HARNESS_KUBECONFIG").map(PathBuf::from),
            kubernetes_version: get("HARNESS_KUBERNETES_VERSION"),
            gitlab: parsed(&get, "HARNESS_GITLAB")?,
            gitlab_url: get("HARNESS_GITLAB_URL"),
            gitlab_token: get("HARNESS_GITLAB_TOKEN"),
            advertise_address: parsed(&get, "HARNESS_ADVERTISE_ADDRESS")?,
        })
    }

    /// `self` with every field that `other` sets taken from `other` (the command line wins over
    /// the environment).
    pub fn or(self, other: Overrides) -> Overrides {
        Overrides {
            cluster: other.cluster.or(self.cluster),
            kubeconfig: other.kubeconfig.or(self.kubeconfig),
            kubernetes_version: other.kubernetes_version.or(self.kubernetes_version),
            gitlab: other.gitlab.or(self.gitlab),
            gitlab_url: other.gitlab_url.or(self.gitlab_url),
            gitlab_token: other.gitlab_token.or(self.gitlab_token),
            advertise_address: other.advertise_address.or(self.advertise_address),
        }
    }

    /// A URL or token given means an external GitLab; a kubeconfig given means an existing
    /// cluster, unless a backend is named explicitly.
    fn implied(mut self) -> Self {
        if self.gitlab.is_none() && (self.gitlab_url.is_some() || self.gitlab_token.is_some()) {
            self.gitlab = Some(GitLabBackend::External);
        }
        if self.cluster.is_none() && self.kubeconfig.is_some() {
            self.cluster = Some(Backend::Existing);
        }
        self
    }
}

/// The variable `name`, parsed; its error names it.
fn parsed<T>(get: &impl Fn(&str) -> Option<String>, name: &str) -> Result<Option<T>, BackendError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    get(name)
        .map(|value| {
            value
                .parse()
                .map_err(|e| BackendError::Usage(format!("{name} `{value}`: {e}")))
        })
        .transpose()
}

/// The backends one scenario runs on: its own choices with the run's overrides applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// Cluster backend.
    pub cluster: Backend,
    /// Kubeconfig (`existing`).
    pub kubeconfig: Option<PathBuf>,
    /// Kubernetes version (`upstream`).
    pub kubernetes_version: Option<String>,
    /// GitLab backend.
    pub gitlab: GitLabBackend,
    /// URL (`external`).
    pub gitlab_url: Option<String>,
    /// Token (`external`).
    pub gitlab_token: Option<String>,
    /// Address pods reach this machine at, when given.
    pub advertise_address: Option<IpAddr>,
}

impl Choice {
    /// Resolves `spec` (whose relative paths are relative to `scenario_dir`) with `overrides`.
    pub fn resolve(
        spec: &EnvironmentSpec,
        scenario_dir: &std::path::Path,
        overrides: &Overrides,
    ) -> Result<Choice, BackendError> {
        let overrides = overrides.clone().implied();
        let cluster = overrides.cluster.unwrap_or(spec.cluster.backend);
        let kubeconfig = overrides.kubeconfig.clone().or_else(|| {
            spec.cluster
                .kubeconfig
                .as_ref()
                .map(|k| scenario_dir.join(k))
        });
        if cluster == Backend::Existing && kubeconfig.is_none() {
            return Err(BackendError::Usage(
                "the existing cluster backend needs a kubeconfig: --kubeconfig PATH, \
                 HARNESS_KUBECONFIG or environment.cluster.kubeconfig"
                    .into(),
            ));
        }
        let gitlab = overrides.gitlab.unwrap_or(spec.gitlab.backend);
        let gitlab_url = overrides.gitlab_url.or_else(|| spec.gitlab.url.clone());
        let gitlab_token = overrides
            .gitlab_token
            .or_else(|| spec.gitlab.token.as_deref().map(expand_env));
        if gitlab == GitLabBackend::External && (gitlab_url.is_none() || gitlab_token.is_none()) {
            return Err(BackendError::Usage(
                "the external GitLab backend needs a URL and a personal access token with api \
                 scope: --gitlab-url URL --gitlab-token TOKEN (or HARNESS_GITLAB_URL and \
                 HARNESS_GITLAB_TOKEN)"
                    .into(),
            ));
        }
        Ok(Choice {
            cluster,
            kubeconfig,
            kubernetes_version: overrides
                .kubernetes_version
                .or_else(|| spec.cluster.version.clone()),
            gitlab,
            gitlab_url,
            gitlab_token,
            advertise_address: overrides.advertise_address.or(spec.advertise_address),
        })
    }
}

/// `${env.NAME}` → the value of the environment variable `NAME` (tokens stay out of files).
fn expand_env(value: &str) -> String {
    match value
        .strip_prefix("${env.")
        .and_then(|rest| rest.strip_suffix('}'))
    {
        Some(name) => std::env::var(name).unwrap_or_default(),
        None => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default scenario environment resolved with `overrides`.
    fn resolve(overrides: &Overrides) -> Result<Choice, BackendError> {
        Choice::resolve(
            &EnvironmentSpec::default(),
            std::path::Path::new("."),
            overrides,
        )
    }

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn environment_variables_choose_backends_and_the_command_line_wins() {
        let env = Overrides::from_lookup(lookup(&[
            ("HARNESS_CLUSTER", "existing"),
            ("HARNESS_KUBECONFIG", "/k"),
            ("HARNESS_GITLAB_URL", "http://g/"),
            ("HARNESS_GITLAB_TOKEN", "t"),
        ]))
        .unwrap();
        let cli = Overrides {
            cluster: Some(Backend::Embedded),
            ..Default::default()
        };
        let merged = env.or(cli);
        assert_eq!(merged.cluster, Some(Backend::Embedded));
        let choice = resolve(&merged).unwrap();
        assert_eq!(choice.gitlab, GitLabBackend::External);
        assert_eq!(choice.gitlab_url.as_deref(), Some("http://g/"));
    }

    #[test]
    fn bad_values_and_missing_settings_are_usage_errors() {
        let err = Overrides::from_lookup(lookup(&[("HARNESS_CLUSTER", "minikube")])).unwrap_err();
        assert!(err.to_string().contains("use embedded, upstream"), "{err}");
        let overrides = Overrides {
            cluster: Some(Backend::Existing),
            ..Default::default()
        };
        let err = resolve(&overrides).unwrap_err();
        assert!(err.to_string().contains("--kubeconfig"), "{err}");
        let overrides = Overrides {
            gitlab: Some(GitLabBackend::External),
            ..Default::default()
        };
        let err = resolve(&overrides).unwrap_err();
        assert!(err.to_string().contains("--gitlab-token"), "{err}");
    }

    #[test]
    fn a_kubeconfig_alone_means_an_existing_cluster() {
        let overrides = Overrides {
            kubeconfig: Some("/k".into()),
            ..Default::default()
        };
        let choice = resolve(&overrides).unwrap();
        assert_eq!(choice.cluster, Backend::Existing);
    }
}

/// The parts are reached through their public interfaces only: the crates of the embedded API
/// server, kubelet and GitLab are named by their backends (and `harness lint`, GitLab's linter
/// as a library) and nowhere else.
#[cfg(test)]
mod boundary {
    const EMBEDDED_CRATES: [&str; 3] = ["harness_apiserver", "harness_kubelet", "harness_gitlab"];
    const ALLOWED: [&str; 3] = [
        "src/backends/cluster/embedded.rs",
        "src/backends/gitlab/embedded.rs",
        "src/commands/lint.rs",
    ];

    fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    #[test]
    fn only_the_embedded_backends_name_the_embedded_crates() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = vec![];
        rust_files(&root.join("src"), &mut files);
        rust_files(&root.join("tests"), &mut files);
        rust_files(&root.join("../tests"), &mut files);
        assert!(files.len() > 40, "the walk found too few files: {files:?}");
        let offenders: Vec<String> = files
            .iter()
            .filter(|f| !ALLOWED.iter().any(|a| f.ends_with(a)))
            .filter(|f| {
                let text = std::fs::read_to_string(f).unwrap_or_default();
                // This file names them in the list above.
                !f.ends_with("src/backends/mod.rs")
                    && EMBEDDED_CRATES.iter().any(|c| text.contains(c))
            })
            .map(|f| f.display().to_string())
            .collect();
        assert!(
            offenders.is_empty(),
            "these files reach into the embedded parts instead of their public interfaces: {offenders:?}"
        );
    }
}
