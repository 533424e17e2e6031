//! The scenario file format. Unknown keys are errors (`deny_unknown_fields`), so a typo is
//! reported with its line and the keys that are accepted there. `harness schema` prints the JSON
//! Schema generated from these types, for editors.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

mod assertions;
mod steps;

pub use assertions::*;
pub use steps::*;

/// A scenario: an environment, then steps with assertions.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name, shown in reports (default: the file name).
    #[serde(default)]
    pub name: Option<String>,
    /// What the scenario proves.
    #[serde(default)]
    pub description: Option<String>,
    /// The world the steps run in.
    #[serde(default)]
    pub environment: EnvironmentSpec,
    /// What happens, in order; each step may carry assertions.
    pub steps: Vec<Step>,
    /// Whether the scenario is expected to fail (used to prove that failures are reported and
    /// cleaned up); the assertion is then that it fails at the named step.
    #[serde(default)]
    pub expect_failure: Option<ExpectFailure>,
}

/// A scenario that must fail, and where.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectFailure {
    /// Name of the step that must fail.
    pub step: String,
    /// Text the failure message must contain.
    #[serde(default)]
    pub message_contains: Option<String>,
}

/// The environment a scenario brings up.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentSpec {
    /// The Kubernetes cluster.
    #[serde(default)]
    pub cluster: ClusterSpec,
    /// The GitLab project and its CI/CD variables.
    #[serde(default)]
    pub gitlab: GitLabSpec,
    /// The image registry jobs push to.
    #[serde(default)]
    pub registry: RegistrySpec,
    /// How the runner is installed (the `install_chart` step).
    #[serde(default)]
    pub runner: RunnerSpec,
    /// The address pods reach this machine at (where GitLab and the Maven service are
    /// advertised), for clusters whose nodes are not this machine; worked out when not given.
    #[serde(default)]
    pub advertise_address: Option<std::net::IpAddr>,
}

/// Which Kubernetes and what it offers.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    /// `embedded` (default), `upstream`, `existing`, `k3s` or `kind`.
    #[serde(default)]
    pub backend: Backend,
    /// For `existing`: the kubeconfig to use (relative to the scenario file).
    #[serde(default)]
    pub kubeconfig: Option<String>,
    /// For `upstream`: the Kubernetes version to run (a built one; default: the newest).
    #[serde(default)]
    pub version: Option<String>,
    /// Node names (embedded backend).
    #[serde(default = "default_nodes")]
    pub nodes: Vec<String>,
    /// StorageClasses and what their provisioners can do (default: the tutorial's `rbd`).
    #[serde(default)]
    pub storage_classes: Option<Vec<StorageClass>>,
    /// What the scenario needs of the cluster beyond its API; on a backend that lacks one the
    /// scenario is not applicable (reported with the reason).
    #[serde(default)]
    pub needs: Vec<Power>,
}

/// What a cluster can offer beyond the Kubernetes API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Power {
    /// Pods have addresses of their own (not the host's network).
    PodNetwork,
    /// Services resolve by DNS name inside pods.
    ClusterDns,
    /// Jobs (batch/v1) run.
    Jobs,
    /// `kubectl port-forward` works.
    PortForward,
}

impl Power {
    /// The name in scenario files.
    pub fn as_str(self) -> &'static str {
        match self {
            Power::PodNetwork => "pod_network",
            Power::ClusterDns => "cluster_dns",
            Power::Jobs => "jobs",
            Power::PortForward => "port_forward",
        }
    }
}

impl Default for ClusterSpec {
    fn default() -> Self {
        Self {
            backend: Backend::default(),
            kubeconfig: None,
            version: None,
            nodes: default_nodes(),
            storage_classes: None,
            needs: vec![],
        }
    }
}

fn default_nodes() -> Vec<String> {
    vec!["node-1".into()]
}

/// Cluster backends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The harness's own API server and kubelet (works without pulling images).
    #[default]
    Embedded,
    /// Upstream Kubernetes built from its Go modules, run as processes on this machine.
    Upstream,
    /// Any cluster reachable through a kubeconfig.
    Existing,
    /// k3s in a container (testcontainers); needs the k3s image.
    K3s,
    /// kind; needs the kind binary and node image.
    Kind,
}

impl Backend {
    /// Every backend, in the order `harness doctor` lists them.
    pub const ALL: [Backend; 5] = [
        Backend::Embedded,
        Backend::Upstream,
        Backend::Existing,
        Backend::K3s,
        Backend::Kind,
    ];

    /// The name used in scenario files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Embedded => "embedded",
            Backend::Upstream => "upstream",
            Backend::Existing => "existing",
            Backend::K3s => "k3s",
            Backend::Kind => "kind",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Backend::ALL
            .into_iter()
            .find(|b| b.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown cluster backend `{s}`: use embedded, upstream, existing, k3s or kind"
                )
            })
    }
}

