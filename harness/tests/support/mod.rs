//! Helpers shared by the harness's integration tests: running the docker CLI, temp copies of the
//! sample project, and a guard that removes every container a test labelled.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The label every container a test starts carries.
pub const ENV_LABEL: &str = "io.gitlab-k8s-harness.env";

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Whether a Docker engine answers; tests that need one print why they skip.
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
}

impl Drop for ContainerGuard {
    fn drop(&mut self) {
        let ids = self.remaining();
        if !ids.is_empty() {
            let mut args = vec!["rm".to_owned(), "-f".to_owned()];
            args.extend(ids);
            let _ = Command::new("docker").args(&args).output();
        }
    }
}
