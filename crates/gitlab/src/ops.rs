//! Operations shared by the REST API and [`crate::GitLabHandle`]: projects, variables, pushes
//! and "Run pipeline".

use std::collections::BTreeMap;

use chrono::Utc;

use crate::error::GitLabError;
use crate::git::ZERO_SHA;
use crate::model::{Pipeline, Project, RunnerType, Visibility};
use crate::namespaces::valid_segment;
use crate::pipelines::{self, PipelineRequest};
use crate::shared::{Shared, random_token};

/// What `POST /projects` (or the handle) asks for.
#[derive(Debug, Clone)]
pub struct NewProject {
    /// The namespace it goes in.
    pub namespace_id: u64,
    /// Last path segment.
    pub path: String,
    /// Display name.
    pub name: String,
    /// Who may see it.
    pub visibility: Visibility,
}

/// Creates `group/name` (groups created as needed; `root/name` is in root's own namespace)
/// with an empty bare repository, seen by whom `visibility` says.
pub async fn create_project(
    shared: &Shared,
    path: &str,
    visibility: Visibility,
) -> Result<Project, GitLabError> {
    let path = path.trim_matches('/');
    let segments: Vec<&str> = path.split('/').collect();
    if segments.len() < 2 || !segments.iter().all(|s| valid_segment(s)) {
        return Err(GitLabError::Invalid(format!(
            "project path `{path}` must look like `group/name` (letters, digits, `-`, `_`, `.`)"
        )));
    }
    let (namespace, name) = path.rsplit_once('/').unwrap_or(("", path));
    if shared.store().path_taken(path) {
        return Err(taken());
    }
    let namespace_id = shared.store().ensure_namespace(namespace)?.id;
    create_project_in(
        shared,
        NewProject {
            namespace_id,
            path: name.to_string(),
            name: name.to_string(),
            visibility,
        },
    )
    .await
}

/// GitLab's answer to a project path in use.
fn taken() -> GitLabError {
    GitLabError::Validation(serde_json::json!({
        "name": ["has already been taken"],
        "path": ["has already been taken"],
    }))
}

/// Creates a project in an existing namespace.
pub async fn create_project_in(shared: &Shared, new: NewProject) -> Result<Project, GitLabError> {
    if !valid_segment(&new.path) {
        return Err(GitLabError::Validation(serde_json::json!({
            "path": ["can contain only letters, digits, '_', '-' and '.'. Cannot start with '-', end in '.git' or end in '.atom'"],
        })));
    }
    let namespace = shared
        .store()
        .namespaces()
        .into_iter()
        .find(|n| n.id == new.namespace_id)
        .ok_or_else(|| GitLabError::not_found("namespace", new.namespace_id))?;
    let full = format!("{}/{}", namespace.full_path, new.path);
    if shared.store().path_taken(&full) {
        return Err(taken());
    }
    let repo_dir = shared.git.root.join(format!("{full}.git"));
    shared.git.init_bare(&repo_dir).await?;
    let mut store = shared.store();
    if store.path_taken(&full) {
        return Err(taken());
    }
    let id = store.next_id();
    let project = Project {
        id,
        name: new.name,
        path: new.path,
        path_with_namespace: full.clone(),
        namespace: namespace.full_path,
        namespace_id: namespace.id,
        http_url_to_repo: shared.url(&format!("{full}.git")),
        web_url: shared.url(&full),
        default_branch: None,
        protected_branches: shared.config.protected_branches.clone(),
        visibility: new.visibility,
        job_token_scope: Default::default(),
        runners_token: format!("GR1348941{}", random_token(20)),
        created_at: Utc::now(),
        repo_dir,
    };
    store.projects.insert(id, project.clone());
    drop(store);
    shared.notify(false);
    tracing::info!(project = %full, id, "project created");
    Ok(project)
}

/// Deletes a project with its repository, pipelines, jobs (and their artifacts), variables and
/// the runners that served only this project; other projects' allowlists forget it.
pub async fn delete_project(shared: &Shared, project_id: u64) -> Result<(), GitLabError> {
    let (project, artifact_dirs) = {
        let mut store = shared.store();
        let project = store
            .projects
            .remove(&project_id)
            .ok_or_else(|| GitLabError::not_found("project", project_id))?;
        store.variables.remove(&project_id);
        store.pipelines.retain(|_, p| p.project_id != project_id);
        let jobs: Vec<u64> = store
            .jobs
            .values()
            .filter(|j| j.project_id == project_id)
            .map(|j| j.id)
            .collect();
        for id in &jobs {
            store.jobs.remove(id);
        }
        for runner in store.runners.values_mut() {
            runner.projects.retain(|p| *p != project_id);
        }
        store
            .runners
            .retain(|_, r| r.runner_type != RunnerType::ProjectType || !r.projects.is_empty());
        for other in store.projects.values_mut() {
            other.job_token_scope.allowlist.retain(|p| *p != project_id);
        }
        let dirs: Vec<_> = jobs
            .iter()
            .map(|id| shared.artifacts_dir.join(id.to_string()))
            .collect();
        (project, dirs)
    };
    for dir in std::iter::once(&project.repo_dir).chain(&artifact_dirs) {
        if let Err(e) = tokio::fs::remove_dir_all(dir).await
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(dir = %dir.display(), error = %e, "removing a deleted project's files");
        }
    }
    shared.notify(true);
    tracing::info!(project = %project.path_with_namespace, "project deleted");
    Ok(())
}

