//! What a job needs besides its payload: its slot, directories and the full variable list.

use crate::api::{JobResponse, JobVariable, RUNNER_REVISION, RUNNER_VERSION};
use crate::config::RunnerConfig;

/// Default helper image: the helper stand-in tagged like runner 12.8.0's (`x86_64-<revision>`).
pub const DEFAULT_HELPER_IMAGE: &str = "gitlab/gitlab-runner-helper:x86_64-e0218c92";

/// A job with everything the executor derives from it.
#[derive(Debug, Clone)]
pub struct JobContext {
    /// The payload from GitLab.
    pub job: JobResponse,
    /// The `[[runners]]` entry that took the job.
    pub runner: RunnerConfig,
    /// `CI_CONCURRENT_ID`: slot among this runner's jobs.
    pub concurrent_id: usize,
    /// `CI_CONCURRENT_PROJECT_ID`: slot among this runner's jobs of the same project.
    pub project_slot: usize,
    /// Root of checkouts in the pod (`/builds`).
    pub builds_dir: String,
    /// `CI_PROJECT_DIR`.
    pub project_dir: String,
    /// Job image.
    pub image: String,
    /// Every variable the scripts see, runner-added ones included, values expanded.
    pub variables: Vec<JobVariable>,
}

impl JobContext {
    /// Derives directories, image and variables for `job` taken by `runner`.
    pub fn new(
        job: JobResponse,
        runner: RunnerConfig,
        concurrent_id: usize,
        project_slot: usize,
    ) -> Self {
        let builds_dir = runner
            .builds_dir
            .clone()
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| "/builds".into());
        let project_dir = job
            .variable("GIT_CLONE_PATH")
            .filter(|_| runner.custom_build_dir.enabled)
            .map(str::to_string)
            .unwrap_or_else(|| {
                format!(
                    "{}/{}",
                    builds_dir.trim_end_matches('/'),
                    repo_path(&job.git_info.repo_url, &job.job_info.project_name)
                )
            });
        let image = job
            .image
            .as_ref()
            .map(|i| i.name.clone())
            .filter(|n| !n.is_empty())
            .or_else(|| runner.kubernetes.as_ref().map(|k| k.image.clone()))
            .unwrap_or_default();
        let mut ctx = Self {
            job,
            runner,
            concurrent_id,
            project_slot,
            builds_dir,
            project_dir,
            image,
            variables: Vec::new(),
        };
        ctx.variables = ctx.compute_variables();
        ctx
    }

    fn compute_variables(&self) -> Vec<JobVariable> {
        let public = |key: &str, value: String| JobVariable {
            key: key.into(),
            value,
            public: true,
            ..Default::default()
        };
        let mut vars = vec![
            public("CI_BUILDS_DIR", self.builds_dir.clone()),
            public("CI_PROJECT_DIR", self.project_dir.clone()),
            public("CI_CONCURRENT_ID", self.concurrent_id.to_string()),
            public("CI_CONCURRENT_PROJECT_ID", self.project_slot.to_string()),
            public("CI_SERVER", "yes".into()),
            public("CI_DISPOSABLE_ENVIRONMENT", "true".into()),
            public("CI_JOB_IMAGE", self.image.clone()),
            public("CI_RUNNER_SHORT_TOKEN", self.runner.short_token()),
            public("CI_RUNNER_VERSION", RUNNER_VERSION.into()),
            public("CI_RUNNER_REVISION", RUNNER_REVISION.into()),
            public("CI_RUNNER_EXECUTABLE_ARCH", "linux/amd64".into()),
            public("CI_JOB_STATUS", "running".into()),
        ];
        vars.extend(self.job.variables.iter().cloned());
        for entry in &self.runner.environment {
            if let Some((k, v)) = entry.split_once('=') {
                vars.push(public(k, v.to_string()));
            }
        }
        let mut expanded: Vec<JobVariable> = Vec::with_capacity(vars.len());
        for mut v in vars {
            if !v.raw {
                v.value = expand(&v.value, |name| {
                    expanded
                        .iter()
                        .rev()
                        .find(|e| e.key == name)
                        .map(|e| e.value.clone())
                });
            }
            expanded.push(v);
        }
        expanded
    }

    /// A copy where `key` has `value` (e.g. `CI_JOB_STATUS` for `after_script`).
    pub fn with_variable(&self, key: &str, value: &str) -> JobContext {
        let mut copy = self.clone();
        for v in copy.variables.iter_mut().filter(|v| v.key == key) {
            v.value = value.to_string();
        }
        copy
    }

    /// The short runner token (first 8 characters), as in pod names.
    pub fn short_token(&self) -> String {
        self.runner.short_token()
    }

    /// Value of a variable as the scripts see it.
    pub fn variable(&self, key: &str) -> Option<&str> {
        JobVariable::lookup(&self.variables, key)
    }

    /// Values the trace must hide.
    pub fn masked_values(&self) -> Vec<String> {
        let mut m: Vec<String> = self
            .variables
            .iter()
            .filter(|v| v.masked)
            .map(|v| v.value.clone())
            .collect();
        m.push(self.job.token.clone());
        m
    }

    /// URL jobs reach GitLab at (for artifacts).
    pub fn gitlab_url(&self) -> String {
        self.runner.url.clone()
    }

    /// The repository URL to fetch, rewritten onto `clone_url` when configured.
    pub fn repo_url(&self) -> String {
        let original = &self.job.git_info.repo_url;
        match self.runner.clone_url.as_deref().filter(|u| !u.is_empty()) {
            Some(clone) => match url::Url::parse(original) {
                Ok(u) => format!(
                    "{}/{}",
                    clone.trim_end_matches('/'),
                    u.path().trim_start_matches('/')
                )
                .replacen(
                    "://",
                    &format!("://gitlab-ci-token:{}@", self.job.token),
                    1,
                ),
                Err(_) => original.clone(),
            },
            None => original.clone(),
        }
    }

    /// Helper image for the pod.
    pub fn helper_image(&self) -> String {
        self.runner
            .kubernetes
            .as_ref()
            .and_then(|k| k.helper_image.clone())
            .filter(|i| !i.is_empty())
            .unwrap_or_else(|| DEFAULT_HELPER_IMAGE.into())
    }
}

