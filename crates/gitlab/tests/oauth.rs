//! `POST /oauth/token` as Doorkeeper answers it on GitLab: the password grant (form or JSON)
//! gives a Bearer token for the API, a refresh token renews it, wrong or locked credentials get
//! `invalid_grant`.

mod common;

use std::time::Duration;

use common::*;
use harness_gitlab::{GitLab, GitLabConfig};
use reqwest::Method;
use serde_json::{Value, json};

const INVALID_GRANT: &str = "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.";

/// `POST url` (the token endpoint) with a JSON body.
async fn token(http: &reqwest::Client, url: &str, body: &Value) -> reqwest::Response {
    http.post(url).json(body).send().await.unwrap()
}

/// `POST url` (the token endpoint) with the refresh-token grant as a form.
async fn refresh(http: &reqwest::Client, url: &str, refresh_token: &str) -> reqwest::Response {
    http.post(url)
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .send()
        .await
        .unwrap()
}

/// The password grant's JSON body for root.
fn as_root(password: &str) -> Value {
    json!({"grant_type": "password", "username": "root", "password": password})
}

#[tokio::test]
async fn the_password_grant_gives_bearer_tokens() {
    let tmp = tempfile::tempdir().unwrap();
    let unlock_after = Duration::from_secs(2);
    let gitlab =
        GitLab::start(GitLabConfig::new(tmp.path().join("gitlab")).unlock_after(unlock_after))
            .await
            .unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}oauth/token", gitlab.url());
    let password = gitlab.root_credentials().password;
    let api = Api::anonymous(&gitlab);

    // JSON and form bodies both work.
    let by_json: Value = token(&http, &url, &as_root(&password))
        .await
        .json()
        .await
        .unwrap();
    let r = http
        .post(&url)
        .form(&[
            ("grant_type", "password"),
            ("username", "root"),
            ("password", &password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let by_form: Value = r.json().await.unwrap();
    for token in [&by_json, &by_form] {
        assert_eq!(token["token_type"], "Bearer", "{token}");
        assert_eq!(token["expires_in"], 7200);
        assert_eq!(token["scope"], "api");
        assert!(token["created_at"].is_u64());
        assert!(token["refresh_token"].is_string());
        let me = api
            .request(Method::GET, "user")
            .bearer_auth(token["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), 200);
        assert_eq!(me.json::<Value>().await.unwrap()["username"], "root");
    }
    assert_ne!(by_json["access_token"], by_form["access_token"]);

    // A narrower scope on request; it is enforced.
    let mut read_api = as_root(&password);
    read_api["scope"] = json!("read_api");
    let read: Value = token(&http, &url, &read_api).await.json().await.unwrap();
    assert_eq!(read["scope"], "read_api");
    let r = api
        .request(Method::POST, "projects")
        .bearer_auth(read["access_token"].as_str().unwrap())
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // The refresh token gives a new pair; the old refresh token is used up.
    let refresh_token = by_json["refresh_token"].as_str().unwrap();
    let renewed = refresh(&http, &url, refresh_token).await;
    assert_eq!(renewed.status(), 200);
    let renewed: Value = renewed.json().await.unwrap();
    assert_ne!(renewed["access_token"], by_json["access_token"]);
    let again = refresh(&http, &url, refresh_token).await;
    assert_eq!(again.status(), 400);
    assert_eq!(
        again.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );

    // Doorkeeper's errors.
    for (body, error) in [
        (as_root("wrong"), "invalid_grant"),
        (
            json!({"grant_type": "password", "username": "nobody", "password": "x"}),
            "invalid_grant",
        ),
        (json!({"grant_type": "magic"}), "unsupported_grant_type"),
        (
            json!({"grant_type": "password", "username": "root"}),
            "invalid_request",
        ),
        (
            json!({"grant_type": "password", "username": "root", "password": password, "scope": "everything"}),
            "invalid_scope",
        ),
    ] {
        let r = token(&http, &url, &body).await;
        assert_eq!(r.status(), 400, "{body}");
        let answer: Value = r.json().await.unwrap();
        assert_eq!(answer["error"], error, "{body}");
        if error == "invalid_grant" {
            assert_eq!(answer["error_description"], INVALID_GRANT);
        }
    }

    // Failed grants count towards the lock (one is above): nine more lock root, and the right
    // password is then refused the same way until the lock expires.
    for _ in 0..9 {
        assert_eq!(token(&http, &url, &as_root("wrong")).await.status(), 400);
    }
    let locked = token(&http, &url, &as_root(&password)).await;
    assert_eq!(locked.status(), 400);
    assert_eq!(
        locked.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    tokio::time::sleep(unlock_after + Duration::from_millis(300)).await;
    assert_eq!(token(&http, &url, &as_root(&password)).await.status(), 200);
}
