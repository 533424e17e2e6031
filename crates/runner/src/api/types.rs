//! Request and response bodies of the Runner API (`/api/v4`), as the runner sends and reads them.
//!
//! Every response field is optional with a default, and unknown keys are ignored: GitLab versions
//! add and rename fields, and a job whose payload fails to decode would be lost.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Runner version this binary reports (the chart's runner image is `alpine-v12.8.0`).
pub const RUNNER_VERSION: &str = "12.8.0";
/// Git revision reported with the version (the helper image tag carries it too).
pub const RUNNER_REVISION: &str = "e0218c92";

/// The `info` object sent with register, verify and job requests.
#[derive(Debug, Clone, Serialize)]
pub struct VersionInfo {
    /// `gitlab-runner`.
    pub name: &'static str,
    /// Runner version.
    pub version: &'static str,
    /// Git revision.
    pub revision: &'static str,
    /// `linux`.
    pub platform: &'static str,
    /// `amd64`.
    pub architecture: &'static str,
    /// Executor (`kubernetes`), empty at registration.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub executor: String,
    /// Shell used in job pods.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub shell: String,
    /// Which payload features this runner handles.
    pub features: BTreeMap<&'static str, bool>,
}

impl VersionInfo {
    /// Info for an executor (`""` at registration).
    pub fn new(executor: &str) -> Self {
        let supported = [
            "variables",
            "image",
            "artifacts",
            "cache",
            "upload_multiple_artifacts",
            "upload_raw_artifacts",
            "refspecs",
            "masking",
            "raw_variables",
            "artifacts_exclude",
            "multi_build_steps",
            "trace_reset",
            "trace_checksum",
            "trace_size",
            "cancelable",
            "return_exit_code",
        ];
        let unsupported = ["services", "shared", "session", "terminal", "proxy"];
        let mut features = BTreeMap::new();
        for f in supported {
            features.insert(f, true);
        }
        for f in unsupported {
            features.insert(f, false);
        }
        Self {
            name: "gitlab-runner",
            version: RUNNER_VERSION,
            revision: RUNNER_REVISION,
            platform: "linux",
            architecture: "amd64",
            executor: executor.to_string(),
            shell: if executor.is_empty() {
                String::new()
            } else {
                "bash".into()
            },
            features,
        }
    }
}

/// `POST /runners` body.
#[derive(Debug, Clone, Serialize)]
pub struct RegisterRequest {
    /// Registration token.
    pub token: String,
    /// Runner description.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub description: String,
    /// Comma-separated tags.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub tag_list: String,
    /// Take jobs without tags.
    pub run_untagged: bool,
    /// Lock the runner to its project.
    pub locked: bool,
    /// `not_protected` or `ref_protected`.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub access_level: String,
    /// Maximum job timeout in seconds (0: none).
    #[serde(skip_serializing_if = "is_zero")]
    pub maximum_timeout: i64,
    /// Register paused.
    pub paused: bool,
    /// Version information.
    pub info: VersionInfo,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// `POST /runners` and `POST /runners/verify` response.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RegisterResponse {
    /// Runner id.
    pub id: i64,
    /// Runner authentication token.
    pub token: String,
    /// Expiry, when the server sets one.
    pub token_expires_at: Option<String>,
}

/// `POST /jobs/request` body.
#[derive(Debug, Clone, Serialize)]
pub struct JobRequest {
    /// Runner token.
    pub token: String,
    /// Version information.
    pub info: VersionInfo,
    /// Last `X-GitLab-Last-Update` seen, for long polling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_update: Option<String>,
}

/// A job handed out by `POST /jobs/request` (201).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct JobResponse {
    /// Job id.
    pub id: i64,
    /// Job token.
    pub token: String,
    /// Default `GIT_STRATEGY` is `fetch` when true.
    pub allow_git_fetch: bool,
    /// Job, project and pipeline identity.
    pub job_info: JobInfo,
    /// Where and what to check out.
    pub git_info: GitInfo,
    /// Runner-side settings (timeout).
    pub runner_info: RunnerInfo,
    /// Job variables.
    pub variables: Vec<JobVariable>,
    /// Script steps.
    pub steps: Vec<Step>,
    /// Job image.
    pub image: Option<Image>,
    /// Services (not supported by this executor).
    pub services: Vec<Image>,
    /// Artifacts to upload.
    pub artifacts: Vec<ArtifactSpec>,
    /// Dependencies whose artifacts to download.
    pub dependencies: Vec<Dependency>,
    /// Registry credentials.
    pub credentials: Vec<Credentials>,
    /// Server features (accepted failure reasons).
    pub features: JobFeatures,
}

