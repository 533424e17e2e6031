//! Real git pushes the sample app: pipelines appear with GitLab's semantics, and a job token
//! clones the repository back.

mod common;

use common::*;
use harness_gitlab::Status;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_creates_pipelines_and_job_token_clones() {
    let Some((tmp, gitlab, project)) = start_with_project("qhub/hello").await else {
        return;
    };
    let (work, sha) = commit_repo(tmp.path(), "master", &sample_app(FIXED_CI));

    // Unauthenticated push is refused.
    let refused = git_output(&work, &["push", &project.http_url_to_repo, "master"]);
    assert!(!refused.status.success());

    push(&gitlab, &project, &work, "master");
    let pipelines = gitlab.wait_pipelines(&project, 1, TIMEOUT).await.unwrap();
    let master = &pipelines[0];
    assert_eq!(
        (
            master.ref_name.as_str(),
            master.sha.as_str(),
            master.source.as_str()
        ),
        ("master", sha.as_str(), "push")
    );
    assert!(master.protected, "master is protected by default");
    assert_eq!(master.stages, ["package", "docker_build", "deploy_k8s"]);
    let jobs = gitlab.jobs(master.id);
    let shape: Vec<_> = jobs
        .iter()
        .map(|j| (j.name.as_str(), j.stage.as_str(), j.status))
        .collect();
    assert_eq!(
        shape,
        [
            ("maven-package", "package", Status::Pending),
            ("docker-build", "docker_build", Status::Created),
            ("k8s-deploy", "deploy_k8s", Status::Created),
        ]
    );
    assert_eq!(
        gitlab
            .project("qhub/hello")
            .unwrap()
            .default_branch
            .as_deref(),
        Some("master")
    );

    // Another branch: the `only: master` jobs are absent.
    git(&work, &["checkout", "-q", "-b", "feature"]);
    std::fs::write(work.join("README.md"), "feature\n").unwrap();
    git(&work, &["add", "."]);
    git(&work, &["commit", "-q", "-m", "Feature work"]);
    push(&gitlab, &project, &work, "feature");
    let pipelines = gitlab.wait_pipelines(&project, 2, TIMEOUT).await.unwrap();
    let feature = &pipelines[0];
    assert_eq!(feature.ref_name, "feature");
    assert!(!feature.protected);
    let names: Vec<_> = gitlab
        .jobs(feature.id)
        .into_iter()
        .map(|j| j.name)
        .collect();
    assert_eq!(names, ["maven-package"]);

    // A runner picks the first job; its token clones the repository like the runner's helper.
    let runner = gitlab.create_runner("test runner", &["gitlab-runner"], false);
    let runner = RunnerApi::new(&gitlab, &runner.token);
    let resp = runner
        .request(json!({"system_id": "s_0123456789ab", "info": {"features": {"refspecs": true}}}))
        .await;
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let payload: Value = resp.json().await.unwrap();
    assert_eq!(payload["job_info"]["name"], "maven-package");
    assert_eq!(payload["git_info"]["sha"], sha.as_str());
    let var = |k: &str| {
        payload["variables"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .find(|v| v["key"] == k)
            .map(|v| v["value"].as_str().unwrap().to_string())
    };
    assert_eq!(var("CI_COMMIT_SHA").as_deref(), Some(sha.as_str()));
    assert_eq!(var("CI_COMMIT_REF_NAME").as_deref(), Some("master"));
    assert_eq!(var("CI_JOB_TOKEN").as_deref(), payload["token"].as_str());
    assert_eq!(var("CI_PROJECT_DIR").as_deref(), Some("/builds/qhub/hello"));
    assert_eq!(
        var("MAVEN_OPTS").as_deref(),
        Some("-Dmaven.repo.local=/home/cache/maven")
    );
    let repo_url = payload["git_info"]["repo_url"].as_str().unwrap();
    assert_eq!(var("CI_REPOSITORY_URL").as_deref(), Some(repo_url));
    assert!(repo_url.contains("gitlab-ci-token:glcbt-"));

    let clone_dir = tmp.path().join("clone");
    git(
        tmp.path(),
        &["clone", "-q", repo_url, clone_dir.to_str().unwrap()],
    );
    assert_eq!(git(&clone_dir, &["rev-parse", "HEAD"]), sha);
    assert!(clone_dir.join("pom.xml").exists());
    assert!(clone_dir.join(".gitlab-ci.yml").exists());

    // The job token may read but not push.
    std::fs::write(clone_dir.join("x"), "x").unwrap();
    git(&clone_dir, &["add", "x"]);
    git(&clone_dir, &["commit", "-q", "-m", "x"]);
    let denied = git_output(&clone_dir, &["push", "origin", "HEAD:master"]);
    assert!(!denied.status.success(), "a job token must not push");

    // After the job finishes, its token no longer clones.
    runner.finish(&payload, "success").await;
    let stale = git_output(
        tmp.path(),
        &[
            "clone",
            "-q",
            repo_url,
            tmp.path().join("clone2").to_str().unwrap(),
        ],
    );
    assert!(!stale.status.success());
    let next = gitlab
        .wait_job_status(jobs[1].id, Status::Pending, TIMEOUT)
        .await
        .unwrap();
    assert_eq!(next.name, "docker-build");
    gitlab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verbatim_tutorial_file_makes_a_failed_pipeline_with_gitlabs_error() {
    let Some((tmp, gitlab, project)) = start_with_project("qhub/verbatim").await else {
        return;
    };
    let verbatim = include_str!("fixtures/tutorial-verbatim.gitlab-ci.yml");
    let p = push_repo(
        tmp.path(),
        &gitlab,
        &project,
        "master",
        &sample_app(verbatim),
    )
    .await
    .pipeline;
    assert_eq!(p.status, Status::Failed);
    assert_eq!(
        p.yaml_errors.as_deref(),
        Some(
            "docker-build job: chosen stage does not exist; available stages are .pre, package, docker_build, deploy_k8s, .post"
        )
    );
    assert!(gitlab.jobs(p.id).is_empty());
}
