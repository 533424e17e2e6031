//! Root's personal access tokens (`glpat-…`) and the scopes that limit what a credential may
//! do, as GitLab defines them.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

use crate::accounts::secrets_equal;
use crate::shared::random_token;

/// Every scope GitLab accepts on a personal access token.
pub(crate) const KNOWN_SCOPES: &[&str] = &[
    "api",
    "read_api",
    "read_user",
    "create_runner",
    "manage_runner",
    "k8s_proxy",
    "self_rotate",
    "read_repository",
    "write_repository",
    "read_registry",
    "write_registry",
    "read_virtual_registry",
    "write_virtual_registry",
    "sudo",
    "admin_mode",
    "read_service_ping",
    "ai_features",
];

/// What a credential may do: a token's scopes, or everything for a password or a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scopes(Option<Vec<String>>);

impl Scopes {
    /// A password sign-in or a web session: not limited by scopes.
    pub(crate) fn unlimited() -> Self {
        Self(None)
    }

    /// A token's scopes.
    pub(crate) fn of(scopes: &[String]) -> Self {
        Self(Some(scopes.to_vec()))
    }

    fn any(&self, wanted: &[&str]) -> bool {
        match &self.0 {
            None => true,
            Some(have) => have.iter().any(|s| wanted.contains(&s.as_str())),
        }
    }

    /// The scopes that would allow an API request (GitLab's `allow_access_with_scope`):
    /// `api` always, `read_api` for reads, `read_user` for reading users, `create_runner` for
    /// creating runners. Empty when this credential already may.
    pub(crate) fn missing_for_api(&self, read: bool, path: &str) -> Option<String> {
        if path == "/api/v4/personal_access_tokens/self" {
            // "any token regardless of scope should be able to view/revoke itself"
            return None;
        }
        let mut wanted = vec!["api"];
        if read {
            wanted.push("read_api");
            if path == "/api/v4/user" || path.starts_with("/api/v4/users") {
                wanted.push("read_user");
            }
        } else if path == "/api/v4/user/runners" {
            wanted.push("create_runner");
        }
        (!self.any(&wanted)).then(|| wanted.join(" "))
    }

    /// Whether git may fetch with this credential (`download_code`).
    pub(crate) fn may_fetch(&self) -> bool {
        self.any(&["api", "read_api", "read_repository", "write_repository"])
    }

    /// Whether git may push with this credential (`push_code`).
    pub(crate) fn may_push(&self) -> bool {
        self.any(&["api", "write_repository"])
    }
}

/// A personal access token of root.
#[derive(Debug, Clone)]
pub(crate) struct PersonalAccessToken {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) secret: String,
    pub(crate) created_at: DateTime<Utc>,
    /// Last day it works (GitLab's tokens expire at the start of this date, UTC).
    pub(crate) expires_at: Option<NaiveDate>,
    pub(crate) revoked: bool,
    pub(crate) last_used_at: Option<DateTime<Utc>>,
}

impl PersonalAccessToken {
    /// A new token with a fresh `glpat-` secret.
    pub(crate) fn new(id: u64, name: &str, scopes: Vec<String>, secret: Option<String>) -> Self {
        Self {
            id,
            name: name.to_string(),
            description: None,
            scopes,
            secret: secret.unwrap_or_else(|| format!("glpat-{}", random_token(20))),
            created_at: Utc::now(),
            expires_at: None,
            revoked: false,
            last_used_at: None,
        }
    }

    /// Not revoked and not expired.
    pub(crate) fn active(&self) -> bool {
        !self.revoked && self.expires_at.is_none_or(|d| Utc::now().date_naive() < d)
    }

    /// GitLab's JSON for it; `with_secret` only in the answer to its creation.
    pub(crate) fn json(&self, with_secret: bool) -> Value {
        let mut v = json!({
            "id": self.id, "name": self.name, "revoked": self.revoked,
            "created_at": self.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "description": self.description, "scopes": self.scopes, "user_id": 1,
            "last_used_at": self.last_used_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            "active": self.active(),
            "expires_at": self.expires_at.map(|d| d.format("%Y-%m-%d").to_string()),
        });
        if with_secret {
            v["token"] = json!(self.secret);
        }
        v
    }
}

/// An OAuth access token from `POST /oauth/token`, with its refresh token.
#[derive(Debug, Clone)]
pub(crate) struct OauthToken {
    pub(crate) access: String,
    pub(crate) refresh: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) expires_at: DateTime<Utc>,
    /// Revoked, or replaced through its refresh token.
    pub(crate) revoked: bool,
}

/// Doorkeeper's access token lifetime on GitLab: 2 hours.
pub(crate) const OAUTH_LIFETIME_SECS: i64 = 7200;

impl OauthToken {
    /// A fresh token pair with `scopes`.
    pub(crate) fn new(scopes: Vec<String>) -> Self {
        let created_at = Utc::now();
        Self {
            access: random_token(64),
            refresh: random_token(64),
            scopes,
            created_at,
            expires_at: created_at + chrono::Duration::seconds(OAUTH_LIFETIME_SECS),
            revoked: false,
        }
    }

    /// Doorkeeper's token answer.
    pub(crate) fn json(&self) -> Value {
        json!({
            "access_token": self.access, "token_type": "Bearer",
            "expires_in": OAUTH_LIFETIME_SECS, "refresh_token": self.refresh,
            "scope": self.scopes.join(" "), "created_at": self.created_at.timestamp(),
        })
    }
}

/// Root's tokens.
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    pub(crate) personal: Vec<PersonalAccessToken>,
    pub(crate) oauth: Vec<OauthToken>,
}

impl Tokens {
    /// The active personal access token whose secret is `secret` (its last use is noted).
    pub(crate) fn personal_by_secret(&mut self, secret: &str) -> Option<&mut PersonalAccessToken> {
        let token = self
            .personal
            .iter_mut()
            .find(|t| secrets_equal(&t.secret, secret))
            .filter(|t| t.active())?;
        token.last_used_at = Some(Utc::now());
        Some(token)
    }

    /// The scopes of the valid OAuth access token `secret`.
    pub(crate) fn oauth_scopes(&self, secret: &str) -> Option<Scopes> {
        let now = Utc::now();
        self.oauth
            .iter()
            .find(|t| secrets_equal(&t.access, secret))
            .filter(|t| !t.revoked && t.expires_at > now)
            .map(|t| Scopes::of(&t.scopes))
    }

    /// The scopes of `secret` as a personal access token or an OAuth token.
    pub(crate) fn scopes_of(&mut self, secret: &str) -> Option<Scopes> {
        if let Some(t) = self.personal_by_secret(secret) {
            return Some(Scopes::of(&t.scopes));
        }
        self.oauth_scopes(secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_follow_gitlab() {
        let read_api = Scopes::of(&["read_api".into()]);
        assert_eq!(read_api.missing_for_api(true, "/api/v4/projects"), None);
        assert_eq!(
            read_api
                .missing_for_api(false, "/api/v4/projects")
                .as_deref(),
            Some("api")
        );
        assert!(read_api.may_fetch() && !read_api.may_push());
        let user = Scopes::of(&["read_user".into()]);
        assert_eq!(user.missing_for_api(true, "/api/v4/user"), None);
        assert!(user.missing_for_api(true, "/api/v4/projects").is_some());
        assert!(!user.may_fetch());
        assert!(Scopes::unlimited().may_push());
    }
}
