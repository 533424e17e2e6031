//! Repositories through the git CLI: bare repos, reads for pipelines, and smart HTTP served by
//! `git http-backend` (CGI), so clients talk to real git.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::error::GitLabError;
use crate::model::Commit;

/// Runs git commands against the repositories under one root.
#[derive(Debug, Clone)]
pub struct Git {
    binary: PathBuf,
    /// Directory holding `group/name.git` bare repositories.
    pub root: PathBuf,
}

/// The all-zero SHA GitLab uses for "no previous commit".
pub const ZERO_SHA: &str = "0000000000000000000000000000000000000000";

impl Git {
    /// Git for repositories under `root`.
    pub fn new(binary: PathBuf, root: PathBuf) -> Self {
        Self { binary, root }
    }

    async fn run(&self, dir: Option<&Path>, args: &[&str]) -> Result<Vec<u8>, GitLabError> {
        let mut cmd = Command::new(&self.binary);
        if let Some(dir) = dir {
            cmd.arg("--git-dir").arg(dir);
        }
        cmd.args(args).stdin(Stdio::null()).kill_on_drop(true);
        let out = cmd.output().await.map_err(|e| GitLabError::Git {
            args: args.join(" "),
            message: e.to_string(),
        })?;
        if !out.status.success() {
            return Err(GitLabError::Git {
                args: args.join(" "),
                message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(out.stdout)
    }

    /// Creates an empty bare repository that accepts pushes over HTTP, readable by the owner
    /// only: its namespace directories are made 0700 and git keeps its own files 0600/0700
    /// (`core.sharedRepository=0600`), also for what later pushes write.
    pub async fn init_bare(&self, dir: &Path) -> Result<(), GitLabError> {
        if let Some(parent) = dir.parent() {
            crate::private_fs::create_dir_all(parent).map_err(|e| GitLabError::Git {
                args: "init".into(),
                message: format!("creating {}: {e}", parent.display()),
            })?;
        }
        let path = dir.to_string_lossy().to_string();
        self.run(None, &["init", "--quiet", "--bare", "--shared=0600", &path])
            .await?;
        self.run(Some(dir), &["config", "http.receivepack", "true"])
            .await?;
        Ok(())
    }

    /// Points HEAD at `branch` (the default branch clones check out).
    pub async fn set_head(&self, dir: &Path, branch: &str) -> Result<(), GitLabError> {
        let target = format!("refs/heads/{branch}");
        self.run(Some(dir), &["symbolic-ref", "HEAD", &target])
            .await
            .map(|_| ())
    }

    /// Every ref → SHA.
    pub async fn refs(&self, dir: &Path) -> Result<BTreeMap<String, String>, GitLabError> {
        let out = self
            .run(
                Some(dir),
                &["for-each-ref", "--format=%(objectname) %(refname)"],
            )
            .await?;
        Ok(String::from_utf8_lossy(&out)
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(sha, name)| (name.to_string(), sha.to_string()))
            .collect())
    }

    /// A file's text at `sha`, or `None` when it does not exist there.
    pub async fn read_file(&self, dir: &Path, sha: &str, file: &str) -> Option<String> {
        let spec = format!("{sha}:{file}");
        self.run(Some(dir), &["cat-file", "blob", &spec])
            .await
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    /// All file paths of the tree at `sha`.
    pub async fn tree_files(&self, dir: &Path, sha: &str) -> Vec<String> {
        self.run(Some(dir), &["ls-tree", "-r", "--name-only", sha])
            .await
            .map(|b| {
                String::from_utf8_lossy(&b)
                    .lines()
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Files changed between two commits; `None` when there is no usable `before`.
    pub async fn changed_files(
        &self,
        dir: &Path,
        before: &str,
        after: &str,
    ) -> Option<Vec<String>> {
        if before == ZERO_SHA || before.is_empty() {
            return None;
        }
        self.run(Some(dir), &["diff", "--name-only", before, after])
            .await
            .ok()
            .map(|b| {
                String::from_utf8_lossy(&b)
                    .lines()
                    .map(str::to_string)
                    .collect()
            })
    }

    /// SHA of a branch or tag, or of a SHA itself.
    pub async fn resolve(&self, dir: &Path, reference: &str) -> Option<(String, bool)> {
        for (candidate, is_tag) in [
            (format!("refs/heads/{reference}"), false),
            (format!("refs/tags/{reference}"), true),
        ] {
            let spec = format!("{candidate}^{{commit}}");
            if let Ok(out) = self
                .run(Some(dir), &["rev-parse", "--verify", "--quiet", &spec])
                .await
            {
                return Some((String::from_utf8_lossy(&out).trim().to_string(), is_tag));
            }
        }
        None
    }

    /// Commit metadata.
    pub async fn commit(&self, dir: &Path, sha: &str) -> Commit {
        let out = self
            .run(
                Some(dir),
                &["log", "-1", "--format=%an%x00%ae%x00%aI%x00%B", sha],
            )
            .await
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&out);
        let mut parts = text.splitn(4, '\0');
        let author_name = parts.next().unwrap_or_default().to_string();
        let author_email = parts.next().unwrap_or_default().to_string();
        let authored_date = parts.next().unwrap_or_default().to_string();
        let message = parts.next().unwrap_or_default().trim_end().to_string();
        Commit {
            id: sha.to_string(),
            short_id: sha.chars().take(8).collect(),
            title: message.lines().next().unwrap_or_default().to_string(),
            message,
            author_name,
            author_email,
            authored_date,
        }
    }

    /// Runs `git http-backend` for one request and returns (status, headers, body).
    pub async fn http_backend(&self, request: CgiRequest<'_>) -> Result<CgiResponse, GitLabError> {
        let mut cmd = Command::new(&self.binary);
        cmd.arg("http-backend")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("GIT_PROJECT_ROOT", &self.root)
            .env("GIT_HTTP_EXPORT_ALL", "1")
            .env("PATH_INFO", request.path_info)
            .env("REQUEST_METHOD", request.method)
            .env("QUERY_STRING", request.query)
            .env("CONTENT_TYPE", request.content_type)
            .env("CONTENT_LENGTH", request.body.len().to_string())
            .env("REMOTE_USER", request.remote_user)
            .env("REMOTE_ADDR", "127.0.0.1")
            .env("GIT_HTTP_MAX_REQUEST_BUFFER", "100M")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(p) = request.git_protocol {
            cmd.env("GIT_PROTOCOL", p);
        }
        if let Some(enc) = request.content_encoding {
            cmd.env("HTTP_CONTENT_ENCODING", enc);
        }
        let mut child = cmd.spawn().map_err(|e| GitLabError::Git {
            args: "http-backend".into(),
            message: e.to_string(),
        })?;
        let body = request.body.to_vec();
        let mut stdin = child.stdin.take();
        let writer = tokio::spawn(async move {
            if let Some(stdin) = stdin.as_mut() {
                let _ = stdin.write_all(&body).await;
                let _ = stdin.shutdown().await;
            }
        });
        let out = child
            .wait_with_output()
            .await
            .map_err(|e| GitLabError::Git {
                args: "http-backend".into(),
                message: e.to_string(),
            })?;
        let _ = writer.await;
        if !out.stderr.is_empty() {
            tracing::debug!(stderr = %String::from_utf8_lossy(&out.stderr), "git http-backend");
        }
        parse_cgi(&out.stdout)
    }
}

/// One smart-HTTP request handed to `git http-backend`.
pub struct CgiRequest<'a> {
    /// `/group/name.git/info/refs` etc.
    pub path_info: &'a str,
    /// HTTP method.
    pub method: &'a str,
    /// Query string without `?`.
    pub query: &'a str,
    /// Request content type.
    pub content_type: &'a str,
    /// `Content-Encoding` (git gzips large requests).
    pub content_encoding: Option<&'a str>,
    /// `Git-Protocol` header (protocol v2).
    pub git_protocol: Option<&'a str>,
    /// Authenticated user name.
    pub remote_user: &'a str,
    /// Request body.
    pub body: &'a [u8],
}

/// The CGI answer.
pub struct CgiResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

fn parse_cgi(out: &[u8]) -> Result<CgiResponse, GitLabError> {
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| (p, 4))
        .or_else(|| out.windows(2).position(|w| w == b"\n\n").map(|p| (p, 2)))
        .ok_or_else(|| GitLabError::Git {
            args: "http-backend".into(),
            message: "no CGI header in the output".into(),
        })?;
    let head = String::from_utf8_lossy(&out[..split.0]);
    let mut status = 200;
    let mut headers = Vec::new();
    for line in head.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim().to_string();
        if name.eq_ignore_ascii_case("status") {
            status = value
                .split_whitespace()
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(200);
        } else {
            headers.push((name.to_string(), value));
        }
    }
    Ok(CgiResponse {
        status,
        headers,
        body: out[split.0 + split.1..].to_vec(),
    })
}
