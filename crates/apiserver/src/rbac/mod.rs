//! RBAC authorization over the stored Roles, ClusterRoles and their bindings.

mod covers;
pub(crate) mod escalation;

use serde_json::{Value, json};

use crate::auth::UserInfo;
use crate::kinds::UnknownKind;
use crate::registry::Registry;

/// The RBAC API group.
const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// What a request wants to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes {
    /// get, list, watch, create, update, patch, delete, deletecollection, impersonate, …
    pub verb: String,
    /// API group ("" = core).
    pub group: String,
    /// Resource (plural).
    pub resource: String,
    /// Subresource ("" = none).
    pub subresource: String,
    /// Namespace ("" = cluster scope).
    pub namespace: String,
    /// Object name ("" = collection).
    pub name: String,
    /// For non-resource requests: the URL path.
    pub path: Option<String>,
}

impl Attributes {
    /// The denial message of the real server.
    pub fn forbidden_message(&self, user: &UserInfo) -> String {
        if let Some(path) = &self.path {
            return format!(
                "forbidden: User \"{}\" cannot {} path \"{path}\"",
                user.name, self.verb
            );
        }
        let res = if self.subresource.is_empty() {
            self.resource.clone()
        } else {
            format!("{}/{}", self.resource, self.subresource)
        };
        let qualified = if self.group.is_empty() {
            self.resource.clone()
        } else {
            format!("{}.{}", self.resource, self.group)
        };
        let subject = if self.name.is_empty() {
            format!("{qualified} is forbidden")
        } else {
            format!("{qualified} \"{}\" is forbidden", self.name)
        };
        let scope = if self.namespace.is_empty() {
            "at the cluster scope".to_string()
        } else {
            format!("in the namespace \"{}\"", self.namespace)
        };
        format!(
            "{subject}: User \"{}\" cannot {} resource \"{res}\" in API group \"{}\" {scope}",
            user.name, self.verb, self.group
        )
    }
}

fn strs(v: Option<&Value>) -> Vec<&str> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn rule_allows(rule: &Value, a: &Attributes) -> bool {
    let verbs = strs(rule.get("verbs"));
    if !verbs.iter().any(|v| *v == "*" || *v == a.verb) {
        return false;
    }
    if let Some(path) = &a.path {
        return strs(rule.get("nonResourceURLs")).iter().any(|u| {
            *u == "*" || u == path || u.strip_suffix('*').is_some_and(|p| path.starts_with(p))
        });
    }
    if !strs(rule.get("apiGroups"))
        .iter()
        .any(|g| *g == "*" || *g == a.group)
    {
        return false;
    }
    let full = if a.subresource.is_empty() {
        a.resource.clone()
    } else {
        format!("{}/{}", a.resource, a.subresource)
    };
    let resources = strs(rule.get("resources"));
    let resource_ok = resources.iter().any(|r| {
        *r == "*"
            || *r == full
            || (a.subresource.is_empty() && *r == a.resource)
            || (!a.subresource.is_empty() && *r == format!("*/{}", a.subresource))
            || (!a.subresource.is_empty() && *r == format!("{}/*", a.resource))
    });
    if !resource_ok {
        return false;
    }
    let names = strs(rule.get("resourceNames"));
    names.is_empty() || (!a.name.is_empty() && names.contains(&a.name.as_str()))
}

fn subject_matches(subject: &Value, user: &UserInfo, binding_ns: &str) -> bool {
    let kind = subject.get("kind").and_then(Value::as_str).unwrap_or("");
    let name = subject.get("name").and_then(Value::as_str).unwrap_or("");
    match kind {
        "User" => name == user.name,
        "Group" => user.groups.iter().any(|g| g == name),
        "ServiceAccount" => {
            // A RoleBinding's ServiceAccount subject without a namespace means the binding's own.
            let ns = subject
                .get("namespace")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .unwrap_or(binding_ns);
            user.name == format!("system:serviceaccount:{ns}:{name}")
        }
        _ => false,
    }
}

