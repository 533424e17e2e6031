//! End to end: the runner's `run` loop takes jobs from the embedded GitLab and runs them as pods
//! on the embedded API server + kubelet (real Docker containers from the stand-in images).

#[path = "../common/mod.rs"]
mod common;
mod world;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use harness_gitlab::{GitLabHandle, Job, Status};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{DeleteParams, ListParams};
use world::{MANAGER_SA, NS, World};

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
    let (shutdown, supervisor) = world.start_runner().await;

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

/// Waits for job `id` to fail; returns it and its trace (printed, for a failing assertion).
async fn failed_job(gitlab: &GitLabHandle, id: u64) -> (Job, String) {
    let job = gitlab
        .wait_job_status(id, Status::Failed, JOB_TIMEOUT)
        .await
        .unwrap();
    let trace = gitlab.trace(id).unwrap();
    eprintln!("--- trace of {}\n{trace}", job.name);
    (job, trace)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn image_pull_failure_and_shutdown_are_reported_as_gitlab_shows_them() {
    let Some(world) = World::start("image_pull_failure_and_shutdown").await else {
        return;
    };
    let (shutdown, supervisor) = world.start_runner().await;
    let (_project, pipeline) = push_project(&world.gitlab, world.dir.path(), FAILING_CI, &[]).await;
    let jobs = world.gitlab.jobs(pipeline.id);
    let bad = jobs.iter().find(|j| j.name == "bad-image").unwrap().id;
    let long = jobs.iter().find(|j| j.name == "long").unwrap().id;

    let (failed, trace) = failed_job(&world.gitlab, bad).await;
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
    let (timed_out, trace) = failed_job(&world.gitlab, slow).await;
    assert_eq!(
        timed_out.failure_reason.as_deref(),
        Some("job_execution_timeout")
    );
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
