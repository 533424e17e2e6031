//! The chart's own ConfigMap scripts, rendered from the tutorial's values and run unchanged in
//! the runner stand-in image with this crate's `gitlab-runner`: register (with the tutorial's
//! patch appending to config.toml), run, the preStop `unregister --all-runners`, SIGTERM.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::*;
use harness_chart::{Helm, RenderOptions, ValuesInput, render};
use harness_images::catalog::{CatalogInputs, RUNNER_IMAGE, recipes};
use harness_images::{ImageProvisioner, PullPolicy};

const VALUES: &str = include_str!("../../../fixtures/tutorial/values.yaml");

/// The real image's `/entrypoint` hands its arguments to `gitlab-runner`; the stand-in image has
/// no such file yet, so the test supplies this equivalent (see the crate README).
const ENTRYPOINT_SHIM: &str = "#!/bin/bash\nexec /usr/bin/gitlab-runner \"$@\"\n";

struct Container {
    name: String,
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", &self.name])
            .output();
    }
}

fn docker(args: &[&str]) -> Output {
    Command::new("docker").args(args).output().unwrap()
}

fn write(path: &Path, content: &str, mode: u32) {
    std::fs::write(path, content).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn open_dir(path: &Path) -> PathBuf {
    std::fs::create_dir_all(path).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_path_buf()
}

async fn docker_available() -> bool {
    let ok = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .is_ok_and(|o| o.status.success());
    can_run(
        (!ok).then_some("no docker CLI or engine; the chart scripts need a container to run in"),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn rendered_chart_scripts_register_run_and_unregister_with_this_runner() {
    if !docker_available().await {
        return;
    }
    let (dir, gitlab) = start_gitlab().await;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();

    // The runner stand-in image, built with this crate's binary.
    let binaries = PathBuf::from(runner_bin()).parent().unwrap().to_path_buf();
    let provisioner = ImageProvisioner::connect(
        dir.path().join("images"),
        recipes(&CatalogInputs {
            kubectl: None,
            runner_binaries: Some(binaries),
            coredns: None,
        }),
    )
    .unwrap()
    .with_pulls(false);
    provisioner
        .ensure(RUNNER_IMAGE, PullPolicy::IfNotPresent)
        .await
        .unwrap();

    // `helm template` of the tutorial's values (with its configmap patch), aimed at this GitLab.
    let options = RenderOptions::tutorial()
        .with_set_arg(&format!("gitlabUrl={}", gitlab.url()))
        .unwrap()
        .with_set_arg(&format!("runnerRegistrationToken={REGISTRATION_TOKEN}"))
        .unwrap();
    let helm = Helm::new(harness_test_support::helm_binary());
    let rendered = render(&helm, &ValuesInput::yaml(VALUES, "values.yaml"), &options).unwrap();
    let scripts = open_dir(&dir.path().join("scripts"));
    for key in [
        "entrypoint",
        "config.toml",
        "configure",
        "register-the-runner",
        "check-live",
    ] {
        let text = rendered
            .config_map_data(key)
            .unwrap_or_else(|| panic!("ConfigMap key {key}"));
        write(&scripts.join(key), text, 0o644);
    }
    // What the chart's `configure` init container leaves in /secrets.
    let secrets = open_dir(&dir.path().join("secrets"));
    write(
        &secrets.join("runner-registration-token"),
        REGISTRATION_TOKEN,
        0o644,
    );
    write(&secrets.join("runner-token"), "", 0o644);
    let shim = dir.path().join("entrypoint");
    write(&shim, ENTRYPOINT_SHIM, 0o755);

    let id = uuid::Uuid::new_v4().simple().to_string();
    let container = Container {
        name: format!("runner-chart-test-{}", &id[..10]),
    };
    let mut args: Vec<String> = vec![
        "run".into(),
        "-d".into(),
        "--name".into(),
        container.name.clone(),
        "--label".into(),
        format!("io.gitlab-k8s-harness.env=runner-chart-test-{}", &id[..10]),
        "--network".into(),
        "host".into(),
        "--user".into(),
        "100".into(),
        "--hostname".into(),
        "gitlab-runner-gitlab-runner-6c7dfd859c-62dv5".into(),
        "-v".into(),
        format!("{}:/scripts:ro", scripts.display()),
        "-v".into(),
        format!("{}:/secrets", secrets.display()),
        "-v".into(),
        format!("{}:/entrypoint:ro", shim.display()),
        "--entrypoint".into(),
        "/bin/bash".into(),
    ];
    for (k, v) in rendered.runner_env() {
        args.push("-e".into());
        args.push(format!("{k}={v}"));
    }
    args.push(RUNNER_IMAGE.into());
    args.push("/scripts/entrypoint".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = docker(&args);
    assert!(
        out.status.success(),
        "docker run: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Registered through the chart's register-the-runner, then polling through `run`.
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while gitlab.runners().iter().all(|r| r.contacted_at.is_none()) {
        if tokio::time::Instant::now() > deadline {
            let logs = docker(&["logs", &container.name]);
            panic!(
                "the runner never polled GitLab:\n{}{}",
                String::from_utf8_lossy(&logs.stdout),
                String::from_utf8_lossy(&logs.stderr)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let runner = gitlab.runners().remove(0);
    assert_eq!(runner.tag_list, vec!["gitlab-runner"]);

    let out = docker(&[
        "exec",
        &container.name,
        "cat",
        "/home/gitlab-runner/.gitlab-runner/config.toml",
    ]);
    let config = String::from_utf8_lossy(&out.stdout);
    assert!(
        config
            .starts_with("listen_address = \"[::]:9252\"\nconcurrent = 10\ncheck_interval = 30\n"),
        "{config}"
    );
    assert!(
        config.contains(&format!("  token = \"{}\"\n", runner.token)),
        "{config}"
    );
    assert!(
        config.contains(
            "    privileged = true\n    pull_policy = \"if-not-present\"\n    poll_timeout = 180\n"
        ),
        "{config}"
    );
    assert!(
        config.ends_with("    [runners.kubernetes.volumes]\n  [[runners.kubernetes.volumes.pvc]]\n    name = \"gitlab-runner-pvc\"\n    mount_path = \"/home/cache/maven\"\n  [[runners.kubernetes.volumes.host_path]]\n    name = \"docker\"\n    mount_path = \"/var/run/docker.sock\"\n"),
        "the tutorial's patch appends after registration:\n{config}"
    );

    // The chart's preStop hook, then the pod's SIGTERM.
    let out = docker(&[
        "exec",
        &container.name,
        "/entrypoint",
        "unregister",
        "--all-runners",
    ]);
    assert!(
        out.status.success(),
        "unregister: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(gitlab.runners().is_empty(), "runner removed from GitLab");
    let out = docker(&["stop", "-t", "30", &container.name]);
    assert!(out.status.success());
    let out = docker(&["inspect", "-f", "{{.State.ExitCode}}", &container.name]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
}
