//! Reading a scenario file: YAML → [`Scenario`], then the checks serde cannot express (one action
//! per step, one check per assertion, durations, referenced files). Every error names the file,
//! the line and what is accepted there.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::model::{Action, Assertion, Backend, Check, Scenario, ScenarioStep, Step};

/// A parsed, checked scenario and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedScenario {
    /// The file.
    pub path: PathBuf,
    /// Its directory (relative paths in the file are relative to it).
    pub dir: PathBuf,
    /// Name for reports.
    pub name: String,
    /// The content, as written.
    pub scenario: Scenario,
    /// The steps, checked: one action each, typed checks, deadlines.
    pub steps: Vec<ScenarioStep>,
}

/// What is wrong with a scenario file.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file cannot be read.
    #[error("{file}: cannot read")]
    Read {
        /// The file.
        file: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The YAML does not match the format.
    #[error("{file}:{line}:{column}: {message}")]
    Parse {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What serde said, with the accepted keys.
        message: String,
    },
    /// A semantic check failed.
    #[error("{file}:{line}: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// 1-based line (0 when unknown).
        line: usize,
        /// What is wrong and how to fix it.
        message: String,
    },
}

/// The step actions, in the order they are documented.
pub const STEP_ACTIONS: &[&str] = &[
    "kubectl",
    "helm",
    "install_chart",
    "upgrade_chart",
    "push",
    "run_pipeline",
    "wait",
    "lint",
    "create_runner",
    "fault",
    "upgrade_check",
];

/// The assertion kinds.
pub const ASSERTIONS: &[&str] = &[
    "pipeline",
    "trace",
    "job_pod",
    "artifacts",
    "pvc_files",
    "registry_image",
    "deployment",
    "http",
    "kubectl",
    "lint_errors",
    "findings",
    "max_concurrent_job_pods",
    "registered_runners",
];

/// Reads and checks a scenario file.
pub fn load(path: &Path) -> Result<LoadedScenario, ScenarioError> {
    let file = path.display().to_string();
    let source = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
        file: file.clone(),
        source,
    })?;
    let scenario: Scenario = serde_norway::from_str(&source).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        ScenarioError::Parse {
            file: file.clone(),
            line,
            column,
            message: e
                .to_string()
                .split(" at line ")
                .next()
                .unwrap_or_default()
                .to_owned(),
        }
    })?;
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let invalid = |index: Option<usize>, message: String| ScenarioError::Invalid {
        file: file.clone(),
        line: index.and_then(|i| step_line(&source, i)).unwrap_or(0),
        message,
    };
    if scenario.steps.is_empty() {
        return Err(invalid(
            None,
            "`steps` is empty: a scenario needs at least one step".into(),
        ));
    }
    if scenario.environment.cluster.backend == Backend::Existing
        && scenario.environment.cluster.kubeconfig.is_none()
    {
        return Err(invalid(
            None,
            "environment.cluster.backend is `existing` but no `kubeconfig` is given: add `kubeconfig: PATH`".into(),
        ));
    }
    if let Some(values) = &scenario.environment.runner.values {
        check_file(&dir, values)
            .map_err(|m| invalid(None, format!("environment.runner.values: {m}")))?;
    }
    let mut steps = Vec::with_capacity(scenario.steps.len());
    for (index, step) in scenario.steps.iter().enumerate() {
        let files: Vec<(&str, &String)> = [
            step.lint.as_ref().map(|l| ("lint.file", &l.file)),
            step.push
                .as_ref()
                .and_then(|p| p.source.as_ref())
                .map(|s| ("push.source", s)),
            step.upgrade_check
                .as_ref()
                .map(|u| ("upgrade_check.values", &u.values)),
        ]
        .into_iter()
        .flatten()
        .collect();
        for (field, value) in files {
            check_file(&dir, value)
                .map_err(|m| invalid(Some(index), format!("steps[{index}].{field}: {m}")))?;
        }
        steps.push(checked_step(step, index).map_err(|m| invalid(Some(index), m))?);
    }
    if let Some(expect) = &scenario.expect_failure {
        let names: Vec<String> = steps.iter().map(|s| s.name.clone()).collect();
        if !names.contains(&expect.step) {
            return Err(invalid(
                None,
                format!(
                    "expect_failure.step `{}` names no step; the steps are: {}",
                    expect.step,
                    names.join(", ")
                ),
            ));
        }
    }
    let name = scenario.name.clone().unwrap_or_else(|| {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| file.clone())
    });
    Ok(LoadedScenario {
        path: path.to_owned(),
        dir,
        name,
        scenario,
        steps,
    })
}

