//! Checks on what surrounds the chart: the tutorial's extra manifests (PVC, RBAC) and the helm
//! commands it runs.

use serde::Deserialize;
use serde_json::Value;

use super::checks::Ctx;
use super::{Finding, Severity, finding};

/// The helm commands the tutorial runs (section 4.1), in order.
pub const TUTORIAL_HELM_COMMANDS: &[&str] = &[
    "helm repo add gitlab https://charts.gitlab.io",
    "helm repo update",
    "helm search gitlab-runner",
    "helm fetch gitlab/gitlab-runner",
    "helm install --name gitlab-runner -f gitlab-runner/values.yaml --namespace gitlab-runners gitlab-runner/",
    "helm upgrade gitlab-rujner gitlab-runner/",
];

const HELM2_MIGRATION_MESSAGE: &str = "a release installed by Helm 2 is stored by Tiller and invisible to Helm 3/4; labels change from `heritage: Tiller` to `heritage: Helm`, so the pod checksums change too";
const HELM2_MIGRATION_FIX: &str = "migrate the release with the helm-2to3 plugin (`helm 2to3 convert <release>`), or uninstall with Helm 2 and install again with Helm 3+";

/// Helm 2 releases live in Tiller: how to carry one over to Helm 3+.
fn helm2_release_migration() -> Finding {
    finding(
        Severity::Info,
        "helm2-release-migration",
        "helm",
        HELM2_MIGRATION_MESSAGE.into(),
        HELM2_MIGRATION_FIX.into(),
    )
}

fn documents(file: &str, text: &str) -> Vec<Value> {
    let mut docs = Vec::new();
    for doc in serde_norway::Deserializer::from_str(text) {
        match Value::deserialize(doc) {
            Ok(v) if !v.is_null() => docs.push(v),
            Ok(_) => {}
            Err(e) => tracing::warn!(file, "skipping a document that is not valid YAML: {e}"),
        }
    }
    docs
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// RWX claims, obsolete API groups in RBAC rules, namespaces nobody creates.
pub(crate) fn manifests(files: &[(String, String)]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut namespaces_used = Vec::new();
    let mut namespaces_created = Vec::new();
    for (file, text) in files {
        for doc in documents(file, text) {
            let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
            let name = doc
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if let Some(ns) = doc.pointer("/metadata/namespace").and_then(Value::as_str) {
                namespaces_used.push((file.clone(), ns.to_string()));
            }
            if kind == "Namespace" {
                namespaces_created.push(name.to_string());
            }
            let key = format!("{file}: {kind}/{name}");
            if kind == "PersistentVolumeClaim" {
                let modes = strings(doc.pointer("/spec/accessModes"));
                if modes.iter().any(|m| m == "ReadWriteMany") {
                    let class = doc
                        .pointer("/spec/storageClassName")
                        .and_then(Value::as_str)
                        .unwrap_or("(default)");
                    let rbd = if class == "rbd" {
                        " Ceph RBD (`rbd`) block volumes are ReadWriteOnce; the tutorial's own listing shows the claim bound as RWO."
                    } else {
                        ""
                    };
                    out.push(finding(
                        Severity::Warning,
                        "pvc-rwx",
                        format!("{key} spec.accessModes"),
                        format!("asks for ReadWriteMany from storage class `{class}`.{rbd} With RWO, job pods on other nodes cannot mount the Maven cache and stay Pending"),
                        "use `accessModes: [ReadWriteOnce]` and keep job pods on one node, or a storage class that really provides RWX (CephFS, NFS)".into(),
                    ));
                }
            }
            if kind == "Role" || kind == "ClusterRole" {
                for rule in doc
                    .get("rules")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if strings(rule.get("apiGroups"))
                        .iter()
                        .any(|g| g == "extensions")
                    {
                        out.push(finding(
                            Severity::Warning,
                            "rbac-extensions-group",
                            format!("{key} rules.apiGroups"),
                            format!(
                                "grants {:?} in the `extensions` API group, which stopped serving Deployments in Kubernetes 1.16; the rule is dead",
                                strings(rule.get("resources"))
                            ),
                            "delete the `extensions` rule; `apiGroups: [\"apps\"]` already covers deployments".into(),
                        ));
                    }
                }
            }
        }
    }
    let mut reported = Vec::new();
    for (file, ns) in namespaces_used {
        if !namespaces_created.contains(&ns) && !reported.contains(&ns) && ns != "default" {
            reported.push(ns.clone());
            out.push(finding(
                Severity::Info,
                "namespace-not-created",
                format!("{file}: metadata.namespace"),
                format!("objects go into namespace `{ns}`, which no manifest creates; on a fresh cluster `kubectl create -f` fails with `namespaces \"{ns}\" not found`"),
                format!("run `kubectl create namespace {ns}` first (or add a Namespace object); with Helm 3 pass `--create-namespace`"),
            ));
        }
    }
    out
}

