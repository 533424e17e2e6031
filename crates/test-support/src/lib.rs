//! Helpers the crates' integration tests share (a dev-dependency only): git isolated from the
//! user's configuration, test logging, and reporting tests that cannot run here ([`skip`]).
#![warn(missing_docs)]

mod skip;

pub use skip::{can_run, have, skip};

use std::path::Path;
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

/// Sends `tracing` output to the test's captured output (`RUST_LOG`, default `warn`); safe to
/// call from every test.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
}
