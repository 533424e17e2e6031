//! Where the harness keeps its cache (stand-in build scratch, service logs) and environment state.

use std::path::{Path, PathBuf};

/// The machine-wide cache: `$HARNESS_CACHE_DIR`, else `$XDG_CACHE_HOME/gitlab-k8s-harness`, else
/// `~/.cache/gitlab-k8s-harness`, else a directory under the system temp dir.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("HARNESS_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Path::new(&dir).join("gitlab-k8s-harness");
    }
    if let Some(home) = std::env::var_os("HOME") {
        return Path::new(&home).join(".cache").join("gitlab-k8s-harness");
    }
    std::env::temp_dir().join("gitlab-k8s-harness-cache")
}

/// Directory of the harness's own binaries (`gitlab-runner`, `gitlab-runner-helper`): next to the
/// running executable, or `$HARNESS_BIN_DIR`.
pub fn binaries_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("HARNESS_BIN_DIR") {
        return Some(PathBuf::from(dir));
    }
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    // Test executables live in target/<profile>/deps; the binaries one level up.
    if dir.ends_with("deps") {
        return dir.parent().map(Path::to_path_buf);
    }
    Some(dir.to_path_buf())
}

/// The repository this harness was built from (scenarios, fixtures, the sample project).
pub fn repo_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("HARNESS_REPO") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}
