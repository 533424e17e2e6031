//! Groups and namespaces: `GET /namespaces?search=`, `POST /groups`, `GET` / `DELETE
//! /groups/:id` (id or URL-encoded full path).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::auth::Caller;
use super::request::{Auth, Params, QueryParams, RootUser, str_param, url_decode};
use super::rest::accepted;
use super::{Answer, bad_request, error_response, json, json_response, list, not_found, ok};
use crate::model::Visibility;
use crate::ops;
use crate::shared::Shared;

/// `GET /api/v4/namespaces` (`search` matches paths and names, case-insensitively).
pub(crate) async fn namespaces(
    State(s): State<Arc<Shared>>,
    _: RootUser,
    QueryParams(p): QueryParams,
) -> Response {
    let search = str_param(&p, "search").map(str::to_lowercase);
    let store = s.store();
    list(
        store
            .namespaces()
            .iter()
            .filter(|n| {
                search.as_deref().is_none_or(|q| {
                    n.full_path.to_lowercase().contains(q) || n.name.to_lowercase().contains(q)
                })
            })
            .map(|n| json::namespace(n, &s.base)),
    )
}

/// `POST /api/v4/groups` (`name`, `path`, optional `parent_id`, `visibility`, `description`).
pub(crate) async fn create(State(s): State<Arc<Shared>>, _: RootUser, Params(p): Params) -> Answer {
    let (name, path) = match (str_param(&p, "name"), str_param(&p, "path")) {
        (Some(name), Some(path)) => (name.to_string(), path.to_string()),
        (None, None) => return Err(bad_request("name is missing, path is missing")),
        (None, _) => return Err(bad_request("name is missing")),
        (_, None) => return Err(bad_request("path is missing")),
    };
    let visibility = match str_param(&p, "visibility").map(Visibility::parse) {
        None => Visibility::Private,
        Some(Some(v)) => v,
        Some(None) => return Err(bad_request("visibility does not have a valid value")),
    };
    let parent = match p.get("parent_id") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(v)) if !v.is_empty() => {
            Some(v.parse().map_err(|_| bad_request("parent_id is invalid"))?)
        }
        _ => None,
    };
    let mut store = s.store();
    let mut group = store
        .create_group(&name, &path, parent, visibility)
        .map_err(|e| error_response(&e))?;
    if let Some(d) = str_param(&p, "description") {
        group.description = d.to_string();
        store.groups.insert(group.id, group.clone());
    }
    Ok(json_response(
        StatusCode::CREATED,
        &json::group(&group, &store, &s.base),
    ))
}

/// `GET` / `DELETE /api/v4/groups/:id`: strangers see public groups only; deleting (root)
/// answers `202` and takes subgroups and projects along.
pub(crate) async fn group(
    State(s): State<Arc<Shared>>,
    method: axum::http::Method,
    Path(id): Path<String>,
    Auth(who): Auth,
) -> Answer {
    let root = matches!(who, Caller::Root(_));
    if method == axum::http::Method::DELETE && !root {
        return Err(super::unauthorized());
    }
    let gid = {
        let store = s.store();
        store
            .group_by_ref(&url_decode(&id))
            .filter(|g| root || g.visibility == Visibility::Public)
            .map(|g| g.id)
            .ok_or_else(|| not_found("Group"))?
    };
    if method == axum::http::Method::DELETE {
        ops::delete_group(&s, gid)
            .await
            .map_err(|e| error_response(&e))?;
        return Ok(accepted());
    }
    let store = s.store();
    let group = store.groups.get(&gid).ok_or_else(|| not_found("Group"))?;
    Ok(ok(json::group(group, &store, &s.base)))
}
