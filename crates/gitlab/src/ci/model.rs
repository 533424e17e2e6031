//! The pipeline configuration after validation: what a pipeline is created from.

use serde::Serialize;

/// When a job runs relative to the jobs before it (`when:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum When {
    /// Only when all earlier jobs succeeded (the default).
    OnSuccess,
    /// Only when an earlier job failed.
    OnFailure,
    /// Whatever happened before.
    Always,
    /// Waits for someone to play it.
    Manual,
    /// Started after `start_in` (treated like `on_success` here).
    Delayed,
    /// Never added to a pipeline (from `rules`).
    Never,
}

impl When {
    /// Parses GitLab's spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "on_success" => Self::OnSuccess,
            "on_failure" => Self::OnFailure,
            "always" => Self::Always,
            "manual" => Self::Manual,
            "delayed" => Self::Delayed,
            "never" => Self::Never,
            _ => return None,
        })
    }

    /// GitLab's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OnSuccess => "on_success",
            Self::OnFailure => "on_failure",
            Self::Always => "always",
            Self::Manual => "manual",
            Self::Delayed => "delayed",
            Self::Never => "never",
        }
    }
}

/// An image or service (`image: name` or `image: {name, entrypoint, ...}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImageConfig {
    /// Image reference.
    pub name: String,
    /// Overrides the image's entrypoint.
    pub entrypoint: Option<Vec<String>>,
    /// Overrides the image's command (services).
    pub command: Option<Vec<String>>,
    /// Service alias.
    pub alias: Option<String>,
    /// `pull_policy` values.
    pub pull_policy: Vec<String>,
}

/// One `rules:` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Rule {
    /// `if:` expression, parsed when the file was loaded.
    pub if_expr: Option<super::expr::Condition>,
    /// `changes:` globs.
    pub changes: Option<Vec<String>>,
    /// `exists:` globs.
    pub exists: Option<Vec<String>>,
    /// `when:` the rule sets.
    pub when: Option<When>,
    /// `allow_failure:` the rule sets.
    pub allow_failure: Option<bool>,
    /// `variables:` the rule adds.
    pub variables: Vec<(String, String)>,
}

/// `only:` / `except:` in their normalized hash form.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RefPolicy {
    /// Ref names, `/regex/`s or keywords (`branches`, `tags`, `web`, ...).
    pub refs: Vec<String>,
    /// Variable expressions, parsed when the file was loaded (any true ⇒ match).
    pub variables: Vec<super::expr::Condition>,
    /// Changed-file globs.
    pub changes: Vec<String>,
}

/// `needs:` entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Need {
    /// The needed job.
    pub job: String,
    /// Whether its artifacts are downloaded.
    pub artifacts: bool,
    /// `optional: true` needs may be absent from the pipeline.
    pub optional: bool,
}

/// `artifacts:`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ArtifactsConfig {
    /// Archive name (`name:`).
    pub name: Option<String>,
    /// Globs of files to archive.
    pub paths: Vec<String>,
    /// Globs to leave out.
    pub exclude: Vec<String>,
    /// Include untracked files.
    pub untracked: bool,
    /// `on_success` (default), `on_failure` or `always`.
    pub when: String,
    /// `expire_in:` as written.
    pub expire_in: Option<String>,
    /// `reports: junit:` globs.
    pub junit: Vec<String>,
}

/// One `cache:` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CacheConfig {
    /// Cache key (default `default`).
    pub key: String,
    /// Cached paths.
    pub paths: Vec<String>,
    /// `pull-push`, `pull` or `push`.
    pub policy: String,
    /// Include untracked files.
    pub untracked: bool,
    /// `on_success`, `on_failure` or `always`.
    pub when: String,
}

/// A job with defaults and global settings already applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobConfig {
    /// Job name.
    pub name: String,
    /// Stage name.
    pub stage: String,
    /// Commands (nested arrays flattened).
    pub script: Vec<String>,
    /// Commands run before `script` in the same shell.
    pub before_script: Vec<String>,
    /// Commands run after, whatever the result.
    pub after_script: Vec<String>,
    /// Job image.
    pub image: Option<ImageConfig>,
    /// Service containers.
    pub services: Vec<ImageConfig>,
    /// Runner tags the job requires.
    pub tags: Vec<String>,
    /// Job variables (global ones merged in unless `inherit: variables: false`).
    pub variables: Vec<(String, String)>,
    /// `only:` (default `branches, tags` unless rules are used).
    pub only: Option<RefPolicy>,
    /// `except:`.
    pub except: Option<RefPolicy>,
    /// `rules:`.
    pub rules: Option<Vec<Rule>>,
    /// `when:`.
    pub when: When,
    /// `allow_failure:` (manual jobs default to true).
    pub allow_failure: bool,
    /// `allow_failure: exit_codes:` — failures with these exit codes are allowed.
    pub allow_failure_exit_codes: Vec<i64>,
    /// `needs:` (DAG), when present.
    pub needs: Option<Vec<Need>>,
    /// `dependencies:`, when present.
    pub dependencies: Option<Vec<String>>,
    /// `artifacts:`.
    pub artifacts: Option<ArtifactsConfig>,
    /// `cache:` entries.
    pub cache: Vec<CacheConfig>,
    /// `retry:` max attempts beyond the first (0..=2).
    pub retry_max: u32,
    /// `retry: when:` failure reasons (`always` by default).
    pub retry_when: Vec<String>,
    /// `timeout:` in seconds.
    pub timeout: Option<u64>,
    /// `interruptible:`.
    pub interruptible: bool,
    /// `environment:` name.
    pub environment: Option<String>,
}

/// A validated `.gitlab-ci.yml`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CiConfig {
    /// Stages in order, `.pre` first and `.post` last.
    pub stages: Vec<String>,
    /// Global `variables:`.
    pub variables: Vec<(String, String)>,
    /// `workflow: rules:`.
    pub workflow_rules: Option<Vec<Rule>>,
    /// Visible jobs in file order.
    pub jobs: Vec<JobConfig>,
}

impl CiConfig {
    /// Index of `stage` in [`CiConfig::stages`].
    pub fn stage_index(&self, stage: &str) -> usize {
        self.stages.iter().position(|s| s == stage).unwrap_or(0)
    }

    /// The job called `name`.
    pub fn job(&self, name: &str) -> Option<&JobConfig> {
        self.jobs.iter().find(|j| j.name == name)
    }
}
