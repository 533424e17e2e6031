//! `harness bench`: the tutorial's pipeline through the harness (push → GitLab → runner → job pods
//! → rollout → HTTP) against the same commands run bare (mvn → docker build → push → kubectl apply
//! → rollout → curl) in the same environment, warm, N times each; prints both and the ratio.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use harness_images::catalog::MAVEN_IMAGE;

use crate::backends::Overrides;
use crate::environment::{Environment, MAVEN_MIRROR_VARIABLE};
use crate::scenario::LoadedScenario;
use crate::scenario::model::DeploymentRef;
use crate::scenario::steps::{RunState, deployment_available, deployment_image, run_action};

/// One measured round.
#[derive(Debug, Clone, Copy)]
pub struct Round {
    /// Through GitLab, the runner and job pods.
    pub harness: Duration,
    /// The same commands run directly.
    pub bare: Duration,
}

/// Runs the benchmark: setup steps of `loaded`, one cold pipeline, then `runs` warm rounds.
pub async fn run(
    loaded: &LoadedScenario,
    runs: u32,
    overrides: &Overrides,
) -> anyhow::Result<Vec<Round>> {
    let say = |line: &str| eprintln!("  · {line}");
    let mut env =
        Environment::start(&loaded.scenario.environment, &loaded.dir, overrides, &say).await?;
    let result = rounds(&mut env, loaded, runs).await;
    env.shutdown().await;
    result
}

async fn rounds(
    env: &mut Environment,
    loaded: &LoadedScenario,
    runs: u32,
) -> anyhow::Result<Vec<Round>> {
    let mut state = RunState::new();
    for step in &loaded.steps {
        if step.action.starts_pipelines() {
            break;
        }
        run_action(env, loaded, &mut state, step)
            .await
            .with_context(|| format!("setup step `{}`", step.name))?;
    }
    eprintln!("  warming up: one pipeline (fills the Maven cache, builds the images)");
    harness_round(env, 0).await?;
    let bare_dir = tempfile::tempdir()?;
    let app = bare_dir.path().join("app");
    crate::environment::git::copy_tree(&crate::paths::repo_root().join("sample-java-app"), &app)?;
    let m2 = bare_dir.path().join("m2");
    std::fs::create_dir_all(&m2)?;
    bare_round(env, &app, &m2, 0).await?;
    let mut results = vec![];
    for run in 1..=runs {
        let harness = harness_round(env, run).await?;
        let bare = bare_round(env, &app, &m2, run).await?;
        eprintln!(
            "  round {run}: harness {:.1}s, bare {:.1}s",
            harness.as_secs_f64(),
            bare.as_secs_f64()
        );
        results.push(Round { harness, bare });
    }
    Ok(results)
}

async fn harness_round(env: &mut Environment, run: u32) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let dir = env.working_copy.dir().to_path_buf();
    if !dir.join(".git").exists() {
        env.working_copy
            .load_source(&crate::paths::repo_root().join("sample-java-app"))?;
    }
    std::fs::write(dir.join("BENCH"), format!("round {run}\n"))?;
    let sha = env
        .working_copy
        .commit_and_push("master", &format!("bench round {run}"))
        .await?;
    let project = env.project.id;
    let gitlab = env.gitlab.clone();
    let id = gitlab
        .wait_until(
            "the pipeline of the pushed commit",
            Duration::from_secs(60),
            || {
                let (gitlab, sha) = (gitlab.clone(), sha.clone());
                async move {
                    Ok(gitlab
                        .pipelines(project, Some(&sha))
                        .await?
                        .first()
                        .map(|p| p.id))
                }
            },
        )
        .await?;
    let pipeline = gitlab
        .wait_pipeline(project, id, Duration::from_secs(900))
        .await?;
    if pipeline.status != "success" {
        bail!("pipeline {id} ended {}", pipeline.status);
    }
    let image = format!("{}/demo/sample-java-app:{}", env.registry.host(), &sha[..8]);
    wait_rollout(env, &image).await?;
    wait_http(env, &sha).await?;
    Ok(started.elapsed())
}

