//! `curl` (a real HTTP client) and reqwest read pipelines and jobs in GitLab's v4 JSON shape;
//! the pipeline page shows stages, jobs and trace links.

mod common;

use common::*;
use serde_json::Value;

fn curl(args: &[&str]) -> String {
    let out = std::process::Command::new("curl")
        .args(["-sS", "--fail-with-body", "-m", "20"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_reads_pipelines_and_jobs() {
    if !have("git") || !have("curl") {
        return;
    }
    let (tmp, gitlab) = start().await;
    let project = gitlab.create_project("qhub/hello").await.unwrap();
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let sha = init_sample_repo(&work);
    git(
        &work,
        &["push", "-q", &push_url(&gitlab, &project), "master"],
    );
    let pipeline = gitlab
        .wait_pipelines(&project, 1, TIMEOUT)
        .await
        .unwrap()
        .remove(0);
    let token = gitlab.root_credentials().personal_access_token;
    let header = format!("PRIVATE-TOKEN: {token}");

    let base = gitlab.url();
    let url = format!("{base}api/v4/projects/qhub%2Fhello/pipelines?ref=master");
    let list: Value = serde_json::from_str(&curl(&["-H", &header, &url])).unwrap();
    let p = &list[0];
    assert_eq!(p["id"], pipeline.id);
    assert_eq!(p["project_id"], project.id);
    assert_eq!(p["sha"], sha.as_str());
    assert_eq!(p["ref"], "master");
    assert_eq!(p["status"], "pending");
    assert_eq!(p["source"], "push");
    assert_eq!(
        p["web_url"],
        format!("{}/-/pipelines/{}", project.web_url, pipeline.id)
    );

    let url = format!(
        "{base}api/v4/projects/{}/pipelines/{}/jobs",
        project.id, pipeline.id
    );
    let jobs: Value = serde_json::from_str(&curl(&["-H", &header, &url])).unwrap();
    let names: Vec<(&str, &str, &str)> = jobs
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            (
                j["name"].as_str().unwrap(),
                j["stage"].as_str().unwrap(),
                j["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("maven-package", "package", "pending"),
            ("docker-build", "docker_build", "created"),
            ("k8s-deploy", "deploy_k8s", "created")
        ]
    );
    assert_eq!(jobs[0]["pipeline"]["id"], pipeline.id);
    assert_eq!(jobs[0]["commit"]["id"], sha.as_str());
    assert_eq!(jobs[0]["tag_list"][0], "gitlab-runner");
    assert_eq!(jobs[0]["ref"], "master");

    // Without a token: 401 in GitLab's shape.
    let anon = reqwest::get(format!("{base}api/v4/projects"))
        .await
        .unwrap();
    assert_eq!(anon.status(), 401);
    assert_eq!(
        anon.json::<Value>().await.unwrap()["message"],
        "401 Unauthorized"
    );

    // reqwest as a plain client: variables, "Run pipeline" through the API, runners, lint.
    let http = reqwest::Client::new();
    let created = http
        .post(format!("{base}api/v4/projects/{}/variables", project.id))
        .header("PRIVATE-TOKEN", &token)
        .json(&serde_json::json!({"key": "REGISTRY", "value": "registry.local:5000"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let vars: Value = http
        .get(format!("{base}api/v4/projects/{}/variables", project.id))
        .header("PRIVATE-TOKEN", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(vars[0]["key"], "REGISTRY");
    assert_eq!(vars[0]["variable_type"], "env_var");
    let run = http
        .post(format!("{base}api/v4/projects/{}/pipeline", project.id))
        .header("PRIVATE-TOKEN", &token)
        .json(&serde_json::json!({"ref": "master", "variables": [{"key": "APP_NAME", "value": "hello"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(run.status(), 201);
    let run: Value = run.json().await.unwrap();
    assert_eq!(run["source"], "api");
    let missing = http
        .post(format!("{base}api/v4/projects/{}/pipeline", project.id))
        .header("PRIVATE-TOKEN", &token)
        .json(&serde_json::json!({"ref": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 400);
    let lint: Value = http
        .post(format!("{base}api/v4/ci/lint"))
        .header("PRIVATE-TOKEN", &token)
        .json(&serde_json::json!({"content": include_str!("fixtures/tutorial-verbatim.gitlab-ci.yml")}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(lint["valid"], false);
    assert_eq!(lint["errors"].as_array().unwrap().len(), 2);

    let index = curl(&[&base]);
    assert!(index.contains("qhub/hello"), "{index}");

    // The pipeline page.
    let html = curl(&[&format!("{}/-/pipelines/{}", project.web_url, pipeline.id)]);
    for needle in [
        "package",
        "docker_build",
        "deploy_k8s",
        "maven-package",
        "pending",
        "/-/jobs/",
    ] {
        assert!(html.contains(needle), "page lacks {needle}: {html}");
    }
}
