//! Impersonation headers (`Impersonate-User`, `-Group`, `-Uid`, `-Extra-<key>`), checked as the
//! real server does: every impersonated user, group, uid and extra value needs its own
//! `impersonate` permission, and the request then runs as exactly the identity asked for.

use std::collections::BTreeMap;

use http::HeaderMap;

use crate::auth::UserInfo;
use crate::rbac::{self, Attributes};
use crate::registry::Registry;
use crate::status::{ApiError, ApiResult};

const EXTRA_PREFIX: &str = "impersonate-extra-";
const AUTHENTICATION_GROUP: &str = "authentication.k8s.io";

/// One thing a request asks to impersonate.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    ServiceAccount { namespace: String, name: String },
    User(String),
    Group(String),
    Extra { key: String, value: String },
    Uid(String),
}

impl Target {
    /// What the requester must be allowed to `impersonate` for this target.
    fn attributes(&self) -> Attributes {
        let (group, resource, subresource, namespace, name) = match self {
            Target::ServiceAccount { namespace, name } => {
                ("", "serviceaccounts", "", namespace, name)
            }
            Target::User(name) => ("", "users", "", &String::new(), name),
            Target::Group(name) => ("", "groups", "", &String::new(), name),
            Target::Extra { key, value } => (
                AUTHENTICATION_GROUP,
                "userextras",
                key.as_str(),
                &String::new(),
                value,
            ),
            Target::Uid(uid) => (AUTHENTICATION_GROUP, "uids", "", &String::new(), uid),
        };
        Attributes {
            verb: "impersonate".into(),
            group: group.into(),
            resource: resource.into(),
            subresource: subresource.into(),
            namespace: namespace.clone(),
            name: name.clone(),
            path: None,
        }
    }

    /// Go's `%v` of the ObjectReference the real server builds (for its 400 message).
    fn go_reference(&self) -> String {
        let v1 = "authentication.k8s.io/v1";
        let (kind, ns, name, api_version, field) = match self {
            Target::ServiceAccount { namespace, name } => {
                ("ServiceAccount", namespace.as_str(), name.as_str(), "", "")
            }
            Target::User(n) => ("User", "", n.as_str(), "", ""),
            Target::Group(n) => ("Group", "", n.as_str(), "", ""),
            Target::Extra { key, value } => ("UserExtra", "", value.as_str(), v1, key.as_str()),
            Target::Uid(u) => ("UID", "", u.as_str(), v1, ""),
        };
        format!("{{{kind} {ns} {name}  {api_version}  {field}}}")
    }
}

fn values<'a>(headers: &'a HeaderMap, name: &str) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
}

/// `%`-decoding of an extra key (`Impersonate-Extra-example.org%2Fscope`).
fn unescape(key: &str) -> String {
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%')
            .then(|| key.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| key.to_string())
}

fn targets(headers: &HeaderMap) -> ApiResult<Vec<Target>> {
    let mut out = Vec::new();
    let user = values(headers, "impersonate-user").next();
    if let Some(user) = user {
        let sa = user
            .strip_prefix("system:serviceaccount:")
            .and_then(|rest| rest.split_once(':'))
            .filter(|(ns, name)| !ns.is_empty() && !name.is_empty() && !name.contains(':'));
        out.push(match sa {
            Some((namespace, name)) => Target::ServiceAccount {
                namespace: namespace.into(),
                name: name.into(),
            },
            None => Target::User(user.into()),
        });
    }
    out.extend(values(headers, "impersonate-group").map(|g| Target::Group(g.into())));
    let mut extra_names: Vec<&str> = headers
        .keys()
        .map(|k| k.as_str())
        .filter(|k| k.starts_with(EXTRA_PREFIX))
        .collect();
    extra_names.sort_unstable();
    extra_names.dedup();
    for name in extra_names {
        let key = unescape(&name[EXTRA_PREFIX.len()..]);
        out.extend(values(headers, name).map(|value| Target::Extra {
            key: key.clone(),
            value: value.into(),
        }));
    }
    if let Some(uid) = values(headers, "impersonate-uid").next() {
        out.push(Target::Uid(uid.into()));
    }
    if user.is_none() && !out.is_empty() {
        let listed: Vec<String> = out.iter().map(Target::go_reference).collect();
        return Err(ApiError::bad_request(format!(
            "requested [{}] without impersonating a user",
            listed.join(" ")
        )));
    }
    Ok(out)
}

