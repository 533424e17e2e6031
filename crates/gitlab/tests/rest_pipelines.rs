//! Pipelines and jobs through the REST API, as a harness reads them from any GitLab: lists by
//! sha and ref, one pipeline (with `yaml_errors`), its jobs, "Run pipeline" with variables (and
//! GitLab's 400 for a bad ref or an invalid file, which creates nothing), a masked trace, the
//! artifacts archive, and the project's CI lint.

mod common;

use std::io::{Read, Write};

use common::*;
use harness_gitlab::Variable;
use reqwest::Method;
use serde_json::{Value, json};

const CI: &str = "include:\n  - local: ci/extra.yml\nbuild:\n  script: [echo $SECRET]\n  artifacts:\n    paths: [out.txt]\n";
const EXTRA: &str = "extra-job:\n  script: [x]\n  when: manual\n";

fn zip_with(name: &str, content: &str) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut buf);
    zip.start_file(name, zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(content.as_bytes()).unwrap();
    zip.finish().unwrap();
    buf.into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelines_jobs_traces_artifacts_and_lint() {
    let Some((tmp, gitlab, project)) = start_with_project("pipes/app").await else {
        return;
    };
    let root = Api::root(&gitlab);
    let secret = "hunter2-s3cr3t";
    gitlab
        .set_variable(&project, Variable::new("SECRET", secret).masked())
        .await
        .unwrap();
    let runner = register_runner(&gitlab).await;
    let pushed = push_repo(
        tmp.path(),
        &gitlab,
        &project,
        "master",
        &[(".gitlab-ci.yml", CI), ("ci/extra.yml", EXTRA)],
    )
    .await;
    let (sha, pl) = (pushed.sha.clone(), pushed.pipeline.id);
    let p = project.id;

    // The job runs: a trace holding the secret, an artifact, success.
    let job = runner.take().await.expect("build runs");
    assert_eq!(job["job_info"]["name"], "build");
    let (jid, token) = (job["id"].as_u64().unwrap(), job["token"].as_str().unwrap());
    let trace = format!("$ echo {secret}\n{secret}\n");
    runner
        .api
        .request(Method::PATCH, &format!("jobs/{jid}/trace"))
        .header("JOB-TOKEN", token)
        .header("Content-Range", format!("0-{}", trace.len() - 1))
        .body(trace)
        .send()
        .await
        .unwrap();
    let up = runner
        .upload_artifacts(&job, zip_with("out.txt", "built"))
        .await;
    assert_eq!(up.status(), 201);
    runner.finish(&job, "success").await;

    let listed = root
        .get_json(&format!("projects/{p}/pipelines?sha={sha}&ref=master"))
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], pl);
    assert_eq!(
        root.get_json(&format!("projects/{p}/pipelines?ref=other"))
            .await,
        json!([])
    );
    let one = root.get_json(&format!("projects/{p}/pipelines/{pl}")).await;
    assert_eq!(
        (one["sha"].as_str(), one["ref"].as_str()),
        (Some(sha.as_str()), Some("master"))
    );
    assert!(one.as_object().unwrap().contains_key("yaml_errors"));
    assert!(one["yaml_errors"].is_null());
    let jobs = root
        .get_json(&format!("projects/{p}/pipelines/{pl}/jobs"))
        .await;
    let mut names: Vec<&str> = jobs
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["build", "extra-job"], "the included job is there");
    let shown = root
        .get(&format!("projects/{p}/jobs/{jid}/trace"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        shown.contains("[MASKED]") && !shown.contains(secret),
        "{shown}"
    );
    let archive = root
        .get(&format!("projects/{p}/jobs/{jid}/artifacts"))
        .await;
    assert_eq!(archive.status(), 200);
    assert_eq!(archive.headers()["content-type"], "application/zip");
    let bytes = archive.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut content = String::new();
    zip.by_name("out.txt")
        .unwrap()
        .read_to_string(&mut content)
        .unwrap();
    assert_eq!(content, "built");

    // "Run pipeline" with variables.
    let run = root
        .post(
            &format!("projects/{p}/pipeline"),
            &json!({"ref": "master", "variables": [{"key": "APP", "value": "hello", "variable_type": "env_var"}]}),
        )
        .await;
    assert_eq!(run.status(), 201);
    let run: Value = run.json().await.unwrap();
    assert_eq!(run["source"], "api");
    let job = runner.take().await.expect("the new pipeline's job");
    let app = job["variables"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|v| v["key"] == "APP")
        .cloned();
    assert_eq!(app.map(|v| v["value"].clone()), Some(json!("hello")));

    // A bad ref, an invalid file: GitLab's 400 and no pipeline.
    let count = || async {
        root.get_json(&format!("projects/{p}/pipelines"))
            .await
            .as_array()
            .unwrap()
            .len()
    };
    let before = count().await;
    let r = root
        .post(&format!("projects/{p}/pipeline"), &json!({"ref": "nope"}))
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"message": {"base": ["Reference not found"]}})
    );
    git(&pushed.work, &["checkout", "-q", "-b", "broken"]);
    std::fs::write(
        pushed.work.join(".gitlab-ci.yml"),
        "build:\n  stage: nowhere\n  script: [x]\n",
    )
    .unwrap();
    git(&pushed.work, &["commit", "-qam", "broken [ci skip]"]);
    push(&gitlab, &project, &pushed.work, "broken");
    let r = root
        .post(&format!("projects/{p}/pipeline"), &json!({"ref": "broken"}))
        .await;
    assert_eq!(r.status(), 400);
    let message = r.json::<Value>().await.unwrap()["message"]["base"][0].clone();
    assert_eq!(
        message,
        "build job: chosen stage does not exist; available stages are .pre, build, test, deploy, .post"
    );
    assert_eq!(count().await, before, "nothing was created");

    // The project's CI lint: includes come from the repository.
    let ok = root.lint(p, CI).await;
    assert_eq!(ok["valid"], true, "{ok}");
    assert_eq!(
        (ok["errors"].clone(), ok["warnings"].clone()),
        (json!([]), json!([]))
    );
    let merged = ok["merged_yaml"].as_str().unwrap();
    assert!(
        merged.contains("extra-job") && merged.contains("build"),
        "{merged}"
    );
    assert!(!merged.contains("include"), "{merged}");
    let bad = root.lint(p, "a:\n  script: x\n  needs: [a]\n").await;
    assert_eq!(bad["valid"], false);
    assert_eq!(
        bad["errors"],
        json!(["The pipeline has circular dependencies"])
    );
    assert!(bad["merged_yaml"].is_string());
    assert_eq!(bad["warnings"], json!([]));
    // The instance-wide lint endpoint is gone since GitLab 16.0.
    assert_eq!(
        root.post("ci/lint", &json!({"content": CI})).await.status(),
        404
    );
}
