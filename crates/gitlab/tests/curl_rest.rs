//! `curl` (a real HTTP client) and reqwest read pipelines and jobs in GitLab's v4 JSON shape;
//! the pipeline page shows stages, jobs and trace links.

mod common;

use common::*;
use serde_json::{Value, json};

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
    if !have("curl") {
        return;
    }
    let Some((tmp, gitlab, project)) = start_with_project("qhub/hello").await else {
        return;
    };
    let Pushed { sha, pipeline, .. } = push_repo(
        tmp.path(),
        &gitlab,
        &project,
        "master",
        &sample_app(FIXED_CI),
    )
    .await;
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

    // Without a token the private project does not show.
    let anon = Api::anonymous(&gitlab).get("projects").await;
    assert_eq!(anon.status(), 200);
    assert_eq!(anon.json::<Value>().await.unwrap(), json!([]));

    // reqwest as a plain client: variables, "Run pipeline" through the API, runners, lint.
    let root = Api::root(&gitlab);
    let variables = format!("projects/{}/variables", project.id);
    let created = root
        .post(
            &variables,
            &json!({"key": "REGISTRY", "value": "registry.local:5000"}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let vars = root.get_json(&variables).await;
    assert_eq!(vars[0]["key"], "REGISTRY");
    assert_eq!(vars[0]["variable_type"], "env_var");
    let run_pipeline = format!("projects/{}/pipeline", project.id);
    let run = root
        .post(
            &run_pipeline,
            &json!({"ref": "master", "variables": [{"key": "APP_NAME", "value": "hello"}]}),
        )
        .await;
    assert_eq!(run.status(), 201);
    let run: Value = run.json().await.unwrap();
    assert_eq!(run["source"], "api");
    let missing = root.post(&run_pipeline, &json!({"ref": "nope"})).await;
    assert_eq!(missing.status(), 400);
    let verbatim = include_str!("fixtures/tutorial-verbatim.gitlab-ci.yml");
    let lint: Value = root
        .post(
            &format!("projects/{}/ci/lint", project.id),
            &json!({"content": verbatim}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(lint["valid"], false);
    assert_eq!(lint["errors"].as_array().unwrap().len(), 2);

    // The pages, after signing in with root's password (the project is private).
    let jar = tmp.path().join("cookies");
    let jar = jar.to_str().unwrap();
    let password = format!("user[password]={}", gitlab.root_credentials().password);
    let sign_in = format!("{base}users/sign_in");
    curl(&[
        "-c",
        jar,
        "--data-urlencode",
        "user[login]=root",
        "--data-urlencode",
        &password,
        &sign_in,
    ]);
    let index = curl(&["-b", jar, &base]);
    assert!(index.contains("qhub/hello"), "{index}");
    let html = curl(&[
        "-b",
        jar,
        &format!("{}/-/pipelines/{}", project.web_url, pipeline.id),
    ]);
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

#[tokio::test]
async fn rest_errors_keep_gitlabs_statuses_and_messages() {
    let (_tmp, gitlab) = start().await;
    let project = gitlab.create_project("qhub/errors").await.unwrap();
    let anonymous = Api::anonymous(&gitlab);
    let id = project.id;
    for (method, path) in [
        ("GET", "user".to_string()),
        ("POST", "projects".to_string()),
        ("GET", format!("projects/{id}/variables")),
        ("POST", format!("projects/{id}/variables")),
        ("GET", format!("projects/{id}/variables/KEY")),
        ("POST", format!("projects/{id}/pipeline")),
        ("GET", format!("projects/{id}/jobs")),
        ("GET", format!("projects/{id}/jobs/1/trace")),
        ("POST", format!("projects/{id}/ci/lint")),
        ("GET", "runners/all".to_string()),
        ("GET", "runners/1".to_string()),
    ] {
        let r = anonymous
            .send(method.parse().unwrap(), &path, &json!({}))
            .await;
        assert_eq!(r.status(), 401, "{method} {path}");
        assert_eq!(r.headers()["content-type"], "application/json");
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            body,
            json!({"message": "401 Unauthorized"}),
            "{method} {path}"
        );
    }

    let root = Api::root(&gitlab);
    for (path, message) in [
        (
            "projects/nope%2Fnope/pipelines".to_string(),
            "404 Project Not Found",
        ),
        (
            format!("projects/{id}/pipelines/abc"),
            "404 Pipeline Not Found",
        ),
        (
            format!("projects/{id}/pipelines/999"),
            "404 Pipeline Not Found",
        ),
        (format!("projects/{id}/jobs/999/trace"), "404 Job Not Found"),
        (
            format!("projects/{id}/variables/NOPE"),
            "404 Variable Not Found",
        ),
        ("runners/999".to_string(), "404 Runner Not Found"),
    ] {
        let r = root.get(&path).await;
        assert_eq!(r.status(), 404, "{path}");
        assert_eq!(r.json::<Value>().await.unwrap()["message"], message);
    }
    let no_ref = root
        .post(&format!("projects/{id}/pipeline"), &json!({}))
        .await;
    assert_eq!(no_ref.status(), 400);
    assert_eq!(
        no_ref.json::<Value>().await.unwrap()["message"],
        "400 Bad request - ref is missing"
    );

    // The token may also come in the query string or as a Bearer token; lists are plain arrays.
    let token = gitlab.root_credentials().personal_access_token;
    let by_query = anonymous
        .get(&format!("projects?private_token={token}"))
        .await;
    assert_eq!(by_query.status(), 200);
    assert!(by_query.headers().get("x-total").is_none());
    assert_eq!(by_query.json::<Value>().await.unwrap()[0]["id"], id);
    let bearer = anonymous
        .request(reqwest::Method::GET, &format!("projects/{id}/jobs"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), 200);
    assert_eq!(bearer.json::<Value>().await.unwrap(), json!([]));
}
