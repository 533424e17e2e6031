//! Job-token endpoints the runner calls while running a job: state updates, trace patches,
//! artifact upload and download.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;

use super::auth::{Caller, caller, job_token};
use super::body::{
    LINGER_BYTES, LINGER_TIME, MULTIPART_SLACK, RUNNER_JSON_LIMIT, TRACE_CHUNK_LIMIT,
    declared_length, linger, read_capped, read_capped_known, too_large,
};
use super::request::{Auth, project_id, project_in};
use super::{bad_request, forbidden, json_response, message, not_found, unauthorized};
use crate::artifact_kinds;
use crate::ci::duration;
use crate::job_token_scope;
use crate::model::{ArtifactFile, Job, Status, Visibility};
use crate::private_fs;
use crate::shared::{Shared, random_token};
use crate::store::Store;
use crate::{pipelines, process};

mod upload;
use upload::Upload;

fn with_status(mut response: Response, status: Status) -> Response {
    response
        .headers_mut()
        .insert("job-status", HeaderValue::from_static(status.as_str()));
    response
}

#[derive(Debug, Deserialize, Default)]
struct UpdateBody {
    #[serde(default)]
    token: String,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    failure_reason: Option<String>,
    #[serde(default)]
    exit_code: Option<i64>,
}

/// Checks the job token; returns the job's status or an error response.
#[allow(clippy::result_large_err)] // an axum response is the natural error of a handler helper
fn authorize(shared: &Shared, id: u64, token: &str) -> Result<Status, Response> {
    let store = shared.store();
    let Some(job) = store.jobs.get(&id) else {
        return Err(not_found("Job"));
    };
    if token.is_empty() || job.token != token {
        return Err(forbidden());
    }
    Ok(job.status)
}

/// `PUT /api/v4/jobs/:id`: the token comes in `JOB-TOKEN` (checked before the body is read) or
/// inside the JSON body (read up to [`RUNNER_JSON_LIMIT`] first).
pub(crate) async fn update(
    State(s): State<Arc<Shared>>,
    Path(id): Path<u64>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let header_token = job_token(&headers, None);
    if let Some(token) = &header_token
        && let Err(r) = authorize(&s, id, token)
    {
        return r;
    }
    let body = match read_capped(body, &headers, RUNNER_JSON_LIMIT).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let body: UpdateBody = serde_json::from_slice(&body).unwrap_or_default();
    let token = header_token.unwrap_or(body.token.clone());
    let status = match authorize(&s, id, &token) {
        Ok(st) => st,
        Err(r) => return r,
    };
    if status != Status::Running {
        return with_status(forbidden(), status);
    }
    match body.state.as_deref() {
        Some("running" | "pending") | None => with_status(StatusCode::OK.into_response(), status),
        Some(state @ ("success" | "failed")) => {
            let reason = if state == "failed" {
                Some(
                    body.failure_reason
                        .clone()
                        .unwrap_or_else(|| "script_failure".into()),
                )
            } else {
                None
            };
            let new = finish(&s, id, state == "success", reason, body.exit_code);
            with_status(StatusCode::OK.into_response(), new)
        }
        Some(_) => bad_request("state does not have a valid value"),
    }
}

/// Records a job's result, retries it if `retry:` says so, and moves the pipeline on.
pub fn finish(
    shared: &Shared,
    id: u64,
    success: bool,
    reason: Option<String>,
    exit_code: Option<i64>,
) -> Status {
    let mut store = shared.store();
    let Some(job) = store.jobs.get_mut(&id) else {
        return Status::Failed;
    };
    job.status = if success {
        Status::Success
    } else {
        Status::Failed
    };
    job.finished_at = Some(Utc::now());
    job.failure_reason = reason.clone();
    if !success && exit_code.is_some_and(|code| job.config.allow_failure_exit_codes.contains(&code))
    {
        job.allow_failure = true;
    }
    let status = job.status;
    let retry = !success
        && job.attempt < job.config.retry_max
        && job
            .config
            .retry_when
            .iter()
            .any(|w| w == "always" || Some(w.as_str()) == reason.as_deref());
    let pipeline_id = job.pipeline_id;
    tracing::info!(
        job = id,
        status = status.as_str(),
        ?exit_code,
        retry,
        "job finished"
    );
    let queued = if retry {
        match pipelines::retry_in_store(&mut store, id) {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(job = id, error = %e, "automatic retry failed");
                process::process_pipeline(&mut store, pipeline_id)
            }
        }
    } else {
        process::process_pipeline(&mut store, pipeline_id)
    };
    drop(store);
    shared.notify(queued);
    status
}

