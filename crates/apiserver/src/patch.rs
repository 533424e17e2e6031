//! PATCH bodies: JSON patch (RFC 6902), JSON merge patch (RFC 7386), strategic merge patch with
//! the merge keys of the built-in kinds, and server-side apply (merge plus managedFields).

use serde_json::{Map, Value, json};

use crate::status::ApiError;

/// The patch flavours, chosen by the request Content-Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    /// `application/json-patch+json`
    Json,
    /// `application/merge-patch+json`
    Merge,
    /// `application/strategic-merge-patch+json`
    Strategic,
    /// `application/apply-patch+yaml` (server-side apply)
    Apply,
}

impl PatchKind {
    /// From a Content-Type header value.
    pub fn from_content_type(ct: &str) -> Option<Self> {
        let base = ct.split(';').next().unwrap_or("").trim();
        match base {
            "application/json-patch+json" => Some(PatchKind::Json),
            "application/merge-patch+json" => Some(PatchKind::Merge),
            "application/strategic-merge-patch+json" => Some(PatchKind::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+json" => {
                Some(PatchKind::Apply)
            }
            _ => None,
        }
    }
}

/// Applies a parsed patch to `target`.
pub fn apply_patch(target: &mut Value, kind: PatchKind, patch: &Value) -> Result<(), ApiError> {
    match kind {
        PatchKind::Json => {
            let ops: json_patch::Patch = serde_json::from_value(patch.clone())
                .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
            json_patch::patch(target, &ops).map_err(|e| {
                ApiError::new_unprocessable(format!(
                    "the server rejected our request due to an error in our request: {e}"
                ))
            })
        }
        PatchKind::Merge => {
            if !patch.is_object() {
                return Err(ApiError::bad_request("a merge patch must be a JSON object"));
            }
            json_patch::merge(target, patch);
            Ok(())
        }
        PatchKind::Strategic | PatchKind::Apply => {
            if !patch.is_object() {
                return Err(ApiError::bad_request(
                    "a strategic merge patch must be a JSON object",
                ));
            }
            strategic_merge(target, patch, "");
            Ok(())
        }
    }
}

impl ApiError {
    /// 422 for a patch that cannot be applied.
    pub fn new_unprocessable(message: String) -> Self {
        ApiError {
            code: 422,
            reason: "Invalid",
            message,
            details: json!({}),
        }
    }
}

/// The merge key of a list field, by field name (and, for `ports`, by content).
pub(crate) fn merge_key(field: &str, sample: &[&Value]) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "resourceClaims" => "name",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "conditions" => "type",
        "ownerReferences" => "uid",
        "hostAliases" => "ip",
        "topologySpreadConstraints" => "topologyKey",
        "ports" => {
            if sample.iter().any(|v| v.get("containerPort").is_some()) {
                "containerPort"
            } else {
                "port"
            }
        }
        _ => return None,
    })
}

/// Primitive lists that strategic merge unions instead of replacing.
fn merges_primitives(field: &str) -> bool {
    field == "finalizers"
}

fn strip_directives(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), strip_directives(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_directives).collect()),
        other => other.clone(),
    }
}

/// Strategic merge of `patch` into `target`. `field` is the name of the field being merged.
pub fn strategic_merge(target: &mut Value, patch: &Value, field: &str) {
    let Value::Object(pm) = patch else {
        *target = patch.clone();
        return;
    };
    if pm.get("$patch").and_then(Value::as_str) == Some("replace") {
        *target = strip_directives(patch);
        return;
    }
    if !target.is_object() {
        *target = json!({});
    }
    let _ = field;
    let Value::Object(tm) = target else { return };
    for (k, v) in pm {
        if let Some(list_field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(items)), Some(remove)) =
                (tm.get_mut(list_field), v.as_array())
            {
                items.retain(|i| !remove.contains(i));
            }
            continue;
        }
        if k.starts_with('$') {
            continue;
        }
        match v {
            Value::Null => {
                tm.remove(k);
            }
            Value::Object(_) => {
                let slot = tm.entry(k.clone()).or_insert(Value::Null);
                if v.get("$patch").and_then(Value::as_str) == Some("delete") {
                    *slot = Value::Null;
                    tm.remove(k);
                } else {
                    strategic_merge(slot, v, k);
                }
            }
            Value::Array(items) => merge_list(tm, k, items),
            other => {
                tm.insert(k.clone(), other.clone());
            }
        }
    }
    for (k, v) in pm {
        if let Some(list_field) = k.strip_prefix("$setElementOrder/")
            && let Some(order) = v.as_array()
        {
            reorder(tm, list_field, order);
        }
    }
    if let Some(keep) = pm.get("$retainKeys").and_then(Value::as_array) {
        let keep: Vec<&str> = keep.iter().filter_map(Value::as_str).collect();
        tm.retain(|k, _| keep.contains(&k.as_str()));
    }
}

