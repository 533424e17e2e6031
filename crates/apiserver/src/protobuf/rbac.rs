//! Roles, ClusterRoles and their bindings (`kubectl create role|clusterrole|rolebinding|
//! clusterrolebinding`).

use k8s_pb::api::rbac::v1 as rbac;
use serde_json::{Map, Value, json};

use super::{decode, label_selector, object_meta, put, put_list};
use crate::status::ApiError;

fn rules(rules: Vec<rbac::PolicyRule>) -> Value {
    Value::Array(
        rules
            .into_iter()
            .map(|r| {
                let mut o = Map::new();
                put_list(&mut o, "verbs", &r.verbs);
                // An empty string is the core group: the list is kept as given.
                if !r.api_groups.is_empty() {
                    o.insert("apiGroups".into(), json!(r.api_groups));
                }
                put_list(&mut o, "resources", &r.resources);
                put_list(&mut o, "resourceNames", &r.resource_names);
                put_list(&mut o, "nonResourceURLs", &r.non_resource_ur_ls);
                Value::Object(o)
            })
            .collect(),
    )
}

fn subjects(subjects: Vec<rbac::Subject>) -> Value {
    Value::Array(
        subjects
            .into_iter()
            .map(|s| {
                let mut o = Map::new();
                put(&mut o, "kind", s.kind);
                put(&mut o, "apiGroup", s.api_group);
                put(&mut o, "name", s.name);
                put(&mut o, "namespace", s.namespace);
                Value::Object(o)
            })
            .collect(),
    )
}

fn role_ref(r: Option<rbac::RoleRef>) -> Value {
    let r = r.unwrap_or_default();
    let mut o = Map::new();
    put(&mut o, "apiGroup", r.api_group);
    put(&mut o, "kind", r.kind);
    put(&mut o, "name", r.name);
    Value::Object(o)
}

/// Decodes one of the four RBAC kinds.
pub(super) fn to_json(kind: &str, raw: &[u8]) -> Result<Value, ApiError> {
    Ok(match kind {
        "Role" => {
            let r: rbac::Role = decode(raw, kind)?;
            json!({"metadata": object_meta(r.metadata), "rules": rules(r.rules)})
        }
        "ClusterRole" => {
            let r: rbac::ClusterRole = decode(raw, kind)?;
            let mut o = json!({"metadata": object_meta(r.metadata), "rules": rules(r.rules)});
            if let Some(a) = r.aggregation_rule {
                let selectors: Vec<Value> = a
                    .cluster_role_selectors
                    .into_iter()
                    .filter_map(|s| label_selector(Some(s)))
                    .collect();
                o["aggregationRule"] = json!({"clusterRoleSelectors": selectors});
            }
            o
        }
        "RoleBinding" => {
            let b: rbac::RoleBinding = decode(raw, kind)?;
            json!({"metadata": object_meta(b.metadata), "subjects": subjects(b.subjects),
                   "roleRef": role_ref(b.role_ref)})
        }
        _ => {
            let b: rbac::ClusterRoleBinding = decode(raw, kind)?;
            json!({"metadata": object_meta(b.metadata), "subjects": subjects(b.subjects),
                   "roleRef": role_ref(b.role_ref)})
        }
    })
}
