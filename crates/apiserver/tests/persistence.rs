//! `persist`: a server restarted on its state directory carries on where it stopped — the same
//! objects and resourceVersions, the same address and CA, and the kubeconfig, ServiceAccount
//! tokens and client certificates it handed out still work — checked with real kubectl and the
//! kube crate.

mod support;

use std::time::Duration;

use futures::StreamExt;
use harness_apiserver::{ApiServer, ApiServerConfig};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, WatchEvent, WatchParams};
use support::{TestCluster, eventually, kubectl_available};

const ID_AND_RV: &str = "jsonpath={.metadata.uid} {.metadata.resourceVersion}";

async fn pod_names(c: &TestCluster) -> Vec<String> {
    let out = c
        .kubectl(&["get", "pods", "-n", "keep", "-o", "name"])
        .await;
    let mut names: Vec<String> = out.ok().lines().map(String::from).collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_carries_on() {
    if !kubectl_available() {
        return;
    }
    let c = TestCluster::start_with(|c| c.persist = true).await;
    c.kubectl(&["create", "ns", "keep"]).await.ok();
    c.kubectl(&[
        "create",
        "configmap",
        "settings",
        "-n",
        "keep",
        "--from-literal=colour=blue",
    ])
    .await
    .ok();
    c.kubectl(&[
        "create",
        "deployment",
        "web",
        "-n",
        "keep",
        "--image=nginx:1.27",
        "--replicas=2",
    ])
    .await
    .ok();
    let pods = eventually(
        "the Deployment's two pods",
        Duration::from_secs(20),
        || async {
            let names = pod_names(&c).await;
            (names.len() == 2).then_some(names)
        },
    )
    .await;
    let settings = c
        .kubectl(&["get", "cm", "settings", "-n", "keep", "-o", ID_AND_RV])
        .await;
    let settings = settings.ok().to_string();
    let sa_token = c
        .handle
        .service_account_token("keep", "default", 3600)
        .unwrap();
    let (cert, key) = c
        .handle
        .issue_client_cert("alice", &["system:masters"])
        .unwrap();
    let (url, ca) = (c.handle.url(), c.handle.ca_pem().to_string());
    let client = c.handle.client().await.unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client, "keep");
    let old_rv = cms
        .get("settings")
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();

    let c = c.restart().await;
    assert_eq!(c.handle.url(), url, "the same address (the port was free)");
    assert_eq!(c.handle.ca_pem(), ca, "the same CA");
    let again = c
        .kubectl(&["get", "cm", "settings", "-n", "keep", "-o", ID_AND_RV])
        .await;
    assert_eq!(again.ok(), settings, "same uid and resourceVersion");
    assert_eq!(
        pod_names(&c).await,
        pods,
        "the same pods, none added by the controllers"
    );
    let created = c
        .kubectl(&["create", "configmap", "later", "-n", "keep"])
        .await;
    created.ok();
    let later = c
        .kubectl(&[
            "get",
            "cm",
            "later",
            "-n",
            "keep",
            "-o",
            "jsonpath={.metadata.resourceVersion}",
        ])
        .await;
    let later: u64 = later.ok().parse().unwrap();
    assert!(
        later > old_rv.parse::<u64>().unwrap(),
        "resourceVersions go on from {old_rv}, got {later}"
    );

    // A ServiceAccount token from before the restart authenticates (RBAC then says no).
    let as_sa = c
        .kubectl(&["--token", &sa_token, "get", "pods", "-n", "keep"])
        .await;
    as_sa.fails_with(
        1,
        "User \"system:serviceaccount:keep:default\" cannot list resource \"pods\"",
    );
    // So does a client certificate signed before the restart.
    let files = c.dir.path();
    std::fs::write(files.join("alice.crt"), cert).unwrap();
    std::fs::write(files.join("alice.key"), key).unwrap();
    std::fs::write(files.join("ca.crt"), &ca).unwrap();
    let as_alice = c
        .kubectl(&[
            "--kubeconfig=/dev/null",
            &format!("--server={url}"),
            &format!("--certificate-authority={}", files.join("ca.crt").display()),
            &format!("--client-certificate={}", files.join("alice.crt").display()),
            &format!("--client-key={}", files.join("alice.key").display()),
            "get",
            "ns",
            "keep",
            "-o",
            "name",
        ])
        .await;
    assert_eq!(as_alice.ok().trim(), "namespace/keep");

    // A watch from before the restart cannot resume: 410 Expired, so clients relist.
    let client = c.handle.client().await.unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client, "keep");
    let mut stream = cms
        .watch(&WatchParams::default(), &old_rv)
        .await
        .unwrap()
        .boxed();
    let first = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .unwrap();
    match first {
        Some(Ok(WatchEvent::Error(e))) => assert_eq!(e.code, 410, "{e:?}"),
        other => panic!("expected 410 Expired, got {other:?}"),
    }
    c.handle.shutdown().await;
}

#[tokio::test]
async fn an_unreadable_snapshot_names_the_file_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(
        state.join("cluster-state.json"),
        "{\"format\": 1, \"objects\": ",
    )
    .unwrap();
    let mut config = ApiServerConfig::new(&state);
    config.persist = true;
    let err = ApiServer::start(config).await.err().expect("refused");
    let message = err.to_string();
    assert!(message.contains("cluster-state.json"), "{message}");
    assert!(message.contains("move the file away"), "{message}");
}

#[tokio::test]
async fn without_persist_nothing_is_saved() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let server = ApiServer::start(ApiServerConfig::new(&state))
        .await
        .unwrap();
    server.shutdown().await;
    assert!(state.join("kubeconfig").exists());
    assert!(!state.join("cluster-state.json").exists());
}
