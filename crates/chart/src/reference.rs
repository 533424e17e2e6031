//! The real `helm` as reference renderer: where a `helm` binary exists and the chart is a
//! directory, `helm template` output is what our rendering is compared against.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::chart::ChartVersion;
use crate::error::{ChartError, Result};
use crate::render::RenderOptions;

/// The `helm` binary to use: `$HELM_BIN`, else `helm` found on `$PATH`.
pub fn helm_binary() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("HELM_BIN").map(PathBuf::from) {
        return bin.is_file().then_some(bin);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("helm"))
            .find(|p| p.is_file())
    })
}

/// Runs `helm template` for a chart directory, as the options say. `Ok(None)` when there is no
/// `helm` or the chart is not a directory (embedded charts have no directory to give helm).
pub fn helm_template(values_file: &Path, options: &RenderOptions) -> Result<Option<String>> {
    let (Some(helm), ChartVersion::Path(dir)) = (helm_binary(), &options.chart) else {
        return Ok(None);
    };
    let mut cmd = Command::new(helm);
    cmd.arg("template")
        .arg(&options.release_name)
        .arg(dir)
        .arg("--namespace")
        .arg(&options.namespace)
        .arg("-f")
        .arg(values_file);
    for (k, v) in &options.set {
        cmd.arg("--set").arg(format!("{k}={v}"));
    }
    let out = cmd.output().map_err(|e| ChartError::Helm {
        message: e.to_string(),
        fix: "check that HELM_BIN / helm on PATH is executable".into(),
    })?;
    if !out.status.success() {
        return Err(ChartError::Helm {
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            fix: "the chart or the values are rejected by helm itself; see its message".into(),
        });
    }
    Ok(Some(String::from_utf8_lossy(&out.stdout).into_owned()))
}
