//! GitLab backends: each gives the environment a URL and a personal access token (`api` scope);
//! everything else goes through GitLab's REST API and git over HTTP
//! ([`crate::clients::gitlab_api`]), so any GitLab can serve any scenario.

mod embedded;

use std::net::IpAddr;
use std::path::Path;

use async_trait::async_trait;

pub use embedded::EmbeddedGitLab;

use super::{BackendError, Choice};
use crate::clients::gitlab_api::GitLabApi;
use crate::scenario::model::GitLabBackend;
use harness_error_chain::Chain;

/// A GitLab the environment uses.
#[async_trait]
pub trait GitLabServer: Send + Sync {
    /// Which backend this is.
    fn backend(&self) -> GitLabBackend;
    /// Its URL as pods and the harness reach it (with a trailing `/`).
    fn url(&self) -> String;
    /// A personal access token with `api` scope.
    fn token(&self) -> String;
    /// For reports: what serves as GitLab.
    fn describe(&self) -> Vec<String>;
    /// A user name and password for the web sign-in and git over HTTP, when the backend knows
    /// one (the embedded GitLab's root).
    fn sign_in(&self) -> Option<(String, String)> {
        None
    }
    /// Stops what the backend started.
    async fn stop(self: Box<Self>);
}

/// A GitLab the harness did not start.
struct ExternalGitLab {
    url: String,
    token: String,
    version: String,
}

#[async_trait]
impl GitLabServer for ExternalGitLab {
    fn backend(&self) -> GitLabBackend {
        GitLabBackend::External
    }
    fn url(&self) -> String {
        self.url.clone()
    }
    fn token(&self) -> String {
        self.token.clone()
    }
    fn describe(&self) -> Vec<String> {
        vec![format!(
            "GitLab: external, {} (version {})",
            self.url, self.version
        )]
    }
    async fn stop(self: Box<Self>) {}
}

/// Starts the embedded GitLab (listening on `bind`) or checks the external one's URL and token.
pub async fn start(
    choice: &Choice,
    state_dir: &Path,
    bind: IpAddr,
) -> anyhow::Result<Box<dyn GitLabServer>> {
    match choice.gitlab {
        GitLabBackend::Embedded => Ok(Box::new(
            EmbeddedGitLab::start(&state_dir.join("gitlab"), bind).await?,
        )),
        GitLabBackend::External => {
            let (Some(url), Some(token)) = (&choice.gitlab_url, &choice.gitlab_token) else {
                return Err(BackendError::Usage(
                    "the external GitLab backend needs --gitlab-url and --gitlab-token".into(),
                )
                .into());
            };
            let url = format!("{}/", url.trim_end_matches('/'));
            let api = GitLabApi::new(&url, token);
            let user = api.username().await.map_err(|e| {
                BackendError::Usage(format!(
                    "the GitLab at {url} does not accept the token (a personal access token \
                     with api scope is needed): {}",
                    Chain(&e)
                ))
            })?;
            let version = api.version().await.unwrap_or_else(|_| "unknown".into());
            tracing::info!(%url, %user, %version, "using an external GitLab");
            Ok(Box::new(ExternalGitLab {
                url,
                token: token.clone(),
                version,
            }))
        }
    }
}
