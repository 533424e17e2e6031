//! Web sessions: the `_gitlab_session` cookie a sign-in hands out and the HTML pages read.

use std::collections::HashMap;

use axum::http::HeaderMap;
use chrono::{DateTime, Duration, Utc};

use crate::shared::random_token;

/// The cookie GitLab keeps its session id in.
pub(crate) const COOKIE: &str = "_gitlab_session";

/// GitLab's default session lifetime (`session_expire_delay`, 10080 minutes).
const LIFETIME: Duration = Duration::weeks(1);

/// Open sessions by id, each with its expiry.
#[derive(Debug, Default)]
pub(crate) struct Sessions(HashMap<String, DateTime<Utc>>);

impl Sessions {
    /// Opens a session for root and returns its id.
    pub(crate) fn open(&mut self) -> String {
        let id = random_token(32);
        self.0.insert(id.clone(), Utc::now() + LIFETIME);
        id
    }

    /// Whether `id` names an open session (expired ones are forgotten on the way).
    pub(crate) fn is_open(&mut self, id: &str) -> bool {
        let now = Utc::now();
        self.0.retain(|_, expiry| *expiry > now);
        self.0.contains_key(id)
    }
}

/// The session id a request's `Cookie` header carries, if any.
pub(crate) fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
}

/// The `Set-Cookie` value for session `id`.
pub(crate) fn set_cookie(id: &str) -> String {
    format!("{COOKIE}={id}; path=/; HttpOnly; SameSite=Lax")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_session_among_other_cookies() {
        let mut headers = HeaderMap::new();
        headers.insert("cookie", "a=1; _gitlab_session=abc; b=2".parse().unwrap());
        assert_eq!(session_id(&headers).as_deref(), Some("abc"));
        let mut sessions = Sessions::default();
        let id = sessions.open();
        assert!(sessions.is_open(&id));
        assert!(!sessions.is_open("abc"));
    }
}
