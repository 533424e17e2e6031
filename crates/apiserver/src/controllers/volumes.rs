//! The PVC binder with simulated dynamic provisioners: each StorageClass of the configuration
//! provides a set of access modes; a claim it can serve gets a hostPath PersistentVolume whose
//! directory lives under `state_dir/volumes/`, a claim it can't serve stays Pending with a
//! `ProvisioningFailed` event, as a real provisioner would report.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::{Controller, events};
use crate::config::{ApiServerConfig, StorageClassSpec};
use crate::kinds;
use crate::meta::{self, str_at};
use crate::registry::{DeleteOptions, Registry, WriteOptions};
use crate::store::{Change, EventType, Stored};

/// Binds claims to provisioned volumes.
pub struct VolumeBinder {
    classes: Vec<StorageClassSpec>,
    volumes_dir: PathBuf,
    reported: std::collections::HashSet<String>,
}

impl VolumeBinder {
    /// From the server configuration.
    pub fn new(config: &ApiServerConfig) -> Self {
        VolumeBinder {
            classes: config.storage_classes.clone(),
            volumes_dir: config.state_dir.join("volumes"),
            reported: Default::default(),
        }
    }

    fn warn_once(&mut self, registry: &Registry, pvc: &Value, reason: &str, msg: &str, ty: &str) {
        let key = format!("{}/{reason}/{msg}", meta::uid(pvc));
        if self.reported.insert(key) {
            events::record(
                registry,
                pvc,
                ty,
                reason,
                msg,
                "persistentvolume-controller",
            );
        }
    }

