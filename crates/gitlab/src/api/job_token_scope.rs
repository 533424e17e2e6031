//! `/projects/:id/job_token_scope` and its allowlist: GitLab's API for which projects' job
//! tokens may reach a project.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::request::{Params, RootUser, project_id};
use super::{Answer, json, json_response, list, message, not_found, ok};
use crate::shared::Shared;

fn bad_request(text: &str) -> Response {
    message(
        StatusCode::BAD_REQUEST,
        &format!("400 Bad request - {text}"),
    )
}

/// `GET /projects/:id/job_token_scope` and `PATCH` with `enabled` (204).
pub(crate) async fn scope(
    State(s): State<Arc<Shared>>,
    method: Method,
    Path(id): Path<String>,
    _: RootUser,
    Params(p): Params,
) -> Answer {
    let pid = project_id(&s, &id)?;
    let mut store = s.store();
    let project = store
        .projects
        .get_mut(&pid)
        .ok_or_else(|| not_found("Project"))?;
    if method == Method::PATCH {
        let enabled = match p.get("enabled").or_else(|| p.get("inbound_enabled")) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(v)) if v == "true" || v == "false" => v == "true",
            Some(_) => return Err(bad_request("enabled is invalid")),
            None => return Err(bad_request("enabled is missing")),
        };
        project.job_token_scope.inbound_enabled = enabled;
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(ok(json!({
        "inbound_enabled": project.job_token_scope.inbound_enabled,
        "outbound_enabled": false,
    })))
}

/// `GET /projects/:id/job_token_scope/allowlist`: the project itself, then the allowlisted ones.
pub(crate) async fn allowlist(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    _: RootUser,
) -> Answer {
    let pid = project_id(&s, &id)?;
    let store = s.store();
    let project = store
        .projects
        .get(&pid)
        .ok_or_else(|| not_found("Project"))?;
    let ids = std::iter::once(pid).chain(project.job_token_scope.allowlist.iter().copied());
    Ok(list(
        ids.filter_map(|id| store.projects.get(&id))
            .map(|p| json::project(p, &store, &s.base, false)),
    ))
}

/// `POST /projects/:id/job_token_scope/allowlist` (`target_project_id`).
pub(crate) async fn add(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    _: RootUser,
    Params(p): Params,
) -> Answer {
    let pid = project_id(&s, &id)?;
    let target = match p.get("target_project_id") {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(v)) => v.clone(),
        _ => return Err(bad_request("target_project_id is missing")),
    };
    let target = project_id(&s, &target)?;
    let mut store = s.store();
    let project = store
        .projects
        .get_mut(&pid)
        .ok_or_else(|| not_found("Project"))?;
    let scope = &mut project.job_token_scope;
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
    let project = store
        .projects
        .get_mut(&pid)
        .ok_or_else(|| not_found("Project"))?;
    if target == pid {
        return Err(bad_request(
            "Source project cannot be removed from the job token scope",
        ));
    }
    let scope = &mut project.job_token_scope;
    let before = scope.allowlist.len();
    scope.allowlist.retain(|id| *id != target);
    if scope.allowlist.len() == before {
        return Err(bad_request("Target project is not in the job token scope"));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
