//! The REST API takes tokens only (Basic auth with root's password is refused, as on GitLab),
//! and passwords — still good for git over HTTP — lock the account after 10 failed sign-ins.

mod common;

use std::time::Duration;

use common::*;
use harness_gitlab::{GitLab, GitLabConfig};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn the_api_takes_tokens_not_passwords() {
    let (_tmp, gitlab) = start().await;
    let creds = gitlab.root_credentials();
    let api = Api::anonymous(&gitlab);
    let basic = api
        .request(Method::GET, "user")
        .basic_auth("root", Some(&creds.password))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);
    assert_eq!(
        basic.json::<Value>().await.unwrap(),
        json!({"message": "401 Unauthorized"})
    );
    let token = &creds.personal_access_token;
    for (what, request) in [
        (
            "PRIVATE-TOKEN",
            api.request(Method::GET, "user")
                .header("PRIVATE-TOKEN", token),
        ),
        (
            "Bearer",
            api.request(Method::GET, "user").bearer_auth(token),
        ),
        (
            "private_token",
            api.request(Method::GET, &format!("user?private_token={token}")),
        ),
        (
            "access_token",
            api.request(Method::GET, &format!("user?access_token={token}")),
        ),
    ] {
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), 200, "{what}");
        assert_eq!(
            r.json::<Value>().await.unwrap()["username"],
            "root",
            "{what}"
        );
    }
    let wrong = api
        .request(Method::GET, "user")
        .header("PRIVATE-TOKEN", "glpat-wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
}

/// `git ls-remote` of `url`: whether it worked, and git's stderr.
fn ls_remote(dir: &std::path::Path, url: &str) -> (bool, String) {
    let out = git_output(dir, &["ls-remote", url]);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_failed_sign_ins_lock_root_until_the_lock_expires() {
    if !have("git") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let unlock_after = Duration::from_secs(3);
    let config = GitLabConfig::new(tmp.path().join("gitlab")).unlock_after(unlock_after);
    let gitlab = GitLab::start(config).await.unwrap();
    let project = gitlab.create_project("lock/app").await.unwrap();
    let creds = gitlab.root_credentials();
    let url = |user: &str, secret: &str| {
        project
            .http_url_to_repo
            .replacen("http://", &format!("http://{user}:{secret}@"), 1)
    };
    let dir = tmp.path();
    let good = url("root", &creds.password);
    let bad = url("root", "not-the-password");

    // A success in between starts the count again.
    for _ in 0..9 {
        assert!(!ls_remote(dir, &bad).0);
    }
    assert!(ls_remote(dir, &good).0, "nine failures do not lock");
    for _ in 0..9 {
        assert!(!ls_remote(dir, &bad).0);
    }
    let (ok, _) = ls_remote(dir, &good);
    assert!(ok, "the count restarted after the success");

    // Ten in a row lock the account: the password, git with the token and the sign-in form
    // are refused with GitLab's message until the lock expires.
    for _ in 0..10 {
        assert!(!ls_remote(dir, &bad).0);
    }
    let locked_at = std::time::Instant::now();
    let (ok, stderr) = ls_remote(dir, &good);
    assert!(!ok, "locked");
    assert!(
        stderr.contains(
            "HTTP Basic: Access denied. If a password was provided for Git authentication"
        ),
        "{stderr}"
    );
    assert!(!ls_remote(dir, &url("root", &creds.personal_access_token)).0);
    let sign_in = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}users/sign_in", gitlab.url()))
        .form(&[
            ("user[login]", "root"),
            ("user[password]", creds.password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        sign_in.headers().get("set-cookie").is_none(),
        "no session for a locked account"
    );
    // The API's tokens are not sign-ins: they keep working.
    assert_eq!(Api::root(&gitlab).get("user").await.status(), 200);

    tokio::time::sleep(
        unlock_after.saturating_sub(locked_at.elapsed()) + Duration::from_millis(300),
    )
    .await;
    let (ok, stderr) = ls_remote(dir, &good);
    assert!(ok, "unlocked after {unlock_after:?}: {stderr}");
}
