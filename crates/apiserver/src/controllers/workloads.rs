//! Deployment → ReplicaSet → Pod: template hashing, rolling updates (maxSurge/maxUnavailable),
//! Recreate, replica counts, revision annotations and the Available/Progressing conditions that
//! `kubectl rollout status` and `kubectl wait` read.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::scheduler::set_condition;
use super::{Controller, events};
use crate::kinds::{self, KindInfo};
use crate::meta::{self, str_at};
use crate::registry::{DeleteOptions, Registry, WriteOptions};
use crate::store::{Change, Stored};

/// The Deployment and ReplicaSet controllers.
pub struct Workloads;

fn pod_ready(p: &Value) -> bool {
    !meta::is_deleting(p)
        && p.pointer("/status/conditions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|c| str_at(c, &["type"]) == "Ready" && str_at(c, &["status"]) == "True")
}

fn i(v: &Value, p: &str) -> i64 {
    v.pointer(p).and_then(Value::as_i64).unwrap_or(0)
}

fn template_hash(template: &Value) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let digest = Sha256::digest(template.to_string().as_bytes());
    digest
        .iter()
        .take(10)
        .map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char)
        .collect()
}

fn owner_ref(owner: &Value, info: &KindInfo) -> Value {
    json!({"apiVersion": info.api_version(), "kind": info.kind, "name": meta::name(owner), "uid": meta::uid(owner),
           "controller": true, "blockOwnerDeletion": true})
}

/// Resolves a percentage or absolute int-or-string against `total`.
fn scaled(v: Option<&Value>, total: i64, round_up: bool, default: &str) -> i64 {
    let s = match v {
        Some(Value::Number(n)) => return n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => s.clone(),
        _ => default.to_string(),
    };
    match s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) {
        Some(p) if round_up => (total * p + 99) / 100,
        Some(p) => total * p / 100,
        None => s.parse().unwrap_or(0),
    }
}

fn owned_by<'a>(items: &'a [std::sync::Arc<Stored>], uid: &str) -> Vec<&'a std::sync::Arc<Stored>> {
    items
        .iter()
        .filter(|o| meta::controller_uid(&o.value) == Some(uid))
        .collect()
}

impl Workloads {
    fn reconcile_replicaset(&self, registry: &Registry, rs: &Stored) {
        let rs_kind = registry.kind("apps", "replicasets");
        let pod_kind = registry.kind("", "pods");
        let v = &rs.value;
        if meta::is_deleting(v) {
            return;
        }
        let ns = rs.namespace();
        let (pods, _) = registry.store.list(kinds::index_of(pod_kind), Some(ns));
        let mine: Vec<_> = owned_by(&pods, meta::uid(v))
            .into_iter()
            .filter(|p| !meta::is_deleting(&p.value))
            .collect();
        let want = i(v, "/spec/replicas");
        let have = mine.len() as i64;
        if have < want {
            for _ in have..want {
                let mut tmpl = v.pointer("/spec/template").cloned().unwrap_or(json!({}));
                let md = meta::obj_mut(&mut tmpl, &["metadata"]);
                md.remove("creationTimestamp");
                md.insert("generateName".into(), json!(format!("{}-", rs.name())));
                md.insert("ownerReferences".into(), json!([owner_ref(v, rs_kind)]));
                match registry.create(
                    pod_kind,
                    ns,
                    tmpl,
                    &WriteOptions {
                        field_manager: "kube-controller-manager".into(),
                        ..Default::default()
                    },
                ) {
                    Ok(p) => events::record(
                        registry,
                        v,
                        "Normal",
                        "SuccessfulCreate",
                        &format!("Created pod: {}", p.name()),
                        "replicaset-controller",
                    ),
                    Err(e) => {
                        events::record(
                            registry,
                            v,
                            "Warning",
                            "FailedCreate",
                            &format!("Error creating: {}", e.message),
                            "replicaset-controller",
                        );
                        break;
                    }
                }
            }
        } else if have > want {
            let mut victims = mine.clone();
            victims.sort_by_key(|p| {
                (
                    pod_ready(&p.value),
                    !str_at(&p.value, &["spec", "nodeName"]).is_empty(),
                )
            });
            for p in victims.into_iter().take((have - want) as usize) {
                if registry
                    .delete(pod_kind, ns, p.name(), &DeleteOptions::default())
                    .is_ok()
                {
                    events::record(
                        registry,
                        v,
                        "Normal",
                        "SuccessfulDelete",
                        &format!("Deleted pod: {}", p.name()),
                        "replicaset-controller",
                    );
                }
            }
        }
        let (pods, _) = registry.store.list(kinds::index_of(pod_kind), Some(ns));
        let mine: Vec<_> = owned_by(&pods, meta::uid(v))
            .into_iter()
            .filter(|p| !meta::is_deleting(&p.value))
            .collect();
        let ready = mine.iter().filter(|p| pod_ready(&p.value)).count() as i64;
        let labels = v
            .pointer("/spec/template/metadata/labels")
            .and_then(Value::as_object);
        let labelled = mine
            .iter()
            .filter(|p| {
                labels.is_none_or(|l| {
                    l.iter().all(|(k, val)| {
                        meta::labels(&p.value).and_then(|pl| pl.get(k)) == Some(val)
                    })
                })
            })
            .count();
        let status = json!({"replicas": mine.len(), "fullyLabeledReplicas": labelled, "readyReplicas": ready,
                            "availableReplicas": ready, "observedGeneration": i(v, "/metadata/generation")});
        let _ = registry
            .store
            .modify(kinds::index_of(rs_kind), ns, rs.name(), |cur| {
                let mut s = status.clone();
                for k in ["readyReplicas", "availableReplicas"] {
                    if s[k] == json!(0) {
                        s.as_object_mut().map(|m| m.remove(k));
                    }
                }
                if cur.get("status") == Some(&s) {
                    return Ok::<bool, ()>(false);
                }
                cur["status"] = s;
                Ok(true)
            });
    }

