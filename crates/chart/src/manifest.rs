//! From rendered template files to what `helm template` prints: documents split at `---`,
//! empty ones dropped, sorted in Helm's install order by kind, each under `# Source:`.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::{ChartError, Result};

/// Helm's install order (`releaseutil.InstallOrder`); unknown kinds come last.
const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// One rendered Kubernetes object.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Template that produced it (`gitlab-runner/templates/configmap.yaml`).
    pub source: String,
    /// The document text exactly as rendered (trimmed, as Helm stores it).
    pub text: String,
    /// The document parsed.
    pub object: Value,
}

impl Manifest {
    /// `kind` of the object.
    pub fn kind(&self) -> &str {
        self.object
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// `metadata.name` of the object.
    pub fn name(&self) -> &str {
        self.object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

/// Splits at `---` lines as Helm's `SplitManifests` does and trims each document.
fn split_documents(text: &str) -> Vec<String> {
    static SEP: std::sync::LazyLock<Option<regex::Regex>> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"(?:^|\s*\n)---\s*").ok());
    let docs: Vec<&str> = match SEP.as_ref() {
        Some(re) => re.split(text.trim()).collect(),
        None => vec![text],
    };
    docs.into_iter()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .collect()
}

/// Parses and sorts the rendered files into manifests, in install order.
pub fn collect(files: &BTreeMap<String, String>) -> Result<Vec<Manifest>> {
    let mut out = Vec::new();
    for (source, text) in files {
        for doc in split_documents(text) {
            let object: Value = serde_norway::from_str(&doc).map_err(|e| ChartError::Manifest {
                template: source.clone(),
                message: e.to_string(),
                fix: "a value probably contains text that breaks the YAML (quote it, or fix its indentation)".into(),
            })?;
            if object.is_null() {
                continue;
            }
            out.push(Manifest {
                source: source.clone(),
                text: doc,
                object,
            });
        }
    }
    let rank = |m: &Manifest| {
        INSTALL_ORDER
            .iter()
            .position(|k| *k == m.kind())
            .unwrap_or(INSTALL_ORDER.len())
    };
    out.sort_by(|a, b| {
        let (ra, rb) = (rank(a), rank(b));
        if ra == INSTALL_ORDER.len() && rb == INSTALL_ORDER.len() {
            a.kind().cmp(b.kind())
        } else {
            ra.cmp(&rb)
        }
    });
    Ok(out)
}

/// The multi-document YAML `helm template` prints.
pub fn to_stream(manifests: &[Manifest]) -> String {
    let mut out = String::new();
    for m in manifests {
        out.push_str("---\n# Source: ");
        out.push_str(&m.source);
        out.push('\n');
        out.push_str(&m.text);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_by_install_order() {
        let mut files = BTreeMap::new();
        files.insert(
            "c/templates/a.yaml".to_string(),
            "kind: Deployment\nmetadata: {name: d}\n".to_string(),
        );
        files.insert(
            "c/templates/b.yaml".to_string(),
            "\n---\nkind: ConfigMap\nmetadata: {name: c}\n---\n".to_string(),
        );
        let m = collect(&files).unwrap();
        assert_eq!(
            m.iter().map(|m| m.kind()).collect::<Vec<_>>(),
            ["ConfigMap", "Deployment"]
        );
        assert!(to_stream(&m).starts_with("---\n# Source: c/templates/b.yaml\nkind: ConfigMap"));
    }
}