/// `job_info`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct JobInfo {
    /// Job name.
    pub name: String,
    /// Stage name.
    pub stage: String,
    /// Project id.
    pub project_id: i64,
    /// Project name.
    pub project_name: String,
    /// Pipeline id.
    pub pipeline_id: i64,
}

/// `git_info`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct GitInfo {
    /// Clone URL with `gitlab-ci-token:<job token>@`.
    pub repo_url: String,
    /// Ref name.
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// Commit to check out.
    pub sha: String,
    /// Previous commit.
    pub before_sha: String,
    /// `branch` or `tag`.
    pub ref_type: String,
    /// Refspecs to fetch.
    pub refspecs: Vec<String>,
    /// Shallow clone depth (0: full).
    pub depth: i64,
}

/// `runner_info`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RunnerInfo {
    /// Job timeout in seconds (≤ 0: 7200).
    pub timeout: i64,
}

/// One job variable.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct JobVariable {
    /// Name.
    pub key: String,
    /// Value.
    pub value: String,
    /// Visible in the pod spec.
    pub public: bool,
    /// Hidden in the trace.
    pub masked: bool,
    /// Written to a file; the variable holds its path.
    pub file: bool,
    /// Not expanded.
    pub raw: bool,
}

impl JobVariable {
    /// The value of the last variable named `key` in `variables` (a later definition overrides
    /// an earlier one, as in GitLab's variable precedence).
    pub fn lookup<'v>(variables: &'v [JobVariable], key: &str) -> Option<&'v str> {
        variables
            .iter()
            .rev()
            .find(|v| v.key == key)
            .map(|v| v.value.as_str())
    }
}

/// One script step.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Step {
    /// `script`, `after_script`, `release`.
    pub name: String,
    /// Commands.
    pub script: Vec<String>,
    /// Seconds.
    pub timeout: i64,
    /// `on_success`, `on_failure`, `always`.
    pub when: String,
    /// Failure does not fail the job.
    pub allow_failure: bool,
}

/// An image (job image or service).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Image {
    /// Image reference.
    pub name: String,
    /// Entrypoint override.
    pub entrypoint: Vec<String>,
    /// Command override.
    pub command: Vec<String>,
}

/// One `artifacts` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ArtifactSpec {
    /// Archive name.
    pub name: String,
    /// Include untracked files.
    pub untracked: bool,
    /// Globs.
    pub paths: Vec<String>,
    /// Exclusion globs.
    pub exclude: Vec<String>,
    /// `on_success`, `on_failure`, `always`.
    pub when: String,
    /// `1 week` etc.
    pub expire_in: Option<String>,
    /// `archive`, `junit`, ….
    pub artifact_type: Option<String>,
    /// `zip`, `gzip`, `raw`.
    pub artifact_format: Option<String>,
}

/// One dependency.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Dependency {
    /// Job id.
    pub id: i64,
    /// Token to download with.
    pub token: String,
    /// Job name.
    pub name: String,
    /// Its artifacts file, if any.
    pub artifacts_file: Option<ArtifactFile>,
}

/// A dependency's artifacts file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ArtifactFile {
    /// File name.
    pub filename: String,
    /// Size in bytes.
    pub size: i64,
}

/// Registry credentials.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Credentials {
    /// `registry`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Registry URL.
    pub url: String,
    /// User.
    pub username: String,
    /// Password.
    pub password: String,
}

/// `features` of the job payload.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct JobFeatures {
    /// Failure reasons GitLab accepts.
    pub failure_reasons: Vec<String>,
}

/// `PUT /jobs/:id` body.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateJobRequest {
    /// Version information.
    pub info: VersionInfo,
    /// Job token.
    pub token: String,
    /// `running`, `success`, `failed`.
    pub state: String,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// `crc32:%08x` of the trace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    /// Trace checksum and size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<JobOutput>,
    /// Exit code of the failing script (never 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
}

/// `output` of a job update.
#[derive(Debug, Clone, Serialize)]
pub struct JobOutput {
    /// `crc32:%08x`.
    pub checksum: String,
    /// Trace size in bytes.
    pub bytesize: usize,
}

impl JobResponse {
    /// Value of a variable, if the job has it.
    pub fn variable(&self, key: &str) -> Option<&str> {
        JobVariable::lookup(&self.variables, key)
    }

    /// Job timeout in seconds (GitLab's value, else 7200).
    pub fn timeout_secs(&self) -> u64 {
        if self.runner_info.timeout > 0 {
            self.runner_info.timeout as u64
        } else {
            7200
        }
    }
}