/// GitLab backends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum GitLabBackend {
    /// The harness's own GitLab, started for the scenario.
    #[default]
    Embedded,
    /// A GitLab reached by URL and personal access token (`api` scope).
    External,
}

impl GitLabBackend {
    /// The name used in scenario files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            GitLabBackend::Embedded => "embedded",
            GitLabBackend::External => "external",
        }
    }
}

impl std::str::FromStr for GitLabBackend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "embedded" => Ok(GitLabBackend::Embedded),
            "external" => Ok(GitLabBackend::External),
            other => Err(format!(
                "unknown GitLab backend `{other}`: use embedded or external"
            )),
        }
    }
}

/// A StorageClass and its provisioner's capabilities.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StorageClass {
    /// Class name.
    pub name: String,
    /// Provisioner shown on the class.
    #[serde(default = "default_provisioner")]
    pub provisioner: String,
    /// Access modes the provisioner can give; claims asking for others stay Pending.
    pub access_modes: Vec<String>,
    /// Access modes the bound volume reports (default: the claim's).
    #[serde(default)]
    pub reported_access_modes: Option<Vec<String>>,
    /// `Immediate` (default) or `WaitForFirstConsumer`.
    #[serde(default = "default_binding_mode")]
    pub binding_mode: String,
    /// The cluster's default class.
    #[serde(default)]
    pub default: bool,
}

fn default_provisioner() -> String {
    "gitlab-k8s-harness/hostpath".into()
}

fn default_binding_mode() -> String {
    "Immediate".into()
}

/// The GitLab side.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GitLabSpec {
    /// `embedded` (default) or `external` (give `url` and `token`).
    #[serde(default)]
    pub backend: GitLabBackend,
    /// For `external`: the GitLab's URL.
    #[serde(default)]
    pub url: Option<String>,
    /// For `external`: a personal access token with `api` scope (or `${env.NAME}`).
    #[serde(default)]
    pub token: Option<String>,
    /// Project path (`group/name`).
    #[serde(default = "default_project")]
    pub project: String,
    /// CI/CD variables (Settings → CI/CD → Variables).
    #[serde(default)]
    pub variables: BTreeMap<String, VariableSpec>,
}

impl Default for GitLabSpec {
    fn default() -> Self {
        Self {
            backend: GitLabBackend::default(),
            url: None,
            token: None,
            project: default_project(),
            variables: BTreeMap::new(),
        }
    }
}

fn default_project() -> String {
    "demo/sample-java-app".into()
}

/// A CI/CD variable: a plain value, or a value with GitLab's flags.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum VariableSpec {
    /// Just the value.
    Plain(String),
    /// Value with flags.
    Full {
        /// The value (may use `${…}`).
        value: String,
        /// Hidden in job logs.
        #[serde(default)]
        masked: bool,
        /// Only on protected branches and tags.
        #[serde(default)]
        protected: bool,
        /// `env_var` (default) or `file`.
        #[serde(default)]
        variable_type: Option<String>,
    },
}

/// The registry's credentials (the tutorial's DOCKER_USERNAME / DOCKER_PASSWORD).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrySpec {
    /// User name.
    #[serde(default = "default_registry_user")]
    pub username: String,
    /// Password.
    #[serde(default = "default_registry_password")]
    pub password: String,
}

impl Default for RegistrySpec {
    fn default() -> Self {
        Self {
            username: default_registry_user(),
            password: default_registry_password(),
        }
    }
}

fn default_registry_user() -> String {
    "gitlab-ci".into()
}

fn default_registry_password() -> String {
    "harness-registry-pass".into()
}

/// How the runner is installed from the chart.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunnerSpec {
    /// Chart version: `0.14.0` or `current`.
    #[serde(default = "default_chart")]
    pub chart: String,
    /// Values file (relative to the scenario file).
    #[serde(default)]
    pub values: Option<String>,
    /// Apply the tutorial's configmap patch (PVC + docker.sock volumes appended to config.toml).
    #[serde(default)]
    pub tutorial_patch: bool,
    /// `--set` overrides (may use `${gitlab.url}`, `${gitlab.registration_token}`).
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    /// Release name.
    #[serde(default = "default_release")]
    pub release: String,
    /// Namespace.
    #[serde(default = "default_namespace")]
    pub namespace: String,
}

impl Default for RunnerSpec {
    fn default() -> Self {
        Self {
            chart: default_chart(),
            values: None,
            tutorial_patch: false,
            set: BTreeMap::new(),
            release: default_release(),
            namespace: default_namespace(),
        }
    }
}

fn default_chart() -> String {
    "0.14.0".into()
}

fn default_release() -> String {
    "gitlab-runner".into()
}

fn default_namespace() -> String {
    "gitlab-runners".into()
}
