//! Creating pipelines from `.gitlab-ci.yml` at a commit, and user actions on them.

use std::collections::HashMap;

use chrono::Utc;

use crate::ci::{self, FileSource, selection};
use crate::error::GitLabError;
use crate::model::{Job, Pipeline, Project, Status};
use crate::payload;
use crate::process;
use crate::shared::{Shared, random_token};

/// What to create a pipeline for.
#[derive(Debug, Clone)]
pub struct PipelineRequest {
    /// Project id.
    pub project_id: u64,
    /// Branch or tag name.
    pub ref_name: String,
    /// Whether it is a tag.
    pub is_tag: bool,
    /// Commit.
    pub sha: String,
    /// Previous commit of the ref (zeros when new).
    pub before_sha: String,
    /// `push`, `web`, `api`, ...
    pub source: String,
    /// Pipeline variables.
    pub variables: Vec<(String, String)>,
    /// Whether an invalid configuration still makes a (failed) pipeline.
    pub save_on_errors: bool,
}

/// The YAML files of a commit, for `include: local`.
pub(crate) struct MapFiles(HashMap<String, String>);

impl FileSource for MapFiles {
    fn read(&self, path: &str) -> Option<String> {
        self.0.get(path).cloned()
    }
}

/// The `.yml`/`.yaml` files among `tree` at `sha`.
pub(crate) async fn yaml_files(
    git: &crate::git::Git,
    repo: &std::path::Path,
    sha: &str,
    tree: &[String],
) -> MapFiles {
    let mut files = HashMap::new();
    for f in tree
        .iter()
        .filter(|f| f.ends_with(".yml") || f.ends_with(".yaml"))
    {
        if let Some(t) = git.read_file(repo, sha, f).await {
            files.insert(f.clone(), t);
        }
    }
    MapFiles(files)
}

/// Whether `ref_name` is protected in `project`.
pub fn is_protected(project: &Project, ref_name: &str, is_tag: bool) -> bool {
    !is_tag
        && (project.protected_branches.iter().any(|b| b == ref_name)
            || project.default_branch.as_deref() == Some(ref_name))
}

