//! The web pages of private projects: GitLab sends strangers to the sign-in page (302) whatever
//! the page, and shows them to a signed-in user; public projects are readable by anyone.

mod common;

use common::*;
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::{Value, json};

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// Signs in through the sign-in form; the session cookie, if GitLab handed one out.
async fn sign_in(gitlab: &harness_gitlab::GitLabHandle, password: &str) -> Option<String> {
    let r = no_redirects()
        .post(format!("{}users/sign_in", gitlab.url()))
        .form(&[("user[login]", "root"), ("user[password]", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("_gitlab_session="))
        .map(|c| c.split(';').next().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_pages_send_strangers_to_sign_in() {
    if !have("git") {
        return;
    }
    let (tmp, gitlab) = start().await;
    let (runner, job, project, pushed) = running_job(tmp.path(), &gitlab, "sec/private").await;
    let trace = "secret trace line\n";
    let patched = runner
        .api
        .request(reqwest::Method::PATCH, &format!("jobs/{}/trace", job["id"]))
        .header("JOB-TOKEN", job["token"].as_str().unwrap())
        .header("Content-Range", format!("0-{}", trace.len() - 1))
        .body(trace)
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 202);
    let web = project.web_url.clone();
    let pages = [
        gitlab.url(),
        format!("{web}/-/pipelines"),
        format!("{web}/-/pipelines/{}", pushed.pipeline.id),
        format!("{web}/-/jobs/{}", job["id"]),
        format!("{web}/-/jobs/{}/raw", job["id"]),
        format!("{}nope/nope/-/pipelines", gitlab.url()),
    ];
    let sign_in_url = format!("{}users/sign_in", gitlab.url());
    let client = no_redirects();
    for page in &pages {
        let r = client.get(page).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FOUND, "{page}");
        assert_eq!(r.headers()["location"], sign_in_url.as_str(), "{page}");
        let body = r.text().await.unwrap();
        for secret in ["sec/private", &pushed.sha[..8], "secret trace"] {
            assert!(!body.contains(secret), "{page} shows {secret}: {body}");
        }
    }
    let form = client.get(&sign_in_url).send().await.unwrap();
    assert_eq!(form.status(), 200);
    assert!(form.text().await.unwrap().contains("user[password]"));

    // A wrong password gets no session; root's password does, and the pages show.
    assert_eq!(sign_in(&gitlab, "wrong-password").await, None);
    let cookie = sign_in(&gitlab, &gitlab.root_credentials().password)
        .await
        .expect("a session cookie");
    for (page, needle) in [
        (&pages[0], "sec/private"),
        (&pages[1], &pushed.sha[..8]),
        (&pages[4], "secret trace line"),
    ] {
        let r = client
            .get(page)
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{page}");
        assert!(r.text().await.unwrap().contains(needle), "{page}");
    }
    let r = client
        .get(&pages[5])
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        404,
        "a signed-in user learns a project does not exist"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visibility_is_private_by_default_and_public_projects_are_open() {
    if !have("git") {
        return;
    }
    let (tmp, gitlab) = start().await;
    let root = Api::root(&gitlab);
    let default: Value = root
        .post("projects", &json!({"name": "hidden"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(default["visibility"], "private");
    let bad = root
        .post("projects", &json!({"name": "odd", "visibility": "secret"}))
        .await;
    assert_eq!(bad.status(), 400);
    assert_eq!(
        bad.json::<Value>().await.unwrap()["message"],
        "400 Bad request - visibility does not have a valid value"
    );

    let client = no_redirects();
    for (name, visibility, anonymous_status) in [
        ("open", "public", StatusCode::OK),
        ("inside", "internal", StatusCode::FOUND),
        ("closed", "private", StatusCode::FOUND),
    ] {
        let created: Value = root
            .post("projects", &json!({"name": name, "visibility": visibility}))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(created["visibility"], visibility);
        let got = root.get_json(&format!("projects/{}", created["id"])).await;
        assert_eq!(got["visibility"], visibility);
        let project = gitlab
            .project(created["path_with_namespace"].as_str().unwrap())
            .unwrap();
        let work = tmp.path().join(name);
        let pushed = push_one_job(&work, &gitlab, &project).await;
        let page = format!("{}/-/pipelines", project.web_url);
        let r = client.get(&page).send().await.unwrap();
        assert_eq!(r.status(), anonymous_status, "{visibility}");
        if anonymous_status == StatusCode::OK {
            assert!(r.text().await.unwrap().contains(&pushed.sha[..8]));
        }
        // Anonymous clones: public projects only, as on GitLab.
        let clone = git_output(
            &work,
            &["clone", "-q", &project.http_url_to_repo, "anonymous-clone"],
        );
        assert_eq!(
            clone.status.success(),
            visibility == "public",
            "{visibility}: {}",
            String::from_utf8_lossy(&clone.stderr)
        );
    }
}
