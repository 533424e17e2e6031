//! `/users/sign_in`: the sign-in form and its submission, which opens a web session.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::html::{escape, layout};
use super::request::{Params, str_param};
use crate::accounts::{self, SignIn};
use crate::sessions;
use crate::shared::Shared;

/// A `302 Found` to `path` on this GitLab, with the body Rails sends along.
pub(crate) fn redirect(shared: &Shared, path: &str) -> Response {
    let url = shared.url(path);
    let body = format!(
        "<html><body>You are being <a href=\"{}\">redirected</a>.</body></html>",
        escape(&url)
    );
    let mut r = (StatusCode::FOUND, body).into_response();
    if let Ok(v) = HeaderValue::from_str(&url) {
        r.headers_mut().insert("location", v);
    }
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// `GET /users/sign_in`: the form.
pub(crate) async fn form() -> Response {
    layout(
        "Sign in",
        "<form method=\"post\" action=\"/users/sign_in\">\
         <p><label>Username or primary email <input name=\"user[login]\" autocomplete=\"username\"></label></p>\
         <p><label>Password <input type=\"password\" name=\"user[password]\" autocomplete=\"current-password\"></label></p>\
         <p><button type=\"submit\">Sign in</button></p></form>",
    )
}

/// `POST /users/sign_in` (`user[login]`, `user[password]`): root's password opens a session
/// (`_gitlab_session`) and goes to `/`; anything else goes back to the form, as Devise does.
pub(crate) async fn submit(State(s): State<Arc<Shared>>, Params(p): Params) -> Response {
    let login = str_param(&p, "user[login]").unwrap_or_default();
    let password = str_param(&p, "user[password]").unwrap_or_default();
    let outcome = accounts::sign_in(&s, login, password);
    if outcome != SignIn::Accepted {
        tracing::info!(login, ?outcome, "web sign-in refused");
        return redirect(&s, "users/sign_in");
    }
    let id = s.store().sessions.open();
    let mut r = redirect(&s, "");
    if let Ok(v) = HeaderValue::from_str(&sessions::set_cookie(&id)) {
        r.headers_mut().insert("set-cookie", v);
    }
    r
}
