//! What the API shows to nobody in particular, as GitLab does: public projects (and their
//! pipelines) only; a private project is `404 Project Not Found`, not `401`, so its existence
//! does not leak.

mod common;

use common::*;
use harness_gitlab::Visibility;
use reqwest::Method;
use serde_json::{Value, json};

fn ids(list: &Value) -> Vec<u64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn strangers_see_public_projects_only() {
    let (_tmp, gitlab) = start().await;
    let anon = Api::anonymous(&gitlab);
    let private = gitlab.create_project("anon/private").await.unwrap();
    let r = anon.get("projects").await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!([]),
        "all private: an empty list"
    );

    let public = gitlab.create_project("anon/public").await.unwrap();
    gitlab
        .set_project_visibility(&public, Visibility::Public)
        .unwrap();
    assert_eq!(ids(&anon.get_json("projects").await), [public.id]);
    assert_eq!(
        ids(&Api::root(&gitlab).get_json("projects").await),
        [private.id, public.id]
    );

    for path in [
        format!("projects/{}", private.id),
        "projects/anon%2Fprivate".to_string(),
        format!("projects/{}/pipelines", private.id),
        "projects/anon%2Fnothing".to_string(),
    ] {
        let r = anon.get(&path).await;
        assert_eq!(r.status(), 404, "{path}");
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            json!({"message": "404 Project Not Found"}),
            "{path}"
        );
    }
    for path in [
        format!("projects/{}", public.id),
        "projects/anon%2Fpublic".to_string(),
        format!("projects/{}/pipelines", public.id),
    ] {
        assert_eq!(anon.get(&path).await.status(), 200, "{path}");
    }
    assert_eq!(
        anon.get_json(&format!("projects/{}", public.id)).await["path_with_namespace"],
        "anon/public"
    );

    // A wrong token is not anonymous: 401 even where strangers may read.
    let wrong = anon
        .request(Method::GET, "projects")
        .header("PRIVATE-TOKEN", "glpat-wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
}
