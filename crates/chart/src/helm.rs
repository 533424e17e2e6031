//! The real `helm` binary. Every chart is rendered by `helm template` and installed by `helm
//! upgrade --install`, so what the harness shows and applies is what Helm makes of the chart.
//! The binary is given by the caller (the harness builds it from Helm's Go module); this module
//! runs it with its config, cache and data directories under a directory the caller owns, so a
//! user's `~/.config/helm` or `HELM_*` variables change nothing.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{ChartError, Result};

/// A `helm` binary to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Helm {
    binary: PathBuf,
}

impl Helm {
    /// The `helm` at `binary`.
    pub fn new(binary: impl Into<PathBuf>) -> Self {
        Self {
            binary: binary.into(),
        }
    }

    /// The binary it runs.
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// `helm` with `HELM_CONFIG_HOME`, `HELM_CACHE_HOME` and `HELM_DATA_HOME` under `home` and
    /// no other `HELM_*` variable of this process (a stray `HELM_DRIVER` or `HELM_NAMESPACE`
    /// would change where releases go).
    pub fn command(&self, home: &Path) -> Command {
        let mut command = Command::new(&self.binary);
        let inherited: Vec<OsString> = std::env::vars_os()
            .map(|(key, _)| key)
            .filter(|key| key.to_string_lossy().starts_with("HELM_"))
            .collect();
        for key in inherited {
            command.env_remove(key);
        }
        for (key, dir) in [
            ("HELM_CONFIG_HOME", "config"),
            ("HELM_CACHE_HOME", "cache"),
            ("HELM_DATA_HOME", "data"),
        ] {
            command.env(key, home.join(dir));
        }
        command.stdin(std::process::Stdio::null());
        command
    }

    /// `helm template RELEASE CHART_DIR --namespace NAMESPACE -f VALUES --set K=V…`: what it
    /// prints, or its error.
    pub(crate) fn template(&self, home: &Path, args: &TemplateArgs<'_>) -> Result<String> {
        let mut command = self.command(home);
        command
            .arg("template")
            .arg(args.release)
            .arg(args.chart_dir)
            .arg("--namespace")
            .arg(args.namespace)
            .arg("-f")
            .arg(args.values_file);
        for (key, value) in args.set {
            command.arg("--set").arg(format!("{key}={value}"));
        }
        let output = command
            .output()
            .map_err(|error| ChartError::HelmNotRunnable {
                binary: self.binary.clone(),
                error,
            })?;
        if !output.status.success() {
            let message = String::from_utf8_lossy(&output.stderr);
            let message = message.trim().trim_start_matches("Error: ").to_owned();
            return Err(ChartError::Helm {
                fix: fix_for(&message),
                message,
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

/// What `helm template` is asked to render.
pub(crate) struct TemplateArgs<'a> {
    pub release: &'a str,
    pub chart_dir: &'a Path,
    pub namespace: &'a str,
    pub values_file: &'a Path,
    pub set: &'a [(String, String)],
}

/// The fix for a Helm error about the values, when the message tells which field.
fn fix_for(message: &str) -> String {
    if let Some(rest) = message.split("can't evaluate field ").nth(1) {
        let field = rest.split_whitespace().next().unwrap_or_default();
        return format!(
            "a value the template reads `.{field}` from is not a map; check the values around `{field}` against the chart's values.yaml"
        );
    }
    "check the values this template uses against the chart's values.yaml".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn homes_are_under_the_given_directory() {
        let command = Helm::new("/bin/helm").command(Path::new("/state/helm"));
        let envs: Vec<(String, Option<String>)> = command
            .get_envs()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.map(|v| v.to_string_lossy().into_owned()),
                )
            })
            .collect();
        assert!(
            envs.contains(&("HELM_CONFIG_HOME".into(), Some("/state/helm/config".into()))),
            "{envs:?}"
        );
        assert!(
            envs.contains(&("HELM_DATA_HOME".into(), Some("/state/helm/data".into()))),
            "{envs:?}"
        );
    }

    #[test]
    fn a_field_read_from_a_scalar_names_the_field() {
        let fix = fix_for(
            "at <.Values.image.registry>: can't evaluate field registry in type interface {}",
        );
        assert!(fix.contains("`.registry`"), "{fix}");
    }
}
