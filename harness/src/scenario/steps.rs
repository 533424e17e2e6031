//! Carrying out one step's action against a running [`Environment`].

use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use harness_chart::ChartVersion;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{DeleteParams, ListParams};

use super::load::LoadedScenario;
use super::model::{
    Action, CommandExpect, FaultStep, LintStep, RunPipelineStep, ScenarioStep, UpgradeCheckStep,
};
use crate::environment::Environment;
use crate::environment::kubectl::{CommandOutput, split_words};
use crate::helm::EnvHelm;

mod chart;
mod edit;
mod wait;

use chart::apply_chart;
use edit::apply_edit;
use wait::run_wait;
pub use wait::{deployment_available, deployment_image};

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
    /// How many chart steps ran (numbers the chart directories given to Helm).
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

    /// Records pipelines a step started: to be waited for, and for the report.
    fn started(&mut self, ids: &[u64]) {
        self.pending_pipelines.extend(ids);
        self.all_pipelines.extend(ids);
    }
}

impl Default for RunState {
    fn default() -> Self {
        Self::new()
    }
}

/// Runs the step's action; returns output worth showing.
pub async fn run_action(
    env: &mut Environment,
    loaded: &LoadedScenario,
    state: &mut RunState,
    step: &ScenarioStep,
) -> anyhow::Result<String> {
    let timeout = step.timeout;
    let deadline = Instant::now() + timeout;
    match &step.action {
        Action::Kubectl(expect) => {
            let kubectl = env.kubectl.in_dir(&loaded.dir);
            run_client(env, expect, async |words| {
                Ok(kubectl.run(&words, timeout).await)
            })
            .await
        }
        Action::Helm(expect) => {
            let helm = EnvHelm::for_env(env, &loaded.dir).await?;
            run_client(env, expect, async |words| {
                Ok(helm.run(&words, timeout).await)
            })
            .await
        }
        Action::InstallChart(chart) | Action::UpgradeChart(chart) => {
            apply_chart(env, loaded, state, chart, deadline).await
        }
        Action::Push(push) => push_source(env, loaded, state, push, deadline).await,
        Action::RunPipeline(run) => run_pipeline(env, state, run).await,
        Action::Wait(wait) => run_wait(env, state, wait, deadline).await,
        Action::Lint(lint) => run_lint(env, loaded, state, lint).await,
        Action::Fault(FaultStep::StopRegistry) => {
            env.registry.stop().await;
            Ok("registry stopped".into())
        }
        Action::Fault(FaultStep::KillRunnerPod) => kill_runner_pod(env, loaded).await,
        Action::CreateRunner(runner) => create_runner(env, runner).await,
        Action::UpgradeCheck(check) => upgrade_check(loaded, state, check).await,
    }
}

