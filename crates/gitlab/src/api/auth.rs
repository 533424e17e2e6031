//! Who is calling: `root` (password or personal access token), a job token, or nobody.

use axum::http::HeaderMap;
use base64::Engine;

use crate::shared::Shared;

/// The caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The administrator.
    Root,
    /// A CI job, by id.
    Job(u64),
    /// No or unknown credentials.
    Anonymous,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `(user, password)` from `Authorization: Basic`.
pub fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let value = header(headers, "authorization")?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_string(), pass.to_string()))
}

/// The job token from `JOB-TOKEN`, or from the `job_token` query parameter.
pub fn job_token(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    if let Some(t) = header(headers, "job-token") {
        return Some(t.to_string());
    }
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "job_token" || *k == "token")
        .map(|(_, v)| v.to_string())
}

/// Identifies the caller from PRIVATE-TOKEN, Bearer, Basic or JOB-TOKEN credentials.
pub fn caller(shared: &Shared, headers: &HeaderMap, query: Option<&str>) -> Caller {
    let root_secret = |s: &str| s == shared.root_token || s == shared.root_password;
    if let Some(t) = header(headers, "private-token") {
        return if t == shared.root_token {
            Caller::Root
        } else {
            Caller::Anonymous
        };
    }
    if let Some(t) = header(headers, "authorization").and_then(|v| v.strip_prefix("Bearer ")) {
        return if t == shared.root_token {
            Caller::Root
        } else {
            Caller::Anonymous
        };
    }
    if let Some((user, pass)) = basic(headers) {
        if user == "root" && root_secret(&pass) {
            return Caller::Root;
        }
        if user == "gitlab-ci-token" {
            return job_caller(shared, &pass);
        }
        return Caller::Anonymous;
    }
    if let Some((_, t)) = query.and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "private_token")
    }) {
        return if t == shared.root_token {
            Caller::Root
        } else {
            Caller::Anonymous
        };
    }
    match job_token(headers, query) {
        Some(t) => job_caller(shared, &t),
        None => Caller::Anonymous,
    }
}

fn job_caller(shared: &Shared, token: &str) -> Caller {
    match shared.store().job_by_token(token) {
        Some(job) if job.status == crate::model::Status::Running => Caller::Job(job.id),
        _ => Caller::Anonymous,
    }
}
