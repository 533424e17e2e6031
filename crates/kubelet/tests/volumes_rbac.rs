//! Volumes (the tutorial's PVC, docker.sock) and in-cluster kubectl with a ServiceAccount.

mod support;

use std::time::Duration;

use support::{Env, finished};

const MINUTE: Duration = Duration::from_secs(60);
const IMAGE_BUILD: Duration = Duration::from_secs(900);

/// The tutorial's claim, verbatim from the workspace's `fixtures/tutorial/`.
fn tutorial_pvc() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/tutorial/gitlab-runner-pvc.yaml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn cache_pod(name: &str, script: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: gitlab-runners
spec:
  restartPolicy: Never
  securityContext:
    fsGroup: 2000
  containers:
  - name: main
    image: ubuntu:16.04
    command: ["sh", "-c", "{script}"]
    volumeMounts:
    - name: cache
      mountPath: /home/cache/maven
  volumes:
  - name: cache
    persistentVolumeClaim:
      claimName: gitlab-runner-pvc
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tutorial_pvc_carries_files_between_pods() {
    let Some(env) = Env::start("the_tutorial_pvc_carries_files_between_pods").await else {
        return;
    };
    env.kubectl_ok(&["create", "namespace", "gitlab-runners"]);
    env.apply(&tutorial_pvc());
    env.apply(&cache_pod(
        "writer",
        "echo cached-artifact > /home/cache/maven/marker.txt && id -G",
    ));
    let writer = env
        .wait_pod("gitlab-runners", "writer", IMAGE_BUILD, finished)
        .await;
    assert_eq!(support::phase(&writer), "Succeeded", "{:?}", writer.status);
    let groups = env.kubectl_ok(&["logs", "-n", "gitlab-runners", "writer"]);
    assert!(
        groups.split_whitespace().any(|g| g == "2000"),
        "fsGroup is not a supplementary group: {groups}"
    );

    env.apply(&cache_pod("reader", "cat /home/cache/maven/marker.txt"));
    env.wait_pod("gitlab-runners", "reader", MINUTE, finished)
        .await;
    assert_eq!(
        env.kubectl_ok(&["logs", "-n", "gitlab-runners", "reader"]),
        "cached-artifact\n"
    );

    // The claim's volume is a real directory on this machine.
    let claim = ["pvc", "-n", "gitlab-runners", "gitlab-runner-pvc"];
    let pv = env.jsonpath(&claim, "{.spec.volumeName}");
    let dir = env.jsonpath(&["pv", &pv], "{.spec.hostPath.path}");
    let on_disk = std::fs::read_to_string(std::path::Path::new(&dir).join("marker.txt"))
        .expect("marker on the PV directory");
    assert_eq!(on_disk, "cached-artifact\n");

    env.kubectl_ok(&["delete", "pod", "-n", "gitlab-runners", "writer", "reader"]);
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_sock_host_path_reaches_the_engine() {
    let Some(env) = Env::start("docker_sock_host_path_reaches_the_engine").await else {
        return;
    };
    env.apply(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: dind-client
spec:
  restartPolicy: Never
  containers:
  - name: docker
    image: docker:latest
    command: ["docker", "version", "--format", "server={{.Server.Version}}"]
    volumeMounts:
    - name: sock
      mountPath: /var/run/docker.sock
  volumes:
  - name: sock
    hostPath:
      path: /var/run/docker.sock
"#,
    );
    let pod = env
        .wait_pod("default", "dind-client", IMAGE_BUILD, finished)
        .await;
    let logs = env.kubectl_ok(&["logs", "dind-client"]);
    assert_eq!(support::phase(&pod), "Succeeded", "logs: {logs}");
    assert!(
        logs.starts_with("server=") && logs.len() > "server=\n".len(),
        "{logs}"
    );
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_in_a_pod_uses_its_service_account() {
    let Some(env) = Env::start("kubectl_in_a_pod_uses_its_service_account").await else {
        return;
    };
    env.apply(
        r#"apiVersion: v1
kind: Namespace
metadata:
  name: ci
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: gitlab
  namespace: ci
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: gitlab
  namespace: ci
rules:
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: gitlab
  namespace: ci
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: gitlab
subjects:
- kind: ServiceAccount
  name: gitlab
  namespace: ci
"#,
    );
    let pod = |name: &str, args: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: ci\nspec:\n  serviceAccountName: gitlab\n  restartPolicy: Never\n  containers:\n  - name: kubectl\n    image: bitnami/kubectl:latest\n    args: {args}\n"
        )
    };
    env.apply(&pod("lister", r#"["get", "pods", "-o", "name"]"#));
    let lister = env.wait_pod("ci", "lister", IMAGE_BUILD, finished).await;
    let logs = env.kubectl_ok(&["logs", "-n", "ci", "lister"]);
    assert_eq!(support::phase(&lister), "Succeeded", "logs: {logs}");
    assert!(logs.lines().any(|l| l == "pod/lister"), "{logs}");

    env.apply(&pod("snooper", r#"["get", "clusterroles"]"#));
    let snooper = env.wait_pod("ci", "snooper", MINUTE, finished).await;
    let logs = env.kubectl_ok(&["logs", "-n", "ci", "snooper"]);
    assert_eq!(support::phase(&snooper), "Failed", "logs: {logs}");
    assert!(
        logs.contains("forbidden") && logs.contains("system:serviceaccount:ci:gitlab"),
        "{logs}"
    );
    env.finish().await;
}
