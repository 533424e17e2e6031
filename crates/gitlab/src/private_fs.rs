//! Files and directories only the GitLab's user may read: everything under the state
//! directory holds code, artifacts or secrets, and the harness runs as root next to jobs.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

/// Mode of every directory the GitLab writes.
pub(crate) const DIR_MODE: u32 = 0o700;

/// Mode of every file the GitLab writes.
pub(crate) const FILE_MODE: u32 = 0o600;

/// Creates `dir` and its missing parents as 0700, and makes `dir` itself 0700 if it existed.
pub(crate) fn create_dir_all(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(DIR_MODE))
}

/// Creates (or truncates) `path` as a 0600 file for writing.
pub(crate) async fn create_file(path: &Path) -> std::io::Result<tokio::fs::File> {
    tokio::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(path)
        .await
}
