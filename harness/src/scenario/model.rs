//! The scenario file format. Unknown keys are errors (`deny_unknown_fields`), so a typo is
//! reported with its line and the keys that are accepted there. `harness schema` prints the JSON
//! Schema generated from these types, for editors.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

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
}

/// Which Kubernetes and what it offers.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    /// `embedded` (default), `k3s`, `kind` or `existing`.
    #[serde(default)]
    pub backend: Backend,
    /// For `existing`: the kubeconfig to use.
    #[serde(default)]
    pub kubeconfig: Option<String>,
    /// Node names (embedded backend).
    #[serde(default = "default_nodes")]
    pub nodes: Vec<String>,
    /// StorageClasses and what their provisioners can do (default: the tutorial's `rbd`).
    #[serde(default)]
    pub storage_classes: Option<Vec<StorageClass>>,
}

impl Default for ClusterSpec {
    fn default() -> Self {
        Self {
            backend: Backend::default(),
            kubeconfig: None,
            nodes: default_nodes(),
            storage_classes: None,
        }
    }
}

fn default_nodes() -> Vec<String> {
    vec!["node-1".into()]
}

/// Cluster backends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The harness's own API server and kubelet (works without pulling images).
    #[default]
    Embedded,
    /// k3s in a container (testcontainers); needs the k3s image.
    K3s,
    /// kind; needs the kind node image.
    Kind,
    /// Any cluster reachable through a kubeconfig.
    Existing,
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

/// One step: exactly one action, an optional name and timeout, and assertions.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Shown in progress and reports (default: derived from the action).
    #[serde(default)]
    pub name: Option<String>,
    /// Deadline for the action (e.g. `90s`, `10m`); each action has a sensible default.
    #[serde(default)]
    pub timeout: Option<String>,
    /// Run `kubectl` with the environment's kubeconfig (words split like a shell).
    #[serde(default)]
    pub kubectl: Option<KubectlStep>,
    /// Install the runner from the chart (`helm install` of `environment.runner`).
    #[serde(default)]
    pub install_chart: Option<ChartStep>,
    /// Re-render with changed values and apply (`helm upgrade`).
    #[serde(default)]
    pub upgrade_chart: Option<ChartStep>,
    /// Push a directory to the project at a ref with real `git push`.
    #[serde(default)]
    pub push: Option<PushStep>,
    /// Run a pipeline on a ref, as the UI's "Run pipeline".
    #[serde(default)]
    pub run_pipeline: Option<RunPipelineStep>,
    /// Wait for a condition.
    #[serde(default)]
    pub wait: Option<WaitStep>,
    /// Lint a `.gitlab-ci.yml` with GitLab's rules.
    #[serde(default)]
    pub lint: Option<LintStep>,
    /// Break something on purpose.
    #[serde(default)]
    pub fault: Option<FaultStep>,
    /// Check what a chart upgrade changes.
    #[serde(default)]
    pub upgrade_check: Option<UpgradeCheckStep>,
    /// Assertions checked after the action.
    #[serde(default)]
    pub assert: Vec<Assertion>,
}

/// `kubectl: "get po -n gitlab-runners"` or with expectations.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum KubectlStep {
    /// Arguments only; the command must succeed.
    Args(String),
    /// Arguments with expectations on the outcome.
    Full(KubectlExpect),
}

/// A kubectl command and what it must do.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KubectlExpect {
    /// Arguments (after `kubectl`).
    pub args: String,
    /// Exit code it must end with (default 0).
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// Text stdout must contain.
    #[serde(default)]
    pub stdout_contains: Vec<String>,
    /// Text stderr must contain.
    #[serde(default)]
    pub stderr_contains: Vec<String>,
    /// stdout must equal this (trimmed).
    #[serde(default)]
    pub stdout_equals: Option<String>,
}

