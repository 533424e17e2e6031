//! The terminal shows the harness's own lines; the components' logs go to a log file (here: the
//! cache directory's, as for every command without an environment), and `-v` shows them too.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};

/// What `harness gitlab serve` logs when its GitLab is up.
const LOG_LINE: &str = "embedded GitLab listening";

/// Runs `harness [extra] gitlab serve` until it is up, stops it with Ctrl-C, and returns its
/// stderr.
fn serve_gitlab(cache: &Path, extra: &[&str]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(extra)
        .args(["gitlab", "serve"])
        .env("HARNESS_CACHE_DIR", cache)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("harness gitlab serve starts");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    for line in stdout.lines() {
        if line.unwrap().starts_with("GITLAB_TOKEN=") {
            break;
        }
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{status}: {stderr}");
    stderr
}

#[test]
fn component_logs_go_to_the_log_file_and_with_v_to_the_terminal_too() {
    let cache = tempfile::tempdir().unwrap();
    let log = cache.path().join("logs").join("gitlab.log");

    let quiet = serve_gitlab(cache.path(), &[]);
    assert!(!quiet.contains(LOG_LINE), "logs on the terminal:\n{quiet}");
    assert!(
        !quiet.contains(" INFO ") && !quiet.contains(" WARN "),
        "{quiet}"
    );
    let logged = std::fs::read_to_string(&log).expect("the log file");
    assert!(logged.contains(LOG_LINE), "{logged}");

    let verbose = serve_gitlab(cache.path(), &["-v"]);
    assert!(verbose.contains(LOG_LINE), "{verbose}");
    assert!(
        std::fs::read_to_string(&log).unwrap().contains(LOG_LINE),
        "-v also keeps the log file"
    );
}

/// `harness doctor --brief` (what `./x demo` runs) keeps exactly the rows that are not ok and the
/// summary line; the full listing has every row.
#[test]
fn brief_doctor_keeps_only_what_needs_attention() {
    let doctor = |extra: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_harness"))
            .arg("doctor")
            .args(extra)
            .env_remove("RUST_LOG")
            .output()
            .expect("harness doctor runs");
        String::from_utf8(output.stdout).unwrap()
    };
    let full = doctor(&[]);
    let brief = doctor(&["--brief"]);
    let rows = |text: &str| -> Vec<String> {
        text.lines()
            .take_while(|l| !l.is_empty() && !l.starts_with("doctor finished"))
            .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
            .collect()
    };
    let attention: Vec<String> = rows(&full)
        .into_iter()
        .filter(|row| !row.starts_with("ok "))
        .collect();
    assert!(rows(&full).len() > attention.len(), "{full}");
    assert_eq!(rows(&brief), attention, "full:\n{full}\nbrief:\n{brief}");
    let summary = brief.lines().last().unwrap_or_default();
    assert!(
        summary.starts_with("doctor finished in") && summary.contains("checks ok"),
        "{brief}"
    );
}
