//! Time from a job becoming available to the answer of a runner's waiting long poll.
//!
//! Each round: a runner's `POST /api/v4/jobs/request` is held (it sent the current
//! `last_update`), then "Run pipeline" creates a job; we measure from the job's creation time
//! to the moment the held request returns its 201. Goal: < 100 ms. Needs `git` (skips otherwise).

use std::process::Command;
use std::time::{Duration, Instant};

use harness_gitlab::{GitLab, GitLabConfig};
use serde_json::json;

const ROUNDS: usize = 40;

fn git(dir: &std::path::Path, args: &[&str]) -> bool {
    Command::new("git")
        .args([
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@example.com",
            "-c",
            "init.defaultBranch=master",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .is_ok_and(|o| o.status.success())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(bench());
}

async fn bench() {
    if !Command::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        println!("SKIPPED: git is not installed; the benchmark needs it to create pipelines");
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let gitlab = GitLab::start(GitLabConfig::new(tmp.path().join("gitlab")))
        .await
        .expect("start");
    let project = gitlab.create_project("bench/app").await.expect("project");
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).expect("work dir");
    std::fs::write(work.join(".gitlab-ci.yml"), "job:\n  script: [echo hi]\n").expect("ci file");
    let creds = gitlab.root_credentials();
    let url = project.http_url_to_repo.replacen(
        "http://",
        &format!("http://root:{}@", creds.password),
        1,
    );
    let pushed = tokio::task::spawn_blocking(move || {
        git(&work, &["init", "-q"])
            && git(&work, &["add", "."])
            && git(&work, &["commit", "-q", "-m", "x"])
            && git(&work, &["push", "-q", &url, "master"])
    })
    .await
    .unwrap_or(false);
    assert!(pushed, "git push failed");
    // Drain the push pipeline's job.
    let runner = gitlab.create_runner("bench", &[], true);
    let http = reqwest::Client::new();
    let request = format!("{}api/v4/jobs/request", gitlab.url());
    let finish = |id: u64, token: String| {
        let http = http.clone();
        let url = format!("{}api/v4/jobs/{id}", gitlab.url());
        async move {
            http.put(url)
                .json(&json!({"token": token, "state": "success"}))
                .send()
                .await
                .expect("put")
        }
    };
    let mut since_creation = Vec::new();
    let mut since_request = Vec::new();
    for round in 0..=ROUNDS {
        let r = http
            .post(&request)
            .json(&json!({"token": runner.token}))
            .send()
            .await
            .expect("poll");
        if r.status() == 201 {
            let job: serde_json::Value = r.json().await.expect("job");
            finish(
                job["id"].as_u64().unwrap_or(0),
                job["token"].as_str().unwrap_or_default().to_string(),
            )
            .await;
            continue;
        }
        let last_update = r.headers()["x-gitlab-last-update"]
            .to_str()
            .unwrap_or_default()
            .to_string();
        let held = {
            let (http, request, token) = (http.clone(), request.clone(), runner.token.clone());
            tokio::spawn(async move {
                let r = http
                    .post(request)
                    .json(&json!({"token": token, "last_update": last_update}))
                    .send()
                    .await
                    .expect("held poll");
                let at = chrono::Utc::now();
                (
                    r.status().as_u16(),
                    r.json::<serde_json::Value>().await.ok(),
                    at,
                )
            })
        };
        gitlab
            .wait_for("a held request", Duration::from_secs(10), |h| {
                (h.waiting_job_requests() == 1).then_some(())
            })
            .await
            .expect("request held");
        let started = Instant::now();
        gitlab
            .run_pipeline(&project, "master", &[])
            .await
            .expect("pipeline");
        let (status, job, answered_at) = held.await.expect("join");
        let total = started.elapsed();
        assert_eq!(status, 201, "round {round}: held request got no job");
        let job = job.expect("payload");
        let id = job["id"].as_u64().unwrap_or(0);
        let created_at = gitlab.job(id).expect("job").created_at;
        since_creation.push((answered_at - created_at).to_std().unwrap_or_default());
        since_request.push(total);
        finish(id, job["token"].as_str().unwrap_or_default().to_string()).await;
    }
    since_creation.sort();
    since_request.sort();
    let show = |name: &str, v: &[Duration]| {
        println!(
            "{name:<44} n={} min={:?} median={:?} p95={:?} max={:?}",
            v.len(),
            v[0],
            percentile(v, 0.5),
            percentile(v, 0.95),
            v[v.len() - 1]
        );
    };
    show("job created -> held long poll answered", &since_creation);
    show(
        "Run pipeline called -> held long poll answered",
        &since_request,
    );
    let median = percentile(&since_creation, 0.5);
    println!(
        "goal < 100 ms: {}",
        if median < Duration::from_millis(100) {
            "met"
        } else {
            "NOT met"
        }
    );
    gitlab.shutdown().await;
}
