//! What a pipeline job (untrusted code holding `CI_JOB_TOKEN`) can do to the GitLab and its host:
//! no more than on real GitLab.

mod common;

use common::*;

/// `artifact_type` once went into the stored file's path unchecked, so a job could write any file
/// the GitLab process could (`../../../../tmp/pwn` created `/tmp/pwn-x`). GitLab accepts only its
/// enumerated types and formats and stores artifacts under names it makes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn artifact_type_and_format_are_enumerated_and_never_a_path() {
    if !have("git") {
        return;
    }
    let (tmp, gitlab) = start().await;
    let (runner, job, _, _) = running_job(tmp.path(), &gitlab, "sec/artifacts").await;
    let outside = tmp.path().join("pwned");
    let escape = format!("../../../../../../..{}", outside.display());
    let upload = |query: String, fields: Vec<(&'static str, String)>| {
        let mut form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(b"PK\x05\x06".to_vec()).file_name("x"),
        );
        for (k, v) in fields {
            form = form.text(k, v);
        }
        runner
            .api
            .http
            .post(
                runner
                    .api
                    .url(&format!("jobs/{}/artifacts?{query}", job["id"])),
            )
            .header("JOB-TOKEN", job["token"].as_str().unwrap())
            .multipart(form)
            .send()
    };

    for (query, fields) in [
        (format!("artifact_type={escape}"), vec![]),
        (String::new(), vec![("artifact_type", escape.clone())]),
        (
            "artifact_type=archive".to_string(),
            vec![("artifact_format", format!("{escape}/zip"))],
        ),
        ("artifact_type=archive&artifact_format=gzip".into(), vec![]),
    ] {
        let r = upload(query.clone(), fields).await.unwrap();
        assert_eq!(r.status(), 400, "{query}");
        let body = r.text().await.unwrap();
        assert!(body.contains("400 Bad request"), "{query}: {body}");
    }
    let leaked: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().starts_with("pwned"))
        .collect();
    assert!(leaked.is_empty(), "files written outside: {leaked:?}");

    // A well-formed upload is still taken, and listed with the upload's file name.
    let r = upload("artifact_type=archive&artifact_format=zip".into(), vec![])
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let stored = gitlab.job(job["id"].as_u64().unwrap()).unwrap();
    assert_eq!(stored.artifacts[0].file_type, "archive");
    assert_eq!(stored.artifacts[0].filename, "x");
    assert!(stored.artifacts[0].path.ends_with("archive.zip"));
}
