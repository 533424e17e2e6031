//! Helpers shared by the harness's integration tests: running the docker CLI, temp copies of the
//! sample project, a guard that removes every container a test labelled, and the set-up every
//! Docker test starts with ([`DockerTest`]).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use harness::services::maven_repo::{DEBIAN_MAVEN_REPO, MavenRepoHandle};
use harness_images::PullPolicy;

/// The label every container a test starts carries.
pub const ENV_LABEL: &str = "io.gitlab-k8s-harness.env";

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Whether a Docker engine answers (tests that need one skip through [`DockerTest::start`]).
pub fn docker_available() -> bool {
    Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs the docker CLI with a private client config directory.
pub fn docker(config: &Path, args: &[&str]) -> Output {
    Command::new("docker")
        .env("DOCKER_CONFIG", config)
        .args(args)
        .output()
        .expect("docker CLI runs")
}

/// Like [`docker`], failing the test with the CLI's output when it does not succeed.
pub fn docker_ok(config: &Path, args: &[&str]) -> String {
    let out = docker(config, args);
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Copies the sample project (without build output) into `dir`.
pub fn copy_sample_app(dir: &Path) -> PathBuf {
    let dest = dir.join("sample-java-app");
    harness::environment::git::copy_tree(&repo_root().join("sample-java-app"), &dest)
        .expect("copying the sample project");
    dest
}

/// Removes every container labelled with `id` when dropped, and checks none is left.
pub struct ContainerGuard {
    /// The label value.
    pub id: String,
}

impl ContainerGuard {
    /// A guard with a fresh environment id.
    pub fn new(prefix: &str) -> Self {
        Self {
            id: format!("{prefix}-{}", std::process::id()),
        }
    }

    /// `--label io.gitlab-k8s-harness.env=<id>`.
    pub fn label(&self) -> String {
        format!("{ENV_LABEL}={}", self.id)
    }

    /// Ids of containers carrying this guard's label.
    pub fn remaining(&self) -> Vec<String> {
        let out = Command::new("docker")
            .args(["ps", "-aq", "--filter", &format!("label={}", self.label())])
            .output()
            .expect("docker ps");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }

    /// Force-removes every container carrying this guard's label.
    pub fn remove_all(&self) {
        let ids = self.remaining();
        if !ids.is_empty() {
            let mut args = vec!["rm".to_owned(), "-f".to_owned()];
            args.extend(ids);
            let _ = Command::new("docker").args(&args).output();
        }
    }
}

impl Drop for ContainerGuard {
    fn drop(&mut self) {
        self.remove_all();
    }
}

/// What a Docker test starts with: a runtime, the stand-in images it needs, a container guard, a
/// temp dir and a private docker client config inside it.
pub struct DockerTest {
    /// Runs the harness's async services.
    pub rt: tokio::runtime::Runtime,
    /// Labels and removes the test's containers.
    pub guard: ContainerGuard,
    /// Everything the test writes.
    pub tmp: tempfile::TempDir,
    /// `DOCKER_CONFIG` for the docker CLI (`<tmp>/docker-config`).
    pub config: PathBuf,
}

impl DockerTest {
    /// Provisions `images` and sets up a test whose containers carry `<prefix>-<pid>`; `None`
    /// (with the reason printed) when no Docker engine answers.
    pub fn start(prefix: &str, images: &[&str]) -> Option<Self> {
        if !harness_test_support::can_run(
            (!docker_available())
                .then_some("no Docker engine answers (run `harness doctor --fix`)"),
        ) {
            return None;
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let provisioner = harness::images::provisioner().unwrap();
        for image in images {
            rt.block_on(provisioner.ensure(image, PullPolicy::IfNotPresent))
                .unwrap_or_else(|e| panic!("{image}: {e}"));
        }
        let tmp = tempfile::tempdir().unwrap();
        let config = tmp.path().join("docker-config");
        std::fs::create_dir_all(&config).unwrap();
        Some(Self {
            rt,
            guard: ContainerGuard::new(prefix),
            tmp,
            config,
        })
    }

    /// Runs the docker CLI (see [`docker`]).
    pub fn docker(&self, args: &[&str]) -> Output {
        docker(&self.config, args)
    }

    /// Runs the docker CLI, failing the test when it fails (see [`docker_ok`]).
    pub fn docker_ok(&self, args: &[&str]) -> String {
        docker_ok(&self.config, args)
    }

    /// `docker run --rm --label <guard's label> ARGS…`, returning its output.
    pub fn run_rm(&self, args: &[&str]) -> String {
        let label = self.guard.label();
        let mut all = vec!["run", "--rm", "--label", &label];
        all.extend_from_slice(args);
        self.docker_ok(&all)
    }

    /// The harness's Maven service on a free loopback port.
    pub fn start_maven(&self) -> MavenRepoHandle {
        self.rt
            .block_on(MavenRepoHandle::start(
                std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
                Path::new(DEBIAN_MAVEN_REPO),
            ))
            .unwrap()
    }

    /// A copy of the sample project and an empty local Maven repository for it, both in the
    /// temp dir: `(app, m2)`.
    pub fn sample_app_and_m2(&self) -> (PathBuf, PathBuf) {
        let app = copy_sample_app(self.tmp.path());
        let m2 = self.tmp.path().join("m2");
        std::fs::create_dir_all(&m2).unwrap();
        (app, m2)
    }

    /// Removes the test's containers now and fails the test if any survives.
    pub fn assert_cleaned_up(&self) {
        self.guard.remove_all();
        let left = self.guard.remaining();
        assert!(
            left.is_empty(),
            "containers of {} remain: {left:?}",
            self.guard.id
        );
    }
}
