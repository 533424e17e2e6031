//! End to end: the runner's `run` loop takes jobs from the embedded GitLab and runs them as pods
//! on the embedded API server + kubelet (real Docker containers from the stand-in images).

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use harness_apiserver::{ApiServer, ApiServerConfig, ApiServerHandle};
use harness_gitlab::{GitLabHandle, Status};
use harness_images::ImageProvisioner;
use harness_images::catalog::{CatalogInputs, find_kubectl, recipes};
use harness_kubelet::{Kubelet, KubeletConfig, KubeletHandle};
use harness_runner::config::{
    self, Config, HostPathVolume, KubernetesConfig, PvcVolume, RunnerConfig,
};
use harness_runner::multi::{Shutdown, Supervisor};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams};

const NS: &str = "gitlab-runners";
const MANAGER_SA: &str = "gitlab-runner-gitlab-runner";
const JOB_TIMEOUT: Duration = Duration::from_secs(600);

const CI: &str = r#"stages: [package, deploy]
maven-package:
  stage: package
  image: ubuntu:16.04
  tags: [gitlab-runner]
  script:
    - mkdir -p target /home/cache/maven/org/example
    - echo war > target/demo.war
    - echo cached > /home/cache/maven/org/example/marker
    - test -S /var/run/docker.sock && echo docker-socket-mounted
  artifacts:
    paths:
      - target/*.war
k8s-deploy:
  stage: deploy
  image: bitnami/kubectl:latest
  tags: [gitlab-runner]
  script:
    - echo "uid=$(id -u)"
    - sed -i "s/hello/deployed/" deployment.yaml
    - cat deployment.yaml
    - test -f target/demo.war && echo artifact-downloaded
"#;

struct World {
    dir: tempfile::TempDir,
    gitlab: GitLabHandle,
    api: ApiServerHandle,
    kubelet: Option<KubeletHandle>,
    client: kube::Client,
}

async fn missing_prerequisite() -> Option<String> {
    if !have("git") {
        return Some("git is not installed".into());
    }
    let docker = match bollard::Docker::connect_with_local_defaults() {
        Ok(d) => d,
        Err(e) => return Some(format!("no Docker engine: {e}")),
    };
    if let Err(e) = docker.ping().await {
        return Some(format!("the Docker engine does not answer: {e}"));
    }
    None
}

fn apply_json<K>(value: serde_json::Value) -> K
where
    K: serde::de::DeserializeOwned,
{
    serde_json::from_value(value).unwrap()
}

impl World {
    async fn start(test: &str) -> Option<World> {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
            .with_test_writer()
            .try_init();
        if let Some(reason) = missing_prerequisite().await {
            eprintln!("SKIPPED {test}: {reason}");
            return None;
        }
        let (gitlab_dir, gitlab) = start_gitlab().await;
        let dir = gitlab_dir;
        let api = ApiServer::start(ApiServerConfig::new(dir.path().join("apiserver")))
            .await
            .unwrap();
        let client = api.client().await.unwrap();
        let env_id = format!(
            "runner-test-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..10]
        );
        let binaries = PathBuf::from(helper_bin()).parent().unwrap().to_path_buf();
        let provisioner = ImageProvisioner::connect(
            dir.path().join("images"),
            recipes(&CatalogInputs {
                kubectl: find_kubectl(),
                runner_binaries: Some(binaries),
            }),
        )
        .unwrap()
        .with_pulls(false);
        let mut kc = KubeletConfig::new(
            "node-1",
            env_id,
            dir.path().join("kubelet"),
            api.url(),
            api.ca_pem(),
        );
        kc.host_path_passthrough.push(dir.path().join("apiserver"));
        let mut streams = None;
        let kubelet = Kubelet::start(kc, client.clone(), provisioner, |s| streams = Some(s))
            .await
            .unwrap();
        api.register_node_streams("node-1", streams.unwrap());
        let world = World {
            dir,
            gitlab,
            api,
            kubelet: Some(kubelet),
            client,
        };
        world.install_tutorial_objects().await;
        Some(world)
    }

    /// Namespace, the tutorial's RBAC for SA `gitlab`, the chart's SA/Role/RoleBinding for the
    /// manager, and the Maven cache PVC.
    async fn install_tutorial_objects(&self) {
        use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim, ServiceAccount};
        use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
        let pp = PostParams::default();
        Api::<Namespace>::all(self.client.clone())
            .create(
                &pp,
                &apply_json(serde_json::json!({"metadata": {"name": NS}})),
            )
            .await
            .unwrap();
        let sas: Api<ServiceAccount> = Api::namespaced(self.client.clone(), NS);
        for name in ["gitlab", MANAGER_SA] {
            sas.create(
                &pp,
                &apply_json(serde_json::json!({"metadata": {"name": name}})),
            )
            .await
            .unwrap();
        }
        let roles: Api<Role> = Api::namespaced(self.client.clone(), NS);
        let bindings: Api<RoleBinding> = Api::namespaced(self.client.clone(), NS);
        for (name, sa) in [("gitlab", "gitlab"), (MANAGER_SA, MANAGER_SA)] {
            roles
                .create(
                    &pp,
                    &apply_json(serde_json::json!({
                        "metadata": {"name": name},
                        "rules": [
                            {"apiGroups": [""], "resources": ["*"], "verbs": ["*"]},
                            {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["*"]}
                        ]
                    })),
                )
                .await
                .unwrap();
            bindings
                .create(&pp, &apply_json(serde_json::json!({
                    "metadata": {"name": name},
                    "subjects": [{"kind": "ServiceAccount", "name": sa}],
                    "roleRef": {"kind": "Role", "name": name, "apiGroup": "rbac.authorization.k8s.io"}
                })))
                .await
                .unwrap();
        }
        Api::<PersistentVolumeClaim>::namespaced(self.client.clone(), NS)
            .create(
                &pp,
                &apply_json(serde_json::json!({
                    "metadata": {"name": "gitlab-runner-pvc"},
                    "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "rbd",
                             "resources": {"requests": {"storage": "2Gi"}}}
                })),
            )
            .await
            .unwrap();
    }

    /// A config.toml like the tutorial's, authenticating as the chart's manager SA.
    async fn write_runner_config(&self) -> PathBuf {
        let client = harness_runner::api::Client::new(&self.gitlab.url()).unwrap();
        let reg = register_runner(&client, "runner-e2e").await;
        let ca = self.dir.path().join("ca.crt");
        std::fs::write(&ca, self.api.ca_pem()).unwrap();
        let token = self
            .api
            .service_account_token(NS, MANAGER_SA, 3600)
            .expect("SA token");
        let config = Config {
            concurrent: 2,
            check_interval: 1,
            runners: vec![RunnerConfig {
                name: "runner-e2e".into(),
                output_limit: 4096,
                request_concurrency: 1,
                url: self.gitlab.url(),
                token: reg.token,
                executor: "kubernetes".into(),
                kubernetes: Some(KubernetesConfig {
                    host: self.api.url(),
                    ca_file: Some(ca.to_string_lossy().into_owned()),
                    bearer_token: Some(token),
                    image: "ubuntu:16.04".into(),
                    namespace: NS.into(),
                    privileged: true,
                    pull_policy: vec!["if-not-present".into()],
                    poll_interval: 1,
                    poll_timeout: 600,
                    service_account: "gitlab".into(),
                    volumes: harness_runner::config::Volumes {
                        pvc: vec![PvcVolume {
                            name: "gitlab-runner-pvc".into(),
                            mount_path: "/home/cache/maven".into(),
                            read_only: false,
                        }],
                        host_path: vec![HostPathVolume {
                            name: "docker".into(),
                            mount_path: "/var/run/docker.sock".into(),
                            ..Default::default()
                        }],
                        ..Default::default()
                    },
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        };
        let path = self.dir.path().join("runner/config.toml");
        config::save(&path, &config).unwrap();
        path
    }

    async fn shutdown(mut self) {
        if let Some(k) = self.kubelet.take() {
            let _ = k.shutdown().await;
        }
    }
}

fn find_file(root: &Path, name: &str) -> Option<PathBuf> {
    let rd = std::fs::read_dir(root).ok()?;
    for entry in rd.flatten() {
        let p = entry.path();
        if p.is_dir() && !p.is_symlink() {
            if let Some(found) = find_file(&p, name) {
                return Some(found);
            }
        } else if p.file_name().is_some_and(|n| n == name) {
            return Some(p);
        }
    }
    None
}

/// Polls the namespace until a job pod appears; returns its spec as first seen.
async fn first_job_pod(client: &kube::Client, deadline: Instant) -> Pod {
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    loop {
        let list = pods
            .list(&ListParams::default().labels("pod"))
            .await
            .unwrap();
        if let Some(p) = list.items.into_iter().next() {
            return p;
        }
        assert!(Instant::now() < deadline, "no job pod was created");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tutorial_jobs_run_in_pods_and_rbac_denial_reaches_the_trace() {
    let Some(world) = World::start("tutorial_jobs_run_in_pods").await else {
        return;
    };
    let config_path = world.write_runner_config().await;
    let shutdown = Shutdown::default();
    let supervisor = tokio::spawn(Supervisor::new(config_path, shutdown.clone()).run());

    let (project, pipeline) = push_project(
        &world.gitlab,
        world.dir.path(),
        CI,
        &[("deployment.yaml", "image: hello\n")],
    )
    .await;

    // The package job's pod, as the executor builds it.
    let pod = first_job_pod(&world.client, Instant::now() + JOB_TIMEOUT).await;
    let name = pod.metadata.name.clone().unwrap();
    assert!(name.starts_with("runner-"), "{name}");
    assert!(
        name.contains(&format!("-project-{}-concurrent-0", project.id)),
        "{name}"
    );
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels.get("project.runner.gitlab.com/id"),
        Some(&project.id.to_string())
    );
    let spec = pod.spec.unwrap();
    assert_eq!(spec.service_account_name.as_deref(), Some("gitlab"));
    let containers: Vec<_> = spec.containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(containers, ["build", "helper"]);
    let volumes: Vec<_> = spec.volumes.unwrap().into_iter().map(|v| v.name).collect();
    for v in ["gitlab-runner-pvc", "docker", "repo"] {
        assert!(
            volumes.iter().any(|n| n == v),
            "volume {v} missing: {volumes:?}"
        );
    }

    let finished = world
        .gitlab
        .wait_pipeline(pipeline.id, JOB_TIMEOUT)
        .await
        .unwrap();
    let jobs = world.gitlab.jobs(pipeline.id);
    for job in &jobs {
        let trace = world.gitlab.trace(job.id).unwrap_or_default();
        eprintln!("--- trace of {} ({:?})\n{trace}", job.name, job.status);
    }
    assert_eq!(finished.status, Status::Success, "pipeline failed");
    let package = jobs.iter().find(|j| j.name == "maven-package").unwrap();
    let trace = world.gitlab.trace(package.id).unwrap();
    assert!(
        trace.contains("Using Kubernetes namespace: gitlab-runners"),
        "{trace}"
    );
    assert!(trace.contains("docker-socket-mounted"), "{trace}");
    assert!(trace.contains("Job succeeded"), "{trace}");
    let zip = world
        .gitlab
        .artifacts(package.id)
        .await
        .expect("war artifact uploaded");
    let archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    assert!(archive.file_names().any(|n| n == "target/demo.war"));
    let marker = find_file(&world.dir.path().join("apiserver"), "marker")
        .or_else(|| find_file(&world.dir.path().join("kubelet"), "marker"))
        .expect("the Maven cache directory on the PV holds the job's file");
    assert_eq!(std::fs::read_to_string(marker).unwrap(), "cached\n");

    // The deploy job runs as uid 1001 in the kubectl image (ENTRYPOINT overridden) and can
    // edit the checkout the helper made with umask 0000.
    let deploy = jobs.iter().find(|j| j.name == "k8s-deploy").unwrap();
    let trace = world.gitlab.trace(deploy.id).unwrap();
    assert!(trace.contains("uid=1001"), "{trace}");
    assert!(trace.contains("image: deployed"), "{trace}");
    assert!(trace.contains("artifact-downloaded"), "{trace}");

    // Job pods are deleted afterwards.
    let pods: Api<Pod> = Api::namespaced(world.client.clone(), NS);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !pods
        .list(&ListParams::default().labels("pod"))
        .await
        .unwrap()
        .items
        .is_empty()
    {
        assert!(Instant::now() < deadline, "job pods were not deleted");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Without its RoleBinding the manager may not create pods: the job fails, and the trace
    // carries the API server's Forbidden message.
    use k8s_openapi::api::rbac::v1::RoleBinding;
    Api::<RoleBinding>::namespaced(world.client.clone(), NS)
        .delete(MANAGER_SA, &DeleteParams::default())
        .await
        .unwrap();
    let again = world
        .gitlab
        .run_pipeline(&project, "master", &[])
        .await
        .unwrap();
    let failed = world
        .gitlab
        .wait_pipeline(again.id, JOB_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(failed.status, Status::Failed);
    let job = world
        .gitlab
        .jobs(again.id)
        .into_iter()
        .find(|j| j.name == "maven-package")
        .unwrap();
    assert_eq!(job.failure_reason.as_deref(), Some("runner_system_failure"));
    let trace = world.gitlab.trace(job.id).unwrap();
    assert!(trace.to_lowercase().contains("forbidden"), "{trace}");
    assert!(trace.contains(MANAGER_SA), "{trace}");

    shutdown.abort.cancel();
    supervisor.await.unwrap().unwrap();
    world.shutdown().await;
}

const FAILING_CI: &str = r#"stages: [pull, long]
bad-image:
  stage: pull
  image: registry.invalid/no-such-image:1
  tags: [gitlab-runner]
  script:
    - "true"
too-slow:
  stage: pull
  image: ubuntu:16.04
  tags: [gitlab-runner]
  timeout: 15 seconds
  script:
    - sleep 120
long:
  stage: long
  when: always
  image: ubuntu:16.04
  tags: [gitlab-runner]
  script:
    - echo started-long
    - sleep 300
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn image_pull_failure_and_shutdown_are_reported_as_gitlab_shows_them() {
    let Some(world) = World::start("image_pull_failure_and_shutdown").await else {
        return;
    };
    let config_path = world.write_runner_config().await;
    let shutdown = Shutdown::default();
    let supervisor = tokio::spawn(Supervisor::new(config_path, shutdown.clone()).run());
    let (_project, pipeline) = push_project(&world.gitlab, world.dir.path(), FAILING_CI, &[]).await;
    let jobs = world.gitlab.jobs(pipeline.id);
    let bad = jobs.iter().find(|j| j.name == "bad-image").unwrap().id;
    let long = jobs.iter().find(|j| j.name == "long").unwrap().id;

    let failed = world
        .gitlab
        .wait_job_status(bad, Status::Failed, JOB_TIMEOUT)
        .await
        .unwrap();
    let trace = world.gitlab.trace(bad).unwrap();
    eprintln!("--- bad-image trace\n{trace}");
    assert!(
        matches!(
            failed.failure_reason.as_deref(),
            Some("image_pull_failure" | "runner_system_failure")
        ),
        "{:?}",
        failed.failure_reason
    );
    assert!(trace.contains("image pull failed"), "{trace}");
    assert!(
        trace.contains("registry.invalid/no-such-image:1"),
        "{trace}"
    );

    let slow = jobs.iter().find(|j| j.name == "too-slow").unwrap().id;
    let timed_out = world
        .gitlab
        .wait_job_status(slow, Status::Failed, JOB_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(
        timed_out.failure_reason.as_deref(),
        Some("job_execution_timeout")
    );
    let trace = world.gitlab.trace(slow).unwrap();
    assert!(
        trace.contains("execution took longer than 15 seconds"),
        "{trace}"
    );

    // The runner is stopped (SIGTERM) while `long` runs: the job is failed, its pod removed.
    world
        .gitlab
        .wait_for("the long job to start", JOB_TIMEOUT, |h| {
            h.trace(long).filter(|t| t.contains("started-long"))
        })
        .await
        .unwrap();
    shutdown.abort.cancel();
    tokio::time::timeout(Duration::from_secs(120), supervisor)
        .await
        .expect("runner stops after failing its job")
        .unwrap()
        .unwrap();
    let job = world.gitlab.job(long).unwrap();
    assert_eq!(job.status, Status::Failed);
    assert_eq!(job.failure_reason.as_deref(), Some("runner_system_failure"));
    let trace = world.gitlab.trace(long).unwrap();
    assert!(trace.contains("aborted: terminated"), "{trace}");
    let pods: Api<Pod> = Api::namespaced(world.client.clone(), NS);
    assert!(
        pods.list(&ListParams::default().labels("pod"))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    world.shutdown().await;
}
