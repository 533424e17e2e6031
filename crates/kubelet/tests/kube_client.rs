//! The kube crate as a client of the node: exec with a terminal and resize, node registration.

mod support;

use std::time::Duration;

use futures::SinkExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::{AttachParams, PostParams, TerminalSize};
use support::{Env, NODE, running};
use tokio::io::AsyncReadExt;

/// Creates pod `default/<name>` (one `sleep 300` container) with the kube crate and waits until
/// it runs; returns the pods API it used.
async fn start_sleeper(env: &Env, name: &str, restart_policy: Option<&str>) -> Api<Pod> {
    let pods: Api<Pod> = Api::namespaced(env.client.clone(), "default");
    let mut pod = serde_json::json!({
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "main", "image": "ubuntu:16.04", "command": ["sleep", "300"]}]}
    });
    if let Some(policy) = restart_policy {
        pod["spec"]["restartPolicy"] = policy.into();
    }
    let pod: Pod = serde_json::from_value(pod).unwrap();
    pods.create(&PostParams::default(), &pod)
        .await
        .expect("create pod");
    env.wait_pod("default", name, Duration::from_secs(600), running)
        .await;
    pods
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_is_registered_with_heartbeat() {
    let Some(env) = Env::start("node_is_registered_with_heartbeat").await else {
        return;
    };
    let node = Api::<Node>::all(env.client.clone())
        .get(NODE)
        .await
        .expect("node");
    let status = node.status.expect("node status");
    let info = status.node_info.expect("nodeInfo");
    assert!(
        info.container_runtime_version.starts_with("docker://"),
        "{}",
        info.container_runtime_version
    );
    let ready = status
        .conditions
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.type_ == "Ready")
        .expect("Ready condition");
    assert_eq!(ready.status, "True");
    assert!(
        status
            .addresses
            .unwrap_or_default()
            .iter()
            .any(|a| a.type_ == "InternalIP" && a.address == "127.0.0.1")
    );
    let leases: Api<Lease> = Api::namespaced(env.client.clone(), "kube-node-lease");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while leases.get_opt(NODE).await.expect("get lease").is_none() {
        assert!(std::time::Instant::now() < deadline, "no node Lease");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_with_a_terminal_follows_resizes() {
    let Some(env) = Env::start("exec_with_a_terminal_follows_resizes").await else {
        return;
    };
    let pods = start_sleeper(&env, "term", None).await;
    // The shell polls its terminal size until the resize arrives (bounded to ~10 s).
    let script = "for i in $(seq 100); do s=$(stty size); [ \"$s\" = \"40 100\" ] && break; sleep 0.1; done; echo size=$s";
    let mut attached = pods
        .exec(
            "term",
            vec!["sh", "-c", script],
            &AttachParams::interactive_tty(),
        )
        .await
        .expect("exec with tty");
    let mut resize = attached.terminal_size().expect("resize channel");
    resize
        .send(TerminalSize {
            width: 100,
            height: 40,
        })
        .await
        .expect("send resize");
    let mut output = String::new();
    attached
        .stdout()
        .expect("stdout")
        .read_to_string(&mut output)
        .await
        .expect("read");
    assert!(output.contains("size=40 100"), "{output:?}");
    drop(resize);
    let _ = attached.join().await;
    env.kubectl_ok(&["delete", "pod", "term", "--grace-period=1"]);
    env.wait_pod_gone("default", "term", Duration::from_secs(60))
        .await;
    env.finish().await;
}

/// A current-thread runtime: dropping the handle must not need the caller's runtime.
#[tokio::test]
async fn dropping_the_handle_removes_the_containers() {
    let Some(mut env) = Env::start("dropping_the_handle_removes_the_containers").await else {
        return;
    };
    start_sleeper(&env, "left", Some("Never")).await;
    assert_eq!(env.containers().await.len(), 1);
    drop(env.kubelet.take());
    assert!(
        env.containers().await.is_empty(),
        "containers remain after drop"
    );
    env.finish().await;
}
