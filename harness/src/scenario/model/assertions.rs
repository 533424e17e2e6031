//! The assertion types of the scenario format: what a step checks after its action.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use super::{CommandExpect, DeploymentRef, default_namespace};

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
    pub kubectl: Option<CommandExpect>,
    /// Lint errors of the last `lint` step.
    #[serde(default)]
    pub lint_errors: Option<Vec<String>>,
    /// Findings of the last `upgrade_check` step (each text must appear in one finding).
    #[serde(default)]
    pub findings: Option<Vec<String>>,
    /// The most job pods that ever existed at once (from watch events).
    #[serde(default)]
    pub max_concurrent_job_pods: Option<usize>,
    /// How many runners GitLab has registered now (a replaced runner pod unregisters the old one
    /// in its preStop hook, so stale registrations show up here).
    #[serde(default)]
    pub registered_runners: Option<usize>,
}

/// Pipeline expectations.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelineAssert {
    /// Pipeline status (`success`, `failed`, …).
    #[serde(default)]
    pub status: Option<CiStatus>,
    /// Job name → status; jobs not listed must not exist when `only_these_jobs`.
    #[serde(default)]
    pub jobs: BTreeMap<String, CiStatus>,
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

/// HTTP expectations: a URL, or a port of a Deployment's pod reached through the cluster.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpAssert {
    /// URL to GET (give this or `deployment`).
    #[serde(default)]
    pub url: Option<String>,
    /// A Deployment whose pod is asked, through `kubectl port-forward` where the cluster offers it
    /// (give this or `url`).
    #[serde(default)]
    pub deployment: Option<DeploymentRef>,
    /// The pod's port (with `deployment`).
    #[serde(default)]
    pub port: Option<u16>,
    /// Path (with `deployment`; default `/`).
    #[serde(default)]
    pub path: Option<String>,
    /// Expected status (default 200).
    #[serde(default)]
    pub status: Option<u16>,
    /// Text the body must contain.
    #[serde(default)]
    pub body_contains: Vec<String>,
}

/// GitLab's pipeline and job statuses (`Ci::HasStatus`), checked when the scenario is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CiStatus {
    /// Created, not yet queued.
    Created,
    /// Waiting for a resource group.
    WaitingForResource,
    /// Preparing.
    Preparing,
    /// Queued for a runner.
    Pending,
    /// Running.
    Running,
    /// Passed.
    Success,
    /// Failed.
    Failed,
    /// Canceled.
    Canceled,
    /// Skipped.
    Skipped,
    /// Waiting for someone to start it.
    Manual,
    /// Delayed.
    Scheduled,
}

impl CiStatus {
    /// GitLab's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CiStatus::Created => "created",
            CiStatus::WaitingForResource => "waiting_for_resource",
            CiStatus::Preparing => "preparing",
            CiStatus::Pending => "pending",
            CiStatus::Running => "running",
            CiStatus::Success => "success",
            CiStatus::Failed => "failed",
            CiStatus::Canceled => "canceled",
            CiStatus::Skipped => "skipped",
            CiStatus::Manual => "manual",
            CiStatus::Scheduled => "scheduled",
        }
    }
}

impl std::fmt::Display for CiStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One assertion after loading: exactly one kind of check.
#[derive(Debug, Clone)]
pub enum Check {
    /// `pipeline`.
    Pipeline(PipelineAssert),
    /// `trace`.
    Trace(TraceAssert),
    /// `job_pod`.
    JobPod(JobPodAssert),
    /// `artifacts`.
    Artifacts(ArtifactsAssert),
    /// `pvc_files`.
    PvcFiles(PvcFilesAssert),
    /// `registry_image`.
    RegistryImage(RegistryImageAssert),
    /// `deployment`.
    Deployment(DeploymentAssert),
    /// `http`.
    Http(HttpAssert),
    /// `kubectl`.
    Kubectl(CommandExpect),
    /// `lint_errors`.
    LintErrors(Vec<String>),
    /// `findings`.
    Findings(Vec<String>),
    /// `max_concurrent_job_pods`.
    MaxConcurrentJobPods(usize),
    /// `registered_runners`.
    RegisteredRunners(usize),
}
