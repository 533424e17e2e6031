//! Carrying out one step's action against a running [`Environment`].

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use harness_chart::{ChartVersion, RenderOptions, ValuesInput};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{DeleteParams, ListParams};

use super::load::{LoadedScenario, parse_duration};
use super::model::{
    ChartStep, DeploymentRef, FaultStep, KubectlExpect, KubectlStep, Step, WaitName, WaitStep,
};
use crate::environment::Environment;
use crate::environment::kubectl::split_words;

/// State carried from step to step.
pub struct RunState {
    /// Pipelines started and not yet waited for.
    pub pending_pipelines: Vec<u64>,
    /// Pipelines of the last `wait: pipelines`, oldest first.
    pub last_pipelines: Vec<u64>,
    /// Every pipeline the scenario started.
    pub all_pipelines: Vec<u64>,
    /// Errors of the last `lint` step (empty: it passed).
    pub last_lint: Option<Vec<String>>,
    /// Findings of the last `upgrade_check` step.
    pub last_findings: Vec<String>,
    /// How many chart renders were applied (names the rendered files).
    pub chart_revision: u32,
}

impl RunState {
    /// Nothing run yet.
    pub fn new() -> Self {
        Self {
            pending_pipelines: vec![],
            last_pipelines: vec![],
            all_pipelines: vec![],
            last_lint: None,
            last_findings: vec![],
            chart_revision: 0,
        }
    }
}

impl Default for RunState {
    fn default() -> Self {
        Self::new()
    }
}

/// The default deadline of each action.
pub fn default_timeout(step: &Step) -> Duration {
    let seconds = if step.wait.is_some() {
        900
    } else if step.install_chart.is_some() || step.upgrade_chart.is_some() {
        300
    } else if step.push.is_some() {
        120
    } else {
        60
    };
    Duration::from_secs(seconds)
}

