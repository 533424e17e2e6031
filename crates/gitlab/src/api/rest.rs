//! The REST subset (`PRIVATE-TOKEN` of root): projects, variables, pipelines, jobs, runners,
//! CI lint — in GitLab's v4 JSON shape.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::auth::Caller;
use super::request::{Auth, Params, RootUser, project_id, readable_project_id, str_param};
use super::{Answer, error_response, json, json_response, list, message, not_found, ok};
use crate::model::{Variable, VariableType, Visibility};
use crate::ops;
use crate::shared::Shared;

fn bool_param(p: &Map<String, Value>, key: &str) -> bool {
    match p.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    }
}

/// `GET /api/v4/version`.
pub(crate) async fn version() -> Response {
    ok(json!({"version": crate::GITLAB_VERSION, "revision": "harness", "enterprise": false}))
}

/// `GET /api/v4/user`.
pub(crate) async fn user(_: RootUser) -> Response {
    ok(
        json!({"id": 1, "username": "root", "name": "Administrator", "state": "active", "is_admin": true}),
    )
}

/// `GET /api/v4/projects`: every project for root, public ones for everyone else.
pub(crate) async fn list_projects(State(s): State<Arc<Shared>>, Auth(who): Auth) -> Response {
    let root = matches!(who, Caller::Root(_));
    list(
        s.store()
            .projects
            .values()
            .filter(|p| root || p.visibility == Visibility::Public)
            .map(json::project),
    )
}

/// `POST /api/v4/projects` (`path` or `name`, optional `namespace_path`, default group `root`;
/// `visibility`, private unless given).
pub(crate) async fn create_project(
    State(s): State<Arc<Shared>>,
    _: RootUser,
    Params(p): Params,
) -> Response {
    let Some(name) = str_param(&p, "path").or_else(|| str_param(&p, "name")) else {
        return message(
            StatusCode::BAD_REQUEST,
            "400 Bad request - name is missing, path is missing",
        );
    };
    let visibility = match str_param(&p, "visibility").map(Visibility::parse) {
        None => Visibility::Private,
        Some(Some(v)) => v,
        Some(None) => {
            return message(
                StatusCode::BAD_REQUEST,
                "400 Bad request - visibility does not have a valid value",
            );
        }
    };
    let namespace = str_param(&p, "namespace_path").unwrap_or("root");
    let full = if name.contains('/') {
        name.to_string()
    } else {
        format!("{namespace}/{name}")
    };
    match ops::create_project(&s, &full, visibility).await {
        Ok(project) => json_response(StatusCode::CREATED, &json::project(&project)),
        Err(e) => error_response(&e),
    }
}

/// `GET /api/v4/projects/:id` (id or URL-encoded path); strangers see public projects only.
pub(crate) async fn get_project(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    Auth(who): Auth,
) -> Answer {
    let pid = readable_project_id(&s, &who, &id)?;
    let store = s.store();
    let project = store
        .projects
        .get(&pid)
        .ok_or_else(|| not_found("Project"))?;
    Ok(ok(json::project(project)))
}

/// `GET /api/v4/projects/:id/variables`.
pub(crate) async fn list_variables(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    _: RootUser,
) -> Answer {
    let pid = project_id(&s, &id)?;
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

fn variable_from(p: &Map<String, Value>, key: Option<String>) -> Option<Variable> {
    let key = key.or_else(|| str_param(p, "key").map(str::to_string))?;
    let value = match p.get("value") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    Some(Variable {
        key,
        value,
        masked: bool_param(p, "masked"),
        protected: bool_param(p, "protected"),
        variable_type: if str_param(p, "variable_type") == Some("file") {
            VariableType::File
        } else {
            VariableType::EnvVar
        },
        raw: bool_param(p, "raw"),
        environment_scope: str_param(p, "environment_scope").unwrap_or("*").to_string(),
    })
}

/// `POST /api/v4/projects/:id/variables` and `PUT .../variables/:key`.
pub(crate) async fn set_variable(
    State(s): State<Arc<Shared>>,
    Path(path): Path<Vec<String>>,
    _: RootUser,
    Params(p): Params,
) -> Answer {
    let id = path.first().ok_or_else(|| not_found("Project"))?;
    let pid = project_id(&s, id)?;
    let Some(var) = variable_from(&p, path.get(1).cloned()) else {
        return Err(message(
            StatusCode::BAD_REQUEST,
            "400 Bad request - key is missing",
        ));
    };
    let status = if path.len() == 1 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    ops::set_variable(&s, pid, var)
        .map(|v| json_response(status, &json::variable(&v)))
        .map_err(|e| error_response(&e))
}

/// `GET` / `DELETE /api/v4/projects/:id/variables/:key`.
pub(crate) async fn variable(
    State(s): State<Arc<Shared>>,
    method: axum::http::Method,
    Path((id, key)): Path<(String, String)>,
    _: RootUser,
) -> Answer {
    let pid = project_id(&s, &id)?;
    if method == axum::http::Method::DELETE {
        return ops::delete_variable(&s, pid, &key)
            .map(|()| StatusCode::NO_CONTENT.into_response())
            .map_err(|e| error_response(&e));
    }
    let store = s.store();
    store
        .variables
        .get(&pid)
        .into_iter()
        .flatten()
        .find(|v| v.key == key)
        .map(|v| ok(json::variable(v)))
        .ok_or_else(|| not_found("Variable"))
}

/// `GET /api/v4/runners`, `/runners/all`.
pub(crate) async fn list_runners(State(s): State<Arc<Shared>>, _: RootUser) -> Response {
    list(s.store().runners.values().map(json::runner_summary))
}

/// `GET /api/v4/runners/:id`.
pub(crate) async fn get_runner(
    State(s): State<Arc<Shared>>,
    Path(id): Path<u64>,
    _: RootUser,
) -> Response {
    match s.store().runners.get(&id) {
        Some(r) => ok(json::runner(r)),
        None => not_found("Runner"),
    }
}

/// `POST /api/v4/ci/lint` and `/projects/:id/ci/lint` (`content`).
pub(crate) async fn lint(_: RootUser, Params(p): Params) -> Response {
    let content = str_param(&p, "content").unwrap_or_default();
    match crate::ci::load(content, &crate::ci::NoFiles) {
        Ok(_) => ok(json!({"valid": true, "errors": [], "warnings": [], "merged_yaml": content})),
        Err(errors) => ok(
            json!({"valid": false, "errors": errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>(), "warnings": []}),
        ),
    }
}

/// `POST /api/v4/projects/:id/ci/lint`.
pub(crate) async fn project_lint(
    Path(_id): Path<String>,
    root: RootUser,
    params: Params,
) -> Response {
    lint(root, params).await
}
