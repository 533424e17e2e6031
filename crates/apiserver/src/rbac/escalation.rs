//! RBAC escalation prevention, as the real server's Role and binding storage does it: writing a
//! Role or ClusterRole needs every permission it grants (or the `escalate` verb on it), and
//! writing a binding needs every permission of the role it binds (or the `bind` verb on that
//! role). Members of `system:masters` are exempt.

use serde_json::Value;

use super::covers::{self, Rule};
use super::{Attributes, RBAC_GROUP, authorize, rules_for};
use crate::auth::UserInfo;
use crate::kinds::KindInfo;
use crate::meta;
use crate::registry::{Admit, Registry};
use crate::status::{ApiError, ApiResult};

/// The check a write of an RBAC object must pass for `user`, or `None` when it needs none.
/// `name` is the name in the URL ("" for a create), `body` the request's object or patch.
///
/// Everything the check needs is read here, before the write: the check itself runs under the
/// store's lock on updates. A binding's `roleRef` cannot change after creation (validation
/// refuses it), so the stored binding's, or for a new one the body's, is the one that counts.
pub(crate) fn write_check(
    registry: &Registry,
    user: &UserInfo,
    info: &'static KindInfo,
    namespace: &str,
    name: &str,
    body: &Value,
) -> ApiResult<Option<Admit>> {
    if info.group != RBAC_GROUP || user.is_master() {
        return Ok(None);
    }
    match info.plural {
        "roles" | "clusterroles" => {
            let escalate = Attributes {
                verb: "escalate".into(),
                group: RBAC_GROUP.into(),
                resource: info.plural.into(),
                namespace: namespace.into(),
                name: name.into(),
                ..Default::default()
            };
            if authorize(registry, user, &escalate).0 {
                return Ok(None);
            }
            let held = held_rules(registry, user, namespace)?;
            let user = user.clone();
            Ok(Some(Admit::new(move |obj| {
                let granted: Vec<Rule> = obj
                    .get("rules")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(Rule::from_json)
                    .collect();
                refuse_missing(info, meta::name(obj), &user, &held, &granted)
            })))
        }
        "rolebindings" | "clusterrolebindings" => {
            let stored = (!name.is_empty())
                .then(|| registry.get(info, namespace, name).ok())
                .flatten();
            let role_ref = match &stored {
                Some(b) => b.value.get("roleRef").cloned(),
                None => body.get("roleRef").cloned(),
            }
            .unwrap_or(Value::Null);
            let Some(role) = referenced_role(&role_ref) else {
                // Not a role reference validation accepts: the write fails there.
                return Ok(None);
            };
            if authorize(registry, user, &role.bind_attributes(namespace)).0 {
                return Ok(None);
            }
            let role_rules = role.rules(registry, namespace)?;
            let held = held_rules(registry, user, namespace)?;
            let user = user.clone();
            Ok(Some(Admit::new(move |obj| {
                if obj.get("roleRef") != Some(&role_ref) {
                    // Only a concurrent create or update can get here (roleRef is immutable).
                    return Err(ApiError::conflict(info, meta::name(obj)));
                }
                refuse_missing(info, meta::name(obj), &user, &held, &role_rules)
            })))
        }
        _ => Ok(None),
    }
}

/// A binding's `roleRef` that names a kind of role.
struct RoleRef {
    cluster_role: bool,
    name: String,
}

fn referenced_role(role_ref: &Value) -> Option<RoleRef> {
    let name = meta::str_at(role_ref, &["name"]).to_string();
    match meta::str_at(role_ref, &["kind"]) {
        "Role" => Some(RoleRef {
            cluster_role: false,
            name,
        }),
        "ClusterRole" => Some(RoleRef {
            cluster_role: true,
            name,
        }),
        _ => None,
    }
}

impl RoleRef {
    fn plural(&self) -> &'static str {
        if self.cluster_role {
            "clusterroles"
        } else {
            "roles"
        }
    }

    /// `bind` on the role, checked in the binding's namespace ("" for ClusterRoleBindings).
    fn bind_attributes(&self, binding_namespace: &str) -> Attributes {
        Attributes {
            verb: "bind".into(),
            group: RBAC_GROUP.into(),
            resource: self.plural().into(),
            namespace: binding_namespace.into(),
            name: self.name.clone(),
            ..Default::default()
        }
    }

    /// The role's rules; a missing role is the real server's 404.
    fn rules(&self, registry: &Registry, binding_namespace: &str) -> ApiResult<Vec<Rule>> {
        let info = registry.kind(RBAC_GROUP, self.plural())?;
        let ns = if self.cluster_role {
            ""
        } else {
            binding_namespace
        };
        let role = registry.get(info, ns, &self.name)?;
        Ok(role
            .value
            .get("rules")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(Rule::from_json)
            .collect())
    }
}

fn held_rules(registry: &Registry, user: &UserInfo, namespace: &str) -> ApiResult<Vec<Rule>> {
    Ok(rules_for(registry, user, namespace)?
        .iter()
        .map(Rule::from_json)
        .collect())
}

/// 403 with the real server's message when `held` lacks part of `granted`.
fn refuse_missing(
    info: &KindInfo,
    name: &str,
    user: &UserInfo,
    held: &[Rule],
    granted: &[Rule],
) -> ApiResult<()> {
    let missing = covers::missing(held, granted);
    if missing.is_empty() {
        return Ok(());
    }
    let groups: Vec<String> = user
        .groups
        .iter()
        .map(|g| serde_json::to_string(g).unwrap_or_default())
        .collect();
    Err(ApiError::forbidden(
        format!(
            "{} \"{name}\" is forbidden: user \"{}\" (groups=[{}]) is attempting to grant RBAC permissions not currently held:\n{}",
            info.qualified_plural(),
            user.name,
            groups.join(" "),
            covers::describe(&missing).join("\n")
        ),
        Some(info),
        name,
    ))
}
