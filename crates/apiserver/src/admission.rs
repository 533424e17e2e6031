//! Defaults and validation, as the real API server applies them for the kinds in scope.

use serde_json::{Value, json};

use crate::kinds::KindInfo;
use crate::meta;
use crate::status::Cause;

/// Fills in the defaults a real server adds on create and update.
pub fn apply_defaults(info: &KindInfo, obj: &mut Value) {
    match (info.group, info.kind) {
        ("", "Pod") => {
            if let Some(spec) = obj.get_mut("spec") {
                default_pod_spec(spec);
            }
            let qos = qos_class(obj);
            let status = meta::obj_mut(obj, &["status"]);
            status.entry("phase").or_insert(json!("Pending"));
            status.entry("qosClass").or_insert(json!(qos));
        }
        ("apps", "Deployment") | ("apps", "ReplicaSet") => {
            let spec = meta::obj_mut(obj, &["spec"]);
            spec.entry("replicas").or_insert(json!(1));
            if info.kind == "Deployment" {
                spec.entry("revisionHistoryLimit").or_insert(json!(10));
                spec.entry("progressDeadlineSeconds").or_insert(json!(600));
                let strategy = spec.entry("strategy").or_insert(json!({}));
                if let Some(s) = strategy.as_object_mut() {
                    let ty = s.entry("type").or_insert(json!("RollingUpdate")).clone();
                    if ty == "RollingUpdate" {
                        let ru = s.entry("rollingUpdate").or_insert(json!({}));
                        if let Some(ru) = ru.as_object_mut() {
                            ru.entry("maxSurge").or_insert(json!("25%"));
                            ru.entry("maxUnavailable").or_insert(json!("25%"));
                        }
                    }
                }
            }
            if let Some(t) = obj.pointer_mut("/spec/template/spec") {
                default_pod_spec(t);
            }
        }
        ("", "Service") => {
            let spec = meta::obj_mut(obj, &["spec"]);
            spec.entry("type").or_insert(json!("ClusterIP"));
            spec.entry("sessionAffinity").or_insert(json!("None"));
            spec.entry("ipFamilies").or_insert(json!(["IPv4"]));
            spec.entry("ipFamilyPolicy").or_insert(json!("SingleStack"));
            spec.entry("internalTrafficPolicy")
                .or_insert(json!("Cluster"));
            if let Some(Value::Array(ports)) = spec.get_mut("ports") {
                for p in ports {
                    if let Some(p) = p.as_object_mut() {
                        p.entry("protocol").or_insert(json!("TCP"));
                        let port = p.get("port").cloned().unwrap_or(Value::Null);
                        p.entry("targetPort").or_insert(port);
                    }
                }
            }
        }
        ("", "Namespace") => {
            let name = meta::name(obj).to_string();
            meta::obj_mut(obj, &["metadata", "labels"])
                .entry("kubernetes.io/metadata.name")
                .or_insert(json!(name));
            meta::obj_mut(obj, &["spec"])
                .entry("finalizers")
                .or_insert(json!(["kubernetes"]));
            meta::obj_mut(obj, &["status"])
                .entry("phase")
                .or_insert(json!("Active"));
        }
        ("", "PersistentVolumeClaim") => {
            meta::obj_mut(obj, &["spec"])
                .entry("volumeMode")
                .or_insert(json!("Filesystem"));
            meta::obj_mut(obj, &["status"])
                .entry("phase")
                .or_insert(json!("Pending"));
        }
        ("", "PersistentVolume") => {
            let spec = meta::obj_mut(obj, &["spec"]);
            spec.entry("volumeMode").or_insert(json!("Filesystem"));
            spec.entry("persistentVolumeReclaimPolicy")
                .or_insert(json!("Retain"));
            meta::obj_mut(obj, &["status"])
                .entry("phase")
                .or_insert(json!("Available"));
        }
        ("storage.k8s.io", "StorageClass") => {
            let m = obj.as_object_mut();
            if let Some(m) = m {
                m.entry("reclaimPolicy").or_insert(json!("Delete"));
                m.entry("volumeBindingMode").or_insert(json!("Immediate"));
            }
        }
        ("", "Secret") => {
            if let Some(m) = obj.as_object_mut() {
                m.entry("type").or_insert(json!("Opaque"));
            }
        }
        _ => {}
    }
}

/// Guaranteed when every container's requests equal its cpu+memory limits, BestEffort when no
/// container sets any, Burstable otherwise.
fn qos_class(pod: &Value) -> &'static str {
    let containers: Vec<&Value> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let empty = |v: Option<&Value>| v.and_then(Value::as_object).is_none_or(|m| m.is_empty());
    if containers
        .iter()
        .all(|c| empty(c.pointer("/resources/requests")) && empty(c.pointer("/resources/limits")))
    {
        return "BestEffort";
    }
    let guaranteed = containers.iter().all(|c| {
        let limits = c.pointer("/resources/limits");
        ["cpu", "memory"].iter().all(|r| {
            let l = limits.and_then(|l| l.get(*r));
            l.is_some()
                && c.pointer("/resources/requests")
                    .and_then(|q| q.get(*r))
                    .is_none_or(|q| Some(q) == l)
        })
    });
    if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

