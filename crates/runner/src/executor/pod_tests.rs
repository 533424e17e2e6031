use super::*;
use crate::executor::test_support::maven_context;

#[test]
fn tutorial_job_pod_snapshot() {
    let ctx = maven_context();
    let pod = build_pod(&ctx, "runner-erskgn8q-project-7-concurrent-0abcde");
    insta::assert_yaml_snapshot!(pod);
}

#[test]
fn pod_has_build_and_helper_with_the_tutorial_volumes() {
    let ctx = maven_context();
    let pod = build_pod(&ctx, "p");
    let spec = pod.spec.unwrap();
    assert_eq!(spec.service_account_name.as_deref(), Some("gitlab"));
    let names: Vec<_> = spec.containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["build", "helper"]);
    let build = &spec.containers[0];
    assert_eq!(
        build.command.as_ref().unwrap()[0],
        "sh",
        "command replaces the ENTRYPOINT"
    );
    assert_eq!(build.image_pull_policy.as_deref(), Some("IfNotPresent"));
    assert_eq!(
        build.security_context.as_ref().unwrap().privileged,
        Some(true)
    );
    let mounts: Vec<_> = build
        .volume_mounts
        .as_ref()
        .unwrap()
        .iter()
        .map(|m| (m.name.as_str(), m.mount_path.as_str()))
        .collect();
    assert!(mounts.contains(&("gitlab-runner-pvc", "/home/cache/maven")));
    assert!(mounts.contains(&("docker", "/var/run/docker.sock")));
    assert!(mounts.contains(&("repo", "/builds")));
    let volumes = spec.volumes.unwrap();
    let docker = volumes.iter().find(|v| v.name == "docker").unwrap();
    assert_eq!(
        docker.host_path.as_ref().unwrap().path,
        "/var/run/docker.sock"
    );
    let pvc = volumes
        .iter()
        .find(|v| v.name == "gitlab-runner-pvc")
        .unwrap();
    assert_eq!(
        pvc.persistent_volume_claim.as_ref().unwrap().claim_name,
        "gitlab-runner-pvc"
    );
    // Non-public variables never reach the pod spec.
    let env = build.env.as_ref().unwrap();
    assert!(
        env.iter()
            .all(|e| e.name != "DOCKER_PASSWORD" && e.name != "CI_JOB_TOKEN")
    );
    assert!(env.iter().any(|e| e.name == "MAVEN_OPTS"));
}

#[test]
fn names_follow_the_executor() {
    let ctx = maven_context();
    assert_eq!(
        project_unique_name(&ctx),
        "runner-erskgn8q-project-7-concurrent-0"
    );
    let name = pod_name(&project_unique_name(&ctx), &random_suffix());
    assert!(name.starts_with("runner-erskgn8q-project-7-concurrent-0"));
    assert_eq!(
        name.len(),
        "runner-erskgn8q-project-7-concurrent-0".len() + 5
    );
    assert!(
        name.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    );
    assert!(pod_name(&"x".repeat(80), "abcde").len() <= 63);
}

#[test]
fn a_volume_at_the_builds_dir_replaces_the_repo_emptydir() {
    let mut ctx = maven_context();
    ctx.runner
        .kubernetes
        .as_mut()
        .unwrap()
        .volumes
        .pvc
        .push(crate::config::PvcVolume {
            name: "builds".into(),
            mount_path: "/builds".into(),
            read_only: false,
        });
    let pod = build_pod(&ctx, "p");
    let volumes = pod.spec.unwrap().volumes.unwrap();
    assert!(volumes.iter().all(|v| v.name != "repo"));
}

#[test]
fn pull_policies_map_to_kubernetes_names() {
    assert_eq!(
        image_pull_policy(&["if-not-present".into()]).as_deref(),
        Some("IfNotPresent")
    );
    assert_eq!(
        image_pull_policy(&["always".into()]).as_deref(),
        Some("Always")
    );
    assert_eq!(
        image_pull_policy(&["never".into()]).as_deref(),
        Some("Never")
    );
    assert_eq!(image_pull_policy(&[]), None);
}
