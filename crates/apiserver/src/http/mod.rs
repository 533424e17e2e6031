//! The HTTP front: request parsing, authentication, impersonation, authorization and dispatch
//! to the resource, watch, review and streaming handlers.

mod body;
mod impersonation;
mod query;
mod representation;
mod resources;
mod reviews;
mod token_request;
mod watch;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, StatusCode, header};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::auth::{Authenticator, UserInfo};
use crate::kinds::{self, KindInfo};
use crate::node_streams::NodeStreams;
use crate::rbac::{self, Attributes};
use crate::registry::Registry;
use crate::status::{ApiError, ApiResult};
use crate::{discovery, openapi, openapi_v2};

pub use query::Query;

/// The identity proven by a client certificate on the connection, if any.
#[derive(Debug, Clone, Default)]
pub struct PeerIdentity(pub Option<(String, Vec<String>)>);

/// Shared state of the HTTP front.
pub struct AppState {
    /// Objects and lifecycle rules.
    pub registry: Arc<Registry>,
    /// Credential checks.
    pub auth: Authenticator,
    /// Node stream providers by node name.
    pub nodes: RwLock<HashMap<String, Arc<dyn NodeStreams>>>,
    /// Reported version (major, minor, patch).
    pub version: (u32, u32, u32),
    /// `host:port` clients use.
    pub address: String,
    /// Cancelled on shutdown (ends watches and streams).
    pub shutdown: CancellationToken,
}

/// A parsed resource request path.
#[derive(Debug, Clone)]
pub struct ResourcePath {
    /// The kind addressed.
    pub info: &'static KindInfo,
    /// Namespace ("" for cluster scope or all namespaces).
    pub namespace: String,
    /// Object name ("" for the collection).
    pub name: String,
    /// Subresource ("" for none).
    pub subresource: String,
}

/// Everything a handler needs about one request.
pub struct Ctx {
    /// Shared state.
    pub state: Arc<AppState>,
    /// Effective user (after impersonation).
    pub user: UserInfo,
    /// Query parameters.
    pub query: Query,
    /// Request headers.
    pub headers: HeaderMap,
}

