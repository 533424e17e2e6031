use super::*;
use crate::executor::test_support::maven_context;

#[test]
fn helper_stages_run_with_umask_0000_and_build_stages_do_not() {
    let ctx = maven_context();
    let sources = get_sources(&ctx);
    assert_eq!(sources.container, Container::Helper);
    assert!(sources.script.contains("\numask 0000\n"));
    assert!(sources.script.contains("gitlab-runner-helper git-sources --repo-url 'http://gitlab-ci-token:glcbt-jobtoken-42@gitlab.local/grp/demo.git' --sha '0123456789abcdef0123456789abcdef01234567' --ref 'master' --ref-type 'branch' --strategy 'fetch' --depth 50 --dir '/builds/grp/demo' --refspec '+refs/heads/master:refs/remotes/origin/master'"), "{}", sources.script);
    let upload = upload_artifacts(&ctx, true).unwrap();
    assert!(upload.script.contains("\numask 0000\n"));
    assert!(
        upload
            .script
            .contains("--path 'target/*.war' --artifact-format zip --artifact-type archive")
    );
    let build = user_script(&ctx, &ctx.job.steps[0], "build_script");
    assert_eq!(build.container, Container::Build);
    assert!(!build.script.contains("umask"));
}

#[test]
fn build_script_snapshot() {
    let ctx = maven_context();
    insta::assert_snapshot!(user_script(&ctx, &ctx.job.steps[0], "build_script").script);
}

#[test]
fn on_failure_artifacts_only_after_a_failure() {
    let ctx = maven_context();
    assert!(upload_artifacts(&ctx, false).is_none());
}

#[test]
fn dependencies_are_downloaded_with_their_token() {
    let ctx = maven_context();
    let s = download_artifacts(&ctx).unwrap();
    assert!(s.script.contains(
        "artifacts-downloader --url 'http://43.254.54.93:88/' --token 'glcbt-jobtoken-42' --id 41"
    ));
}

/// The generated scripts run under a real POSIX shell (dash/bash), with exports, file variables,
/// quoting and `set -e` behaving as the job expects.
#[test]
fn generated_build_script_runs_in_sh() {
    let dir = tempfile::tempdir().unwrap();
    let mut ctx = maven_context();
    ctx.project_dir = dir.path().join("grp/demo").to_string_lossy().into_owned();
    std::fs::create_dir_all(&ctx.project_dir).unwrap();
    ctx.variables.retain(|v| v.key != "CI_PROJECT_DIR");
    let step = crate::api::Step {
        name: "script".into(),
        script: vec![
            "echo \"opts=$MAVEN_OPTS it's\"".into(),
            "test -f \"$KUBECONFIG_FILE\" && cat \"$KUBECONFIG_FILE\"".into(),
            "read -r line || true".into(),
            "false".into(),
            "echo never".into(),
        ],
        ..Default::default()
    };
    let stage = user_script(&ctx, &step, "build_script");
    let mut child = std::process::Command::new("sh")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stage.script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("$ echo \"opts=$MAVEN_OPTS it's\""), "{text}");
    assert!(
        text.contains("opts=-Dmaven.repo.local=/home/cache/maven it's"),
        "{text}"
    );
    assert!(text.contains("apiVersion: v1"), "{text}");
    assert!(!text.contains("never"), "{text}");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn after_script_sees_the_job_outcome() {
    let ctx = maven_context().with_variable("CI_JOB_STATUS", "failed");
    let step = crate::api::Step {
        name: "after_script".into(),
        script: vec!["echo $CI_JOB_STATUS".into()],
        ..Default::default()
    };
    let stage = user_script(&ctx, &step, "after_script");
    assert_eq!(stage.container, Container::Build);
    assert!(stage.script.contains("export CI_JOB_STATUS='failed'\n"));
    assert!(!stage.script.contains("export CI_JOB_STATUS='running'"));
}