/// `PATCH /api/v4/jobs/:id/trace` with `Content-Range: start-end`: the job token is checked
/// before the chunk (at most [`TRACE_CHUNK_LIMIT`]) is read.
pub(crate) async fn patch_trace(
    State(s): State<Arc<Shared>>,
    Path(id): Path<u64>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let token = job_token(&headers, query.as_deref()).unwrap_or_default();
    let status = match authorize(&s, id, &token) {
        Ok(st) => st,
        Err(r) => return r,
    };
    if status != Status::Running {
        return with_status(forbidden(), status);
    }
    let body = match read_capped_known(body, &headers, TRACE_CHUNK_LIMIT).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(start) = headers
        .get("content-range")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.trim_start_matches("bytes ")
                .split('-')
                .next()
                .map(str::to_string)
        })
        .and_then(|v| v.trim().parse::<usize>().ok())
    else {
        return bad_request("Content-Range header is missing");
    };
    let mut store = s.store();
    let Some(job) = store.jobs.get_mut(&id) else {
        return not_found("Job");
    };
    let len = job.trace.len();
    if start != len {
        let mut r = with_status(
            StatusCode::RANGE_NOT_SATISFIABLE.into_response(),
            job.status,
        );
        if let Ok(v) = HeaderValue::from_str(&format!("0-{len}")) {
            r.headers_mut().insert("range", v);
        }
        return r;
    }
    if (len + body.len()) as u64 > s.config.max_trace_size {
        // GitLab's AppendBuildTraceService: the job is dropped with `trace_size_exceeded`.
        drop(store);
        tracing::info!(job = id, "job log size limit reached");
        let status = finish(&s, id, false, Some("trace_size_exceeded".into()), None);
        return with_status(forbidden(), status);
    }
    job.trace.extend_from_slice(&body);
    let new_len = job.trace.len();
    drop(store);
    s.notify(false);
    let mut r = with_status(StatusCode::ACCEPTED.into_response(), Status::Running);
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("0-{new_len}")) {
        h.insert("range", v);
    }
    if let Ok(v) = HeaderValue::from_str(&s.config.trace_update_interval.to_string()) {
        h.insert("x-gitlab-trace-update-interval", v);
    }
    r
}

/// [`linger`] for a multipart upload: what is left of it is read and thrown away, within the
/// same bounds.
fn linger_multipart(mut multipart: Multipart) {
    tokio::spawn(tokio::time::timeout(LINGER_TIME, async move {
        let mut read = 0u64;
        while let Ok(Some(mut field)) = multipart.next_field().await {
            while let Ok(Some(chunk)) = field.chunk().await {
                read += chunk.len() as u64;
                if read > LINGER_BYTES {
                    return;
                }
            }
        }
    }));
}

fn query_param(query: Option<&str>, key: &str) -> Option<String> {
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| {
            percent_encoding::percent_decode_str(&v.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
}

/// `POST /api/v4/jobs/:id/artifacts`: multipart `file`, metadata as form fields or query.
///
/// The job token is checked first; then the upload is streamed to disk and refused with `413`
/// as soon as it passes [`crate::GitLabConfig::max_artifacts_size`] (a declared longer
/// `Content-Length` is refused unread). A refused upload leaves a stored artifact as it was.
pub(crate) async fn upload_artifact(
    State(s): State<Arc<Shared>>,
    Path(id): Path<u64>,
    RawQuery(query): RawQuery,
    request: Request,
) -> Response {
    let token = job_token(request.headers(), query.as_deref()).unwrap_or_default();
    match authorize(&s, id, &token) {
        Ok(Status::Running) => {}
        Ok(st) => return with_status(forbidden(), st),
        Err(r) => return r,
    }
    let max = s.config.max_artifacts_size;
    if declared_length(request.headers()).is_some_and(|n| n > max + MULTIPART_SLACK) {
        linger(request.into_body());
        return too_large();
    }
    let mut multipart = match Multipart::from_request(request, &()).await {
        Ok(m) => m,
        Err(e) => return bad_request(&e.to_string()),
    };
    let dir = s.artifacts_dir.join(id.to_string());
    if let Err(e) = private_fs::create_dir_all(&dir) {
        return message(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("storing artifacts: {e}"),
        );
    }
    let upload = Upload::new(dir.join(format!(".upload-{}", random_token(12))));
    let mut file: Option<(String, u64)> = None;
    let mut format = query_param(query.as_deref(), "artifact_format");
    let mut kind = query_param(query.as_deref(), "artifact_type");
    let mut expire_in = query_param(query.as_deref(), "expire_in");
    let mut fields_size = 0u64;
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return bad_request(&e.to_string()),
        };
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            let filename = field
                .file_name()
                .map(str::to_string)
                .unwrap_or_else(|| "artifacts.zip".into());
            match upload.receive(&mut field, max).await {
                Ok(size) => file = Some((filename, size)),
                Err(r) => {
                    drop(field);
                    linger_multipart(multipart);
                    return r;
                }
            }
            continue;
        }
        let mut text = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    fields_size += chunk.len() as u64;
                    if fields_size > MULTIPART_SLACK {
                        drop(field);
                        linger_multipart(multipart);
                        return too_large();
                    }
                    text.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(_) => {
                    return bad_request("could not read the upload");
                }
            }
        }
        let text = String::from_utf8_lossy(&text).to_string();
        match name.as_str() {
            "artifact_format" => format = Some(text),
            "artifact_type" => kind = Some(text),
            "expire_in" => expire_in = Some(text),
            _ => {}
        }
    }
    let Some((filename, size)) = file else {
        return bad_request("file is missing");
    };
    let kind = match artifact_kinds::parse(kind.as_deref(), format.as_deref()) {
        Ok(kind) => kind,
        Err(e) => return bad_request(&e.to_string()),
    };
    let path = dir.join(artifact_kinds::storage_name(kind));
    if let Err(e) = upload.keep_as(&path).await {
        return message(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("storing artifacts: {e}"),
        );
    }
    let expire_at = expire_in
        .as_deref()
        .filter(|e| !duration::is_never(e))
        .and_then(duration::parse_seconds)
        .map(|secs| Utc::now() + chrono::Duration::seconds(secs as i64));
    let artifact = ArtifactFile {
        file_type: kind.file_type.to_string(),
        filename,
        size,
        file_format: kind.file_format.to_string(),
        expire_at,
        path,
    };
    let mut store = s.store();
    if let Some(job) = store.jobs.get_mut(&id) {
        job.artifacts.retain(|a| a.file_type != kind.file_type);
        job.artifacts.push(artifact);
    }
    drop(store);
    s.notify(false);
    json_response(StatusCode::CREATED, &serde_json::json!({}))
}

