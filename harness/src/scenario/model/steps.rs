//! The step types of the scenario format: one action per step, with its options.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use super::Assertion;
use super::{default_chart, default_namespace};

/// One step: exactly one action, an optional name and timeout, and assertions.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Shown in progress and reports (default: derived from the action).
    #[serde(default)]
    pub name: Option<String>,
    /// Deadline for the action (e.g. `90s`, `10m`); each action has a sensible default.
    #[serde(default)]
    pub timeout: Option<String>,
    /// Run `kubectl` with the environment's kubeconfig (words split like a shell).
    #[serde(default)]
    pub kubectl: Option<CommandStep>,
    /// Run `helm` with the environment's kubeconfig (words split like a shell), e.g. `history`,
    /// `rollback`, `get values` of the release `install_chart` made.
    #[serde(default)]
    pub helm: Option<CommandStep>,
    /// Install the runner from the chart (`helm upgrade --install` of `environment.runner`).
    #[serde(default)]
    pub install_chart: Option<ChartStep>,
    /// Upgrade the release with another chart version, values or `--set` (`helm upgrade
    /// --install`).
    #[serde(default)]
    pub upgrade_chart: Option<ChartStep>,
    /// Push a directory to the project at a ref with real `git push`.
    #[serde(default)]
    pub push: Option<PushStep>,
    /// Run a pipeline on a ref, as the UI's "Run pipeline".
    #[serde(default)]
    pub run_pipeline: Option<RunPipelineStep>,
    /// Wait for a condition.
    #[serde(default)]
    pub wait: Option<WaitStep>,
    /// Lint a `.gitlab-ci.yml` with GitLab's rules.
    #[serde(default)]
    pub lint: Option<LintStep>,
    /// Create a runner in GitLab first (GitLab's current flow, `POST /user/runners`): its
    /// authentication token (`glrt-…`) is then `${runner.token}`, for the chart's `runnerToken`.
    #[serde(default)]
    pub create_runner: Option<CreateRunnerStep>,
    /// Break something on purpose.
    #[serde(default)]
    pub fault: Option<FaultStep>,
    /// Check what a chart upgrade changes.
    #[serde(default)]
    pub upgrade_check: Option<UpgradeCheckStep>,
    /// Assertions checked after the action.
    #[serde(default)]
    pub assert: Vec<Assertion>,
}

/// A command of a client program (`kubectl: "get po -n gitlab-runners"`, `helm: history
/// gitlab-runner -n gitlab-runners`), or the same with expectations.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum CommandStep {
    /// Arguments only; the command must succeed.
    Args(String),
    /// Arguments with expectations on the outcome.
    Full(CommandExpect),
}

impl CommandStep {
    /// The command with its expectations (arguments alone: it must exit 0).
    pub fn expect(self) -> CommandExpect {
        match self {
            CommandStep::Args(args) => CommandExpect {
                args,
                exit_code: None,
                stdout_contains: vec![],
                stderr_contains: vec![],
                stdout_equals: None,
            },
            CommandStep::Full(expect) => expect,
        }
    }
}

/// A `kubectl` or `helm` command and what it must do.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandExpect {
    /// Arguments (after the program's name; `${…}` values are expanded).
    pub args: String,
    /// Exit code it must end with (default 0).
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// Text stdout must contain.
    #[serde(default)]
    pub stdout_contains: Vec<String>,
    /// Text stderr must contain.
    #[serde(default)]
    pub stderr_contains: Vec<String>,
    /// stdout must equal this (trimmed).
    #[serde(default)]
    pub stdout_equals: Option<String>,
}

/// Chart install/upgrade overrides (on top of `environment.runner`).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChartStep {
    /// Another chart version.
    #[serde(default)]
    pub chart: Option<String>,
    /// Another values file.
    #[serde(default)]
    pub values: Option<String>,
    /// More `--set` overrides.
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    /// Wait until the runner has registered with GitLab (default true).
    #[serde(default)]
    pub wait_registered: Option<bool>,
}

impl ChartStep {
    /// The overrides in words (` (chart X, values Y)`), empty when the step has none.
    fn describe(&self) -> String {
        let mut parts = vec![];
        if let Some(chart) = &self.chart {
            parts.push(format!("chart {chart}"));
        }
        if let Some(values) = &self.values {
            parts.push(format!("values {values}"));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!(" ({})", parts.join(", "))
        }
    }
}

/// A real `git push`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PushStep {
    /// Directory whose files are committed (relative to the scenario file).
    #[serde(default)]
    pub source: Option<String>,
    /// Branch to push.
    #[serde(rename = "ref", default = "default_ref")]
    pub git_ref: String,
    /// Edits applied to the working copy before committing.
    #[serde(default)]
    pub edit: Vec<FileEdit>,
    /// Commit message.
    #[serde(default)]
    pub message: Option<String>,
}

fn default_ref() -> String {
    "master".into()
}

/// Replace text in a file of the working copy, or write a whole file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileEdit {
    /// Path inside the project.
    pub file: String,
    /// Text to replace (with `with`).
    #[serde(default)]
    pub replace: Option<String>,
    /// Replacement.
    #[serde(default)]
    pub with: Option<String>,
    /// Whole new content.
    #[serde(default)]
    pub content: Option<String>,
    /// Replace the file with this one (relative to the scenario file).
    #[serde(default)]
    pub copy_from: Option<String>,
}

/// "Run pipeline" with a ref and variables.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunPipelineStep {
    /// Branch.
    #[serde(rename = "ref", default = "default_ref")]
    pub git_ref: String,
    /// Variables for this pipeline.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// How many pipelines to start at once.
    #[serde(default)]
    pub count: Option<u32>,
}

