//! `gitlab-runner-helper git-sources`: fetch or clone a repository at a commit with the git CLI.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Args;

use super::HelperError;

/// Arguments of `git-sources` (written into the `get_sources` stage script by the executor).
#[derive(Debug, Clone, Args)]
pub struct GitSourcesArgs {
    /// Repository URL including `gitlab-ci-token:<job token>@`.
    #[arg(long = "repo-url")]
    pub repo_url: String,
    /// Commit to check out.
    #[arg(long = "sha")]
    pub sha: String,
    /// Ref name (branch or tag).
    #[arg(long = "ref", default_value = "")]
    pub git_ref: String,
    /// `branch` or `tag`.
    #[arg(long = "ref-type", default_value = "branch")]
    pub ref_type: String,
    /// `clone`, `fetch` or `none`.
    #[arg(long = "strategy", default_value = "fetch")]
    pub strategy: String,
    /// Shallow depth (0: full history).
    #[arg(long = "depth", default_value_t = 0)]
    pub depth: i64,
    /// Checkout directory (`CI_PROJECT_DIR`).
    #[arg(long = "dir")]
    pub dir: PathBuf,
    /// Refspecs to fetch.
    #[arg(long = "refspec")]
    pub refspecs: Vec<String>,
    /// Fetch only, leave the work tree alone.
    #[arg(long = "no-checkout")]
    pub no_checkout: bool,
}

fn git(dir: Option<&Path>, args: &[&str]) -> Result<(), HelperError> {
    let mut cmd = Command::new("git");
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    cmd.args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_COUNT", "1")
        .env("GIT_CONFIG_KEY_0", "safe.directory")
        .env("GIT_CONFIG_VALUE_0", "*");
    let status = cmd.status().map_err(|e| HelperError::Git {
        command: format!("git {}", args.first().copied().unwrap_or("")),
        message: format!("cannot run git: {e} (is git installed in the helper image?)"),
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(HelperError::Git {
            command: format!("git {}", args.first().copied().unwrap_or("")),
            message: format!("exited with {status}"),
        })
    }
}

fn has_origin(dir: &Path) -> bool {
    Command::new("git")
        .args(["config", "--get", "remote.origin.url"])
        .current_dir(dir)
        .env("GIT_CONFIG_COUNT", "1")
        .env("GIT_CONFIG_KEY_0", "safe.directory")
        .env("GIT_CONFIG_VALUE_0", "*")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl GitSourcesArgs {
    /// The refspecs to fetch: the given ones, else the ref itself.
    pub fn effective_refspecs(&self) -> Vec<String> {
        if !self.refspecs.is_empty() {
            return self.refspecs.clone();
        }
        if self.git_ref.is_empty() {
            return vec!["+refs/heads/*:refs/remotes/origin/*".into()];
        }
        if self.ref_type == "tag" {
            vec![format!("+refs/tags/{0}:refs/tags/{0}", self.git_ref)]
        } else {
            vec![format!(
                "+refs/heads/{0}:refs/remotes/origin/{0}",
                self.git_ref
            )]
        }
    }

    /// Prepares the checkout, printing what the runner prints.
    pub fn execute(&self, out: &mut dyn std::io::Write) -> Result<(), HelperError> {
        match self.strategy.as_str() {
            "none" => {
                let _ = writeln!(out, "Skipping Git repository setup");
                return Ok(());
            }
            "clone" => {
                let _ = writeln!(out, "Cloning repository...");
                if self.dir.exists() {
                    std::fs::remove_dir_all(&self.dir).map_err(|e| HelperError::Io {
                        path: self.dir.clone(),
                        source: e,
                    })?;
                }
            }
            _ => {
                if self.depth > 0 {
                    let _ = writeln!(
                        out,
                        "Fetching changes with git depth set to {}...",
                        self.depth
                    );
                } else {
                    let _ = writeln!(out, "Fetching changes...");
                }
            }
        }
        let fresh = !self.dir.join(".git").exists();
        std::fs::create_dir_all(&self.dir).map_err(|e| HelperError::Io {
            path: self.dir.clone(),
            source: e,
        })?;
        let dir = self.dir.to_string_lossy().into_owned();
        git(None, &["-c", "init.defaultBranch=master", "init", &dir])?;
        let d = Some(self.dir.as_path());
        if fresh {
            let _ = writeln!(out, "Created fresh repository.");
        }
        if has_origin(&self.dir) {
            git(d, &["remote", "set-url", "origin", &self.repo_url])?;
        } else {
            git(d, &["remote", "add", "origin", &self.repo_url])?;
        }
        let mut fetch: Vec<String> = vec!["fetch".into(), "origin".into()];
        fetch.extend(self.effective_refspecs());
        fetch.push("--prune".into());
        fetch.push("--quiet".into());
        if self.depth > 0 {
            fetch.push("--depth".into());
            fetch.push(self.depth.to_string());
        }
        let fetch: Vec<&str> = fetch.iter().map(String::as_str).collect();
        git(d, &fetch)?;
        if self.no_checkout {
            let _ = writeln!(out, "Skipping Git checkout");
        } else {
            let short: String = self.sha.chars().take(8).collect();
            let _ = writeln!(out, "Checking out {short} as {}...", self.git_ref);
            git(d, &["checkout", "-f", "-q", &self.sha])?;
            git(d, &["clean", "-ffdx"])?;
        }
        let _ = writeln!(out, "Skipping Git submodules setup");
        Ok(())
    }
}
