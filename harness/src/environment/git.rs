//! The project's working copy and real `git push` to the embedded GitLab.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::process::run_in;

/// A local clone-to-be of the GitLab project.
pub struct WorkingCopy {
    dir: PathBuf,
    remote: String,
    initialised: bool,
}

impl WorkingCopy {
    /// A working copy in `dir` pushing to `remote` (an HTTP URL with credentials).
    pub fn new(dir: PathBuf, remote: String) -> Self {
        Self {
            dir,
            remote,
            initialised: false,
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Replaces the working copy's files with `source`'s (keeping `.git`).
    pub fn load_source(&self, source: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            if entry.file_name() == ".git" {
                continue;
            }
            let path = entry.path();
            if path.is_dir() {
                std::fs::remove_dir_all(path)?;
            } else {
                std::fs::remove_file(path)?;
            }
        }
        copy_tree(source, &self.dir)
    }

    /// Commits everything on branch `branch` and pushes it; returns the commit SHA.
    pub async fn commit_and_push(&mut self, branch: &str, message: &str) -> anyhow::Result<String> {
        let limit = Duration::from_secs(120);
        if !self.initialised {
            if !self.dir.join(".git").exists() {
                self.git(&["init", "-q", "-b", branch], limit).await?;
                self.git(&["remote", "add", "origin", &self.remote], limit)
                    .await?;
            }
            self.initialised = true;
        }
        self.git(&["checkout", "-q", "-B", branch], limit).await?;
        self.git(&["add", "-A"], limit).await?;
        self.git(
            &[
                "-c",
                "user.name=Harness",
                "-c",
                "user.email=harness@example.com",
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                message,
            ],
            limit,
        )
        .await?;
        self.git(
            &["push", "-q", "origin", &format!("HEAD:refs/heads/{branch}")],
            limit,
        )
        .await?;
        let sha = self.git(&["rev-parse", "HEAD"], limit).await?;
        Ok(sha.trim().to_owned())
    }

    async fn git(&self, args: &[&str], limit: Duration) -> anyhow::Result<String> {
        let env = [("GIT_TERMINAL_PROMPT", "0"), ("GIT_CONFIG_NOSYSTEM", "1")];
        let output = run_in(&self.dir, "git", args, &env, limit).await?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

/// Copies a project directory, leaving out build output (`target/`) and `.git`.
pub fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == "target" || name == ".git" {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            copy_tree(&path, &to.join(&name))?;
        } else {
            std::fs::copy(&path, to.join(&name))?;
        }
    }
    Ok(())
}
