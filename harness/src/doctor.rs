//! Prerequisites of the embedded environment, checked and (with `--fix`) provided.
//!
//! On Debian/Ubuntu as root, missing packages are installed with one `apt-get install` and a Docker
//! engine that is installed but not running is started (`dockerd`, logging to the cache dir).
//! Elsewhere, or without root, the exact commands to run are printed instead. What only the tests
//! need (python-gitlab) is checked and provided the same way, but its absence does not fail the
//! check.

use std::time::{Duration, Instant};

use crate::process::run;

mod backends;
mod builds;
mod engine;
mod packages;
mod python_gitlab;

pub use engine::{docker_engine, dockerd_log};
use harness_error_chain::Chain;
use packages::install;
pub use packages::missing_packages;

/// Debian packages the embedded environment needs, with why.
pub const PACKAGES: &[(&str, &str)] = &[
    (
        "docker.io",
        "Docker engine that runs pods and builds images",
    ),
    (
        "git",
        "git push of the sample project; git http-backend in the embedded GitLab",
    ),
    ("curl", "HTTP checks in scenarios"),
    ("openjdk-17-jdk-headless", "JDK for Maven builds"),
    ("maven", "Maven (and Debian's Maven repository)"),
    ("maven-debian-helper", "Debian's Maven repository layout"),
    (
        "libmaven-war-plugin-java",
        "maven-war-plugin 3.3.2 for the sample app",
    ),
    ("libmaven-compiler-plugin-java", "Maven compiler plugin"),
    ("libmaven-resources-plugin-java", "Maven resources plugin"),
    ("libmaven-jar-plugin-java", "Maven jar plugin"),
    ("libmaven-install-plugin-java", "Maven install plugin"),
    ("libmaven-clean-plugin-java", "Maven clean plugin"),
    ("libsurefire-java", "Maven surefire plugin"),
    (
        "libjakarta-servlet-api-java",
        "jakarta.servlet-api 5.0.0 for the sample app",
    ),
    ("docker-registry", "the image registry jobs push to"),
    ("debootstrap", "the Debian base of the stand-in images"),
    (
        "containerd",
        "the upstream cluster's container runtime (a private instance)",
    ),
    ("runc", "the OCI runtime under containerd"),
    (
        "containernetworking-plugins",
        "the upstream cluster's pod network (bridge, portmap)",
    ),
    ("iptables", "kube-proxy's Services"),
];

/// One line of the doctor's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckLine {
    /// What was checked.
    pub name: String,
    /// Whether it is usable now.
    pub ok: bool,
    /// Whether only the tests need it: missing, it is reported but the check still passes.
    pub tests_only: bool,
    /// Version or state found.
    pub detail: String,
    /// What was done about it, if anything.
    pub action: Option<String>,
    /// How long the check (and fix) took.
    pub elapsed: Duration,
}

/// The doctor's findings.
#[derive(Debug, Default)]
pub struct Report {
    /// One line per prerequisite.
    pub lines: Vec<CheckLine>,
    /// Commands the user must run (when not fixing, or not able to).
    pub advice: Vec<String>,
}

impl Report {
    /// Whether every prerequisite of the harness itself is usable.
    pub fn ok(&self) -> bool {
        self.lines.iter().all(|l| l.ok || l.tests_only)
    }
}

/// Checks every prerequisite; with `fix`, installs and starts what is missing.
pub async fn check(fix: bool) -> Report {
    let mut report = Report::default();
    let started = Instant::now();
    let debian = is_debian();
    let root = is_root();
    report.lines.push(CheckLine {
        name: "system".into(),
        ok: true,
        tests_only: false,
        detail: format!(
            "{}{}",
            os_name().unwrap_or_else(|| "unknown OS".into()),
            if root { ", root" } else { ", not root" }
        ),
        action: None,
        elapsed: started.elapsed(),
    });

    let started = Instant::now();
    let missing = missing_packages().await;
    if missing.is_empty() {
        report.lines.push(line(
            "packages",
            true,
            format!("{} Debian packages installed", PACKAGES.len()),
            None,
            started,
        ));
    } else if fix && debian && root {
        let result = install(&missing).await;
        let ok = result.is_ok() && missing_packages().await.is_empty();
        report.lines.push(line(
            "packages",
            ok,
            match &result {
                Ok(()) => format!("installed {}", missing.join(" ")),
                Err(e) => format!("apt-get failed: {e}"),
            },
            Some(format!("apt-get install {}", missing.join(" "))),
            started,
        ));
    } else {
        report.lines.push(line(
            "packages",
            false,
            format!("missing: {}", missing.join(" ")),
            None,
            started,
        ));
        report.advice.push(format!(
            "{}apt-get update && {}apt-get install -y {}",
            sudo(root),
            sudo(root),
            missing.join(" ")
        ));
    }

    let started = Instant::now();
    let engine = docker_engine(fix && root).await;
    match engine {
        Ok((version, action)) => {
            report
                .lines
                .push(line("docker engine", true, version, action, started))
        }
        Err(message) => {
            report
                .lines
                .push(line("docker engine", false, message, None, started));
            report.advice.push(format!(
                "{}dockerd &   # or: systemctl start docker",
                sudo(root)
            ));
        }
    }

    report.lines.extend(builds::check(fix).await);
    report.lines.extend(backends::check().await);

    let versions = futures::future::join_all(TOOLS.iter().map(tool_version)).await;
    for (tool, (result, elapsed)) in TOOLS.iter().zip(versions) {
        let (ok, detail) = match result {
            Ok(version) => (true, version),
            Err(e) => (false, e),
        };
        report.lines.push(CheckLine {
            name: tool.name.into(),
            ok,
            tests_only: false,
            detail,
            action: None,
            elapsed,
        });
        if !ok && tool.name == "kubectl" {
            report.advice.push(
                "kubectl 1.27+ is needed on PATH (Debian's kubernetes-client is too old); install it from Kubernetes' packages".into(),
            );
        }
    }

    let python = python_gitlab::check("python3", fix, fix && debian && root).await;
    report.lines.push(python.line);
    report.advice.extend(python.advice);
    report
}

