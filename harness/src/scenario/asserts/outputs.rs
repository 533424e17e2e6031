//! Assertions on what the pipeline left behind: its artifacts, files on the cache volume, the
//! Deployment it applied and that Deployment's HTTP answer.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use kube::Api;

use super::{Verdict, job_id};
use crate::environment::Environment;
use crate::scenario::model::{ArtifactsAssert, DeploymentAssert, HttpAssert, PvcFilesAssert};
use crate::scenario::steps::{RunState, deployment_available, deployment_image};
use crate::scenario::vars::Vars;

pub(super) async fn artifacts(env: &Environment, state: &RunState, x: &ArtifactsAssert) -> Verdict {
    let id = job_id(env, state, &x.job)?;
    let bytes = env
        .gitlab
        .artifacts(id)
        .await
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

pub(super) async fn pvc_files(env: &Environment, p: &PvcFilesAssert) -> Verdict {
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(env.client.clone(), &p.namespace);
    let claim = get(&claims, "PVC", &p.claim).await?;
    let volume = claim
        .spec
        .and_then(|s| s.volume_name)
        .ok_or(format!("PVC {} is not bound", p.claim))?;
    let pvs: Api<PersistentVolume> = Api::all(env.client.clone());
    let pv = get(&pvs, "PV", &volume).await?;
    let dir = pv
        .spec
        .and_then(|s| s.host_path)
        .map(|h| h.path)
        .ok_or(format!("PV {volume} has no hostPath directory"))?;
    for want in &p.exist {
        let pattern = format!("{dir}/{want}");
        let found = glob::glob(&pattern)
            .map_err(|e| e.to_string())?
            .flatten()
            .next();
        if found.is_none() {
            return Err(format!("nothing on PV {volume} ({dir}) matches {want}"));
        }
    }
    Ok(())
}

pub(super) async fn deployment(env: &Environment, d: &DeploymentAssert, vars: &Vars) -> Verdict {
    let api: Api<Deployment> = Api::namespaced(env.client.clone(), &d.namespace);
    let deployment = get(&api, "deployment", &d.name).await?;
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

/// GETs the URL until it answers as expected; returns the answer's first line.
pub(super) async fn http(h: &HttpAssert, vars: &Vars) -> Result<String, String> {
    let url = vars.expand(&h.url)?;
    let want = h.status.unwrap_or(200);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut last = String::new();
    while std::time::Instant::now() < deadline {
        match client.get(&url).send().await {
            Ok(response) if response.status().as_u16() == want => {
                let body = response.text().await.unwrap_or_default();
                for text in &h.body_contains {
                    let text = vars.expand(text)?;
                    if !body.contains(&text) {
                        return Err(format!("{url} answered {body:?}, without {text:?}"));
                    }
                }
                return Ok(format!(
                    "{want} {}",
                    body.lines().next().unwrap_or_default().trim()
                ));
            }
            Ok(response) => last = format!("status {}", response.status()),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(format!(
        "{url} did not answer {want} within 60 s (last: {last})"
    ))
}

/// Reads the `kind` object `name`; the error names both.
async fn get<K>(api: &Api<K>, kind: &str, name: &str) -> Result<K, String>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.get(name)
        .await
        .map_err(|e| format!("{kind} {name}: {e}"))
}
