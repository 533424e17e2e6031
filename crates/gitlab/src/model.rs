//! Projects, pipelines, jobs, runners and variables as the embedded GitLab keeps them.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ci::model::{JobConfig, When};

/// Job and pipeline statuses, spelled as GitLab spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for earlier stages.
    Created,
    /// Waiting for a runner.
    Pending,
    /// A runner is running it.
    Running,
    /// Finished successfully.
    Success,
    /// Finished with an error.
    Failed,
    /// Stopped by a user.
    Canceled,
    /// Not run because of earlier results.
    Skipped,
    /// Waiting for someone to play it.
    Manual,
}

impl Status {
    /// GitLab's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Success => "success",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
            Self::Skipped => "skipped",
            Self::Manual => "manual",
        }
    }

    /// Success, failed, canceled or skipped: nothing more will happen by itself.
    pub fn is_complete(self) -> bool {
        matches!(
            self,
            Self::Success | Self::Failed | Self::Canceled | Self::Skipped
        )
    }

    /// Finished, or parked on a manual action (no further progress without a user).
    pub fn is_settled(self) -> bool {
        self.is_complete() || self == Self::Manual
    }
}

/// Who may see a project (GitLab's `visibility`): new projects are private, as on GitLab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Members only (here: root).
    #[default]
    Private,
    /// Any signed-in user.
    Internal,
    /// Everyone, signed in or not.
    Public,
}

impl Visibility {
    /// GitLab's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Private => "private",
            Self::Internal => "internal",
            Self::Public => "public",
        }
    }

    /// Parses GitLab's spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "private" => Self::Private,
            "internal" => Self::Internal,
            "public" => Self::Public,
            _ => return None,
        })
    }
}

/// A project's inbound job-token settings: with the limit on (GitLab's default for new
/// projects) only the project's own jobs and those of allowlisted projects get in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobTokenScope {
    /// "Limit access to this project" (`inbound_enabled`).
    pub inbound_enabled: bool,
    /// Projects (besides this one) whose job tokens may reach this project, in the order added.
    pub allowlist: Vec<u64>,
}

impl Default for JobTokenScope {
    fn default() -> Self {
        Self {
            inbound_enabled: true,
            allowlist: Vec::new(),
        }
    }
}

/// A project (`group/name`) with its bare repository.
#[derive(Debug, Clone, Serialize)]
pub struct Project {
    /// Project id.
    pub id: u64,
    /// Last path segment.
    pub name: String,
    /// Last path segment.
    pub path: String,
    /// `group/name`.
    pub path_with_namespace: String,
    /// The namespace's full path (`group/sub`, or `root`).
    pub namespace: String,
    /// The namespace's id (a group's, or root's user namespace).
    pub namespace_id: u64,
    /// Clone URL (`http://127.0.0.1:PORT/group/name.git`).
    pub http_url_to_repo: String,
    /// Project page URL.
    pub web_url: String,
    /// Default branch, set by the first push.
    pub default_branch: Option<String>,
    /// Protected branch names.
    pub protected_branches: Vec<String>,
    /// Who may see it.
    pub visibility: Visibility,
    /// Which projects' job tokens may reach it (Settings → CI/CD → Job token permissions).
    #[serde(skip)]
    pub job_token_scope: JobTokenScope,
    /// The project's runner registration token (`runners_token`, shown to admins).
    #[serde(skip)]
    pub runners_token: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Bare repository on disk.
    #[serde(skip)]
    pub repo_dir: PathBuf,
}

/// `env_var` or `file` (GitLab's `variable_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum VariableType {
    /// Exported as an environment variable.
    #[default]
    EnvVar,
    /// Written to a file whose path is the variable's value.
    File,
}

/// A CI/CD variable of a project (Settings → CI/CD → Variables).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Variable {
    /// Name.
    pub key: String,
    /// Value.
    pub value: String,
    /// Hidden in job logs as `[MASKED]`.
    #[serde(default)]
    pub masked: bool,
    /// Only given to pipelines on protected branches and tags.
    #[serde(default)]
    pub protected: bool,
    /// `env_var` or `file`.
    #[serde(default)]
    pub variable_type: VariableType,
    /// Not expanded by the runner.
    #[serde(default)]
    pub raw: bool,
    /// Environment scope (`*`).
    #[serde(default = "star")]
    pub environment_scope: String,
}

fn star() -> String {
    "*".into()
}

impl Variable {
    /// A plain (unmasked, unprotected, env var) variable.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
            masked: false,
            protected: false,
            variable_type: VariableType::EnvVar,
            raw: false,
            environment_scope: star(),
        }
    }

    /// Marks it masked.
    pub fn masked(mut self) -> Self {
        self.masked = true;
        self
    }

    /// Marks it protected.
    pub fn protected(mut self) -> Self {
        self.protected = true;
        self
    }

    /// Makes it a file-type variable.
    pub fn file(mut self) -> Self {
        self.variable_type = VariableType::File;
        self
    }
}

