//! What a scenario leaves in a cluster it does not own: the namespaces and cluster-scoped objects
//! present before it ran, so that exactly the new ones can be removed afterwards (and a test can
//! prove nothing was left).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use kube::api::{Api, DeleteParams, DynamicObject, ListParams};
use kube::core::{ApiResource, GroupVersionKind};

/// The kinds a scenario may create outside its namespaces, in the order they are removed
/// (namespaces first: their removal releases the claims that hold volumes).
const KINDS: &[(&str, &str, &str, &str)] = &[
    ("", "v1", "Namespace", "namespaces"),
    ("", "v1", "PersistentVolume", "persistentvolumes"),
    ("storage.k8s.io", "v1", "StorageClass", "storageclasses"),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
    ),
];

/// Names of the namespaces and cluster-scoped objects of [`KINDS`], by plural.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterSnapshot {
    objects: BTreeMap<&'static str, BTreeSet<String>>,
}

fn api(client: &kube::Client, kind: &(&str, &str, &str, &'static str)) -> Api<DynamicObject> {
    let (group, version, kind_name, plural) = *kind;
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(group, version, kind_name),
        plural,
    );
    Api::all_with(client.clone(), &resource)
}

impl ClusterSnapshot {
    /// Lists what is there now.
    pub async fn take(client: &kube::Client) -> kube::Result<Self> {
        let mut objects = BTreeMap::new();
        for kind in KINDS {
            let names = api(client, kind)
                .list_metadata(&ListParams::default())
                .await?
                .items
                .into_iter()
                .filter(|o| o.metadata.deletion_timestamp.is_none())
                .filter_map(|o| o.metadata.name)
                .collect();
            objects.insert(kind.3, names);
        }
        Ok(ClusterSnapshot { objects })
    }

    /// What `later` has that `self` had not, as `plural/name`.
    pub fn added_in(&self, later: &ClusterSnapshot) -> Vec<String> {
        let mut added = vec![];
        for kind in KINDS {
            let before = self.objects.get(kind.3);
            for name in later.objects.get(kind.3).into_iter().flatten() {
                if !before.is_some_and(|b| b.contains(name)) {
                    added.push(format!("{}/{name}", kind.3));
                }
            }
        }
        added
    }

    /// Deletes what was created since this snapshot and waits (until `deadline`) for namespaces
    /// to be gone; returns what was removed, and what could not be.
    pub async fn remove_added(
        &self,
        client: &kube::Client,
        timeout: Duration,
    ) -> (Vec<String>, Vec<String>) {
        let deadline = Instant::now() + timeout;
        let (mut removed, mut failed) = (vec![], vec![]);
        for kind in KINDS {
            let api = api(client, kind);
            let Ok(list) = api.list_metadata(&ListParams::default()).await else {
                failed.push(format!("{}: could not list", kind.3));
                continue;
            };
            let before = self.objects.get(kind.3);
            let added: Vec<String> = list
                .items
                .into_iter()
                .filter_map(|o| o.metadata.name)
                .filter(|name| !before.is_some_and(|b| b.contains(name)))
                .collect();
            for name in &added {
                match api.delete(name, &DeleteParams::background()).await {
                    Ok(_) => removed.push(format!("{}/{name}", kind.3)),
                    Err(kube::Error::Api(e)) if e.code == 404 => {}
                    Err(e) => failed.push(format!("{}/{name}: {e}", kind.3)),
                }
            }
            // Namespaces go with their contents; wait so that volumes are released first.
            if kind.3 == "namespaces" {
                for name in &added {
                    while api.get_metadata_opt(name).await.ok().flatten().is_some() {
                        if Instant::now() >= deadline {
                            failed.push(format!("namespaces/{name}: still terminating"));
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(250)).await;
                    }
                }
            }
        }
        (removed, failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_lists_only_new_names() {
        let mut before = ClusterSnapshot::default();
        before
            .objects
            .insert("namespaces", ["default".to_string()].into());
        let mut after = before.clone();
        after
            .objects
            .get_mut("namespaces")
            .unwrap()
            .insert("gitlab-runners".into());
        after
            .objects
            .insert("persistentvolumes", ["pvc-1".to_string()].into());
        assert_eq!(
            before.added_in(&after),
            ["namespaces/gitlab-runners", "persistentvolumes/pvc-1"]
        );
        assert!(after.added_in(&before).is_empty());
    }
}
