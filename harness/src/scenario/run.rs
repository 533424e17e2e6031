//! The scenario engine: bring the environment up, run the steps with their assertions, tear
//! everything down (also on failure, panic and Ctrl-C), report.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::FutureExt;
use tokio_util::sync::CancellationToken;

use super::asserts;
use super::load::LoadedScenario;
use super::report::{JobSummary, Outcome, PipelineSummary, ScenarioReport, StepReport};
use super::steps::{RunState, run_action};
use crate::backends::{BackendError, Overrides};
use crate::environment::Environment;
use crate::progress::Spinner;

/// How to run scenarios.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Keep the state directory even when the scenario passes.
    pub keep: bool,
    /// Print one line per step as it finishes (stderr).
    pub progress: bool,
    /// Where to write the pipeline picture and failed jobs' traces.
    pub report_dir: Option<PathBuf>,
    /// Backend choices for every scenario (command line, `HARNESS_*` variables).
    pub overrides: Overrides,
}

/// Runs one scenario to the end and reports. Never panics on a failing step; a panic inside a
/// step is caught, reported, and the environment is still torn down.
pub async fn run_scenario(
    loaded: &LoadedScenario,
    options: &RunOptions,
    cancel: CancellationToken,
) -> ScenarioReport {
    let started = Instant::now();
    let mut report = ScenarioReport {
        name: loaded.name.clone(),
        file: loaded.path.clone(),
        outcome: Outcome::Passed,
        steps: vec![],
        pipelines: vec![],
        duration: Duration::ZERO,
        kept_state: None,
        described: vec![],
        teardown: vec![],
    };
    if options.progress {
        eprintln!("▶ {} ({})", loaded.name, loaded.path.display());
    }
    let spinner = options
        .progress
        .then(|| Spinner::start(2, "starting the environment"));
    let say = |line: &str| {
        if let Some(spinner) = &spinner {
            spinner.set_message(format!("starting the environment: {line}"));
        }
    };
    let env = tokio::select! {
        env = Environment::start(&loaded.scenario.environment, &loaded.dir, &options.overrides, &say) => env,
        _ = cancel.cancelled() => {
            report.outcome = Outcome::Failed("interrupted while starting the environment".into());
            return report;
        }
    };
    let mut env = match env {
        Ok(env) => env,
        Err(e) => {
            report.outcome = match e.downcast_ref::<BackendError>() {
                Some(BackendError::NotApplicable { .. }) => Outcome::Skipped(e.to_string()),
                Some(BackendError::Unavailable { .. }) => Outcome::Unavailable(e.to_string()),
                _ => Outcome::Failed(format!("the environment did not start: {e:#}")),
            };
            report.duration = started.elapsed();
            return report;
        }
    };
    report.described = env.described.clone();
    if let Some(spinner) = spinner {
        spinner.finish();
        eprintln!(
            "  environment {} up in {:.1}s; state and log: {}",
            env.id,
            started.elapsed().as_secs_f64(),
            env.state_dir().join(crate::logging::LOG_FILE).display()
        );
        eprintln!("  export KUBECONFIG={}", env.kubeconfig().display());
    }

    let mut state = RunState::new();
    let mut failure: Option<(String, String)> = None;
    for step in &loaded.steps {
        let name = step.name.clone();
        if failure.is_some() {
            report.steps.push(StepReport {
                name,
                outcome: Outcome::Skipped("an earlier step failed".into()),
                duration: Duration::ZERO,
                assertions: vec![],
                output: String::new(),
            });
            continue;
        }
        let step_started = Instant::now();
        let spinner = options.progress.then(|| Spinner::start(2, name.clone()));
        let action = std::panic::AssertUnwindSafe(run_action(&mut env, loaded, &mut state, step))
            .catch_unwind();
        let result = tokio::select! {
            result = action => match result {
                Ok(result) => result.map_err(|e| format!("{e:#}")),
                Err(panic) => Err(format!("the step panicked: {}", panic_message(&panic))),
            },
            _ = cancel.cancelled() => Err("interrupted (Ctrl-C)".into()),
        };
        let (mut outcome, output) = match result {
            Ok(output) => (Outcome::Passed, output),
            Err(message) => (Outcome::Failed(message), String::new()),
        };
        let mut assertions = vec![];
        if outcome.passed() {
            for assertion in &step.checks {
                let checked = asserts::check(&env, &state, assertion).await;
                if let Outcome::Failed(message) = &checked.outcome
                    && outcome.passed()
                {
                    outcome = Outcome::Failed(format!(
                        "assertion failed: {}: {message}",
                        checked.description
                    ));
                }
                assertions.push(checked);
            }
        }
        if let Some(spinner) = spinner {
            spinner.finish();
            let mark = if outcome.passed() { "✓" } else { "✗" };
            eprintln!(
                "  {mark} {name} ({:.1}s)",
                step_started.elapsed().as_secs_f64()
            );
            if let Outcome::Failed(message) = &outcome {
                eprintln!("      {}", message.replace('\n', "\n      "));
            }
        }
        if let Outcome::Failed(message) = &outcome {
            failure = Some((name.clone(), message.clone()));
        }
        report.steps.push(StepReport {
            name,
            outcome,
            duration: step_started.elapsed(),
            assertions,
            output,
        });
    }

    report.pipelines = summarize_pipelines(&env, &state).await;
    report.outcome = match (&failure, &loaded.scenario.expect_failure) {
        (None, None) => Outcome::Passed,
        (Some((_, message)), None) => Outcome::Failed(message.clone()),
        (None, Some(expect)) => Outcome::Failed(format!(
            "expected step `{}` to fail, but every step passed",
            expect.step
        )),
        (Some((step, message)), Some(expect)) => {
            let text_ok = expect
                .message_contains
                .as_ref()
                .is_none_or(|t| message.contains(t.as_str()));
            if step == &expect.step && text_ok {
                Outcome::Passed
            } else {
                Outcome::Failed(format!(
                    "expected step `{}` to fail{}, but `{step}` failed: {message}",
                    expect.step,
                    expect
                        .message_contains
                        .as_ref()
                        .map(|t| format!(" with {t:?}"))
                        .unwrap_or_default()
                ))
            }
        }
    };
    if let Some(dir) = &options.report_dir
        && let Err(e) = crate::report::write_scenario_files(dir, &report)
    {
        tracing::warn!(error = %e, "could not write the report files");
    }
    if options.keep || !report.outcome.passed() {
        report.kept_state = Some(env.keep_state());
    }
    let teardown_started = Instant::now();
    let spinner = options
        .progress
        .then(|| Spinner::start(2, "tearing the environment down"));
    report.teardown = env.shutdown().await;
    if let Some(spinner) = spinner {
        spinner.finish();
        eprintln!(
            "  environment torn down in {:.1}s",
            teardown_started.elapsed().as_secs_f64()
        );
        for line in &report.teardown {
            eprintln!("    {line}");
        }
    }
    report.duration = started.elapsed();
    report
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// The scenario's pipelines with their jobs, read through GitLab's API.
async fn summarize_pipelines(env: &Environment, state: &RunState) -> Vec<PipelineSummary> {
    let project = env.project.id;
    let mut summaries = vec![];
    for id in &state.all_pipelines {
        let Ok(pipeline) = env.gitlab.pipeline(project, *id).await else {
            continue;
        };
        let jobs = env.gitlab.jobs(project, *id).await.unwrap_or_default();
        let mut stages: Vec<(String, Vec<JobSummary>)> = vec![];
        // GitLab lists jobs newest first.
        for job in jobs.iter().rev() {
            let trace = if job.status == "failed" {
                env.gitlab.trace(project, job.id).await.ok()
            } else {
                None
            };
            let summary = JobSummary {
                id: job.id,
                name: job.name.clone(),
                status: job.status.clone(),
                seconds: job.seconds(),
                failure_reason: job.failure_reason.clone(),
                trace_tail: trace.as_deref().map(|t| crate::process::tail(t, 30)),
                trace,
            };
            match stages.iter_mut().find(|(name, _)| name == &job.stage) {
                Some((_, list)) => list.push(summary),
                None => stages.push((job.stage.clone(), vec![summary])),
            }
        }
        summaries.push(PipelineSummary {
            id: pipeline.id,
            git_ref: pipeline.git_ref,
            sha: pipeline.sha,
            status: pipeline.status,
            stages,
        });
    }
    summaries
}
