//! The `install_chart` / `upgrade_chart` actions: render the chart, apply it, wait for the runner
//! to register.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use harness_chart::{ChartVersion, RenderOptions, ValuesInput};

use super::{RunState, remaining};
use crate::environment::Environment;
use crate::scenario::load::LoadedScenario;
use crate::scenario::model::ChartStep;

/// Renders and applies the chart of `step` (on top of `environment.runner`).
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
    let rendered = harness_chart::render(&ValuesInput::yaml(&text, &file_name), &options)?;
    state.chart_revision += 1;
    let rendered_path = env
        .state_dir()
        .join("chart")
        .join(format!("{}-{}.yaml", runner.release, state.chart_revision));
    std::fs::create_dir_all(rendered_path.parent().unwrap_or(env.state_dir()))?;
    std::fs::write(&rendered_path, &rendered.yaml)?;
    let runners_before = env.new_runners().await?.len();
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
        let env_ref: &Environment = env;
        let registered = env_ref
            .gitlab
            .wait_until("the runner to register", remaining(deadline), || async {
                Ok((env_ref.new_runners().await?.len() > runners_before).then_some(()))
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
