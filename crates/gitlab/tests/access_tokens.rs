//! Personal access tokens as GitLab has them: root's own, new ones made by an admin for a user,
//! `personal_access_tokens/self`, and scopes that limit what each token may do on the API and
//! over git.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

/// `GET`/`POST` with `token` in `PRIVATE-TOKEN`.
fn with_token(api: &Api, method: Method, path: &str, token: &str) -> reqwest::RequestBuilder {
    api.request(method, path).header("PRIVATE-TOKEN", token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_created_by_admins_and_limited_by_their_scopes() {
    if !have("git") {
        return;
    }
    let (tmp, gitlab) = start().await;
    let root = Api::root(&gitlab);
    let anon = Api::anonymous(&gitlab);

    let me = root.get_json("personal_access_tokens/self").await;
    assert_eq!(me["user_id"], 1);
    assert_eq!(me["active"], true);
    assert_eq!(me["revoked"], false);
    assert!(me["scopes"].as_array().unwrap().contains(&json!("api")));
    assert!(me.get("token").is_none(), "self never shows the secret");

    // An admin makes tokens for a user; GitLab checks the parameters.
    let create = async |body: Value| root.post("users/1/personal_access_tokens", &body).await;
    let mut tokens = std::collections::HashMap::new();
    for scope in ["read_api", "read_repository", "write_repository"] {
        let r = create(json!({"name": scope, "scopes": [scope]})).await;
        assert_eq!(r.status(), 201, "{scope}");
        let t: Value = r.json().await.unwrap();
        assert_eq!(t["scopes"], json!([scope]));
        assert_eq!(t["user_id"], 1);
        assert_eq!(t["active"], true);
        assert!(t["expires_at"].is_string(), "GitLab sets an expiry: {t}");
        let secret = t["token"].as_str().unwrap().to_string();
        assert!(secret.starts_with("glpat-"));
        tokens.insert(scope, secret);
    }
    for (body, message) in [
        (
            json!({"scopes": ["api"]}),
            "400 Bad request - name is missing",
        ),
        (json!({"name": "x"}), "400 Bad request - scopes is missing"),
        (
            json!({"name": "x", "scopes": ["everything"]}),
            "400 Bad request - scopes does not have a valid value",
        ),
    ] {
        let r = create(body.clone()).await;
        assert_eq!(r.status(), 400, "{body}");
        assert_eq!(r.json::<Value>().await.unwrap()["message"], message);
    }
    let nobody = root
        .post(
            "users/999/personal_access_tokens",
            &json!({"name": "x", "scopes": ["api"]}),
        )
        .await;
    assert_eq!(nobody.status(), 404);
    assert_eq!(
        nobody.json::<Value>().await.unwrap()["message"],
        "404 User Not Found"
    );

    // read_api reads, and cannot write.
    let read_api = &tokens["read_api"];
    let r = with_token(&anon, Method::GET, "projects", read_api)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let me = with_token(&anon, Method::GET, "personal_access_tokens/self", read_api)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(me["scopes"], json!(["read_api"]));
    for (method, path) in [
        (Method::POST, "projects"),
        (Method::POST, "users/1/personal_access_tokens"),
    ] {
        let r = with_token(&anon, method.clone(), path, read_api)
            .json(&json!({"name": "x", "scopes": ["api"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{method} {path}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "insufficient_scope", "{method} {path}");
        assert_eq!(body["scope"], "api");
    }
    // Repository scopes do not open the API at all.
    let r = with_token(&anon, Method::GET, "projects", &tokens["read_repository"])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap()["scope"], "api read_api");

    // Over git: read_repository clones but does not push; write_repository pushes.
    let project = gitlab.create_project("scopes/app").await.unwrap();
    let work = push_one_job(tmp.path(), &gitlab, &project).await.work;
    let url = |token: &str| {
        project
            .http_url_to_repo
            .replacen("http://", &format!("http://someone:{token}@"), 1)
    };
    git(
        tmp.path(),
        &[
            "clone",
            "-q",
            &url(&tokens["read_repository"]),
            "read-clone",
        ],
    );
    std::fs::write(work.join("more"), "more").unwrap();
    git(&work, &["add", "more"]);
    git(&work, &["commit", "-q", "-m", "more"]);
    let denied = git_output(
        &work,
        &["push", "-q", &url(&tokens["read_repository"]), "master"],
    );
    assert!(!denied.status.success());
    assert!(
        String::from_utf8_lossy(&denied.stderr).contains("You are not allowed to upload code."),
        "{}",
        String::from_utf8_lossy(&denied.stderr)
    );
    git(
        &work,
        &["push", "-q", &url(&tokens["write_repository"]), "master"],
    );

    // A token can revoke itself; it stops working at once.
    let revoked = with_token(
        &anon,
        Method::DELETE,
        "personal_access_tokens/self",
        read_api,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(revoked.status(), 204);
    let r = with_token(&anon, Method::GET, "projects", read_api)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}
