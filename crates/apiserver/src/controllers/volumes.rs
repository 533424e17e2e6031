//! The PersistentVolume controller, as kube-controller-manager runs it: binds claims to volumes
//! (pre-bound ones, volumes whose `claimRef` names the claim, or available volumes that fit),
//! hands claims of other StorageClasses to their external provisioner (the
//! `volume.kubernetes.io/storage-provisioner` annotation and an `ExternalProvisioning` event),
//! and marks volumes `Released` when their claim goes.
//!
//! The StorageClasses of the server's configuration are served by simulated in-tree
//! provisioners: a claim one can serve gets a hostPath PersistentVolume under
//! `state_dir/volumes/`, a claim it can't serve stays Pending with `ProvisioningFailed`.

use std::path::PathBuf;

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::{Controller, events};
use crate::config::{ApiServerConfig, StorageClassSpec};
use crate::kinds;
use crate::meta::{self, str_at};
use crate::registry::{DeleteOptions, Registry, WriteOptions};
use crate::store::{Change, EventType, Stored};

/// Annotation of volumes a simulated in-tree provisioner made (deleted with their claim).
const SIMULATED: &str = "harness.gitlab-k8s/simulated-provisioner";

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

    /// Whether a claim of a class with binding mode `mode` waits: `WaitForFirstConsumer` and no
    /// pod uses it yet (said once, in an event, as kube-controller-manager does).
    fn waits_for_consumer(&mut self, registry: &Registry, pvc: &Stored, mode: &str) -> bool {
        let waits = mode == "WaitForFirstConsumer"
            && !Self::has_consumer(registry, pvc.namespace(), pvc.name());
        if waits {
            self.warn_once(
                registry,
                &pvc.value,
                "WaitForFirstConsumer",
                "waiting for first consumer to be created before binding",
                "Normal",
            );
        }
        waits
    }

    fn reconcile(&mut self, registry: &Registry, pvc: &Stored) {
        let v = &pvc.value;
        if str_at(v, &["status", "phase"]) != "Pending" || meta::is_deleting(v) {
            return;
        }
        let wanted = str_at(v, &["spec", "volumeName"]);
        if !wanted.is_empty() {
            self.bind_named(registry, pvc, wanted);
            return;
        }
        if let Some(pv) = Self::matching_volume(registry, v) {
            bind(registry, pvc, &pv.value);
            return;
        }
        let requested = str_at(v, &["spec", "storageClassName"]);
        let requested = match requested {
            "" => default_class(registry).unwrap_or_default(),
            name => name.to_owned(),
        };
        let Some(class) = self.classes.iter().find(|c| c.name == requested).cloned() else {
            self.external(registry, pvc, &requested);
            return;
        };
        let modes = meta::strings_at(v, &["spec", "accessModes"]);
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
        if self.waits_for_consumer(registry, pvc, &class.volume_binding_mode) {
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
                                                          SIMULATED: "true"},
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
        let modes_for_claim = json!(pv_modes);
        let r = update_claim(registry, pvc, |c| {
            meta::set(c, &["spec", "volumeName"], json!(pv_name));
            let ann = meta::obj_mut(c, &["metadata", "annotations"]);
            ann.insert("pv.kubernetes.io/bind-completed".into(), json!("yes"));
            ann.insert("pv.kubernetes.io/bound-by-controller".into(), json!("yes"));
            set_provisioner(ann, &class.provisioner);
            let fin = meta::obj_mut(c, &["metadata"])
                .entry("finalizers")
                .or_insert_with(|| json!([]));
            if let Value::Array(f) = fin
                && !f.contains(&json!("kubernetes.io/pvc-protection"))
            {
                f.push(json!("kubernetes.io/pvc-protection"));
            }
            c["status"] = json!({"phase": "Bound", "accessModes": modes_for_claim, "capacity": {"storage": storage}});
        });
        if let Some(Some(stored)) = r {
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

    /// A claim whose class no simulated provisioner serves: its class's external provisioner is
    /// asked, as kube-controller-manager does, or the claim waits for a volume by hand.
    fn external(&mut self, registry: &Registry, pvc: &Stored, class_name: &str) {
        let v = &pvc.value;
        if class_name.is_empty() {
            self.warn_once(
                registry,
                v,
                "FailedBinding",
                "no persistent volumes available for this claim and no storage class is set",
                "Normal",
            );
            return;
        }
        let Some(class_kind) = super::known(registry, "storage.k8s.io", "storageclasses") else {
            return;
        };
        let Some(class) = registry
            .store
            .get(kinds::index_of(class_kind), "", class_name)
        else {
            let msg = format!("storageclass.storage.k8s.io \"{class_name}\" not found");
            self.warn_once(registry, v, "ProvisioningFailed", &msg, "Warning");
            return;
        };
        let provisioner = str_at(&class.value, &["provisioner"]).to_owned();
        if self.waits_for_consumer(registry, pvc, str_at(&class.value, &["volumeBindingMode"])) {
            return;
        }
        let annotated = str_at(
            v,
            &[
                "metadata",
                "annotations",
                "volume.kubernetes.io/storage-provisioner",
            ],
        );
        if annotated != provisioner
            && update_claim(registry, pvc, |c| {
                set_provisioner(meta::obj_mut(c, &["metadata", "annotations"]), &provisioner);
            })
            .is_none()
        {
            return;
        }
        let msg = format!(
            "Waiting for a volume to be created either by the external provisioner '{provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered."
        );
        self.warn_once(registry, v, "ExternalProvisioning", &msg, "Normal");
    }

    /// The claim names its volume (pre-bound, or named by a provisioner): bind them unless the
    /// volume belongs to another claim.
    fn bind_named(&mut self, registry: &Registry, pvc: &Stored, volume: &str) {
        let Some(pv_kind) = super::known(registry, "", "persistentvolumes") else {
            return;
        };
        let Some(pv) = registry.store.get(kinds::index_of(pv_kind), "", volume) else {
            return;
        };
        let claim_uid = str_at(&pv.value, &["spec", "claimRef", "uid"]);
        if !claim_uid.is_empty() && claim_uid != meta::uid(&pvc.value) {
            let msg = format!("volume \"{volume}\" already bound to a different claim.");
            self.warn_once(registry, &pvc.value, "FailedBinding", &msg, "Warning");
            return;
        }
        bind(registry, pvc, &pv.value);
    }

    /// An Available volume for the claim: one whose `claimRef` names it, else one of its class
    /// with every access mode it asks for and enough capacity.
    fn matching_volume(registry: &Registry, pvc: &Value) -> Option<Arc<Stored>> {
        let pv_kind = super::known(registry, "", "persistentvolumes")?;
        let (volumes, _) = registry.store.list(kinds::index_of(pv_kind), None);
        let uid = meta::uid(pvc);
        if let Some(pv) = volumes
            .iter()
            .find(|pv| str_at(&pv.value, &["spec", "claimRef", "uid"]) == uid)
        {
            return Some(pv.clone());
        }
        let class = str_at(pvc, &["spec", "storageClassName"]);
        let modes = meta::strings_at(pvc, &["spec", "accessModes"]);
        let wanted = quantity_bytes(str_at(pvc, &["spec", "resources", "requests", "storage"]));
        volumes
            .iter()
            .filter(|pv| {
                str_at(&pv.value, &["status", "phase"]) == "Available"
                    && str_at(&pv.value, &["spec", "claimRef", "name"]).is_empty()
                    && str_at(&pv.value, &["spec", "storageClassName"]) == class
                    && modes
                        .iter()
                        .all(|m| meta::strings_at(&pv.value, &["spec", "accessModes"]).contains(m))
                    && quantity_bytes(str_at(&pv.value, &["spec", "capacity", "storage"])) >= wanted
            })
            .min_by_key(|pv| quantity_bytes(str_at(&pv.value, &["spec", "capacity", "storage"])))
            .cloned()
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
        let simulated = registry.store.get(idx, "", pv_name).is_some_and(|pv| {
            !str_at(&pv.value, &["metadata", "annotations", SIMULATED]).is_empty()
        });
        if !simulated {
            // Its provisioner (or an administrator) reclaims it, as the reclaim policy says.
            let _ = registry.store.modify(idx, "", pv_name, |p| {
                meta::set(p, &["status", "phase"], json!("Released"));
                Ok::<bool, ()>(true)
            });
            return;
        }
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
            ("", "PersistentVolume") if change.event != EventType::Deleted => {
                let v = &change.object.value;
                if str_at(v, &["status", "phase"]).is_empty() {
                    let _ = registry
                        .store
                        .modify(change.kind, "", change.object.name(), |p| {
                            meta::set(p, &["status", "phase"], json!("Available"));
                            Ok::<bool, ()>(true)
                        });
                }
                let (ns, claim) = (
                    str_at(v, &["spec", "claimRef", "namespace"]),
                    str_at(v, &["spec", "claimRef", "name"]),
                );
                let Some(pvc_kind) = super::known(registry, "", "persistentvolumeclaims") else {
                    return;
                };
                if !claim.is_empty()
                    && let Some(p) = registry.store.get(kinds::index_of(pvc_kind), ns, claim)
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

/// Binds `pvc` and `pv` to each other: the volume's `claimRef` and phase, the claim's
/// `volumeName`, annotations and status (access modes and capacity as the volume records them).
fn bind(registry: &Registry, pvc: &Stored, pv: &Value) {
    let pv_name = meta::name(pv).to_owned();
    let Some(pv_kind) = super::known(registry, "", "persistentvolumes") else {
        return;
    };
    let claim_ref = json!({"kind": "PersistentVolumeClaim", "apiVersion": "v1",
        "namespace": pvc.namespace(), "name": pvc.name(), "uid": meta::uid(&pvc.value),
        "resourceVersion": str_at(&pvc.value, &["metadata", "resourceVersion"])});
    let _ = registry
        .store
        .modify(kinds::index_of(pv_kind), "", &pv_name, |p| {
            meta::set(p, &["spec", "claimRef"], claim_ref.clone());
            meta::set(p, &["status", "phase"], json!("Bound"));
            Ok::<bool, ()>(true)
        });
    let modes = pv
        .pointer("/spec/accessModes")
        .cloned()
        .unwrap_or(json!([]));
    let capacity = pv.pointer("/spec/capacity").cloned().unwrap_or(json!({}));
    let _ = update_claim(registry, pvc, |c| {
        meta::set(c, &["spec", "volumeName"], json!(pv_name));
        let ann = meta::obj_mut(c, &["metadata", "annotations"]);
        ann.insert("pv.kubernetes.io/bind-completed".into(), json!("yes"));
        c["status"] = json!({"phase": "Bound", "accessModes": modes, "capacity": capacity});
    });
}

/// Writes `change` into the stored claim `pvc`: `None` where claims are not served, else the
/// claim as stored afterwards if the write went through.
fn update_claim(
    registry: &Registry,
    pvc: &Stored,
    change: impl FnOnce(&mut Value),
) -> Option<Option<Arc<Stored>>> {
    let pvc_kind = super::known(registry, "", "persistentvolumeclaims")?;
    let written = registry.store.modify(
        kinds::index_of(pvc_kind),
        pvc.namespace(),
        pvc.name(),
        |c| {
            change(c);
            Ok::<bool, ()>(true)
        },
    );
    Some(written.ok().and_then(Result::ok))
}

/// The StorageClass marked as the cluster's default, if any.
fn default_class(registry: &Registry) -> Option<String> {
    let kind = super::known(registry, "storage.k8s.io", "storageclasses")?;
    let (classes, _) = registry.store.list(kinds::index_of(kind), None);
    classes
        .iter()
        .find(|c| {
            str_at(
                &c.value,
                &[
                    "metadata",
                    "annotations",
                    "storageclass.kubernetes.io/is-default-class",
                ],
            ) == "true"
        })
        .map(|c| c.name().to_owned())
}

/// A claim's annotations naming the provisioner asked for its volume (both spellings, as
/// kube-controller-manager sets them).
fn set_provisioner(annotations: &mut Map<String, Value>, provisioner: &str) {
    for key in [
        "volume.beta.kubernetes.io/storage-provisioner",
        "volume.kubernetes.io/storage-provisioner",
    ] {
        annotations.insert(key.into(), json!(provisioner));
    }
}

/// Bytes of a quantity such as `1Gi` or `500M` (0 when it cannot be read).
fn quantity_bytes(text: &str) -> u128 {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let n: u128 = number.parse().unwrap_or(0);
    let factor: u128 = match suffix {
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "T" => 1_000_000_000_000,
        _ => 1,
    };
    n * factor
}
