//! HTTP endpoints: the Runner API, the REST subset, git smart HTTP and the pipeline pages.

pub mod auth;
pub(crate) mod body;
pub mod git_http;
pub(crate) mod groups;
pub mod html;
pub(crate) mod job_token_scope;
pub mod jobs;
pub mod json;
pub(crate) mod oauth;
pub mod request;
pub mod rest;
pub mod rest_pipelines;
pub mod runners;
pub(crate) mod sign_in;
pub(crate) mod tokens;
pub(crate) mod variables;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// What a REST handler returns: `Err` carries an early error answer (401, 404, 400) so that
/// lookups can use `?`; both sides are sent as they are.
pub type Answer = Result<Response, Response>;

/// A JSON response with `Content-Type: application/json` (the Go runner insists on it).
pub fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    (status, headers, body.to_string()).into_response()
}

/// GitLab's error body: `{"message": "..."}`.
pub fn message(status: StatusCode, text: &str) -> Response {
    json_response(status, &serde_json::json!({ "message": text }))
}

/// `400 Bad request - <text>`: GitLab's answer to a missing or invalid parameter.
pub fn bad_request(text: &str) -> Response {
    message(
        StatusCode::BAD_REQUEST,
        &format!("400 Bad request - {text}"),
    )
}

/// `401 Unauthorized` as GitLab words it: missing or wrong credentials.
pub fn unauthorized() -> Response {
    message(StatusCode::UNAUTHORIZED, "401 Unauthorized")
}

/// `200 OK` with a JSON body: what every REST read answers.
pub fn ok(v: serde_json::Value) -> Response {
    json_response(StatusCode::OK, &v)
}

/// `200 OK` with a JSON array: every REST list answers through here. The lists are whole (no
/// `X-Total`/`X-Page`/`Link` pagination headers), so clients that page stop after page one.
pub fn list(items: impl IntoIterator<Item = serde_json::Value>) -> Response {
    ok(serde_json::Value::Array(items.into_iter().collect()))
}

/// `403 Forbidden` as GitLab words it.
pub fn forbidden() -> Response {
    message(StatusCode::FORBIDDEN, "403 Forbidden")
}

/// `404 <what> Not Found`.
pub fn not_found(what: &str) -> Response {
    message(StatusCode::NOT_FOUND, &format!("404 {what} Not Found"))
}

/// Maps a [`crate::GitLabError`] to GitLab-like HTTP errors.
pub fn error_response(err: &crate::GitLabError) -> Response {
    match err {
        crate::GitLabError::NotFound { kind, .. } => not_found(&capitalize(kind)),
        crate::GitLabError::Invalid(m) => message(StatusCode::BAD_REQUEST, m),
        crate::GitLabError::Validation(fields) => json_response(
            StatusCode::BAD_REQUEST,
            &serde_json::json!({ "message": fields }),
        ),
        crate::GitLabError::Config(errors) => json_response(
            StatusCode::BAD_REQUEST,
            &serde_json::json!({ "message": { "base": errors } }),
        ),
        other => message(StatusCode::INTERNAL_SERVER_ERROR, &other.to_string()),
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}
