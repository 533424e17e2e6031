//! Kinds nothing on the embedded cluster runs (Jobs, CronJobs, StatefulSets, DaemonSets) are not
//! served: kubectl gets the answers a real server gives for a kind it does not serve, instead of
//! a `created` for an object that would never start.

mod support;

use support::{TestCluster, kubectl_available};

const JOB: &str = r#"{"apiVersion": "batch/v1", "kind": "Job",
  "metadata": {"name": "pi", "namespace": "default"},
  "spec": {"template": {"spec": {"restartPolicy": "Never",
    "containers": [{"name": "pi", "image": "busybox:1.36", "command": ["echo", "3.14"]}]}}}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_is_refused_like_an_unserved_kind() {
    if !kubectl_available() {
        return;
    }
    let c = TestCluster::start().await;

    // From a manifest: kubectl finds no mapping for the kind in discovery.
    let out = c.create(JOB, &[]).await;
    out.fails_with(1, "no matches for kind \"Job\" in version \"batch/v1\"");
    out.stderr_says("resource mapping not found for name: \"pi\"");

    // By resource name: none of the four is a resource type here.
    for resource in ["jobs", "cronjobs", "statefulsets", "daemonsets"] {
        let out = c.kubectl(&["get", resource]).await;
        out.fails_with(
            1,
            &format!("the server doesn't have a resource type \"{resource}\""),
        );
    }

    // A direct POST to the group-version's path: 404, as for any resource a server lacks.
    let out = c
        .kubectl_stdin(
            &[
                "create",
                "--raw",
                "/apis/batch/v1/namespaces/default/jobs",
                "-f",
                "-",
            ],
            Some(JOB),
        )
        .await;
    out.fails_with(
        1,
        "Error from server (NotFound): the server could not find the requested resource",
    );

    // `kubectl create job` posts to the same path.
    let out = c
        .kubectl(&["create", "job", "pi", "--image=busybox:1.36", "--", "true"])
        .await;
    out.fails_with(1, "the server could not find the requested resource");

    // Nothing was stored, and the kinds that do run still list under `all`.
    c.kubectl(&["get", "all", "-A"]).await.ok();
}
