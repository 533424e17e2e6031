//! Running a client program (kubectl, helm) to completion with a deadline, keeping what it said.

use std::time::Duration;

/// What a client invocation produced.
#[derive(Debug, Clone)]
pub struct CommandOutput {
    /// The command line, for messages.
    pub command: String,
    /// Exit code (-1 when killed or not started).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl CommandOutput {
    /// The command and what it printed, as a step's output shows it.
    pub fn shown(&self) -> String {
        format!("$ {}\n{}{}", self.command, self.stdout, self.stderr)
    }
}

/// Runs `command` (program, arguments and environment set) within `timeout`; `line` is the
/// command line shown in messages.
pub(crate) async fn run(
    mut command: tokio::process::Command,
    line: String,
    timeout: Duration,
) -> CommandOutput {
    let program = command
        .as_std()
        .get_program()
        .to_string_lossy()
        .into_owned();
    let child = command
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let failed = |stderr: String| CommandOutput {
        command: line.clone(),
        code: -1,
        stdout: String::new(),
        stderr,
    };
    match tokio::time::timeout(timeout, child).await {
        Ok(Ok(output)) => CommandOutput {
            command: line.clone(),
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        },
        Ok(Err(e)) => failed(format!("cannot run {program}: {e}")),
        Err(_) => failed(format!("`{line}` did not finish within {timeout:?}")),
    }
}
