//! A dynamic volume provisioner that runs as an ordinary controller against the Kubernetes API,
//! as external-provisioner and local-path-provisioner do: it creates the scenario's
//! StorageClasses, answers each claim of those classes with a hostPath PersistentVolume under the
//! environment's state directory (`ProvisioningSucceeded`), or leaves it Pending with
//! `ProvisioningFailed` when the class cannot give the access modes asked for, and deletes
//! released volumes of `Delete` classes. It needs nothing but the kubeconfig, so the same
//! storage works on every cluster backend whose nodes are this machine.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use futures::StreamExt;
use harness_error_chain::Chain;
use k8s_openapi::api::core::v1::{
    Event, HostPathVolumeSource, ObjectReference, PersistentVolume, PersistentVolumeClaim,
    PersistentVolumeSpec,
};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event as WatchEvent};
use tokio::task::JoinHandle;

/// Annotation the PV controller (and our provisioner) puts on a provisioned volume.
const PROVISIONED_BY: &str = "pv.kubernetes.io/provisioned-by";
/// Annotation marking the default StorageClass.
const DEFAULT_CLASS: &str = "storageclass.kubernetes.io/is-default-class";

/// A StorageClass the provisioner serves and what its storage can do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassOffer {
    /// Class name.
    pub name: String,
    /// Provisioner name shown on the class (the one the claim's annotations name).
    pub provisioner: String,
    /// Access modes the storage can give; a claim asking for another stays Pending.
    pub access_modes: Vec<String>,
    /// Access modes the volume records, when the storage records other modes than asked (the
    /// tutorial's `rbd` listing shows RWO for an RWX claim); `None` = the claim's.
    pub reported_access_modes: Option<Vec<String>>,
    /// `Immediate` or `WaitForFirstConsumer`.
    pub binding_mode: String,
    /// The cluster's default class.
    pub default: bool,
}

impl ClassOffer {
    /// The tutorial's `rbd` class: binds RWX claims, and the bound volume reports RWO.
    pub fn tutorial_rbd() -> Self {
        ClassOffer {
            name: "rbd".into(),
            provisioner: "kubernetes.io/rbd".into(),
            access_modes: ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany"]
                .map(String::from)
                .to_vec(),
            reported_access_modes: Some(vec!["ReadWriteOnce".into()]),
            binding_mode: "Immediate".into(),
            default: true,
        }
    }
}

