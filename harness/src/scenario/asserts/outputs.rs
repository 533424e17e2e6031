//! Assertions on what the pipeline left behind: its artifacts (GitLab's API), files on the cache
//! volume (a pod that mounts the claim), the Deployment it applied (the cluster's API) and that
//! Deployment's HTTP answer.

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::ListParams;

use super::{Verdict, job_of};
use crate::environment::Environment;
use crate::scenario::model::{ArtifactsAssert, DeploymentAssert, DeploymentRef, HttpAssert};
use crate::scenario::steps::{RunState, deployment_available, deployment_image};
use crate::scenario::vars::Vars;
use harness_error_chain::Chain;

pub(super) use super::volume_probe::pvc_files;

pub(super) async fn artifacts(env: &Environment, state: &RunState, x: &ArtifactsAssert) -> Verdict {
    let job = job_of(env, state, &x.job).await?;
    let bytes = env
        .gitlab
        .artifacts(env.project.id, job.id)
        .await
        .map_err(|e| Chain(&e).to_string())?
        .ok_or(format!("job {} has no artifacts archive", x.job))?;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("artifacts are not a zip: {e}"))?;
    let mut names = vec![];
    for i in 0..archive.len() {
        if let Ok(file) = archive.by_index(i) {
            names.push(file.name().to_owned());
        }
    }
    for want in &x.contains {
        let pattern = glob::Pattern::new(want).map_err(|e| format!("{want}: {e}"))?;
        if !names.iter().any(|n| pattern.matches(n)) {
            return Err(format!(
                "artifacts of {} are {names:?}; nothing matches {want}",
                x.job
            ));
        }
    }
    Ok(())
}

pub(super) async fn deployment(env: &Environment, d: &DeploymentAssert, vars: &Vars) -> Verdict {
    let api: Api<Deployment> = Api::namespaced(env.kube.clone(), &d.namespace);
    let deployment = api
        .get(&d.name)
        .await
        .map_err(|e| format!("deployment {}: {e}", d.name))?;
    if let Some(image) = &d.image {
        let image = vars.expand(image)?;
        let got = deployment_image(&deployment);
        if got.as_deref() != Some(image.as_str()) {
            return Err(format!("deployment image is {got:?}, expected {image}"));
        }
    }
    if let Some(want) = d.available
        && deployment_available(&deployment) != want
    {
        return Err(format!(
            "deployment Available is {}, expected {want}",
            !want
        ));
    }
    Ok(())
}

/// How long an HTTP assertion keeps asking.
const HTTP_PATIENCE: Duration = Duration::from_secs(60);

/// GETs the URL (or the Deployment's pod) until it answers as expected; returns what was asked
/// and the status with the body's first line.
pub(super) async fn http(
    env: &Environment,
    h: &HttpAssert,
    vars: &Vars,
) -> Result<(String, String), String> {
    let want = h.status.unwrap_or(200);
    let (url, body) = ask_until(env, h, vars, HTTP_PATIENCE).await?;
    let first = body.lines().next().unwrap_or_default().trim().to_owned();
    Ok((url, format!("{want} {first}")))
}

/// Asks a Deployment's pod on `port` until its answer contains `expect` (the benchmark's wait).
pub(crate) async fn wait_answer(
    env: &Environment,
    deployment: &DeploymentRef,
    port: u16,
    path: &str,
    expect: &str,
    patience: Duration,
) -> Result<(), String> {
    let h = HttpAssert {
        url: None,
        deployment: Some(deployment.clone()),
        port: Some(port),
        path: Some(path.to_owned()),
        status: None,
        body_contains: vec![],
    };
    let deadline = Instant::now() + patience;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match ask_until(env, &h, &env.vars, left).await {
            Ok((_, answer)) if answer.contains(expect) => return Ok(()),
            Ok((url, answer)) if Instant::now() >= deadline => {
                return Err(format!("{url} answered {answer:?}, without {expect:?}"));
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(e) => return Err(e),
        }
    }
}