fn merge_list(tm: &mut Map<String, Value>, field: &str, items: &[Value]) {
    let existing: Vec<Value> = tm
        .get(field)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if items
        .iter()
        .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        let kept = items
            .iter()
            .filter(|i| i.get("$patch").is_none())
            .map(strip_directives)
            .collect();
        tm.insert(field.into(), Value::Array(kept));
        return;
    }
    if merges_primitives(field) && items.iter().all(|i| !i.is_object()) {
        let mut out = existing;
        for i in items {
            if !out.contains(i) {
                out.push(i.clone());
            }
        }
        tm.insert(field.into(), Value::Array(out));
        return;
    }
    let sample: Vec<&Value> = items.iter().chain(existing.iter()).collect();
    let Some(key) = merge_key(field, &sample).filter(|_| items.iter().all(Value::is_object)) else {
        tm.insert(
            field.into(),
            strip_directives(&Value::Array(items.to_vec())),
        );
        return;
    };
    let mut out = existing;
    for item in items {
        let id = item.get(key).cloned().unwrap_or(Value::Null);
        let pos = out.iter().position(|o| o.get(key) == Some(&id));
        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
        match (pos, delete) {
            (Some(p), true) => {
                out.remove(p);
            }
            (None, true) => {}
            (Some(p), false) => strategic_merge(&mut out[p], item, field),
            (None, false) => out.push(strip_directives(item)),
        }
    }
    tm.insert(field.into(), Value::Array(out));
}

fn reorder(tm: &mut Map<String, Value>, field: &str, order: &[Value]) {
    let Some(Value::Array(items)) = tm.get_mut(field) else {
        return;
    };
    let sample: Vec<&Value> = order.iter().collect();
    let Some(key) = merge_key(field, &sample) else {
        return;
    };
    let rank = |v: &Value| {
        order
            .iter()
            .position(|o| o.get(key).is_some() && o.get(key) == v.get(key))
            .unwrap_or(usize::MAX)
    };
    items.sort_by_key(rank);
}

/// The `fieldsV1` set of an object: every field it sets, keyed the way managedFields does.
pub fn fields_v1(v: &Value) -> Value {
    fn walk(v: &Value, field: &str) -> Value {
        match v {
            Value::Object(m) => {
                let mut out = Map::new();
                for (k, child) in m {
                    out.insert(format!("f:{k}"), walk(child, k));
                }
                Value::Object(out)
            }
            Value::Array(items) => {
                let sample: Vec<&Value> = items.iter().collect();
                match merge_key(field, &sample) {
                    Some(key) if items.iter().all(Value::is_object) => {
                        let mut out = Map::new();
                        for item in items {
                            let id = json!({key: item.get(key).cloned().unwrap_or(Value::Null)});
                            let mut inner = walk(item, "");
                            if let Value::Object(m) = &mut inner {
                                m.insert(".".into(), json!({}));
                            }
                            out.insert(format!("k:{id}"), inner);
                        }
                        Value::Object(out)
                    }
                    _ => json!({}),
                }
            }
            _ => json!({}),
        }
    }
    let mut clean = v.clone();
    if let Some(m) = clean.as_object_mut() {
        m.remove("apiVersion");
        m.remove("kind");
        m.remove("status");
        if let Some(meta) = m.get_mut("metadata").and_then(Value::as_object_mut) {
            for k in [
                "name",
                "namespace",
                "uid",
                "resourceVersion",
                "generation",
                "creationTimestamp",
                "managedFields",
                "selfLink",
            ] {
                meta.remove(k);
            }
            if meta.is_empty() {
                m.remove("metadata");
            }
        }
    }
    walk(&clean, "")
}

/// Records a write by `manager` in `metadata.managedFields`.
pub fn record_manager(obj: &mut Value, manager: &str, operation: &str, touched: &Value, sub: &str) {
    let api_version = obj
        .get("apiVersion")
        .cloned()
        .unwrap_or_else(|| json!("v1"));
    let fields = fields_v1(touched);
    let list = crate::meta::obj_mut(obj, &["metadata"])
        .entry("managedFields")
        .or_insert_with(|| json!([]));
    if !list.is_array() {
        *list = json!([]);
    }
    let Value::Array(entries) = list else { return };
    entries.retain(|e| {
        !(e.get("manager").and_then(Value::as_str) == Some(manager)
            && e.get("operation").and_then(Value::as_str) == Some(operation)
            && e.get("subresource").and_then(Value::as_str).unwrap_or("") == sub)
    });
    let mut entry = json!({
        "manager": manager,
        "operation": operation,
        "apiVersion": api_version,
        "time": crate::meta::now(),
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
    });
    if !sub.is_empty() {
        entry["subresource"] = json!(sub);
    }
    entries.push(entry);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_merge_by_name_and_keep_env() {
        let mut live = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "runner", "image": "a:1", "env": [{"name": "X", "value": "1"}]}
        ]}}}});
        let patch = json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "runner"}],
            "containers": [{"name": "runner", "image": "a:2"}]}}}});
        apply_patch(&mut live, PatchKind::Strategic, &patch).unwrap();
        let c = &live["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["image"], "a:2");
        assert_eq!(c["env"][0]["name"], "X");
    }

    #[test]
    fn delete_directive_removes_item() {
        let mut live = json!({"env": [{"name": "A"}, {"name": "B"}]});
        let patch = json!({"env": [{"name": "A", "$patch": "delete"}]});
        strategic_merge(&mut live, &patch, "");
        assert_eq!(live, json!({"env": [{"name": "B"}]}));
    }

    #[test]
    fn unkeyed_lists_are_replaced() {
        let mut live = json!({"args": ["a", "b"]});
        strategic_merge(&mut live, &json!({"args": ["c"]}), "");
        assert_eq!(live, json!({"args": ["c"]}));
    }
}
