//! REST endpoints for pipelines and jobs (`PRIVATE-TOKEN` of root), in GitLab's v4 shape.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::auth::Caller;
use super::request::{
    Auth, QueryParams, ReadableProject, RootProject, RootProjectParams, RootUser, project_id,
    readable_project_id, str_param,
};
use super::{
    Answer, bad_request, error_response, json, json_response, list, not_found, ok, unauthorized,
};
use crate::model::Status;
use crate::shared::Shared;
use crate::store::Store;
use crate::{ops, pipelines};

/// The item id `n` of `/projects/:id/<items>/:n[/:action]` when item `n` belongs to project
/// `pid`; `404 <what> Not Found` for a missing or non-numeric `n` or another project's.
#[allow(clippy::result_large_err)] // an axum response is the natural error of a handler helper
fn project_item(
    s: &Shared,
    pid: u64,
    path: &[String],
    what: &str,
    in_project: impl Fn(&Store, u64, u64) -> bool,
) -> Result<u64, Response> {
    let Some(n) = path.get(1).and_then(|p| p.parse().ok()) else {
        return Err(not_found(what));
    };
    if !in_project(&s.store(), pid, n) {
        return Err(not_found(what));
    }
    Ok(n)
}

/// The pipeline's JSON (`null` if it vanished) with `status` — for the answers to actions.
fn pipeline_answer(s: &Shared, status: StatusCode, pl_id: u64) -> Response {
    let store = s.store();
    let body = store
        .pipelines
        .get(&pl_id)
        .map(|p| json::pipeline_in(p, &store));
    json_response(status, &body.unwrap_or(Value::Null))
}

/// `GET /api/v4/projects/:id/pipelines` (filters `ref`, `status`, `sha`, `source`); strangers
/// see public projects' pipelines.
pub(crate) async fn list_pipelines(
    State(s): State<Arc<Shared>>,
    ReadableProject(pid, _): ReadableProject,
    QueryParams(p): QueryParams,
) -> Answer {
    let matches = |key: &str, value: &str| str_param(&p, key).is_none_or(|want| want == value);
    let store = s.store();
    Ok(list(
        store
            .pipelines
            .values()
            .rev()
            .filter(|pl| pl.project_id == pid)
            .filter(|pl| matches("ref", &pl.ref_name) && matches("status", pl.status.as_str()))
            .filter(|pl| matches("sha", &pl.sha) && matches("source", &pl.source))
            .map(|pl| json::pipeline_in(pl, &store)),
    ))
}

/// `POST /api/v4/projects/:id/pipeline` (`ref`, `variables: [{key, value}]`).
pub(crate) async fn create_pipeline(
    State(s): State<Arc<Shared>>,
    RootProjectParams(pid, p): RootProjectParams,
) -> Answer {
    let Some(reference) = str_param(&p, "ref") else {
        return Err(bad_request("ref is missing"));
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
    match ops::run_pipeline(&s, pid, reference, variables, "api", false).await {
        Ok(pl) => Ok(json_response(
            StatusCode::CREATED,
            &json::pipeline_in(&pl, &s.store()),
        )),
        // GitLab answers every refusal as a validation error of the pipeline's `base`.
        Err(crate::GitLabError::RefNotFound(_)) => {
            Err(error_response(&crate::GitLabError::Config(vec![
                "Reference not found".into(),
            ])))
        }
        Err(e @ crate::GitLabError::Config(_)) => Err(error_response(&e)),
        Err(e) => Err(error_response(&crate::GitLabError::Config(vec![
            e.to_string(),
        ]))),
    }
}

/// `GET /api/v4/projects/:id/pipelines/:pipeline_id` and its `/jobs` (strangers: public
/// projects only), `POST .../cancel|retry` (root).
pub(crate) async fn pipeline(
    State(s): State<Arc<Shared>>,
    method: Method,
    Path(path): Path<Vec<String>>,
    Auth(who): Auth,
) -> Answer {
    if method != Method::GET && !matches!(who, Caller::Root(_)) {
        return Err(unauthorized());
    }
    let id = path.first().map(String::as_str).unwrap_or_default();
    let pid = readable_project_id(&s, &who, id)?;
    let pl_id = project_item(&s, pid, &path, "Pipeline", |st, pid, n| {
        st.project_pipeline(pid, n).is_some()
    })?;
    Ok(match (method.as_str(), path.get(2).map(String::as_str)) {
        ("GET", None) => pipeline_answer(&s, StatusCode::OK, pl_id),
        ("GET", Some("jobs")) => {
            let store = s.store();
            list(
                store
                    .current_jobs(pl_id)
                    .iter()
                    .map(|j| json::job(j, &store)),
            )
        }
        ("POST", Some("cancel")) => match pipelines::cancel_pipeline(&s, pl_id) {
            Ok(p) => ok(json::pipeline_in(&p, &s.store())),
            Err(e) => error_response(&e),
        },
        ("POST", Some("retry")) => {
            let failed: Vec<u64> = s
                .store()
                .current_jobs(pl_id)
                .iter()
                .filter(|j| matches!(j.status, Status::Failed | Status::Canceled))
                .map(|j| j.id)
                .collect();
            for j in failed {
                let _ = pipelines::retry_job(&s, j);
            }
            pipeline_answer(&s, StatusCode::CREATED, pl_id)
        }
        _ => not_found(""),
    })
}

/// `GET /api/v4/projects/:id/jobs` (filter `scope[]`).
pub(crate) async fn list_jobs(
    State(s): State<Arc<Shared>>,
    RootProject(pid): RootProject,
    QueryParams(p): QueryParams,
) -> Answer {
    let scopes: Vec<String> = match p.get("scope") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => vec![],
    };
    let store = s.store();
    Ok(list(
        store
            .jobs
            .values()
            .rev()
            .filter(|j| j.project_id == pid)
            .filter(|j| scopes.is_empty() || scopes.iter().any(|sc| sc == j.status.as_str()))
            .map(|j| json::job(j, &store)),
    ))
}

/// `GET /api/v4/projects/:id/jobs/:job_id` and `/trace`, `POST .../play|cancel|retry`
/// (`/artifacts` is [`super::jobs::project_job_artifacts`]).
pub(crate) async fn job(
    State(s): State<Arc<Shared>>,
    method: Method,
    Path(path): Path<Vec<String>>,
    _: RootUser,
) -> Answer {
    let id = path.first().map(String::as_str).unwrap_or_default();
    let pid = project_id(&s, id)?;
    let job_id = project_item(&s, pid, &path, "Job", |st, pid, n| {
        st.project_job(pid, n).is_some()
    })?;
    let result = match (method.as_str(), path.get(2).map(String::as_str)) {
        ("GET", None) => {
            let store = s.store();
            let body = store.jobs.get(&job_id).map(|j| json::job(j, &store));
            return Ok(ok(body.unwrap_or(Value::Null)));
        }
        ("GET", Some("trace")) => {
            let store = s.store();
            let trace = store.jobs.get(&job_id).map(|j| store.masked_trace(j));
            return Ok(([(CONTENT_TYPE, "text/plain")], trace.unwrap_or_default()).into_response());
        }
        ("POST", Some("play")) => pipelines::play_job(&s, job_id),
        ("POST", Some("cancel")) => pipelines::cancel_job(&s, job_id),
        ("POST", Some("retry")) => pipelines::retry_job(&s, job_id),
        _ => return Err(not_found("")),
    };
    match result {
        Ok(j) => Ok(json_response(
            StatusCode::CREATED,
            &json::job(&j, &s.store()),
        )),
        Err(e) => Err(error_response(&e)),
    }
}