/// The commit a pipeline runs for.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Commit {
    /// Full SHA.
    pub id: String,
    /// First 8 characters.
    pub short_id: String,
    /// First line of the message.
    pub title: String,
    /// Whole message.
    pub message: String,
    /// Author name.
    pub author_name: String,
    /// Author email.
    pub author_email: String,
    /// Author date (ISO 8601).
    pub authored_date: String,
}

/// A pipeline.
#[derive(Debug, Clone, Serialize)]
pub struct Pipeline {
    /// Instance-wide id.
    pub id: u64,
    /// Per-project number.
    pub iid: u64,
    /// Project id.
    pub project_id: u64,
    /// Branch or tag.
    #[serde(rename = "ref")]
    pub ref_name: String,
    /// Commit SHA.
    pub sha: String,
    /// Previous SHA of the ref (zeros for a new ref).
    pub before_sha: String,
    /// Whether `ref` is a tag.
    pub tag: bool,
    /// `push`, `web`, `api`, ...
    pub source: String,
    /// Overall status.
    pub status: Status,
    /// Config errors when the pipeline failed to be created from `.gitlab-ci.yml`.
    pub yaml_errors: Option<String>,
    /// Whether the ref is protected.
    pub protected: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When the first job started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Stages in order.
    #[serde(skip)]
    pub stages: Vec<String>,
    /// Variables given when it was run ("Run pipeline" / API).
    #[serde(skip)]
    pub variables: Vec<(String, String)>,
    /// Commit details.
    #[serde(skip)]
    pub commit: Commit,
}

/// An uploaded artifact file of a job.
#[derive(Debug, Clone, Serialize)]
pub struct ArtifactFile {
    /// `archive`, `junit`, ...
    pub file_type: String,
    /// Upload file name.
    pub filename: String,
    /// Bytes.
    pub size: u64,
    /// `zip`, `gzip`, ...
    pub file_format: String,
    /// Expiry, from `expire_in`.
    pub expire_at: Option<DateTime<Utc>>,
    /// Where it is stored.
    #[serde(skip)]
    pub path: PathBuf,
}

/// A job of a pipeline.
#[derive(Debug, Clone, Serialize)]
pub struct Job {
    /// Job id.
    pub id: u64,
    /// Pipeline id.
    pub pipeline_id: u64,
    /// Project id.
    pub project_id: u64,
    /// Job name.
    pub name: String,
    /// Stage name.
    pub stage: String,
    /// Stage index in the pipeline.
    pub stage_idx: usize,
    /// Status.
    pub status: Status,
    /// Effective `when`.
    pub when: When,
    /// Effective `allow_failure`.
    pub allow_failure: bool,
    /// Runner tags required.
    pub tag_list: Vec<String>,
    /// Why it failed.
    pub failure_reason: Option<String>,
    /// Runner that picked it.
    pub runner_id: Option<u64>,
    /// Replaced by a retry.
    pub retried: bool,
    /// 0 for the first attempt.
    pub attempt: u32,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When a runner picked it.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Uploaded artifacts.
    pub artifacts: Vec<ArtifactFile>,
    /// Job token (`glcbt-…`), also `CI_JOB_TOKEN`.
    #[serde(skip)]
    pub token: String,
    /// Raw trace bytes as the runner sent them (read masked through the API).
    #[serde(skip)]
    pub trace: Vec<u8>,
    /// The job's configuration (with rule variables applied).
    #[serde(skip)]
    pub config: JobConfig,
}

/// Where a runner takes jobs from (GitLab's `runner_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunnerType {
    /// Every project's jobs.
    #[default]
    InstanceType,
    /// The projects of a group.
    GroupType,
    /// The projects it is assigned to.
    ProjectType,
}

impl RunnerType {
    /// GitLab's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InstanceType => "instance_type",
            Self::GroupType => "group_type",
            Self::ProjectType => "project_type",
        }
    }
}

/// A registered runner.
#[derive(Debug, Clone, Serialize)]
pub struct Runner {
    /// Runner id.
    pub id: u64,
    /// Instance, group or project runner.
    pub runner_type: RunnerType,
    /// Projects a project runner serves.
    pub projects: Vec<u64>,
    /// The group a group runner serves.
    pub group_id: Option<u64>,
    /// Description given at registration.
    pub description: String,
    /// Tags.
    pub tag_list: Vec<String>,
    /// Picks jobs without tags.
    pub run_untagged: bool,
    /// Locked to its projects.
    pub locked: bool,
    /// Paused runners get no jobs.
    pub paused: bool,
    /// `not_protected` or `ref_protected`.
    pub access_level: String,
    /// Maximum job timeout (seconds), if set.
    pub maximum_timeout: Option<u64>,
    /// Last contact.
    pub contacted_at: Option<DateTime<Utc>>,
    /// Version the runner reported.
    pub version: Option<String>,
    /// Authentication token (`glrt-…`).
    #[serde(skip)]
    pub token: String,
}
