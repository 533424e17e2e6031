//! The ServiceAccount admission plugin: pods need an existing ServiceAccount and get its token,
//! the cluster CA and their namespace projected at the well-known path.

use serde_json::{Value, json};

use super::Registry;
use crate::kinds;
use crate::meta;
use crate::status::{ApiError, ApiResult};

impl Registry {
    /// The ServiceAccount admission plugin: the pod's ServiceAccount must exist, and its token,
    /// the cluster CA and the namespace are projected at the well-known path in every container.
    pub(super) fn admit_service_account(
        &self,
        ns: &str,
        pod_name: &str,
        pod: &mut Value,
    ) -> ApiResult<()> {
        let pods = self.kind("", "pods")?;
        let sa_name = meta::str_at(pod, &["spec", "serviceAccountName"]).to_string();
        let sa = self.store.get(
            kinds::index_of(self.kind("", "serviceaccounts")?),
            ns,
            &sa_name,
        );
        let Some(sa) = sa else {
            return Err(ApiError::forbidden(
                format!(
                    "pods \"{pod_name}\" is forbidden: error looking up service account {ns}/{sa_name}: serviceaccount \"{sa_name}\" not found"
                ),
                Some(pods),
                pod_name,
            ));
        };
        let automount = pod
            .pointer("/spec/automountServiceAccountToken")
            .or_else(|| sa.value.get("automountServiceAccountToken"))
            .and_then(Value::as_bool)
            .unwrap_or(true);
        const PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
        let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
            return Ok(());
        };
        let already = ["containers", "initContainers"].iter().any(|l| {
            spec.get(*l)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|c| {
                    c.get("volumeMounts")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .any(|m| meta::str_at(m, &["mountPath"]) == PATH)
                })
        });
        if !automount || already {
            return Ok(());
        }
        let volume = format!("kube-api-access-{}", meta::random_suffix(5));
        let volumes = spec.entry("volumes").or_insert_with(|| json!([]));
        if let Value::Array(v) = volumes {
            v.push(json!({"name": volume, "projected": {"defaultMode": 420, "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}, "path": "namespace"}]}}]}}));
        }
        for list in ["containers", "initContainers"] {
            for c in spec
                .get_mut(list)
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Some(c) = c.as_object_mut() {
                    let mounts = c.entry("volumeMounts").or_insert_with(|| json!([]));
                    if let Value::Array(m) = mounts {
                        m.push(json!({"name": volume, "mountPath": PATH, "readOnly": true}));
                    }
                }
            }
        }
        Ok(())
    }
}
