//! Project CI/CD variables through the REST API: every attribute round-trips (masked,
//! protected, variable_type, raw, environment_scope), a key may exist once per environment
//! scope, `PUT` changes only what it names, and `filter[environment_scope]` picks one.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

/// Every attribute of a project variable in GitLab's JSON.
const ATTRIBUTES: [&str; 7] = [
    "key",
    "value",
    "masked",
    "protected",
    "variable_type",
    "raw",
    "environment_scope",
];

#[tokio::test]
async fn variables_round_trip_all_their_attributes() {
    let (_tmp, gitlab) = start().await;
    let root = Api::root(&gitlab);
    let project = gitlab.create_project("vars/app").await.unwrap();
    let base = format!("projects/{}/variables", project.id);
    let prod = json!({
        "key": "DEPLOY_KEY", "value": "s3cr3t-value-1", "masked": true, "protected": true,
        "variable_type": "file", "raw": true, "environment_scope": "production",
    });
    let created = root.post(&base, &prod).await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    for key in ATTRIBUTES {
        assert_eq!(created[key], prod[key], "{key} as created");
    }
    let scoped = format!("{base}/DEPLOY_KEY?filter[environment_scope]=production");
    let read = root.get_json(&scoped).await;
    for key in ATTRIBUTES {
        assert_eq!(read[key], prod[key], "{key} as read");
    }

    // The same key in another scope (a form body this time); the same key and scope again is
    // refused.
    let r = root
        .request(Method::POST, &base)
        .form(&[
            ("key", "DEPLOY_KEY"),
            ("value", "plain"),
            ("masked", "false"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.json::<Value>().await.unwrap()["environment_scope"], "*");
    let dup = root.post(&base, &prod).await;
    assert_eq!(dup.status(), 400);
    assert_eq!(
        dup.json::<Value>().await.unwrap()["message"]["key"],
        json!(["(DEPLOY_KEY) has already been taken"])
    );
    assert_eq!(root.get_json(&base).await.as_array().unwrap().len(), 2);
    let ambiguous = root.get(&format!("{base}/DEPLOY_KEY")).await;
    assert_eq!(ambiguous.status(), 409);
    let bad_type = root
        .post(
            &base,
            &json!({"key": "X", "value": "y", "variable_type": "blob"}),
        )
        .await;
    assert_eq!(bad_type.status(), 400);

    // PUT changes only what it names.
    let r = root
        .send(Method::PUT, &scoped, &json!({"value": "n3w-s3cr3t-value"}))
        .await;
    assert_eq!(r.status(), 200);
    let updated = root.get_json(&scoped).await;
    assert_eq!(updated["value"], "n3w-s3cr3t-value");
    // Every attribute but the key and the value.
    for key in ATTRIBUTES.into_iter().skip(2) {
        assert_eq!(updated[key], prod[key], "{key} kept by PUT");
    }
    root.send(Method::PUT, &scoped, &json!({"protected": false}))
        .await;
    assert_eq!(root.get_json(&scoped).await["protected"], false);

    // DELETE with the filter removes that one only.
    let r = root.request(Method::DELETE, &scoped).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let left = root.get_json(&base).await;
    assert_eq!(left.as_array().unwrap().len(), 1);
    assert_eq!(left[0]["environment_scope"], "*");
    assert_eq!(
        root.get_json(&format!("{base}/DEPLOY_KEY")).await["value"],
        "plain"
    );
}
