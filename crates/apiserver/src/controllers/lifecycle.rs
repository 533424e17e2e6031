//! Object lifecycle controllers: garbage collection by ownerReferences, namespace deletion, and
//! the per-namespace `default` ServiceAccount and `kube-root-ca.crt` ConfigMap.

use serde_json::json;

use super::Controller;
use crate::kinds;
use crate::meta;
use crate::registry::{DeleteOptions, Registry, WriteOptions};
use crate::store::{Change, EventType};

/// Deletes objects whose owners are all gone.
pub struct GarbageCollector;

impl GarbageCollector {
    fn collect(&self, registry: &Registry, gone_uid: Option<&str>) {
        let all = registry.store.all_objects();
        let live: std::collections::HashSet<&str> =
            all.iter().map(|(_, o)| meta::uid(&o.value)).collect();
        for (kind, obj) in &all {
            let owners = meta::owner_uids(&obj.value);
            if owners.is_empty() || gone_uid.is_some_and(|g| !owners.contains(&g)) {
                continue;
            }
            let orphaned = owners.iter().all(|o| !live.contains(o));
            if orphaned && !meta::is_deleting(&obj.value) {
                let info = &kinds::all()[*kind];
                let opts = DeleteOptions {
                    propagation_policy: Some("Background".into()),
                    ..Default::default()
                };
                let _ = registry.delete(info, obj.namespace(), obj.name(), &opts);
            }
        }
    }
}

impl Controller for GarbageCollector {
    fn on_change(&mut self, registry: &Registry, change: &Change) {
        if change.event == EventType::Deleted && kinds::all()[change.kind].kind != "Event" {
            self.collect(registry, Some(meta::uid(&change.object.value)));
        }
    }

    fn resync(&mut self, registry: &Registry) {
        self.collect(registry, None);
    }

    fn period(&self) -> std::time::Duration {
        std::time::Duration::from_secs(20)
    }
}

/// Finishes namespace deletion and seeds new namespaces.
pub struct Namespaces {
    /// The cluster CA published in every namespace as `kube-root-ca.crt`.
    pub ca_pem: String,
}

impl Namespaces {
    fn seed(&self, registry: &Registry, ns: &str) {
        let opts = WriteOptions {
            field_manager: "kube-controller-manager".into(),
            ..Default::default()
        };
        let Some(sa) = super::known(registry, "", "serviceaccounts") else {
            return;
        };
        if registry.get(sa, ns, "default").is_err() {
            let _ = registry.create(sa, ns, json!({"metadata": {"name": "default"}}), &opts);
        }
        let Some(cm) = super::known(registry, "", "configmaps") else {
            return;
        };
        if registry.get(cm, ns, "kube-root-ca.crt").is_err() {
            let _ = registry.create(cm, ns, json!({"metadata": {"name": "kube-root-ca.crt",
                "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."}},
                "data": {"ca.crt": self.ca_pem}}), &opts);
        }
    }

    fn finish_deletion(&self, registry: &Registry, ns: &str) {
        let mut remaining = 0;
        for info in kinds::all()
            .iter()
            .filter(|k| k.namespaced && !k.virtual_only)
        {
            let (items, _) = registry.store.list(kinds::index_of(info), Some(ns));
            for o in items {
                remaining += 1;
                if !meta::is_deleting(&o.value) {
                    let _ = registry.delete(info, ns, o.name(), &DeleteOptions::default());
                }
            }
        }
        if remaining == 0 {
            let Some(ns_kind) = super::known(registry, "", "namespaces") else {
                return;
            };
            let _ = registry
                .store
                .delete(kinds::index_of(ns_kind), "", ns, None);
        }
    }
}

impl Controller for Namespaces {
    fn on_change(&mut self, registry: &Registry, change: &Change) {
        let info = &kinds::all()[change.kind];
        if info.group.is_empty() && info.kind == "Namespace" {
            let name = change.object.name();
            if meta::is_deleting(&change.object.value) {
                if change.event != EventType::Deleted {
                    self.finish_deletion(registry, name);
                }
            } else if change.event == EventType::Added {
                self.seed(registry, name);
            }
        } else if change.event == EventType::Deleted && info.namespaced {
            let Some(ns_kind) = super::known(registry, "", "namespaces") else {
                return;
            };
            if let Some(ns) =
                registry
                    .store
                    .get(kinds::index_of(ns_kind), "", change.object.namespace())
                && meta::is_deleting(&ns.value)
            {
                self.finish_deletion(registry, ns.name());
            }
        }
    }

    fn resync(&mut self, registry: &Registry) {
        let Some(ns_kind) = super::known(registry, "", "namespaces") else {
            return;
        };
        let (all, _) = registry.store.list(kinds::index_of(ns_kind), None);
        for ns in all {
            if meta::is_deleting(&ns.value) {
                self.finish_deletion(registry, ns.name());
            } else {
                self.seed(registry, ns.name());
            }
        }
    }

    fn period(&self) -> std::time::Duration {
        std::time::Duration::from_secs(2)
    }
}
