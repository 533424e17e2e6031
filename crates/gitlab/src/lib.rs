//! Embedded GitLab: the Runner API (v4), git smart HTTP, pipelines from `.gitlab-ci.yml` with
//! GitLab semantics and lint messages, CI/CD variables, a REST subset and a pipeline page.
//!
//! Everything listens on 127.0.0.1 and speaks GitLab's real protocols, so real clients (the
//! runner, git, curl) work against it; the GitLab itself is a simulation kept in memory.
#![warn(missing_docs)]

mod accounts;
pub mod api;
mod artifact_kinds;
pub mod ci;
pub mod config;
pub mod error;
pub mod git;
pub mod handle;
mod job_token_scope;
pub mod model;
pub mod namespaces;
pub mod ops;
pub mod payload;
pub mod pipelines;
mod private_fs;
pub mod process;
mod project_variables;
pub mod server;
mod sessions;
pub mod shared;
pub mod store;
mod tokens;
pub mod variables;

pub use config::GitLabConfig;
pub use error::GitLabError;
pub use handle::{GitLabHandle, RootCredentials};
pub use model::{
    ArtifactFile, Commit, Job, Pipeline, Project, Runner, Status, Variable, VariableType,
    Visibility,
};
pub use server::GitLab;

/// The GitLab version reported by `/api/v4/version` and `CI_SERVER_VERSION`.
pub const GITLAB_VERSION: &str = "17.11.0";

/// `harness lint`'s entry point: GitLab's lint of one file.
pub mod lint {
    pub use crate::ci::{CiConfig, LintError, lint_str};
}
