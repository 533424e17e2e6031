//! Waiting, with deadlines, for each component to be ready — the checks `local-up-cluster.sh`
//! makes — and applying the add-ons' manifests.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::layout::NODE_NAME;
use super::supervisor::Supervisor;

/// How long each component may take to become ready.
const READY: Duration = Duration::from_secs(90);

/// Waits until `path` exists (a socket a component makes when it is ready).
pub(super) async fn wait_file(
    path: &Path,
    name: &str,
    supervisor: &mut Supervisor,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + READY;
    while !path.exists() {
        if Instant::now() >= deadline || !supervisor.running(name) {
            anyhow::bail!("{name} did not start: {}", supervisor.report(name));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Waits until `url` answers 200.
pub(super) async fn wait_http(
    url: &str,
    client: Option<&reqwest::Client>,
    name: &str,
    supervisor: &mut Supervisor,
) -> anyhow::Result<()> {
    let plain = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let client = client.unwrap_or(&plain);
    let deadline = Instant::now() + READY;
    loop {
        if let Ok(r) = client.get(url).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        if Instant::now() >= deadline || !supervisor.running(name) {
            anyhow::bail!("{name} did not become ready: {}", supervisor.report(name));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for the API server's `/readyz`.
pub(super) async fn wait_ready(
    client: &kube::Client,
    supervisor: &mut Supervisor,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + READY;
    loop {
        let request = http::Request::get("/readyz").body(Vec::new())?;
        if client
            .request_text(request)
            .await
            .is_ok_and(|t| t.trim() == "ok")
        {
            return Ok(());
        }
        if Instant::now() >= deadline || !supervisor.running("kube-apiserver") {
            anyhow::bail!(
                "kube-apiserver did not become ready: {}",
                supervisor.report("kube-apiserver")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits (with a watch) for the node to be Ready.
pub(super) async fn wait_node_ready(
    client: &kube::Client,
    supervisor: &mut Supervisor,
) -> anyhow::Result<()> {
    use k8s_openapi::api::core::v1::Node;
    let nodes: kube::Api<Node> = kube::Api::all(client.clone());
    let ready = kube::runtime::wait::await_condition(nodes, NODE_NAME, |node: Option<&Node>| {
        node.and_then(|n| n.status.as_ref())
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
    });
    match tokio::time::timeout(READY, ready).await {
        Ok(Ok(_)) => Ok(()),
        _ => anyhow::bail!(
            "node {NODE_NAME} did not become Ready: {}",
            supervisor.report("kubelet")
        ),
    }
}

/// Waits (with a watch) for CoreDNS to be Available.
pub(super) async fn wait_coredns(
    client: &kube::Client,
    supervisor: &mut Supervisor,
) -> anyhow::Result<()> {
    use k8s_openapi::api::apps::v1::Deployment;
    let deployments: kube::Api<Deployment> = kube::Api::namespaced(client.clone(), "kube-system");
    let available =
        kube::runtime::wait::await_condition(deployments, "coredns", |d: Option<&Deployment>| {
            d.is_some_and(crate::scenario::steps::deployment_available)
        });
    match tokio::time::timeout(READY, available).await {
        Ok(Ok(_)) => Ok(()),
        _ => anyhow::bail!(
            "CoreDNS did not become Available: {}",
            supervisor.report("kubelet")
        ),
    }
}

/// Server-side applies every document of `yaml`.
pub(super) async fn apply(client: &kube::Client, yaml: &str) -> anyhow::Result<()> {
    use kube::api::{DynamicObject, Patch, PatchParams};
    use kube::discovery::{ApiResource, Discovery, Scope};
    let discovery = Discovery::new(client.clone()).run().await?;
    for document in serde_norway::Deserializer::from_str(yaml) {
        let object: DynamicObject = serde::Deserialize::deserialize(document)?;
        let types = object
            .types
            .clone()
            .context("a document has no apiVersion/kind")?;
        let gvk = kube::core::GroupVersionKind::try_from(&types)?;
        let (resource, capabilities): (ApiResource, _) = discovery
            .resolve_gvk(&gvk)
            .with_context(|| format!("the cluster does not serve {gvk:?}"))?;
        let name = object
            .metadata
            .name
            .clone()
            .context("a document has no name")?;
        let api: kube::Api<DynamicObject> = match capabilities.scope {
            Scope::Namespaced => kube::Api::namespaced_with(
                client.clone(),
                object.metadata.namespace.as_deref().unwrap_or("default"),
                &resource,
            ),
            Scope::Cluster => kube::Api::all_with(client.clone(), &resource),
        };
        api.patch(
            &name,
            &PatchParams::apply("gitlab-k8s-harness"),
            &Patch::Apply(&object),
        )
        .await
        .with_context(|| format!("applying {} {name}", types.kind))?;
    }
    Ok(())
}