    fn reconcile_deployment(&self, registry: &Registry, d: &Stored) {
        let rs_kind = registry.kind("apps", "replicasets");
        let dep_kind = registry.kind("apps", "deployments");
        let v = &d.value;
        if meta::is_deleting(v) {
            return;
        }
        let ns = d.namespace();
        let (all_rs, _) = registry.store.list(kinds::index_of(rs_kind), Some(ns));
        let owned: Vec<_> = owned_by(&all_rs, meta::uid(v));
        let template = v.pointer("/spec/template").cloned().unwrap_or(json!({}));
        let hash = template_hash(&template);
        let desired = i(v, "/spec/replicas");
        let revision = owned
            .iter()
            .filter_map(|r| {
                meta::str_at(
                    &r.value,
                    &[
                        "metadata",
                        "annotations",
                        "deployment.kubernetes.io/revision",
                    ],
                )
                .parse::<i64>()
                .ok()
            })
            .max()
            .unwrap_or(0);
        let new_rs = owned
            .iter()
            .find(|r| str_at(&r.value, &["metadata", "labels", "pod-template-hash"]) == hash)
            .map(|r| (*r).clone());
        let new_rs = match new_rs {
            Some(r) => r,
            None => {
                let mut tmpl = template.clone();
                meta::obj_mut(&mut tmpl, &["metadata", "labels"])
                    .insert("pod-template-hash".into(), json!(hash));
                let mut selector = v.pointer("/spec/selector").cloned().unwrap_or(json!({}));
                meta::obj_mut(&mut selector, &["matchLabels"])
                    .insert("pod-template-hash".into(), json!(hash));
                let mut labels = template
                    .pointer("/metadata/labels")
                    .cloned()
                    .unwrap_or(json!({}));
                meta::obj_mut(&mut labels, &[]).insert("pod-template-hash".into(), json!(hash));
                let start = if owned.is_empty() { desired } else { 0 };
                let rs = json!({"metadata": {"name": format!("{}-{hash}", d.name()), "labels": labels,
                                  "annotations": {"deployment.kubernetes.io/revision": (revision + 1).to_string(),
                                                  "deployment.kubernetes.io/desired-replicas": desired.to_string()},
                                  "ownerReferences": [owner_ref(v, dep_kind)]},
                                "spec": {"replicas": start,
                                         "selector": selector, "template": tmpl}});
                match registry.create(
                    rs_kind,
                    ns,
                    rs,
                    &WriteOptions {
                        field_manager: "kube-controller-manager".into(),
                        ..Default::default()
                    },
                ) {
                    Ok(r) => {
                        events::record(
                            registry,
                            v,
                            "Normal",
                            "ScalingReplicaSet",
                            &format!("Scaled up replica set {} from 0 to {start}", r.name()),
                            "deployment-controller",
                        );
                        r
                    }
                    Err(e) => {
                        tracing::warn!(error = %e.message, "creating replica set");
                        return;
                    }
                }
            }
        };
        let olds: Vec<_> = owned.iter().filter(|r| r.name() != new_rs.name()).collect();
        let old_total: i64 = olds.iter().map(|r| i(&r.value, "/spec/replicas")).sum();
        let old_available: i64 = olds
            .iter()
            .map(|r| i(&r.value, "/status/availableReplicas"))
            .sum();
        let new_replicas = i(&new_rs.value, "/spec/replicas");
        let new_available = i(&new_rs.value, "/status/availableReplicas");
        let recreate = str_at(v, &["spec", "strategy", "type"]) == "Recreate";
        let ru = v.pointer("/spec/strategy/rollingUpdate");
        let mut surge = scaled(ru.and_then(|r| r.get("maxSurge")), desired, true, "25%");
        let unavailable = scaled(
            ru.and_then(|r| r.get("maxUnavailable")),
            desired,
            false,
            "25%",
        );
        if surge == 0 && unavailable == 0 {
            surge = 1;
        }
        let scale = |rs: &Stored, to: i64| {
            let from = i(&rs.value, "/spec/replicas");
            if from == to {
                return;
            }
            let r = registry
                .store
                .modify(kinds::index_of(rs_kind), ns, rs.name(), |cur| {
                    cur["spec"]["replicas"] = json!(to);
                    meta::obj_mut(cur, &["metadata", "annotations"]).insert(
                        "deployment.kubernetes.io/desired-replicas".into(),
                        json!(desired.to_string()),
                    );
                    Ok::<bool, ()>(true)
                });
            if r.is_ok() {
                let dir = if to > from { "up" } else { "down" };
                events::record(
                    registry,
                    v,
                    "Normal",
                    "ScalingReplicaSet",
                    &format!("Scaled {dir} replica set {} from {from} to {to}", rs.name()),
                    "deployment-controller",
                );
            }
        };
        if recreate {
            for o in &olds {
                scale(o, 0);
            }
            let old_pods_left: i64 = olds.iter().map(|r| i(&r.value, "/status/replicas")).sum();
            if old_pods_left == 0 {
                scale(&new_rs, desired);
            }
        } else {
            let max_total = desired + surge;
            let mut new_target = new_replicas;
            if new_replicas < desired {
                let room = max_total - (old_total + new_replicas);
                if room > 0 {
                    new_target = (new_replicas + room).min(desired);
                }
            } else if new_replicas > desired {
                new_target = desired;
            }
            scale(&new_rs, new_target);
            let min_available = desired - unavailable;
            let new_unavailable = (new_target - new_available).max(0);
            let mut budget = old_total + new_target - min_available - new_unavailable;
            for o in &olds {
                if budget <= 0 {
                    break;
                }
                let cur = i(&o.value, "/spec/replicas");
                let remove = cur.min(budget);
                if remove > 0 {
                    scale(o, cur - remove);
                    budget -= remove;
                }
            }
            let _ = old_available;
        }
        self.write_status(registry, d, &hash);
    }