/// Conditions a step can wait for: `wait: pipelines`, `wait: runner_online`, or
/// `wait: {deployment_available: {name: NAME, namespace: NS}}`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum WaitStep {
    /// A condition without parameters.
    Named(WaitName),
    /// A Deployment is Available.
    DeploymentAvailable {
        /// Which Deployment.
        deployment_available: DeploymentRef,
    },
}

/// Conditions without parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WaitName {
    /// The pipelines started since the last wait have finished.
    Pipelines,
    /// A runner is registered and has contacted GitLab.
    RunnerOnline,
}

/// A Deployment by name.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeploymentRef {
    /// Name.
    pub name: String,
    /// Namespace.
    #[serde(default = "default_namespace")]
    pub namespace: String,
}

/// `lint: path/to/.gitlab-ci.yml`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LintStep {
    /// The file (relative to the scenario file).
    pub file: String,
}

/// A project runner created through GitLab's API.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRunnerStep {
    /// Description shown in GitLab.
    #[serde(default)]
    pub description: Option<String>,
    /// Tags the runner picks jobs by.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// Faults that can be injected.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum FaultStep {
    /// Stop the image registry.
    StopRegistry,
    /// Delete the runner manager pod (the Deployment brings a new one).
    KillRunnerPod,
}

/// `upgrade_check` between chart versions.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpgradeCheckStep {
    /// Values file.
    pub values: String,
    /// From version.
    #[serde(default = "default_chart")]
    pub from: String,
    /// To version.
    #[serde(default = "default_current")]
    pub to: String,
    /// RBAC/PVC manifests to check too.
    #[serde(default)]
    pub manifests: Vec<String>,
}

fn default_current() -> String {
    "current".into()
}

/// A step's one action, as [`crate::scenario::load`] checked it.
#[derive(Debug, Clone)]
pub enum Action {
    /// `kubectl`.
    Kubectl(CommandExpect),
    /// `helm`.
    Helm(CommandExpect),
    /// `install_chart`.
    InstallChart(ChartStep),
    /// `upgrade_chart`.
    UpgradeChart(ChartStep),
    /// `push`.
    Push(PushStep),
    /// `run_pipeline`.
    RunPipeline(RunPipelineStep),
    /// `wait`.
    Wait(WaitStep),
    /// `lint`.
    Lint(LintStep),
    /// `create_runner`.
    CreateRunner(CreateRunnerStep),
    /// `fault`.
    Fault(FaultStep),
    /// `upgrade_check`.
    UpgradeCheck(UpgradeCheckStep),
}

impl Action {
    /// The action's key in the scenario file.
    pub fn key(&self) -> &'static str {
        match self {
            Action::Kubectl(_) => "kubectl",
            Action::Helm(_) => "helm",
            Action::InstallChart(_) => "install_chart",
            Action::UpgradeChart(_) => "upgrade_chart",
            Action::Push(_) => "push",
            Action::RunPipeline(_) => "run_pipeline",
            Action::Wait(_) => "wait",
            Action::Lint(_) => "lint",
            Action::CreateRunner(_) => "create_runner",
            Action::Fault(_) => "fault",
            Action::UpgradeCheck(_) => "upgrade_check",
        }
    }

    /// What the step does, in words, for progress and reports when the scenario gives the step
    /// no `name` (the command itself for `kubectl` and `helm`).
    pub fn title(&self) -> String {
        match self {
            Action::Kubectl(k) => format!("kubectl {}", k.args),
            Action::Helm(h) => format!("helm {}", h.args),
            Action::InstallChart(c) => format!("install the runner chart{}", c.describe()),
            Action::UpgradeChart(c) => format!("upgrade the runner release{}", c.describe()),
            Action::Push(push) => format!("push {}", push.git_ref),
            Action::RunPipeline(run) => match run.count {
                Some(n) if n > 1 => format!("run {n} pipelines on {}", run.git_ref),
                _ => format!("run a pipeline on {}", run.git_ref),
            },
            Action::Wait(WaitStep::Named(WaitName::Pipelines)) => {
                "wait for the pipelines to finish".into()
            }
            Action::Wait(WaitStep::Named(WaitName::RunnerOnline)) => {
                "wait for the runner to come online".into()
            }
            Action::Wait(WaitStep::DeploymentAvailable {
                deployment_available: d,
            }) => format!(
                "wait for deployment/{} in {} to be available",
                d.name, d.namespace
            ),
            Action::Lint(lint) => format!("lint {}", lint.file),
            Action::CreateRunner(_) => "create a project runner in GitLab".into(),
            Action::Fault(FaultStep::StopRegistry) => "fault: stop the registry".into(),
            Action::Fault(FaultStep::KillRunnerPod) => "fault: delete the runner pod".into(),
            Action::UpgradeCheck(check) => {
                format!(
                    "check the upgrade from chart {} to {}",
                    check.from, check.to
                )
            }
        }
    }

    /// Whether the action starts pipelines (where `harness up` stops running setup steps).
    pub fn starts_pipelines(&self) -> bool {
        matches!(self, Action::Push(_) | Action::RunPipeline(_))
    }

    /// Whether the action runs Helm (which `harness build helm` must have built).
    pub fn needs_helm(&self) -> bool {
        matches!(
            self,
            Action::Helm(_)
                | Action::InstallChart(_)
                | Action::UpgradeChart(_)
                | Action::UpgradeCheck(_)
        )
    }
}

/// A step after loading: its name, its deadline, its one action and its checks.
#[derive(Debug, Clone)]
pub struct ScenarioStep {
    /// The name it is reported under.
    pub name: String,
    /// Deadline of the action (the step's `timeout`, or the action's default).
    pub timeout: std::time::Duration,
    /// What it does.
    pub action: Action,
    /// What is checked after the action.
    pub checks: Vec<super::Check>,
}
