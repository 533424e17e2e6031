//! A tutorial-shaped job and runner entry for unit tests.

use super::context::JobContext;
use crate::api::JobResponse;
use crate::config::{self, RunnerConfig};

pub const TUTORIAL_CONFIG: &str = include_str!("../../../../fixtures/tutorial/config.toml");

pub fn tutorial_runner() -> RunnerConfig {
    let mut cfg = config::parse(std::path::Path::new("tutorial"), TUTORIAL_CONFIG).unwrap();
    let mut runner = cfg.runners.remove(0);
    runner.kubernetes.as_mut().unwrap().pull_policy = vec!["if-not-present".into()];
    runner
}

pub fn maven_job() -> JobResponse {
    serde_json::from_value(serde_json::json!({
        "id": 42, "token": "glcbt-jobtoken-42", "allow_git_fetch": true,
        "job_info": {"id": 42, "name": "maven-package", "stage": "package", "project_id": 7,
                     "project_name": "demo", "pipeline_id": 9},
        "git_info": {"repo_url": "http://gitlab-ci-token:glcbt-jobtoken-42@gitlab.local/grp/demo.git",
                     "ref": "master", "sha": "0123456789abcdef0123456789abcdef01234567",
                     "before_sha": "0000000000000000000000000000000000000000", "ref_type": "branch",
                     "refspecs": ["+refs/heads/master:refs/remotes/origin/master"], "depth": 50},
        "runner_info": {"timeout": 3600},
        "variables": [
            {"key": "CI_JOB_ID", "value": "42", "public": true, "masked": false},
            {"key": "CI_JOB_TOKEN", "value": "glcbt-jobtoken-42", "public": false, "masked": true},
            {"key": "CI_PROJECT_NAMESPACE", "value": "grp", "public": true, "masked": false},
            {"key": "CI_JOB_URL", "value": "http://gitlab.local/grp/demo/-/jobs/42", "public": true, "masked": false},
            {"key": "MAVEN_OPTS", "value": "-Dmaven.repo.local=/home/cache/maven", "public": true, "masked": false},
            {"key": "DOCKER_PASSWORD", "value": "s3cr3t-pa55word", "public": false, "masked": true},
            {"key": "KUBECONFIG_FILE", "value": "apiVersion: v1\n", "public": false, "masked": false, "file": true}
        ],
        "steps": [
            {"name": "script", "script": ["export APP_TAG=\"${CI_COMMIT_TAG:-${CI_COMMIT_SHA::8}}\"",
                                          "mvn clean package -Dmaven.test.skip=true"],
             "timeout": 3600, "when": "on_success", "allow_failure": false}
        ],
        "image": {"name": "registry.cn-beijing.aliyuncs.com/codepipeline/public-blueocean-codepipeline-slave-java:0.1-63b99a20"},
        "artifacts": [{"name": "", "untracked": false, "paths": ["target/*.war"], "when": "on_success",
                        "artifact_type": "archive", "artifact_format": "zip"}],
        "dependencies": [{"id": 41, "token": "glcbt-jobtoken-42", "name": "earlier",
                          "artifacts_file": {"filename": "artifacts.zip", "size": 10}}],
        "features": {"failure_reasons": ["script_failure", "image_pull_failure"]}
    }))
    .unwrap()
}

pub fn maven_context() -> JobContext {
    JobContext::new(maven_job(), tutorial_runner(), 0, 0)
}
