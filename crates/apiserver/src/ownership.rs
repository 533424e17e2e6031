//! Field ownership for server-side apply: which fields another manager owns that an apply would
//! change (a 409 `Apply failed with N conflict(s)` unless `force=true`), and, when forced, taking
//! those fields away from their former managers.
//!
//! Paths are walked in `fieldsV1` form (`f:<field>`, `k:{"<merge key>":<value>}` for keyed list
//! items), as [`crate::patch::fields_v1`] writes them.

use serde_json::{Map, Value};

/// One step of a field path.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    /// `f:<name>`: a field of an object.
    Field(String),
    /// `k:{…}`: the list item whose fields equal these.
    Item(Map<String, Value>),
}

/// A field an apply would change although another manager owns it.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    /// The owning manager.
    pub manager: String,
    /// The apiVersion it wrote with.
    pub api_version: String,
    /// The field, as the real server prints it (`.spec.replicas`,
    /// `.spec.template.spec.containers[name="web"].image`).
    pub field: String,
}

/// Every leaf path of a fieldsV1 set.
fn leaves(fields: &Value, path: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    let Some(m) = fields.as_object() else { return };
    let children: Vec<(&String, &Value)> = m.iter().filter(|(k, _)| *k != ".").collect();
    if children.is_empty() {
        out.push(path.clone());
        return;
    }
    for (key, child) in children {
        let step = if let Some(name) = key.strip_prefix("f:") {
            Step::Field(name.to_string())
        } else if let Some(id) = key.strip_prefix("k:") {
            match serde_json::from_str::<Value>(id) {
                Ok(Value::Object(id)) => Step::Item(id),
                _ => continue,
            }
        } else {
            continue;
        };
        path.push(step);
        leaves(child, path, out);
        path.pop();
    }
}

fn fields_key(step: &Step) -> String {
    match step {
        Step::Field(name) => format!("f:{name}"),
        Step::Item(id) => format!("k:{}", Value::Object(id.clone())),
    }
}

/// The value an object holds at a path.
fn value_at<'a>(obj: &'a Value, path: &[Step]) -> Option<&'a Value> {
    let mut cur = obj;
    for step in path {
        cur = match step {
            Step::Field(name) => cur.get(name)?,
            Step::Item(id) => cur
                .as_array()?
                .iter()
                .find(|item| id.iter().all(|(k, v)| item.get(k) == Some(v)))?,
        };
    }
    Some(cur)
}

/// Whether a manager's fieldsV1 owns the path (the field itself or an enclosing leaf).
fn owns(fields: &Value, path: &[Step]) -> bool {
    let mut cur = fields;
    for step in path {
        match cur.get(fields_key(step)) {
            Some(next) => cur = next,
            None => return false,
        }
    }
    true
}

/// Removes the path from a fieldsV1 set (and parents left empty).
fn disown(fields: &mut Value, path: &[Step]) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let key = fields_key(first);
    let Some(m) = fields.as_object_mut() else {
        return;
    };
    if rest.is_empty() {
        m.remove(&key);
        return;
    }
    if let Some(child) = m.get_mut(&key) {
        disown(child, rest);
        if child
            .as_object()
            .is_some_and(|c| c.keys().all(|k| k == "."))
        {
            m.remove(&key);
        }
    }
}

fn display(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Field(name) => {
                out.push('.');
                out.push_str(name);
            }
            Step::Item(id) => {
                let keys: Vec<String> = id.iter().map(|(k, v)| format!("{k}={v}")).collect();
                out.push_str(&format!("[{}]", keys.join(",")));
            }
        }
    }
    out
}

fn managers(live: &Value) -> impl Iterator<Item = &Value> {
    live.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn str_of<'a>(entry: &'a Value, key: &str) -> &'a str {
    entry.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The (manager entry index, path) pairs an apply would change although another manager owns
/// them. Status entries never conflict with the main resource.
fn contested(
    live: &Value,
    applied: &Value,
    applied_fields: &Value,
    applier: &str,
) -> Vec<(usize, Vec<Step>)> {
    let mut paths = Vec::new();
    leaves(applied_fields, &mut Vec::new(), &mut paths);
    let mut found = Vec::new();
    for path in paths {
        let Some(current) = value_at(live, &path) else {
            continue;
        };
        if value_at(applied, &path) == Some(current) {
            continue;
        }
        for (index, entry) in managers(live).enumerate() {
            if str_of(entry, "manager") == applier || !str_of(entry, "subresource").is_empty() {
                continue;
            }
            if entry.get("fieldsV1").is_some_and(|f| owns(f, &path)) {
                found.push((index, path.clone()));
            }
        }
    }
    found
}

