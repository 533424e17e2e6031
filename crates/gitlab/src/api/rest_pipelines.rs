//! REST endpoints for pipelines and jobs (`PRIVATE-TOKEN` of root), in GitLab's v4 shape.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::rest::{ok, params, project_id, root, str_param};
use super::{error_response, json, json_response, message, not_found};
use crate::shared::Shared;
use crate::{ops, pipelines};

/// `GET /api/v4/projects/:id/pipelines` (filters `ref`, `status`, `sha`, `source`).
pub async fn list_pipelines(
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
    let p = params(q.as_deref(), &headers, &[]);
    let store = s.store();
    let project = store.projects.get(&pid);
    let list: Vec<Value> = store
        .pipelines
        .values()
        .rev()
        .filter(|pl| pl.project_id == pid)
        .filter(|pl| str_param(&p, "ref").is_none_or(|r| r == pl.ref_name))
        .filter(|pl| str_param(&p, "status").is_none_or(|st| st == pl.status.as_str()))
        .filter(|pl| str_param(&p, "sha").is_none_or(|sha| sha == pl.sha))
        .filter(|pl| str_param(&p, "source").is_none_or(|src| src == pl.source))
        .map(|pl| json::pipeline(pl, project))
        .collect();
    ok(Value::Array(list))
}

/// `POST /api/v4/projects/:id/pipeline` (`ref`, `variables: [{key, value}]`).
pub async fn create_pipeline(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    if let Err(r) = root(&s, &headers, q.as_deref()) {
        return r;
    }
    let pid = match project_id(&s, &id) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let p = params(q.as_deref(), &headers, &body);
    let Some(reference) = str_param(&p, "ref") else {
        return message(StatusCode::BAD_REQUEST, "400 Bad request - ref is missing");
    };
    let variables: Vec<(String, String)> = p
        .get("variables")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| {
            Some((
                v.get("key")?.as_str()?.to_string(),
                v.get("value")?.as_str().unwrap_or_default().to_string(),
            ))
        })
        .collect();
    match ops::run_pipeline(&s, pid, reference, variables, "api").await {
        Ok(pl) => {
            let store = s.store();
            json_response(
                StatusCode::CREATED,
                &json::pipeline(&pl, store.projects.get(&pid)),
            )
        }
        Err(e) => error_response(&crate::GitLabError::Config(vec![e.to_string()])),
    }
}

/// `GET /api/v4/projects/:id/pipelines/:pipeline_id` and its `/jobs`, `POST .../cancel|retry`.
pub async fn pipeline(
    State(s): State<Arc<Shared>>,
    method: axum::http::Method,
    Path(path): Path<Vec<String>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    if let Err(r) = root(&s, &headers, q.as_deref()) {
        return r;
    }
    let (Some(id), Some(pl_id)) = (
        path.first(),
        path.get(1).and_then(|p| p.parse::<u64>().ok()),
    ) else {
        return not_found("Pipeline");
    };
    let pid = match project_id(&s, id) {
        Ok(p) => p,
        Err(r) => return r,
    };
    if s.store()
        .pipelines
        .get(&pl_id)
        .is_none_or(|p| p.project_id != pid)
    {
        return not_found("Pipeline");
    }
    match (method.as_str(), path.get(2).map(String::as_str)) {
        ("GET", None) => {
            let store = s.store();
            let p = store
                .pipelines
                .get(&pl_id)
                .map(|p| json::pipeline(p, store.projects.get(&pid)));
            ok(p.unwrap_or(Value::Null))
        }
        ("GET", Some("jobs")) => {
            let store = s.store();
            let jobs: Vec<Value> = store
                .current_jobs(pl_id)
                .iter()
                .map(|j| json::job(j, &store))
                .collect();
            ok(Value::Array(jobs))
        }
        ("POST", Some("cancel")) => match pipelines::cancel_pipeline(&s, pl_id) {
            Ok(p) => ok(json::pipeline(&p, s.store().projects.get(&pid))),
            Err(e) => error_response(&e),
        },
        ("POST", Some("retry")) => {
            let failed: Vec<u64> = s
                .store()
                .current_jobs(pl_id)
                .iter()
                .filter(|j| {
                    matches!(
                        j.status,
                        crate::model::Status::Failed | crate::model::Status::Canceled
                    )
                })
                .map(|j| j.id)
                .collect();
            for j in failed {
                let _ = pipelines::retry_job(&s, j);
            }
            let store = s.store();
            let p = store
                .pipelines
                .get(&pl_id)
                .map(|p| json::pipeline(p, store.projects.get(&pid)));
            json_response(StatusCode::CREATED, &p.unwrap_or(Value::Null))
        }
        _ => not_found(""),
    }
}

