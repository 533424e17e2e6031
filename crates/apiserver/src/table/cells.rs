//! The cells of one Table row, per kind.

use serde_json::{Value, json};

use crate::kinds::KindInfo;
use crate::meta::{self, age, str_at};

fn i(v: &Value, p: &str) -> i64 {
    v.pointer(p).and_then(Value::as_i64).unwrap_or(0)
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
    let statuses = p
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array);
    for cs in statuses.into_iter().flatten() {
        if let Some(r) = cs.pointer("/state/waiting/reason").and_then(Value::as_str) {
            return r.into();
        }
        if let Some(r) = cs
            .pointer("/state/terminated/reason")
            .and_then(Value::as_str)
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

pub(super) fn cells(info: &KindInfo, o: &Value) -> Vec<Value> {
    let name = meta::name(o);
    let created = str_at(o, &["metadata", "creationTimestamp"]);
    let a = age(created);
    match (info.group, info.plural) {
        ("", "pods") => {
            let total = o
                .pointer("/spec/containers")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            let statuses = o
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array);
            let ready = statuses
                .into_iter()
                .flatten()
                .filter(|c| c.get("ready") == Some(&json!(true)))
                .count();
            let restarts: i64 = statuses
                .into_iter()
                .flatten()
                .map(|c| i(c, "/restartCount"))
                .sum();
            vec![
                json!(name),
                json!(format!("{ready}/{total}")),
                json!(pod_status(o)),
                json!(restarts.to_string()),
                json!(a),
                json!(or_none(str_at(o, &["status", "podIP"]))),
                json!(or_none(str_at(o, &["spec", "nodeName"]))),
                json!("<none>"),
                json!("<none>"),
            ]
        }
        ("apps", "deployments") => {
            let (c, im) = containers_images(o.pointer("/spec/template/spec"));
            vec![
                json!(name),
                json!(format!(
                    "{}/{}",
                    i(o, "/status/readyReplicas"),
                    i(o, "/spec/replicas")
                )),
                json!(i(o, "/status/updatedReplicas")),
                json!(i(o, "/status/availableReplicas")),
                json!(a),
                json!(c),
                json!(im),
                json!(selector_string(o.pointer("/spec/selector"))),
            ]
        }
        ("apps", "replicasets") => {
            let (c, im) = containers_images(o.pointer("/spec/template/spec"));
            vec![
                json!(name),
                json!(i(o, "/spec/replicas")),
                json!(i(o, "/status/replicas")),
                json!(i(o, "/status/readyReplicas")),
                json!(a),
                json!(c),
                json!(im),
                json!(selector_string(o.pointer("/spec/selector"))),
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
                short_modes(o.pointer("/status/accessModes"))
            } else {
                String::new()
            };
            vec![
                json!(name),
                json!(str_at(o, &["status", "phase"])),
                json!(str_at(o, &["spec", "volumeName"])),
                json!(cap),
                json!(modes),
                json!(or_none(str_at(o, &["spec", "storageClassName"]))),
                json!("<unset>"),
                json!(a),
                json!(str_at(o, &["spec", "volumeMode"])),
            ]
        }
        ("", "persistentvolumes") => {
            let claim = match o.pointer("/spec/claimRef") {
                Some(c) => format!("{}/{}", str_at(c, &["namespace"]), str_at(c, &["name"])),
                None => String::new(),
            };
            vec![
                json!(name),
                json!(str_at(o, &["spec", "capacity", "storage"])),
                json!(short_modes(o.pointer("/spec/accessModes"))),
                json!(str_at(o, &["spec", "persistentVolumeReclaimPolicy"])),
                json!(str_at(o, &["status", "phase"])),
                json!(claim),
                json!(str_at(o, &["spec", "storageClassName"])),
                json!("<unset>"),
                json!(str_at(o, &["status", "reason"])),
                json!(a),
                json!(str_at(o, &["spec", "volumeMode"])),
            ]
        }
        ("", "services") => {
            let ports: Vec<String> = o
                .pointer("/spec/ports")
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
                json!(name),
                json!(str_at(o, &["spec", "type"])),
                json!(or_none(str_at(o, &["spec", "clusterIP"]))),
                json!("<none>"),
                json!(if ports.is_empty() {
                    "<none>".to_string()
                } else {
                    ports.join(",")
                }),
                json!(a),
                json!(selector_string(o.pointer("/spec/selector"))),
            ]
        }
        ("", "namespaces") => vec![
            json!(name),
            json!(str_at(o, &["status", "phase"])),
            json!(a),
        ],
        ("", "nodes") => {
            let ready = o
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|c| str_at(c, &["type"]) == "Ready" && str_at(c, &["status"]) == "True");
            let ip = o
                .pointer("/status/addresses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|a| str_at(a, &["type"]) == "InternalIP")
                .map(|a| str_at(a, &["address"]))
                .unwrap_or("");
            vec![
                json!(name),
                json!(if ready { "Ready" } else { "NotReady" }),
                json!("<none>"),
                json!(a),
                json!(str_at(o, &["status", "nodeInfo", "kubeletVersion"])),
                json!(or_none(ip)),
                json!("<none>"),
                json!(str_at(o, &["status", "nodeInfo", "osImage"])),
                json!(str_at(o, &["status", "nodeInfo", "kernelVersion"])),
                json!(str_at(
                    o,
                    &["status", "nodeInfo", "containerRuntimeVersion"]
                )),
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
                json!(age(last)),
                json!(str_at(o, &["type"])),
                json!(str_at(o, &["reason"])),
                json!(obj),
                json!(str_at(o, &["message"])),
            ]
        }
        ("", "serviceaccounts") => vec![
            json!(name),
            json!(
                o.get("secrets")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len)
            ),
            json!(a),
        ],
        ("", "configmaps") => {
            let n = o
                .get("data")
                .and_then(Value::as_object)
                .map_or(0, |m| m.len())
                + o.get("binaryData")
                    .and_then(Value::as_object)
                    .map_or(0, |m| m.len());
            vec![json!(name), json!(n), json!(a)]
        }
        ("", "secrets") => vec![
            json!(name),
            json!(str_at(o, &["type"])),
            json!(
                o.get("data")
                    .and_then(Value::as_object)
                    .map_or(0, |m| m.len())
            ),
            json!(a),
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
                json!(name),
                json!(if eps.is_empty() {
                    "<none>".to_string()
                } else {
                    eps.join(",")
                }),
                json!(a),
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
                json!(shown),
                json!(str_at(o, &["provisioner"])),
                json!(str_at(o, &["reclaimPolicy"])),
                json!(str_at(o, &["volumeBindingMode"])),
                json!(
                    o.get("allowVolumeExpansion")
                        .and_then(Value::as_bool)
                        .unwrap_or(false)
                        .to_string()
                ),
                json!(a),
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
                json!(name),
                json!(role),
                json!(a),
                json!(of("User")),
                json!(of("Group")),
                json!(of("ServiceAccount")),
            ]
        }
        ("rbac.authorization.k8s.io", _) => vec![json!(name), json!(created)],
        _ => vec![json!(name), json!(a)],
    }
}
