//! Upgrade check: what happens to a values file (and the manifests and commands around it) when
//! it moves from one chart version to another — settings the new chart silently ignores, renamed
//! objects, specs that become invalid, deprecated tokens, the tutorial's patch losing its target,
//! cluster-side leftovers. Each finding carries its fix.

mod checks;
mod cluster;
mod migrate;

use std::fmt;
use std::path::Path;

use crate::chart::ChartVersion;
use crate::error::{ChartError, Result};
use crate::helm::Helm;
use crate::render::ValuesInput;

pub use cluster::TUTORIAL_HELM_COMMANDS;
pub use migrate::{MigrateOptions, migrate_values, migrate_values_yaml, runners_config_toml};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The upgrade breaks something or silently changes behaviour.
    Error,
    /// Works today, breaks later or behaves unexpectedly.
    Warning,
    /// Worth knowing; nothing breaks.
    Info,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        })
    }
}

/// One thing the upgrade changes, with the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// How bad it is.
    pub severity: Severity,
    /// Stable identifier of the kind of finding (e.g. `ignored-job-setting`), for tests and tools.
    pub code: &'static str,
    /// Where: a values key path (`runners.image`), an object (`Deployment/gitlab-runner`), a
    /// manifest file or a command.
    pub key_path: String,
    /// What happens.
    pub message: String,
    /// What to do instead.
    pub fix: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}] {}: {}\n    fix: ",
            self.severity, self.key_path, self.message
        )?;
        let mut lines = self.fix.lines();
        if let Some(first) = lines.next() {
            f.write_str(first)?;
        }
        for line in lines {
            write!(f, "\n         {line}")?;
        }
        Ok(())
    }
}

/// A finding with its fix; the one constructor every check uses.
pub(crate) fn finding(
    severity: Severity,
    code: &'static str,
    key_path: impl Into<String>,
    message: String,
    fix: String,
) -> Finding {
    Finding {
        severity,
        code,
        key_path: key_path.into(),
        message,
        fix,
    }
}

/// Runner settings GitLab keeps on the server for `glrt-` authentication tokens: the chart's
/// register step no longer sends them, so values that carry them change nothing.
pub(crate) const REGISTRATION_ONLY_SETTINGS: &[&str] = &[
    "tags",
    "locked",
    "runUntagged",
    "protected",
    "maximumTimeout",
];

/// Inputs around the values that the check also looks at.
#[derive(Debug, Clone)]
pub struct Manifests {
    /// Release name (`gitlab-runner`).
    pub release_name: String,
    /// Namespace of the release.
    pub namespace: String,
    /// Whether the tutorial's configmap patch is applied to the `from` chart. Also assumed when
    /// the values carry the tutorial's `maven.cache` block.
    pub apply_tutorial_patch: bool,
    /// Extra Kubernetes manifests installed next to the chart: (file name, YAML text), e.g. the
    /// tutorial's PVC and RBAC files.
    pub files: Vec<(String, String)>,
    /// The helm commands used to install/upgrade (Helm 2 syntax is flagged).
    pub helm_commands: Vec<String>,
}

impl Default for Manifests {
    fn default() -> Self {
        Manifests {
            release_name: "gitlab-runner".into(),
            namespace: "default".into(),
            apply_tutorial_patch: false,
            files: Vec::new(),
            helm_commands: Vec::new(),
        }
    }
}

impl Manifests {
    /// The tutorial's surroundings: release `gitlab-runner` in `gitlab-runners`, its patch and
    /// its helm commands (add the PVC/RBAC files with [`Manifests::with_file`]).
    pub fn tutorial() -> Self {
        Manifests {
            namespace: "gitlab-runners".into(),
            apply_tutorial_patch: true,
            helm_commands: TUTORIAL_HELM_COMMANDS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            ..Default::default()
        }
    }

    /// Adds a manifest file.
    pub fn with_file(mut self, name: &str, text: &str) -> Self {
        self.files.push((name.into(), text.into()));
        self
    }
}

/// (major, minor, patch) of a chart version string; unparsable parts are 0.
pub(crate) fn semver(v: &str) -> (u64, u64, u64) {
    let mut parts = v
        .trim_start_matches('v')
        .split(['.', '-', '+'])
        .map(|p| p.parse().unwrap_or(0));
    (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    )
}

/// Whether a change introduced in chart `at` lies on the way from `from` to `to`.
pub(crate) fn crosses(from: &str, to: &str, at: &str) -> bool {
    semver(from) < semver(at) && semver(to) >= semver(at)
}

/// Checks `values` for an upgrade from chart `from` to chart `to`, with default surroundings;
/// `helm` renders both versions.
pub fn upgrade_check(
    helm: &Helm,
    values: &ValuesInput<'_>,
    from: &ChartVersion,
    to: &ChartVersion,
) -> Result<Vec<Finding>> {
    upgrade_check_with(helm, values, from, to, &Manifests::default())
}

/// Checks `values` plus the manifests and commands in `around` for an upgrade `from` → `to`;
/// `helm` renders both versions (`helm template`) for the checks that compare what they make.
pub fn upgrade_check_with(
    helm: &Helm,
    values: &ValuesInput<'_>,
    from: &ChartVersion,
    to: &ChartVersion,
    around: &Manifests,
) -> Result<Vec<Finding>> {
    let (user, file) = values.user_values()?;
    let from_chart = from.load()?;
    let to_chart = to.load()?;
    let ctx = checks::Ctx {
        helm,
        user: &user,
        file: &file,
        from: from_chart.version().to_string(),
        to: to_chart.version().to_string(),
        from_version: from,
        to_version: to,
        to_chart: &to_chart,
        around,
        patched: around.apply_tutorial_patch
            || user.get("maven").and_then(|m| m.get("cache")).is_some(),
    };
    let mut findings = Vec::new();
    findings.extend(checks::job_settings(&ctx));
    findings.extend(checks::tokens(&ctx));
    findings.extend(checks::values_keys(&ctx));
    findings.extend(checks::rendered_changes(&ctx)?);
    findings.extend(checks::patch_target(&ctx));
    findings.extend(cluster::manifests(&around.files));
    findings.extend(cluster::helm_commands(
        &around.helm_commands,
        &around.release_name,
        &ctx,
    ));
    findings.sort_by_key(|f| f.severity);
    Ok(findings)
}

/// For the CLI: reads the values file at `path` and checks it.
pub fn upgrade_check_file(
    helm: &Helm,
    path: &Path,
    from: &ChartVersion,
    to: &ChartVersion,
    around: &Manifests,
) -> Result<Vec<Finding>> {
    let text = std::fs::read_to_string(path).map_err(|source| ChartError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let file = path.display().to_string();
    upgrade_check_with(helm, &ValuesInput::yaml(&text, &file), from, to, around)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_crossing() {
        assert!(crosses("0.14.0", "0.86.0", "0.53.0"));
        assert!(!crosses("0.53.0", "0.86.0", "0.53.0"));
        assert!(!crosses("0.14.0", "0.40.0", "0.41.0"));
    }
}
