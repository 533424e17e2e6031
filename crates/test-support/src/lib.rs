//! Helpers the crates' integration tests share (a dev-dependency only): git isolated from the
//! user's configuration, the Helm the harness builds, test logging, and reporting tests that
//! cannot run here ([`skip`]).
#![warn(missing_docs)]

mod skip;

pub use skip::{can_run, have, skip};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs git in `dir` isolated from the user's and the system's configuration (own HOME under
/// `dir`, fixed identity, `master` as the first branch, no credential helpers or prompts) and
/// returns its output, for tests that expect a failure.
pub fn git_output(dir: &Path, args: &[&str]) -> Output {
    let home = dir.join(".git-home");
    std::fs::create_dir_all(&home).expect("creating the isolated git HOME");
    Command::new("git")
        .args([
            "-c",
            "user.name=Harness Test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "init.defaultBranch=master",
            "-c",
            "credential.helper=",
        ])
        .args(args)
        .current_dir(dir)
        .env("HOME", &home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "/bin/false")
        .output()
        .expect("git runs")
}

/// [`git_output`] that must succeed: panics with git's stderr, returns trimmed stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = git_output(dir, args);
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The Helm version `harness build helm` builds.
const HELM_VERSION: &str = "v4.3.2";

/// The `helm` binary `harness build helm` made (in the harness's cache, found as the harness finds
/// it: `$HARNESS_CACHE_DIR`, `$XDG_CACHE_HOME/gitlab-k8s-harness`, `~/.cache/gitlab-k8s-harness`),
/// or `$HELM_BIN`. Charts are rendered by Helm, so tests that render cannot run without it: this
/// panics with how to get it.
pub fn helm_binary() -> PathBuf {
    let binary = std::env::var_os("HELM_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            harness_cache()
                .join("bin")
                .join(format!("helm-{HELM_VERSION}"))
                .join("helm")
        });
    assert!(
        binary.is_file(),
        "Helm {HELM_VERSION} is not built ({} is missing): run `harness build helm`, or set HELM_BIN",
        binary.display()
    );
    binary
}

fn harness_cache() -> PathBuf {
    if let Some(dir) = std::env::var_os("HARNESS_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Path::new(&dir).join("gitlab-k8s-harness");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join(".cache").join("gitlab-k8s-harness")
}

/// Sends `tracing` output to the test's captured output (`RUST_LOG`, default `warn`); safe to
/// call from every test.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
}
