//! Runners through the REST API as GitLab 17.11 has them: `POST /user/runners` for instance and
//! project runners, the project's `runners_token` (admins only) for legacy registration, the
//! lists and details, deletion — and project runners take only their project's jobs.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runners_are_created_listed_scoped_and_deleted() {
    if !have("git") {
        return;
    }
    let (tmp, gitlab) = start().await;
    let root = Api::root(&gitlab);
    let mine = gitlab.create_project("run/mine").await.unwrap();
    let other = gitlab.create_project("run/other").await.unwrap();

    let create = async |body: Value| {
        let r = root.post("user/runners", &body).await;
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    let (status, project_runner) = create(json!({
        "runner_type": "project_type", "project_id": mine.id, "description": "mine", "tag_list": "a,b"
    }))
    .await;
    assert_eq!(status, 201);
    assert!(
        project_runner["token"]
            .as_str()
            .unwrap()
            .starts_with("glrt-")
    );
    assert!(
        project_runner
            .as_object()
            .unwrap()
            .contains_key("token_expires_at")
    );
    let (status, instance_runner) =
        create(json!({"runner_type": "instance_type", "run_untagged": true})).await;
    assert_eq!(status, 201);
    for (body, message) in [
        (json!({}), "400 Bad request - runner_type is missing"),
        (
            json!({"runner_type": "project_type"}),
            "400 Bad request - project_id is missing",
        ),
        (
            json!({"runner_type": "nope"}),
            "400 Bad request - runner_type does not have a valid value",
        ),
    ] {
        let (status, answer) = create(body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(answer["message"], message);
    }

    let details = root
        .get_json(&format!("runners/{}", project_runner["id"]))
        .await;
    assert_eq!(details["runner_type"], "project_type");
    assert_eq!(details["is_shared"], false);
    assert_eq!(details["description"], "mine");
    assert_eq!(details["tag_list"], json!(["a", "b"]));
    assert_eq!(details["projects"][0]["id"], mine.id);
    let (pr, ir) = (
        project_runner["id"].as_u64().unwrap(),
        instance_runner["id"].as_u64().unwrap(),
    );
    assert_eq!(ids(root.get_json("runners/all").await), [pr, ir]);
    assert_eq!(
        ids(root.get_json("runners/all?type=instance_type").await),
        [ir]
    );
    assert_eq!(
        ids(root
            .get_json(&format!("projects/{}/runners", mine.id))
            .await),
        [pr, ir]
    );
    assert_eq!(
        ids(root
            .get_json(&format!("projects/{}/runners", other.id))
            .await),
        [ir]
    );
    assert_eq!(
        Api::anonymous(&gitlab).get("runners/all").await.status(),
        401
    );

    // The project's registration token: admins see it; it registers a runner of that project.
    let project_json = root.get_json(&format!("projects/{}", other.id)).await;
    let runners_token = project_json["runners_token"].as_str().unwrap().to_string();
    assert!(runners_token.starts_with("GR1348941"));
    let registered: Value = Api::anonymous(&gitlab)
        .post(
            "runners",
            &json!({"token": runners_token, "run_untagged": true}),
        )
        .await
        .json()
        .await
        .unwrap();
    let details = root
        .get_json(&format!("runners/{}", registered["id"]))
        .await;
    assert_eq!(details["runner_type"], "project_type");
    assert_eq!(details["projects"][0]["id"], other.id);
    gitlab
        .set_project_visibility(&other, harness_gitlab::Visibility::Public)
        .unwrap();
    let public = Api::anonymous(&gitlab)
        .get_json(&format!("projects/{}", other.id))
        .await;
    assert!(
        public.get("runners_token").is_none(),
        "strangers never see it"
    );

    // A project runner takes only its project's jobs.
    push_one_job(&tmp.path().join("other"), &gitlab, &other).await;
    let wrong = RunnerApi::new(&gitlab, project_runner["token"].as_str().unwrap());
    assert!(
        wrong.take().await.is_none(),
        "mine's runner must not run other's job"
    );
    let right = RunnerApi::new(&gitlab, registered["token"].as_str().unwrap());
    let job = right.take().await.expect("other's runner runs it");
    assert_eq!(job["job_info"]["project_id"], other.id);

    // Deleting.
    let r = root
        .request(Method::DELETE, &format!("runners/{pr}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(root.get(&format!("runners/{pr}")).await.status(), 404);
    assert!(wrong.take().await.is_none());
}
