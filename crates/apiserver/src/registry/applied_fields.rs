//! Server-side apply's refusal of fields the kind does not declare. A real server turns every
//! apply body into a typed object first, whatever `fieldValidation` says, and answers the first
//! undeclared field with a 500 naming it the way structured-merge-diff writes paths (list items
//! by their keys: `.spec.template.spec.containers[name="c"].securityContext.fsGroup`). Helm 4
//! installs with server-side apply, so this is the message a chart with a wrong field gets.

use serde_json::Value;

use crate::kinds::{self, KindInfo, PathStep};
use crate::patch::merge_key;
use crate::status::{ApiError, ApiResult};

/// Refuses an apply body with a field `info` does not declare, as the real server does.
pub(super) fn check(info: &KindInfo, ns: &str, name: &str, body: &Value) -> ApiResult<()> {
    let Some(first) = kinds::unknown_fields(info, body).into_iter().next() else {
        return Ok(());
    };
    let namespace = body
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or(ns);
    Err(ApiError::untyped_patch(format!(
        "failed to create typed patch object ({namespace}/{name}; {}/{}, Kind={}): {}: field not declared in schema",
        info.group,
        info.version,
        info.kind,
        path_text(&first)
    )))
}

impl ApiError {
    /// The 500 without a reason a real server answers when an apply body is not a typed object.
    fn untyped_patch(message: String) -> Self {
        ApiError {
            code: 500,
            reason: "",
            message,
            details: serde_json::json!({}),
        }
    }
}

/// A path as structured-merge-diff prints it: `.a.b`, list items by their key fields
/// (`[name="c"]`, `[containerPort=80,protocol="TCP"]`) or, without keys, by index.
fn path_text(path: &[PathStep<'_>]) -> String {
    let mut out = String::new();
    let mut list_field = "";
    for step in path {
        match step {
            PathStep::Field(key) => {
                out.push('.');
                out.push_str(key);
                list_field = key;
            }
            PathStep::Item(n, item) => match item_keys(list_field, item) {
                Some(keys) => out.push_str(&format!("[{keys}]")),
                None => out.push_str(&format!("[{n}]")),
            },
        }
    }
    out
}

/// `key=value,…` of a list item, when the list is keyed.
fn item_keys(list_field: &str, item: &Value) -> Option<String> {
    let key = merge_key(list_field, &[item])?;
    let mut keys = vec![key];
    if matches!(key, "containerPort" | "port") {
        keys.push("protocol");
    }
    let parts: Vec<String> = keys
        .into_iter()
        .filter_map(|k| item.get(k).map(|v| format!("{k}={v}")))
        .collect();
    (!parts.is_empty()).then(|| parts.join(","))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn deployment() -> &'static KindInfo {
        kinds::find("apps", "v1", "deployments").unwrap()
    }

    /// What kube-apiserver 1.36 answered for this body (`kubectl apply --server-side`).
    #[test]
    fn the_first_undeclared_field_is_named_by_its_item_keys() {
        let body = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "bad", "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": "bad"}}, "template": {
                "metadata": {"labels": {"app": "bad"}},
                "spec": {"containers": [{"name": "c", "image": "x",
                    "securityContext": {"fsGroup": 1}}]}}}
        });
        let err = check(deployment(), "default", "bad", &body).unwrap_err();
        assert_eq!(err.code, 500);
        assert_eq!(
            err.to_status(),
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                   "message": "failed to create typed patch object (default/bad; apps/v1, Kind=Deployment): .spec.template.spec.containers[name=\"c\"].securityContext.fsGroup: field not declared in schema",
                   "details": {}, "code": 500})
        );
    }

    #[test]
    fn declared_fields_and_partial_bodies_pass() {
        let body = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "ok"}, "spec": {"replicas": 2}});
        check(deployment(), "default", "ok", &body).unwrap();
    }

    #[test]
    fn ports_are_named_by_port_and_protocol() {
        let path = [
            PathStep::Field("ports"),
            PathStep::Item(0, &json!({"containerPort": 80, "protocol": "TCP"})),
            PathStep::Field("bogus"),
        ];
        assert_eq!(
            path_text(&path),
            ".ports[containerPort=80,protocol=\"TCP\"].bogus"
        );
        let path = [PathStep::Field("args"), PathStep::Item(1, &json!("x"))];
        assert_eq!(path_text(&path), ".args[1]");
    }
}