fn default_pod_spec(spec: &mut Value) {
    let Some(s) = spec.as_object_mut() else {
        return;
    };
    s.entry("restartPolicy").or_insert(json!("Always"));
    s.entry("terminationGracePeriodSeconds")
        .or_insert(json!(30));
    s.entry("dnsPolicy").or_insert(json!("ClusterFirst"));
    s.entry("securityContext").or_insert(json!({}));
    s.entry("schedulerName")
        .or_insert(json!("default-scheduler"));
    s.entry("enableServiceLinks").or_insert(json!(true));
    s.entry("preemptionPolicy")
        .or_insert(json!("PreemptLowerPriority"));
    s.entry("priority").or_insert(json!(0));
    let sa = s
        .get("serviceAccountName")
        .or_else(|| s.get("serviceAccount"))
        .cloned()
        .unwrap_or(json!("default"));
    s.entry("serviceAccountName").or_insert(sa.clone());
    s.entry("serviceAccount").or_insert(sa);
    for list in ["containers", "initContainers"] {
        if let Some(Value::Array(cs)) = s.get_mut(list) {
            for c in cs {
                let Some(c) = c.as_object_mut() else { continue };
                let image = c.get("image").and_then(Value::as_str).unwrap_or("");
                let last = image.rsplit('/').next().unwrap_or("");
                let policy = if image.contains('@') {
                    "IfNotPresent"
                } else if !last.contains(':') || last.ends_with(":latest") {
                    "Always"
                } else {
                    "IfNotPresent"
                };
                c.entry("imagePullPolicy").or_insert(json!(policy));
                c.entry("terminationMessagePath")
                    .or_insert(json!("/dev/termination-log"));
                c.entry("terminationMessagePolicy").or_insert(json!("File"));
                c.entry("resources").or_insert(json!({}));
                if let Some(Value::Array(ports)) = c.get_mut("ports") {
                    for p in ports {
                        if let Some(p) = p.as_object_mut() {
                            p.entry("protocol").or_insert(json!("TCP"));
                        }
                    }
                }
            }
        }
    }
}

fn valid_dns_subdomain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

const DNS_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

/// Validates an object; an empty list means valid.
pub fn validate(info: &KindInfo, obj: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let name = meta::name(obj);
    if name.is_empty() {
        causes.push(Cause::required("metadata.name"));
    } else if info.group == "rbac.authorization.k8s.io" {
        if name.contains('/') || name.contains('%') || name == "." || name == ".." {
            causes.push(Cause::invalid(
                "metadata.name",
                name,
                "may not contain '/' or '%'",
            ));
        }
    } else if !valid_dns_subdomain(name) && info.kind != "Event" {
        causes.push(Cause::invalid("metadata.name", name, DNS_MSG));
    }
    match (info.group, info.kind) {
        ("", "Pod") => {
            if let Some(spec) = obj.get("spec") {
                validate_pod_spec(spec, "spec", &mut causes);
            } else {
                causes.push(Cause::required("spec.containers"));
            }
        }
        ("apps", "Deployment") | ("apps", "ReplicaSet") => {
            let selector = obj.pointer("/spec/selector");
            if selector.is_none_or(|s| s.as_object().is_none_or(|m| m.is_empty())) {
                causes.push(Cause::required("spec.selector"));
            } else if let Some(sel) = selector {
                let sel = crate::selectors::LabelSelector::from_json(sel);
                let labels = obj
                    .pointer("/spec/template/metadata/labels")
                    .and_then(Value::as_object);
                if !sel.matches(labels) {
                    let shown = obj
                        .pointer("/spec/template/metadata/labels")
                        .map(label_string)
                        .unwrap_or_default();
                    causes.push(Cause::invalid(
                        "spec.template.metadata.labels",
                        &shown,
                        "`selector` does not match template `labels`",
                    ));
                }
            }
            match obj.pointer("/spec/template/spec") {
                Some(spec) => validate_pod_spec(spec, "spec.template.spec", &mut causes),
                None => causes.push(Cause::required("spec.template.spec.containers")),
            }
            if let Some(r) = obj.pointer("/spec/replicas").and_then(Value::as_i64)
                && r < 0
            {
                causes.push(Cause::invalid(
                    "spec.replicas",
                    &r.to_string(),
                    "must be greater than or equal to 0",
                ));
            }
        }
        ("", "PersistentVolumeClaim") => {
            let modes = obj.pointer("/spec/accessModes").and_then(Value::as_array);
            if modes.is_none_or(|m| m.is_empty()) {
                causes.push(Cause::required("spec.accessModes"));
            }
            for (i, m) in modes.into_iter().flatten().enumerate() {
                let m = m.as_str().unwrap_or("");
                const OK: &[&str] = &[
                    "ReadOnlyMany",
                    "ReadWriteMany",
                    "ReadWriteOnce",
                    "ReadWriteOncePod",
                ];
                if !OK.contains(&m) {
                    causes.push(Cause::unsupported(format!("spec.accessModes[{i}]"), m, OK));
                }
            }
            if obj.pointer("/spec/resources/requests/storage").is_none() {
                causes.push(Cause::required("spec.resources[storage]"));
            }
        }
        ("rbac.authorization.k8s.io", "RoleBinding")
        | ("rbac.authorization.k8s.io", "ClusterRoleBinding") => {
            validate_role_ref(info, obj, &mut causes);
        }
        ("", "ConfigMap") => {
            let size =
                value_bytes(obj.get("data"), false) + value_bytes(obj.get("binaryData"), true);
            if size > MAX_DATA_BYTES {
                causes.push(Cause::too_long("[]", MAX_DATA_BYTES));
            }
        }
        ("", "Secret") => {
            let size =
                value_bytes(obj.get("data"), true) + value_bytes(obj.get("stringData"), false);
            if size > MAX_DATA_BYTES {
                causes.push(Cause::too_long("data", MAX_DATA_BYTES));
            }
        }
        _ => {}
    }
    causes
}

