//! python-gitlab (the Python client, from PyPI) against the embedded GitLab: it lists a
//! project's pipelines with root's personal access token and with an OAuth token from the
//! password grant; Basic auth with the password gets 401 on the API, while `git push` with the
//! password works.

mod common;

use std::process::Command;

use common::*;
use serde_json::Value;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python_gitlab.py");

/// Whether python3 can import python-gitlab (`pip install python-gitlab`).
fn python_gitlab_installed() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import gitlab"])
        .output()
        .is_ok_and(|o| o.status.success());
    can_run((!ok).then_some(
        "python-gitlab is not importable by python3 (`harness doctor --fix` installs it)",
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_gitlab_lists_pipelines_with_a_token_and_with_oauth() {
    if !python_gitlab_installed() || !have("git") {
        return;
    }
    let Some((tmp, gitlab, project)) = start_with_project("py/app").await else {
        return;
    };
    // `git push` with root's password (push_repo uses http://root:<password>@…).
    let first = push_one_job(tmp.path(), &gitlab, &project).await.pipeline;
    let second = gitlab.run_pipeline(&project, "master", &[]).await.unwrap();
    let creds = gitlab.root_credentials();
    let url = gitlab.url();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .args([
                SCRIPT,
                &url,
                &creds.personal_access_token,
                &creds.password,
                "py/app",
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "python-gitlab failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    println!("{result}");
    let expected = serde_json::json!([second.id, first.id]);
    assert_eq!(result["pat_user"], "root");
    assert_eq!(result["pat_pipelines"], expected);
    assert_eq!(result["oauth_pipelines"], expected);
    assert_eq!(result["basic_auth"], 401);
}
