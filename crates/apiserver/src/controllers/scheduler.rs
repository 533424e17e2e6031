//! A simple scheduler: binds pods without `spec.nodeName` to a Ready node that satisfies the
//! pod's nodeSelector, tolerates the node's taints and has room for its resource requests.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::Controller;
use super::events;
use crate::kinds;
use crate::meta::{self, str_at};
use crate::registry::Registry;
use crate::store::{Change, EventType, Stored};

/// The scheduler state: the last failure message per pod (to avoid event spam).
#[derive(Default)]
pub struct Scheduler {
    last_failure: HashMap<String, String>,
}

fn node_ready(n: &Value) -> bool {
    n.pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| str_at(c, &["type"]) == "Ready" && str_at(c, &["status"]) == "True")
}

fn tolerates(pod: &Value, taint: &Value) -> bool {
    let effect = str_at(taint, &["effect"]);
    if effect == "PreferNoSchedule" {
        return true;
    }
    pod.pointer("/spec/tolerations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|t| {
            let key_ok = str_at(t, &["key"]).is_empty() && str_at(t, &["operator"]) == "Exists"
                || str_at(t, &["key"]) == str_at(taint, &["key"]);
            let op_ok = str_at(t, &["operator"]) == "Exists"
                || str_at(t, &["value"]) == str_at(taint, &["value"]);
            let effect_ok = str_at(t, &["effect"]).is_empty() || str_at(t, &["effect"]) == effect;
            key_ok && op_ok && effect_ok
        })
}

/// Parses a CPU quantity to millicores.
fn cpu_milli(q: &str) -> i64 {
    if let Some(m) = q.strip_suffix('m') {
        m.parse().unwrap_or(0)
    } else {
        q.parse::<f64>().map(|c| (c * 1000.0) as i64).unwrap_or(0)
    }
}

/// Parses a memory quantity to bytes.
pub fn mem_bytes(q: &str) -> i64 {
    const UNITS: &[(&str, i64)] = &[
        ("Ki", 1 << 10),
        ("Mi", 1 << 20),
        ("Gi", 1 << 30),
        ("Ti", 1 << 40),
        ("k", 1000),
        ("M", 1_000_000),
        ("G", 1_000_000_000),
        ("T", 1_000_000_000_000),
    ];
    for (suffix, mult) in UNITS {
        if let Some(n) = q.strip_suffix(suffix) {
            return n
                .parse::<f64>()
                .map(|v| (v * *mult as f64) as i64)
                .unwrap_or(0);
        }
    }
    q.parse::<f64>().map(|v| v as i64).unwrap_or(0)
}

fn requests(pod: &Value) -> (i64, i64) {
    pod.pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .fold((0, 0), |(c, m), ct| {
            (
                c + cpu_milli(str_at(ct, &["resources", "requests", "cpu"])),
                m + mem_bytes(str_at(ct, &["resources", "requests", "memory"])),
            )
        })
}

