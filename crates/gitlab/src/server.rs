//! Starting the server and the handle other crates drive it with.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};

use crate::api::{
    git_http, groups, job_token_scope, jobs, oauth, rest, rest_pipelines, runners, sign_in, tokens,
    variables,
};
use crate::config::GitLabConfig;
use crate::error::GitLabError;
use crate::git::Git;
use crate::handle::GitLabHandle;
use crate::private_fs;
use crate::shared::{Shared, random_token};

/// Entry point: `GitLab::start(config)`.
pub struct GitLab;

impl GitLab {
    /// Prepares the state directory, binds 127.0.0.1 and serves until shutdown or drop.
    pub async fn start(config: GitLabConfig) -> Result<GitLabHandle, GitLabError> {
        let repos = config.state_dir.join("repositories");
        let artifacts = config.state_dir.join("artifacts");
        for dir in [&config.state_dir, &repos, &artifacts] {
            private_fs::create_dir_all(dir).map_err(|source| GitLabError::StateDir {
                path: dir.clone(),
                source,
            })?;
        }
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(GitLabError::Bind)?;
        let addr = listener.local_addr().map_err(GitLabError::Bind)?;
        let registration_token = config
            .registration_token
            .clone()
            .unwrap_or_else(|| format!("GR1348941{}", random_token(20)));
        let root_password = config
            .root_password
            .clone()
            .unwrap_or_else(|| random_token(24));
        let git = Git::new(config.git_binary.clone(), repos);
        let shared = Arc::new(Shared::new(
            config,
            format!("http://{addr}"),
            registration_token,
            root_password,
            format!("glpat-{}", random_token(20)),
            git,
            artifacts,
        ));
        let app = router(shared.clone());
        let cancel = shared.shutdown.clone();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move { cancel.cancelled().await })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "embedded GitLab server stopped");
            }
        });
        tracing::info!(url = %shared.base, "embedded GitLab listening (simulated GitLab, real protocols)");
        Ok(GitLabHandle::new(shared, task))
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/api/v4/runners",
            post(runners::register)
                .delete(runners::unregister)
                .get(rest::list_runners),
        )
        .route("/api/v4/runners/all", get(rest::list_runners))
        .route("/api/v4/runners/verify", post(runners::verify))
        .route(
            "/api/v4/runners/managers",
            axum::routing::delete(runners::unregister_manager),
        )
        .route(
            "/api/v4/runners/reset_authentication_token",
            post(runners::reset_token),
        )
        .route(
            "/api/v4/runners/{id}",
            get(rest::runner).delete(rest::runner),
        )
        .route("/api/v4/user/runners", post(runners::create_user_runner))
        .route("/api/v4/jobs/request", post(runners::request_job))
        .route("/api/v4/job", get(jobs::current_job))
        .route("/api/v4/jobs/{id}", put(jobs::update))
        .route(
            "/api/v4/jobs/{id}/trace",
            axum::routing::patch(jobs::patch_trace),
        )
        .route(
            "/api/v4/jobs/{id}/artifacts",
            post(jobs::upload_artifact)
                .layer(DefaultBodyLimit::disable())
                .get(jobs::download_artifact),
        )
        .route("/api/v4/version", get(rest::version))
        .route("/api/v4/user", get(rest::user))
        .route(
            "/api/v4/users/{id}/personal_access_tokens",
            post(tokens::create),
        )
        .route(
            "/api/v4/personal_access_tokens/self",
            get(tokens::current).delete(tokens::current),
        )
        .route(
            "/api/v4/projects",
            get(rest::list_projects).post(rest::create_project),
        )
        .route(
            "/api/v4/projects/{id}",
            get(rest::get_project).delete(rest::delete_project),
        )
        .route("/api/v4/projects/{id}/runners", get(rest::project_runners))
        .route("/api/v4/namespaces", get(groups::namespaces))
        .route("/api/v4/groups", post(groups::create))
        .route(
            "/api/v4/groups/{id}",
            get(groups::group).delete(groups::group),
        )
        .route("/api/v4/projects/{id}/ci/lint", post(rest::project_lint))
        .route(
            "/api/v4/projects/{id}/variables",
            get(rest::list_variables).post(variables::create),
        )
        .route(
            "/api/v4/projects/{id}/variables/{key}",
            get(variables::one)
                .delete(variables::one)
                .put(variables::one),
        )
        .route(
            "/api/v4/projects/{id}/pipelines",
            get(rest_pipelines::list_pipelines),
        )
        .route(
            "/api/v4/projects/{id}/pipeline",
            post(rest_pipelines::create_pipeline),
        )
        .route(
            "/api/v4/projects/{id}/pipelines/{pid}",
            get(rest_pipelines::pipeline),
        )
        .route(
            "/api/v4/projects/{id}/pipelines/{pid}/{action}",
            get(rest_pipelines::pipeline).post(rest_pipelines::pipeline),
        )
        .route(
            "/api/v4/projects/{id}/job_token_scope",
            get(job_token_scope::scope).patch(job_token_scope::scope),
        )
        .route(
            "/api/v4/projects/{id}/job_token_scope/allowlist",
            get(job_token_scope::allowlist).post(job_token_scope::add),
        )
        .route(
            "/api/v4/projects/{id}/job_token_scope/allowlist/{target}",
            axum::routing::delete(job_token_scope::remove),
        )
        .route("/api/v4/projects/{id}/jobs", get(rest_pipelines::list_jobs))
        .route(
            "/api/v4/projects/{id}/jobs/{jid}/artifacts",
            get(jobs::project_job_artifacts),
        )
        .route("/api/v4/projects/{id}/jobs/{jid}", get(rest_pipelines::job))
        .route(
            "/api/v4/projects/{id}/jobs/{jid}/{action}",
            get(rest_pipelines::job).post(rest_pipelines::job),
        )
        .route("/users/sign_in", get(sign_in::form).post(sign_in::submit))
        .route("/oauth/token", post(oauth::token))
        .fallback(git_http::fallback)
        .layer(DefaultBodyLimit::max(crate::api::body::API_LIMIT))
        .layer(axum::middleware::from_fn(
            crate::api::body::close_after_refusal,
        ))
        .with_state(shared)
}