/// Runs the step's action; returns output worth showing.
pub async fn run_action(
    env: &mut Environment,
    loaded: &LoadedScenario,
    state: &mut RunState,
    step: &Step,
) -> anyhow::Result<String> {
    let timeout = match &step.timeout {
        Some(t) => parse_duration(t).map_err(|e| anyhow!(e))?,
        None => default_timeout(step),
    };
    let deadline = Instant::now() + timeout;
    if let Some(kubectl) = &step.kubectl {
        let expect = match kubectl {
            KubectlStep::Args(args) => KubectlExpect {
                args: args.clone(),
                exit_code: None,
                stdout_contains: vec![],
                stderr_contains: vec![],
                stdout_equals: None,
            },
            KubectlStep::Full(expect) => expect.clone(),
        };
        return run_kubectl(env, loaded, &expect, timeout).await;
    }
    if let Some(chart) = &step.install_chart {
        return apply_chart(env, loaded, state, chart, deadline).await;
    }
    if let Some(chart) = &step.upgrade_chart {
        return apply_chart(env, loaded, state, chart, deadline).await;
    }
    if let Some(push) = &step.push {
        let source = match &push.source {
            Some(source) => loaded
                .dir
                .join(env.vars.expand(source).map_err(|e| anyhow!(e))?),
            None => crate::paths::repo_root().join("sample-java-app"),
        };
        let first = !env.working_copy.dir().join(".git").exists();
        if first || push.source.is_some() {
            env.working_copy
                .load_source(&source)
                .with_context(|| format!("copying {} into the working copy", source.display()))?;
        }
        for edit in &push.edit {
            apply_edit(env.working_copy.dir(), &loaded.dir, edit, &env.vars)?;
        }
        let message = push
            .message
            .clone()
            .unwrap_or_else(|| format!("Push to {}", push.git_ref));
        let sha = env
            .working_copy
            .commit_and_push(&push.git_ref, &message)
            .await?;
        env.vars.set("push.sha", sha.clone());
        env.vars
            .set("push.short_sha", sha[..8.min(sha.len())].to_owned());
        let project = env.project.clone();
        let found = env
            .gitlab
            .wait_for(
                "a pipeline for the pushed commit",
                remaining(deadline),
                move |g| {
                    let ids: Vec<u64> = g
                        .pipelines(&project)
                        .into_iter()
                        .filter(|p| p.sha == sha)
                        .map(|p| p.id)
                        .collect();
                    (!ids.is_empty()).then_some(ids)
                },
            )
            .await;
        return match found {
            Ok(ids) => {
                state.pending_pipelines.extend(&ids);
                state.all_pipelines.extend(&ids);
                Ok(format!(
                    "pushed {} to {}; pipeline(s) {ids:?}",
                    &env.vars.get("push.short_sha").unwrap_or_default(),
                    push.git_ref
                ))
            }
            Err(_) => Ok(format!(
                "pushed to {}; no pipeline was created",
                push.git_ref
            )),
        };
    }
    if let Some(run) = &step.run_pipeline {
        let mut ids = vec![];
        let variables: Vec<(String, String)> = run
            .variables
            .iter()
            .map(|(k, v)| Ok((k.clone(), env.vars.expand(v)?)))
            .collect::<Result<_, String>>()
            .map_err(|e| anyhow!(e))?;
        let refs: Vec<(&str, &str)> = variables
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        for _ in 0..run.count.unwrap_or(1) {
            let pipeline = env
                .gitlab
                .run_pipeline(&env.project, &run.git_ref, &refs)
                .await?;
            ids.push(pipeline.id);
        }
        state.pending_pipelines.extend(&ids);
        state.all_pipelines.extend(&ids);
        return Ok(format!("started pipeline(s) {ids:?} on {}", run.git_ref));
    }
    if let Some(wait) = &step.wait {
        return run_wait(env, state, wait, deadline).await;
    }
    if let Some(lint) = &step.lint {
        let path = loaded.dir.join(&lint.file);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let file = path.display().to_string();
        let errors: Vec<String> = match harness_gitlab::lint::lint_str(&text, &file) {
            Ok(_) => vec![],
            Err(errors) => errors.iter().map(|e| e.to_string()).collect(),
        };
        let output = if errors.is_empty() {
            "valid".to_owned()
        } else {
            errors.join("\n")
        };
        state.last_lint = Some(errors);
        return Ok(output);
    }
    if let Some(fault) = &step.fault {
        return match fault {
            FaultStep::StopRegistry => {
                env.registry.stop().await;
                Ok("registry stopped".into())
            }
            FaultStep::KillRunnerPod => kill_runner_pod(env, loaded).await,
        };
    }
    if let Some(check) = &step.upgrade_check {
        let values = loaded.dir.join(&check.values);
        let from: ChartVersion = check
            .from
            .parse()
            .map_err(|e| anyhow!("upgrade_check.from: {e}"))?;
        let to: ChartVersion = check
            .to
            .parse()
            .map_err(|e| anyhow!("upgrade_check.to: {e}"))?;
        let mut manifests = harness_chart::Manifests {
            release_name: loaded.scenario.environment.runner.release.clone(),
            namespace: loaded.scenario.environment.runner.namespace.clone(),
            apply_tutorial_patch: loaded.scenario.environment.runner.tutorial_patch,
            ..Default::default()
        };
        for manifest in &check.manifests {
            let path = loaded.dir.join(manifest);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            manifests.files.push((path.display().to_string(), text));
        }
        let findings = harness_chart::upgrade_check_file(&values, &from, &to, &manifests)?;
        state.last_findings = findings.iter().map(|f| f.to_string()).collect();
        return Ok(state.last_findings.join("\n"));
    }
    bail!("the step has no action")
}

fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

async fn run_kubectl(
    env: &Environment,
    loaded: &LoadedScenario,
    expect: &KubectlExpect,
    timeout: Duration,
) -> anyhow::Result<String> {
    let args = env.vars.expand(&expect.args).map_err(|e| anyhow!(e))?;
    let words = split_words(&args).map_err(|e| anyhow!(e))?;
    let output = env.kubectl.in_dir(&loaded.dir).run(&words, timeout).await;
    let shown = format!("$ {}\n{}{}", output.command, output.stdout, output.stderr);
    check_kubectl(expect, &output, &env.vars).map_err(|e| anyhow!("{e}\n{shown}"))?;
    Ok(shown)
}

