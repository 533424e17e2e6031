//! A job token opens its own project and the projects whose job-token allowlist names the job's
//! project, nothing else — over git (the real client) and on the REST/artifact endpoints that
//! take job tokens. The allowlist is managed through GitLab's `job_token_scope` API.

mod common;

use std::path::Path;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

/// `git clone` of `url` into `<dir>/<name>`; git's stderr on failure.
fn clone(dir: &Path, url: &str, name: &str) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(dir.join(name));
    let out = git_output(dir, &["clone", "-q", url, name]);
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_tokens_reach_their_project_and_allowlisting_ones_only() {
    if !have("git") {
        return;
    }
    let (tmp, gitlab) = start().await;
    let (_, job_a, a, _) = running_job(tmp.path(), &gitlab, "team/app").await;
    let (runner_b, job_b, b, _) = running_job(tmp.path(), &gitlab, "other/secrets").await;
    let token_a = job_a["token"].as_str().unwrap().to_string();
    // Project B's job leaves an artifact, then finishes.
    let uploaded = runner_b
        .upload_artifacts(&job_b, b"PK\x05\x06".to_vec())
        .await;
    assert_eq!(uploaded.status(), 201);
    runner_b.finish(&job_b, "success").await;

    let with_token = |project: &harness_gitlab::Project| {
        project.http_url_to_repo.replacen(
            "http://",
            &format!("http://gitlab-ci-token:{token_a}@"),
            1,
        )
    };
    let dir = tmp.path();
    clone(dir, &with_token(&a), "own").expect("a job token clones its own project");
    let refused = clone(dir, &with_token(&b), "other").unwrap_err();
    assert!(
        refused.contains("Authentication by CI/CD job token not allowed from app to secrets."),
        "{refused}"
    );

    let api = Api::anonymous(&gitlab);
    let artifact_paths = [
        format!("projects/{}/jobs/{}/artifacts", b.id, job_b["id"]),
        format!("jobs/{}/artifacts", job_b["id"]),
    ];
    let artifact_statuses = || async {
        let mut statuses = Vec::new();
        for path in &artifact_paths {
            let r = api
                .request(Method::GET, path)
                .header("JOB-TOKEN", &token_a)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            if status == 403 {
                assert_eq!(
                    r.json::<Value>().await.unwrap()["message"],
                    "403 Forbidden - Authentication by CI/CD job token not allowed from app to secrets.",
                    "{path}"
                );
            }
            statuses.push(status);
        }
        statuses
    };
    assert_eq!(artifact_statuses().await, [403, 403]);

    // The scope API: on by default, B's allowlist holds B only.
    let root = Api::root(&gitlab);
    let scope = format!("projects/{}/job_token_scope", b.id);
    assert_eq!(
        root.get_json(&scope).await,
        json!({"inbound_enabled": true, "outbound_enabled": false})
    );
    let allowlist = format!("{scope}/allowlist");
    assert_eq!(ids(root.get_json(&allowlist).await), [b.id]);
    assert_eq!(
        Api::anonymous(&gitlab).get(&allowlist).await.status(),
        401,
        "strangers may not read it"
    );

    // Allowlisting A opens B to A's jobs.
    let added = root
        .post(&allowlist, &json!({"target_project_id": a.id}))
        .await;
    assert_eq!(added.status(), 201);
    assert_eq!(
        added.json::<Value>().await.unwrap(),
        json!({"source_project_id": b.id, "target_project_id": a.id})
    );
    let again = root
        .post(&allowlist, &json!({"target_project_id": a.id}))
        .await;
    assert_eq!(again.status(), 400);
    assert_eq!(ids(root.get_json(&allowlist).await), [b.id, a.id]);
    clone(dir, &with_token(&b), "other").expect("allowlisted");
    assert_eq!(artifact_statuses().await, [200, 200]);

    // Removing it closes B again.
    let removed = root
        .request(Method::DELETE, &format!("{allowlist}/{}", a.id))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 204);
    clone(dir, &with_token(&b), "other").unwrap_err();
    assert_eq!(artifact_statuses().await, [403, 403]);

    // Turning the limit off lets any job in; turning it on closes B again.
    for (enabled, cloned) in [(false, true), (true, false)] {
        let r = root
            .send(Method::PATCH, &scope, &json!({"enabled": enabled}))
            .await;
        assert_eq!(r.status(), 204);
        assert_eq!(root.get_json(&scope).await["inbound_enabled"], enabled);
        assert_eq!(clone(dir, &with_token(&b), "other").is_ok(), cloned);
    }
}
