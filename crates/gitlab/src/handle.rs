//! The handle other crates drive the embedded GitLab with.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::error::GitLabError;
use crate::model::{Job, Pipeline, Project, Runner, Status, Variable, Visibility};
use crate::shared::{Shared, random_token};
use crate::{ops, pipelines};

/// A running embedded GitLab. Dropping it stops the server.
pub struct GitLabHandle {
    shared: Arc<Shared>,
    task: Option<JoinHandle<()>>,
}

/// `root`'s credentials: usable as `git` HTTP basic auth (user + password or token) and as
/// `PRIVATE-TOKEN` for the API.
#[derive(Debug, Clone)]
pub struct RootCredentials {
    /// `root`.
    pub username: String,
    /// The password.
    pub password: String,
    /// A personal access token with API scope.
    pub personal_access_token: String,
}

impl GitLabHandle {
    pub(crate) fn new(shared: Arc<Shared>, task: JoinHandle<()>) -> Self {
        Self {
            shared,
            task: Some(task),
        }
    }

    /// Base URL with a trailing slash (`http://127.0.0.1:PORT/`).
    pub fn url(&self) -> String {
        format!("{}/", self.shared.base)
    }

    /// The runner registration token.
    pub fn registration_token(&self) -> String {
        self.shared.registration_token.clone()
    }

    /// `root`'s credentials.
    pub fn root_credentials(&self) -> RootCredentials {
        RootCredentials {
            username: "root".into(),
            password: self.shared.root_password.clone(),
            personal_access_token: self.shared.root_token.clone(),
        }
    }

    /// The project's clone URL with root's credentials embedded, for `git push`.
    pub fn push_url(&self, project: &Project) -> String {
        project.http_url_to_repo.replacen(
            "http://",
            &format!("http://root:{}@", self.shared.root_password),
            1,
        )
    }

    /// Where repositories and artifacts live.
    pub fn state_dir(&self) -> PathBuf {
        self.shared.config.state_dir.clone()
    }

    /// Creates the private project `group/name` (empty repository; the first push sets the
    /// default branch).
    pub async fn create_project(&self, path: &str) -> Result<Project, GitLabError> {
        ops::create_project(&self.shared, path, Visibility::Private).await
    }

    /// Makes a project private, internal or public (Settings → General → Visibility), for
    /// callers that need anonymous clones or pages.
    pub fn set_project_visibility(
        &self,
        project: &Project,
        visibility: Visibility,
    ) -> Result<Project, GitLabError> {
        ops::set_visibility(&self.shared, project.id, visibility)
    }

    /// Finds a project by id or path.
    pub fn project(&self, id_or_path: &str) -> Option<Project> {
        self.shared.store().project_by_ref(id_or_path).cloned()
    }

    /// Sets a CI/CD variable (masking requirements checked like GitLab).
    pub async fn set_variable(
        &self,
        project: &Project,
        variable: Variable,
    ) -> Result<Variable, GitLabError> {
        ops::set_variable(&self.shared, project.id, variable)
    }

    /// Sets an instance-level CI/CD variable.
    pub fn set_instance_variable(&self, variable: Variable) {
        let mut store = self.shared.store();
        store.instance_variables.retain(|v| v.key != variable.key);
        store.instance_variables.push(variable);
    }

    /// "Run pipeline" for `reference` with variables (source `web`).
    pub async fn run_pipeline(
        &self,
        project: &Project,
        reference: &str,
        variables: &[(&str, &str)],
    ) -> Result<Pipeline, GitLabError> {
        let vars = variables
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ops::run_pipeline(&self.shared, project.id, reference, vars, "web", true).await
    }

    /// Creates a runner with an authentication token (like "New instance runner" in the UI).
    pub fn create_runner(&self, description: &str, tags: &[&str], run_untagged: bool) -> Runner {
        let mut store = self.shared.store();
        let id = store.next_id();
        let runner = Runner {
            id,
            runner_type: crate::model::RunnerType::InstanceType,
            projects: Vec::new(),
            group_id: None,
            description: description.to_string(),
            tag_list: tags.iter().map(|t| t.to_string()).collect(),
            run_untagged,
            locked: false,
            paused: false,
            access_level: "not_protected".into(),
            maximum_timeout: None,
            contacted_at: None,
            version: None,
            token: format!("glrt-{}", random_token(20)),
        };
        store.runners.insert(id, runner.clone());
        drop(store);
        self.shared.notify(true);
        runner
    }

    /// Registered runners.
    pub fn runners(&self) -> Vec<Runner> {
        self.shared.store().runners.values().cloned().collect()
    }

