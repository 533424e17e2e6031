//! The REST calls a harness makes against any GitLab to lay out projects, in GitLab's v4 shape:
//! the current user, namespaces, groups (create, read by id or path, delete) and projects
//! (create in a namespace, read by path, delete with everything they hold).

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_namespaces_and_projects_round_trip() {
    if !have("git") {
        return;
    }
    let (tmp, gitlab) = start().await;
    let root = Api::root(&gitlab);

    let me = root.get_json("user").await;
    assert_eq!(
        (me["id"].as_u64(), me["username"].as_str()),
        (Some(1), Some("root"))
    );
    assert_eq!(me["is_admin"], true);
    assert_eq!(me["state"], "active");
    assert_eq!(me["web_url"], format!("{}root", gitlab.url()));

    // Groups: create, then find by id and by URL-encoded path.
    let created = root
        .post(
            "groups",
            &json!({"name": "Platform Team", "path": "platform"}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let group: Value = created.json().await.unwrap();
    assert_eq!(group["name"], "Platform Team");
    assert_eq!(
        (group["path"].as_str(), group["full_path"].as_str()),
        (Some("platform"), Some("platform"))
    );
    assert_eq!(group["visibility"], "private");
    assert_eq!(group["web_url"], format!("{}groups/platform", gitlab.url()));
    let gid = group["id"].as_u64().unwrap();
    let sub: Value = root
        .post(
            "groups",
            &json!({"name": "ci", "path": "ci", "parent_id": gid}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(sub["full_path"], "platform/ci");
    assert_eq!(sub["parent_id"], gid);
    for path in [format!("groups/{gid}"), "groups/platform".to_string()] {
        let got = root.get_json(&path).await;
        assert_eq!(got["id"], gid, "{path}");
    }
    assert_eq!(root.get_json("groups/platform%2Fci").await["id"], sub["id"]);
    let taken = root
        .post("groups", &json!({"name": "again", "path": "platform"}))
        .await;
    assert_eq!(taken.status(), 400);
    let missing = root.post("groups", &json!({})).await;
    assert_eq!(
        missing.json::<Value>().await.unwrap()["message"],
        "400 Bad request - name is missing, path is missing"
    );
    let nope = root.get("groups/nope").await;
    assert_eq!(nope.status(), 404);
    assert_eq!(
        nope.json::<Value>().await.unwrap()["message"],
        "404 Group Not Found"
    );
    assert_eq!(
        Api::anonymous(&gitlab)
            .get(&format!("groups/{gid}"))
            .await
            .status(),
        404
    );

    // Namespaces: root's own and the groups, searchable.
    let all = root.get_json("namespaces").await;
    let paths: Vec<(&str, &str)> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["full_path"].as_str().unwrap(),
                n["kind"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        paths,
        [
            ("root", "user"),
            ("platform", "group"),
            ("platform/ci", "group")
        ]
    );
    let found = root.get_json("namespaces?search=ci").await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["id"], sub["id"]);
    assert_eq!(
        Api::anonymous(&gitlab).get("namespaces").await.status(),
        401
    );

    // Projects: in a namespace by id, with name, path and visibility; read back by path.
    let r = root
        .post(
            "projects",
            &json!({"name": "Web App", "path": "web-app", "namespace_id": sub["id"], "visibility": "internal"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let project: Value = r.json().await.unwrap();
    assert_eq!(project["name"], "Web App");
    assert_eq!(project["path"], "web-app");
    assert_eq!(project["path_with_namespace"], "platform/ci/web-app");
    assert_eq!(
        project["name_with_namespace"],
        "Platform Team / ci / Web App"
    );
    assert_eq!(project["visibility"], "internal");
    assert_eq!(project["namespace"]["id"], sub["id"]);
    assert_eq!(project["namespace"]["kind"], "group");
    assert_eq!(project["namespace"]["full_path"], "platform/ci");
    assert_eq!(
        project["http_url_to_repo"],
        format!("{}platform/ci/web-app.git", gitlab.url())
    );
    let pid = project["id"].as_u64().unwrap();
    assert_eq!(
        root.get_json("projects/platform%2Fci%2Fweb-app").await["id"],
        pid
    );
    let derived: Value = root
        .post("projects", &json!({"name": "Just A Name"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        derived["path_with_namespace"], "root/just-a-name",
        "path from the name, in root's namespace"
    );
    assert_eq!(derived["namespace"]["kind"], "user");
    let dup = root
        .post(
            "projects",
            &json!({"path": "web-app", "namespace_id": "platform/ci"}),
        )
        .await;
    assert_eq!(dup.status(), 400);
    assert_eq!(
        dup.json::<Value>().await.unwrap()["message"]["path"],
        json!(["has already been taken"])
    );
    let no_ns = root
        .post("projects", &json!({"path": "x", "namespace_id": 99999}))
        .await;
    assert_eq!(no_ns.status(), 404);
    assert_eq!(
        no_ns.json::<Value>().await.unwrap()["message"],
        "404 Namespace Not Found"
    );
    let group_projects = root.get_json(&format!("groups/{}", sub["id"])).await;
    assert_eq!(group_projects["projects"][0]["id"], pid);

    // Deleting a project takes its repository, pipelines, jobs, variables and runners along.
    let handle_project = gitlab.project("platform/ci/web-app").unwrap();
    let pushed = push_one_job(tmp.path(), &gitlab, &handle_project).await;
    root.post(
        &format!("projects/{pid}/variables"),
        &json!({"key": "K", "value": "v"}),
    )
    .await;
    let runner: Value = root
        .post(
            "user/runners",
            &json!({"runner_type": "project_type", "project_id": pid}),
        )
        .await
        .json()
        .await
        .unwrap();
    let deleted = root
        .request(Method::DELETE, &format!("projects/{pid}"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 202);
    assert_eq!(
        deleted.json::<Value>().await.unwrap(),
        json!({"message": "202 Accepted"})
    );
    assert_eq!(root.get(&format!("projects/{pid}")).await.status(), 404);
    assert!(!handle_project.repo_dir.exists(), "the repository is gone");
    assert!(gitlab.pipeline(pushed.pipeline.id).is_none());
    assert!(gitlab.jobs(pushed.pipeline.id).is_empty());
    assert_eq!(
        root.get(&format!("runners/{}", runner["id"]))
            .await
            .status(),
        404
    );
    assert!(gitlab.runners().is_empty());
    // The path is free again, and its variables did not come back.
    let again: Value = root
        .post(
            "projects",
            &json!({"path": "web-app", "namespace_id": sub["id"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        root.get_json(&format!("projects/{}/variables", again["id"]))
            .await,
        json!([])
    );

    // Deleting a group takes its subgroups and their projects.
    let r = root
        .request(Method::DELETE, &format!("groups/{gid}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(root.get("groups/platform%2Fci").await.status(), 404);
    assert_eq!(
        root.get(&format!("projects/{}", again["id"]))
            .await
            .status(),
        404
    );
    let left = root.get_json("namespaces").await;
    assert_eq!(left.as_array().unwrap().len(), 1, "{left}");
}
