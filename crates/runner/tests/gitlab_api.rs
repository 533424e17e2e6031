//! The runner against the embedded GitLab: register with the chart's environment, take a job,
//! stream its trace, fetch its sources and upload its artifact with the helper, unregister.

mod common;

use std::process::Stdio;

use common::*;
use harness_gitlab::Status;
use harness_runner::api::Client;
use harness_runner::config;
use harness_runner::trace::{JobTrace, TraceSender};
use tokio_util::sync::CancellationToken;

const CI: &str = "package:\n  image: alpine\n  tags: [gitlab-runner]\n  script:\n    - echo hello\n  artifacts:\n    paths:\n      - target/*.war\n";

async fn register_with_chart_env(url: &str, config_path: &std::path::Path) -> std::process::Output {
    let mut cmd = tokio::process::Command::new(runner_bin());
    cmd.args(["register", "--non-interactive"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CONFIG_FILE", config_path)
        .env("CI_SERVER_URL", url)
        .env("REGISTRATION_TOKEN", REGISTRATION_TOKEN)
        .env("CI_SERVER_TOKEN", "")
        .stdin(Stdio::null());
    for (k, v) in CHART_ENV {
        cmd.env(k, v);
    }
    cmd.output().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn register_binary_reads_the_charts_environment() {
    let (dir, gitlab) = start_gitlab().await;
    let config_path = dir.path().join("home/.gitlab-runner/config.toml");
    std::fs::create_dir_all(config_path.parent().unwrap()).unwrap();
    std::fs::write(&config_path, CONFIGMAP_BASE).unwrap();

    let out = register_with_chart_env(&gitlab.url(), &config_path).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "register failed: {stderr}");
    assert!(
        stderr.contains("Runner registered successfully"),
        "{stderr}"
    );

    let runners = gitlab.runners();
    assert_eq!(runners.len(), 1);
    assert_eq!(runners[0].tag_list, vec!["gitlab-runner"]);
    assert!(runners[0].locked);
    assert!(!runners[0].run_untagged);

    let text = std::fs::read_to_string(&config_path).unwrap();
    let cfg = config::parse(&config_path, &text).unwrap();
    assert_eq!(cfg.listen_address.as_deref(), Some("[::]:9252"));
    assert!(
        text.starts_with("listen_address = \"[::]:9252\"\nconcurrent = 10\n"),
        "{text}"
    );
    let r = &cfg.runners[0];
    assert_eq!(
        r.token, runners[0].token,
        "the token GitLab returned is stored"
    );
    assert_eq!(r.url, gitlab.url());
    let k = r.kubernetes.as_ref().unwrap();
    assert_eq!(
        (k.namespace.as_str(), k.service_account.as_str()),
        ("gitlab-runners", "gitlab")
    );
    assert_eq!(k.pull_policy, vec!["if-not-present"]);
    assert!(
        text.contains("    pull_policy = \"if-not-present\"\n    poll_timeout = 180\n"),
        "{text}"
    );

    // `verify` then the chart's preStop hook: `unregister --all-runners`.
    for args in [&["verify"][..], &["unregister", "--all-runners"]] {
        run_ok(
            tokio::process::Command::new(runner_bin())
                .args(args)
                .arg("-c")
                .arg(&config_path),
        )
        .await;
    }
    assert!(gitlab.runners().is_empty(), "runner removed from GitLab");
    let cfg = config::load(&config_path).unwrap();
    assert!(cfg.runners.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_registration_token_fails_with_the_reason() {
    let (dir, gitlab) = start_gitlab().await;
    let config_path = dir.path().join("config.toml");
    let out = tokio::process::Command::new(runner_bin())
        .args([
            "register",
            "--non-interactive",
            "--executor",
            "kubernetes",
            "-c",
        ])
        .arg(&config_path)
        .args(["--url", &gitlab.url(), "--registration-token", "wrong"])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("forbidden (check registration token)"),
        "{stderr}"
    );
    assert!(gitlab.runners().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn job_is_taken_traced_checked_out_and_its_artifact_uploaded() {
    if !have("git") {
        return;
    }
    let (dir, gitlab) = start_gitlab().await;
    let client = Client::new(&gitlab.url()).unwrap();
    let reg = register_runner(&client, "test-runner").await;
    let (_project, pipeline) = push_project(&gitlab, dir.path(), CI, &[("README", "hi\n")]).await;

    // Long polling: keep asking, echoing X-GitLab-Last-Update, until the job comes.
    let mut last_update = None;
    let job = tokio::time::timeout(TIMEOUT, async {
        loop {
            let poll = client
                .request_job(&reg.token, "kubernetes", last_update.clone())
                .await
                .unwrap();
            if poll.last_update.is_some() {
                last_update = poll.last_update;
            }
            if let Some(job) = poll.job {
                return job;
            }
        }
    })
    .await
    .expect("no job handed out");
    assert_eq!(job.job_info.name, "package");
    assert!(last_update.is_some(), "GitLab sends X-GitLab-Last-Update");
    let gl_job = gitlab.jobs(pipeline.id)[0].clone();
    assert_eq!(gl_job.id as i64, job.id);

    // The helper fetches the sources with the job token, like the get_sources stage.
    let checkout = dir.path().join("builds/grp/demo");
    let mut git_args = vec![
        "git-sources".to_string(),
        "--repo-url".into(),
        job.git_info.repo_url.clone(),
        "--sha".into(),
        job.git_info.sha.clone(),
        "--ref".into(),
        job.git_info.git_ref.clone(),
        "--depth".into(),
        job.git_info.depth.to_string(),
        "--dir".into(),
        checkout.to_string_lossy().into_owned(),
    ];
    for r in &job.git_info.refspecs {
        git_args.push("--refspec".into());
        git_args.push(r.clone());
    }
    let text = run_ok(
        tokio::process::Command::new(helper_bin())
            .args(&git_args)
            .env("HOME", dir.path()),
    )
    .await;
    assert!(text.contains("Checking out"), "{text}");
    assert_eq!(
        std::fs::read_to_string(checkout.join("README")).unwrap(),
        "hi\n"
    );

    // Trace streamed while the "job" runs.
    client
        .update_job(job.id, &job.token, "running", None, None, None)
        .await
        .unwrap();
    let trace = JobTrace::new(4096 * 1024, vec![job.token.clone()]);
    let sender = TraceSender::start(
        client.clone(),
        job.id,
        job.token.clone(),
        trace.clone(),
        CancellationToken::new(),
    );
    trace.line("$ echo hello");
    trace.line(&format!("hello (token {})", job.token));
    gitlab
        .wait_for("first trace patch", TIMEOUT, |h| {
            h.trace(gl_job.id).filter(|t| t.contains("hello"))
        })
        .await
        .unwrap();

    // The helper uploads the artifact with the job token.
    std::fs::create_dir_all(checkout.join("target")).unwrap();
    std::fs::write(checkout.join("target/demo.war"), b"war-bytes").unwrap();
    let text = run_ok(
        tokio::process::Command::new(helper_bin())
            .current_dir(&checkout)
            .args(["artifacts-uploader", "--url", &gitlab.url()])
            .args(["--token", &job.token, "--id", &job.id.to_string()])
            .args(["--path", "target/*.war"])
            .args(["--artifact-format", "zip", "--artifact-type", "archive"]),
    )
    .await;
    assert!(
        text.contains("target/*.war: found 1 matching files"),
        "{text}"
    );

    trace.line("Job succeeded");
    sender.finish("success", None, None).await;
    let done = gitlab
        .wait_job_status(gl_job.id, Status::Success, TIMEOUT)
        .await
        .unwrap();
    assert_eq!(done.failure_reason, None);
    let stored = gitlab.trace(gl_job.id).unwrap();
    assert!(
        stored.contains("$ echo hello\nhello (token [MASKED])\nJob succeeded\n"),
        "{stored:?}"
    );
    let zip = gitlab.artifacts(gl_job.id).await.expect("artifact stored");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let mut war = String::new();
    std::io::Read::read_to_string(&mut archive.by_name("target/demo.war").unwrap(), &mut war)
        .unwrap();
    assert_eq!(war, "war-bytes");

    // The downloader extracts it for a later job.
    let next = dir.path().join("next");
    std::fs::create_dir_all(&next).unwrap();
    run_ok(
        tokio::process::Command::new(helper_bin())
            .current_dir(&next)
            .args(["artifacts-downloader", "--url", &gitlab.url()])
            .args(["--token", &job.token, "--id", &job.id.to_string()]),
    )
    .await;
    assert_eq!(
        std::fs::read(next.join("target/demo.war")).unwrap(),
        b"war-bytes"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn trace_resumes_from_gitlabs_offset_after_a_range_mismatch() {
    let (dir, gitlab) = start_gitlab().await;
    let client = Client::new(&gitlab.url()).unwrap();
    let runner = gitlab.create_runner("r", &["gitlab-runner"], true);
    let _ = push_project(&gitlab, dir.path(), CI, &[]).await;
    let job = loop {
        if let Some(j) = client
            .request_job(&runner.token, "kubernetes", None)
            .await
            .unwrap()
            .job
        {
            break j;
        }
    };
    use harness_runner::api::PatchOutcome;
    let first = client
        .patch_trace(job.id, &job.token, 0, b"abc")
        .await
        .unwrap();
    assert!(
        matches!(first, PatchOutcome::Accepted { offset: 3, .. }),
        "{first:?}"
    );
    // A patch starting at the wrong offset is answered with 416 and GitLab's length.
    let wrong = client
        .patch_trace(job.id, &job.token, 10, b"zzz")
        .await
        .unwrap();
    assert_eq!(wrong, PatchOutcome::RangeMismatch { offset: 3 });
    let resumed = client
        .patch_trace(job.id, &job.token, 3, b"def")
        .await
        .unwrap();
    assert!(matches!(resumed, PatchOutcome::Accepted { offset: 6, .. }));
    assert_eq!(gitlab.trace(job.id as u64).unwrap(), "abcdef");
}
