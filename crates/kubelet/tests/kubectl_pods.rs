//! Real kubectl against the embedded API server with this kubelet running the pods.

mod support;

use std::time::{Duration, Instant};

use support::{Env, finished, running, waiting_reason};

const MINUTE: Duration = Duration::from_secs(60);
/// The first use of a stand-in image may build it from Debian packages.
const IMAGE_BUILD: Duration = Duration::from_secs(600);
/// Why the first container of a pod terminated (`Completed`, `Error`, `OOMKilled`).
const TERMINATED_REASON: &str = "{.status.containerStatuses[0].state.terminated.reason}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_logs_exec_and_graceful_delete() {
    let Some(env) = Env::start("run_logs_exec_and_graceful_delete").await else {
        return;
    };

    // kubectl run + logs -f: the stream follows the container until it exits.
    env.run_ubuntu(
        "hello",
        "Never",
        &[
            "sh",
            "-c",
            "for i in 1 2 3; do echo line-$i; sleep 0.4; done",
        ],
    );
    env.wait_pod("default", "hello", IMAGE_BUILD, |p| {
        running(p) || finished(p)
    })
    .await;
    let logs = env.kubectl_ok(&["logs", "-f", "hello"]);
    assert_eq!(logs, "line-1\nline-2\nline-3\n");
    let done = env.wait_pod("default", "hello", MINUTE, finished).await;
    assert_eq!(support::phase(&done), "Succeeded");
    let reason = env.jsonpath(&["pod", "hello"], TERMINATED_REASON);
    assert_eq!(reason, "Completed");
    assert_eq!(env.kubectl_ok(&["logs", "hello", "--tail=1"]), "line-3\n");
    let stamped = env.kubectl_ok(&["logs", "hello", "--timestamps"]);
    for line in stamped.lines() {
        let (stamp, text) = line.split_once(' ').expect("timestamp prefix");
        assert!(
            stamp
                .parse::<chrono::DateTime<chrono::FixedOffset>>()
                .is_ok(),
            "{line}"
        );
        assert!(text.starts_with("line-"), "{line}");
    }

    // exec: identity and the ServiceAccount volume, stdin round trip, exit codes.
    env.run_ubuntu("shell", "Never", &["sleep", "300"]);
    env.wait_pod("default", "shell", MINUTE, running).await;
    let out = env.kubectl_ok(&[
        "exec",
        "shell",
        "--",
        "sh",
        "-c",
        "id; ls /var/run/secrets/kubernetes.io/serviceaccount",
    ]);
    assert!(out.contains("uid=0(root)"), "{out}");
    for file in ["ca.crt", "namespace", "token"] {
        assert!(out.lines().any(|l| l == file), "{file} missing in {out}");
    }
    let env_out = env.kubectl_ok(&[
        "exec",
        "shell",
        "--",
        "sh",
        "-c",
        "echo $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT",
    ]);
    assert_eq!(env_out.trim(), env.api.url().trim_start_matches("https://"));
    let echoed = env.kubectl_stdin(&["exec", "-i", "shell", "--", "cat"], Some(b"round trip\n"));
    assert!(
        echoed.status.success(),
        "{}",
        String::from_utf8_lossy(&echoed.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&echoed.stdout), "round trip\n");
    let failed = env.kubectl(&["exec", "shell", "--", "sh", "-c", "exit 3"]);
    assert_eq!(
        failed.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&failed.stderr)
    );

    // attach: stdin reaches the main process of a container created with `stdin: true`.
    env.apply(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: attacher\nspec:\n  restartPolicy: Never\n  containers:\n  - name: main\n    image: ubuntu:16.04\n    stdin: true\n    command: [\"sh\", \"-c\", \"read line; echo got:$line\"]\n",
    );
    env.wait_pod("default", "attacher", MINUTE, running).await;
    let attached = env.kubectl_stdin(
        &["attach", "-i", "attacher", "-c", "main"],
        Some(b"via attach\n"),
    );
    assert!(
        String::from_utf8_lossy(&attached.stdout).contains("got:via attach"),
        "{attached:?}"
    );
    let done = env.wait_pod("default", "attacher", MINUTE, finished).await;
    assert_eq!(support::phase(&done), "Succeeded");
    assert_eq!(env.kubectl_ok(&["logs", "attacher"]), "got:via attach\n");

    // Graceful deletion: `sleep` as PID 1 ignores SIGTERM, so the kill comes after the grace period.
    let started = Instant::now();
    env.kubectl_ok(&["delete", "pod", "shell", "--grace-period=2"]);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(30),
        "delete took {took:?}"
    );
    env.wait_pod_gone("default", "shell", MINUTE).await;
    let left = env.pod_containers("shell").await;
    assert!(
        left.is_empty(),
        "the deleted pod's containers remain: {left:?}"
    );
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_and_missing_images_are_reported() {
    let Some(env) = Env::start("exit_codes_and_missing_images_are_reported").await else {
        return;
    };

    env.run_ubuntu("fails", "Never", &["sh", "-c", "echo bye >&2; exit 7"]);
    env.kubectl_ok(&[
        "run",
        "missing",
        "--image=registry.invalid/nothing-here:1",
        "--restart=Never",
    ]);
    env.kubectl_ok(&[
        "run",
        "never",
        "--image=registry.invalid/nothing-here:2",
        "--image-pull-policy=Never",
        "--restart=Never",
    ]);

    env.wait_pod("default", "fails", IMAGE_BUILD, finished)
        .await;
    let fails = ["pod", "fails"];
    let code = env.jsonpath(
        &fails,
        "{.status.containerStatuses[0].state.terminated.exitCode}",
    );
    assert_eq!(code, "7");
    assert_eq!(env.jsonpath(&fails, "{.status.phase}"), "Failed");
    assert_eq!(env.jsonpath(&fails, TERMINATED_REASON), "Error");
    assert_eq!(env.kubectl_ok(&["logs", "fails"]), "bye\n");

    let pod = env
        .wait_pod("default", "missing", MINUTE, |p| {
            matches!(waiting_reason(p), Some("ErrImagePull" | "ImagePullBackOff"))
        })
        .await;
    assert_eq!(support::phase(&pod), "Pending");
    env.wait_events("default", "missing", &["Pulling", "Failed"])
        .await;

    env.wait_pod("default", "never", MINUTE, |p| {
        waiting_reason(p) == Some("ErrImageNeverPull")
    })
    .await;

    env.kubectl_ok(&[
        "delete",
        "pod",
        "fails",
        "missing",
        "never",
        "--grace-period=1",
    ]);
    env.wait_pod_gone("default", "missing", MINUTE).await;
    env.finish().await;
}
