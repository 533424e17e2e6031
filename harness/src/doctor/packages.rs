//! The Debian packages: which are missing (dpkg) and installing them (apt-get).

use std::time::Duration;

use super::PACKAGES;
use crate::process::run;
use harness_error_chain::Chain;

/// Packages of [`PACKAGES`] that dpkg does not report as installed.
pub async fn missing_packages() -> Vec<String> {
    let names: Vec<&str> = PACKAGES.iter().map(|(name, _)| *name).collect();
    let mut args = vec!["-W", "-f=${Package} ${db:Status-Abbrev}\\n"];
    args.extend(names.iter().copied());
    // dpkg-query exits 1 when some package is unknown, so read its output either way.
    let output = tokio::process::Command::new("dpkg-query")
        .args(&args)
        .stderr(std::process::Stdio::null())
        .output()
        .await;
    let installed: Vec<String> = match output {
        Ok(output) => String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|l| {
                l.split_whitespace()
                    .nth(1)
                    .is_some_and(|s| s.starts_with("ii"))
            })
            .filter_map(|l| {
                l.split_whitespace()
                    .next()
                    .map(|p| p.split(':').next().unwrap_or(p).to_owned())
            })
            .collect(),
        Err(_) => vec![],
    };
    names
        .into_iter()
        .filter(|name| !installed.iter().any(|i| i == name))
        .map(str::to_owned)
        .collect()
}

/// Installs `packages` with one non-interactive `apt-get install`.
pub(super) async fn install(packages: &[String]) -> Result<(), String> {
    tracing::info!(packages = %packages.join(" "), "installing Debian packages");
    run("apt-get", &["update", "-qq"], Duration::from_secs(600))
        .await
        .map_err(|e| Chain(&e).to_string())?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend(packages.iter().map(String::as_str));
    let status = tokio::process::Command::new("apt-get")
        .args(&args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(|e| e.to_string())?;
    if status.status.success() {
        Ok(())
    } else {
        Err(crate::process::tail(
            &String::from_utf8_lossy(&status.stderr),
            8,
        ))
    }
}
