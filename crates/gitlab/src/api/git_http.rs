//! Git smart HTTP (`info/refs`, `git-upload-pack`, `git-receive-pack`) through
//! `git http-backend`; a push creates pipelines.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::auth::{Caller, git_caller};
use super::body::read_capped;
use super::html;
use crate::git::CgiRequest;
use crate::job_token_scope;
use crate::model::Visibility;
use crate::ops;
use crate::shared::Shared;

/// The largest push taken (root only; checked after the credentials).
const MAX_PUSH: usize = 1 << 30;

/// The largest fetch negotiation taken (anyone may fetch a public project): the buffer
/// `git http-backend` is given (`GIT_HTTP_MAX_REQUEST_BUFFER`).
const MAX_FETCH_REQUEST: usize = 100 << 20;

/// GitLab's answer to a git request for a project that does not exist or is not visible.
const PROJECT_NOT_FOUND: &str =
    "The project you were looking for could not be found or you don't have permission to view it.";

/// GitLab's answer to git without valid credentials: `401` with its help text and a Basic
/// challenge.
fn unauthorized(shared: &Shared) -> Response {
    let text = format!(
        "HTTP Basic: Access denied. If a password was provided for Git authentication, the password was incorrect or you're required to use a token instead of a password. If a token was provided, it was either incorrect, expired, or improperly scoped. See {}\n",
        shared.url(
            "help/topics/git/troubleshooting_git.md#error-on-git-fetch-http-basic-access-denied"
        )
    );
    let mut r = (StatusCode::UNAUTHORIZED, text).into_response();
    r.headers_mut().insert(
        "www-authenticate",
        HeaderValue::from_static("Basic realm=\"GitLab\""),
    );
    r
}

/// Splits `/group/name(.git)/<service path>` into the project path and the service path.
fn split(path: &str) -> Option<(String, String)> {
    for suffix in [
        "/info/refs",
        "/git-upload-pack",
        "/git-receive-pack",
        "/HEAD",
    ] {
        if let Some(prefix) = path.strip_suffix(suffix) {
            let project = prefix.trim_start_matches('/').trim_end_matches(".git");
            return Some((
                project.to_string(),
                suffix.trim_start_matches('/').to_string(),
            ));
        }
    }
    None
}

/// Fallback route: git traffic, else the HTML pages, else 404.
pub(crate) async fn fallback(State(s): State<Arc<Shared>>, request: Request) -> Response {
    let path = request.uri().path().to_string();
    if path.starts_with("/api/") {
        // Grape's catch-all answer for routes the API does not have.
        return super::json_response(
            StatusCode::NOT_FOUND,
            &serde_json::json!({"error": "404 Not Found"}),
        );
    }
    let Some((project_path, service_path)) = split(&path) else {
        return html::page(&s, &path, request.headers()).await;
    };
    let query = request.uri().query().unwrap_or_default().to_string();
    let who = git_caller(&s, request.headers());
    let Some(project) = s.store().project_by_ref(&project_path).cloned() else {
        // Strangers are asked for credentials whether or not the project exists.
        if matches!(who, Caller::Anonymous | Caller::Invalid) {
            return unauthorized(&s);
        }
        return (StatusCode::NOT_FOUND, format!("{PROJECT_NOT_FOUND}\n")).into_response();
    };
    let push = service_path == "git-receive-pack" || query.contains("service=git-receive-pack");
    let remote_user = match (&who, push) {
        (Caller::Root(scopes), true) if !scopes.may_push() => {
            return (
                StatusCode::FORBIDDEN,
                "You are not allowed to upload code.\n",
            )
                .into_response();
        }
        (Caller::Root(scopes), false) if !scopes.may_fetch() => {
            return (
                StatusCode::FORBIDDEN,
                "You are not allowed to download code.\n",
            )
                .into_response();
        }
        (Caller::Root(_), _) => "root",
        (Caller::Job(id), false) => {
            let store = s.store();
            match store.jobs.get(id) {
                Some(job) if job_token_scope::may_read(job, &project) => "gitlab-ci-token",
                Some(job) => {
                    let refusal = job_token_scope::refusal(&store, job, &project);
                    return (StatusCode::FORBIDDEN, format!("{refusal}\n")).into_response();
                }
                None => return unauthorized(&s),
            }
        }
        (Caller::Job(_), true) => {
            return (
                StatusCode::FORBIDDEN,
                "You are not allowed to push code to this project.\n",
            )
                .into_response();
        }
        (Caller::Anonymous, false) if project.visibility == Visibility::Public => "",
        (Caller::Anonymous | Caller::Invalid, _) => return unauthorized(&s),
    };
    let (content_type, content_encoding, git_protocol) = {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        (
            header("content-type").unwrap_or_default(),
            header("content-encoding"),
            header("git-protocol"),
        )
    };
    let method = request.method().as_str().to_string();
    let limit = if push { MAX_PUSH } else { MAX_FETCH_REQUEST };
    let (parts, body) = request.into_parts();
    let body = match read_capped(body, &parts.headers, limit).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let path_info = format!("/{}.git/{service_path}", project.path_with_namespace);
    let cgi = CgiRequest {
        path_info: &path_info,
        method: &method,
        query: &query,
        content_type: &content_type,
        content_encoding: content_encoding.as_deref(),
        git_protocol: git_protocol.as_deref(),
        remote_user,
        body: &body,
    };
    let is_receive = service_path == "git-receive-pack";
    let guard = if is_receive {
        Some(s.push_lock.lock().await)
    } else {
        None
    };
    let before = if is_receive {
        s.git.refs(&project.repo_dir).await.unwrap_or_default()
    } else {
        Default::default()
    };
    let result = s.git.http_backend(cgi).await;
    if is_receive {
        let after = s.git.refs(&project.repo_dir).await.unwrap_or_default();
        if after != before {
            let created = ops::after_push(&s, project.id, &before, &after).await;
            tracing::info!(project = %project.path_with_namespace, pipelines = created.len(), "push received");
        }
    }
    drop(guard);
    match result {
        Ok(out) => {
            let mut builder = Response::builder().status(out.status);
            for (k, v) in &out.headers {
                builder = builder.header(k.as_str(), v.as_str());
            }
            builder.body(Body::from(out.body)).unwrap_or_else(|e| {
                (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()
            })
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}
