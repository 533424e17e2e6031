//! The in-memory database: projects, variables, pipelines, jobs, runners.

use std::collections::BTreeMap;

use crate::accounts::Lockout;
use crate::model::{Job, Pipeline, Project, Runner, Status, Variable};
use crate::namespaces::Group;
use crate::sessions::Sessions;
use crate::tokens::Tokens;

/// Everything the embedded GitLab knows, guarded by one mutex in [`crate::server::Shared`].
#[derive(Debug, Default)]
pub struct Store {
    next_id: u64,
    /// Projects by id.
    pub projects: BTreeMap<u64, Project>,
    /// Groups by id.
    pub groups: BTreeMap<u64, Group>,
    /// Id of root's user namespace (`root`).
    pub user_namespace_id: u64,
    /// Project variables by project id.
    pub variables: BTreeMap<u64, Vec<Variable>>,
    /// Instance-level variables (Admin → CI/CD → Variables).
    pub instance_variables: Vec<Variable>,
    /// Pipelines by id.
    pub pipelines: BTreeMap<u64, Pipeline>,
    /// Jobs by id.
    pub jobs: BTreeMap<u64, Job>,
    /// Runners by id.
    pub runners: BTreeMap<u64, Runner>,
    /// Signed-in web sessions.
    pub(crate) sessions: Sessions,
    /// Root's failed sign-ins and lock.
    pub(crate) lockout: Lockout,
    /// Root's access tokens.
    pub(crate) tokens: Tokens,
}

impl Store {
    /// A fresh id (one sequence for everything keeps ids unique across kinds, like a busy instance).
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Finds a project by numeric id or `group/name` path.
    pub fn project_by_ref(&self, id_or_path: &str) -> Option<&Project> {
        match id_or_path.parse::<u64>() {
            Ok(id) => self.projects.get(&id),
            Err(_) => {
                let path = id_or_path.trim_end_matches(".git");
                self.projects
                    .values()
                    .find(|p| p.path_with_namespace == path)
            }
        }
    }

    /// Pipeline `id`, if it belongs to project `project_id` (URLs name both).
    pub fn project_pipeline(&self, project_id: u64, id: u64) -> Option<&Pipeline> {
        self.pipelines
            .get(&id)
            .filter(|p| p.project_id == project_id)
    }

    /// Job `id`, if it belongs to project `project_id` (URLs name both).
    pub fn project_job(&self, project_id: u64, id: u64) -> Option<&Job> {
        self.jobs.get(&id).filter(|j| j.project_id == project_id)
    }

    /// Jobs of a pipeline that are not replaced by retries, in stage then creation order.
    pub fn current_jobs(&self, pipeline_id: u64) -> Vec<&Job> {
        let mut jobs: Vec<&Job> = self
            .jobs
            .values()
            .filter(|j| j.pipeline_id == pipeline_id && !j.retried)
            .collect();
        jobs.sort_by_key(|j| (j.stage_idx, j.id));
        jobs
    }

    /// Every job of a pipeline including retried ones, by id.
    pub fn all_jobs(&self, pipeline_id: u64) -> Vec<&Job> {
        self.jobs
            .values()
            .filter(|j| j.pipeline_id == pipeline_id)
            .collect()
    }

    /// The job whose token is `token`.
    pub fn job_by_token(&self, token: &str) -> Option<&Job> {
        self.jobs
            .values()
            .find(|j| !token.is_empty() && j.token == token)
    }

    /// The runner whose token is `token`.
    pub fn runner_by_token(&self, token: &str) -> Option<&Runner> {
        self.runners
            .values()
            .find(|r| !token.is_empty() && r.token == token)
    }

    /// Values to hide from traces of `job`: masked variables it receives and its token.
    pub fn masked_values(&self, job: &Job) -> Vec<String> {
        let mut values: Vec<String> = self
            .instance_variables
            .iter()
            .chain(self.variables.get(&job.project_id).into_iter().flatten())
            .filter(|v| v.masked && !v.value.is_empty())
            .map(|v| v.value.clone())
            .collect();
        values.push(job.token.clone());
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        values
    }

    /// The trace of `job` with masked values replaced by `[MASKED]`.
    pub fn masked_trace(&self, job: &Job) -> String {
        let mut text = String::from_utf8_lossy(&job.trace).into_owned();
        for value in self.masked_values(job) {
            text = text.replace(&value, "[MASKED]");
        }
        text
    }

    /// Whether any pipeline job is in `status`.
    pub fn any_job(&self, status: Status) -> bool {
        self.jobs.values().any(|j| j.status == status)
    }
}