/// Chart install/upgrade overrides (on top of `environment.runner`).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChartStep {
    /// Another chart version.
    #[serde(default)]
    pub chart: Option<String>,
    /// Another values file.
    #[serde(default)]
    pub values: Option<String>,
    /// More `--set` overrides.
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    /// Wait until the runner has registered with GitLab (default true).
    #[serde(default)]
    pub wait_registered: Option<bool>,
}

/// A real `git push`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PushStep {
    /// Directory whose files are committed (relative to the scenario file).
    #[serde(default)]
    pub source: Option<String>,
    /// Branch to push.
    #[serde(rename = "ref", default = "default_ref")]
    pub git_ref: String,
    /// Edits applied to the working copy before committing.
    #[serde(default)]
    pub edit: Vec<FileEdit>,
    /// Commit message.
    #[serde(default)]
    pub message: Option<String>,
}

fn default_ref() -> String {
    "master".into()
}

/// Replace text in a file of the working copy, or write a whole file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileEdit {
    /// Path inside the project.
    pub file: String,
    /// Text to replace (with `with`).
    #[serde(default)]
    pub replace: Option<String>,
    /// Replacement.
    #[serde(default)]
    pub with: Option<String>,
    /// Whole new content.
    #[serde(default)]
    pub content: Option<String>,
    /// Replace the file with this one (relative to the scenario file).
    #[serde(default)]
    pub copy_from: Option<String>,
}

/// "Run pipeline" with a ref and variables.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunPipelineStep {
    /// Branch.
    #[serde(rename = "ref", default = "default_ref")]
    pub git_ref: String,
    /// Variables for this pipeline.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// How many pipelines to start at once.
    #[serde(default)]
    pub count: Option<u32>,
}

/// Conditions a step can wait for: `wait: pipelines`, `wait: runner_online`, or
/// `wait: {deployment_available: {name: NAME, namespace: NS}}`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum WaitStep {
    /// A condition without parameters.
    Named(WaitName),
    /// A Deployment is Available.
    DeploymentAvailable {
        /// Which Deployment.
        deployment_available: DeploymentRef,
    },
}

/// Conditions without parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WaitName {
    /// The pipelines started since the last wait have finished.
    Pipelines,
    /// A runner is registered and has contacted GitLab.
    RunnerOnline,
}

/// A Deployment by name.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeploymentRef {
    /// Name.
    pub name: String,
    /// Namespace.
    #[serde(default = "default_namespace")]
    pub namespace: String,
}

/// `lint: path/to/.gitlab-ci.yml`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LintStep {
    /// The file (relative to the scenario file).
    pub file: String,
}

/// Faults that can be injected.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum FaultStep {
    /// Stop the image registry.
    StopRegistry,
    /// Delete the runner manager pod (the Deployment brings a new one).
    KillRunnerPod,
}

/// `upgrade_check` between chart versions.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpgradeCheckStep {
    /// Values file.
    pub values: String,
    /// From version.
    #[serde(default = "default_chart")]
    pub from: String,
    /// To version.
    #[serde(default = "default_current")]
    pub to: String,
    /// RBAC/PVC manifests to check too.
    #[serde(default)]
    pub manifests: Vec<String>,
}

fn default_current() -> String {
    "current".into()
}

/// One assertion; exactly one field is set.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Assertion {
    /// The newest pipeline's status and its jobs' statuses.
    #[serde(default)]
    pub pipeline: Option<PipelineAssert>,
    /// A job's trace.
    #[serde(default)]
    pub trace: Option<TraceAssert>,
    /// A job's pod, as recorded while it ran.
    #[serde(default)]
    pub job_pod: Option<JobPodAssert>,
    /// Files in a job's artifacts archive.
    #[serde(default)]
    pub artifacts: Option<ArtifactsAssert>,
    /// Files on the volume bound to a PVC.
    #[serde(default)]
    pub pvc_files: Option<PvcFilesAssert>,
    /// An image tag in the registry.
    #[serde(default)]
    pub registry_image: Option<RegistryImageAssert>,
    /// A Deployment's image and availability.
    #[serde(default)]
    pub deployment: Option<DeploymentAssert>,
    /// An HTTP answer.
    #[serde(default)]
    pub http: Option<HttpAssert>,
    /// A kubectl query (e.g. with `-o jsonpath=…`).
    #[serde(default)]
    pub kubectl: Option<KubectlExpect>,
    /// Lint errors of the last `lint` step.
    #[serde(default)]
    pub lint_errors: Option<Vec<String>>,
    /// Findings of the last `upgrade_check` step (each text must appear in one finding).
    #[serde(default)]
    pub findings: Option<Vec<String>>,
    /// The most job pods that ever existed at once (from watch events).
    #[serde(default)]
    pub max_concurrent_job_pods: Option<usize>,
}

