//! The `run` loop without a cluster: config reload, job pickup and failure reporting, and the
//! binary's reaction to SIGTERM / SIGQUIT.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::*;
use harness_gitlab::Status;
use harness_runner::config::{self, Config, KubernetesConfig, RunnerConfig};
use harness_runner::multi::{Shutdown, Supervisor};

const CI: &str =
    "package:\n  image: alpine\n  tags: [gitlab-runner]\n  script:\n    - echo hello\n";

fn unreachable_cluster_runner(url: &str, token: &str) -> RunnerConfig {
    RunnerConfig {
        name: "no-cluster".into(),
        url: url.into(),
        token: token.into(),
        executor: "kubernetes".into(),
        kubernetes: Some(KubernetesConfig {
            // Nothing listens on port 1: pod creation fails with a connection error.
            host: "http://127.0.0.1:1".into(),
            image: "alpine".into(),
            namespace: "gitlab-runners".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn reloaded_config_is_used_and_a_system_failure_is_reported() {
    let (dir, gitlab) = start_gitlab().await;
    let path = dir.path().join("config.toml");
    let mut cfg = Config {
        concurrent: 1,
        check_interval: 1,
        ..Default::default()
    };
    config::save(&path, &cfg).unwrap();
    let shutdown = Shutdown::default();
    let supervisor = tokio::spawn(Supervisor::new(path.clone(), shutdown.clone()).run());

    // The runner appears in config.toml only after `run` started, as after `register`.
    let runner = gitlab.create_runner("no-cluster", &["gitlab-runner"], false);
    cfg.runners
        .push(unreachable_cluster_runner(&gitlab.url(), &runner.token));
    config::save(&path, &cfg).unwrap();

    let (_project, pipeline) = push_project(&gitlab, dir.path(), CI, &[]).await;
    let finished = gitlab.wait_pipeline(pipeline.id, TIMEOUT).await.unwrap();
    assert_eq!(finished.status, Status::Failed);
    let job = gitlab.jobs(pipeline.id)[0].clone();
    assert_eq!(job.failure_reason.as_deref(), Some("runner_system_failure"));
    let trace = gitlab.trace(job.id).unwrap();
    assert!(
        trace.contains("Running with gitlab-runner 12.8.0"),
        "{trace}"
    );
    assert!(
        trace.contains("ERROR: Job failed (system failure):"),
        "{trace}"
    );

    shutdown.graceful.cancel();
    tokio::time::timeout(TIMEOUT, supervisor)
        .await
        .expect("supervisor stops")
        .unwrap()
        .unwrap();
}

async fn signal_stops_the_binary(signal: &str) {
    let (dir, gitlab) = start_gitlab().await;
    let path = dir.path().join("config.toml");
    let runner = gitlab.create_runner("sig", &["gitlab-runner"], false);
    let cfg = Config {
        concurrent: 1,
        check_interval: 1,
        runners: vec![unreachable_cluster_runner(&gitlab.url(), &runner.token)],
        ..Default::default()
    };
    config::save(&path, &cfg).unwrap();
    let mut child = tokio::process::Command::new(runner_bin())
        .args(["run", "--user=gitlab-runner", "--working-directory"])
        .arg(dir.path())
        .arg("-c")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until it polls GitLab (the runner's contact time is recorded).
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while gitlab.runners().iter().all(|r| r.contacted_at.is_none()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the runner never polled GitLab"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid = child.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args([signal, &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("runner exits after the signal")
        .unwrap();
    assert!(exit.success(), "exit status {exit:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_run() {
    signal_stops_the_binary("-TERM").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigquit_stops_run() {
    signal_stops_the_binary("-QUIT").await;
}
