//! The cells of one Table row, per kind.

use serde_json::{Value, json};

use super::Cell;
use crate::kinds::KindInfo;
use crate::meta::{self, at, str_at};

fn i(v: &Value, path: &[&str]) -> i64 {
    at(v, path).and_then(Value::as_i64).unwrap_or(0)
}

fn or_none(s: &str) -> String {
    if s.is_empty() {
        "<none>".into()
    } else {
        s.into()
    }
}

fn short_modes(v: Option<&Value>) -> String {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(|m| match m {
                    "ReadWriteOnce" => "RWO",
                    "ReadOnlyMany" => "ROX",
                    "ReadWriteMany" => "RWX",
                    "ReadWriteOncePod" => "RWOP",
                    other => other,
                })
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

fn containers_images(template_spec: Option<&Value>) -> (String, String) {
    let cs = template_spec
        .and_then(|s| s.get("containers"))
        .and_then(Value::as_array);
    let names: Vec<&str> = cs
        .into_iter()
        .flatten()
        .map(|c| str_at(c, &["name"]))
        .collect();
    let images: Vec<&str> = cs
        .into_iter()
        .flatten()
        .map(|c| str_at(c, &["image"]))
        .collect();
    (names.join(","), images.join(","))
}

fn selector_string(sel: Option<&Value>) -> String {
    let Some(sel) = sel else {
        return "<none>".into();
    };
    let mut parts: Vec<String> = sel
        .get("matchLabels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    if let Some(m) = sel.as_object()
        && !m.contains_key("matchLabels")
        && !m.contains_key("matchExpressions")
    {
        parts = m
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
            .collect();
    }
    if parts.is_empty() {
        "<none>".into()
    } else {
        parts.join(",")
    }
}

fn pod_status(p: &Value) -> String {
    if meta::is_deleting(p) {
        return "Terminating".into();
    }
    let statuses = at(p, &["status", "containerStatuses"]).and_then(Value::as_array);
    for cs in statuses.into_iter().flatten() {
        if let Some(r) = at(cs, &["state", "waiting", "reason"]).and_then(Value::as_str) {
            return r.into();
        }
        if let Some(r) = at(cs, &["state", "terminated", "reason"]).and_then(Value::as_str)
            && str_at(p, &["status", "phase"]) != "Succeeded"
        {
            return r.into();
        }
    }
    let reason = str_at(p, &["status", "reason"]);
    if !reason.is_empty() {
        return reason.into();
    }
    match str_at(p, &["status", "phase"]) {
        "Succeeded" => "Completed".into(),
        "" => "Pending".into(),
        other => other.into(),
    }
}

pub(super) fn cells(info: &KindInfo, o: &Value) -> Vec<Cell> {
    let name = meta::name(o);
    let created = str_at(o, &["metadata", "creationTimestamp"]);
    let a = Cell::since(created);
    match (info.group, info.plural) {
        ("", "pods") => {
            let total = at(o, &["spec", "containers"])
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            let statuses = at(o, &["status", "containerStatuses"]).and_then(Value::as_array);
            let ready = statuses
                .into_iter()
                .flatten()
                .filter(|c| c.get("ready") == Some(&json!(true)))
                .count();
            let restarts: i64 = statuses
                .into_iter()
                .flatten()
                .map(|c| i(c, &["restartCount"]))
                .sum();
            vec![
                Cell::from(json!(name)),
                Cell::from(json!(format!("{ready}/{total}"))),
                Cell::from(json!(pod_status(o))),
                Cell::from(json!(restarts.to_string())),
                a.clone(),
                Cell::from(json!(or_none(str_at(o, &["status", "podIP"])))),
                Cell::from(json!(or_none(str_at(o, &["spec", "nodeName"])))),
                Cell::from(json!("<none>")),
                Cell::from(json!("<none>")),
            ]
        }
        ("apps", "deployments") => {
            let (c, im) = containers_images(at(o, &["spec", "template", "spec"]));
            vec![
                Cell::from(json!(name)),
                Cell::from(json!(format!(
                    "{}/{}",
                    i(o, &["status", "readyReplicas"]),
                    i(o, &["spec", "replicas"])
                ))),
                Cell::from(json!(i(o, &["status", "updatedReplicas"]))),
                Cell::from(json!(i(o, &["status", "availableReplicas"]))),
                a.clone(),
                Cell::from(json!(c)),
                Cell::from(json!(im)),
                Cell::from(json!(selector_string(at(o, &["spec", "selector"])))),
            ]
        }
        ("apps", "replicasets") => {
            let (c, im) = containers_images(at(o, &["spec", "template", "spec"]));
            vec![
                Cell::from(json!(name)),
                Cell::from(json!(i(o, &["spec", "replicas"]))),
                Cell::from(json!(i(o, &["status", "replicas"]))),
                Cell::from(json!(i(o, &["status", "readyReplicas"]))),
                a.clone(),
                Cell::from(json!(c)),
                Cell::from(json!(im)),
                Cell::from(json!(selector_string(at(o, &["spec", "selector"])))),
            ]
        }
        ("", "persistentvolumeclaims") => {
            let bound = str_at(o, &["status", "phase"]) == "Bound";
            let cap = if bound {
                str_at(o, &["status", "capacity", "storage"])
            } else {
                ""
            };
            let modes = if bound {
                short_modes(at(o, &["status", "accessModes"]))
            } else {
                String::new()
            };
            vec![
                Cell::from(json!(name)),
                Cell::from(json!(str_at(o, &["status", "phase"]))),
                Cell::from(json!(str_at(o, &["spec", "volumeName"]))),
                Cell::from(json!(cap)),
                Cell::from(json!(modes)),
                Cell::from(json!(or_none(str_at(o, &["spec", "storageClassName"])))),
                Cell::from(json!("<unset>")),
                a.clone(),
                Cell::from(json!(str_at(o, &["spec", "volumeMode"]))),
            ]
        }
        ("", "persistentvolumes") => {
            let claim = match at(o, &["spec", "claimRef"]) {
                Some(c) => format!("{}/{}", str_at(c, &["namespace"]), str_at(c, &["name"])),
                None => String::new(),
            };
            vec![
                Cell::from(json!(name)),
                Cell::from(json!(str_at(o, &["spec", "capacity", "storage"]))),
                Cell::from(json!(short_modes(at(o, &["spec", "accessModes"])))),
                Cell::from(json!(str_at(o, &["spec", "persistentVolumeReclaimPolicy"]))),
                Cell::from(json!(str_at(o, &["status", "phase"]))),
                Cell::from(json!(claim)),
                Cell::from(json!(str_at(o, &["spec", "storageClassName"]))),
                Cell::from(json!("<unset>")),
                Cell::from(json!(str_at(o, &["status", "reason"]))),
                a.clone(),
                Cell::from(json!(str_at(o, &["spec", "volumeMode"]))),
            ]
        }
        ("", "services") => {
            let ports: Vec<String> = at(o, &["spec", "ports"])
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|p| {
                    format!(
                        "{}/{}",
                        p.get("port").map(|v| v.to_string()).unwrap_or_default(),
                        str_at(p, &["protocol"])
                    )
                })
                .collect();
            vec![
                Cell::from(json!(name)),
                Cell::from(json!(str_at(o, &["spec", "type"]))),
                Cell::from(json!(or_none(str_at(o, &["spec", "clusterIP"])))),
                Cell::from(json!("<none>")),
                Cell::from(json!(if ports.is_empty() {
                    "<none>".to_string()
                } else {
                    ports.join(",")
                })),
                a.clone(),
                Cell::from(json!(selector_string(at(o, &["spec", "selector"])))),
            ]
        }
        ("", "namespaces") => vec![
            Cell::from(json!(name)),
            Cell::from(json!(str_at(o, &["status", "phase"]))),
            a.clone(),
        ],
        ("", "nodes") => {
            let ready = at(o, &["status", "conditions"])
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|c| str_at(c, &["type"]) == "Ready" && str_at(c, &["status"]) == "True");
            let ip = at(o, &["status", "addresses"])
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|a| str_at(a, &["type"]) == "InternalIP")
                .map(|a| str_at(a, &["address"]))
                .unwrap_or("");
            vec![
                Cell::from(json!(name)),
                Cell::from(json!(if ready { "Ready" } else { "NotReady" })),
                Cell::from(json!("<none>")),
                a.clone(),
                Cell::from(json!(str_at(o, &["status", "nodeInfo", "kubeletVersion"]))),
                Cell::from(json!(or_none(ip))),
                Cell::from(json!("<none>")),
                Cell::from(json!(str_at(o, &["status", "nodeInfo", "osImage"]))),
                Cell::from(json!(str_at(o, &["status", "nodeInfo", "kernelVersion"]))),
                Cell::from(json!(str_at(
                    o,
                    &["status", "nodeInfo", "containerRuntimeVersion"]
                ))),
            ]
        }
        ("", "events") => {
            let last = [
                str_at(o, &["lastTimestamp"]),
                str_at(o, &["eventTime"]),
                created,
            ]
            .into_iter()
            .find(|s| !s.is_empty())
            .unwrap_or("");
            let obj = format!(
                "{}/{}",
                str_at(o, &["involvedObject", "kind"]).to_lowercase(),
                str_at(o, &["involvedObject", "name"])
            );
            vec![
                Cell::since(last),
                Cell::from(json!(str_at(o, &["type"]))),
                Cell::from(json!(str_at(o, &["reason"]))),
                Cell::from(json!(obj)),
                Cell::from(json!(str_at(o, &["message"]))),
            ]
        }
        ("", "serviceaccounts") => vec![
            Cell::from(json!(name)),
            Cell::from(json!(
                o.get("secrets")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len)
            )),
            a.clone(),
        ],
        ("", "configmaps") => {
            let n = o
                .get("data")
                .and_then(Value::as_object)
                .map_or(0, |m| m.len())
                + o.get("binaryData")
                    .and_then(Value::as_object)
                    .map_or(0, |m| m.len());
            vec![Cell::from(json!(name)), Cell::from(json!(n)), a.clone()]
        }
        ("", "secrets") => vec![
            Cell::from(json!(name)),
            Cell::from(json!(str_at(o, &["type"]))),
            Cell::from(json!(
                o.get("data")
                    .and_then(Value::as_object)
                    .map_or(0, |m| m.len())
            )),
            a.clone(),
        ],
        ("", "endpoints") => {
            let eps: Vec<String> = o
                .get("subsets")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .flat_map(|s| {
                    let ports: Vec<String> = s
                        .get("ports")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .map(|p| p.get("port").map(|v| v.to_string()).unwrap_or_default())
                        .collect();
                    s.get("addresses")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .flat_map(move |a| {
                            let ip = str_at(a, &["ip"]).to_string();
                            ports.clone().into_iter().map(move |p| format!("{ip}:{p}"))
                        })
                        .collect::<Vec<_>>()
                })
                .collect();
            vec![
                Cell::from(json!(name)),
                Cell::from(json!(if eps.is_empty() {
                    "<none>".to_string()
                } else {
                    eps.join(",")
                })),
                a.clone(),
            ]
        }
        ("storage.k8s.io", "storageclasses") => {
            let default = meta::at(
                o,
                &[
                    "metadata",
                    "annotations",
                    "storageclass.kubernetes.io/is-default-class",
                ],
            ) == Some(&json!("true"));
            let shown = if default {
                format!("{name} (default)")
            } else {
                name.to_string()
            };
            vec![
                Cell::from(json!(shown)),
                Cell::from(json!(str_at(o, &["provisioner"]))),
                Cell::from(json!(str_at(o, &["reclaimPolicy"]))),
                Cell::from(json!(str_at(o, &["volumeBindingMode"]))),
                Cell::from(json!(
                    o.get("allowVolumeExpansion")
                        .and_then(Value::as_bool)
                        .unwrap_or(false)
                        .to_string()
                )),
                a.clone(),
            ]
        }
        ("rbac.authorization.k8s.io", "rolebindings")
        | ("rbac.authorization.k8s.io", "clusterrolebindings") => {
            let role = format!(
                "{}/{}",
                str_at(o, &["roleRef", "kind"]),
                str_at(o, &["roleRef", "name"])
            );
            let of = |kind: &str| -> String {
                o.get("subjects")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter(|s| str_at(s, &["kind"]) == kind)
                    .map(|s| {
                        if kind == "ServiceAccount" {
                            format!("{}/{}", str_at(s, &["namespace"]), str_at(s, &["name"]))
                        } else {
                            str_at(s, &["name"]).to_string()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            vec![
                Cell::from(json!(name)),
                Cell::from(json!(role)),
                a.clone(),
                Cell::from(json!(of("User"))),
                Cell::from(json!(of("Group"))),
                Cell::from(json!(of("ServiceAccount"))),
            ]
        }
        ("rbac.authorization.k8s.io", _) => {
            vec![Cell::from(json!(name)), Cell::from(json!(created))]
        }
        _ => vec![Cell::from(json!(name)), a.clone()],
    }
}
