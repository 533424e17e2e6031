//! `/projects/:id/job_token_scope` and its allowlist: GitLab's API for which projects' job
//! tokens may reach a project.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::request::{RootProject, RootProjectParams, RootUser, project_id, project_in};
use super::{Answer, bad_request, json, json_response, list, not_found, ok};
use crate::model::JobTokenScope;
use crate::shared::Shared;
use crate::store::Store;

/// Project `pid`'s job token scope (`404 Project Not Found` if the project is gone).
#[allow(clippy::result_large_err)] // an axum response is the natural error of a handler helper
fn scope_mut(store: &mut Store, pid: u64) -> Result<&mut JobTokenScope, Response> {
    store
        .projects
        .get_mut(&pid)
        .map(|p| &mut p.job_token_scope)
        .ok_or_else(|| not_found("Project"))
}

/// `GET /projects/:id/job_token_scope` and `PATCH` with `enabled` (204).
pub(crate) async fn scope(
    State(s): State<Arc<Shared>>,
    method: Method,
    RootProjectParams(pid, p): RootProjectParams,
) -> Answer {
    let mut store = s.store();
    let scope = scope_mut(&mut store, pid)?;
    if method == Method::PATCH {
        let enabled = match p.get("enabled").or_else(|| p.get("inbound_enabled")) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(v)) if v == "true" || v == "false" => v == "true",
            Some(_) => return Err(bad_request("enabled is invalid")),
            None => return Err(bad_request("enabled is missing")),
        };
        scope.inbound_enabled = enabled;
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(ok(json!({
        "inbound_enabled": scope.inbound_enabled,
        "outbound_enabled": false,
    })))
}

/// `GET /projects/:id/job_token_scope/allowlist`: the project itself, then the allowlisted ones.
pub(crate) async fn allowlist(
    State(s): State<Arc<Shared>>,
    RootProject(pid): RootProject,
) -> Answer {
    let store = s.store();
    let project = project_in(&store, pid)?;
    let ids = std::iter::once(pid).chain(project.job_token_scope.allowlist.iter().copied());
    Ok(list(
        ids.filter_map(|id| store.projects.get(&id))
            .map(|p| json::project(p, &store, &s.base, false)),
    ))
}

/// `POST /projects/:id/job_token_scope/allowlist` (`target_project_id`).
pub(crate) async fn add(
    State(s): State<Arc<Shared>>,
    RootProjectParams(pid, p): RootProjectParams,
) -> Answer {
    let target = match p.get("target_project_id") {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(v)) => v.clone(),
        _ => return Err(bad_request("target_project_id is missing")),
    };
    let target = project_id(&s, &target)?;
    let mut store = s.store();
    let scope = scope_mut(&mut store, pid)?;
    if target == pid || scope.allowlist.contains(&target) {
        return Err(bad_request(
            "Target project is already in the job token scope",
        ));
    }
    scope.allowlist.push(target);
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"source_project_id": pid, "target_project_id": target}),
    ))
}

/// `DELETE /projects/:id/job_token_scope/allowlist/:target_project_id` (204).
pub(crate) async fn remove(
    State(s): State<Arc<Shared>>,
    Path((id, target)): Path<(String, String)>,
    _: RootUser,
) -> Answer {
    let pid = project_id(&s, &id)?;
    let target = project_id(&s, &target)?;
    let mut store = s.store();
    let scope = scope_mut(&mut store, pid)?;
    if target == pid {
        return Err(bad_request(
            "Source project cannot be removed from the job token scope",
        ));
    }
    let before = scope.allowlist.len();
    scope.allowlist.retain(|id| *id != target);
    if scope.allowlist.len() == before {
        return Err(bad_request("Target project is not in the job token scope"));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