/// Checks a step as written and turns it into its one typed action, its typed checks and its
/// deadline; the error says what is wrong and what is accepted.
fn checked_step(step: &Step, index: usize) -> Result<ScenarioStep, String> {
    let mut actions: Vec<Action> = [
        step.kubectl.clone().map(|k| Action::Kubectl(k.expect())),
        step.helm.clone().map(|h| Action::Helm(h.expect())),
        step.install_chart.clone().map(Action::InstallChart),
        step.upgrade_chart.clone().map(Action::UpgradeChart),
        step.push.clone().map(Action::Push),
        step.run_pipeline.clone().map(Action::RunPipeline),
        step.wait.clone().map(Action::Wait),
        step.lint.clone().map(Action::Lint),
        step.create_runner.clone().map(Action::CreateRunner),
        step.fault.clone().map(Action::Fault),
        step.upgrade_check.clone().map(Action::UpgradeCheck),
    ]
    .into_iter()
    .flatten()
    .collect();
    let action = match actions.len() {
        1 => actions.remove(0),
        0 => {
            return Err(format!(
                "steps[{index}] has no action: give exactly one of {}",
                STEP_ACTIONS.join(", ")
            ));
        }
        _ => {
            let keys: Vec<&str> = actions.iter().map(Action::key).collect();
            return Err(format!(
                "steps[{index}] has several actions ({}): split them into separate steps",
                keys.join(", ")
            ));
        }
    };
    let timeout = match &step.timeout {
        Some(timeout) => {
            parse_duration(timeout).map_err(|m| format!("steps[{index}].timeout: {m}"))?
        }
        None => default_timeout(&action),
    };
    let checks = step
        .assert
        .iter()
        .enumerate()
        .map(|(a, assertion)| {
            checked_assertion(assertion).map_err(|found| {
                format!(
                    "steps[{index}].assert[{a}] must have exactly one of {} (found: {found})",
                    ASSERTIONS.join(", ")
                )
            })
        })
        .collect::<Result<_, _>>()?;
    let name = step.name.clone().unwrap_or_else(|| action.title());
    Ok(ScenarioStep {
        name,
        timeout,
        action,
        checks,
    })
}

/// The one check an assertion sets; the error lists what it set instead (`none`, or several).
fn checked_assertion(a: &Assertion) -> Result<Check, String> {
    let mut checks: Vec<(&str, Check)> = [
        a.pipeline.clone().map(|x| ("pipeline", Check::Pipeline(x))),
        a.trace.clone().map(|x| ("trace", Check::Trace(x))),
        a.job_pod.clone().map(|x| ("job_pod", Check::JobPod(x))),
        a.artifacts
            .clone()
            .map(|x| ("artifacts", Check::Artifacts(x))),
        a.pvc_files
            .clone()
            .map(|x| ("pvc_files", Check::PvcFiles(x))),
        a.registry_image
            .clone()
            .map(|x| ("registry_image", Check::RegistryImage(x))),
        a.deployment
            .clone()
            .map(|x| ("deployment", Check::Deployment(x))),
        a.http.clone().map(|x| ("http", Check::Http(x))),
        a.kubectl.clone().map(|x| ("kubectl", Check::Kubectl(x))),
        a.lint_errors
            .clone()
            .map(|x| ("lint_errors", Check::LintErrors(x))),
        a.findings.clone().map(|x| ("findings", Check::Findings(x))),
        a.max_concurrent_job_pods
            .map(|x| ("max_concurrent_job_pods", Check::MaxConcurrentJobPods(x))),
        a.registered_runners
            .map(|x| ("registered_runners", Check::RegisteredRunners(x))),
    ]
    .into_iter()
    .flatten()
    .collect();
    match checks.len() {
        1 => Ok(checks.remove(0).1),
        0 => Err("none".into()),
        _ => Err(checks
            .iter()
            .map(|(key, _)| *key)
            .collect::<Vec<_>>()
            .join(", ")),
    }
}

/// The default deadline of each action.
pub fn default_timeout(action: &Action) -> Duration {
    let seconds = match action {
        Action::Wait(_) => 900,
        Action::InstallChart(_) | Action::UpgradeChart(_) => 300,
        Action::Push(_) => 120,
        _ => 60,
    };
    Duration::from_secs(seconds)
}

fn check_file(dir: &Path, value: &str) -> Result<(), String> {
    if value.contains("${") {
        return Ok(());
    }
    let path = dir.join(value);
    if path.exists() {
        Ok(())
    } else {
        Err(format!(
            "{} does not exist (paths are relative to the scenario file)",
            path.display()
        ))
    }
}

/// Parses `500ms`, `90s`, `10m`, `1h` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration: write e.g. 90s, 10m or 1h"))?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        other => {
            return Err(format!(
                "`{other}` is not a duration unit: use ms, s, m or h"
            ));
        }
    };
    Ok(Duration::from_secs_f64(seconds))
}

/// 1-based line of the `index`-th item of the top-level `steps:` list, found in the source text.
fn step_line(source: &str, index: usize) -> Option<usize> {
    let mut lines = source.lines().enumerate();
    lines.find(|(_, l)| l.trim_end() == "steps:")?;
    let mut indent = None;
    let mut seen = 0;
    for (number, line) in lines {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let width = line.len() - trimmed.len();
        if width == 0 && !trimmed.starts_with('-') {
            return None;
        }
        if trimmed.starts_with("- ") || trimmed == "-" {
            let level = *indent.get_or_insert(width);
            if width == level {
                if seen == index {
                    return Some(number + 1);
                }
                seen += 1;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests;
