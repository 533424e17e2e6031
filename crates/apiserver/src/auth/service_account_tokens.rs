//! ServiceAccount tokens: HS256 JWTs with the claims a real server issues, checked as a real
//! server checks them. A token is accepted only for an audience the checker asks for (the API
//! server's own is its issuer), while its ServiceAccount exists with the same uid, and while the
//! object it is bound to (TokenRequest's `boundObjectRef`: a Pod, Secret or Node) exists with the
//! same uid and was not deleted more than a minute ago.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::hmac;
use serde_json::{Value, json};

use super::{Authenticator, UserInfo, hmac_sha256};
use crate::meta;
use crate::registry::Registry;

/// The issuer of ServiceAccount tokens, which is also the audience the API server accepts them
/// for and the audience of tokens requested without one.
pub const API_AUDIENCE: &str = "https://kubernetes.default.svc.cluster.local";

/// How long after its deletion a bound object still vouches for its tokens (the real server's
/// JWT leeway).
const LEEWAY_SECONDS: i64 = 60;

/// The object a token is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoundObject<'a> {
    /// `Pod`, `Secret` or `Node`.
    pub kind: BoundKind,
    /// Its name.
    pub name: &'a str,
    /// Its uid.
    pub uid: &'a str,
}

/// The kinds a token can be bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoundKind {
    /// A pod in the ServiceAccount's namespace.
    Pod,
    /// A secret in the ServiceAccount's namespace.
    Secret,
    /// A node.
    Node,
}

impl BoundKind {
    const ALL: [BoundKind; 3] = [BoundKind::Pod, BoundKind::Secret, BoundKind::Node];

    /// The key of the claim under `kubernetes.io`.
    fn claim(self) -> &'static str {
        match self {
            BoundKind::Pod => "pod",
            BoundKind::Secret => "secret",
            BoundKind::Node => "node",
        }
    }

    /// The core resource.
    pub(crate) fn plural(self) -> &'static str {
        match self {
            BoundKind::Pod => "pods",
            BoundKind::Secret => "secrets",
            BoundKind::Node => "nodes",
        }
    }

    /// A bound kind from a `boundObjectRef` kind (core group only).
    pub(crate) fn from_kind(kind: &str) -> Option<Self> {
        match kind {
            "Pod" => Some(BoundKind::Pod),
            "Secret" => Some(BoundKind::Secret),
            "Node" => Some(BoundKind::Node),
            _ => None,
        }
    }
}

/// Why a ServiceAccount token is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64 parts of JSON.
    #[error("not a JWT")]
    Malformed,
    /// The signature does not verify with this server's key.
    #[error("invalid signature")]
    Signature,
    /// Past `exp`, or before `nbf`.
    #[error("service account token has expired or is not valid yet")]
    Time,
    /// Another issuer.
    #[error("token issuer is not this cluster's")]
    Issuer,
    /// None of the token's audiences is one the checker accepts.
    #[error("token audiences {0:?} are not accepted")]
    Audience(Vec<String>),
    /// The ServiceAccount is gone (or was recreated).
    #[error("service account {0} has been deleted")]
    ServiceAccountGone(String),
    /// The object the token was bound to is gone (or was recreated).
    #[error("service account token has been invalidated: its {0} is gone")]
    BoundObjectGone(&'static str),
}

fn audiences_of(claims: &Value) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether a stored object is still the one a claim names: same uid, and not deleted longer ago
/// than the leeway.
fn still_there(obj: &Value, uid: &str, now: i64) -> bool {
    let deleted_long_ago =
        chrono::DateTime::parse_from_rfc3339(meta::str_at(obj, &["metadata", "deletionTimestamp"]))
            .is_ok_and(|t| t.timestamp() < now - LEEWAY_SECONDS);
    meta::uid(obj) == uid && !deleted_long_ago
}

impl Authenticator {
    /// Issues a ServiceAccount token (TokenRequest). Returns the token and its expiry (unix secs).
    /// Without `audiences`, the token is for the API server ([`API_AUDIENCE`]).
    pub fn issue_sa_token(
        &self,
        ns: &str,
        name: &str,
        sa_uid: &str,
        expiration_seconds: i64,
        audiences: &[String],
        bound: Option<BoundObject<'_>>,
    ) -> (String, i64) {
        let now = chrono::Utc::now().timestamp();
        let exp = now + expiration_seconds.max(600);
        let mut k8s = json!({"namespace": ns, "serviceaccount": {"name": name, "uid": sa_uid}});
        if let Some(b) = bound {
            k8s[b.kind.claim()] = json!({"name": b.name, "uid": b.uid});
        }
        let aud = if audiences.is_empty() {
            vec![API_AUDIENCE.to_string()]
        } else {
            audiences.to_vec()
        };
        let claims = json!({
            "aud": aud,
            "exp": exp,
            "iat": now,
            "nbf": now,
            "iss": API_AUDIENCE,
            "sub": format!("system:serviceaccount:{ns}:{name}"),
            "kubernetes.io": k8s,
        });
        let header = B64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let body = B64.encode(claims.to_string());
        let signing_input = format!("{header}.{body}");
        let sig = B64.encode(hmac_sha256(&self.key, signing_input.as_bytes()));
        (format!("{signing_input}.{sig}"), exp)
    }

