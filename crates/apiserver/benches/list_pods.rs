//! Benchmark: list 10k pods through kube-rs and through real kubectl; prints milliseconds.
//! Run with `cargo bench -p harness-apiserver --bench list_pods`.

use std::time::{Duration, Instant};

use harness_apiserver::registry::WriteOptions;
use harness_apiserver::{ApiServer, ApiServerConfig};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use serde_json::json;

const PODS: usize = 10_000;
const RUNS: usize = 7;

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = ApiServerConfig::new(dir.path().join("state"));
    config.run_scheduler = false;
    let server = ApiServer::start(config).await.expect("server starts");
    let reg = server.registry();
    let opts = WriteOptions::default();
    reg.create(
        reg.kind("", "namespaces"),
        "",
        json!({"metadata": {"name": "bench"}}),
        &opts,
    )
    .expect("namespace");
    let started = Instant::now();
    for i in 0..PODS {
        let pod = json!({"metadata": {"name": format!("pod-{i:05}"), "labels": {"app": "bench", "shard": (i % 10).to_string()}},
            "spec": {"nodeName": "node-1", "containers": [{"name": "main", "image": "busybox:1.36", "command": ["sleep", "3600"],
                     "env": [{"name": "A", "value": "1"}], "resources": {"requests": {"cpu": "10m"}}}]}});
        reg.create(reg.kind("", "pods"), "bench", pod, &opts)
            .expect("pod");
    }
    println!(
        "created {PODS} pods in {:.0} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );

    let client = server.client().await.expect("client");
    let pods: Api<Pod> = Api::namespaced(client, "bench");
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let list = pods.list(&ListParams::default()).await.expect("list");
        assert_eq!(list.items.len(), PODS);
        times.push(t.elapsed());
    }
    println!(
        "kube-rs Api::<Pod>::list of {PODS} pods: median {:.1} ms over {RUNS} runs",
        median(times)
    );

    // The same list as raw bytes (server and transfer only, no client-side decoding).
    let ca = reqwest::Certificate::from_pem(server.ca_pem().as_bytes()).expect("ca");
    let http = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .expect("http client");
    let url = format!("{}/api/v1/namespaces/bench/pods", server.url());
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..RUNS {
        let t = Instant::now();
        let body = http
            .get(&url)
            .bearer_auth(server.admin_token())
            .send()
            .await
            .expect("get")
            .bytes()
            .await
            .expect("body");
        size = body.len();
        times.push(t.elapsed());
    }
    println!(
        "raw GET of the list ({:.1} MB): median {:.1} ms",
        size as f64 / 1e6,
        median(times)
    );
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let mut cont = String::new();
        loop {
            let page: serde_json::Value = http
                .get(format!("{url}?limit=500&continue={cont}"))
                .header("accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
                .bearer_auth(server.admin_token())
                .send()
                .await
                .expect("get")
                .json()
                .await
                .expect("json");
            match page["metadata"]["continue"].as_str() {
                Some(c) if !c.is_empty() => cont = c.to_string(),
                _ => break,
            }
        }
        times.push(t.elapsed());
    }
    println!(
        "raw GET of Table pages (limit=500): median {:.1} ms",
        median(times)
    );

    let cache = dir.path().join("kubectl-cache");
    let kubectl = |args: &[&str]| {
        std::process::Command::new("kubectl")
            .env("KUBECONFIG", server.kubeconfig_path())
            .arg("--cache-dir")
            .arg(&cache)
            .args(args)
            .output()
    };
    match kubectl(&["version"]) {
        Ok(o) if o.status.success() => {
            for (label, args) in [
                (
                    "kubectl get pods (table, chunks of 500)",
                    vec!["get", "pods", "-n", "bench"],
                ),
                (
                    "kubectl get pods -o name",
                    vec!["get", "pods", "-n", "bench", "-o", "name"],
                ),
                (
                    "kubectl get pods --chunk-size=0",
                    vec!["get", "pods", "-n", "bench", "--chunk-size=0"],
                ),
            ] {
                let mut times = Vec::new();
                for _ in 0..RUNS {
                    let t = Instant::now();
                    let out = kubectl(&args).expect("kubectl runs");
                    assert!(
                        out.status.success(),
                        "{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    times.push(t.elapsed());
                }
                println!("{label}: median {:.1} ms over {RUNS} runs", median(times));
            }
            let mut floor = Vec::new();
            for _ in 0..RUNS {
                let t = Instant::now();
                let _ = std::process::Command::new("kubectl")
                    .args(["version", "--client"])
                    .output();
                floor.push(t.elapsed());
            }
            println!(
                "kubectl process floor (version --client): median {:.1} ms",
                median(floor)
            );
        }
        _ => println!("SKIPPED kubectl runs: kubectl is not installed"),
    }
    server.shutdown().await;
}
