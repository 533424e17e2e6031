//! Reading a REST request: who calls (only `root` may), which project, which parameters.

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::auth::{Caller, caller};
use super::body::{API_LIMIT, read_capped};
use super::{json_response, not_found, unauthorized};
use crate::model::{Project, Visibility};
use crate::shared::Shared;
use crate::store::Store;

/// Extractor of the API's caller with its credentials checked the way GitLab's API checks
/// them: an invalid token is answered `401`, a token whose scopes do not cover the request
/// `403 insufficient_scope`; no credentials at all pass as [`Caller::Anonymous`].
#[derive(Debug, Clone)]
pub(crate) struct Auth(pub(crate) Caller);

impl FromRequestParts<Arc<Shared>> for Auth {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<Self, Self::Rejection> {
        let who = caller(shared, &parts.headers, parts.uri.query());
        match &who {
            Caller::Invalid => Err(unauthorized()),
            Caller::Root(scopes) => {
                let read = parts.method == Method::GET || parts.method == Method::HEAD;
                match scopes.missing_for_api(read, parts.uri.path()) {
                    Some(wanted) => Err(insufficient_scope(&wanted)),
                    None => Ok(Auth(who)),
                }
            }
            Caller::Job(_) | Caller::Anonymous => Ok(Auth(who)),
        }
    }
}

/// GitLab's answer to a token without the scope a request needs (`wanted`: the scopes that
/// would do, space-separated).
pub(crate) fn insufficient_scope(wanted: &str) -> Response {
    let description = "The request requires higher privileges than provided by the access token.";
    let mut r = json_response(
        StatusCode::FORBIDDEN,
        &json!({"error": "insufficient_scope", "error_description": description, "scope": wanted}),
    );
    let challenge = format!(
        "Bearer realm=\"Protected by OAuth 2.0\", error=\"insufficient_scope\", error_description=\"{description}\", scope=\"{wanted}\""
    );
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        r.headers_mut().insert("www-authenticate", v);
    }
    r
}

/// Extractor for the REST handlers that only `root` may call: [`Auth`] whose caller is root,
/// else GitLab's `401 Unauthorized`.
///
/// List it after the `Path` extractor and before [`Params`]: a malformed path is answered `400`
/// before credentials are looked at, and a stranger's body is never read.
#[derive(Debug, Clone, Copy)]
pub struct RootUser;

impl FromRequestParts<Arc<Shared>> for RootUser {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<Self, Self::Rejection> {
        match Auth::from_request_parts(parts, shared).await?.0 {
            Caller::Root(_) => Ok(RootUser),
            _ => Err(unauthorized()),
        }
    }
}

/// The `{id}` of a route naming one project, as its `Path` extractor reads it (a malformed
/// path: axum's answer, before credentials are looked at).
async fn path_id(parts: &mut Parts, shared: &Arc<Shared>) -> Result<String, Response> {
    let Path(id) = Path::<String>::from_request_parts(parts, shared)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok(id)
}

/// [`path_id`], then [`RootUser`]: the order the separate extractors keep.
async fn root_project_ref(parts: &mut Parts, shared: &Arc<Shared>) -> Result<String, Response> {
    let id = path_id(parts, shared).await?;
    RootUser::from_request_parts(parts, shared).await?;
    Ok(id)
}

/// Extractor of the project a root-only route's `{id}` names: the path, then [`RootUser`],
/// then [`project_id`] (`404 Project Not Found`). For routes that take no body.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RootProject(pub(crate) u64);

impl FromRequestParts<Arc<Shared>> for RootProject {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<Self, Self::Rejection> {
        let id = root_project_ref(parts, shared).await?;
        project_id(shared, &id).map(RootProject)
    }
}

/// [`RootProject`] with a write's [`Params`]: the path, [`RootUser`], the body, and only then
/// the project, so a refused body is answered before an unknown project is.
#[derive(Debug, Clone)]
pub(crate) struct RootProjectParams(pub(crate) u64, pub(crate) Map<String, Value>);

impl FromRequest<Arc<Shared>> for RootProjectParams {
    type Rejection = Response;

    async fn from_request(req: Request, shared: &Arc<Shared>) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let id = root_project_ref(&mut parts, shared).await?;
        let Params(p) = Params::from_request(Request::from_parts(parts, body), shared).await?;
        Ok(RootProjectParams(project_id(shared, &id)?, p))
    }
}

/// Extractor of the project a route's `{id}` names for a caller who may read it (see
/// [`readable_project_id`]), with that caller: the path, then [`Auth`], then the project.
#[derive(Debug, Clone)]
pub(crate) struct ReadableProject(pub(crate) u64, pub(crate) Caller);

impl FromRequestParts<Arc<Shared>> for ReadableProject {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<Self, Self::Rejection> {
        let id = path_id(parts, shared).await?;
        let Auth(who) = Auth::from_request_parts(parts, shared).await?;
        let pid = readable_project_id(shared, &who, &id)?;
        Ok(ReadableProject(pid, who))
    }
}

/// Extractor of the query string's parameters (`key=value`, `key[]=value` into arrays), for
/// reads that take filters.
#[derive(Debug, Clone, Default)]
pub struct QueryParams(pub Map<String, Value>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(QueryParams(params(parts.uri.query(), &parts.headers, &[])))
    }
}

/// Extractor of a write's parameters: the query string, then a form or JSON body on top (the
/// ways GitLab's API clients send them), the body capped at [`API_LIMIT`]. Consumes the body,
/// so it comes last — after the extractors that check credentials.
#[derive(Debug, Clone, Default)]
pub struct Params(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = Response;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let body = read_capped(body, &parts.headers, API_LIMIT).await?;
        Ok(Params(params(parts.uri.query(), &parts.headers, &body)))
    }
}

/// Decodes `%XX` and `+` of a URL-encoded component.
pub fn url_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// Parameters from the query string, a form body or a JSON body (JSON wins).
fn params(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Map<String, Value> {
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

/// The id of the project a route's `{id}` names (numeric id or URL-encoded `group/name`), or
/// `404 Project Not Found`.
#[allow(clippy::result_large_err)] // an axum response is the natural error of a handler helper
pub fn project_id(s: &Shared, id: &str) -> Result<u64, Response> {
    s.store()
        .project_by_ref(&url_decode(id))
        .map(|p| p.id)
        .ok_or_else(|| not_found("Project"))
}

/// The id of the project `{id}` names if `who` may read it — root any project, everyone else
/// public ones only — else `404 Project Not Found` (so a private project's existence does not
/// leak), as GitLab's `find_project!` answers.
#[allow(clippy::result_large_err)] // an axum response is the natural error of a handler helper
pub(crate) fn readable_project_id(s: &Shared, who: &Caller, id: &str) -> Result<u64, Response> {
    let store = s.store();
    store
        .project_by_ref(&url_decode(id))
        .filter(|p| matches!(who, Caller::Root(_)) || p.visibility == Visibility::Public)
        .map(|p| p.id)
        .ok_or_else(|| not_found("Project"))
}

/// Project `pid` in `store`, or `404 Project Not Found` (it may be gone since its id was read).
#[allow(clippy::result_large_err)] // an axum response is the natural error of a handler helper
pub(crate) fn project_in(store: &Store, pid: u64) -> Result<&Project, Response> {
    store.projects.get(&pid).ok_or_else(|| not_found("Project"))
}

/// A string parameter, if present and a string.
pub fn str_param<'a>(p: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    p.get(key).and_then(Value::as_str)
}