/// The identity a request runs as: `requester` itself, or whom its impersonation headers name
/// once every part of it is authorized (403 in the real server's words otherwise).
pub(crate) fn effective_user(
    registry: &Registry,
    requester: UserInfo,
    headers: &HeaderMap,
) -> ApiResult<UserInfo> {
    let targets = targets(headers)?;
    if targets.is_empty() {
        return Ok(requester);
    }
    for target in &targets {
        let attrs = target.attributes();
        if !rbac::authorize(registry, &requester, &attrs).0 {
            return Err(ApiError::forbidden_resource(
                attrs.forbidden_message(&requester),
                &attrs.group,
                &attrs.resource,
                &attrs.name,
            ));
        }
    }
    let groups_given = targets.iter().any(|t| matches!(t, Target::Group(_)));
    let mut user = UserInfo {
        name: String::new(),
        groups: Vec::new(),
        uid: String::new(),
        extra: BTreeMap::new(),
    };
    for target in targets {
        match target {
            Target::ServiceAccount { namespace, name } => {
                let sa = UserInfo::service_account(&namespace, &name);
                user.name = sa.name;
                if !groups_given {
                    user.groups = vec![
                        "system:serviceaccounts".into(),
                        format!("system:serviceaccounts:{namespace}"),
                    ];
                }
            }
            Target::User(name) => user.name = name,
            Target::Group(g) => user.groups.push(g),
            Target::Extra { key, value } => user.extra.entry(key).or_default().push(value),
            Target::Uid(uid) => user.uid = uid,
        }
    }
    let has = |g: &str| user.groups.iter().any(|x| x == g);
    if user.name == "system:anonymous" {
        if !has("system:unauthenticated") {
            user.groups.push("system:unauthenticated".into());
        }
    } else if !has("system:authenticated") && !has("system:unauthenticated") {
        user.groups.push("system:authenticated".into());
    }
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn every_part_is_a_target_and_groups_need_a_user() {
        let t = targets(&headers(&[
            ("Impersonate-User", "system:serviceaccount:ns:sa"),
            ("Impersonate-Group", "g1"),
            ("Impersonate-Extra-Example.org%2Fscope", "read"),
            ("Impersonate-Uid", "42"),
        ]))
        .unwrap();
        assert_eq!(
            t,
            [
                Target::ServiceAccount {
                    namespace: "ns".into(),
                    name: "sa".into()
                },
                Target::Group("g1".into()),
                Target::Extra {
                    key: "example.org/scope".into(),
                    value: "read".into()
                },
                Target::Uid("42".into()),
            ]
        );
        let err = targets(&headers(&[("Impersonate-Group", "system:masters")])).unwrap_err();
        assert_eq!(err.code, 400);
        assert_eq!(
            err.message,
            "requested [{Group  system:masters    }] without impersonating a user"
        );
    }

    #[test]
    fn the_cluster_admin_becomes_exactly_who_is_named() {
        let registry = Registry::new();
        let admin = UserInfo::new("admin", &["system:masters"]);
        let u = effective_user(
            &registry,
            admin.clone(),
            &headers(&[("Impersonate-User", "system:serviceaccount:ns:sa")]),
        )
        .unwrap();
        assert_eq!(
            u.groups,
            [
                "system:serviceaccounts",
                "system:serviceaccounts:ns",
                "system:authenticated"
            ]
        );
        let u = effective_user(
            &registry,
            admin,
            &headers(&[
                ("Impersonate-User", "system:serviceaccount:ns:sa"),
                ("Impersonate-Group", "team"),
            ]),
        )
        .unwrap();
        assert_eq!(u.groups, ["team", "system:authenticated"]);
    }
}
