//! Deployment status: replica counts and the Available/Progressing conditions.

use serde_json::{Value, json};

use super::workloads::{Workloads, i, owned_by, scaled};
use crate::controllers::scheduler::set_condition;
use crate::kinds;
use crate::meta::{self, str_at};
use crate::registry::Registry;
use crate::store::Stored;

impl Workloads {
    pub(super) fn write_status(&self, registry: &Registry, d: &Stored, hash: &str) {
        let Some(rs_kind) = super::known(registry, "apps", "replicasets") else {
            return;
        };
        let Some(dep_kind) = super::known(registry, "apps", "deployments") else {
            return;
        };
        let v = &d.value;
        let (all_rs, _) = registry
            .store
            .list(kinds::index_of(rs_kind), Some(d.namespace()));
        let owned = owned_by(&all_rs, meta::uid(v));
        let sum = |p: &str| owned.iter().map(|r| i(&r.value, p)).sum::<i64>();
        let new_rs = owned
            .iter()
            .find(|r| str_at(&r.value, &["metadata", "labels", "pod-template-hash"]) == hash);
        let updated = new_rs.map_or(0, |r| i(&r.value, "/status/replicas"));
        let (replicas, ready, available) = (
            sum("/status/replicas"),
            sum("/status/readyReplicas"),
            sum("/status/availableReplicas"),
        );
        let desired = i(v, "/spec/replicas");
        let ru = v.pointer("/spec/strategy/rollingUpdate");
        let max_unavailable = if str_at(v, &["spec", "strategy", "type"]) == "Recreate" {
            0
        } else {
            scaled(
                ru.and_then(|r| r.get("maxUnavailable")),
                desired,
                false,
                "25%",
            )
        };
        let is_available = available >= desired - max_unavailable;
        let complete = updated == desired
            && replicas == desired
            && available == desired
            && new_rs.is_some_and(|r| i(&r.value, "/spec/replicas") == desired);
        let new_name = new_rs.map(|r| r.name().to_string()).unwrap_or_default();
        let revision = new_rs
            .map(|r| {
                str_at(
                    &r.value,
                    &[
                        "metadata",
                        "annotations",
                        "deployment.kubernetes.io/revision",
                    ],
                )
                .to_string()
            })
            .unwrap_or_default();
        let now = meta::now();
        let _ = registry.store.modify(kinds::index_of(dep_kind), d.namespace(), d.name(), |cur| {
            let before = cur.clone();
            if !revision.is_empty() {
                meta::obj_mut(cur, &["metadata", "annotations"]).insert("deployment.kubernetes.io/revision".into(), json!(revision));
            }
            let conditions = cur.pointer("/status/conditions").cloned();
            let mut status = json!({"observedGeneration": i(cur, "/metadata/generation"), "replicas": replicas, "updatedReplicas": updated,
                                    "readyReplicas": ready, "availableReplicas": available, "unavailableReplicas": (desired - available).max(0)});
            if let Some(c) = conditions {
                status["conditions"] = c;
            }
            for k in ["readyReplicas", "availableReplicas", "unavailableReplicas", "replicas", "updatedReplicas"] {
                if status[k] == json!(0) {
                    status.as_object_mut().map(|m| m.remove(k));
                }
            }
            cur["status"] = status;
            let (reason, msg) = if is_available {
                ("MinimumReplicasAvailable", "Deployment has minimum availability.".to_string())
            } else {
                ("MinimumReplicasUnavailable", "Deployment does not have minimum availability.".to_string())
            };
            set_condition(cur, json!({"type": "Available", "status": if is_available { "True" } else { "False" }, "reason": reason, "message": msg, "lastUpdateTime": now, "lastTransitionTime": now}));
            let (preason, pmsg) = if complete {
                ("NewReplicaSetAvailable", format!("ReplicaSet \"{new_name}\" has successfully progressed."))
            } else {
                ("ReplicaSetUpdated", format!("ReplicaSet \"{new_name}\" is progressing."))
            };
            set_condition(cur, json!({"type": "Progressing", "status": "True", "reason": preason, "message": pmsg, "lastUpdateTime": now, "lastTransitionTime": now}));
            if strip_times(&before) == strip_times(cur) {
                *cur = before;
                return Ok::<bool, ()>(false);
            }
            Ok(true)
        });
    }
}

fn strip_times(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(Value::Array(cs)) = v.pointer_mut("/status/conditions") {
        for c in cs {
            if let Some(m) = c.as_object_mut() {
                m.remove("lastUpdateTime");
                m.remove("lastTransitionTime");
            }
        }
    }
    v
}