impl Ctx {
    /// The Accept header.
    pub fn accept(&self) -> &str {
        self.headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// JSON response with a status code.
pub fn json_response(code: StatusCode, body: &Value) -> Response {
    bytes_response(
        code,
        serde_json::to_vec(body).unwrap_or_default(),
        "application/json",
    )
}

/// Raw bytes response.
pub fn bytes_response(code: StatusCode, body: impl Into<Body>, ct: &str) -> Response {
    Response::builder()
        .status(code)
        .header(header::CONTENT_TYPE, ct)
        .body(body.into())
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn parse_resource_path(segs: &[&str]) -> Option<(usize, ResourcePath)> {
    let (group, version, rest) = match segs {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return None,
    };
    let mk = |plural: &str, ns: &str, name: &str, sub: &str| {
        kinds::find(group, version, plural).map(|info| ResourcePath {
            info,
            namespace: ns.to_string(),
            name: name.to_string(),
            subresource: sub.to_string(),
        })
    };
    let consumed = segs.len() - rest.len();
    let path = match rest {
        ["namespaces", ns, plural, tail @ ..]
            if kinds::find(group, version, plural).is_some_and(|k| k.namespaced) =>
        {
            match tail {
                [] => mk(plural, ns, "", ""),
                [name] => mk(plural, ns, name, ""),
                [name, sub] => mk(plural, ns, name, sub),
                _ => None,
            }
        }
        [plural] => mk(plural, "", "", ""),
        [plural, name] => mk(plural, "", name, ""),
        [plural, name, sub] => mk(plural, "", name, sub),
        _ => None,
    }?;
    Some((consumed, path))
}

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

fn authenticate(state: &AppState, req: &Request) -> ApiResult<UserInfo> {
    let h = req.headers();
    let authz = header_str(h, "authorization");
    let user = if let Some(token) = authz.strip_prefix("Bearer ").map(str::trim) {
        state
            .auth
            .authenticate_token(token, &state.registry)
            .ok_or_else(ApiError::unauthorized)?
    } else if let Some(PeerIdentity(Some((name, groups)))) = req.extensions().get::<PeerIdentity>()
    {
        let refs: Vec<&str> = groups.iter().map(String::as_str).collect();
        UserInfo::new(name, &refs)
    } else {
        UserInfo::anonymous()
    };
    impersonation::effective_user(&state.registry, user, h)
}

fn verb_for(method: &Method, p: &ResourcePath, query: &Query) -> &'static str {
    match (method.as_str(), p.name.is_empty()) {
        ("GET", _) if matches!(p.subresource.as_str(), "exec" | "attach") => "create",
        ("GET", true) if query.watch() => "watch",
        ("GET", true) => "list",
        ("GET", false) => "get",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "deletecollection",
        ("DELETE", false) => "delete",
        _ => "get",
    }
}

/// Entry point for every request.
pub async fn dispatch(state: Arc<AppState>, req: Request) -> Response {
    match handle(state, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn handle(state: Arc<AppState>, req: Request) -> ApiResult<Response> {
    let path = req.uri().path().to_string();
    let query = Query::parse(req.uri().query().unwrap_or(""));
    let user = authenticate(&state, &req)?;
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let accept = header_str(req.headers(), "accept").to_string();

    if let Some((_, rp)) = parse_resource_path(&segs) {
        let verb = verb_for(req.method(), &rp, &query);
        let attrs = Attributes {
            verb: verb.into(),
            group: rp.info.group.into(),
            resource: rp.info.plural.into(),
            subresource: rp.subresource.clone(),
            namespace: rp.namespace.clone(),
            name: rp.name.clone(),
            path: None,
        };
        let (ok, _) = rbac::authorize(&state.registry, &user, &attrs);
        if !ok {
            return Err(ApiError::forbidden(
                attrs.forbidden_message(&user),
                Some(rp.info),
                &rp.name,
            ));
        }
        let ctx = Ctx {
            state: state.clone(),
            user,
            query,
            headers: req.headers().clone(),
        };
        return resources::route(ctx, rp, req).await;
    }

    let attrs = Attributes {
        verb: req.method().as_str().to_lowercase(),
        path: Some(path.clone()),
        ..Default::default()
    };
    if !rbac::authorize(&state.registry, &user, &attrs).0 {
        if user.name == "system:anonymous" {
            return Err(ApiError::unauthorized());
        }
        return Err(ApiError::forbidden(
            attrs.forbidden_message(&user),
            None,
            "",
        ));
    }
    // An unknown path is 404 whatever the method (as for a group-version the server does not
    // serve); only the paths that exist answer 405 to anything but GET.
    let answer = non_resource(&state, &segs, &accept)?;
    if req.method() != Method::GET {
        return Err(ApiError::method_not_allowed());
    }
    Ok(answer)
}

fn non_resource(state: &AppState, segs: &[&str], accept: &str) -> ApiResult<Response> {
    let ok = |v: Value| Ok(json_response(StatusCode::OK, &v));
    match segs {
        ["version"] => {
            let (ma, mi, pa) = state.version;
            ok(json!({"major": ma.to_string(), "minor": mi.to_string(),
                      "gitVersion": format!("v{ma}.{mi}.{pa}"), "gitCommit": "0000000000000000000000000000000000000000",
                      "gitTreeState": "clean", "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.23.6",
                      "compiler": "gc", "platform": "linux/amd64"}))
        }
        ["healthz"] | ["readyz"] | ["livez"] => {
            Ok(bytes_response(StatusCode::OK, "ok", "text/plain"))
        }
        ["api"] => {
            if discovery::wants_aggregated(accept) {
                Ok(aggregated_response(discovery::aggregated(true)))
            } else {
                ok(discovery::api_versions(&state.address))
            }
        }
        ["apis"] => {
            if discovery::wants_aggregated(accept) {
                Ok(aggregated_response(discovery::aggregated(false)))
            } else {
                ok(discovery::api_group_list())
            }
        }
        ["api", v] => {
            discovery::resource_list("", v).map_or_else(|| Err(ApiError::path_not_found()), ok)
        }
        ["apis", g] => {
            let versions: Vec<Value> = kinds::group_versions()
                .into_iter()
                .filter(|(gg, _)| gg == g)
                .map(|(gg, v)| json!({"groupVersion": format!("{gg}/{v}"), "version": v}))
                .collect();
            match versions.first().cloned() {
                Some(pref) => ok(
                    json!({"kind": "APIGroup", "apiVersion": "v1", "name": g, "versions": versions, "preferredVersion": pref}),
                ),
                None => Err(ApiError::path_not_found()),
            }
        }
        ["apis", g, v] => {
            discovery::resource_list(g, v).map_or_else(|| Err(ApiError::path_not_found()), ok)
        }
        ["openapi", "v2"] => {
            let (ma, mi, pa) = state.version;
            let (body, ct) = openapi_v2::document(accept, &format!("v{ma}.{mi}.{pa}"));
            Ok(bytes_response(StatusCode::OK, body, ct))
        }
        ["openapi", "v3"] => ok(openapi::index()),
        ["openapi", "v3", rest @ ..] => match openapi::document(&rest.join("/")) {
            Some(doc) => Ok(bytes_response(StatusCode::OK, doc, "application/json")),
            None => Err(ApiError::path_not_found()),
        },
        _ => Err(ApiError::path_not_found()),
    }
}

fn aggregated_response(v: Value) -> Response {
    bytes_response(
        StatusCode::OK,
        serde_json::to_vec(&v).unwrap_or_default(),
        discovery::AGGREGATED_CONTENT_TYPE,
    )
}

/// Builds the axum router (everything goes through [`dispatch`]).
pub fn router(state: Arc<AppState>) -> axum::Router {
    axum::Router::new().fallback(move |req: Request| dispatch(state.clone(), req))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_to_kinds() {
        let segs = ["api", "v1", "namespaces", "ns", "pods", "p", "log"];
        let (_, p) = parse_resource_path(&segs).unwrap();
        assert_eq!(
            (
                p.info.kind,
                p.namespace.as_str(),
                p.name.as_str(),
                p.subresource.as_str()
            ),
            ("Pod", "ns", "p", "log")
        );
        let (_, p) = parse_resource_path(&["api", "v1", "namespaces", "ns"]).unwrap();
        assert_eq!((p.info.kind, p.name.as_str()), ("Namespace", "ns"));
        let (_, p) = parse_resource_path(&["api", "v1", "namespaces", "ns", "status"]).unwrap();
        assert_eq!(p.subresource, "status");
        assert!(parse_resource_path(&["api", "v1", "widgets"]).is_none());
    }
}
