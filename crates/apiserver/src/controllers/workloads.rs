//! Deployment → ReplicaSet → Pod: template hashing, rolling updates (maxSurge/maxUnavailable),
//! Recreate, replica counts, revision annotations and the Available/Progressing conditions that
//! `kubectl rollout status` and `kubectl wait` read.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Controller, events};
use crate::kinds::{self, KindInfo};
use crate::meta::{self, str_at};
use crate::registry::{Registry, WriteOptions};
use crate::store::{Change, Stored};

/// The Deployment and ReplicaSet controllers.
pub struct Workloads;

pub(super) fn pod_ready(p: &Value) -> bool {
    !meta::is_deleting(p)
        && p.pointer("/status/conditions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|c| str_at(c, &["type"]) == "Ready" && str_at(c, &["status"]) == "True")
}

pub(super) fn i(v: &Value, p: &str) -> i64 {
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

pub(super) fn owner_ref(owner: &Value, info: &KindInfo) -> Value {
    json!({"apiVersion": info.api_version(), "kind": info.kind, "name": meta::name(owner), "uid": meta::uid(owner),
           "controller": true, "blockOwnerDeletion": true})
}

/// Resolves a percentage or absolute int-or-string against `total`.
pub(super) fn scaled(v: Option<&Value>, total: i64, round_up: bool, default: &str) -> i64 {
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

pub(super) fn owned_by<'a>(
    items: &'a [std::sync::Arc<Stored>],
    uid: &str,
) -> Vec<&'a std::sync::Arc<Stored>> {
    items
        .iter()
        .filter(|o| meta::controller_uid(&o.value) == Some(uid))
        .collect()
}

impl Workloads {
    fn reconcile_deployment(&self, registry: &Registry, d: &Stored) {
        let Some(rs_kind) = super::known(registry, "apps", "replicasets") else {
            return;
        };
        let Some(dep_kind) = super::known(registry, "apps", "deployments") else {
            return;
        };
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
}

impl Controller for Workloads {
    fn on_change(&mut self, registry: &Registry, change: &Change) {
        let info = &kinds::all()[change.kind];
        let ns = change.object.namespace();
        let store = &registry.store;
        let Some(rs_kind) = super::known(registry, "apps", "replicasets") else {
            return;
        };
        let Some(dep_kind) = super::known(registry, "apps", "deployments") else {
            return;
        };
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
        let (Some(rs_kind), Some(dep_kind)) = (
            super::known(registry, "apps", "replicasets"),
            super::known(registry, "apps", "deployments"),
        ) else {
            return;
        };
        let (rss, _) = registry.store.list(kinds::index_of(rs_kind), None);
        for rs in &rss {
            self.reconcile_replicaset(registry, rs);
        }
        let (ds, _) = registry.store.list(kinds::index_of(dep_kind), None);
        for d in &ds {
            self.reconcile_deployment(registry, d);
        }
    }
}