struct Tool {
    name: &'static str,
    program: &'static str,
    args: &'static [&'static str],
    /// Which output stream holds the version.
    stderr: bool,
}

const TOOLS: &[Tool] = &[
    Tool {
        name: "git",
        program: "git",
        args: &["--version"],
        stderr: false,
    },
    Tool {
        name: "java",
        program: "java",
        args: &["-version"],
        stderr: true,
    },
    Tool {
        name: "maven",
        program: "mvn",
        args: &["-B", "-v"],
        stderr: false,
    },
    Tool {
        name: "kubectl",
        program: "kubectl",
        args: &["version", "--client"],
        stderr: false,
    },
    Tool {
        name: "docker-registry",
        program: "docker-registry",
        args: &["--version"],
        stderr: false,
    },
    Tool {
        name: "debootstrap",
        program: "debootstrap",
        args: &["--version"],
        stderr: false,
    },
    Tool {
        name: "docker cli",
        program: "docker",
        args: &["--version"],
        stderr: false,
    },
];

async fn tool_version(tool: &Tool) -> (Result<String, String>, Duration) {
    let started = Instant::now();
    let result = run(tool.program, tool.args, Duration::from_secs(30))
        .await
        .map(|output| {
            let text = if tool.stderr {
                output.stderr
            } else {
                output.stdout
            };
            let text = strip_ansi(&String::from_utf8_lossy(&text));
            text.lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
        .map_err(|e| Chain(&e).to_string());
    (result, started.elapsed())
}

/// Removes terminal colour sequences (`ESC [ … m`) that some tools print even when piped.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn line(
    name: &str,
    ok: bool,
    detail: String,
    action: Option<String>,
    started: Instant,
) -> CheckLine {
    CheckLine {
        name: name.into(),
        ok,
        tests_only: false,
        detail,
        action,
        elapsed: started.elapsed(),
    }
}

fn sudo(root: bool) -> &'static str {
    if root { "" } else { "sudo " }
}

fn is_root() -> bool {
    // SAFETY-free check: the effective uid is what apt and dockerd care about.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|uid| uid == "0"))
        })
        .unwrap_or(false)
}

fn os_release() -> String {
    std::fs::read_to_string("/etc/os-release").unwrap_or_default()
}

fn os_name() -> Option<String> {
    os_release()
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_owned())
}

fn is_debian() -> bool {
    let release = os_release();
    release.lines().any(|l| {
        (l.starts_with("ID=") || l.starts_with("ID_LIKE="))
            && (l.contains("debian") || l.contains("ubuntu"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_only_the_tests_need_does_not_fail_the_check() {
        let mut report = Report::default();
        let started = Instant::now();
        report
            .lines
            .push(line("git", true, "git 2.39".into(), None, started));
        let mut python = line("python-gitlab", false, "absent".into(), None, started);
        python.tests_only = true;
        report.lines.push(python);
        assert!(report.ok());
        report
            .lines
            .push(line("kubectl", false, "absent".into(), None, started));
        assert!(!report.ok());
    }

    #[test]
    fn colour_sequences_are_removed() {
        assert_eq!(
            strip_ansi("\u{1b}[1mApache Maven 3.8.7\u{1b}[m"),
            "Apache Maven 3.8.7"
        );
        assert_eq!(strip_ansi("plain"), "plain");
    }
}
