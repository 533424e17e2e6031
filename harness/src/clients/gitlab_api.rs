//! GitLab's REST API v4 with a personal access token: everything the scenario engine asks of a
//! GitLab goes through here, so the embedded GitLab and any real one are interchangeable.

use std::time::Duration;

use harness_error_chain::Chain;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// What went wrong talking to GitLab.
#[derive(Debug, thiserror::Error)]
pub enum GitLabApiError {
    /// The request did not get an answer.
    #[error("{method} {url}")]
    Transport {
        /// HTTP method.
        method: Method,
        /// Full URL (without credentials).
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// GitLab answered with an error status.
    #[error("{method} {url} answered {status}: {body}")]
    Status {
        /// HTTP method.
        method: Method,
        /// Full URL.
        url: String,
        /// The status.
        status: StatusCode,
        /// GitLab's message, shortened.
        body: String,
    },
    /// The answer was not what GitLab's API documents.
    #[error("{url}: unexpected answer: {message}")]
    Decode {
        /// Full URL.
        url: String,
        /// What did not fit.
        message: String,
    },
}

impl GitLabApiError {
    /// The HTTP status GitLab answered, if it answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            GitLabApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

type Result<T> = std::result::Result<T, GitLabApiError>;

/// A project as the API shows it (only the fields the harness reads).
#[derive(Debug, Clone, Deserialize)]
pub struct ApiProject {
    /// Numeric id.
    pub id: u64,
    /// `group/name`.
    pub path_with_namespace: String,
    /// Clone URL over HTTP.
    pub http_url_to_repo: String,
    /// The project's runner registration token (admins and maintainers only).
    #[serde(default)]
    pub runners_token: Option<String>,
}

/// A pipeline (only the fields the harness reads).
#[derive(Debug, Clone, Deserialize)]
pub struct ApiPipeline {
    /// Id.
    pub id: u64,
    /// Commit.
    pub sha: String,
    /// Branch or tag.
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// `created`, `pending`, `running`, `success`, `failed`, …
    pub status: String,
    /// Configuration errors of a pipeline that could not be created from its YAML.
    #[serde(default)]
    pub yaml_errors: Option<String>,
}

impl ApiPipeline {
    /// Whether the pipeline will not change any more.
    pub fn finished(&self) -> bool {
        matches!(
            self.status.as_str(),
            "success" | "failed" | "canceled" | "skipped"
        )
    }
}

/// A job (only the fields the harness reads).
#[derive(Debug, Clone, Deserialize)]
pub struct ApiJob {
    /// Id.
    pub id: u64,
    /// Name in `.gitlab-ci.yml`.
    pub name: String,
    /// Stage.
    pub stage: String,
    /// Status.
    pub status: String,
    /// Why it failed.
    #[serde(default)]
    pub failure_reason: Option<String>,
    /// Start time.
    #[serde(default)]
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    /// End time.
    #[serde(default)]
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl ApiJob {
    /// How long it ran, when it ran to the end.
    pub fn seconds(&self) -> Option<f64> {
        Some((self.finished_at? - self.started_at?).num_milliseconds() as f64 / 1000.0)
    }
}

/// A runner (only the fields the harness reads).
#[derive(Debug, Clone, Deserialize)]
pub struct ApiRunner {
    /// Id.
    pub id: u64,
    /// Description given at registration.
    #[serde(default)]
    pub description: Option<String>,
    /// `online`, `offline`, `never_contacted`, `stale`.
    #[serde(default)]
    pub status: Option<String>,
}

/// The answer of `POST /projects/:id/ci/lint`.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiLint {
    /// Whether the configuration is valid.
    pub valid: bool,
    /// GitLab's error messages.
    #[serde(default)]
    pub errors: Vec<String>,
}

/// A CI/CD variable to set on a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiVariable {
    /// Name.
    pub key: String,
    /// Value.
    pub value: String,
    /// Hidden in job logs.
    pub masked: bool,
    /// Only on protected refs.
    pub protected: bool,
    /// `env_var` or `file`.
    pub variable_type: String,
}

/// A client for one GitLab, authenticated with a personal access token.
#[derive(Clone)]
pub struct GitLabApi {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl std::fmt::Debug for GitLabApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitLabApi")
            .field("base", &self.base)
            .finish()
    }
}

impl GitLabApi {
    /// A client for the GitLab at `url` (e.g. `http://127.0.0.1:8080/`).
    pub fn new(url: &str, token: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap_or_default();
        Self {
            http,
            base: format!("{}/api/v4/", url.trim_end_matches('/')),
            token: token.to_owned(),
        }
    }

    /// The GitLab's base URL, with a trailing `/`.
    pub fn url(&self) -> String {
        self.base.trim_end_matches("api/v4/").to_owned()
    }

    /// The token this client authenticates with.
    pub fn token(&self) -> &str {
        &self.token
    }

