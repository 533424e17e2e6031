//! The REST subset (`PRIVATE-TOKEN` of root): projects, variables, pipelines, jobs, runners,
//! CI lint — in GitLab's v4 JSON shape.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::auth::{Caller, caller};
use super::{error_response, json, json_response, message, not_found};
use crate::model::{Variable, VariableType};
use crate::ops;
use crate::shared::Shared;

/// Decodes `%XX` and `+` of a URL-encoded component.
pub fn url_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parameters from the query string, a form body or a JSON body (JSON wins).
pub(crate) fn params(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Map<String, Value> {
    let mut out = Map::new();
    let mut add_pairs = |text: &str| {
        for (k, v) in text.split('&').filter_map(|kv| kv.split_once('=')) {
            let key = url_decode(k);
            let value = Value::String(url_decode(v));
            if let Some(base) = key.strip_suffix("[]") {
                match out.entry(base.to_string()).or_insert_with(|| json!([])) {
                    Value::Array(a) => a.push(value),
                    other => *other = json!([value]),
                }
            } else {
                out.insert(key, value);
            }
        }
    };
    if let Some(q) = query {
        add_pairs(q);
    }
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if ct.starts_with("application/x-www-form-urlencoded") {
        add_pairs(&String::from_utf8_lossy(body));
    } else if let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(body) {
        out.extend(m);
    }
    out
}

#[allow(clippy::result_large_err)] // an axum response is the natural error of a handler helper
pub(crate) fn root(s: &Shared, headers: &HeaderMap, query: Option<&str>) -> Result<(), Response> {
    match caller(s, headers, query) {
        Caller::Root => Ok(()),
        _ => Err(message(StatusCode::UNAUTHORIZED, "401 Unauthorized")),
    }
}

#[allow(clippy::result_large_err)] // an axum response is the natural error of a handler helper
pub(crate) fn project_id(s: &Shared, id: &str) -> Result<u64, Response> {
    s.store()
        .project_by_ref(&url_decode(id))
        .map(|p| p.id)
        .ok_or_else(|| not_found("Project"))
}

pub(crate) fn ok(v: Value) -> Response {
    json_response(StatusCode::OK, &v)
}

pub(crate) fn str_param<'a>(p: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    p.get(key).and_then(Value::as_str)
}

fn bool_param(p: &Map<String, Value>, key: &str) -> bool {
    match p.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    }
}

/// `GET /api/v4/version`.
pub async fn version() -> Response {
    ok(json!({"version": crate::GITLAB_VERSION, "revision": "harness", "enterprise": false}))
}

/// `GET /api/v4/user`.
pub async fn user(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    if let Err(r) = root(&s, &headers, q.as_deref()) {
        return r;
    }
    ok(
        json!({"id": 1, "username": "root", "name": "Administrator", "state": "active", "is_admin": true}),
    )
}

/// `GET /api/v4/projects`.
pub async fn list_projects(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    if let Err(r) = root(&s, &headers, q.as_deref()) {
        return r;
    }
    let store = s.store();
    ok(Value::Array(
        store.projects.values().map(json::project).collect(),
    ))
}

/// `POST /api/v4/projects` (`path` or `name`, optional `namespace_path`; default group `root`).
pub async fn create_project(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    if let Err(r) = root(&s, &headers, q.as_deref()) {
        return r;
    }
    let p = params(q.as_deref(), &headers, &body);
    let Some(name) = str_param(&p, "path").or_else(|| str_param(&p, "name")) else {
        return message(
            StatusCode::BAD_REQUEST,
            "400 Bad request - name is missing, path is missing",
        );
    };
    let namespace = str_param(&p, "namespace_path").unwrap_or("root");
    let full = if name.contains('/') {
        name.to_string()
    } else {
        format!("{namespace}/{name}")
    };
    match ops::create_project(&s, &full).await {
        Ok(project) => json_response(StatusCode::CREATED, &json::project(&project)),
        Err(e) => error_response(&e),
    }
}