/// `group/project` from a repository URL (without `.git`), or the project name.
fn repo_path(repo_url: &str, project_name: &str) -> String {
    url::Url::parse(repo_url)
        .ok()
        .map(|u| {
            u.path()
                .trim_matches('/')
                .trim_end_matches(".git")
                .to_string()
        })
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| {
            if project_name.is_empty() {
                "project".into()
            } else {
                project_name.to_string()
            }
        })
}

/// Expands `$NAME` and `${NAME}` (unknown names become empty, like the runner's own expansion).
pub fn expand(value: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let chars: Vec<char> = value.chars().collect();
    let mut out = String::with_capacity(value.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '$' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        if chars.get(i + 1) == Some(&'$') {
            out.push('$');
            i += 2;
            continue;
        }
        if chars.get(i + 1) == Some(&'{')
            && let Some(end) = chars[i + 2..].iter().position(|c| *c == '}')
        {
            {
                let name: String = chars[i + 2..i + 2 + end].iter().collect();
                if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    out.push_str(&lookup(&name).unwrap_or_default());
                } else {
                    // Shell syntax such as ${X:-y} or ${X::8}: leave it for the shell.
                    out.extend(&chars[i..i + 3 + end]);
                }
                i += 3 + end;
                continue;
            }
        }
        let len = chars[i + 1..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
            .count();
        if len == 0 {
            out.push('$');
            i += 1;
            continue;
        }
        let name: String = chars[i + 1..i + 1 + len].iter().collect();
        out.push_str(&lookup(&name).unwrap_or_default());
        i += 1 + len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_follows_the_runner() {
        let look = |n: &str| (n == "A").then(|| "x".to_string());
        assert_eq!(expand("$A/${A}/$B/$$A", look), "x/x//$A");
        assert_eq!(expand("${CI_COMMIT_SHA::8}", look), "${CI_COMMIT_SHA::8}");
        assert_eq!(expand("cost $", look), "cost $");
    }

    #[test]
    fn project_dir_comes_from_the_repo_path() {
        assert_eq!(
            repo_path("http://gitlab-ci-token:t@h:8/grp/app.git", "app"),
            "grp/app"
        );
        assert_eq!(repo_path("", "app"), "app");
    }
}
