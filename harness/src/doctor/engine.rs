//! The Docker engine: whether it answers, and starting `dockerd` when it does not.

use std::path::PathBuf;
use std::time::Duration;

use crate::process::which;

/// Where the harness-started dockerd logs.
pub fn dockerd_log() -> PathBuf {
    crate::paths::cache_dir().join("dockerd.log")
}

/// Pings the engine; when `start` and it does not answer, starts `dockerd` and waits for it.
/// Returns the server version and what was done.
pub async fn docker_engine(start: bool) -> Result<(String, Option<String>), String> {
    if let Some(version) = engine_version().await {
        return Ok((version, None));
    }
    if !start {
        return Err("not running".into());
    }
    let dockerd = which("dockerd").ok_or("dockerd is not installed (package docker.io)")?;
    let log_path = dockerd_log();
    if let Some(dir) = log_path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    let log = std::fs::File::create(&log_path)
        .map_err(|e| format!("creating {}: {e}", log_path.display()))?;
    let err_log = log.try_clone().map_err(|e| e.to_string())?;
    // Started in its own session so that it outlives the harness: it is the machine's engine,
    // shared by every environment, not a resource of one scenario.
    let mut command = std::process::Command::new(dockerd);
    command
        .stdin(std::process::Stdio::null())
        .stdout(log)
        .stderr(err_log);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    command
        .spawn()
        .map_err(|e| format!("starting dockerd: {e}"))?;
    let ready = crate::services::wait_until(Duration::from_secs(60), || async {
        engine_version().await.is_some()
    })
    .await;
    match engine_version().await {
        Some(version) if ready => Ok((
            version,
            Some(format!("started dockerd (log: {})", log_path.display())),
        )),
        _ => Err(format!(
            "dockerd did not answer within 60 s; see {}: {}",
            log_path.display(),
            crate::process::tail(&std::fs::read_to_string(&log_path).unwrap_or_default(), 5)
        )),
    }
}

/// The engine's version, when it answers within 3 s.
async fn engine_version() -> Option<String> {
    let docker = bollard::Docker::connect_with_local_defaults().ok()?;
    let version = tokio::time::timeout(Duration::from_secs(3), docker.version())
        .await
        .ok()?
        .ok()?;
    Some(format!(
        "Docker Engine {} (API {})",
        version.version.unwrap_or_default(),
        version.api_version.unwrap_or_default()
    ))
}
