//! Pod create → Running, and create → first exec answered, on a cached image (ubuntu:16.04).
//! Run with `cargo bench -p harness-kubelet --bench pod_startup`. Prints milliseconds.

use std::time::{Duration, Instant};

use harness_apiserver::{ApiServer, ApiServerConfig};
use harness_images::catalog::{CatalogInputs, UBUNTU_IMAGE, recipes};
use harness_images::{ImageProvisioner, PullPolicy};
use harness_kubelet::{Kubelet, KubeletConfig};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{AttachParams, DeleteParams, PostParams};
use tokio::io::AsyncBufReadExt;

const NODE: &str = "bench-node";
const RUNS: usize = 5;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let docker = bollard::Docker::connect_with_local_defaults()?;
    if docker.ping().await.is_err() {
        println!("SKIPPED pod_startup: no Docker engine answers");
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let provisioner = ImageProvisioner::connect(
        dir.path().join("images"),
        recipes(&CatalogInputs::default()),
    )?
    .with_pulls(false);
    provisioner
        .ensure(UBUNTU_IMAGE, PullPolicy::IfNotPresent)
        .await?;
    let api = ApiServer::start(ApiServerConfig::new(dir.path().join("apiserver"))).await?;
    let client = api.client().await?;
    let env_id = format!(
        "kubelet-bench-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let config = KubeletConfig::new(
        NODE,
        env_id,
        dir.path().join("kubelet"),
        api.url(),
        api.ca_pem(),
    );
    let mut streams = None;
    let kubelet =
        Kubelet::start(config, client.clone(), provisioner, |s| streams = Some(s)).await?;
    if let Some(s) = streams {
        api.register_node_streams(NODE, s);
    }
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let (mut running_ms, mut exec_ms) = (Vec::new(), Vec::new());
    for run in 0..RUNS {
        let name = format!("bench-{run}");
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name},
            "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "main", "image": UBUNTU_IMAGE, "command": ["sleep", "300"]}]}
        }))?;
        let started = Instant::now();
        pods.create(&PostParams::default(), &pod).await?;
        let deadline = started + Duration::from_secs(60);
        loop {
            let phase = pods
                .get(&name)
                .await?
                .status
                .and_then(|s| s.phase)
                .unwrap_or_default();
            if phase == "Running" {
                break;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "pod {name} not Running after 60 s (phase {phase})"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        running_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        let mut attached = pods
            .exec(
                &name,
                vec!["echo", "ready"],
                &AttachParams::default().stderr(false),
            )
            .await?;
        let mut line = String::new();
        if let Some(out) = attached.stdout() {
            tokio::io::BufReader::new(out).read_line(&mut line).await?;
        }
        anyhow::ensure!(line.trim() == "ready", "exec answered {line:?}");
        exec_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        let _ = attached.join().await;
        pods.delete(&name, &DeleteParams::default().grace_period(0))
            .await?;
    }
    report("create -> Running", &mut running_ms);
    report("create -> exec answered", &mut exec_ms);
    kubelet.shutdown().await?;
    api.shutdown().await;
    Ok(())
}

fn report(what: &str, samples: &mut [f64]) {
    samples.sort_by(f64::total_cmp);
    let median = samples[samples.len() / 2];
    let all: Vec<String> = samples.iter().map(|s| format!("{s:.0}")).collect();
    println!(
        "{what}: median {median:.0} ms (runs: {} ms)",
        all.join(", ")
    );
}
