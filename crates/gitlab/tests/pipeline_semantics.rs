//! GitLab's pipeline semantics end to end: include, extends, .pre/.post, retry, allow_failure,
//! needs, rules (if/changes/exists, manual, never), on_failure, always, and concurrent pipelines.

mod common;

use common::*;
use harness_gitlab::{GitLabHandle, Pipeline, Status};

const CI: &str = r#"
include:
  - local: ci/extra.yml
stages: [build, test, deploy]
.defaults:
  tags: [t]
setup:
  extends: .defaults
  stage: .pre
  script: [setup]
compile:
  extends: .defaults
  stage: build
  script: [make]
  retry: 1
lint:
  extends: .defaults
  stage: build
  script: [lint]
  allow_failure: true
unit:
  extends: .defaults
  stage: test
  needs: [compile]
  script: [test]
docs:
  extends: .defaults
  stage: test
  script: [docs]
  rules:
    - changes: [docs/**/*]
    - exists: [mkdocs.yml]
      when: always
on-fail:
  extends: .defaults
  stage: deploy
  when: on_failure
  script: [notify]
release:
  extends: .defaults
  stage: deploy
  script: [release]
  rules:
    - if: $CI_COMMIT_BRANCH == "master"
      when: manual
    - when: never
"#;

const EXTRA: &str = "cleanup:\n  stage: .post\n  tags: [t]\n  when: always\n  script: [cleanup]\n";

fn statuses(gitlab: &GitLabHandle, pipeline: u64) -> Vec<(String, Status)> {
    gitlab
        .jobs(pipeline)
        .into_iter()
        .map(|j| (j.name, j.status))
        .collect()
}