/// Creates a pipeline; a config error yields a `failed` pipeline carrying `yaml_errors`.
pub async fn create(shared: &Shared, req: PipelineRequest) -> Result<Pipeline, GitLabError> {
    let project = shared
        .store()
        .projects
        .get(&req.project_id)
        .cloned()
        .ok_or_else(|| GitLabError::not_found("project", req.project_id))?;
    let git = &shared.git;
    let Some(text) = git
        .read_file(&project.repo_dir, &req.sha, ".gitlab-ci.yml")
        .await
    else {
        return Err(GitLabError::Invalid("Missing CI config file".into()));
    };
    let tree = git.tree_files(&project.repo_dir, &req.sha).await;
    let files = yaml_files(git, &project.repo_dir, &req.sha, &tree).await;
    let changed = if req.source == "push" {
        git.changed_files(&project.repo_dir, &req.before_sha, &req.sha)
            .await
    } else {
        None
    };
    let commit = git.commit(&project.repo_dir, &req.sha).await;
    let loaded = ci::load(&text, &files);
    if !req.save_on_errors
        && let Err(errors) = &loaded
    {
        return Err(GitLabError::Config(
            errors.iter().map(|e| e.message.clone()).collect(),
        ));
    }

    let now = Utc::now();
    let mut store = shared.store();
    let id = store.next_id();
    let iid = store
        .pipelines
        .values()
        .filter(|p| p.project_id == project.id)
        .count() as u64
        + 1;
    let protected = is_protected(&project, &req.ref_name, req.is_tag);
    let mut pipeline = Pipeline {
        id,
        iid,
        project_id: project.id,
        ref_name: req.ref_name.clone(),
        sha: req.sha.clone(),
        before_sha: req.before_sha.clone(),
        tag: req.is_tag,
        source: req.source.clone(),
        status: Status::Created,
        yaml_errors: None,
        protected,
        created_at: now,
        updated_at: now,
        started_at: None,
        finished_at: None,
        stages: Vec::new(),
        variables: req.variables.clone(),
        commit,
    };
    let config = match loaded {
        Ok(c) => c,
        Err(errors) => {
            pipeline.status = Status::Failed;
            pipeline.finished_at = Some(now);
            pipeline.yaml_errors = errors.first().map(|e| e.message.clone());
            tracing::info!(pipeline = id, errors = ?errors, "pipeline failed: invalid .gitlab-ci.yml");
            store.pipelines.insert(id, pipeline.clone());
            drop(store);
            shared.notify(false);
            return Ok(pipeline);
        }
    };
    let mut vars: HashMap<String, String> =
        payload::pipeline_variables(shared, &project, &pipeline)
            .into_iter()
            .collect();
    vars.extend(config.variables.iter().cloned());
    for v in payload::settings_variables(&store, project.id, protected) {
        vars.insert(v.key, v.value);
    }
    vars.extend(req.variables.iter().cloned());
    let ctx = selection::RefContext {
        ref_name: &req.ref_name,
        is_tag: req.is_tag,
        source: &req.source,
        variables: &vars,
        changed_files: changed.as_deref(),
        tree_files: &tree,
    };
    let Some(workflow_vars) = selection::workflow(&config, &ctx) else {
        return Err(GitLabError::Invalid(
            "Pipeline filtered out by workflow rules.".into(),
        ));
    };
    let mut jobs = Vec::new();
    for job in &config.jobs {
        let Some(sel) = selection::select_job(job, &ctx) else {
            continue;
        };
        let mut job_config = job.clone();
        for (k, v) in workflow_vars.iter().chain(sel.variables.iter()) {
            job_config.variables.retain(|(key, _)| key != k);
            job_config.variables.push((k.clone(), v.clone()));
        }
        jobs.push((job_config, sel));
    }
    if jobs.is_empty() {
        return Err(GitLabError::Invalid(
            "No stages / jobs for this pipeline.".into(),
        ));
    }
    // A need on a job that rules/only/except left out fails the pipeline, as GitLab does.
    let missing_need = jobs.iter().find_map(|(job, _)| {
        job.needs.iter().flatten().find_map(|need| {
            let present = jobs.iter().any(|(other, _)| other.name == need.job);
            (!present && !need.optional).then(|| {
                format!(
                    "'{}' job needs '{}' job, but '{}' is not in any previous stage",
                    job.name, need.job, need.job
                )
            })
        })
    });
    if let Some(message) = missing_need {
        if !req.save_on_errors {
            return Err(GitLabError::Config(vec![message]));
        }
        pipeline.status = Status::Failed;
        pipeline.finished_at = Some(now);
        pipeline.yaml_errors = Some(message);
        store.pipelines.insert(id, pipeline.clone());
        drop(store);
        shared.notify(false);
        return Ok(pipeline);
    }
    pipeline.stages = config
        .stages
        .iter()
        .filter(|s| jobs.iter().any(|(j, _)| &j.stage == *s))
        .cloned()
        .collect();
    store.pipelines.insert(id, pipeline);
    for (job_config, sel) in jobs {
        let job_id = store.next_id();
        let job = new_job(
            job_id,
            id,
            project.id,
            config.stage_index(&job_config.stage),
            job_config,
            sel.when,
            sel.allow_failure,
        );
        store.jobs.insert(job_id, job);
    }
    let queued = process::process_pipeline(&mut store, id);
    let pipeline = store.pipelines.get(&id).cloned();
    drop(store);
    shared.notify(queued);
    tracing::info!(pipeline = id, project = %project.path_with_namespace, r#ref = %req.ref_name, "pipeline created");
    pipeline.ok_or_else(|| GitLabError::not_found("pipeline", id))
}

fn new_job(
    id: u64,
    pipeline_id: u64,
    project_id: u64,
    stage_idx: usize,
    config: ci::model::JobConfig,
    when: ci::model::When,
    allow_failure: bool,
) -> Job {
    Job {
        id,
        pipeline_id,
        project_id,
        name: config.name.clone(),
        stage: config.stage.clone(),
        stage_idx,
        status: Status::Created,
        when,
        allow_failure,
        tag_list: config.tags.clone(),
        failure_reason: None,
        runner_id: None,
        retried: false,
        attempt: 0,
        created_at: Utc::now(),
        started_at: None,
        finished_at: None,
        artifacts: Vec::new(),
        token: format!("glcbt-{}", random_token(20)),
        trace: Vec::new(),
        config,
    }
}

/// A new attempt of `job` (retry): the old one is marked retried, the new one starts `pending`
/// and jobs skipped because of the old result go back to `created` (GitLab's reset of skipped
/// jobs), then the pipeline is processed again.
pub fn retry_job(shared: &Shared, job_id: u64) -> Result<Job, GitLabError> {
    let mut store = shared.store();
    let job = retry_in_store(&mut store, job_id)?;
    drop(store);
    shared.notify(true);
    Ok(job)
}

/// [`retry_job`] on a locked store.
pub fn retry_in_store(store: &mut crate::store::Store, job_id: u64) -> Result<Job, GitLabError> {
    let old = store
        .jobs
        .get(&job_id)
        .cloned()
        .ok_or_else(|| GitLabError::not_found("job", job_id))?;
    if !old.status.is_complete() || old.retried {
        return Err(GitLabError::Invalid(format!(
            "403 Forbidden - job {job_id} is {} and cannot be retried",
            old.status.as_str()
        )));
    }
    let new_id = store.next_id();
    let mut job = new_job(
        new_id,
        old.pipeline_id,
        old.project_id,
        old.stage_idx,
        old.config.clone(),
        old.when,
        old.allow_failure,
    );
    job.attempt = old.attempt + 1;
    job.status = if old.when == ci::model::When::Manual {
        Status::Manual
    } else {
        Status::Pending
    };
    if let Some(o) = store.jobs.get_mut(&job_id) {
        o.retried = true;
    }
    for later in store.jobs.values_mut().filter(|j| {
        j.pipeline_id == old.pipeline_id
            && !j.retried
            && j.status == Status::Skipped
            && j.stage_idx >= old.stage_idx
            && j.id != job_id
    }) {
        later.status = Status::Created;
    }
    store.jobs.insert(new_id, job.clone());
    if let Some(p) = store.pipelines.get_mut(&old.pipeline_id) {
        p.finished_at = None;
    }
    process::process_pipeline(store, old.pipeline_id);
    Ok(job)
}

/// Plays a manual job.
pub fn play_job(shared: &Shared, job_id: u64) -> Result<Job, GitLabError> {
    change_job(shared, job_id, true, |job| {
        if job.status != Status::Manual {
            return Err(GitLabError::Invalid(format!(
                "400 Bad request - Unplayable Job (status {})",
                job.status.as_str()
            )));
        }
        job.status = Status::Pending;
        Ok(())
    })
}

/// Cancels one job (a running job learns it through `Job-Status: canceled`).
pub fn cancel_job(shared: &Shared, job_id: u64) -> Result<Job, GitLabError> {
    change_job(shared, job_id, false, |job| {
        if !job.status.is_complete() {
            job.status = Status::Canceled;
            job.finished_at = Some(Utc::now());
        }
        Ok(())
    })
}

/// Applies `change` to one job under the store lock, processes its pipeline again and wakes the
/// runners (`queue_changed`: jobs may have become pending); a refused change leaves all as it was.
fn change_job(
    shared: &Shared,
    job_id: u64,
    queue_changed: bool,
    change: impl FnOnce(&mut Job) -> Result<(), GitLabError>,
) -> Result<Job, GitLabError> {
    let mut store = shared.store();
    let job = store
        .jobs
        .get_mut(&job_id)
        .ok_or_else(|| GitLabError::not_found("job", job_id))?;
    change(job)?;
    let (pid, job) = (job.pipeline_id, job.clone());
    process::process_pipeline(&mut store, pid);
    drop(store);
    shared.notify(queue_changed);
    Ok(job)
}

/// Cancels every unfinished job of a pipeline.
pub fn cancel_pipeline(shared: &Shared, pipeline_id: u64) -> Result<Pipeline, GitLabError> {
    let mut store = shared.store();
    let now = Utc::now();
    for job in store
        .jobs
        .values_mut()
        .filter(|j| j.pipeline_id == pipeline_id && !j.retried)
    {
        if !job.status.is_complete() {
            job.status = Status::Canceled;
            job.finished_at = Some(now);
        }
    }
    process::update_pipeline_status(&mut store, pipeline_id);
    let p = store.pipelines.get(&pipeline_id).cloned();
    drop(store);
    shared.notify(false);
    p.ok_or_else(|| GitLabError::not_found("pipeline", pipeline_id))
}