/// The fields `applied` (whose field set is `applied_fields`) would change on `live` although a
/// manager other than `applier` owns them.
pub fn conflicts(
    live: &Value,
    applied: &Value,
    applied_fields: &Value,
    applier: &str,
) -> Vec<Conflict> {
    let entries: Vec<&Value> = managers(live).collect();
    contested(live, applied, applied_fields, applier)
        .into_iter()
        .map(|(index, path)| Conflict {
            manager: str_of(entries[index], "manager").to_string(),
            api_version: str_of(entries[index], "apiVersion").to_string(),
            field: display(&path),
        })
        .collect()
}

/// A forced apply: the contested fields leave their former managers (fields with equal values
/// stay shared, as on the real server); managers left with nothing are dropped.
pub fn take_over(obj: &mut Value, applied: &Value, applied_fields: &Value, applier: &str) {
    let contested = contested(obj, applied, applied_fields, applier);
    let Some(Value::Array(entries)) = obj.pointer_mut("/metadata/managedFields") else {
        return;
    };
    for (index, path) in &contested {
        if let Some(fields) = entries.get_mut(*index).and_then(|e| e.get_mut("fieldsV1")) {
            disown(fields, path);
        }
    }
    entries.retain(|e| {
        e.get("fieldsV1")
            .and_then(Value::as_object)
            .is_none_or(|m| !m.is_empty())
    });
}

/// The message the real server gives (kubectl adds its advice about `--force-conflicts`).
pub fn message(conflicts: &[Conflict]) -> String {
    let n = conflicts.len();
    if let [one] = conflicts {
        return format!(
            "Apply failed with 1 conflict: conflict with \"{}\" using {}: {}",
            one.manager, one.api_version, one.field
        );
    }
    let mut out = format!("Apply failed with {n} conflicts: ");
    let mut by_manager: Vec<(&str, &str, Vec<&str>)> = Vec::new();
    for c in conflicts {
        match by_manager
            .iter_mut()
            .find(|(m, v, _)| *m == c.manager && *v == c.api_version)
        {
            Some((_, _, fields)) => fields.push(&c.field),
            None => by_manager.push((&c.manager, &c.api_version, vec![&c.field])),
        }
    }
    let parts: Vec<String> = by_manager
        .iter()
        .map(|(m, v, fields)| {
            let list: Vec<String> = fields.iter().map(|f| format!("- {f}")).collect();
            format!("conflicts with \"{m}\" using {v}:\n{}", list.join("\n"))
        })
        .collect();
    out.push_str(&parts.join("\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patch::fields_v1;
    use serde_json::json;

    fn live() -> Value {
        let spec = json!({"replicas": 1, "template": {"spec": {"containers": [{"name": "web", "image": "nginx:1"}]}}});
        let csa = fields_v1(&json!({"spec": spec}));
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "managedFields": [
            {"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "apps/v1", "fieldsType": "FieldsV1", "fieldsV1": csa}
        ]}, "spec": spec})
    }

    #[test]
    fn a_changed_value_owned_by_another_manager_conflicts() {
        let applied = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}}});
        let found = conflicts(&live(), &applied, &fields_v1(&applied), "kubectl");
        let fields: Vec<&str> = found.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                ".spec.replicas",
                ".spec.template.spec.containers[name=\"web\"].image"
            ]
        );
        assert!(message(&found).starts_with("Apply failed with 2 conflicts: conflicts with \"kubectl-client-side-apply\" using apps/v1:\n- .spec.replicas"));
        assert_eq!(
            message(&found[..1]),
            "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using apps/v1: .spec.replicas"
        );
    }

    #[test]
    fn equal_values_and_own_fields_do_not_conflict() {
        let applied = json!({"spec": {"replicas": 1}});
        assert!(conflicts(&live(), &applied, &fields_v1(&applied), "kubectl").is_empty());
        let changed = json!({"spec": {"replicas": 2}});
        assert!(
            conflicts(
                &live(),
                &changed,
                &fields_v1(&changed),
                "kubectl-client-side-apply"
            )
            .is_empty()
        );
    }

    #[test]
    fn forcing_takes_the_fields_from_their_former_manager() {
        let mut obj = live();
        // replicas changes, the image stays: only replicas changes hands.
        let applied = json!({"spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "web", "image": "nginx:1"}]}}}});
        take_over(&mut obj, &applied, &fields_v1(&applied), "kubectl");
        let csa = &obj["metadata"]["managedFields"][0]["fieldsV1"];
        assert!(csa["f:spec"].get("f:replicas").is_none(), "{csa}");
        assert!(csa["f:spec"].get("f:template").is_some(), "{csa}");
        // A manager left with nothing is dropped.
        let mut other = obj["spec"].clone();
        other["template"]["spec"]["containers"][0]["image"] = json!("nginx:2");
        let mut csa_only = obj.clone();
        csa_only["metadata"]["managedFields"][0]["fieldsV1"] = json!({"f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}}}}}}});
        let all = json!({"spec": other});
        take_over(&mut csa_only, &all, &fields_v1(&all), "kubectl");
        assert_eq!(csa_only["metadata"]["managedFields"], json!([]));
    }
}
