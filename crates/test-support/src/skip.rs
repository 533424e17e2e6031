//! Tests that cannot run on this machine say so: a missing prerequisite (the Docker engine, git,
//! kubectl, python-gitlab…) prints `SKIPPED: <reason>` instead of passing silently, and under
//! `CI=true` — where `harness doctor --fix` installed everything — it fails the test.

use std::fmt::Display;
use std::process::Command;

/// Reports that the calling test cannot run here, for `reason`: prints `SKIPPED: <reason>`, or
/// panics with the reason when the environment variable `CI` is `true`. The caller returns
/// after it.
pub fn skip(reason: impl Display) {
    skip_in(reason, ci())
}

/// Whether the prerequisite is there: `missing` is why the test cannot run (`None`: it can). When
/// it is missing, [`skip`]s with the reason and returns `false`, for
/// `if !can_run(…) { return; }`.
pub fn can_run(missing: Option<impl Display>) -> bool {
    can_run_in(missing, ci())
}

/// Whether `tool` runs (`tool --version` succeeds); when it does not, [`skip`]s, naming it.
pub fn have(tool: &str) -> bool {
    have_in(tool, ci())
}

/// Whether this is a CI run, where every prerequisite must be there.
fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

fn skip_in(reason: impl Display, ci: bool) {
    if ci {
        panic!("missing prerequisite under CI=true: {reason}");
    }
    eprintln!("SKIPPED: {reason}");
}

fn can_run_in(missing: Option<impl Display>, ci: bool) -> bool {
    match missing {
        None => true,
        Some(reason) => {
            skip_in(reason, ci);
            false
        }
    }
}

fn have_in(tool: &str, ci: bool) -> bool {
    let runs = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    can_run_in(
        (!runs).then(|| format!("`{tool}` is not installed on this machine; this test needs it")),
        ci,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const MISSING: &str = "harness-test-support-no-such-tool";

    #[test]
    fn a_missing_tool_is_skipped_outside_ci() {
        assert!(!have_in(MISSING, false));
        assert!(!can_run_in(Some("no engine"), false));
        assert!(can_run_in(None::<String>, false));
    }

    #[test]
    #[should_panic(expected = "missing prerequisite under CI=true: \
                               `harness-test-support-no-such-tool` is not installed")]
    fn a_missing_tool_fails_under_ci() {
        have_in(MISSING, true);
    }

    /// The real entry point reads `CI` from the environment: run [`have`] in a child test
    /// process with `CI=true` and check that it failed with the reason.
    #[test]
    fn have_reads_ci_from_the_environment() {
        if std::env::var_os("TEST_SUPPORT_CHILD").is_some() {
            have(MISSING);
            return;
        }
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "skip::tests::have_reads_ci_from_the_environment",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("CI", "true")
            .env("TEST_SUPPORT_CHILD", "1")
            .output()
            .unwrap();
        let output = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.status.success(), "the child passed:\n{output}");
        assert!(
            output.contains(&format!("missing prerequisite under CI=true: `{MISSING}`")),
            "{output}"
        );
    }
}
