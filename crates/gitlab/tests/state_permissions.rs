//! What the GitLab writes under its state directory (repositories, artifacts) is its own:
//! directories 0700, files readable by the owner only, whatever the process umask.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;
use harness_gitlab::{GitLab, GitLabConfig};

/// Every entry under `root` (itself included) with its permission bits.
fn modes(root: &Path) -> Vec<(String, bool, u32)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(path) = stack.pop() {
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let mode = meta.permissions().mode() & 0o7777;
        out.push((path.display().to_string(), meta.is_dir(), mode));
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path).unwrap() {
                stack.push(entry.unwrap().path());
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_is_private_to_the_owner() {
    if !have("git") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    std::fs::create_dir(&state).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o755)).unwrap();
    let gitlab = GitLab::start(GitLabConfig::new(&state)).await.unwrap();

    // A repository in a nested namespace with a push, and an uploaded artifact.
    let (runner, job, _, _) = running_job(tmp.path(), &gitlab, "deep/er/app").await;
    let r = runner.upload_artifacts(&job, b"PK\x05\x06".to_vec()).await;
    assert_eq!(r.status(), 201);

    let entries = modes(&state);
    assert!(entries.iter().any(|(p, _, _)| p.ends_with("archive.zip")));
    assert!(
        entries
            .iter()
            .any(|(p, _, _)| p.contains("/objects/pack/") || p.contains("/objects/"))
    );
    let exposed: Vec<String> = entries
        .iter()
        .filter(|(_, is_dir, mode)| {
            if *is_dir {
                *mode != 0o700
            } else {
                mode & 0o077 != 0
            }
        })
        .map(|(path, is_dir, mode)| {
            format!("{mode:o} {} {path}", if *is_dir { "dir " } else { "file" })
        })
        .collect();
    assert!(
        exposed.is_empty(),
        "readable by others:\n{}",
        exposed.join("\n")
    );
}