/// Deletes a group, its subgroups and all their projects.
pub async fn delete_group(shared: &Shared, group_id: u64) -> Result<(), GitLabError> {
    let (groups, projects) = {
        let store = shared.store();
        if !store.groups.contains_key(&group_id) {
            return Err(GitLabError::not_found("group", group_id));
        }
        let groups = store.group_tree(group_id);
        let projects: Vec<u64> = store
            .projects
            .values()
            .filter(|p| groups.contains(&p.namespace_id))
            .map(|p| p.id)
            .collect();
        (groups, projects)
    };
    for id in projects {
        delete_project(shared, id).await?;
    }
    let mut store = shared.store();
    for id in groups {
        store.groups.remove(&id);
    }
    Ok(())
}

/// Changes who may see a project.
pub fn set_visibility(
    shared: &Shared,
    project_id: u64,
    visibility: Visibility,
) -> Result<Project, GitLabError> {
    let mut store = shared.store();
    let project = store
        .projects
        .get_mut(&project_id)
        .ok_or_else(|| GitLabError::not_found("project", project_id))?;
    project.visibility = visibility;
    Ok(project.clone())
}

pub use crate::project_variables::{delete_variable, maskable, set_variable};

/// "Run pipeline": a pipeline for the head of `reference` with extra variables. With
/// `save_on_errors` an invalid configuration makes a failed pipeline (what a push does);
/// without, it is refused with [`GitLabError::Config`] and nothing is created (what the API
/// does).
pub async fn run_pipeline(
    shared: &Shared,
    project_id: u64,
    reference: &str,
    variables: Vec<(String, String)>,
    source: &str,
    save_on_errors: bool,
) -> Result<Pipeline, GitLabError> {
    let project = shared
        .store()
        .projects
        .get(&project_id)
        .cloned()
        .ok_or_else(|| GitLabError::not_found("project", project_id))?;
    let (sha, is_tag) = shared
        .git
        .resolve(&project.repo_dir, reference)
        .await
        .ok_or_else(|| GitLabError::RefNotFound(reference.to_string()))?;
    pipelines::create(
        shared,
        PipelineRequest {
            project_id,
            ref_name: reference.to_string(),
            is_tag,
            sha: sha.clone(),
            before_sha: ZERO_SHA.into(),
            source: source.to_string(),
            variables,
            save_on_errors,
        },
    )
    .await
}

/// After a `git push`: sets the default branch on the first push and creates a pipeline per
/// updated branch or tag (unless the commit says `[ci skip]`/`[skip ci]`).
pub async fn after_push(
    shared: &Shared,
    project_id: u64,
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> Vec<Pipeline> {
    let Some(project) = shared.store().projects.get(&project_id).cloned() else {
        return Vec::new();
    };
    if project.default_branch.is_none() {
        let first = after
            .keys()
            .filter_map(|r| r.strip_prefix("refs/heads/"))
            .find(|b| *b == "main" || *b == "master")
            .or_else(|| after.keys().find_map(|r| r.strip_prefix("refs/heads/")));
        if let Some(branch) = first {
            if let Err(e) = shared.git.set_head(&project.repo_dir, branch).await {
                tracing::warn!(error = %e, "setting HEAD");
            }
            if let Some(p) = shared.store().projects.get_mut(&project_id) {
                p.default_branch = Some(branch.to_string());
            }
        }
    }
    let mut created = Vec::new();
    for (name, sha) in after {
        if before.get(name) == Some(sha) {
            continue;
        }
        let (ref_name, is_tag) = if let Some(b) = name.strip_prefix("refs/heads/") {
            (b, false)
        } else if let Some(t) = name.strip_prefix("refs/tags/") {
            (t, true)
        } else {
            continue;
        };
        let message = shared.git.commit(&project.repo_dir, sha).await.message;
        if message.contains("[ci skip]") || message.contains("[skip ci]") {
            continue;
        }
        let req = PipelineRequest {
            project_id,
            ref_name: ref_name.to_string(),
            is_tag,
            sha: sha.clone(),
            before_sha: before.get(name).cloned().unwrap_or_else(|| ZERO_SHA.into()),
            source: "push".into(),
            variables: Vec::new(),
            save_on_errors: true,
        };
        match pipelines::create(shared, req).await {
            Ok(p) => created.push(p),
            Err(e) => tracing::info!(r#ref = %ref_name, reason = %e, "no pipeline for push"),
        }
    }
    created
}