    /// A runner's authentication token.
    pub fn runner_token(&self, runner_id: u64) -> Option<String> {
        self.shared
            .store()
            .runners
            .get(&runner_id)
            .map(|r| r.token.clone())
    }

    /// Job requests currently held open by long polling (runners waiting for work).
    pub fn waiting_job_requests(&self) -> usize {
        self.shared
            .waiting_requests
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Pipelines of a project, newest first.
    pub fn pipelines(&self, project: &Project) -> Vec<Pipeline> {
        self.shared
            .store()
            .pipelines
            .values()
            .rev()
            .filter(|p| p.project_id == project.id)
            .cloned()
            .collect()
    }

    /// One pipeline.
    pub fn pipeline(&self, id: u64) -> Option<Pipeline> {
        self.shared.store().pipelines.get(&id).cloned()
    }

    /// Current (non-retried) jobs of a pipeline in stage order.
    pub fn jobs(&self, pipeline_id: u64) -> Vec<Job> {
        self.shared
            .store()
            .current_jobs(pipeline_id)
            .into_iter()
            .cloned()
            .collect()
    }

    /// One job.
    pub fn job(&self, id: u64) -> Option<Job> {
        self.shared.store().jobs.get(&id).cloned()
    }

    /// A job's trace with masked values shown as `[MASKED]`.
    pub fn trace(&self, job_id: u64) -> Option<String> {
        let store = self.shared.store();
        store.jobs.get(&job_id).map(|j| store.masked_trace(j))
    }

    /// A job's artifacts archive (zip bytes).
    pub async fn artifacts(&self, job_id: u64) -> Option<Vec<u8>> {
        let path = self
            .shared
            .store()
            .jobs
            .get(&job_id)?
            .artifacts
            .iter()
            .find(|a| a.file_type == "archive")?
            .path
            .clone();
        tokio::fs::read(path).await.ok()
    }

    /// Plays a manual job.
    pub fn play_job(&self, job_id: u64) -> Result<Job, GitLabError> {
        pipelines::play_job(&self.shared, job_id)
    }

    /// Cancels a pipeline.
    pub fn cancel_pipeline(&self, pipeline_id: u64) -> Result<Pipeline, GitLabError> {
        pipelines::cancel_pipeline(&self.shared, pipeline_id)
    }

    /// Retries a finished job.
    pub fn retry_job(&self, job_id: u64) -> Result<Job, GitLabError> {
        pipelines::retry_job(&self.shared, job_id)
    }

    /// A receiver that changes whenever a pipeline, job or runner changes.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.shared.changes.subscribe()
    }

    /// Waits (without sleeping: it follows the change channel) until `check` returns `Some`.
    pub async fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut(&GitLabHandle) -> Option<T>,
    ) -> Result<T, GitLabError> {
        let deadline = Instant::now() + timeout;
        let mut rx = self.subscribe();
        loop {
            rx.borrow_and_update();
            if let Some(v) = check(self) {
                return Ok(v);
            }
            tokio::select! {
                changed = rx.changed() => if changed.is_err() { return Err(GitLabError::Shutdown) },
                _ = tokio::time::sleep_until(deadline) => return Err(GitLabError::Timeout(what.to_string())),
            }
        }
    }

    /// Waits until the pipeline is finished (success, failed, canceled, skipped) or parked on a
    /// manual job, and returns it.
    pub async fn wait_pipeline(&self, id: u64, timeout: Duration) -> Result<Pipeline, GitLabError> {
        self.wait_for(&format!("pipeline {id} to finish"), timeout, |h| {
            h.pipeline(id).filter(|p| p.status.is_settled())
        })
        .await
    }

    /// Waits until a job reaches `status`.
    pub async fn wait_job_status(
        &self,
        id: u64,
        status: Status,
        timeout: Duration,
    ) -> Result<Job, GitLabError> {
        self.wait_for(
            &format!("job {id} to be {}", status.as_str()),
            timeout,
            |h| h.job(id).filter(|j| j.status == status),
        )
        .await
    }

    /// Waits until the project has at least `count` pipelines; returns them newest first.
    pub async fn wait_pipelines(
        &self,
        project: &Project,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<Pipeline>, GitLabError> {
        self.wait_for(
            &format!("{count} pipelines of {}", project.path_with_namespace),
            timeout,
            |h| {
                let list = h.pipelines(project);
                (list.len() >= count).then_some(list)
            },
        )
        .await
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(mut self) {
        self.shared.shutdown.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for GitLabHandle {
    fn drop(&mut self) {
        self.shared.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