    /// Checks a ServiceAccount token for one of `audiences`: the identity and the audiences it
    /// was accepted for.
    pub fn verify_sa_token(
        &self,
        token: &str,
        registry: &Registry,
        audiences: &[String],
    ) -> Result<(UserInfo, Vec<String>), TokenError> {
        let mut parts = token.split('.');
        let (Some(h), Some(b), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let sig = B64.decode(s).map_err(|_| TokenError::Malformed)?;
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.key);
        hmac::verify(&key, format!("{h}.{b}").as_bytes(), &sig)
            .map_err(|_| TokenError::Signature)?;
        let claims: Value = B64
            .decode(b)
            .ok()
            .and_then(|raw| serde_json::from_slice(&raw).ok())
            .ok_or(TokenError::Malformed)?;
        let now = chrono::Utc::now().timestamp();
        let time = |k: &str| claims.get(k).and_then(Value::as_i64);
        if time("exp").is_none_or(|exp| exp < now)
            || time("nbf").is_some_and(|nbf| nbf > now + LEEWAY_SECONDS)
        {
            return Err(TokenError::Time);
        }
        if meta::str_at(&claims, &["iss"]) != API_AUDIENCE {
            return Err(TokenError::Issuer);
        }
        let token_audiences = audiences_of(&claims);
        let accepted: Vec<String> = audiences
            .iter()
            .filter(|a| token_audiences.contains(a))
            .cloned()
            .collect();
        if accepted.is_empty() {
            return Err(TokenError::Audience(token_audiences));
        }
        let k8s = claims.get("kubernetes.io").ok_or(TokenError::Malformed)?;
        let ns = meta::str_at(k8s, &["namespace"]);
        let name = meta::str_at(k8s, &["serviceaccount", "name"]);
        let uid = meta::str_at(k8s, &["serviceaccount", "uid"]);
        let gone = || TokenError::ServiceAccountGone(format!("{ns}/{name}"));
        let sa = lookup(registry, "serviceaccounts", ns, name).ok_or_else(gone)?;
        if !still_there(&sa, uid, now) {
            return Err(gone());
        }
        let mut user = UserInfo::service_account(ns, name);
        user.uid = uid.to_string();
        for kind in BoundKind::ALL {
            let Some(bound) = k8s.get(kind.claim()) else {
                continue;
            };
            let (b_name, b_uid) = (
                meta::str_at(bound, &["name"]),
                meta::str_at(bound, &["uid"]),
            );
            let b_ns = if kind == BoundKind::Node { "" } else { ns };
            let alive = lookup(registry, kind.plural(), b_ns, b_name)
                .is_some_and(|obj| still_there(&obj, b_uid, now));
            if !alive {
                return Err(TokenError::BoundObjectGone(kind.claim()));
            }
            if kind != BoundKind::Secret {
                let key =
                    |what: &str| format!("authentication.kubernetes.io/{}-{what}", kind.claim());
                user.extra.insert(key("name"), vec![b_name.to_string()]);
                user.extra.insert(key("uid"), vec![b_uid.to_string()]);
            }
        }
        Ok((user, accepted))
    }
}

/// A core object by plural, namespace and name (None when missing).
fn lookup(registry: &Registry, plural: &str, ns: &str, name: &str) -> Option<Value> {
    let kind = registry
        .kind("", plural)
        .inspect_err(|e| tracing::error!(error = %e, "checking a ServiceAccount token"))
        .ok()?;
    registry.get(kind, ns, name).ok().map(|o| o.value.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audiences_are_read_from_a_string_or_a_list() {
        assert_eq!(audiences_of(&json!({"aud": "vault"})), ["vault"]);
        assert_eq!(audiences_of(&json!({"aud": ["a", "b"]})), ["a", "b"]);
        assert!(audiences_of(&json!({})).is_empty());
    }

    #[test]
    fn objects_deleted_within_the_leeway_still_count() {
        let now = chrono::Utc::now().timestamp();
        let at = |t: i64| {
            chrono::DateTime::from_timestamp(t, 0)
                .unwrap()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        };
        let obj = |deleted: Option<i64>| {
            let mut v = json!({"metadata": {"uid": "u1"}});
            if let Some(t) = deleted {
                v["metadata"]["deletionTimestamp"] = json!(at(t));
            }
            v
        };
        assert!(still_there(&obj(None), "u1", now));
        assert!(!still_there(&obj(None), "u2", now));
        assert!(still_there(&obj(Some(now + 30)), "u1", now));
        assert!(still_there(&obj(Some(now - 30)), "u1", now));
        assert!(!still_there(&obj(Some(now - 120)), "u1", now));
    }
}
