//! HTTP endpoints: the Runner API, the REST subset, git smart HTTP and the pipeline pages.

pub mod auth;
pub mod git_http;
pub mod html;
pub mod jobs;
pub mod json;
pub mod rest;
pub mod rest_pipelines;
pub mod runners;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

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
