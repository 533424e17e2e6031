//! `POST /oauth/token`: Doorkeeper's resource owner password grant and refresh grant, as GitLab
//! runs them (no client credentials needed, GitLab 17's default), with Doorkeeper's errors.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::request::{Params, str_param};
use super::{json_response, ok};
use crate::accounts::{self, SignIn};
use crate::shared::Shared;
use crate::tokens::{KNOWN_SCOPES, OauthToken};

/// Doorkeeper's `400` error answer.
fn error(code: &str, description: &str) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({"error": code, "error_description": description}),
    )
}

fn invalid_grant() -> Response {
    error(
        "invalid_grant",
        "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.",
    )
}

/// `POST /oauth/token` (form or JSON): `grant_type=password` with `username`, `password` and
/// an optional space-separated `scope` (default `api`), or `grant_type=refresh_token`.
pub(crate) async fn token(State(s): State<Arc<Shared>>, Params(p): Params) -> Response {
    match str_param(&p, "grant_type") {
        Some("password") => {}
        Some("refresh_token") => return refresh(&s, str_param(&p, "refresh_token")),
        _ => {
            return error(
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server.",
            );
        }
    }
    for required in ["username", "password"] {
        if str_param(&p, required).is_none_or(str::is_empty) {
            return error(
                "invalid_request",
                &format!("Missing required parameter: {required}."),
            );
        }
    }
    let scopes: Vec<String> = str_param(&p, "scope")
        .unwrap_or("api")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if scopes.is_empty() || !scopes.iter().all(|s| KNOWN_SCOPES.contains(&s.as_str())) {
        return error(
            "invalid_scope",
            "The requested scope is invalid, unknown, or malformed.",
        );
    }
    let username = str_param(&p, "username").unwrap_or_default();
    let password = str_param(&p, "password").unwrap_or_default();
    let outcome = accounts::sign_in(&s, username, password);
    if outcome != SignIn::Accepted {
        tracing::info!(username, ?outcome, "OAuth password grant refused");
        return invalid_grant();
    }
    let token = OauthToken::new(scopes);
    let body = token.json();
    s.store().tokens.oauth.push(token);
    ok(body)
}

/// The refresh grant: a new pair for an unused refresh token; the old pair is revoked.
fn refresh(shared: &Shared, refresh_token: Option<&str>) -> Response {
    let Some(refresh_token) = refresh_token.filter(|t| !t.is_empty()) else {
        return error(
            "invalid_request",
            "Missing required parameter: refresh_token.",
        );
    };
    let mut store = shared.store();
    let Some(old) = store
        .tokens
        .oauth
        .iter_mut()
        .find(|t| !t.revoked && accounts::secrets_equal(&t.refresh, refresh_token))
    else {
        return invalid_grant();
    };
    old.revoked = true;
    let token = OauthToken::new(old.scopes.clone());
    let body = token.json();
    store.tokens.oauth.push(token);
    ok(body)
}