async fn ask_until(
    env: &Environment,
    h: &HttpAssert,
    vars: &Vars,
    patience: Duration,
) -> Result<(String, String), String> {
    let want = h.status.unwrap_or(200);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + patience;
    let mut last = String::new();
    while Instant::now() < deadline {
        let (url, _forward) = match target_url(env, h, vars).await {
            Ok(target) => target,
            Err(e) => {
                last = e;
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        match client.get(&url).send().await {
            Ok(response) if response.status().as_u16() == want => {
                let body = response.text().await.unwrap_or_default();
                let mut missing = None;
                for text in &h.body_contains {
                    let text = vars.expand(text)?;
                    if !body.contains(&text) {
                        missing = Some(text);
                        break;
                    }
                }
                match missing {
                    None => return Ok((url, body)),
                    Some(text) => last = format!("{url} answered {body:?}, without {text:?}"),
                }
            }
            Ok(response) => last = format!("{url}: status {}", response.status()),
            Err(e) => last = format!("{url}: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(format!(
        "no answer {want} within {} s (last: {last})",
        patience.as_secs()
    ))
}

/// The URL to ask, and the port-forward that must live while it is asked.
async fn target_url(
    env: &Environment,
    h: &HttpAssert,
    vars: &Vars,
) -> Result<(String, Option<crate::environment::kubectl::PortForward>), String> {
    if let Some(url) = &h.url {
        return Ok((vars.expand(url)?, None));
    }
    let (Some(deployment), Some(port)) = (&h.deployment, h.port) else {
        return Err("http needs `url`, or `deployment` with `port`".into());
    };
    let path = h.path.clone().unwrap_or_else(|| "/".into());
    let pod = ready_pod(env, deployment).await?;
    let name = pod.metadata.name.clone().unwrap_or_default();
    if env.powers.port_forward {
        let forward = env
            .kubectl
            .port_forward(
                &deployment.namespace,
                &format!("pod/{name}"),
                port,
                Duration::from_secs(20),
            )
            .await?;
        let url = format!("http://127.0.0.1:{}{path}", forward.local_port);
        return Ok((url, Some(forward)));
    }
    // Without port-forward the pod's own address is asked; on a host-network cluster that is
    // this machine.
    let ip = pod
        .status
        .and_then(|s| s.pod_ip)
        .ok_or(format!("pod {name} has no IP yet"))?;
    Ok((format!("http://{ip}:{port}{path}"), None))
}

/// A Ready pod of the Deployment's current revision (during a rollout the old ones still answer).
async fn ready_pod(env: &Environment, d: &DeploymentRef) -> Result<Pod, String> {
    use k8s_openapi::api::apps::v1::ReplicaSet;
    let deployments: Api<Deployment> = Api::namespaced(env.kube.clone(), &d.namespace);
    let deployment = deployments
        .get(&d.name)
        .await
        .map_err(|e| format!("deployment {}: {e}", d.name))?;
    let mut labels = deployment
        .spec
        .as_ref()
        .and_then(|s| s.selector.match_labels.clone())
        .unwrap_or_default();
    const REVISION: &str = "deployment.kubernetes.io/revision";
    let revision = deployment
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(REVISION))
        .cloned();
    let uid = deployment.metadata.uid.clone();
    let sets: Api<ReplicaSet> = Api::namespaced(env.kube.clone(), &d.namespace);
    if let Ok(list) = sets.list(&ListParams::default()).await {
        let current = list.items.into_iter().find(|rs| {
            let owned = rs
                .metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| Some(&o.uid) == uid.as_ref());
            let same = rs
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(REVISION))
                == revision.as_ref();
            owned && same && revision.is_some()
        });
        if let Some(hash) = current
            .and_then(|rs| rs.metadata.labels)
            .and_then(|l| l.get("pod-template-hash").cloned())
        {
            labels.insert("pod-template-hash".into(), hash);
        }
    }
    let selector = labels
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let pods: Api<Pod> = Api::namespaced(env.kube.clone(), &d.namespace);
    let list = pods
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| format!("pods of deployment {}: {e}", d.name))?;
    list.items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .find(|p| {
            p.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
        })
        .ok_or(format!(
            "deployment {} has no Ready pod of its current revision",
            d.name
        ))
}