/// Why the provisioner could not start.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionerError {
    /// A class of the same name exists with another provisioner.
    #[error(
        "StorageClass {name} already exists with provisioner {found}, not {wanted}: remove it \
         or rename the scenario's class"
    )]
    Conflict {
        /// Class name.
        name: String,
        /// Its provisioner in the cluster.
        found: String,
        /// The scenario's.
        wanted: String,
    },
    /// The API refused a request.
    #[error("creating StorageClass {name}")]
    Api {
        /// Class name.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// The running provisioner; stops when dropped.
pub struct Provisioner {
    task: JoinHandle<()>,
}

impl Drop for Provisioner {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Provisioner {
    /// Creates the classes (labelled with `env_id`) and starts serving their claims, with volume
    /// directories under `base_dir`.
    pub async fn start(
        client: kube::Client,
        classes: Vec<ClassOffer>,
        base_dir: PathBuf,
        env_id: &str,
    ) -> Result<Self, ProvisionerError> {
        let api: Api<StorageClass> = Api::all(client.clone());
        for offer in &classes {
            ensure_class(&api, offer, env_id).await?;
        }
        let controller = Controller {
            client,
            classes,
            base_dir,
            reported: HashSet::new(),
        };
        Ok(Provisioner {
            task: tokio::spawn(controller.run()),
        })
    }
}

async fn ensure_class(
    api: &Api<StorageClass>,
    offer: &ClassOffer,
    env_id: &str,
) -> Result<(), ProvisionerError> {
    let api_error = |source| ProvisionerError::Api {
        name: offer.name.clone(),
        source,
    };
    if let Some(existing) = api.get_opt(&offer.name).await.map_err(api_error)? {
        if existing.provisioner != offer.provisioner {
            return Err(ProvisionerError::Conflict {
                name: offer.name.clone(),
                found: existing.provisioner,
                wanted: offer.provisioner.clone(),
            });
        }
        return Ok(());
    }
    let mut annotations = BTreeMap::new();
    if offer.default {
        annotations.insert(DEFAULT_CLASS.to_owned(), "true".to_owned());
    }
    let class = StorageClass {
        metadata: ObjectMeta {
            name: Some(offer.name.clone()),
            annotations: Some(annotations),
            labels: Some(BTreeMap::from([(
                crate::environment::ENV_LABEL.to_owned(),
                env_id.to_owned(),
            )])),
            ..Default::default()
        },
        provisioner: offer.provisioner.clone(),
        reclaim_policy: Some("Delete".into()),
        volume_binding_mode: Some(offer.binding_mode.clone()),
        ..Default::default()
    };
    match api.create(&PostParams::default(), &class).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(()),
        Err(e) => Err(api_error(e)),
    }
}

struct Controller {
    client: kube::Client,
    classes: Vec<ClassOffer>,
    base_dir: PathBuf,
    /// Claim uid + reason + message of events already recorded (each is recorded once).
    reported: HashSet<String>,
}

enum Change {
    Claim(Box<PersistentVolumeClaim>),
    Volume(Box<PersistentVolume>),
}

impl Controller {
    async fn run(mut self) {
        let claims = watcher::watcher(
            Api::<PersistentVolumeClaim>::all(self.client.clone()),
            watcher::Config::default(),
        )
        .default_backoff()
        .filter_map(|e| async move { applied(e).map(|c| Change::Claim(Box::new(c))) });
        let volumes = watcher::watcher(
            Api::<PersistentVolume>::all(self.client.clone()),
            watcher::Config::default(),
        )
        .default_backoff()
        .filter_map(|e| async move { applied(e).map(|v| Change::Volume(Box::new(v))) });
        let mut changes = futures::stream::select(claims.boxed(), volumes.boxed());
        while let Some(change) = changes.next().await {
            let result = match change {
                Change::Claim(claim) => self.claim(*claim).await,
                Change::Volume(volume) => self.volume(*volume).await,
            };
            if let Err(e) = result {
                tracing::debug!(error = %Chain(&e), "provisioner: will retry on the next change");
            }
        }
    }

    fn class_of(&self, claim: &PersistentVolumeClaim) -> Option<&ClassOffer> {
        let spec = claim.spec.as_ref()?;
        match spec.storage_class_name.as_deref() {
            Some("") => None,
            Some(name) => self.classes.iter().find(|c| c.name == name),
            None => self.classes.iter().find(|c| c.default),
        }
    }

    async fn claim(&mut self, claim: PersistentVolumeClaim) -> kube::Result<()> {
        let pending = claim
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .is_none_or(|p| p == "Pending");
        let spec = claim.spec.clone().unwrap_or_default();
        if !pending
            || claim.metadata.deletion_timestamp.is_some()
            || spec.volume_name.as_deref().is_some_and(|v| !v.is_empty())
        {
            return Ok(());
        }
        let Some(offer) = self.class_of(&claim).cloned() else {
            return Ok(());
        };
        let annotations = claim.metadata.annotations.clone().unwrap_or_default();
        if offer.binding_mode == "WaitForFirstConsumer"
            && !annotations.contains_key("volume.kubernetes.io/selected-node")
        {
            return Ok(());
        }
        let asked = spec.access_modes.clone().unwrap_or_default();
        if let Some(missing) = asked.iter().find(|m| !offer.access_modes.contains(m)) {
            let message = format!(
                "failed to provision volume with StorageClass \"{}\": {} does not support access mode {missing} (supported: {})",
                offer.name,
                offer.provisioner,
                offer.access_modes.join(", ")
            );
            return self
                .record(&claim, &offer, "Warning", "ProvisioningFailed", &message)
                .await;
        }
        let uid = claim.metadata.uid.clone().unwrap_or_default();
        let name = format!("pvc-{uid}");
        let namespace = claim.metadata.namespace.clone().unwrap_or_default();
        let claim_name = claim.metadata.name.clone().unwrap_or_default();
        let modes = offer
            .reported_access_modes
            .clone()
            .unwrap_or_else(|| asked.clone());
        let storage = spec
            .resources
            .as_ref()
            .and_then(|r| r.requests.as_ref())
            .and_then(|r| r.get("storage").cloned())
            .unwrap_or_else(|| {
                k8s_openapi::apimachinery::pkg::api::resource::Quantity("1Gi".into())
            });
        let volume = PersistentVolume {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                annotations: Some(BTreeMap::from([(
                    PROVISIONED_BY.to_owned(),
                    offer.provisioner.clone(),
                )])),
                ..Default::default()
            },
            spec: Some(PersistentVolumeSpec {
                capacity: Some(BTreeMap::from([("storage".to_owned(), storage)])),
                access_modes: Some(modes.clone()),
                host_path: Some(HostPathVolumeSource {
                    path: self.base_dir.join(&name).display().to_string(),
                    type_: Some("DirectoryOrCreate".into()),
                }),
                persistent_volume_reclaim_policy: Some("Delete".into()),
                storage_class_name: Some(offer.name.clone()),
                volume_mode: spec.volume_mode.clone(),
                claim_ref: Some(ObjectReference {
                    kind: Some("PersistentVolumeClaim".into()),
                    api_version: Some("v1".into()),
                    namespace: Some(namespace.clone()),
                    name: Some(claim_name.clone()),
                    uid: Some(uid),
                    resource_version: claim.metadata.resource_version.clone(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            status: None,
        };
        let volumes: Api<PersistentVolume> = Api::all(self.client.clone());
        match volumes.create(&PostParams::default(), &volume).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 409 => {}
            Err(e) => return Err(e),
        }
        // A volume that records fewer modes than the claim asked for is not matched by the PV
        // controller's mode index; naming it on the claim binds it, as a pre-bound claim.
        if !asked.iter().all(|m| modes.contains(m)) {
            let claims: Api<PersistentVolumeClaim> =
                Api::namespaced(self.client.clone(), &namespace);
            let patch = serde_json::json!({"spec": {"volumeName": name}});
            claims
                .patch(&claim_name, &PatchParams::default(), &Patch::Merge(&patch))
                .await?;
        }
        let message = format!("Successfully provisioned volume {name}");
        self.record(&claim, &offer, "Normal", "ProvisioningSucceeded", &message)
            .await
    }

    async fn volume(&mut self, volume: PersistentVolume) -> kube::Result<()> {
        let ours = volume
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(PROVISIONED_BY))
            .is_some_and(|p| self.classes.iter().any(|c| &c.provisioner == p));
        let released = volume
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .is_some_and(|p| p == "Released");
        let delete = volume
            .spec
            .as_ref()
            .and_then(|s| s.persistent_volume_reclaim_policy.as_deref())
            == Some("Delete");
        if !(ours && released && delete) || volume.metadata.deletion_timestamp.is_some() {
            return Ok(());
        }
        let name = volume.metadata.name.clone().unwrap_or_default();
        if let Some(path) = volume
            .spec
            .as_ref()
            .and_then(|s| s.host_path.as_ref())
            .map(|h| PathBuf::from(&h.path))
            .filter(|p| p.starts_with(&self.base_dir))
        {
            let _ = std::fs::remove_dir_all(path);
        }
        let volumes: Api<PersistentVolume> = Api::all(self.client.clone());
        match volumes.delete(&name, &Default::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Records a core/v1 Event on the claim, once per claim, reason and message.
    async fn record(
        &mut self,
        claim: &PersistentVolumeClaim,
        offer: &ClassOffer,
        type_: &str,
        reason: &str,
        message: &str,
    ) -> kube::Result<()> {
        let uid = claim.metadata.uid.clone().unwrap_or_default();
        if !self.reported.insert(format!("{uid}/{reason}/{message}")) {
            return Ok(());
        }
        let namespace = claim.metadata.namespace.clone().unwrap_or_default();
        let now = Time(k8s_openapi::jiff::Timestamp::now());
        let event = Event {
            metadata: ObjectMeta {
                generate_name: Some(format!(
                    "{}.",
                    claim.metadata.name.clone().unwrap_or_default()
                )),
                namespace: Some(namespace.clone()),
                ..Default::default()
            },
            involved_object: ObjectReference {
                kind: Some("PersistentVolumeClaim".into()),
                api_version: Some("v1".into()),
                namespace: Some(namespace.clone()),
                name: claim.metadata.name.clone(),
                uid: Some(uid),
                resource_version: claim.metadata.resource_version.clone(),
                ..Default::default()
            },
            reason: Some(reason.into()),
            message: Some(message.into()),
            type_: Some(type_.into()),
            source: Some(k8s_openapi::api::core::v1::EventSource {
                component: Some(offer.provisioner.clone()),
                host: None,
            }),
            first_timestamp: Some(now.clone()),
            last_timestamp: Some(now),
            count: Some(1),
            reporting_component: Some(offer.provisioner.clone()),
            reporting_instance: Some(format!("{}-harness", offer.provisioner)),
            ..Default::default()
        };
        Api::<Event>::namespaced(self.client.clone(), &namespace)
            .create(&PostParams::default(), &event)
            .await
            .map(drop)
    }
}

fn applied<K>(event: Result<WatchEvent<K>, watcher::Error>) -> Option<K> {
    match event {
        Ok(WatchEvent::Apply(object)) | Ok(WatchEvent::InitApply(object)) => Some(object),
        _ => None,
    }
}
