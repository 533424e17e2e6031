//! Personal access token endpoints: an admin creates tokens for a user
//! (`POST /users/:id/personal_access_tokens`), a token reads or revokes itself
//! (`/personal_access_tokens/self`).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::IntoResponse;
use chrono::{Days, NaiveDate, Utc};
use serde_json::Value;

use super::auth::{Caller, api_token};
use super::request::{Auth, Params, RootUser, str_param};
use super::{Answer, bad_request, json_response, not_found, ok, unauthorized};
use crate::shared::Shared;
use crate::tokens::{KNOWN_SCOPES, PersonalAccessToken};

/// GitLab's default (and maximum) token lifetime when no `expires_at` is given: 365 days.
const DEFAULT_LIFETIME: Days = Days::new(365);

/// `POST /api/v4/users/:user_id/personal_access_tokens` (`name`, `scopes[]`, `expires_at`,
/// `description`): only root exists, so only `user_id` 1 does.
pub(crate) async fn create(
    State(s): State<Arc<Shared>>,
    Path(user_id): Path<String>,
    _: RootUser,
    Params(p): Params,
) -> Answer {
    if user_id != "1" {
        return Err(not_found("User"));
    }
    let Some(name) = str_param(&p, "name").filter(|n| !n.is_empty()) else {
        return Err(bad_request("name is missing"));
    };
    let scopes: Vec<String> = match p.get("scopes") {
        Some(Value::Array(list)) => list
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_string())
            .collect(),
        Some(Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    };
    if scopes.is_empty() {
        return Err(bad_request("scopes is missing"));
    }
    if !scopes.iter().all(|s| KNOWN_SCOPES.contains(&s.as_str())) {
        return Err(bad_request("scopes does not have a valid value"));
    }
    let expires_at = match str_param(&p, "expires_at") {
        Some(text) => Some(
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| bad_request("expires_at is invalid"))?,
        ),
        None => Utc::now().date_naive().checked_add_days(DEFAULT_LIFETIME),
    };
    let mut store = s.store();
    let id = store.next_id();
    let mut token = PersonalAccessToken::new(id, name, scopes, None);
    token.expires_at = expires_at;
    token.description = str_param(&p, "description").map(str::to_string);
    let body = token.json(true);
    store.tokens.personal.push(token);
    tracing::info!(token = id, "personal access token created");
    Ok(json_response(StatusCode::CREATED, &body))
}

/// `GET` and `DELETE /api/v4/personal_access_tokens/self`: the token used for the request,
/// read or revoked (`204`). Any scope may do both, as on GitLab.
pub(crate) async fn current(
    State(s): State<Arc<Shared>>,
    method: Method,
    Auth(who): Auth,
    headers: HeaderMap,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Answer {
    if !matches!(who, Caller::Root(_)) {
        return Err(unauthorized());
    }
    let secret = api_token(&headers, query.as_deref()).unwrap_or_default();
    let mut store = s.store();
    let token = store
        .tokens
        .personal_by_secret(&secret)
        .ok_or_else(|| not_found(""))?;
    if method == Method::DELETE {
        token.revoked = true;
        tracing::info!(token = token.id, "personal access token revoked");
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(ok(token.json(false)))
}
