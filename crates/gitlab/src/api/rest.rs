//! The REST subset (`PRIVATE-TOKEN` of root): projects, variables, pipelines, jobs, runners,
//! CI lint — in GitLab's v4 JSON shape.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::auth::Caller;
use super::request::{
    Auth, Params, QueryParams, ReadableProject, RootProject, RootProjectParams, RootUser,
    project_in, str_param, url_decode,
};
use super::{Answer, bad_request, error_response, json, json_response, list, not_found, ok};
use crate::model::{Runner, RunnerType, Visibility};
use crate::namespaces::path_from_name;
use crate::shared::Shared;
use crate::{ops, pipelines};

/// `GET /api/v4/version`.
pub(crate) async fn version() -> Response {
    ok(json!({"version": crate::GITLAB_VERSION, "revision": "harness", "enterprise": false}))
}

/// `GET /api/v4/user`.
pub(crate) async fn user(State(s): State<Arc<Shared>>, _: RootUser) -> Response {
    ok(json::root_user(&s.base))
}

/// `GET /api/v4/projects`: every project for root, public ones for everyone else.
pub(crate) async fn list_projects(State(s): State<Arc<Shared>>, Auth(who): Auth) -> Response {
    let root = matches!(who, Caller::Root(_));
    let store = s.store();
    list(
        store
            .projects
            .values()
            .filter(|p| root || p.visibility == Visibility::Public)
            .map(|p| json::project(p, &store, &s.base, root)),
    )
}

/// `POST /api/v4/projects`: `path` and/or `name` (each made from the other when missing),
/// `namespace_id` (id or full path; root's own namespace by default) and `visibility`
/// (private unless given).
pub(crate) async fn create_project(
    State(s): State<Arc<Shared>>,
    _: RootUser,
    Params(p): Params,
) -> Response {
    let (path, name) = match (str_param(&p, "path"), str_param(&p, "name")) {
        (None, None) => return bad_request("name is missing, path is missing"),
        (Some(path), name) => (path.to_string(), name.unwrap_or(path).to_string()),
        (None, Some(name)) => (path_from_name(name), name.to_string()),
    };
    let visibility = match str_param(&p, "visibility").map(Visibility::parse) {
        None => Visibility::Private,
        Some(Some(v)) => v,
        Some(None) => return bad_request("visibility does not have a valid value"),
    };
    let namespace = match p.get("namespace_id").or_else(|| p.get("namespace_path")) {
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::String(v)) => Some(url_decode(v)),
        _ => None,
    };
    let namespace_id = match namespace {
        None => s.store().user_namespace_id,
        Some(ns) => match s.store().namespace_by_ref(&ns) {
            Some(n) => n.id,
            None => return not_found("Namespace"),
        },
    };
    let new = ops::NewProject {
        namespace_id,
        path,
        name,
        visibility,
    };
    match ops::create_project_in(&s, new).await {
        Ok(project) => json_response(
            StatusCode::CREATED,
            &json::project(&project, &s.store(), &s.base, true),
        ),
        Err(e) => error_response(&e),
    }
}

/// `GET /api/v4/projects/:id` (id or URL-encoded path); strangers see public projects only.
pub(crate) async fn get_project(
    State(s): State<Arc<Shared>>,
    ReadableProject(pid, who): ReadableProject,
) -> Answer {
    let store = s.store();
    let project = project_in(&store, pid)?;
    let admin = matches!(who, Caller::Root(_));
    Ok(ok(json::project(project, &store, &s.base, admin)))
}

/// `DELETE /api/v4/projects/:id`: `202 Accepted`; the project goes with its repository,
/// pipelines, jobs, variables and runners.
pub(crate) async fn delete_project(
    State(s): State<Arc<Shared>>,
    RootProject(pid): RootProject,
) -> Answer {
    ops::delete_project(&s, pid)
        .await
        .map_err(|e| error_response(&e))?;
    Ok(accepted())
}

/// GitLab's `202 Accepted` answer to deletions it carries out in the background.
pub(crate) fn accepted() -> Response {
    json_response(StatusCode::ACCEPTED, &json!({"message": "202 Accepted"}))
}

