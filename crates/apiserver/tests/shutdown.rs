//! Stopping the server ends a watch in flight cleanly: the client reads the end of the chunked
//! response and the TLS close, not a truncated stream (which kube-rs reports as a warning on every
//! teardown).

mod support;

use futures::StreamExt;
use support::TestCluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_in_flight_ends_cleanly_when_the_server_stops() {
    let cluster = TestCluster::start().await;
    let ca = reqwest::Certificate::from_pem(cluster.handle.ca_pem().as_bytes()).unwrap();
    let http = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let url = format!("{}/api/v1/namespaces?watch=1", cluster.handle.url());
    let response = http
        .get(&url)
        .bearer_auth(cluster.handle.admin_token())
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let mut body = response.bytes_stream();
    let first = body.next().await.expect("the watch sends the namespaces");
    assert!(first.is_ok(), "{first:?}");

    let TestCluster { handle, dir, .. } = cluster;
    handle.shutdown().await;
    let rest = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(chunk) = body.next().await {
            chunk?;
        }
        Ok::<(), reqwest::Error>(())
    })
    .await
    .expect("the watch ends when the server stops");
    if let Err(e) = rest {
        panic!(
            "the watch ended with an error: {}",
            harness_error_chain::Chain(&e)
        );
    }
    drop(dir);
}
