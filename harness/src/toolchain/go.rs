//! Running the `go` command for a build: in a wrapper module's directory, with the environment a
//! reproducible build needs, its output kept for the error and its progress reported.

use std::path::Path;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};

use super::ToolchainError;

/// The environment of every `go` invocation: static binaries, the machine's own Go (no toolchain
/// download), modules resolved through the module proxy only.
const GO_ENV: &[(&str, &str)] = &[
    ("CGO_ENABLED", "0"),
    ("GOTOOLCHAIN", "local"),
    ("GOFLAGS", "-mod=mod -buildvcs=false"),
];

/// `go version`, or why Go cannot be used.
pub(crate) async fn version() -> Result<String, ToolchainError> {
    let output = tokio::process::Command::new("go")
        .arg("version")
        .output()
        .await
        .map_err(|_| ToolchainError::NoGo)?;
    if !output.status.success() {
        return Err(ToolchainError::NoGo);
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Runs `go args…` in `dir`; `progress` receives each line `go` prints (with `-v`, the packages
/// it compiles). Returns stdout.
pub(crate) async fn run(
    dir: &Path,
    args: &[&str],
    progress: &(dyn Fn(&str) + Sync),
) -> Result<String, ToolchainError> {
    let command = format!("go {}", args.join(" "));
    tracing::debug!(%command, dir = %dir.display(), "go");
    let mut child = tokio::process::Command::new("go")
        .args(args)
        .current_dir(dir)
        .envs(GO_ENV.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|_| ToolchainError::NoGo)?;
    let stderr = child.stderr.take().ok_or(ToolchainError::NoGo)?;
    let mut lines = BufReader::new(stderr).lines();
    let mut tail: Vec<String> = vec![];
    while let Ok(Some(line)) = lines.next_line().await {
        progress(&line);
        tail.push(line);
        if tail.len() > 40 {
            tail.remove(0);
        }
    }
    let output = child
        .wait_with_output()
        .await
        .map_err(|_| ToolchainError::NoGo)?;
    if !output.status.success() {
        return Err(ToolchainError::Go {
            command,
            dir: dir.to_owned(),
            output: tail.join("\n"),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
