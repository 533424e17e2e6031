//! The job pod: name, labels, annotations, `build` and `helper` containers and volumes, as the
//! kubernetes executor builds them.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, Container, EmptyDirVolumeSource, EnvVar, HostPathVolumeSource,
    LocalObjectReference, PersistentVolumeClaimVolumeSource, Pod, PodSecurityContext, PodSpec,
    SecretVolumeSource, SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::context::JobContext;
use crate::config::KubernetesConfig;

/// The command of the `build` and `helper` containers: find a shell and wait on stdin. It
/// replaces the image's ENTRYPOINT, so images like `bitnami/kubectl` (`ENTRYPOINT ["kubectl"]`)
/// still run job scripts.
pub const DETECT_SHELL: &str = "if [ -x /usr/local/bin/bash ]; then\n\texec /usr/local/bin/bash \nelif [ -x /usr/bin/bash ]; then\n\texec /usr/bin/bash \nelif [ -x /bin/bash ]; then\n\texec /bin/bash \nelif [ -x /usr/local/bin/sh ]; then\n\texec /usr/local/bin/sh \nelif [ -x /usr/bin/sh ]; then\n\texec /usr/bin/sh \nelif [ -x /bin/sh ]; then\n\texec /bin/sh \nelif [ -x /busybox/sh ]; then\n\texec /busybox/sh \nelse\n\techo shell not found\n\texit 1\nfi\n\n";

/// `runner-<short token>-project-<id>-concurrent-<slot>`: shared by all pods of one project slot.
pub fn project_unique_name(ctx: &JobContext) -> String {
    sanitize_name(&format!(
        "runner-{}-project-{}-concurrent-{}",
        ctx.short_token(),
        ctx.job.job_info.project_id,
        ctx.project_slot
    ))
}

/// Lowercase, only `[-a-z0-9]`, like the executor's RFC 1123 clean-up.
pub fn sanitize_name(name: &str) -> String {
    name.to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
        .collect()
}

/// A pod name: the project-unique name (cut to 58 characters) plus 5 random `[a-z0-9]`, which
/// is what the API server's `generateName` would append.
pub fn pod_name(unique: &str, suffix: &str) -> String {
    let base: String = unique.chars().take(58).collect();
    format!("{base}{suffix}")
}

/// Five random `[a-z0-9]` characters.
pub fn random_suffix() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..5)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

fn label_value(v: &str) -> String {
    let cleaned: String = v
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(63)
        .collect();
    cleaned
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string()
}

/// `IfNotPresent`/`Always`/`Never` from the runner's `if-not-present`/`always`/`never`.
pub fn image_pull_policy(policy: &[String]) -> Option<String> {
    match policy.first().map(|p| p.trim().to_lowercase()).as_deref() {
        Some("if-not-present") => Some("IfNotPresent".into()),
        Some("always") => Some("Always".into()),
        Some("never") => Some("Never".into()),
        _ => None,
    }
}

/// Builds the job pod named `name`.
pub fn build_pod(ctx: &JobContext, name: &str) -> Pod {
    let default_k8s = KubernetesConfig::default();
    let k = ctx.runner.kubernetes.as_ref().unwrap_or(&default_k8s);
    let unique = project_unique_name(ctx);
    let info = &ctx.job.job_info;

    let mut labels = BTreeMap::new();
    labels.insert("pod".to_string(), unique.clone());
    labels.insert("job.runner.gitlab.com/pod".into(), unique.clone());
    labels.insert(
        "project.runner.gitlab.com/id".into(),
        info.project_id.to_string(),
    );
    labels.insert(
        "project.runner.gitlab.com/name".into(),
        label_value(&info.project_name),
    );
    for (var, label) in [
        (
            "CI_PROJECT_NAMESPACE",
            "project.runner.gitlab.com/namespace",
        ),
        (
            "CI_PROJECT_NAMESPACE_ID",
            "project.runner.gitlab.com/namespace-id",
        ),
        (
            "CI_PROJECT_ROOT_NAMESPACE",
            "project.runner.gitlab.com/root-namespace",
        ),
    ] {
        if let Some(v) = ctx.variable(var) {
            labels.insert(label.into(), label_value(v));
        }
    }
    labels.insert(
        "manager.runner.gitlab.com/name".into(),
        label_value(&ctx.runner.name),
    );
    labels.insert(
        "manager.runner.gitlab.com/id-short".into(),
        label_value(&ctx.short_token()),
    );
    for (key, value) in &k.pod_labels {
        if !key.contains("runner.gitlab.com") {
            labels.insert(key.clone(), label_value(value));
        }
    }

    let job_url = ctx.variable("CI_JOB_URL").unwrap_or_default().to_string();
    let mut annotations = BTreeMap::new();
    for (key, value) in [
        ("job.runner.gitlab.com/id", ctx.job.id.to_string()),
        ("job.runner.gitlab.com/url", job_url),
        ("job.runner.gitlab.com/sha", ctx.job.git_info.sha.clone()),
        (
            "job.runner.gitlab.com/before_sha",
            ctx.job.git_info.before_sha.clone(),
        ),
        (
            "job.runner.gitlab.com/ref",
            ctx.job.git_info.git_ref.clone(),
        ),
        ("job.runner.gitlab.com/name", info.name.clone()),
        (
            "job.runner.gitlab.com/timeout",
            format!("{}s", ctx.job.timeout_secs()),
        ),
        ("project.runner.gitlab.com/id", info.project_id.to_string()),
    ] {
        annotations.insert(key.to_string(), value);
    }
    for (key, value) in &k.pod_annotations {
        annotations.insert(key.clone(), value.clone());
    }

    let (volumes, mounts) = volumes(ctx, k);
    let pull_policy = image_pull_policy(&k.pull_policy);
    let security = k.privileged.then(|| SecurityContext {
        privileged: Some(true),
        ..Default::default()
    });
    let env: Vec<EnvVar> = ctx
        .variables
        .iter()
        .filter(|v| v.public && !v.file)
        .map(|v| EnvVar {
            name: v.key.clone(),
            value: Some(v.value.clone()),
            ..Default::default()
        })
        .collect();
    let container = |name: &str, image: String, env: Option<Vec<EnvVar>>| Container {
        name: name.into(),
        image: Some(image),
        image_pull_policy: pull_policy.clone(),
        command: Some(vec!["sh".into(), "-c".into(), DETECT_SHELL.into()]),
        env,
        volume_mounts: Some(mounts.clone()),
        security_context: security.clone(),
        stdin: Some(true),
        ..Default::default()
    };

    let psc = &k.pod_security_context;
    let pod_security = (psc.fs_group.is_some()
        || psc.run_as_group.is_some()
        || psc.run_as_non_root.is_some()
        || psc.run_as_user.is_some())
    .then(|| PodSecurityContext {
        fs_group: psc.fs_group,
        run_as_group: psc.run_as_group,
        run_as_non_root: psc.run_as_non_root,
        run_as_user: psc.run_as_user,
        ..Default::default()
    });

    Pod {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(namespace(k)),
            labels: Some(labels),
            annotations: Some(annotations),
            ..Default::default()
        },
        spec: Some(PodSpec {
            restart_policy: Some("Never".into()),
            service_account_name: Some(k.service_account.clone()).filter(|s| !s.is_empty()),
            node_selector: Some(k.node_selector.clone()).filter(|m| !m.is_empty()),
            image_pull_secrets: Some(
                k.image_pull_secrets
                    .iter()
                    .map(|s| LocalObjectReference { name: s.clone() })
                    .collect::<Vec<_>>(),
            )
            .filter(|v| !v.is_empty()),
            termination_grace_period_seconds: Some(k.termination_grace_period_seconds)
                .filter(|s| *s > 0),
            active_deadline_seconds: Some(ctx.job.timeout_secs() as i64 + 1),
            security_context: pod_security,
            containers: vec![
                container(
                    "build",
                    ctx.image.clone(),
                    Some(env).filter(|e| !e.is_empty()),
                ),
                container("helper", ctx.helper_image(), None),
            ],
            volumes: Some(volumes),
            ..Default::default()
        }),
        status: None,
    }
}

