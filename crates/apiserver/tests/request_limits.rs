//! Size limits with real kubectl, as on a real cluster: request bodies over 3 MiB get 413,
//! ConfigMaps and Secrets over 1 MiB of data get 422, and other objects too large for etcd
//! (1.5 MiB) are refused with etcd's error instead of being stored.

mod support;

use support::{TestCluster, kubectl_available};

fn config_map(name: &str, bytes: usize) -> String {
    format!(
        "{{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {{\"name\": \"{name}\", \"namespace\": \"default\"}}, \"data\": {{\"blob\": \"{}\"}}}}",
        "x".repeat(bytes)
    )
}

fn secret(name: &str, bytes: usize) -> String {
    format!(
        "{{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {{\"name\": \"{name}\", \"namespace\": \"default\"}}, \"stringData\": {{\"blob\": \"{}\"}}}}",
        "x".repeat(bytes)
    )
}

fn deployment_with_env(bytes: usize) -> String {
    format!(
        r#"{{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {{"name": "huge", "namespace": "default"}},
  "spec": {{"selector": {{"matchLabels": {{"app": "huge"}}}}, "template": {{"metadata": {{"labels": {{"app": "huge"}}}},
  "spec": {{"containers": [{{"name": "c", "image": "busybox:1.36", "env": [{{"name": "BLOB", "value": "{}"}}]}}]}}}}}}}}"#,
        "x".repeat(bytes)
    )
}

const MIB: usize = 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_and_objects_are_refused_like_a_real_server() {
    if !kubectl_available() {
        return;
    }
    let c = TestCluster::start().await;

    // Over 3 MiB: 413 from the body limit, answered (not a dropped connection).
    let out = c.create(&config_map("huge", 4 * MIB), &[]).await;
    out.fails_with(
        1,
        "Error from server (RequestEntityTooLarge): error when creating \"STDIN\": Request entity too large: limit is 3145728",
    );

    // ConfigMap and Secret data over 1 MiB: the validation error.
    let out = c.create(&config_map("big", MIB + 1), &[]).await;
    out.fails_with(
        1,
        "The ConfigMap \"big\" is invalid: []: Too long: may not be more than 1048576 bytes",
    );
    let out = c.create(&secret("big", MIB + 1), &[]).await;
    out.fails_with(
        1,
        "The Secret \"big\" is invalid: data: Too long: may not be more than 1048576 bytes",
    );
    // Just under the limit is fine.
    c.create(&config_map("full", MIB - 64), &[]).await.ok();

    // Any other object too large for etcd: etcd's refusal, nothing stored.
    let out = c.create(&deployment_with_env(2 * MIB), &[]).await;
    out.fails_with(1, "etcdserver: request is too large");
    let out = c.kubectl(&["get", "deploy", "huge"]).await;
    out.fails_with(1, "deployments.apps \"huge\" not found");

    // The server is still there for everyone.
    c.kubectl(&["get", "cm", "full"]).await.ok();
}
