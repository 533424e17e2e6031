//! Images for the node's containerd: the stand-ins and scenario images the Docker engine holds are
//! exported (`docker save`) and imported (`ctr images import`) once per image id, into an image
//! store kept between environments; nothing is pulled from the internet.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::AsyncWriteExt;

/// Why images could not reach the node.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The Docker engine does not have the image.
    #[error("the Docker engine has no image {0}: run `harness images`")]
    Missing(String),
    /// `docker save` or `ctr import` failed.
    #[error("{0}")]
    Failed(String),
}

/// Which image id each reference had when it was last imported, kept in the image store.
fn record_path(image_root: &Path) -> PathBuf {
    image_root.join("harness-imported.json")
}

/// Imports `references` into the containerd at `socket` unless the same image ids were imported
/// before; returns how many were imported.
pub(crate) async fn import(
    docker: &bollard::Docker,
    socket: &Path,
    image_root: &Path,
    references: &[String],
) -> Result<usize, ImportError> {
    let mut record: BTreeMap<String, String> = std::fs::read(record_path(image_root))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let mut wanted = vec![];
    for reference in references {
        let id = docker
            .inspect_image(reference)
            .await
            .map_err(|_| ImportError::Missing(reference.clone()))?
            .id
            .unwrap_or_default();
        if record.get(reference) != Some(&id) {
            wanted.push((reference.clone(), id));
        }
    }
    if wanted.is_empty() {
        return Ok(0);
    }
    let names: Vec<&str> = wanted.iter().map(|(r, _)| r.as_str()).collect();
    tracing::info!(images = ?names, "importing images into the node's containerd");
    save_and_import(socket, &names).await?;
    for (reference, id) in wanted.iter().cloned() {
        record.insert(reference, id);
    }
    let _ = std::fs::write(
        record_path(image_root),
        serde_json::to_vec_pretty(&record).unwrap_or_default(),
    );
    Ok(wanted.len())
}

/// `docker save NAMES… | ctr -a SOCKET -n k8s.io images import -`.
async fn save_and_import(socket: &Path, names: &[&str]) -> Result<(), ImportError> {
    let mut save = tokio::process::Command::new("docker")
        .arg("save")
        .args(names)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| ImportError::Failed(format!("docker save: {e}")))?;
    let mut import = tokio::process::Command::new("ctr")
        .arg("--address")
        .arg(socket)
        .args(["--namespace", "k8s.io", "images", "import", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| ImportError::Failed(format!("ctr images import: {e}")))?;
    let mut from = save
        .stdout
        .take()
        .ok_or_else(|| ImportError::Failed("docker save has no output".into()))?;
    let mut to = import
        .stdin
        .take()
        .ok_or_else(|| ImportError::Failed("ctr has no input".into()))?;
    let copied = tokio::io::copy(&mut from, &mut to).await;
    let _ = to.shutdown().await;
    drop(to);
    let saved = save
        .wait_with_output()
        .await
        .map_err(|e| ImportError::Failed(format!("docker save: {e}")))?;
    let imported = import
        .wait_with_output()
        .await
        .map_err(|e| ImportError::Failed(format!("ctr images import: {e}")))?;
    if !saved.status.success() {
        return Err(ImportError::Failed(format!(
            "docker save {}: {}",
            names.join(" "),
            String::from_utf8_lossy(&saved.stderr).trim()
        )));
    }
    if !imported.status.success() || copied.is_err() {
        return Err(ImportError::Failed(format!(
            "ctr images import: {}",
            String::from_utf8_lossy(&imported.stderr).trim()
        )));
    }
    Ok(())
}
