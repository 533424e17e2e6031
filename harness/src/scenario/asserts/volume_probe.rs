//! `pvc_files`: what is on a claim's volume, seen the way any cluster lets one see it — a
//! short-lived pod that mounts the claim read-only and lists the paths asked for.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{DeleteParams, LogParams, PostParams};

use super::Verdict;
use crate::environment::{ENV_LABEL, Environment};
use crate::scenario::model::PvcFilesAssert;

/// The image the probe runs: a shell with `test -e` and glob expansion, present on every cluster
/// the harness provides images to.
const PROBE_IMAGE: &str = harness_images::catalog::UBUNTU_IMAGE;
/// How long the probe pod may take.
const PROBE_DEADLINE: Duration = Duration::from_secs(120);

/// Lists each pattern (expanded by the shell inside the volume) and says FOUND or MISSING.
const SCRIPT: &str = r#"cd /volume || exit 2
for pattern in "$@"; do
  hit=""
  for f in $pattern; do if [ -e "$f" ]; then hit=1; break; fi; done
  if [ -n "$hit" ]; then echo "FOUND $pattern"; else echo "MISSING $pattern"; fi
done"#;

/// Whether a pattern is safe to hand to the probe's shell (no spaces or quotes).
pub(crate) fn valid_pattern(pattern: &str) -> bool {
    !pattern.is_empty()
        && !pattern.starts_with('/')
        && !pattern.split('/').any(|part| part == "..")
        && pattern
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/*?[]".contains(c))
}

pub(crate) async fn pvc_files(env: &Environment, p: &PvcFilesAssert) -> Verdict {
    if let Some(bad) = p.exist.iter().find(|x| !valid_pattern(x)) {
        return Err(format!(
            "pvc_files pattern {bad:?}: use a relative path of letters, digits, . _ - / and globs"
        ));
    }
    let pods: Api<Pod> = Api::namespaced(env.kube.clone(), &p.namespace);
    let pod: Pod = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"generateName": "harness-volume-probe-", "labels": {(ENV_LABEL): env.id}},
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 0,
            "containers": [{
                "name": "probe",
                "image": PROBE_IMAGE,
                "imagePullPolicy": "IfNotPresent",
                "command": ["sh", "-c", SCRIPT, "sh"],
                "args": p.exist,
                "volumeMounts": [{"name": "claim", "mountPath": "/volume", "readOnly": true}],
            }],
            "volumes": [{"name": "claim", "persistentVolumeClaim": {"claimName": p.claim, "readOnly": true}}],
        },
    }))
    .map_err(|e| e.to_string())?;
    let created = pods
        .create(&PostParams::default(), &pod)
        .await
        .map_err(|e| format!("creating a pod that mounts {}: {e}", p.claim))?;
    let name = created.metadata.name.unwrap_or_default();
    let result = probe_output(&pods, &name).await;
    let _ = pods.delete(&name, &DeleteParams::default()).await;
    let output = result?;
    let missing: Vec<&str> = output
        .lines()
        .filter_map(|l| l.strip_prefix("MISSING "))
        .collect();
    let found = output.lines().filter(|l| l.starts_with("FOUND ")).count();
    if !missing.is_empty() {
        return Err(format!(
            "nothing on the volume of {} matches {missing:?}",
            p.claim
        ));
    }
    if found != p.exist.len() {
        return Err(format!("the volume probe said: {output}"));
    }
    Ok(())
}

/// Waits for the probe pod to end and returns its output.
async fn probe_output(pods: &Api<Pod>, name: &str) -> Result<String, String> {
    let ended = kube::runtime::wait::await_condition(pods.clone(), name, |pod: Option<&Pod>| {
        pod.and_then(|p| p.status.as_ref())
            .and_then(|s| s.phase.as_deref())
            .is_some_and(|phase| phase == "Succeeded" || phase == "Failed")
    });
    let pod = match tokio::time::timeout(PROBE_DEADLINE, ended).await {
        Ok(Ok(Some(pod))) => pod,
        Ok(Ok(None)) => return Err(format!("the volume probe pod {name} vanished")),
        Ok(Err(e)) => return Err(format!("watching the volume probe pod {name}: {e}")),
        Err(_) => {
            let phase = pods
                .get(name)
                .await
                .ok()
                .and_then(|p| p.status)
                .and_then(|s| s.phase)
                .unwrap_or_default();
            return Err(format!(
                "the volume probe pod {name} did not finish within {} s (phase {phase})",
                PROBE_DEADLINE.as_secs()
            ));
        }
    };
    let logs = pods
        .logs(name, &LogParams::default())
        .await
        .map_err(|e| format!("logs of the volume probe pod {name}: {e}"))?;
    let phase = pod.status.and_then(|s| s.phase).unwrap_or_default();
    if phase != "Succeeded" {
        return Err(format!(
            "the volume probe pod {name} ended {phase}: {}",
            logs.trim()
        ));
    }
    Ok(logs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_stay_inside_the_volume_and_out_of_the_shell() {
        assert!(valid_pattern(
            "org/apache/maven/plugins/maven-war-plugin/3.3.2/*.jar"
        ));
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../b",
            "a b",
            "$(id)",
            "a;b",
            "'x'",
        ] {
            assert!(!valid_pattern(bad), "{bad:?}");
        }
    }
}