/// How much data a ConfigMap or Secret may hold (the real server's 1 MiB, `MaxSecretSize`).
const MAX_DATA_BYTES: usize = 1024 * 1024;

/// The bytes of a data map's values (base64 values counted decoded).
fn value_bytes(map: Option<&Value>, base64: bool) -> usize {
    map.and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(_, v)| v.as_str())
        .map(|s| {
            if base64 {
                let padding = s.bytes().rev().take_while(|b| *b == b'=').count();
                (s.len() / 4 * 3).saturating_sub(padding)
            } else {
                s.len()
            }
        })
        .sum()
}

/// A binding's roleRef names a role of the RBAC group (a ClusterRoleBinding: a ClusterRole).
fn validate_role_ref(info: &KindInfo, obj: &Value, causes: &mut Vec<Cause>) {
    const GROUP: &str = "rbac.authorization.k8s.io";
    let group = meta::str_at(obj, &["roleRef", "apiGroup"]);
    if group != GROUP {
        causes.push(Cause::unsupported("roleRef.apiGroup", group, &[GROUP]));
    }
    let kind = meta::str_at(obj, &["roleRef", "kind"]);
    let kinds: &[&str] = if info.kind == "RoleBinding" {
        &["Role", "ClusterRole"]
    } else {
        &["ClusterRole"]
    };
    if !kinds.contains(&kind) {
        causes.push(Cause::unsupported("roleRef.kind", kind, kinds));
    }
    if meta::str_at(obj, &["roleRef", "name"]).is_empty() {
        causes.push(Cause::required("roleRef.name"));
    }
}

/// Validation of an update against the stored object: a binding's roleRef never changes.
pub fn validate_update(info: &KindInfo, old: &Value, new: &Value) -> Vec<Cause> {
    let binding = info.group == "rbac.authorization.k8s.io"
        && matches!(info.kind, "RoleBinding" | "ClusterRoleBinding");
    if !binding || old.get("roleRef") == new.get("roleRef") {
        return Vec::new();
    }
    let r = |k: &str| meta::str_at(new, &["roleRef", k]).to_string();
    vec![Cause {
        reason: "FieldValueInvalid",
        field: "roleRef".into(),
        message: format!(
            "Invalid value: rbac.RoleRef{{APIGroup:{:?}, Kind:{:?}, Name:{:?}}}: cannot change roleRef",
            r("apiGroup"),
            r("kind"),
            r("name")
        ),
    }]
}

fn label_string(v: &Value) -> String {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

fn validate_pod_spec(spec: &Value, at: &str, causes: &mut Vec<Cause>) {
    let containers = spec.get("containers").and_then(Value::as_array);
    if containers.is_none_or(|c| c.is_empty()) {
        causes.push(Cause::required(format!("{at}.containers")));
    }
    let mut seen = Vec::new();
    for (i, c) in containers.into_iter().flatten().enumerate() {
        let name = c.get("name").and_then(Value::as_str).unwrap_or("");
        if name.is_empty() {
            causes.push(Cause::required(format!("{at}.containers[{i}].name")));
        } else if seen.contains(&name) {
            causes.push(Cause {
                reason: "FieldValueDuplicate",
                field: format!("{at}.containers[{i}].name"),
                message: format!("Duplicate value: \"{name}\""),
            });
        }
        seen.push(name);
        if c.get("image")
            .and_then(Value::as_str)
            .is_none_or(|s| s.trim().is_empty())
        {
            causes.push(Cause::required(format!("{at}.containers[{i}].image")));
        }
    }
    if let Some(p) = spec.get("restartPolicy").and_then(Value::as_str) {
        const OK: &[&str] = &["Always", "OnFailure", "Never"];
        if !OK.contains(&p) {
            causes.push(Cause::unsupported(format!("{at}.restartPolicy"), p, OK));
        }
    }
}

/// Whether an update changed the part of the object that bumps `metadata.generation`.
pub fn spec_changed(old: &Value, new: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(m) = v.as_object_mut() {
            m.remove("metadata");
            m.remove("status");
            m.remove("apiVersion");
            m.remove("kind");
        }
        v
    };
    strip(old) != strip(new)
}
