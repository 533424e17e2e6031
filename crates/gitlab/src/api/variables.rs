//! `/projects/:id/variables[/:key]`: create, read, update (only the attributes given) and
//! delete project variables, one per key and environment scope (`filter[environment_scope]`
//! picks one when a key has several).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::request::{Params, RootProjectParams, RootUser, project_id, str_param};
use super::{Answer, bad_request, error_response, json, json_response, message, not_found, ok};
use crate::model::{Variable, VariableType};
use crate::project_variables::{add_variable, delete_scoped, update_variable};
use crate::shared::Shared;

/// A boolean attribute sent as JSON or as form text.
fn flag(p: &Map<String, Value>, key: &str) -> Option<bool> {
    match p.get(key)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => Some(s == "true"),
        _ => None,
    }
}

/// `variable` with the attributes the request names set; the others stay as they are.
#[allow(clippy::result_large_err)] // an axum response is the natural error of a handler helper
fn apply(p: &Map<String, Value>, mut variable: Variable) -> Result<Variable, Response> {
    match p.get("value") {
        Some(Value::String(s)) => variable.value = s.clone(),
        Some(Value::Null) | None => {}
        Some(other) => variable.value = other.to_string(),
    }
    if let Some(b) = flag(p, "masked") {
        variable.masked = b;
    }
    if let Some(b) = flag(p, "protected") {
        variable.protected = b;
    }
    if let Some(b) = flag(p, "raw") {
        variable.raw = b;
    }
    if let Some(t) = str_param(p, "variable_type") {
        variable.variable_type = match t {
            "env_var" => VariableType::EnvVar,
            "file" => VariableType::File,
            _ => return Err(bad_request("variable_type does not have a valid value")),
        };
    }
    if let Some(scope) = str_param(p, "environment_scope") {
        variable.environment_scope = scope.to_string();
    }
    Ok(variable)
}

/// The one variable `key` of project `pid` in the filtered scope: `404` when there is none,
/// GitLab's `409` when several scopes have it and no filter says which.
#[allow(clippy::result_large_err)] // an axum response is the natural error of a handler helper
fn find(s: &Shared, pid: u64, key: &str, p: &Map<String, Value>) -> Result<Variable, Response> {
    let filter = str_param(p, "filter[environment_scope]");
    let store = s.store();
    let found: Vec<&Variable> = store
        .variables
        .get(&pid)
        .into_iter()
        .flatten()
        .filter(|v| v.key == key && filter.is_none_or(|f| v.environment_scope == f))
        .collect();
    match found.as_slice() {
        [] => Err(not_found("Variable")),
        [one] => Ok((*one).clone()),
        _ => Err(message(
            StatusCode::CONFLICT,
            "There are multiple variables with provided parameters. Please use 'filter[environment_scope]'",
        )),
    }
}

/// `POST /api/v4/projects/:id/variables` (`key`, `value`, `masked`, `protected`,
/// `variable_type`, `raw`, `environment_scope`).
pub(crate) async fn create(
    State(s): State<Arc<Shared>>,
    RootProjectParams(pid, p): RootProjectParams,
) -> Answer {
    let Some(key) = str_param(&p, "key") else {
        return Err(bad_request("key is missing"));
    };
    let variable = apply(&p, Variable::new(key, ""))?;
    add_variable(&s, pid, variable)
        .map(|v| json_response(StatusCode::CREATED, &json::variable(&v)))
        .map_err(|e| error_response(&e))
}

/// `GET`, `PUT` (only the attributes given change) and `DELETE` (`204`)
/// `/api/v4/projects/:id/variables/:key`.
pub(crate) async fn one(
    State(s): State<Arc<Shared>>,
    method: Method,
    Path((id, key)): Path<(String, String)>,
    _: RootUser,
    Params(p): Params,
) -> Answer {
    let pid = project_id(&s, &id)?;
    let current = find(&s, pid, &key, &p)?;
    match method {
        Method::DELETE => delete_scoped(&s, pid, &key, Some(&current.environment_scope))
            .map(|()| StatusCode::NO_CONTENT.into_response())
            .map_err(|e| error_response(&e)),
        Method::PUT => {
            let scope = current.environment_scope.clone();
            let updated = apply(&p, current)?;
            update_variable(&s, pid, (&key, &scope), updated)
                .map(|v| ok(json::variable(&v)))
                .map_err(|e| error_response(&e))
        }
        _ => Ok(ok(json::variable(&current))),
    }
}
