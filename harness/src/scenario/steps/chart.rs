//! The `install_chart` / `upgrade_chart` actions: the harness's checks of the values, `helm
//! upgrade --install` of the materialised chart, then the wait for the runner to register.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use harness_chart::{ChartVersion, RenderOptions, ValuesInput};

use super::{RunState, remaining};
use crate::environment::Environment;
use crate::helm::EnvHelm;
use crate::scenario::load::LoadedScenario;
use crate::scenario::model::ChartStep;

/// Installs or upgrades the release of `environment.runner` with the overrides of `step`.
pub(super) async fn apply_chart(
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
    let checked = harness_chart::check_values(&ValuesInput::yaml(&text, &file_name), &options)?;
    state.chart_revision += 1;
    let work = env
        .state_dir()
        .join("chart")
        .join(state.chart_revision.to_string());
    let chart_dir = options
        .chart
        .materialise(&work, options.apply_tutorial_patch)?;
    env.vars.set("chart.dir", chart_dir.display().to_string());
    let mut args: Vec<String> = vec![
        "upgrade".into(),
        "--install".into(),
        options.release_name.clone(),
        chart_dir.display().to_string(),
        "--namespace".into(),
        options.namespace.clone(),
    ];
    if let Some(path) = &values_file {
        let path =
            std::path::absolute(path).with_context(|| format!("resolving {}", path.display()))?;
        args.extend(["-f".into(), path.display().to_string()]);
    }
    for (key, value) in &options.set {
        args.extend(["--set".into(), format!("{key}={value}")]);
    }
    let helm = EnvHelm::for_env(env, &loaded.dir).await?;
    // Runners known before, and whether each was online: registration (a registration token)
    // makes a new one; verification (a runner authentication token) brings an existing one online.
    let runners_before: Vec<(u64, bool)> = env
        .new_runners()
        .await?
        .iter()
        .map(|r| (r.id, r.status.as_deref() == Some("online")))
        .collect();
    let output = helm.run(&args, remaining(deadline)).await;
    if output.code != 0 {
        bail!(
            "{} failed:\n{}{}",
            output.command,
            output.stdout,
            output.stderr
        );
    }
    let mut shown = String::new();
    for warning in &checked.warnings {
        shown.push_str(&format!("warning: {warning}\n"));
    }
    shown.push_str(&format!(
        "$ {}\n{}{}",
        output.command, output.stdout, output.stderr
    ));
    if step.wait_registered.unwrap_or(true) {
        let env_ref: &Environment = env;
        // A runner that was not there before: an upgrade that replaces the runner's pod also
        // unregisters the old one (the chart's preStop hook), so counting would not tell.
        let registered = env_ref
            .gitlab
            .wait_until("the runner to register", remaining(deadline), || async {
                let now = env_ref.new_runners().await?;
                Ok(now
                    .iter()
                    .any(|r| {
                        let online = r.status.as_deref() == Some("online");
                        match runners_before.iter().find(|(id, _)| *id == r.id) {
                            None => true,
                            Some((_, was_online)) => online && !was_online,
                        }
                    })
                    .then_some(()))
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
                "no runner registered with GitLab within the deadline after `helm upgrade --install`.\n{}{}",
                pods.stdout,
                pods.stderr
            );
        }
        shown.push_str("runner registered with GitLab\n");
    }
    Ok(shown)
}
