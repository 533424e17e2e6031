//! Shared helpers: an embedded GitLab, a pushed project, the runner binaries.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use harness_gitlab::{GitLab, GitLabConfig, GitLabHandle, Pipeline, Project};
use harness_runner::api::{Client, RegisterRequest, RegisterResponse, VersionInfo};
use tempfile::TempDir;

pub const TIMEOUT: Duration = Duration::from_secs(60);
pub const REGISTRATION_TOKEN: &str = "nnxxxxxxxxxxxxxxxS";

/// The chart's base `config.toml` for the tutorial's values (ConfigMap key `config.toml`).
pub const CONFIGMAP_BASE: &str =
    "concurrent = 10\ncheck_interval = 30\nlog_level = \"info\"\nlisten_address = '[::]:9252'\n";

/// The environment chart 0.14.0 sets on the runner container for the tutorial's values
/// (`CI_SERVER_URL` is filled in per test).
pub const CHART_ENV: &[(&str, &str)] = &[
    ("CLONE_URL", ""),
    ("RUNNER_REQUEST_CONCURRENCY", "1"),
    ("RUNNER_EXECUTOR", "kubernetes"),
    ("REGISTER_LOCKED", "true"),
    ("RUNNER_TAG_LIST", "gitlab-runner"),
    ("RUNNER_OUTPUT_LIMIT", "4096"),
    ("KUBERNETES_IMAGE", "ubuntu:16.04"),
    ("KUBERNETES_PRIVILEGED", "true"),
    ("KUBERNETES_NAMESPACE", "gitlab-runners"),
    ("KUBERNETES_POLL_TIMEOUT", "180"),
    ("KUBERNETES_CPU_LIMIT", ""),
    ("KUBERNETES_MEMORY_LIMIT", ""),
    ("KUBERNETES_CPU_REQUEST", ""),
    ("KUBERNETES_MEMORY_REQUEST", ""),
    ("KUBERNETES_SERVICE_ACCOUNT", "gitlab"),
    ("KUBERNETES_SERVICE_CPU_LIMIT", ""),
    ("KUBERNETES_SERVICE_MEMORY_LIMIT", ""),
    ("KUBERNETES_SERVICE_CPU_REQUEST", ""),
    ("KUBERNETES_SERVICE_MEMORY_REQUEST", ""),
    ("KUBERNETES_HELPER_CPU_LIMIT", ""),
    ("KUBERNETES_HELPER_MEMORY_LIMIT", ""),
    ("KUBERNETES_HELPER_CPU_REQUEST", ""),
    ("KUBERNETES_HELPER_MEMORY_REQUEST", ""),
    ("KUBERNETES_HELPER_IMAGE", ""),
    ("KUBERNETES_PULL_POLICY", "if-not-present"),
];

/// A GitLab on a random port whose state lives in a temp dir.
pub async fn start_gitlab() -> (TempDir, GitLabHandle) {
    let dir = tempfile::tempdir().unwrap();
    let config = GitLabConfig::new(dir.path().join("gitlab"))
        .registration_token(REGISTRATION_TOKEN)
        .trace_update_interval(1)
        .long_poll(Duration::from_secs(5));
    let gitlab = GitLab::start(config).await.unwrap();
    (dir, gitlab)
}

/// Registers a runner the way the chart's values do (tag `gitlab-runner`, locked, tagged jobs
/// only) through the runner's own API client.
pub async fn register_runner(client: &Client, description: &str) -> RegisterResponse {
    client
        .register(&RegisterRequest {
            token: REGISTRATION_TOKEN.into(),
            description: description.into(),
            tag_list: "gitlab-runner".into(),
            run_untagged: false,
            locked: true,
            access_level: String::new(),
            maximum_timeout: 0,
            paused: false,
            info: VersionInfo::new(""),
        })
        .await
        .unwrap()
}

/// Runs `cmd` to the end, fails the test with its output unless it succeeded, and returns
/// its standard output.
pub async fn run_ok(cmd: &mut tokio::process::Command) -> String {
    let out = cmd.output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{:?} failed:\n{stdout}{}",
        cmd.as_std(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

// Each test binary uses its own subset.
#[allow(unused_imports)]
pub use harness_test_support::{can_run, git, have};

/// Creates `grp/demo`, pushes a repo holding `ci` as `.gitlab-ci.yml` plus `files`, and
/// returns the project and the pipeline the push created.
pub async fn push_project(
    gitlab: &GitLabHandle,
    work: &Path,
    ci: &str,
    files: &[(&str, &str)],
) -> (Project, Pipeline) {
    let project = gitlab.create_project("grp/demo").await.unwrap();
    let repo = work.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::write(repo.join(".gitlab-ci.yml"), ci).unwrap();
    for (path, content) in files {
        let p = repo.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "init"]);
    git(&repo, &["push", "-q", &gitlab.push_url(&project), "master"]);
    let pipelines = gitlab.wait_pipelines(&project, 1, TIMEOUT).await.unwrap();
    (project, pipelines[0].clone())
}

/// The `gitlab-runner` binary built from this crate.
pub fn runner_bin() -> &'static str {
    env!("CARGO_BIN_EXE_gitlab-runner")
}

/// The `gitlab-runner-helper` binary built from this crate.
pub fn helper_bin() -> &'static str {
    env!("CARGO_BIN_EXE_gitlab-runner-helper")
}