/// Checks a kubectl result against expectations (shared by the step and the assertion).
pub fn check_kubectl(
    expect: &KubectlExpect,
    output: &crate::environment::kubectl::KubectlOutput,
    vars: &super::vars::Vars,
) -> Result<(), String> {
    let want = expect.exit_code.unwrap_or(0);
    if output.code != want {
        return Err(format!(
            "`{}` exited with {} (expected {want})",
            output.command, output.code
        ));
    }
    for text in &expect.stdout_contains {
        let text = vars.expand(text)?;
        if !output.stdout.contains(&text) {
            return Err(format!(
                "stdout of `{}` does not contain {text:?}",
                output.command
            ));
        }
    }
    for text in &expect.stderr_contains {
        let text = vars.expand(text)?;
        if !output.stderr.contains(&text) {
            return Err(format!(
                "stderr of `{}` does not contain {text:?}",
                output.command
            ));
        }
    }
    if let Some(equals) = &expect.stdout_equals {
        let equals = vars.expand(equals)?;
        if output.stdout.trim() != equals.trim() {
            return Err(format!(
                "stdout of `{}` is {:?}, expected {equals:?}",
                output.command,
                output.stdout.trim()
            ));
        }
    }
    Ok(())
}

fn apply_edit(
    dir: &Path,
    scenario_dir: &Path,
    edit: &super::model::FileEdit,
    vars: &super::vars::Vars,
) -> anyhow::Result<()> {
    let path = dir.join(&edit.file);
    if let Some(from) = &edit.copy_from {
        let from = scenario_dir.join(from);
        std::fs::copy(&from, &path)
            .with_context(|| format!("copying {} to {}", from.display(), path.display()))?;
        return Ok(());
    }
    if let Some(content) = &edit.content {
        let content = vars.expand(content).map_err(|e| anyhow!(e))?;
        std::fs::write(&path, content).with_context(|| format!("writing {}", path.display()))?;
        return Ok(());
    }
    let (Some(from), Some(to)) = (&edit.replace, &edit.with) else {
        bail!(
            "edit of {}: give `content`, `copy_from`, or `replace` with `with`",
            edit.file
        );
    };
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    if !text.contains(from.as_str()) {
        bail!(
            "edit of {}: the text {from:?} is not in the file",
            edit.file
        );
    }
    let to = vars.expand(to).map_err(|e| anyhow!(e))?;
    std::fs::write(&path, text.replacen(from.as_str(), &to, 1))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

async fn apply_chart(
    env: &mut Environment,
    loaded: &LoadedScenario,
    state: &mut RunState,
    step: &ChartStep,
    deadline: Instant,
) -> anyhow::Result<String> {
    let runner = &loaded.scenario.environment.runner;
    let chart_name = step.chart.clone().unwrap_or_else(|| runner.chart.clone());
    let chart: ChartVersion = chart_name
        .parse()
        .map_err(|e| anyhow!("chart `{chart_name}`: {e}"))?;
    let values_file: Option<PathBuf> = step
        .values
        .as_ref()
        .or(runner.values.as_ref())
        .map(|v| loaded.dir.join(v));
    let mut options = RenderOptions::tutorial();
    options.chart = chart;
    options.release_name = runner.release.clone();
    options.namespace = runner.namespace.clone();
    options.apply_tutorial_patch = runner.tutorial_patch;
    for (key, value) in runner.set.iter().chain(step.set.iter()) {
        let value = env
            .vars
            .expand(value)
            .map_err(|e| anyhow!("set {key}: {e}"))?;
        options.set.push((key.clone(), value));
    }
    let text = match &values_file {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        }
        None => String::new(),
    };
    let file_name = values_file
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "(no values file)".into());
    let rendered = harness_chart::render(&ValuesInput::yaml(&text, &file_name), &options)?;
    state.chart_revision += 1;
    let rendered_path = env
        .state_dir()
        .join("chart")
        .join(format!("{}-{}.yaml", runner.release, state.chart_revision));
    std::fs::create_dir_all(rendered_path.parent().unwrap_or(env.state_dir()))?;
    std::fs::write(&rendered_path, &rendered.yaml)?;
    let runners_before = env.gitlab.runners().len();
    let args = vec![
        "apply".to_owned(),
        "-n".to_owned(),
        runner.namespace.clone(),
        "-f".to_owned(),
        rendered_path.display().to_string(),
    ];
    let output = env.kubectl.run(&args, remaining(deadline)).await;
    if output.code != 0 {
        bail!(
            "{} failed:\n{}{}",
            output.command,
            output.stdout,
            output.stderr
        );
    }
    let mut shown = format!("$ {}\n{}", output.command, output.stdout);
    if step.wait_registered.unwrap_or(true) {
        let registered = env
            .gitlab
            .wait_for("the runner to register", remaining(deadline), move |g| {
                (g.runners().len() > runners_before).then_some(())
            })
            .await;
        if registered.is_err() {
            let pods = env
                .kubectl
                .run(
                    &[
                        "get".into(),
                        "pods".into(),
                        "-n".into(),
                        runner.namespace.clone(),
                        "-o".into(),
                        "wide".into(),
                    ],
                    Duration::from_secs(20),
                )
                .await;
            bail!(
                "no runner registered with GitLab within the deadline after installing the chart.\n{}{}",
                pods.stdout,
                pods.stderr
            );
        }
        shown.push_str("runner registered with GitLab\n");
    }
    Ok(shown)
}