    async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Vec<u8>> {
        let url = format!("{}{path}", self.base);
        let mut request = self
            .http
            .request(method.clone(), &url)
            .header("PRIVATE-TOKEN", &self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let transport = |source| GitLabApiError::Transport {
            method: method.clone(),
            url: url.clone(),
            source,
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport)?;
        if !status.is_success() {
            let body = String::from_utf8_lossy(&bytes);
            return Err(GitLabApiError::Status {
                method,
                url,
                status,
                body: body.chars().take(300).collect(),
            });
        }
        Ok(bytes.to_vec())
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T> {
        let bytes = self.send(method, path, body).await?;
        serde_json::from_slice(&bytes).map_err(|e| GitLabApiError::Decode {
            url: format!("{}{path}", self.base),
            message: e.to_string(),
        })
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.json(Method::GET, path, None).await
    }

    /// `GET /user`: the token's user name (checks the token).
    pub async fn username(&self) -> Result<String> {
        #[derive(Deserialize)]
        struct User {
            username: String,
        }
        Ok(self.get::<User>("user").await?.username)
    }

    /// `GET /version`.
    pub async fn version(&self) -> Result<String> {
        #[derive(Deserialize)]
        struct Version {
            version: String,
        }
        Ok(self.get::<Version>("version").await?.version)
    }

    /// `GET /projects/:path`, `None` when there is no such project.
    pub async fn find_project(&self, path: &str) -> Result<Option<ApiProject>> {
        match self.get(&format!("projects/{}", encode(path))).await {
            Ok(project) => Ok(Some(project)),
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates `group/name` (and the group when it does not exist); private, as GitLab's default.
    pub async fn create_project(&self, path: &str) -> Result<ApiProject> {
        let (group, name) = path.rsplit_once('/').unwrap_or(("", path));
        let namespace_id = match group {
            "" => None,
            group => Some(self.find_or_create_group(group).await?),
        };
        let mut body = json!({"path": name, "name": name, "visibility": "private"});
        if let Some(id) = namespace_id {
            body["namespace_id"] = json!(id);
        }
        self.json(Method::POST, "projects", Some(&body)).await
    }

    async fn find_or_create_group(&self, path: &str) -> Result<u64> {
        #[derive(Deserialize)]
        struct Group {
            id: u64,
        }
        match self.get::<Group>(&format!("groups/{}", encode(path))).await {
            Ok(group) => return Ok(group.id),
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => {}
            Err(e) => return Err(e),
        }
        let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
        let mut body = json!({"name": name, "path": name, "visibility": "private"});
        if !parent.is_empty() {
            body["parent_id"] = json!(Box::pin(self.find_or_create_group(parent)).await?);
        }
        let group: Group = self.json(Method::POST, "groups", Some(&body)).await?;
        Ok(group.id)
    }

    /// `DELETE /projects/:id`.
    pub async fn delete_project(&self, id: u64) -> Result<()> {
        self.send(Method::DELETE, &format!("projects/{id}"), None)
            .await
            .map(drop)
    }

    /// Creates or replaces a project's CI/CD variable.
    pub async fn set_variable(&self, project: u64, variable: &ApiVariable) -> Result<()> {
        let body = json!({
            "key": variable.key, "value": variable.value, "masked": variable.masked,
            "protected": variable.protected, "variable_type": variable.variable_type,
        });
        let path = format!("projects/{project}/variables/{}", encode(&variable.key));
        match self.send(Method::PUT, &path, Some(&body)).await {
            Ok(_) => Ok(()),
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => self
                .send(
                    Method::POST,
                    &format!("projects/{project}/variables"),
                    Some(&body),
                )
                .await
                .map(drop),
            Err(e) => Err(e),
        }
    }

    /// Runners GitLab lists for the project.
    pub async fn project_runners(&self, project: u64) -> Result<Vec<ApiRunner>> {
        self.get(&format!("projects/{project}/runners?per_page=100"))
            .await
    }

    /// `GET /runners/:id`.
    pub async fn runner(&self, id: u64) -> Result<ApiRunner> {
        self.get(&format!("runners/{id}")).await
    }

    /// `DELETE /runners/:id`.
    pub async fn delete_runner(&self, id: u64) -> Result<()> {
        self.send(Method::DELETE, &format!("runners/{id}"), None)
            .await
            .map(drop)
    }

    /// `POST /user/runners`: a project runner and its authentication token (`glrt-…`).
    pub async fn create_project_runner(
        &self,
        project: u64,
        description: &str,
        tags: &[String],
    ) -> Result<(u64, String)> {
        #[derive(Deserialize)]
        struct Created {
            id: u64,
            token: String,
        }
        let body = json!({
            "runner_type": "project_type", "project_id": project, "description": description,
            "tag_list": tags.join(","), "run_untagged": true,
        });
        let created: Created = self.json(Method::POST, "user/runners", Some(&body)).await?;
        Ok((created.id, created.token))
    }

    /// Pipelines of the project, newest first (`sha` narrows to one commit).
    pub async fn pipelines(&self, project: u64, sha: Option<&str>) -> Result<Vec<ApiPipeline>> {
        let filter = sha.map(|s| format!("&sha={s}")).unwrap_or_default();
        self.get(&format!(
            "projects/{project}/pipelines?per_page=100{filter}"
        ))
        .await
    }

    /// One pipeline.
    pub async fn pipeline(&self, project: u64, id: u64) -> Result<ApiPipeline> {
        self.get(&format!("projects/{project}/pipelines/{id}"))
            .await
    }

    /// "Run pipeline" on `git_ref` with variables.
    pub async fn create_pipeline(
        &self,
        project: u64,
        git_ref: &str,
        variables: &[(String, String)],
    ) -> Result<ApiPipeline> {
        let variables: Vec<Value> = variables
            .iter()
            .map(|(k, v)| json!({"key": k, "value": v, "variable_type": "env_var"}))
            .collect();
        let body = json!({"ref": git_ref, "variables": variables});
        self.json(
            Method::POST,
            &format!("projects/{project}/pipeline"),
            Some(&body),
        )
        .await
    }

    /// The jobs of a pipeline (retried ones left out, as GitLab does by default).
    pub async fn jobs(&self, project: u64, pipeline: u64) -> Result<Vec<ApiJob>> {
        self.get(&format!(
            "projects/{project}/pipelines/{pipeline}/jobs?per_page=100"
        ))
        .await
    }

    /// A job's log, masked values shown as GitLab shows them.
    pub async fn trace(&self, project: u64, job: u64) -> Result<String> {
        let bytes = self
            .send(
                Method::GET,
                &format!("projects/{project}/jobs/{job}/trace"),
                None,
            )
            .await?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// A job's artifacts archive; `None` when it has none.
    pub async fn artifacts(&self, project: u64, job: u64) -> Result<Option<Vec<u8>>> {
        let path = format!("projects/{project}/jobs/{job}/artifacts");
        match self.send(Method::GET, &path, None).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// GitLab's lint of a `.gitlab-ci.yml` in the project's context.
    pub async fn lint(&self, project: u64, content: &str) -> Result<ApiLint> {
        let body = json!({"content": content});
        self.json(
            Method::POST,
            &format!("projects/{project}/ci/lint"),
            Some(&body),
        )
        .await
    }
}

impl GitLabApi {
    /// Polls `check` until it yields a value or `timeout` passes; `what` names the awaited
    /// condition in the error.
    pub async fn wait_until<T, F, Fut>(
        &self,
        what: &str,
        timeout: Duration,
        mut check: F,
    ) -> std::result::Result<T, WaitError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>>>,
    {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut last_error = None;
        loop {
            match check().await {
                Ok(Some(value)) => return Ok(value),
                Ok(None) => {}
                Err(e) => last_error = Some(Chain(&e).to_string()),
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(WaitError {
                    what: what.to_owned(),
                    seconds: timeout.as_secs(),
                    last_error,
                });
            }
            tokio::time::sleep_until((tokio::time::Instant::now() + POLL_INTERVAL).min(deadline))
                .await;
        }
    }

    /// Waits until pipeline `id` has finished.
    pub async fn wait_pipeline(
        &self,
        project: u64,
        id: u64,
        timeout: Duration,
    ) -> std::result::Result<ApiPipeline, WaitError> {
        self.wait_until(
            &format!("pipeline {id} to finish"),
            timeout,
            || async move {
                let pipeline = self.pipeline(project, id).await?;
                Ok(pipeline.finished().then_some(pipeline))
            },
        )
        .await
    }
}

/// How often a wait asks GitLab again (its API has no watch).
const POLL_INTERVAL: Duration = Duration::from_millis(300);

/// A condition did not hold in time.
#[derive(Debug, thiserror::Error)]
#[error("timed out after {seconds} s waiting for {what}{}", last_error.as_ref().map(|e| format!(" (last error: {e})")).unwrap_or_default())]
pub struct WaitError {
    what: String,
    seconds: u64,
    last_error: Option<String>,
}

/// A path segment as GitLab's API takes it (`demo/app` → `demo%2Fapp`).
fn encode(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_encoded_as_gitlab_expects() {
        assert_eq!(encode("demo/sample-java-app"), "demo%2Fsample%2Djava%2Dapp");
        assert_eq!(
            GitLabApi::new("http://127.0.0.1:1/", "t").url(),
            "http://127.0.0.1:1/"
        );
    }

    #[test]
    fn finished_statuses() {
        let p = |status: &str| ApiPipeline {
            id: 1,
            sha: String::new(),
            git_ref: String::new(),
            status: status.into(),
            yaml_errors: None,
        };
        assert!(p("success").finished());
        assert!(p("failed").finished());
        assert!(!p("running").finished());
        assert!(!p("created").finished());
    }
}