/// `GET /api/v4/projects/:id/jobs` (filter `scope[]`).
pub async fn list_jobs(
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
    let p = params(q.as_deref(), &headers, &[]);
    let scopes: Vec<String> = match p.get("scope") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => vec![],
    };
    let store = s.store();
    let jobs: Vec<Value> = store
        .jobs
        .values()
        .rev()
        .filter(|j| j.project_id == pid)
        .filter(|j| scopes.is_empty() || scopes.iter().any(|sc| sc == j.status.as_str()))
        .map(|j| json::job(j, &store))
        .collect();
    ok(Value::Array(jobs))
}

/// `GET /api/v4/projects/:id/jobs/:job_id` and `/trace`, `POST .../play|cancel|retry`.
pub async fn job(
    State(s): State<Arc<Shared>>,
    method: axum::http::Method,
    Path(path): Path<Vec<String>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    if let Err(r) = root(&s, &headers, q.as_deref()) {
        return r;
    }
    let (Some(id), Some(job_id)) = (
        path.first(),
        path.get(1).and_then(|p| p.parse::<u64>().ok()),
    ) else {
        return not_found("Job");
    };
    let pid = match project_id(&s, id) {
        Ok(p) => p,
        Err(r) => return r,
    };
    if s.store()
        .jobs
        .get(&job_id)
        .is_none_or(|j| j.project_id != pid)
    {
        return not_found("Job");
    }
    let result = match (method.as_str(), path.get(2).map(String::as_str)) {
        ("GET", None) => {
            let store = s.store();
            return ok(store
                .jobs
                .get(&job_id)
                .map(|j| json::job(j, &store))
                .unwrap_or(Value::Null));
        }
        ("GET", Some("trace")) => {
            let store = s.store();
            let trace = store
                .jobs
                .get(&job_id)
                .map(|j| store.masked_trace(j))
                .unwrap_or_default();
            let mut r = trace.into_response();
            r.headers_mut()
                .insert("content-type", HeaderValue::from_static("text/plain"));
            return r;
        }
        ("GET", Some("artifacts")) => {
            let path = s.store().jobs.get(&job_id).and_then(|j| {
                j.artifacts
                    .iter()
                    .find(|a| a.file_type == "archive")
                    .map(|a| a.path.clone())
            });
            return match path {
                Some(path) => match tokio::fs::read(&path).await {
                    Ok(data) => {
                        let mut r = data.into_response();
                        r.headers_mut()
                            .insert("content-type", HeaderValue::from_static("application/zip"));
                        r
                    }
                    Err(_) => not_found(""),
                },
                None => not_found(""),
            };
        }
        ("POST", Some("play")) => pipelines::play_job(&s, job_id),
        ("POST", Some("cancel")) => pipelines::cancel_job(&s, job_id),
        ("POST", Some("retry")) => pipelines::retry_job(&s, job_id),
        _ => return not_found(""),
    };
    match result {
        Ok(j) => {
            let store = s.store();
            json_response(StatusCode::CREATED, &json::job(&j, &store))
        }
        Err(e) => error_response(&e),
    }
}