/// The namespace of job pods (`default` when unset).
pub fn namespace(k: &KubernetesConfig) -> String {
    if k.namespace.is_empty() {
        "default".into()
    } else {
        k.namespace.clone()
    }
}

/// The pod's volumes and the build and helper containers' mounts of them, in config order.
#[derive(Default)]
struct PodVolumes {
    volumes: Vec<Volume>,
    mounts: Vec<VolumeMount>,
}

impl PodVolumes {
    /// Adds a volume named `name`, its source set by `source`, mounted at `mount_path`.
    fn add(
        &mut self,
        name: &str,
        mount_path: &str,
        read_only: bool,
        source: impl FnOnce(&mut Volume),
    ) {
        let mut volume = Volume {
            name: name.into(),
            ..Default::default()
        };
        source(&mut volume);
        self.volumes.push(volume);
        self.mounts.push(VolumeMount {
            name: name.into(),
            mount_path: mount_path.into(),
            read_only: read_only.then_some(true),
            ..Default::default()
        });
    }
}

fn volumes(ctx: &JobContext, k: &KubernetesConfig) -> (Vec<Volume>, Vec<VolumeMount>) {
    let mut pod = PodVolumes::default();
    let v = &k.volumes;
    for hp in &v.host_path {
        let path = hp.host_path.clone().filter(|p| !p.is_empty());
        let path = path.unwrap_or_else(|| hp.mount_path.clone());
        pod.add(&hp.name, &hp.mount_path, hp.read_only, |v| {
            v.host_path = Some(HostPathVolumeSource { path, type_: None });
        });
    }
    for s in &v.secret {
        let secret_name = Some(s.name.clone());
        pod.add(&s.name, &s.mount_path, s.read_only, |v| {
            v.secret = Some(SecretVolumeSource {
                secret_name,
                ..Default::default()
            });
        });
    }
    for pvc in &v.pvc {
        let claim = PersistentVolumeClaimVolumeSource {
            claim_name: pvc.name.clone(),
            read_only: pvc.read_only.then_some(true),
        };
        pod.add(&pvc.name, &pvc.mount_path, pvc.read_only, |v| {
            v.persistent_volume_claim = Some(claim);
        });
    }
    for cm in &v.config_map {
        let name = cm.name.clone();
        pod.add(&cm.name, &cm.mount_path, cm.read_only, |v| {
            v.config_map = Some(ConfigMapVolumeSource {
                name,
                ..Default::default()
            });
        });
    }
    for ed in &v.empty_dir {
        let medium = ed.medium.clone();
        pod.add(&ed.name, &ed.mount_path, false, |v| {
            v.empty_dir = Some(EmptyDirVolumeSource {
                medium,
                size_limit: None,
            });
        });
    }
    if !pod.mounts.iter().any(|m| m.mount_path == ctx.builds_dir) {
        pod.add("repo", &ctx.builds_dir, false, |v| {
            v.empty_dir = Some(EmptyDirVolumeSource::default());
        });
    }
    (pod.volumes, pod.mounts)
}

#[cfg(test)]
#[path = "pod_tests.rs"]
mod tests;
