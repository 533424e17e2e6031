//! Finding what environments left behind: registry processes and state directories. Used by
//! `harness down` and by the test that proves nothing leaks.

use std::path::PathBuf;

/// Pids of `docker-registry` processes whose config lives in a directory whose name contains
/// `pattern` (e.g. `harness-env-`).
pub fn registry_processes(pattern: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let text = String::from_utf8_lossy(&cmdline);
            (text.contains(crate::services::registry::REGISTRY_BINARY) && text.contains(pattern))
                .then_some(pid)
        })
        .collect()
}

/// Kills the processes of [`registry_processes`]; returns how many.
pub fn kill_registry_processes(pattern: &str) -> usize {
    let pids = registry_processes(pattern);
    for pid in &pids {
        let _ = std::process::Command::new("kill")
            .arg(pid.to_string())
            .status();
    }
    pids.len()
}

/// State directories in the temp dir whose name starts with `pattern`.
pub fn state_dirs(pattern: &str) -> Vec<PathBuf> {
    std::fs::read_dir(std::env::temp_dir())
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(pattern))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

/// Removes the directories of [`state_dirs`]; returns how many.
pub fn remove_state_dirs(pattern: &str) -> usize {
    state_dirs(pattern)
        .into_iter()
        .filter(|dir| std::fs::remove_dir_all(dir).is_ok())
        .count()
}

/// Tags in the local Docker engine under `registry` (`host:port/…`): the images a pipeline's
/// `docker build` made through the node's Docker socket and pushed to the environment's registry.
async fn images_tagged_under(
    docker: &bollard::Docker,
    registry: &str,
) -> Result<Vec<String>, bollard::errors::Error> {
    let prefix = format!("{registry}/");
    let images = docker
        .list_images(Some(
            bollard::query_parameters::ListImagesOptionsBuilder::default().build(),
        ))
        .await?;
    Ok(images
        .into_iter()
        .flat_map(|image| image.repo_tags)
        .filter(|tag| tag.starts_with(&prefix))
        .collect())
}

/// Removes the tags of [`images_tagged_under`] (and with the last tag the image and the build's
/// intermediate layers); returns how many tags went. Once the registry is gone they name nothing
/// that can be pulled again. A tag that cannot go (a container of a cluster the harness does not
/// own still runs it) is named in the error; the others are removed all the same.
pub async fn remove_images_tagged_under(registry: &str) -> Result<usize, String> {
    let docker = bollard::Docker::connect_with_local_defaults().map_err(|e| e.to_string())?;
    let tags = images_tagged_under(&docker, registry)
        .await
        .map_err(|e| e.to_string())?;
    let mut kept = vec![];
    for tag in &tags {
        let removed = docker
            .remove_image(
                tag,
                None::<bollard::query_parameters::RemoveImageOptions>,
                None,
            )
            .await;
        if let Err(e) = removed {
            kept.push(format!("{tag}: {e}"));
        }
    }
    if kept.is_empty() {
        Ok(tags.len())
    } else {
        Err(kept.join("; "))
    }
}
