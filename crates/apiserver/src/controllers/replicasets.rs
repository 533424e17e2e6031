//! The ReplicaSet half of the workload controllers: keep `spec.replicas` pods, report status.

use serde_json::{Value, json};

use super::workloads::{Workloads, i, owned_by, owner_ref, pod_ready};
use crate::controllers::events;
use crate::kinds;
use crate::meta::{self, str_at};
use crate::registry::{DeleteOptions, Registry, WriteOptions};
use crate::store::Stored;

impl Workloads {
    pub(super) fn reconcile_replicaset(&self, registry: &Registry, rs: &Stored) {
        let Some(rs_kind) = super::known(registry, "apps", "replicasets") else {
            return;
        };
        let Some(pod_kind) = super::known(registry, "", "pods") else {
            return;
        };
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
}
