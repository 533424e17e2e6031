//! The Runner API on the wire, as the Go runner uses it: legacy registration, verify, long
//! polling with `X-GitLab-Last-Update`, job updates, trace offsets (416 + Range), cancel
//! signalling, unregister; plus protected and file variables.

mod common;

use std::time::{Duration, Instant};

use common::*;
use harness_gitlab::{Status, Variable};
use reqwest::Method;
use serde_json::{Value, json};

const CI: &str = "job:\n  script: [\"echo $DEPLOY_KEY\"]\n  after_script: [cleanup]\n  image:\n    name: bitnami/kubectl:latest\n    entrypoint: ['']\n  timeout: 10m\n  allow_failure:\n    exit_codes: [1]\n";

fn var<'a>(payload: &'a Value, key: &str) -> Option<&'a Value> {
    payload["variables"]
        .as_array()?
        .iter()
        .rev()
        .find(|v| v["key"] == key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_runner_protocol() {
    if !have("git") {
        return;
    }
    let (tmp, gitlab) = start().await;
    let api = Api::anonymous(&gitlab);

    // Legacy registration: bad token 403, good token 201 with a glrt- token.
    let bad = api.post("runners", &json!({"token": "nope"})).await;
    assert_eq!(bad.status(), 403);
    let reg: Value = api
        .post("runners", &json!({"token": gitlab.registration_token(), "description": "k8s", "tag_list": "gitlab-runner, k8s",
            "run_untagged": true, "locked": false, "paused": false, "info": {"version": "12.8.0"}}))
        .await
        .json()
        .await
        .unwrap();
    let runner = RunnerApi::new(&gitlab, reg["token"].as_str().unwrap());
    let token = runner.token.clone();
    assert!(token.starts_with("glrt-"));
    assert!(reg["token_expires_at"].is_null());
    let verify = api
        .post(
            "runners/verify",
            &json!({"token": token, "system_id": "s_0123456789ab"}),
        )
        .await;
    assert_eq!(verify.status(), 200);
    assert_eq!(verify.headers()["content-type"], "application/json");
    let runners = gitlab.runners();
    assert_eq!(runners[0].tag_list, ["gitlab-runner", "k8s"]);

    // Nothing to do: 204 with a Last-Update value.
    let last_update = runner.idle().await;

    let project = gitlab.create_project("qhub/proto").await.unwrap();
    for v in [
        Variable::new("DEPLOY_KEY", "k3y-for-prod-only")
            .masked()
            .protected(),
        Variable::new("KUBECONFIG_DATA", "apiVersion: v1").file(),
    ] {
        gitlab.set_variable(&project, v).await.unwrap();
    }
    assert!(
        gitlab
            .set_variable(&project, Variable::new("SHORT", "abc").masked())
            .await
            .is_err(),
        "GitLab refuses to mask short values"
    );
    let work = push_repo(tmp.path(), &gitlab, &project, "master", &ci_file(CI))
        .await
        .work;

    // A long poll with the old Last-Update returns at once: the queue changed.
    let r = runner.request(json!({"last_update": last_update})).await;
    assert_eq!(r.status(), 201);
    let job: Value = r.json().await.unwrap();
    let id = job["id"].as_u64().unwrap();
    let jt = job["token"].as_str().unwrap().to_string();
    assert_eq!(job["image"]["name"], "bitnami/kubectl:latest");
    assert_eq!(job["image"]["entrypoint"], json!([""]));
    assert_eq!(job["steps"][0]["name"], "script");
    assert_eq!(job["steps"][1]["name"], "after_script");
    assert_eq!(job["steps"][1]["when"], "always");
    assert_eq!(job["runner_info"]["timeout"], 600);
    assert_eq!(
        job["job_info"]["project_jobs_running_on_instance_runners_count"],
        "0"
    );
    let key = var(&job, "DEPLOY_KEY").expect("protected variable on protected master");
    assert_eq!(
        (key["masked"].as_bool(), key["public"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(var(&job, "KUBECONFIG_DATA").unwrap()["file"], true);
    assert_eq!(var(&job, "CI_COMMIT_BRANCH").unwrap()["value"], "master");

    // Scripts can read their own job with the job token.
    let me: Value = api
        .request(Method::GET, "job")
        .header("JOB-TOKEN", job["token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], job["id"]);
    assert_eq!(me["status"], "running");

    // Acknowledge, then stream the trace with exact offsets.
    let put = api
        .request(Method::PUT, &format!("jobs/{id}"))
        .header("JOB-TOKEN", &jt)
        .json(&json!({"token": jt, "state": "running"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let patch = |start: usize, body: &'static str| {
        api.request(Method::PATCH, &format!("jobs/{id}/trace"))
            .header("JOB-TOKEN", &jt)
            .header(
                "Content-Range",
                format!("{start}-{}", start + body.len() - 1),
            )
            .header("Content-Type", "text/plain")
            .body(body)
            .send()
    };
    let first = "$ echo $DEPLOY_KEY\nk3y-for-prod-only\n";
    let r = patch(0, first).await.unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(r.headers()["range"], format!("0-{}", first.len()));
    assert_eq!(r.headers()["job-status"], "running");
    assert_eq!(r.headers()["x-gitlab-trace-update-interval"], "1");
    let r = patch(5, "oops").await.unwrap();
    assert_eq!(r.status(), 416);
    assert_eq!(r.headers()["range"], format!("0-{}", first.len()));
    let no_range = api
        .request(Method::PATCH, &format!("jobs/{id}/trace"))
        .header("JOB-TOKEN", &jt)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(no_range.status(), 400);
    let trace = gitlab.trace(id).unwrap();
    assert!(
        trace.contains("[MASKED]") && !trace.contains("k3y-for-prod-only"),
        "{trace}"
    );
    let via_api = Api::root(&gitlab)
        .get(&format!("projects/{}/jobs/{id}/trace", project.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(!via_api.contains("k3y-for-prod-only"));

    // Cancel from the UI: the runner learns it from Job-Status and 403.
    gitlab
        .cancel_pipeline(job["job_info"]["pipeline_id"].as_u64().unwrap())
        .unwrap();
    let r = patch(first.len(), "more\n").await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.headers()["job-status"], "canceled");
    let r = runner.update(&job, json!({"state": "success"})).await;
    assert_eq!(
        (
            r.status().as_u16(),
            r.headers()["job-status"].to_str().unwrap()
        ),
        (403, "canceled")
    );
    assert_eq!(gitlab.job(id).unwrap().status, Status::Canceled);

    // A branch pipeline: protected variables are not sent.
    git(&work, &["checkout", "-q", "-b", "topic"]);
    push(&gitlab, &project, &work, "topic");
    let r = runner.request(json!({})).await;
    assert_eq!(r.status(), 201);
    let job: Value = r.json().await.unwrap();
    assert_eq!(job["git_info"]["ref"], "topic");
    assert!(
        var(&job, "DEPLOY_KEY").is_none(),
        "protected variable leaked to an unprotected branch"
    );
    let r = runner
        .update(
            &job,
            json!({"state": "failed", "failure_reason": "script_failure", "exit_code": 1}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let failed = gitlab.job(job["id"].as_u64().unwrap()).unwrap();
    assert_eq!(
        (failed.status, failed.failure_reason.as_deref()),
        (Status::Failed, Some("script_failure"))
    );
    assert!(failed.allow_failure, "exit code 1 is an allowed failure");
    let topic_pipeline = gitlab.pipeline(failed.pipeline_id).unwrap();
    assert_eq!(
        topic_pipeline.status,
        Status::Success,
        "an allowed failure passes the pipeline"
    );

    // Long polling: a held request is answered as soon as a job is created.
    let lu = runner.idle().await;
    let held = {
        let runner = RunnerApi::new(&gitlab, &token);
        tokio::spawn(async move {
            let started = Instant::now();
            let r = runner.request(json!({"last_update": lu})).await;
            (r.status().as_u16(), started.elapsed())
        })
    };
    gitlab
        .wait_for("a held job request", TIMEOUT, |h| {
            (h.waiting_job_requests() == 1).then_some(())
        })
        .await
        .unwrap();
    let created = Instant::now();
    gitlab
        .run_pipeline(&project, "master", &[("EXTRA", "1")])
        .await
        .unwrap();
    let (status, waited) = held.await.unwrap();
    assert_eq!(status, 201);
    assert!(
        waited > created.elapsed(),
        "the request was held until the job existed"
    );
    assert!(created.elapsed() < Duration::from_secs(5));
    assert_eq!(gitlab.waiting_job_requests(), 0);

    // Unregister: 204, then the token is gone.
    let r = api
        .send(Method::DELETE, "runners", &json!({"token": token}))
        .await;
    assert_eq!(r.status(), 204);
    let r = api.post("runners/verify", &json!({"token": token})).await;
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn untagged_jobs_need_run_untagged_and_tags_must_match() {
    let (_tmp, gitlab) = start().await;
    let tagged_only = gitlab.create_runner("tagged", &["docker"], false);
    let r = RunnerApi::new(&gitlab, &tagged_only.token)
        .request(json!({}))
        .await;
    assert_eq!(r.status(), 204);
    let r = RunnerApi::new(&gitlab, "glrt-unknown")
        .request(json!({}))
        .await;
    assert_eq!(r.status(), 403);
}