/// Helm 2 syntax and mistakes in the helm commands. Without commands, a chart from the Helm 2
/// era still gets the `--name` warning, since that is how it was installed then.
pub(crate) fn helm_commands(commands: &[String], release: &str, ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    if commands.is_empty() && super::semver(&ctx.from) < super::semver("0.20.0") {
        out.push(finding(
            Severity::Warning,
            "helm2-name-flag",
            "helm install",
            format!(
                "chart {} dates from Helm 2, installed with `helm install --name {release} ...`; Helm 3 and 4 reject `--name` and take the release name as the first argument",
                ctx.from
            ),
            format!(
                "helm install {release} gitlab/gitlab-runner --version {} --namespace {} --create-namespace -f values.yaml",
                ctx.to, ctx.around.namespace
            ),
        ));
        out.push(helm2_release_migration());
        return out;
    }
    let mut helm2 = false;
    for cmd in commands {
        let words: Vec<&str> = cmd.split_whitespace().collect();
        if words.first() != Some(&"helm") {
            continue;
        }
        let sub = words.get(1).copied().unwrap_or_default();
        let key = format!("`{cmd}`");
        if let Some(pos) = words
            .iter()
            .position(|w| *w == "--name" || w.starts_with("--name="))
        {
            helm2 = true;
            let (name, skip) = match words[pos].strip_prefix("--name=") {
                Some(n) => (n, 1),
                None => (words.get(pos + 1).copied().unwrap_or(release), 2),
            };
            let rest: Vec<&str> = words
                .iter()
                .enumerate()
                .filter(|(i, _)| *i > 1 && !(pos..pos + skip).contains(i))
                .map(|(_, w)| *w)
                .collect();
            out.push(finding(
                Severity::Error,
                "helm2-name-flag",
                key.clone(),
                "`--name` is Helm 2 syntax; Helm 3 and 4 reject it (`unknown flag: --name`) and take the release name as the first argument".into(),
                format!("helm {sub} {name} {} --create-namespace", rest.join(" ")),
            ));
        }
        if sub == "search" && !matches!(words.get(2), Some(&"repo") | Some(&"hub")) {
            helm2 = true;
            out.push(finding(
                Severity::Warning,
                "helm2-search",
                key.clone(),
                "Helm 3+ needs a search source: `helm search repo` or `helm search hub`".into(),
                format!("helm search repo {}", words[2..].join(" ")),
            ));
        }
        if sub == "fetch" {
            out.push(finding(
                Severity::Info,
                "helm-fetch",
                key.clone(),
                "`helm fetch` is `helm pull` since Helm 3 (the old name still works as an alias)"
                    .into(),
                format!(
                    "helm pull {} --version 0.14.0 --untar",
                    words[2..].join(" ")
                ),
            ));
        }
        if sub == "upgrade"
            && let Some(name) = words.iter().skip(2).find(|w| !w.starts_with('-'))
            && *name != release
        {
            out.push(finding(
                Severity::Error,
                "helm-unknown-release",
                key.clone(),
                format!("release `{name}` does not exist (the install named it `{release}`); helm answers `\"{name}\" has no deployed releases`"),
                cmd.replacen(name, release, 1),
            ));
        }
    }
    if helm2 {
        out.push(helm2_release_migration());
    }
    out
}