async fn push_source(
    env: &mut Environment,
    loaded: &LoadedScenario,
    state: &mut RunState,
    push: &super::model::PushStep,
    deadline: Instant,
) -> anyhow::Result<String> {
    {
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
        let project = env.project.id;
        let gitlab = env.gitlab.clone();
        let found = gitlab
            .wait_until(
                "a pipeline for the pushed commit",
                remaining(deadline),
                || {
                    let (gitlab, sha) = (gitlab.clone(), sha.clone());
                    async move {
                        let ids: Vec<u64> = gitlab
                            .pipelines(project, Some(&sha))
                            .await?
                            .into_iter()
                            .map(|p| p.id)
                            .rev()
                            .collect();
                        Ok((!ids.is_empty()).then_some(ids))
                    }
                },
            )
            .await;
        match found {
            Ok(ids) => {
                state.started(&ids);
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
        }
    }
}

/// GitLab's current registration flow: the runner is created in GitLab, and the runner process
/// only verifies its authentication token.
async fn create_runner(
    env: &mut Environment,
    runner: &super::model::CreateRunnerStep,
) -> anyhow::Result<String> {
    let description = runner
        .description
        .clone()
        .unwrap_or_else(|| format!("created by {}", env.id));
    let (id, token) = env
        .gitlab
        .create_project_runner(env.project.id, &description, &runner.tags)
        .await?;
    env.vars.set("runner.id", id.to_string());
    env.vars.set("runner.token", token.clone());
    Ok(format!(
        "runner #{id} created; authentication token {}…",
        token.chars().take(9).collect::<String>()
    ))
}

async fn run_pipeline(
    env: &mut Environment,
    state: &mut RunState,
    run: &RunPipelineStep,
) -> anyhow::Result<String> {
    let mut ids = vec![];
    let variables: Vec<(String, String)> = run
        .variables
        .iter()
        .map(|(k, v)| Ok((k.clone(), env.vars.expand(v)?)))
        .collect::<Result<_, String>>()
        .map_err(|e| anyhow!(e))?;
    for _ in 0..run.count.unwrap_or(1) {
        let pipeline = env
            .gitlab
            .create_pipeline(env.project.id, &run.git_ref, &variables)
            .await?;
        ids.push(pipeline.id);
    }
    state.started(&ids);
    Ok(format!("started pipeline(s) {ids:?} on {}", run.git_ref))
}

/// GitLab's own lint of the file, in the project's context (`POST /projects/:id/ci/lint`).
async fn run_lint(
    env: &Environment,
    loaded: &LoadedScenario,
    state: &mut RunState,
    lint: &LintStep,
) -> anyhow::Result<String> {
    let path = loaded.dir.join(&lint.file);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let answer = env.gitlab.lint(env.project.id, &text).await?;
    let errors = if answer.valid { vec![] } else { answer.errors };
    let output = if errors.is_empty() {
        "valid".to_owned()
    } else {
        errors.join("\n")
    };
    state.last_lint = Some(errors);
    Ok(output)
}

async fn upgrade_check(
    loaded: &LoadedScenario,
    state: &mut RunState,
    check: &UpgradeCheckStep,
) -> anyhow::Result<String> {
    let helm = crate::helm::built().await?;
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
    let findings = tokio::task::spawn_blocking(move || {
        harness_chart::upgrade_check_file(&helm, &values, &from, &to, &manifests)
    })
    .await??;
    state.last_findings = findings.iter().map(|f| f.to_string()).collect();
    Ok(state.last_findings.join("\n"))
}

fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

/// A client step (`kubectl`, `helm`): its arguments expanded and split as a shell would, run by
/// `run`, the outcome checked against the step's expectations.
async fn run_client(
    env: &Environment,
    expect: &CommandExpect,
    run: impl AsyncFnOnce(Vec<String>) -> anyhow::Result<CommandOutput>,
) -> anyhow::Result<String> {
    let args = env.vars.expand(&expect.args).map_err(|e| anyhow!(e))?;
    let words = split_words(&args).map_err(|e| anyhow!(e))?;
    let output = run(words).await?;
    let shown = output.shown();
    check_command(expect, &output, &env.vars).map_err(|e| anyhow!("{e}\n{shown}"))?;
    Ok(shown)
}

/// Checks what a command did against its expectations (shared by the steps and the assertion).
pub(crate) fn check_command(
    expect: &CommandExpect,
    output: &CommandOutput,
    vars: &super::vars::Vars,
) -> Result<(), String> {
    let want = expect.exit_code.unwrap_or(0);
    if output.code != want {
        return Err(format!(
            "`{}` exited with {} (expected {want})",
            output.command, output.code
        ));
    }
    let streams = [
        ("stdout", &output.stdout, &expect.stdout_contains),
        ("stderr", &output.stderr, &expect.stderr_contains),
    ];
    for (stream, got, wanted) in streams {
        for text in wanted {
            let text = vars.expand(text)?;
            if !got.contains(&text) {
                return Err(format!(
                    "{stream} of `{}` does not contain {text:?}",
                    output.command
                ));
            }
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

async fn kill_runner_pod(env: &Environment, loaded: &LoadedScenario) -> anyhow::Result<String> {
    let namespace = &loaded.scenario.environment.runner.namespace;
    let pods: Api<Pod> = Api::namespaced(env.kube.clone(), namespace);
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