async fn bare_round(
    env: &Environment,
    app: &Path,
    m2: &Path,
    run: u32,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let tag = format!("{}/demo/sample-java-app:bare-{run}", env.registry.host());
    let mirror = format!("{MAVEN_MIRROR_VARIABLE}={}", env.maven.url());
    let label = format!("{}={}", crate::environment::ENV_LABEL, env.id);
    let config = env.state_dir().join("bench-docker-config");
    std::fs::create_dir_all(&config)?;
    let docker = |args: Vec<String>| {
        let config = config.clone();
        async move {
            let out = tokio::process::Command::new("docker")
                .env("DOCKER_CONFIG", &config)
                .args(&args)
                .output()
                .await?;
            if !out.status.success() {
                bail!(
                    "docker {}: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            Ok::<_, anyhow::Error>(())
        }
    };
    let s = |x: &str| x.to_owned();
    docker(vec![
        s("run"),
        s("--rm"),
        s("--label"),
        label.clone(),
        s("--network"),
        s("host"),
        s("-e"),
        mirror,
        s("-v"),
        format!("{}:/build", app.display()),
        s("-v"),
        format!("{}:/m2", m2.display()),
        s("-w"),
        s("/build"),
        s(MAVEN_IMAGE),
        s("mvn"),
        s("-B"),
        s("-q"),
        s("-Dmaven.repo.local=/m2"),
        s("clean"),
        s("package"),
        s("-Dmaven.test.skip=true"),
    ])
    .await?;
    docker(vec![
        s("build"),
        s("-q"),
        s("-t"),
        tag.clone(),
        app.display().to_string(),
    ])
    .await?;
    let credentials = env.registry.credentials();
    docker(vec![
        s("login"),
        env.registry.host(),
        s("-u"),
        credentials.username.clone(),
        s("-p"),
        credentials.password.clone(),
    ])
    .await?;
    docker(vec![s("push"), s("-q"), tag.clone()]).await?;
    let set = env
        .kubectl
        .run(
            &[
                s("set"),
                s("image"),
                s("-n"),
                s("gitlab-runners"),
                s("deployment/sample-java-app"),
                format!("sample-java-app={tag}"),
            ],
            Duration::from_secs(60),
        )
        .await;
    if set.code != 0 {
        bail!("kubectl set image: {}", set.stderr);
    }
    let rollout = env
        .kubectl
        .run(
            &[
                s("rollout"),
                s("status"),
                s("-n"),
                s("gitlab-runners"),
                s("deployment/sample-java-app"),
                s("--timeout=300s"),
            ],
            Duration::from_secs(310),
        )
        .await;
    if rollout.code != 0 {
        bail!("kubectl rollout status: {}", rollout.stderr);
    }
    wait_http(env, "sample-java-app").await?;
    Ok(started.elapsed())
}

async fn wait_rollout(env: &Environment, image: &str) -> anyhow::Result<()> {
    use k8s_openapi::api::apps::v1::Deployment;
    let api: kube::Api<Deployment> = kube::Api::namespaced(env.kube.clone(), "gitlab-runners");
    let rolled =
        kube::runtime::wait::await_condition(api, "sample-java-app", |d: Option<&Deployment>| {
            d.is_some_and(|d| {
                deployment_image(d).as_deref() == Some(image) && deployment_available(d)
            })
        });
    match tokio::time::timeout(Duration::from_secs(300), rolled).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => bail!("watching the deployment: {e}"),
        Err(_) => bail!("deployment did not roll out {image} within 300 s"),
    }
}

async fn wait_http(env: &Environment, expect: &str) -> anyhow::Result<()> {
    let app = DeploymentRef {
        name: "sample-java-app".into(),
        namespace: "gitlab-runners".into(),
    };
    crate::scenario::asserts::wait_answer(env, &app, 8080, "/", expect, Duration::from_secs(120))
        .await
        .map_err(|e| anyhow::anyhow!(e))
}