    fn write_status(&self, registry: &Registry, d: &Stored, hash: &str) {
        let rs_kind = registry.kind("apps", "replicasets");
        let dep_kind = registry.kind("apps", "deployments");
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

impl Controller for Workloads {
    fn on_change(&mut self, registry: &Registry, change: &Change) {
        let info = &kinds::all()[change.kind];
        let ns = change.object.namespace();
        let store = &registry.store;
        let rs_kind = registry.kind("apps", "replicasets");
        let dep_kind = registry.kind("apps", "deployments");
        let find_by_uid = |kind: &KindInfo, uid: &str| {
            store
                .list(kinds::index_of(kind), Some(ns))
                .0
                .into_iter()
                .find(|o| meta::uid(&o.value) == uid)
        };
        match (info.group, info.kind) {
            ("", "Pod") => {
                if let Some(uid) = meta::controller_uid(&change.object.value)
                    && let Some(rs) = find_by_uid(rs_kind, uid)
                {
                    self.reconcile_replicaset(registry, &rs);
                    if let Some(duid) = meta::controller_uid(&rs.value)
                        && let Some(d) = find_by_uid(dep_kind, duid)
                    {
                        self.reconcile_deployment(registry, &d);
                    }
                }
            }
            ("apps", "ReplicaSet") => {
                if let Some(rs) = store.get(change.kind, ns, change.object.name()) {
                    self.reconcile_replicaset(registry, &rs);
                }
                if let Some(duid) = meta::controller_uid(&change.object.value)
                    && let Some(d) = find_by_uid(dep_kind, duid)
                {
                    self.reconcile_deployment(registry, &d);
                }
            }
            ("apps", "Deployment") => {
                if let Some(d) = store.get(change.kind, ns, change.object.name()) {
                    self.reconcile_deployment(registry, &d);
                }
            }
            _ => {}
        }
    }

    fn resync(&mut self, registry: &Registry) {
        let (rss, _) = registry
            .store
            .list(kinds::index_of(registry.kind("apps", "replicasets")), None);
        for rs in &rss {
            self.reconcile_replicaset(registry, rs);
        }
        let (ds, _) = registry
            .store
            .list(kinds::index_of(registry.kind("apps", "deployments")), None);
        for d in &ds {
            self.reconcile_deployment(registry, d);
        }
    }
}
