//! Running external programs with clear errors and their output captured.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

/// Why an external program did not give what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The program could not be started (usually: not installed).
    #[error("cannot run `{program}`")]
    Spawn {
        /// Program name.
        program: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// It ran longer than allowed and was killed.
    #[error("`{command}` did not finish within {timeout:?}")]
    Timeout {
        /// The command line.
        command: String,
        /// The limit.
        timeout: Duration,
    },
    /// It exited unsuccessfully.
    #[error("`{command}` exited with {status}: {stderr}")]
    Failed {
        /// The command line.
        command: String,
        /// Exit status.
        status: std::process::ExitStatus,
        /// The last lines of its stderr.
        stderr: String,
    },
}

/// Runs `program args…` to completion within `timeout`, returning its output when it succeeded.
pub async fn run(program: &str, args: &[&str], timeout: Duration) -> Result<Output, ProcessError> {
    run_in(Path::new("."), program, args, &[], timeout).await
}

/// Like [`run`], in directory `dir` with extra environment variables.
pub async fn run_in(
    dir: &Path,
    program: &str,
    args: &[&str],
    env: &[(&str, &str)],
    timeout: Duration,
) -> Result<Output, ProcessError> {
    let output = output_in(dir, program, args, env, timeout).await?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(ProcessError::Failed {
            command: command_line(program, args),
            status: output.status,
            stderr: tail(&String::from_utf8_lossy(&output.stderr), 10),
        })
    }
}

/// Runs `program args…` to completion within `timeout` and returns its whole output whatever its
/// exit status, for callers that read a failure's output themselves (all of stderr, not its end).
pub async fn output(
    program: &str,
    args: &[&str],
    timeout: Duration,
) -> Result<Output, ProcessError> {
    output_in(Path::new("."), program, args, &[], timeout).await
}

async fn output_in(
    dir: &Path,
    program: &str,
    args: &[&str],
    env: &[(&str, &str)],
    timeout: Duration,
) -> Result<Output, ProcessError> {
    let child = tokio::process::Command::new(program)
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(timeout, child).await {
        Err(_) => Err(ProcessError::Timeout {
            command: command_line(program, args),
            timeout,
        }),
        Ok(Err(source)) => Err(ProcessError::Spawn {
            program: program.to_owned(),
            source,
        }),
        Ok(Ok(output)) => Ok(output),
    }
}

fn command_line(program: &str, args: &[&str]) -> String {
    std::iter::once(program)
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The last `lines` lines of `text`.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Finds an executable on PATH (shared with the image provisioner).
pub use harness_images::which;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn failing_program_reports_command_and_stderr() {
        let err = run(
            "sh",
            &["-c", "echo boom >&2; exit 3"],
            Duration::from_secs(10),
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(err.contains("sh -c") && err.contains("boom"), "{err}");
    }

    #[tokio::test]
    async fn missing_program_is_a_spawn_error() {
        let err = run("no-such-program-xyz", &[], Duration::from_secs(10))
            .await
            .unwrap_err();
        assert!(matches!(err, ProcessError::Spawn { .. }), "{err}");
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
    }
}
