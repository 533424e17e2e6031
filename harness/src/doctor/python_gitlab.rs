//! python-gitlab, the Python GitLab client that `crates/gitlab`'s tests drive the embedded GitLab
//! with: found when `python3` imports it, installed from PyPI with pip (`--fix`) otherwise. Only
//! the tests need it, so its absence does not fail the doctor.

use crate::process;
use std::time::{Duration, Instant};

use super::CheckLine;

/// What pip installs and the name the check reports.
const PACKAGE: &str = "python-gitlab";
/// How long one pip run may take (it downloads from PyPI).
const PIP_TIMEOUT: Duration = Duration::from_secs(300);

/// The check's line and, when it is missing and not fixed, the command that provides it.
pub(super) struct Found {
    pub line: CheckLine,
    pub advice: Option<String>,
}

/// Checks that `python` imports python-gitlab; with `fix`, pip-installs it first when it does
/// not (installing Debian's `python3-pip` first when `apt` allows and pip is missing).
pub(super) async fn check(python: &str, fix: bool, apt: bool) -> Found {
    let started = Instant::now();
    if let Some(version) = version(python).await {
        return found(
            true,
            format!("{PACKAGE} {version} (for the tests)"),
            None,
            started,
        );
    }
    let advice = format!("{python} -m pip install {PACKAGE}");
    if !fix {
        return missing(
            format!("{python} cannot import it (the tests need it)"),
            None,
            advice,
            started,
        );
    }
    let action = Some(format!("pip install {PACKAGE}"));
    if apt
        && pip(python, &["--version"]).await.is_err()
        && let Err(e) = super::packages::install(&["python3-pip".to_owned()]).await
    {
        tracing::warn!(error = %e, "could not install python3-pip");
    }
    let installed = install(python).await;
    match (installed, version(python).await) {
        (_, Some(version)) => found(true, format!("{PACKAGE} {version}"), action, started),
        (Err(e), None) => missing(format!("pip failed: {e}"), action, advice, started),
        (Ok(()), None) => missing(
            format!("pip installed it, but {python} still cannot import it"),
            action,
            advice,
            started,
        ),
    }
}

/// python-gitlab's version, when `python` imports it.
async fn version(python: &str) -> Option<String> {
    let script = "import gitlab, sys; sys.stdout.write(gitlab.__version__)";
    let output = process::output(python, &["-c", script], Duration::from_secs(30))
        .await
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// `pip install python-gitlab`. A Python that is managed by the system (PEP 668: Debian's own)
/// refuses; the tests need the package importable by that very `python3`, so pip is asked again
/// to install it anyway.
async fn install(python: &str) -> Result<(), String> {
    let base = ["install", "--quiet", "--disable-pip-version-check", PACKAGE];
    let Err(refusal) = pip(python, &base).await else {
        return Ok(());
    };
    if !refusal.contains("externally-managed-environment") {
        return Err(refusal);
    }
    let mut anyway = base.to_vec();
    anyway.push("--break-system-packages");
    pip(python, &anyway).await
}

/// `python -m pip ARGS…`: `Err` holds the end of pip's error output.
async fn pip(python: &str, args: &[&str]) -> Result<(), String> {
    let mut all = vec!["-m", "pip"];
    all.extend_from_slice(args);
    let output = process::output(python, &all, PIP_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(format!(
        "`{python} {}` exited with {}: {}",
        all.join(" "),
        output.status,
        stderr.trim()
    ))
}

/// A failed check with the command that would fix it.
fn missing(detail: String, action: Option<String>, advice: String, started: Instant) -> Found {
    Found {
        advice: Some(advice),
        ..found(false, detail, action, started)
    }
}

fn found(ok: bool, detail: String, action: Option<String>, started: Instant) -> Found {
    Found {
        line: CheckLine {
            name: PACKAGE.into(),
            ok,
            tests_only: true,
            detail,
            action,
            elapsed: started.elapsed(),
        },
        advice: None,
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};

    use super::*;

    /// A stand-in `python3` whose system refuses pip installs without `--break-system-packages`
    /// (as Debian's does); it imports python-gitlab 4.5.6 once "installed", and logs its
    /// arguments.
    const FAKE_PYTHON: &str = r#"#!/bin/sh
dir="$(dirname "$0")"
echo "$*" >> "$dir/calls"
case "$*" in
  "-c "*) [ -f "$dir/installed" ] && { printf 4.5.6; exit 0; }
          echo "ModuleNotFoundError: No module named 'gitlab'" >&2; exit 1 ;;
  "-m pip --version") echo "pip 23.0.1"; exit 0 ;;
  *--break-system-packages*) touch "$dir/installed"; exit 0 ;;
  "-m pip install"*) echo "error: externally-managed-environment" >&2; exit 1 ;;
esac
exit 2
"#;

    fn fake_python(dir: &Path) -> PathBuf {
        let path = dir.join("python3");
        std::fs::write(&path, FAKE_PYTHON).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn calls(dir: &Path) -> String {
        std::fs::read_to_string(dir.join("calls")).unwrap_or_default()
    }

    #[tokio::test]
    async fn missing_without_fix_is_reported_with_the_command() {
        let dir = tempfile::tempdir().unwrap();
        let python = fake_python(dir.path());
        let found = check(python.to_str().unwrap(), false, false).await;
        assert!(!found.line.ok && found.line.tests_only, "{:?}", found.line);
        assert!(
            found
                .advice
                .as_deref()
                .is_some_and(|a| a.ends_with("-m pip install python-gitlab")),
            "{:?}",
            found.advice
        );
        assert!(!calls(dir.path()).contains("pip install"));
    }

    #[tokio::test]
    async fn fix_installs_it_also_into_a_system_managed_python() {
        let dir = tempfile::tempdir().unwrap();
        let python = fake_python(dir.path());
        let found = check(python.to_str().unwrap(), true, false).await;
        assert!(found.line.ok, "{:?}", found.line);
        assert_eq!(found.line.detail, "python-gitlab 4.5.6");
        assert_eq!(
            found.line.action.as_deref(),
            Some("pip install python-gitlab")
        );
        assert!(found.advice.is_none());
        let calls = calls(dir.path());
        assert!(
            calls.contains(
                "-m pip install --quiet --disable-pip-version-check python-gitlab \
                 --break-system-packages"
            ),
            "{calls}"
        );
    }

    #[tokio::test]
    async fn already_importable_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let python = fake_python(dir.path());
        std::fs::write(dir.path().join("installed"), "").unwrap();
        let found = check(python.to_str().unwrap(), true, false).await;
        assert!(
            found.line.ok && found.line.action.is_none(),
            "{:?}",
            found.line
        );
        assert!(!calls(dir.path()).contains("pip"));
    }
}