/// `GET /api/v4/projects/:id/variables`.
pub(crate) async fn list_variables(
    State(s): State<Arc<Shared>>,
    RootProject(pid): RootProject,
) -> Answer {
    let store = s.store();
    Ok(list(
        store
            .variables
            .get(&pid)
            .into_iter()
            .flatten()
            .map(json::variable),
    ))
}

/// The runner lists' `type` filter: every runner when the query names no type.
fn of_type(p: &Map<String, Value>) -> impl Fn(&&Runner) -> bool + '_ {
    let wanted = str_param(p, "type");
    move |r| wanted.is_none_or(|t| t == r.runner_type.as_str())
}

/// `GET /api/v4/runners`, `/runners/all` (root is admin: every runner; `type` filters).
pub(crate) async fn list_runners(
    State(s): State<Arc<Shared>>,
    _: RootUser,
    QueryParams(p): QueryParams,
) -> Response {
    list(
        s.store()
            .runners
            .values()
            .filter(of_type(&p))
            .map(json::runner_summary),
    )
}

/// `GET /api/v4/projects/:id/runners`: the runners available to the project — instance
/// runners, its group's and its own (`type` filters).
pub(crate) async fn project_runners(
    State(s): State<Arc<Shared>>,
    RootProject(pid): RootProject,
    QueryParams(p): QueryParams,
) -> Answer {
    let store = s.store();
    let namespace = store.projects.get(&pid).map(|p| p.namespace_id);
    Ok(list(
        store
            .runners
            .values()
            .filter(|r| match r.runner_type {
                RunnerType::InstanceType => true,
                RunnerType::ProjectType => r.projects.contains(&pid),
                RunnerType::GroupType => r
                    .group_id
                    .is_some_and(|g| namespace.is_some_and(|ns| store.group_tree(g).contains(&ns))),
            })
            .filter(of_type(&p))
            .map(json::runner_summary),
    ))
}

/// `GET` / `DELETE /api/v4/runners/:id` (`204` on delete).
pub(crate) async fn runner(
    State(s): State<Arc<Shared>>,
    method: axum::http::Method,
    Path(id): Path<u64>,
    _: RootUser,
) -> Response {
    let mut store = s.store();
    if method == axum::http::Method::DELETE {
        return match store.runners.remove(&id) {
            Some(_) => {
                drop(store);
                s.notify(false);
                StatusCode::NO_CONTENT.into_response()
            }
            None => not_found("Runner"),
        };
    }
    match store.runners.get(&id) {
        Some(r) => ok(json::runner(r, &store)),
        None => not_found("Runner"),
    }
}

/// `POST /api/v4/projects/:id/ci/lint` (`content`): GitLab's answer — `valid`, `errors`,
/// `warnings` and the `merged_yaml` (includes and `extends` resolved; `include: local` files
/// come from the project's default branch).
pub(crate) async fn project_lint(
    State(s): State<Arc<Shared>>,
    RootProjectParams(pid, p): RootProjectParams,
) -> Answer {
    let content = str_param(&p, "content").unwrap_or_default().to_string();
    let project = s.store().projects.get(&pid).cloned();
    let files = match project.as_ref().and_then(|p| p.default_branch.clone()) {
        Some(branch) => {
            let repo = &project
                .as_ref()
                .map(|p| p.repo_dir.clone())
                .unwrap_or_default();
            match s.git.resolve(repo, &branch).await {
                Some((sha, _)) => {
                    let tree = s.git.tree_files(repo, &sha).await;
                    Some(pipelines::yaml_files(&s.git, repo, &sha, &tree).await)
                }
                None => None,
            }
        }
        None => None,
    };
    let files: &dyn crate::ci::FileSource = match &files {
        Some(f) => f,
        None => &crate::ci::NoFiles,
    };
    let merged = crate::ci::compose(&content, files)
        .ok()
        .and_then(|v| serde_norway::to_string(&v).ok());
    let errors: Vec<String> = match crate::ci::load(&content, files) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.into_iter().map(|e| e.message).collect(),
    };
    Ok(ok(json!({
        "valid": errors.is_empty(), "errors": errors, "warnings": [], "merged_yaml": merged,
    })))
}