/// The rules granted to `user` in `namespace` ("" = only cluster-wide bindings).
pub fn rules_for(
    registry: &Registry,
    user: &UserInfo,
    namespace: &str,
) -> Result<Vec<Value>, UnknownKind> {
    let mut rules = Vec::new();
    let role_kind = registry.kind(RBAC_GROUP, "roles")?;
    let crole_kind = registry.kind(RBAC_GROUP, "clusterroles")?;
    let resolve = |role_ref: &Value, ns: &str, out: &mut Vec<Value>| {
        let name = role_ref.get("name").and_then(Value::as_str).unwrap_or("");
        let (kind, ns) = match role_ref.get("kind").and_then(Value::as_str) {
            Some("Role") => (role_kind, ns),
            Some("ClusterRole") => (crole_kind, ""),
            // Validation refuses other kinds; one that got stored grants nothing.
            _ => return,
        };
        if let Ok(r) = registry.get(kind, ns, name)
            && let Some(rs) = r.value.get("rules").and_then(Value::as_array)
        {
            out.extend(rs.iter().cloned());
        }
    };
    let crb = registry.kind(RBAC_GROUP, "clusterrolebindings")?;
    let (bindings, _) = registry.store.list(crate::kinds::index_of(crb), None);
    for b in bindings {
        let subjects = b.value.get("subjects").and_then(Value::as_array);
        if subjects
            .into_iter()
            .flatten()
            .any(|s| subject_matches(s, user, ""))
        {
            resolve(
                b.value.get("roleRef").unwrap_or(&Value::Null),
                "",
                &mut rules,
            );
        }
    }
    if !namespace.is_empty() {
        let rb = registry.kind(RBAC_GROUP, "rolebindings")?;
        let (bindings, _) = registry
            .store
            .list(crate::kinds::index_of(rb), Some(namespace));
        for b in bindings {
            let subjects = b.value.get("subjects").and_then(Value::as_array);
            if subjects
                .into_iter()
                .flatten()
                .any(|s| subject_matches(s, user, namespace))
            {
                resolve(
                    b.value.get("roleRef").unwrap_or(&Value::Null),
                    namespace,
                    &mut rules,
                );
            }
        }
    }
    Ok(rules)
}

/// Decides a request. Returns (allowed, reason).
pub fn authorize(registry: &Registry, user: &UserInfo, attrs: &Attributes) -> (bool, String) {
    if user.is_master() {
        return (true, String::new());
    }
    let rules = match rules_for(registry, user, &attrs.namespace) {
        Ok(rules) => rules,
        Err(e) => {
            tracing::error!(error = %e, "resolving RBAC rules");
            return (false, format!("RBAC: {e}"));
        }
    };
    match rules.iter().find(|r| rule_allows(r, attrs)) {
        Some(_) => (true, "RBAC: allowed by a role binding".into()),
        None => (false, String::new()),
    }
}

/// The ClusterRoles and bindings every cluster starts with.
pub fn bootstrap_objects() -> Vec<(&'static str, Value)> {
    let crole = |name: &str, rules: Value| {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
               "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
               "rules": rules})
    };
    let crb = |name: &str, role: &str, group: &str| {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
               "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}]})
    };
    let read = json!(["get", "list", "watch"]);
    let write = json!([
        "get",
        "list",
        "watch",
        "create",
        "update",
        "patch",
        "delete",
        "deletecollection"
    ]);
    vec![
        (
            "clusterroles",
            crole(
                "cluster-admin",
                json!([
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
            {"nonResourceURLs": ["*"], "verbs": ["*"]}]),
            ),
        ),
        (
            "clusterroles",
            crole(
                "admin",
                json!([{"apiGroups": ["", "apps", "batch", "rbac.authorization.k8s.io", "coordination.k8s.io"], "resources": ["*"], "verbs": write}]),
            ),
        ),
        (
            "clusterroles",
            crole(
                "edit",
                json!([{"apiGroups": ["", "apps", "batch", "coordination.k8s.io"], "resources": ["*"], "verbs": write}]),
            ),
        ),
        (
            "clusterroles",
            crole(
                "view",
                json!([{"apiGroups": ["", "apps", "batch"], "resources": ["*"], "verbs": read}]),
            ),
        ),
        (
            "clusterroles",
            crole(
                "system:discovery",
                json!([{"nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/openapi", "/openapi/*", "/version", "/version/", "/healthz", "/livez", "/readyz"], "verbs": ["get"]}]),
            ),
        ),
        (
            "clusterroles",
            crole(
                "system:public-info-viewer",
                json!([{"nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"], "verbs": ["get"]}]),
            ),
        ),
        (
            "clusterroles",
            crole(
                "system:basic-user",
                json!([
            {"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], "verbs": ["create"]},
            {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"], "verbs": ["create"]}]),
            ),
        ),
        (
            "clusterrolebindings",
            crb("cluster-admin", "cluster-admin", "system:masters"),
        ),
        (
            "clusterrolebindings",
            crb(
                "system:discovery",
                "system:discovery",
                "system:authenticated",
            ),
        ),
        (
            "clusterrolebindings",
            crb(
                "system:basic-user",
                "system:basic-user",
                "system:authenticated",
            ),
        ),
        (
            "clusterrolebindings",
            crb(
                "system:public-info-viewer",
                "system:public-info-viewer",
                "system:unauthenticated",
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_message_matches_real_server() {
        let u = UserInfo::service_account("gitlab-runners", "gitlab");
        let a = Attributes {
            verb: "list".into(),
            resource: "pods".into(),
            namespace: "default".into(),
            ..Default::default()
        };
        assert_eq!(
            a.forbidden_message(&u),
            "pods is forbidden: User \"system:serviceaccount:gitlab-runners:gitlab\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""
        );
    }

    #[test]
    fn service_account_subject_defaults_to_binding_namespace() {
        let u = UserInfo::service_account("gitlab-runners", "gitlab");
        let s = json!({"kind": "ServiceAccount", "name": "gitlab", "apiGroup": ""});
        assert!(subject_matches(&s, &u, "gitlab-runners"));
        assert!(!subject_matches(&s, &u, "default"));
    }
}