fn status_of(gitlab: &GitLabHandle, pipeline: u64, name: &str) -> Status {
    gitlab
        .jobs(pipeline)
        .into_iter()
        .find(|j| j.name == name)
        .map(|j| j.status)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_follows_gitlab_semantics() {
    let Some((tmp, gitlab, project)) = start_with_project("group/semantics").await else {
        return;
    };
    let files = [(".gitlab-ci.yml", CI), ("ci/extra.yml", EXTRA)];
    let pushed = push_repo(tmp.path(), &gitlab, &project, "master", &files).await;
    let (work, p) = (pushed.work, pushed.pipeline.id);
    let names: Vec<String> = statuses(&gitlab, p).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "setup", "compile", "lint", "unit", "docs", "on-fail", "release", "cleanup"
        ]
    );
    assert_eq!(
        gitlab.pipeline(p).unwrap().stages,
        [".pre", "build", "test", "deploy", ".post"]
    );

    let r = RunnerApi::new(&gitlab, &gitlab.create_runner("r", &["t"], false).token);
    let other = gitlab.create_runner("other", &["other"], true);
    let wrong_tags = RunnerApi::new(&gitlab, &other.token);
    assert!(
        wrong_tags.take().await.is_none(),
        "a runner without tag `t` gets no tagged job"
    );
    assert_eq!(status_of(&gitlab, p, "compile"), Status::Created);
    r.run("setup", "success").await;
    r.run("compile", "failed").await;
    // retry: 1 → a second attempt is queued; the first is kept as retried.
    r.run("lint", "failed").await;
    let compile = r.run("compile", "success").await;
    let attempts: Vec<_> = gitlab
        .job(compile["id"].as_u64().unwrap())
        .into_iter()
        .map(|j| j.attempt)
        .collect();
    assert_eq!(attempts, [1]);
    assert_eq!(status_of(&gitlab, p, "lint"), Status::Failed);
    // lint failed but may fail: the test stage runs. `docs` has no docs/ change but the push is a
    // new branch, so `changes` is true (GitLab's rule for new refs).
    assert_eq!(status_of(&gitlab, p, "unit"), Status::Pending);
    assert_eq!(status_of(&gitlab, p, "docs"), Status::Pending);
    let unit = r.run("unit", "success").await;
    let deps: Vec<&str> = unit["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(deps, ["compile"], "needs limits dependencies");
    r.run("docs", "success").await;
    assert_eq!(status_of(&gitlab, p, "on-fail"), Status::Skipped);
    assert_eq!(status_of(&gitlab, p, "release"), Status::Manual);
    assert_eq!(
        status_of(&gitlab, p, "cleanup"),
        Status::Created,
        "a blocking manual job holds later stages"
    );
    assert_eq!(gitlab.pipeline(p).unwrap().status, Status::Manual);
    assert!(r.take().await.is_none());

    let release = gitlab
        .jobs(p)
        .into_iter()
        .find(|j| j.name == "release")
        .unwrap();
    gitlab.play_job(release.id).unwrap();
    r.run("release", "success").await;
    r.run("cleanup", "success").await;
    let done = gitlab.wait_pipeline(p, TIMEOUT).await.unwrap();
    assert_eq!(
        done.status,
        Status::Success,
        "allowed failures do not fail the pipeline"
    );

    // Two pipelines at once: both get their first job handed out.
    git(&work, &["checkout", "-q", "-b", "topic"]);
    push(&gitlab, &project, &work, "topic");
    gitlab.run_pipeline(&project, "master", &[]).await.unwrap();
    let list = gitlab.wait_pipelines(&project, 3, TIMEOUT).await.unwrap();
    let (a, b) = (r.take().await.unwrap(), r.take().await.unwrap());
    assert_ne!(a["job_info"]["pipeline_id"], b["job_info"]["pipeline_id"]);
    for id in [
        a["job_info"]["pipeline_id"].as_u64().unwrap(),
        b["job_info"]["pipeline_id"].as_u64().unwrap(),
    ] {
        assert_eq!(gitlab.pipeline(id).unwrap().status, Status::Running);
    }
    let topic = list.iter().find(|p| p.ref_name == "topic").unwrap();
    let topic_jobs: Vec<String> = statuses(&gitlab, topic.id)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(
        !topic_jobs.contains(&"release".to_string()),
        "`when: never` on other branches"
    );
    r.finish(&a, "failed").await;
    r.finish(&b, "success").await;
}

/// Asserts that pipeline `p` failed with `error` as its configuration error.
#[track_caller]
fn assert_config_error(p: &Pipeline, error: &str) {
    assert_eq!(p.status, Status::Failed);
    assert_eq!(p.yaml_errors.as_deref(), Some(error));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_need_filtered_out_by_only_fails_the_pipeline() {
    let Some((tmp, gitlab, project)) = start_with_project("group/needs").await else {
        return;
    };
    let ci = "stages: [build, test]\nbuild:\n  stage: build\n  script: [make]\n  only: [master]\ntest:\n  stage: test\n  needs: [build]\n  script: [test]\n";
    let p = push_repo(tmp.path(), &gitlab, &project, "topic", &ci_file(ci))
        .await
        .pipeline;
    assert_config_error(
        &p,
        "'test' job needs 'build' job, but 'build' is not in any previous stage",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn circular_needs_fail_the_pipeline_and_the_lint() {
    let Some((tmp, gitlab, project)) = start_with_project("group/cycle").await else {
        return;
    };
    let ci = "a:\n  script: [x]\n  needs: [b]\nb:\n  script: [x]\n  needs: [a]\n";
    let p = push_repo(tmp.path(), &gitlab, &project, "master", &ci_file(ci))
        .await
        .pipeline;
    assert_config_error(&p, "The pipeline has circular dependencies");
    assert!(gitlab.jobs(p.id).is_empty());
    let lint = Api::root(&gitlab).lint(project.id, ci).await;
    assert_eq!(lint["valid"], false);
    assert_eq!(
        lint["errors"],
        serde_json::json!(["The pipeline has circular dependencies"])
    );
}