async fn kill_runner_pod(env: &Environment, loaded: &LoadedScenario) -> anyhow::Result<String> {
    let namespace = &loaded.scenario.environment.runner.namespace;
    let pods: Api<Pod> = Api::namespaced(env.client.clone(), namespace);
    let list = pods.list(&ListParams::default()).await?;
    let mut killed = vec![];
    for pod in list.items {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let is_runner = pod
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("app"))
            .is_some_and(|app| app.contains("gitlab-runner"));
        if is_runner {
            pods.delete(&name, &DeleteParams::default()).await?;
            killed.push(name);
        }
    }
    if killed.is_empty() {
        bail!("no runner pod (label app=…gitlab-runner) in namespace {namespace}");
    }
    Ok(format!("deleted runner pod(s): {}", killed.join(", ")))
}

async fn run_wait(
    env: &mut Environment,
    state: &mut RunState,
    wait: &WaitStep,
    deadline: Instant,
) -> anyhow::Result<String> {
    match wait {
        WaitStep::Named(WaitName::Pipelines) => {
            if state.pending_pipelines.is_empty() {
                bail!("no pipeline was started since the last wait: push or run_pipeline first");
            }
            let ids = std::mem::take(&mut state.pending_pipelines);
            let mut lines = vec![];
            for id in &ids {
                let pipeline = env
                    .gitlab
                    .wait_pipeline(*id, remaining(deadline))
                    .await
                    .with_context(|| format!("waiting for pipeline {id}"))?;
                lines.push(format!(
                    "pipeline {id} ({}) {}",
                    pipeline.ref_name,
                    pipeline.status.as_str()
                ));
                env.vars.set("pipeline.id", id.to_string());
                env.vars.set("pipeline.sha", pipeline.sha.clone());
                env.vars.set(
                    "pipeline.short_sha",
                    pipeline.sha[..8.min(pipeline.sha.len())].to_owned(),
                );
                env.vars.set("pipeline.ref", pipeline.ref_name.clone());
            }
            state.last_pipelines = ids;
            Ok(lines.join("\n"))
        }
        WaitStep::Named(WaitName::RunnerOnline) => {
            env.gitlab
                .wait_for("a runner to contact GitLab", remaining(deadline), |g| {
                    g.runners()
                        .into_iter()
                        .find(|r| r.contacted_at.is_some())
                        .map(|_| ())
                })
                .await?;
            Ok("a runner is online".into())
        }
        WaitStep::DeploymentAvailable {
            deployment_available: DeploymentRef { name, namespace },
        } => {
            let api: Api<Deployment> = Api::namespaced(env.client.clone(), namespace);
            loop {
                if let Ok(deployment) = api.get(name).await
                    && deployment_available(&deployment)
                {
                    return Ok(format!("deployment {namespace}/{name} is Available"));
                }
                if Instant::now() >= deadline {
                    bail!("deployment {namespace}/{name} did not become Available in time");
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
}

/// Whether a Deployment has its `Available` condition and all replicas updated.
pub fn deployment_available(deployment: &Deployment) -> bool {
    let Some(status) = &deployment.status else {
        return false;
    };
    let generation_seen = status.observed_generation >= deployment.metadata.generation;
    let available = status.conditions.as_ref().is_some_and(|c| {
        c.iter()
            .any(|c| c.type_ == "Available" && c.status == "True")
    });
    let wanted = deployment
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or(1);
    generation_seen && available && status.updated_replicas.unwrap_or(0) >= wanted
}
