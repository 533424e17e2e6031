//! The embedded GitLab (harness-gitlab), started in this process for one environment.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use anyhow::Context;
use async_trait::async_trait;
use harness_gitlab::{GitLab, GitLabConfig, GitLabHandle};

use super::GitLabServer;
use crate::scenario::model::GitLabBackend;

/// The harness's own GitLab.
pub struct EmbeddedGitLab {
    handle: GitLabHandle,
}

impl EmbeddedGitLab {
    /// Starts it with its state under `state_dir`, listening on `bind` (a free port).
    pub async fn start(state_dir: &Path, bind: IpAddr) -> anyhow::Result<Self> {
        let mut config = GitLabConfig::new(state_dir);
        config.listen = SocketAddr::new(bind, 0);
        let handle = GitLab::start(config)
            .await
            .context("starting the embedded GitLab")?;
        Ok(EmbeddedGitLab { handle })
    }
}

#[async_trait]
impl GitLabServer for EmbeddedGitLab {
    fn backend(&self) -> GitLabBackend {
        GitLabBackend::Embedded
    }
    fn url(&self) -> String {
        self.handle.url()
    }
    fn token(&self) -> String {
        self.handle.root_credentials().personal_access_token
    }
    fn describe(&self) -> Vec<String> {
        vec![format!(
            "GitLab: embedded (harness-gitlab) at {}; Runner API, git smart HTTP, pipelines and a REST subset",
            self.handle.url()
        )]
    }
    fn sign_in(&self) -> Option<(String, String)> {
        let root = self.handle.root_credentials();
        Some((root.username, root.password))
    }
    async fn stop(self: Box<Self>) {
        self.handle.shutdown().await;
    }
}
