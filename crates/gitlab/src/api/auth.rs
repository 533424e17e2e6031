//! Who is calling. The REST API takes tokens only — root's personal access token (header,
//! Bearer or query) or a job token — as GitLab's API does; git over HTTP takes Basic auth with a
//! password, a token or a job token.

use axum::http::HeaderMap;
use base64::Engine;

use super::request::url_decode;
use crate::accounts::{self, SignIn};
use crate::shared::Shared;
use crate::tokens::Scopes;

/// The caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Caller {
    /// The administrator, through a credential that allows these scopes.
    Root(Scopes),
    /// A CI job, by id.
    Job(u64),
    /// No credentials (or a job token of a job that no longer runs).
    Anonymous,
    /// A token that is unknown, expired or revoked: GitLab answers `401` whatever the route.
    Invalid,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The first value of `key` in a query string, decoded.
fn query_value(query: Option<&str>, key: &str) -> Option<String> {
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| url_decode(v))
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

/// The job token from `JOB-TOKEN`, or from the `job_token` (or the Runner API's `token`) query
/// parameter.
pub fn job_token(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    if let Some(t) = header(headers, "job-token") {
        return Some(t.to_string());
    }
    query_value(query, "job_token").or_else(|| query_value(query, "token"))
}

/// A personal access or OAuth token as the API reads it: `PRIVATE-TOKEN`,
/// `Authorization: Bearer`, or the `private_token` / `access_token` query parameters.
pub(crate) fn api_token(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    if let Some(t) = header(headers, "private-token") {
        return Some(t.to_string());
    }
    if let Some(t) = header(headers, "authorization").and_then(|v| v.strip_prefix("Bearer ")) {
        return Some(t.trim().to_string());
    }
    query_value(query, "private_token").or_else(|| query_value(query, "access_token"))
}

/// The API's caller: a token's owner, a running job, or nobody. Basic auth is not an API
/// credential (GitLab ignores it there), so root's password never opens the API.
pub(crate) fn caller(shared: &Shared, headers: &HeaderMap, query: Option<&str>) -> Caller {
    if let Some(token) = api_token(headers, query) {
        return match shared.store().tokens.scopes_of(&token) {
            Some(scopes) => Caller::Root(scopes),
            None => Caller::Invalid,
        };
    }
    match job_token(headers, query) {
        Some(t) => job_caller(shared, &t),
        None => Caller::Anonymous,
    }
}

/// Git's caller, from Basic auth: `gitlab-ci-token` with a running job's token, any user (e.g.
/// `oauth2`) with one of root's personal access or OAuth tokens (its scopes apply), or root's login and password — a
/// password sign-in that counts towards the lock; a locked root is refused with its tokens too
/// (as GitLab does).
pub(crate) fn git_caller(shared: &Shared, headers: &HeaderMap) -> Caller {
    let Some((user, secret)) = basic(headers) else {
        return Caller::Anonymous;
    };
    if user == "gitlab-ci-token" {
        return job_caller(shared, &secret);
    }
    let token_scopes = shared.store().tokens.scopes_of(&secret);
    if let Some(scopes) = token_scopes {
        return if accounts::is_locked(shared) {
            Caller::Invalid
        } else {
            Caller::Root(scopes)
        };
    }
    match accounts::sign_in(shared, &user, &secret) {
        SignIn::Accepted => Caller::Root(Scopes::unlimited()),
        SignIn::Refused | SignIn::Locked => Caller::Invalid,
    }
}

fn job_caller(shared: &Shared, token: &str) -> Caller {
    match shared.store().job_by_token(token) {
        Some(job) if job.status == crate::model::Status::Running => Caller::Job(job.id),
        _ => Caller::Anonymous,
    }
}
