//! Benchmark: list 10k pods through the kube crate and through real kubectl; prints milliseconds.
//! Run with `cargo bench -p harness-apiserver --bench list_pods`.
//!
//! Besides each client's end-to-end time it prints the parts that are not the server's, measured
//! on the same machine, so a reader can tell server cost from client cost:
//! - the kube crate's share: decoding the very same response bytes into `ObjectList<Pod>`;
//! - kubectl's share: its process start-up (an empty list) and the server time kubectl itself
//!   logs at `-v=6` ("200 OK in N milliseconds").

use std::time::{Duration, Instant};

use harness_apiserver::registry::WriteOptions;
use harness_apiserver::{ApiServer, ApiServerConfig, ApiServerHandle};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, ObjectList};
use serde_json::json;

const PODS: usize = 10_000;
const RUNS: usize = 7;

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

/// Runs `f` RUNS times and returns the median in ms.
async fn timed<F, Fut>(mut f: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let t = Instant::now();
        f().await;
        times.push(t.elapsed());
    }
    median(times)
}

async fn seed(server: &ApiServerHandle) {
    let reg = server.registry();
    let opts = WriteOptions::default();
    let namespaces = reg.kind("", "namespaces").expect("namespaces are served");
    let pods = reg.kind("", "pods").expect("pods are served");
    for ns in ["bench", "empty"] {
        reg.create(namespaces, "", json!({"metadata": {"name": ns}}), &opts)
            .expect("namespace");
    }
    for i in 0..PODS {
        let pod = json!({"metadata": {"name": format!("pod-{i:05}"), "labels": {"app": "bench", "shard": (i % 10).to_string()}},
            "spec": {"nodeName": "node-1", "containers": [{"name": "main", "image": "busybox:1.36", "command": ["sleep", "3600"],
                     "env": [{"name": "A", "value": "1"}], "resources": {"requests": {"cpu": "10m"}}}]}});
        reg.create(pods, "bench", pod, &opts).expect("pod");
    }
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = ApiServerConfig::new(dir.path().join("state"));
    config.run_scheduler = false;
    let server = ApiServer::start(config).await.expect("server starts");
    let started = Instant::now();
    seed(&server).await;
    println!(
        "created {PODS} pods in {:.0} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );

    let client = server.client().await.expect("client");
    let pods: Api<Pod> = Api::namespaced(client, "bench");
    let kube_list = timed(|| async {
        let list = pods.list(&ListParams::default()).await.expect("list");
        assert_eq!(list.items.len(), PODS);
    })
    .await;
    let kube_metadata = timed(|| async {
        let list = pods
            .list_metadata(&ListParams::default())
            .await
            .expect("list");
        assert_eq!(list.items.len(), PODS);
    })
    .await;

    // The same list as raw bytes (server and transfer only, no client-side decoding).
    let ca = reqwest::Certificate::from_pem(server.ca_pem().as_bytes()).expect("ca");
    let http = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .expect("http client");
    let url = format!("{}/api/v1/namespaces/bench/pods", server.url());
    let get = |url: String, accept: &'static str| {
        let req = http
            .get(url)
            .header("accept", accept)
            .bearer_auth(server.admin_token());
        async move { req.send().await.expect("get").bytes().await.expect("body") }
    };
    let body = get(url.clone(), "application/json").await;
    let raw = timed(|| async {
        get(url.clone(), "application/json").await;
    })
    .await;
    let decode = timed(|| async {
        let list: ObjectList<Pod> = serde_json::from_slice(&body).expect("decodes");
        assert_eq!(list.items.len(), PODS);
    })
    .await;
    let table_accept = "application/json;as=Table;v=v1;g=meta.k8s.io";
    let table_body = get(url.clone(), table_accept).await;
    let table = timed(|| async {
        get(url.clone(), table_accept).await;
    })
    .await;
    let pages = timed(|| async {
        let mut cont = String::new();
        loop {
            let page = get(format!("{url}?limit=500&continue={cont}"), table_accept).await;
            let page: serde_json::Value = serde_json::from_slice(&page).expect("json");
            match page["metadata"]["continue"].as_str() {
                Some(c) if !c.is_empty() => cont = c.to_string(),
                _ => break,
            }
        }
    })
    .await;

    println!("\nkube crate, {PODS} pods (median of {RUNS}):");
    println!("  Api::<Pod>::list                          {kube_list:7.1} ms");
    println!("  Api::<Pod>::list_metadata                 {kube_metadata:7.1} ms");
    println!(
        "  of which client-side: decoding the {:.1} MB response into ObjectList<Pod> {decode:.1} ms",
        body.len() as f64 / 1e6
    );
    println!("\nserver only (raw HTTPS, no decoding):");
    println!(
        "  GET list ({:.1} MB)                      {raw:7.1} ms",
        body.len() as f64 / 1e6
    );
    println!(
        "  GET Table ({:.1} MB)                      {table:7.1} ms",
        table_body.len() as f64 / 1e6
    );
    println!("  GET Table in pages of 500 (20 requests)   {pages:7.1} ms");

    kubectl_runs(&server, dir.path());
    server.shutdown().await;
}

/// Times real kubectl (as installed, through its version dispatcher) and splits off what is not
/// the server's time.
fn kubectl_runs(server: &ApiServerHandle, dir: &std::path::Path) {
    let cache = dir.join("kubectl-cache");
    let kubectl = |args: &[&str]| {
        std::process::Command::new("kubectl")
            .env("KUBECONFIG", server.kubeconfig_path())
            .arg("--cache-dir")
            .arg(&cache)
            .args(args)
            .output()
    };
    if !kubectl(&["version"]).is_ok_and(|o| o.status.success()) {
        println!("\nSKIPPED kubectl runs: kubectl is not installed");
        return;
    }
    let run = |args: &[&str]| {
        let mut times = Vec::new();
        for _ in 0..RUNS {
            let t = Instant::now();
            let out = kubectl(args).expect("kubectl runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            times.push(t.elapsed());
        }
        median(times)
    };
    let chunked = run(&["get", "pods", "-n", "bench"]);
    let whole = run(&["get", "pods", "-n", "bench", "--chunk-size=0"]);
    let empty = run(&["get", "pods", "-n", "empty"]);
    // What kubectl itself logs about the requests of one default run.
    let log = kubectl(&["get", "pods", "-n", "bench", "-v=6"]).expect("kubectl runs");
    let log = String::from_utf8_lossy(&log.stderr);
    let lists: Vec<u64> = log
        .lines()
        .filter(|l| l.contains("/namespaces/bench/pods") && l.contains(" 200 OK in "))
        .filter_map(|l| {
            l.split(" 200 OK in ")
                .nth(1)?
                .split(' ')
                .next()?
                .parse()
                .ok()
        })
        .collect();
    let throttled = log
        .lines()
        .filter(|l| l.contains("client-side throttling"))
        .count();
    println!("\nkubectl get pods, {PODS} pods (median of {RUNS}):");
    println!("  default (pages of 500)                    {chunked:7.1} ms");
    println!("  --chunk-size=0 (one request)              {whole:7.1} ms");
    println!("  of which process start-up (empty list)    {empty:7.1} ms");
    println!(
        "  default run at -v=6: {} requests, the server answered in {} ms in all; kubectl waited on its own client-side rate limit (5 requests/s after a burst of 10) {throttled} times",
        lists.len(),
        lists.iter().sum::<u64>()
    );
}