/// `GET /api/v4/projects/:id`.
pub async fn get_project(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    if let Err(r) = root(&s, &headers, q.as_deref()) {
        return r;
    }
    let store = s.store();
    match store.project_by_ref(&url_decode(&id)) {
        Some(p) => ok(json::project(p)),
        None => not_found("Project"),
    }
}

/// `GET /api/v4/projects/:id/variables`.
pub async fn list_variables(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    if let Err(r) = root(&s, &headers, q.as_deref()) {
        return r;
    }
    let pid = match project_id(&s, &id) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let store = s.store();
    ok(Value::Array(
        store
            .variables
            .get(&pid)
            .into_iter()
            .flatten()
            .map(json::variable)
            .collect(),
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
pub async fn set_variable(
    State(s): State<Arc<Shared>>,
    Path(path): Path<Vec<String>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    if let Err(r) = root(&s, &headers, q.as_deref()) {
        return r;
    }
    let Some(id) = path.first() else {
        return not_found("Project");
    };
    let pid = match project_id(&s, id) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let p = params(q.as_deref(), &headers, &body);
    let Some(var) = variable_from(&p, path.get(1).cloned()) else {
        return message(StatusCode::BAD_REQUEST, "400 Bad request - key is missing");
    };
    let created = path.len() == 1;
    match ops::set_variable(&s, pid, var) {
        Ok(v) => json_response(
            if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            },
            &json::variable(&v),
        ),
        Err(e) => error_response(&e),
    }
}

/// `GET` / `DELETE /api/v4/projects/:id/variables/:key`.
pub async fn variable(
    State(s): State<Arc<Shared>>,
    method: axum::http::Method,
    Path((id, key)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    if let Err(r) = root(&s, &headers, q.as_deref()) {
        return r;
    }
    let pid = match project_id(&s, &id) {
        Ok(p) => p,
        Err(r) => return r,
    };
    if method == axum::http::Method::DELETE {
        return match ops::delete_variable(&s, pid, &key) {
            Ok(()) => StatusCode::NO_CONTENT.into_response(),
            Err(e) => error_response(&e),
        };
    }
    let store = s.store();
    match store
        .variables
        .get(&pid)
        .into_iter()
        .flatten()
        .find(|v| v.key == key)
    {
        Some(v) => ok(json::variable(v)),
        None => not_found("Variable"),
    }
}

/// `GET /api/v4/runners`, `/runners/all`.
pub async fn list_runners(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    if let Err(r) = root(&s, &headers, q.as_deref()) {
        return r;
    }
    let store = s.store();
    ok(Value::Array(
        store.runners.values().map(json::runner_summary).collect(),
    ))
}

/// `GET /api/v4/runners/:id`.
pub async fn get_runner(
    State(s): State<Arc<Shared>>,
    Path(id): Path<u64>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    if let Err(r) = root(&s, &headers, q.as_deref()) {
        return r;
    }
    let store = s.store();
    match store.runners.get(&id) {
        Some(r) => ok(json::runner(r)),
        None => not_found("Runner"),
    }
}

/// `POST /api/v4/ci/lint` and `/projects/:id/ci/lint` (`content`).
pub async fn lint(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    if let Err(r) = root(&s, &headers, q.as_deref()) {
        return r;
    }
    let p = params(q.as_deref(), &headers, &body);
    let content = str_param(&p, "content").unwrap_or_default();
    match crate::ci::load(content, &crate::ci::NoFiles) {
        Ok(_) => ok(json!({"valid": true, "errors": [], "warnings": [], "merged_yaml": content})),
        Err(errors) => ok(
            json!({"valid": false, "errors": errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>(), "warnings": []}),
        ),
    }
}

/// `POST /api/v4/projects/:id/ci/lint`.
pub async fn project_lint(
    state: State<Arc<Shared>>,
    Path(_id): Path<String>,
    headers: HeaderMap,
    q: RawQuery,
    body: Bytes,
) -> Response {
    lint(state, headers, q, body).await
}