/// `GET /api/v4/job`: the job a `JOB-TOKEN` belongs to (what scripts read with `$CI_JOB_TOKEN`).
pub(crate) async fn current_job(
    State(s): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    match caller(&s, &headers, query.as_deref()) {
        Caller::Job(id) => {
            let store = s.store();
            match store.jobs.get(&id) {
                Some(job) => json_response(StatusCode::OK, &super::json::job(job, &store)),
                None => not_found("Job"),
            }
        }
        _ => unauthorized(),
    }
}

/// Whether a caller may take artifacts of project `project_id`'s jobs; GitLab's refusal if not.
#[allow(clippy::result_large_err)] // an axum response is the natural error of a handler helper
fn may_download(store: &Store, who: &Caller, project_id: u64) -> Result<(), Response> {
    let project = project_in(store, project_id)?;
    match who {
        Caller::Root(_) => Ok(()),
        Caller::Job(id) => {
            let job = store.jobs.get(id).ok_or_else(forbidden)?;
            if job_token_scope::may_read(job, project) {
                Ok(())
            } else {
                let refusal = job_token_scope::refusal(store, job, project);
                Err(message(
                    StatusCode::FORBIDDEN,
                    &format!("403 Forbidden - {refusal}"),
                ))
            }
        }
        Caller::Anonymous if project.visibility == Visibility::Public => Ok(()),
        Caller::Anonymous => Err(not_found("Project")),
        Caller::Invalid => Err(unauthorized()),
    }
}

/// The stored archive of a job: its path and upload name.
fn archive(job: &Job) -> Option<(std::path::PathBuf, String)> {
    job.artifacts
        .iter()
        .find(|a| a.file_type == "archive")
        .map(|a| (a.path.clone(), a.filename.clone()))
}

/// Sends an archive as GitLab does (`application/zip`, attachment with its upload name).
async fn send_archive(path: &std::path::Path, filename: &str) -> Response {
    match tokio::fs::read(path).await {
        Ok(data) => {
            let mut h = HeaderMap::new();
            h.insert("content-type", HeaderValue::from_static("application/zip"));
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
                h.insert("content-disposition", v);
            }
            (StatusCode::OK, h, Body::from(data)).into_response()
        }
        Err(_) => not_found(""),
    }
}

/// `GET /api/v4/jobs/:id/artifacts`: the archive, for root or a job token whose project may
/// reach the job's project (its own, or one allowlisting it).
pub(crate) async fn download_artifact(
    State(s): State<Arc<Shared>>,
    Path(id): Path<u64>,
    RawQuery(query): RawQuery,
    Auth(who): Auth,
    headers: HeaderMap,
) -> Response {
    let (path, filename) = {
        let store = s.store();
        let Some(job) = store.jobs.get(&id) else {
            return not_found("Job");
        };
        // The runner may fetch a dependency with that job's own token.
        let own_token = job_token(&headers, query.as_deref())
            .is_some_and(|token| !token.is_empty() && token == job.token);
        if !own_token && let Err(refused) = may_download(&store, &who, job.project_id) {
            return refused;
        }
        let Some(found) = archive(job) else {
            return not_found("");
        };
        found
    };
    send_archive(&path, &filename).await
}

/// `GET /api/v4/projects/:id/jobs/:job_id/artifacts`: the archive, for root, a job token that
/// may reach the project, or anyone when the project is public.
pub(crate) async fn project_job_artifacts(
    State(s): State<Arc<Shared>>,
    Path((id, job_id)): Path<(String, String)>,
    Auth(who): Auth,
) -> Response {
    let pid = match project_id(&s, &id) {
        Ok(pid) => pid,
        Err(r) => return r,
    };
    let (path, filename) = {
        let store = s.store();
        if let Err(refused) = may_download(&store, &who, pid) {
            return refused;
        }
        let Some(job) = job_id.parse().ok().and_then(|n| store.project_job(pid, n)) else {
            return not_found("Job");
        };
        let Some(found) = archive(job) else {
            return not_found("");
        };
        found
    };
    send_archive(&path, &filename).await
}