impl Scheduler {
    fn try_schedule(&mut self, registry: &Registry, pod: &Stored) {
        let p = &pod.value;
        if !str_at(p, &["spec", "nodeName"]).is_empty() || meta::is_deleting(p) {
            return;
        }
        let scheduler_name = str_at(p, &["spec", "schedulerName"]);
        if !scheduler_name.is_empty() && scheduler_name != "default-scheduler" {
            return;
        }
        let Some(node_kind) = super::known(registry, "", "nodes") else {
            return;
        };
        let Some(pod_kind) = super::known(registry, "", "pods") else {
            return;
        };
        if let Some(reason) = claim_problem(registry, pod) {
            let total = registry
                .store
                .list(kinds::index_of(node_kind), None)
                .0
                .len()
                .max(1);
            self.report_failure(registry, pod, &reason, total);
            return;
        }
        let (nodes, _) = registry.store.list(kinds::index_of(node_kind), None);
        let (all_pods, _) = registry.store.list(kinds::index_of(pod_kind), None);
        let selector = p.pointer("/spec/nodeSelector").and_then(Value::as_object);
        let (need_cpu, need_mem) = requests(p);
        let total = nodes.len();
        let (mut not_ready, mut mismatch, mut tainted, mut no_cpu, mut no_mem) = (0, 0, 0, 0, 0);
        let mut best: Option<(usize, &str)> = None;
        for n in &nodes {
            let nv = &n.value;
            if !node_ready(nv) || nv.pointer("/spec/unschedulable") == Some(&json!(true)) {
                not_ready += 1;
                continue;
            }
            let labels = meta::labels(nv);
            if let Some(sel) = selector
                && !sel
                    .iter()
                    .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
            {
                mismatch += 1;
                continue;
            }
            let taints = nv.pointer("/spec/taints").and_then(Value::as_array);
            if !taints.into_iter().flatten().all(|t| tolerates(p, t)) {
                tainted += 1;
                continue;
            }
            let on_node: Vec<&Value> = all_pods
                .iter()
                .map(|x| &x.value)
                .filter(|x| str_at(x, &["spec", "nodeName"]) == n.name())
                .collect();
            let (used_cpu, used_mem) = on_node.iter().fold((0, 0), |(c, m), x| {
                let (a, b) = requests(x);
                (c + a, m + b)
            });
            let alloc_cpu = str_at(nv, &["status", "allocatable", "cpu"]);
            let alloc_mem = str_at(nv, &["status", "allocatable", "memory"]);
            if !alloc_cpu.is_empty() && need_cpu > 0 && used_cpu + need_cpu > cpu_milli(alloc_cpu) {
                no_cpu += 1;
                continue;
            }
            if !alloc_mem.is_empty() && need_mem > 0 && used_mem + need_mem > mem_bytes(alloc_mem) {
                no_mem += 1;
                continue;
            }
            if best.is_none_or(|(count, _)| on_node.len() < count) {
                best = Some((on_node.len(), n.name()));
            }
        }
        let key = format!("{}/{}", pod.namespace(), pod.name());
        let pod_idx = kinds::index_of(pod_kind);
        match best {
            Some((_, node)) => {
                let node = node.to_string();
                let r = registry.store.modify(pod_idx, pod.namespace(), pod.name(), |v| {
                    if !str_at(v, &["spec", "nodeName"]).is_empty() {
                        return Ok::<bool, ()>(false);
                    }
                    meta::set(v, &["spec", "nodeName"], json!(node));
                    set_condition(v, json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": meta::now()}));
                    Ok(true)
                });
                self.last_failure.remove(&key);
                if let Ok(Ok(stored)) = r {
                    let msg = format!("Successfully assigned {key} to {node}");
                    events::record(
                        registry,
                        &stored.value,
                        "Normal",
                        "Scheduled",
                        &msg,
                        "default-scheduler",
                    );
                }
            }
            None => {
                let mut reasons = Vec::new();
                for (n, why) in [
                    (not_ready, "node(s) were not ready"),
                    (
                        mismatch,
                        "node(s) didn't match Pod's node affinity/selector",
                    ),
                    (tainted, "node(s) had untolerated taint(s)"),
                    (no_cpu, "Insufficient cpu"),
                    (no_mem, "Insufficient memory"),
                ] {
                    if n > 0 {
                        reasons.push(format!("{n} {why}"));
                    }
                }
                reasons.sort();
                if total == 0 {
                    self.report_failure(registry, pod, "", 0);
                } else {
                    self.report_failure(registry, pod, &reasons.join(", "), total);
                }
            }
        }
    }
}

impl Scheduler {
    /// Marks the pod Unschedulable and records `FailedScheduling` (once per distinct message).
    fn report_failure(&mut self, registry: &Registry, pod: &Stored, reasons: &str, total: usize) {
        let key = format!("{}/{}", pod.namespace(), pod.name());
        let Some(pods) = super::known(registry, "", "pods") else {
            return;
        };
        let pod_idx = kinds::index_of(pods);
        let msg = if total == 0 {
            "no nodes available to schedule pods".to_string()
        } else {
            format!(
                "0/{total} nodes are available: {reasons}. preemption: 0/{total} nodes are available: {total} Preemption is not helpful for scheduling."
            )
        };
        if self.last_failure.get(&key) == Some(&msg) {
            return;
        }
        self.last_failure.insert(key, msg.clone());
        let m2 = msg.clone();
        let _ = registry.store.modify(pod_idx, pod.namespace(), pod.name(), |v| {
            set_condition(v, json!({"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": m2, "lastProbeTime": null, "lastTransitionTime": meta::now()}));
            Ok::<bool, ()>(true)
        });
        events::record(
            registry,
            &pod.value,
            "Warning",
            "FailedScheduling",
            &msg,
            "default-scheduler",
        );
    }
}

/// A claim the pod mounts that keeps it from being scheduled: missing, or unbound while its class
/// binds immediately (WaitForFirstConsumer claims are bound for the pod by the binder).
fn claim_problem(registry: &Registry, pod: &Stored) -> Option<String> {
    let kind = |plural, group| registry.kind(group, plural).map(kinds::index_of);
    let (pvc_idx, sc_idx) = match (
        kind("persistentvolumeclaims", ""),
        kind("storageclasses", "storage.k8s.io"),
    ) {
        (Ok(pvc), Ok(sc)) => (pvc, sc),
        // Not schedulable while the scheduler cannot read claims: the event names the bug.
        (Err(e), _) | (_, Err(e)) => return Some(e.to_string()),
    };
    let claims = pod
        .value
        .pointer("/spec/volumes")
        .and_then(Value::as_array)?;
    for v in claims {
        let name = str_at(v, &["persistentVolumeClaim", "claimName"]);
        if name.is_empty() {
            continue;
        }
        let Some(pvc) = registry.store.get(pvc_idx, pod.namespace(), name) else {
            return Some(format!("persistentvolumeclaim \"{name}\" not found"));
        };
        if str_at(&pvc.value, &["status", "phase"]) == "Bound" {
            continue;
        }
        let class = str_at(&pvc.value, &["spec", "storageClassName"]);
        let wffc = registry
            .store
            .get(sc_idx, "", class)
            .is_some_and(|sc| str_at(&sc.value, &["volumeBindingMode"]) == "WaitForFirstConsumer");
        if !wffc {
            return Some("pod has unbound immediate PersistentVolumeClaims".into());
        }
    }
    None
}

/// Sets (or replaces) a condition by type in `status.conditions`.
pub fn set_condition(v: &mut Value, cond: Value) {
    let ty = str_at(&cond, &["type"]).to_string();
    let status = meta::obj_mut(v, &["status"]);
    let list = status.entry("conditions").or_insert_with(|| json!([]));
    if let Value::Array(items) = list {
        match items.iter_mut().find(|c| str_at(c, &["type"]) == ty) {
            Some(existing) => {
                if str_at(existing, &["status"]) == str_at(&cond, &["status"]) {
                    let keep = existing.get("lastTransitionTime").cloned();
                    *existing = cond;
                    if let Some(t) = keep {
                        existing["lastTransitionTime"] = t;
                    }
                } else {
                    *existing = cond;
                }
            }
            None => items.push(cond),
        }
    }
}

impl Controller for Scheduler {
    fn on_change(&mut self, registry: &Registry, change: &Change) {
        let info = &kinds::all()[change.kind];
        match (info.group, info.kind, change.event) {
            ("", "Pod", EventType::Added) | ("", "Pod", EventType::Modified) => {
                if let Some(p) =
                    registry
                        .store
                        .get(change.kind, change.object.namespace(), change.object.name())
                {
                    self.try_schedule(registry, &p);
                }
            }
            ("", "Pod", EventType::Deleted) => {
                self.last_failure.remove(&format!(
                    "{}/{}",
                    change.object.namespace(),
                    change.object.name()
                ));
            }
            ("", "Node", _) | ("", "PersistentVolumeClaim", _) => self.resync(registry),
            _ => {}
        }
    }

    fn resync(&mut self, registry: &Registry) {
        let Some(pod_kind) = super::known(registry, "", "pods") else {
            return;
        };
        let (pods, _) = registry.store.list(kinds::index_of(pod_kind), None);
        for p in pods
            .iter()
            .filter(|p| str_at(&p.value, &["spec", "nodeName"]).is_empty())
        {
            self.try_schedule(registry, p);
        }
    }
}