    fn has_consumer(registry: &Registry, ns: &str, claim: &str) -> bool {
        let Some(pod_kind) = super::known(registry, "", "pods") else {
            return false;
        };
        let (pods, _) = registry.store.list(kinds::index_of(pod_kind), Some(ns));
        pods.iter().any(|p| {
            p.value
                .pointer("/spec/volumes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|v| str_at(v, &["persistentVolumeClaim", "claimName"]) == claim)
        })
    }

    fn reconcile(&mut self, registry: &Registry, pvc: &Stored) {
        let v = &pvc.value;
        if str_at(v, &["status", "phase"]) != "Pending"
            || meta::is_deleting(v)
            || !str_at(v, &["spec", "volumeName"]).is_empty()
        {
            return;
        }
        let requested = str_at(v, &["spec", "storageClassName"]);
        let class = if requested.is_empty() {
            self.classes.iter().find(|c| c.is_default).cloned()
        } else {
            self.classes.iter().find(|c| c.name == requested).cloned()
        };
        let Some(class) = class else {
            let msg = if requested.is_empty() {
                "no persistent volumes available for this claim and no storage class is set"
                    .to_string()
            } else {
                format!("storageclass.storage.k8s.io \"{requested}\" not found")
            };
            self.warn_once(registry, v, "ProvisioningFailed", &msg, "Warning");
            return;
        };
        let modes: Vec<String> = v
            .pointer("/spec/accessModes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|m| m.as_str().map(String::from))
            .collect();
        if let Some(missing) = modes.iter().find(|m| !class.access_modes.contains(m)) {
            let msg = format!(
                "failed to provision volume with StorageClass \"{}\": {} does not support access mode {missing} (supported: {})",
                class.name,
                class.provisioner,
                class.access_modes.join(", ")
            );
            self.warn_once(registry, v, "ProvisioningFailed", &msg, "Warning");
            return;
        }
        if class.volume_binding_mode == "WaitForFirstConsumer"
            && !Self::has_consumer(registry, pvc.namespace(), pvc.name())
        {
            self.warn_once(
                registry,
                v,
                "WaitForFirstConsumer",
                "waiting for first consumer to be created before binding",
                "Normal",
            );
            return;
        }
        let uid = meta::uid(v).to_string();
        let pv_name = format!("pvc-{uid}");
        let dir = self.volumes_dir.join(&pv_name);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            let msg = format!(
                "failed to provision volume with StorageClass \"{}\": creating {}: {e}",
                class.name,
                dir.display()
            );
            self.warn_once(registry, v, "ProvisioningFailed", &msg, "Warning");
            return;
        }
        let storage = v
            .pointer("/spec/resources/requests/storage")
            .cloned()
            .unwrap_or(json!("1Gi"));
        let pv_modes = class.reported_access_modes.clone().unwrap_or(modes);
        let pv = json!({
            "metadata": {"name": pv_name, "annotations": {"pv.kubernetes.io/provisioned-by": class.provisioner,
                                                          "harness.gitlab-k8s/simulated-provisioner": "true"},
                         "finalizers": ["kubernetes.io/pv-protection"]},
            "spec": {"capacity": {"storage": storage}, "accessModes": pv_modes,
                     "hostPath": {"path": dir.display().to_string(), "type": "DirectoryOrCreate"},
                     "persistentVolumeReclaimPolicy": "Delete", "storageClassName": class.name,
                     "volumeMode": str_at(v, &["spec", "volumeMode"]),
                     "claimRef": {"kind": "PersistentVolumeClaim", "apiVersion": "v1", "namespace": pvc.namespace(),
                                  "name": pvc.name(), "uid": uid, "resourceVersion": meta::str_at(v, &["metadata", "resourceVersion"])}},
        });
        let opts = WriteOptions {
            field_manager: "persistentvolume-controller".into(),
            ..Default::default()
        };
        events::record(
            registry,
            v,
            "Normal",
            "Provisioning",
            &format!(
                "External provisioner is provisioning volume for claim \"{}/{}\"",
                pvc.namespace(),
                pvc.name()
            ),
            &class.provisioner,
        );
        let Some(pv_kind) = super::known(registry, "", "persistentvolumes") else {
            return;
        };
        if let Err(e) = registry.create(pv_kind, "", pv, &opts)
            && e.code != 409
        {
            tracing::warn!(error = %e.message, "creating persistent volume");
            return;
        }
        let _ = registry
            .store
            .modify(kinds::index_of(pv_kind), "", &pv_name, |p| {
                meta::set(p, &["status", "phase"], json!("Bound"));
                Ok::<bool, ()>(true)
            });
        let Some(pvc_kind) = super::known(registry, "", "persistentvolumeclaims") else {
            return;
        };
        let modes_for_claim = json!(pv_modes);
        let r = registry.store.modify(kinds::index_of(pvc_kind), pvc.namespace(), pvc.name(), |c| {
            meta::set(c, &["spec", "volumeName"], json!(pv_name));
            let ann = meta::obj_mut(c, &["metadata", "annotations"]);
            ann.insert("pv.kubernetes.io/bind-completed".into(), json!("yes"));
            ann.insert("pv.kubernetes.io/bound-by-controller".into(), json!("yes"));
            ann.insert("volume.beta.kubernetes.io/storage-provisioner".into(), json!(class.provisioner));
            ann.insert("volume.kubernetes.io/storage-provisioner".into(), json!(class.provisioner));
            let fin = meta::obj_mut(c, &["metadata"]).entry("finalizers").or_insert_with(|| json!([]));
            if let Value::Array(f) = fin
                && !f.contains(&json!("kubernetes.io/pvc-protection"))
            {
                f.push(json!("kubernetes.io/pvc-protection"));
            }
            c["status"] = json!({"phase": "Bound", "accessModes": modes_for_claim, "capacity": {"storage": storage}});
            Ok::<bool, ()>(true)
        });
        if let Ok(Ok(stored)) = r {
            events::record(
                registry,
                &stored.value,
                "Normal",
                "ProvisioningSucceeded",
                &format!("Successfully provisioned volume {pv_name}"),
                &class.provisioner,
            );
        }
    }

    fn release(&self, registry: &Registry, pvc: &Value) {
        let pv_name = str_at(pvc, &["spec", "volumeName"]);
        if pv_name.is_empty() {
            return;
        }
        let Some(pv_kind) = super::known(registry, "", "persistentvolumes") else {
            return;
        };
        let idx = kinds::index_of(pv_kind);
        let _ = registry.store.modify(idx, "", pv_name, |p| {
            if let Some(m) = p.pointer_mut("/metadata").and_then(Value::as_object_mut) {
                m.remove("finalizers");
            }
            Ok::<bool, ()>(true)
        });
        let _ = registry.delete(pv_kind, "", pv_name, &DeleteOptions::default());
    }
}

impl Controller for VolumeBinder {
    fn on_change(&mut self, registry: &Registry, change: &Change) {
        let info = &kinds::all()[change.kind];
        match (info.group, info.kind) {
            ("", "PersistentVolumeClaim") => {
                let v = &change.object.value;
                if change.event == EventType::Deleted {
                    self.release(registry, v);
                } else if meta::is_deleting(v) {
                    let ns = change.object.namespace();
                    if !Self::has_consumer(registry, ns, change.object.name()) {
                        let _ = registry
                            .store
                            .modify(change.kind, ns, change.object.name(), |c| {
                                if let Some(Value::Array(f)) = c.pointer_mut("/metadata/finalizers")
                                {
                                    f.retain(|x| x != "kubernetes.io/pvc-protection");
                                }
                                Ok::<bool, ()>(true)
                            });
                        let _ = registry.delete(
                            info,
                            ns,
                            change.object.name(),
                            &DeleteOptions::default(),
                        );
                    }
                } else if let Some(p) =
                    registry
                        .store
                        .get(change.kind, change.object.namespace(), change.object.name())
                {
                    self.reconcile(registry, &p);
                }
            }
            ("", "Pod") if change.event == EventType::Added => {
                let claims: Vec<String> = change
                    .object
                    .value
                    .pointer("/spec/volumes")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|v| str_at(v, &["persistentVolumeClaim", "claimName"]).to_string())
                    .filter(|c| !c.is_empty())
                    .collect();
                let Some(pvc_kind) = super::known(registry, "", "persistentvolumeclaims") else {
                    return;
                };
                for c in claims {
                    if let Some(p) =
                        registry
                            .store
                            .get(kinds::index_of(pvc_kind), change.object.namespace(), &c)
                    {
                        self.reconcile(registry, &p);
                    }
                }
            }
            _ => {}
        }
    }

    fn resync(&mut self, registry: &Registry) {
        let Some(pvc_kind) = super::known(registry, "", "persistentvolumeclaims") else {
            return;
        };
        let (all, _) = registry.store.list(kinds::index_of(pvc_kind), None);
        for p in all {
            self.reconcile(registry, &p);
        }
    }
}
