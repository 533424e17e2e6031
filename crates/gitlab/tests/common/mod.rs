//! Shared helpers for the integration tests: start a GitLab, drive real git, speak HTTP.
// Each test binary uses its own subset of these helpers.
#![allow(dead_code, unused_imports)]

mod client;

pub use client::{Api, RunnerApi};

use std::path::{Path, PathBuf};
use std::time::Duration;

use harness_gitlab::{GitLab, GitLabConfig, GitLabHandle, Pipeline, Project};
use tempfile::TempDir;

/// The tutorial's `.gitlab-ci.yml` with the two stage names corrected.
pub const FIXED_CI: &str = include_str!("../fixtures/tutorial-fixed.gitlab-ci.yml");

/// How long a test waits for the GitLab to reach a state.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// A GitLab on a random port with its state in a temp dir (kept alive by the returned guard).
pub async fn start() -> (TempDir, GitLabHandle) {
    let dir = tempfile::tempdir().unwrap();
    let config = GitLabConfig::new(dir.path().join("gitlab"))
        .trace_update_interval(1)
        .long_poll(Duration::from_secs(20));
    let gitlab = GitLab::start(config).await.unwrap();
    (dir, gitlab)
}

/// A GitLab with the project `path` for a test that drives real git; `None`, with the reason
/// printed, where git is not installed.
pub async fn start_with_project(path: &str) -> Option<(TempDir, GitLabHandle, Project)> {
    if !have("git") {
        return None;
    }
    let (tmp, gitlab) = start().await;
    let project = gitlab.create_project(path).await.unwrap();
    Some((tmp, gitlab, project))
}

/// A file list holding only `.gitlab-ci.yml`, for [`push_repo`].
pub fn ci_file(ci: &str) -> [(&'static str, &str); 1] {
    [(".gitlab-ci.yml", ci)]
}

pub use harness_test_support::{can_run, git, git_output, have};

/// `http://root:<password>@127.0.0.1:PORT/group/name.git`.
pub fn push_url(gitlab: &GitLabHandle, project: &Project) -> String {
    let url = gitlab.push_url(project);
    let creds = gitlab.root_credentials();
    assert_eq!(
        url,
        project.http_url_to_repo.replacen(
            "http://",
            &format!("http://root:{}@", creds.password),
            1
        )
    );
    url
}

/// A tiny Maven war project with the tutorial's Dockerfile and deployment, and `ci` as its
/// `.gitlab-ci.yml`.
pub fn sample_app(ci: &str) -> [(&'static str, &str); 5] {
    [
        (
            "pom.xml",
            "<project xmlns=\"http://maven.apache.org/POM/4.0.0\">\n  <modelVersion>4.0.0</modelVersion>\n  <groupId>com.example</groupId>\n  <artifactId>hello</artifactId>\n  <version>1.0</version>\n  <packaging>war</packaging>\n  <properties><failOnMissingWebXml>false</failOnMissingWebXml></properties>\n</project>\n",
        ),
        (
            "src/main/webapp/index.jsp",
            "<html><body>Hello</body></html>\n",
        ),
        (
            "Dockerfile",
            "FROM tomcat:9\nCOPY target/*.war /usr/local/tomcat/webapps/ROOT.war\n",
        ),
        (
            "deployment.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: hello\nspec:\n  selector:\n    matchLabels: {app: hello}\n  template:\n    metadata:\n      labels: {app: hello}\n    spec:\n      containers:\n      - name: hello\n        image: registry.example/qhub/hello:latest\n",
        ),
        (".gitlab-ci.yml", ci),
    ]
}

/// Writes `files` into `<tmp>/work` and commits them as the first commit of `branch`; returns
/// the work tree and the commit.
pub fn commit_repo(tmp: &Path, branch: &str, files: &[(&str, &str)]) -> (PathBuf, String) {
    let work = tmp.join("work");
    for (path, content) in files {
        let p = work.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    git(&work, &["init", "-q"]);
    if branch != "master" {
        git(&work, &["checkout", "-q", "-b", branch]);
    }
    git(&work, &["add", "."]);
    git(&work, &["commit", "-q", "-m", "ci"]);
    let sha = git(&work, &["rev-parse", "HEAD"]);
    (work, sha)
}

/// Pushes `branch` of the work tree `dir` to `project` as root.
pub fn push(gitlab: &GitLabHandle, project: &Project, dir: &Path, branch: &str) {
    git(dir, &["push", "-q", &push_url(gitlab, project), branch]);
}

/// A repository pushed to a project and the pipeline the push created.
pub struct Pushed {
    /// The work tree (a clone of the project).
    pub work: PathBuf,
    /// The pushed commit.
    pub sha: String,
    /// The push's pipeline.
    pub pipeline: Pipeline,
}

/// Commits `files` on `branch` in `<tmp>/work`, pushes as root and waits for the pipeline.
pub async fn push_repo(
    tmp: &Path,
    gitlab: &GitLabHandle,
    project: &Project,
    branch: &str,
    files: &[(&str, &str)],
) -> Pushed {
    let (work, sha) = commit_repo(tmp, branch, files);
    push(gitlab, project, &work, branch);
    let pipeline = gitlab
        .wait_pipelines(project, 1, TIMEOUT)
        .await
        .unwrap()
        .remove(0);
    Pushed {
        work,
        sha,
        pipeline,
    }
}

/// The smallest pipeline: one job, `job`, in the default stage.
pub const ONE_JOB: &str = "job:\n  script: [x]\n";

/// Commits [`ONE_JOB`] as `.gitlab-ci.yml` on `master` in `<dir>/work` (`dir` made if needed),
/// pushes as root and waits for the pipeline.
pub async fn push_one_job(dir: &Path, gitlab: &GitLabHandle, project: &Project) -> Pushed {
    std::fs::create_dir_all(dir).unwrap();
    push_repo(dir, gitlab, project, "master", &ci_file(ONE_JOB)).await
}

/// The `id`s of a JSON list's items.
pub fn ids(list: serde_json::Value) -> Vec<u64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_u64().unwrap())
        .collect()
}

/// A runner registered with the instance registration token.
pub async fn register_runner(gitlab: &GitLabHandle) -> RunnerApi {
    let reg: serde_json::Value = Api::anonymous(gitlab)
        .post(
            "runners",
            &serde_json::json!({"token": gitlab.registration_token()}),
        )
        .await
        .json()
        .await
        .unwrap();
    RunnerApi::new(gitlab, reg["token"].as_str().unwrap())
}

/// A project `path` with one pushed pipeline whose only job (`job`) a fresh runner is running:
/// the runner, the job payload, the project and the push.
pub async fn running_job(
    tmp: &Path,
    gitlab: &GitLabHandle,
    path: &str,
) -> (RunnerApi, serde_json::Value, Project, Pushed) {
    let runner = register_runner(gitlab).await;
    let project = gitlab.create_project(path).await.unwrap();
    let pushed = push_one_job(&tmp.join(path.replace('/', "-")), gitlab, &project).await;
    let job = runner.take().await.expect("a job is handed out");
    (runner, job, project, pushed)
}