/// Pipeline expectations.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelineAssert {
    /// Pipeline status (`success`, `failed`, …).
    #[serde(default)]
    pub status: Option<String>,
    /// Job name → status; jobs not listed must not exist when `only_these_jobs`.
    #[serde(default)]
    pub jobs: BTreeMap<String, String>,
    /// Fail if the pipeline has jobs other than those in `jobs`.
    #[serde(default)]
    pub only_these_jobs: bool,
    /// How many of the newest pipelines this applies to (default 1).
    #[serde(default)]
    pub count: Option<usize>,
    /// Texts GitLab's configuration errors of the pipeline must contain.
    #[serde(default)]
    pub yaml_errors_contain: Vec<String>,
}

/// Trace expectations.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TraceAssert {
    /// Job name (in the newest pipeline).
    pub job: String,
    /// Texts the trace must contain.
    #[serde(default)]
    pub contains: Vec<String>,
    /// Texts the trace must not contain.
    #[serde(default)]
    pub not_contains: Vec<String>,
    /// Expected failure reason of the job.
    #[serde(default)]
    pub failure_reason: Option<String>,
}

/// Job pod expectations.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobPodAssert {
    /// Job name (in the newest pipeline).
    pub job: String,
    /// Regex the pod name must match.
    #[serde(default)]
    pub name_matches: Option<String>,
    /// Container names, in order.
    #[serde(default)]
    pub containers: Vec<String>,
    /// Image of the `build` container.
    #[serde(default)]
    pub image: Option<String>,
    /// ServiceAccount.
    #[serde(default)]
    pub service_account: Option<String>,
    /// Volume mounts of the build container (`mountPath`s).
    #[serde(default)]
    pub mounts: Vec<String>,
    /// PVC claim names mounted.
    #[serde(default)]
    pub claims: Vec<String>,
    /// hostPath paths mounted.
    #[serde(default)]
    pub host_paths: Vec<String>,
    /// Exit code of the build container.
    #[serde(default)]
    pub exit_code: Option<i64>,
}

/// Artifact expectations.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArtifactsAssert {
    /// Job name (in the newest pipeline).
    pub job: String,
    /// Paths (or glob patterns) that must be in the archive.
    pub contains: Vec<String>,
}

/// PVC file expectations.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PvcFilesAssert {
    /// Claim name.
    pub claim: String,
    /// Namespace.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// Paths (or glob patterns) that must exist on the volume.
    #[serde(default)]
    pub exist: Vec<String>,
}

/// Registry expectations.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistryImageAssert {
    /// Repository (`group/name`).
    pub repository: String,
    /// Tag that must exist.
    pub tag: String,
}

/// Deployment expectations.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeploymentAssert {
    /// Name.
    pub name: String,
    /// Namespace.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// Image of the first container.
    #[serde(default)]
    pub image: Option<String>,
    /// Must be Available.
    #[serde(default)]
    pub available: Option<bool>,
}

/// HTTP expectations.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpAssert {
    /// URL to GET.
    pub url: String,
    /// Expected status (default 200).
    #[serde(default)]
    pub status: Option<u16>,
    /// Text the body must contain.
    #[serde(default)]
    pub body_contains: Vec<String>,
}
