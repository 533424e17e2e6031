//! Operations shared by the REST API and [`crate::GitLabHandle`]: projects, variables, pushes
//! and "Run pipeline".

use std::collections::BTreeMap;

use chrono::Utc;

use crate::error::GitLabError;
use crate::git::ZERO_SHA;
use crate::model::{Pipeline, Project, Variable, Visibility};
use crate::pipelines::{self, PipelineRequest};
use crate::shared::Shared;

fn valid_segment(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(['.', '-'])
        && !s.ends_with(".git")
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Creates `group/name` with an empty bare repository, seen by whom `visibility` says.
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
    if shared.store().project_by_ref(path).is_some() {
        return Err(GitLabError::Invalid(format!(
            "{{:path=>[\"has already been taken\"]}} ({path})"
        )));
    }
    let repo_dir = shared.git.root.join(format!("{path}.git"));
    shared.git.init_bare(&repo_dir).await?;
    let (namespace, name) = path.rsplit_once('/').unwrap_or(("", path));
    let mut store = shared.store();
    let id = store.next_id();
    let project = Project {
        id,
        name: name.to_string(),
        path: name.to_string(),
        path_with_namespace: path.to_string(),
        namespace: namespace.to_string(),
        http_url_to_repo: shared.url(&format!("{path}.git")),
        web_url: shared.url(path),
        default_branch: None,
        protected_branches: shared.config.protected_branches.clone(),
        visibility,
        job_token_scope: Default::default(),
        created_at: Utc::now(),
        repo_dir,
    };
    store.projects.insert(id, project.clone());
    drop(store);
    shared.notify(false);
    tracing::info!(project = %path, id, "project created");
    Ok(project)
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

/// GitLab's rule for maskable values: one line, ≥ 8 characters, Base64 alphabet plus `@:.~-_`.
pub fn maskable(value: &str) -> bool {
    value.len() >= 8
        && value.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '+' | '/' | '=' | '@' | ':' | '.' | '~' | '-' | '_')
        })
}

/// Creates or replaces a project variable.
pub fn set_variable(
    shared: &Shared,
    project_id: u64,
    variable: Variable,
) -> Result<Variable, GitLabError> {
    if variable.key.is_empty()
        || variable.key.len() > 255
        || !variable
            .key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(GitLabError::Invalid(
            "{:key=>[\"can contain only letters, digits and '_'.\"]}".into(),
        ));
    }
    if variable.masked && !maskable(&variable.value) {
        return Err(GitLabError::Invalid(format!(
            "{{:value=>[\"is invalid\"]}} (variable {} cannot be masked: the value must be a single line of at least 8 characters from the Base64 alphabet plus @:.~-_)",
            variable.key
        )));
    }
    let mut store = shared.store();
    if !store.projects.contains_key(&project_id) {
        return Err(GitLabError::not_found("project", project_id));
    }
    let list = store.variables.entry(project_id).or_default();
    list.retain(|v| v.key != variable.key);
    list.push(variable.clone());
    Ok(variable)
}

/// Deletes a project variable.
pub fn delete_variable(shared: &Shared, project_id: u64, key: &str) -> Result<(), GitLabError> {
    let mut store = shared.store();
    let list = store.variables.entry(project_id).or_default();
    let before = list.len();
    list.retain(|v| v.key != key);
    if list.len() == before {
        return Err(GitLabError::not_found("variable", key));
    }
    Ok(())
}

/// "Run pipeline": a pipeline for the head of `reference` with extra variables.
pub async fn run_pipeline(
    shared: &Shared,
    project_id: u64,
    reference: &str,
    variables: Vec<(String, String)>,
    source: &str,
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
        .ok_or_else(|| GitLabError::Invalid(format!("Reference not found: {reference}")))?;
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
        };
        match pipelines::create(shared, req).await {
            Ok(p) => created.push(p),
            Err(e) => tracing::info!(r#ref = %ref_name, reason = %e, "no pipeline for push"),
        }
    }
    created
}

#[cfg(test)]
mod tests {
    use super::maskable;

    #[test]
    fn masking_requirements_follow_gitlab() {
        assert!(maskable("s3cr3t-Value_1234"));
        assert!(maskable("dXNlcjpwYXNz=="));
        assert!(!maskable("short"), "fewer than 8 characters");
        assert!(!maskable("has a space in it"));
        assert!(!maskable("two\nlines-value"));
        assert!(!maskable("dollar$sign-value"));
    }
}
