//! Authentication: static bearer tokens (the admin), ServiceAccount tokens (HS256 JWTs signed
//! with a per-server key, bound to an audience and optionally to a pod, secret or node) and
//! client certificates.

mod service_account_tokens;

pub use service_account_tokens::{API_AUDIENCE, BoundKind, BoundObject, TokenError};

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

use ring::hmac;

use crate::registry::Registry;

/// Who is making a request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UserInfo {
    /// User name, e.g. `admin` or `system:serviceaccount:ns:name`.
    pub name: String,
    /// Groups, e.g. `system:masters`, `system:authenticated`.
    pub groups: Vec<String>,
    /// A uid, when known.
    pub uid: String,
    /// Extra attributes (set by impersonation headers `Impersonate-Extra-<key>`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, Vec<String>>,
}

impl UserInfo {
    /// A user with groups (plus `system:authenticated`).
    pub fn new(name: &str, groups: &[&str]) -> Self {
        let mut g: Vec<String> = groups.iter().map(|s| s.to_string()).collect();
        if !g.iter().any(|x| x == "system:authenticated") {
            g.push("system:authenticated".into());
        }
        UserInfo {
            name: name.into(),
            groups: g,
            uid: String::new(),
            extra: BTreeMap::new(),
        }
    }

    /// The identity of a ServiceAccount.
    pub fn service_account(ns: &str, name: &str) -> Self {
        Self::new(
            &format!("system:serviceaccount:{ns}:{name}"),
            &[
                "system:serviceaccounts",
                &format!("system:serviceaccounts:{ns}"),
            ],
        )
    }

    /// The unauthenticated user.
    pub fn anonymous() -> Self {
        UserInfo {
            name: "system:anonymous".into(),
            groups: vec!["system:unauthenticated".into()],
            uid: String::new(),
            extra: BTreeMap::new(),
        }
    }

    /// Is this a cluster admin (group `system:masters`)?
    pub fn is_master(&self) -> bool {
        self.groups.iter().any(|g| g == "system:masters")
    }
}

/// Verifies credentials and issues ServiceAccount tokens.
pub struct Authenticator {
    key: [u8; 32],
    tokens: RwLock<HashMap<String, UserInfo>>,
}

/// HMAC-SHA256 (RFC 2104, as ring implements it: keys longer than a block are hashed first).
fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), msg);
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

/// A random token string.
pub fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

impl Default for Authenticator {
    fn default() -> Self {
        Self::new()
    }
}

impl Authenticator {
    /// A fresh authenticator with a random signing key.
    pub fn new() -> Self {
        let mut key = [0u8; 32];
        key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        Authenticator {
            key,
            tokens: RwLock::new(HashMap::new()),
        }
    }

    /// The signing key and static tokens, for a snapshot.
    pub fn export(&self) -> (String, Vec<(String, UserInfo)>) {
        let mut tokens: Vec<(String, UserInfo)> = self
            .tokens
            .read()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        tokens.sort_by(|a, b| a.0.cmp(&b.0));
        (hex::encode(self.key), tokens)
    }

    /// An authenticator that accepts what an exported one accepted: the same ServiceAccount
    /// tokens (same signing key) and static tokens. `None` if the key is not 32 hex bytes.
    pub fn import(key_hex: &str, tokens: Vec<(String, UserInfo)>) -> Option<Self> {
        let key: [u8; 32] = hex::decode(key_hex).ok()?.try_into().ok()?;
        Some(Authenticator {
            key,
            tokens: RwLock::new(tokens.into_iter().collect()),
        })
    }

    /// Registers a static bearer token for a user.
    pub fn add_token(&self, token: &str, user: UserInfo) {
        if let Ok(mut t) = self.tokens.write() {
            t.insert(token.to_string(), user);
        }
    }

    /// Resolves a bearer token for the API server itself. `None` = invalid (401).
    pub fn authenticate_token(&self, token: &str, registry: &Registry) -> Option<UserInfo> {
        self.authenticate_for(token, registry, &[API_AUDIENCE.to_string()])
            .inspect_err(|e| tracing::debug!(error = %e, "bearer token refused"))
            .ok()
            .map(|(user, _)| user)
    }

    /// Resolves a bearer token for one of `audiences` (TokenReview): the identity and the
    /// audiences it is accepted for.
    pub fn authenticate_for(
        &self,
        token: &str,
        registry: &Registry,
        audiences: &[String],
    ) -> Result<(UserInfo, Vec<String>), TokenError> {
        let static_user = self.tokens.read().ok().and_then(|t| t.get(token).cloned());
        if let Some(user) = static_user {
            // Static tokens name no audience: they count for the API server's own only.
            return if audiences.iter().any(|a| a == API_AUDIENCE) {
                Ok((user, vec![API_AUDIENCE.to_string()]))
            } else {
                Err(TokenError::Audience(Vec::new()))
            };
        }
        self.verify_sa_token(token, registry, audiences)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn hmac_hashes_keys_longer_than_a_block_rfc4231_case_6() {
        let key = [0xaa_u8; 131];
        let mac = hmac_sha256(
            &key,
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        );
        assert_eq!(
            hex::encode(mac),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn tampered_tokens_are_rejected() {
        let a = Authenticator::new();
        let r = Registry::new();
        let (t, _) = a.issue_sa_token("ns", "sa", "uid", 3600, &[], None);
        let bad = format!("{t}x");
        assert!(a.authenticate_token(&bad, &r).is_none());
        // A valid signature for a ServiceAccount that does not exist is rejected too.
        assert!(a.authenticate_token(&t, &r).is_none());
    }
}
