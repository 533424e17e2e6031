//! What a scenario run produced: per step, its outcome, duration and assertion results.

use std::path::PathBuf;
use std::time::Duration;

/// How something ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It did what was expected.
    Passed,
    /// It did not; the message says what and where.
    Failed(String),
    /// It does not apply here (an earlier step failed, or the backend lacks a power the
    /// scenario needs); the reason says why.
    Skipped(String),
    /// The backend it needs cannot run on this machine; the message says why and what would
    /// make it work.
    Unavailable(String),
}

impl Outcome {
    /// Whether this is a pass.
    pub fn passed(&self) -> bool {
        matches!(self, Outcome::Passed)
    }
}

/// One assertion's result.
#[derive(Debug, Clone)]
pub struct AssertionReport {
    /// What was checked.
    pub description: String,
    /// The result.
    pub outcome: Outcome,
}

/// One step's result.
#[derive(Debug, Clone)]
pub struct StepReport {
    /// Step name.
    pub name: String,
    /// The action's result.
    pub outcome: Outcome,
    /// How long the action and its assertions took.
    pub duration: Duration,
    /// Assertion results.
    pub assertions: Vec<AssertionReport>,
    /// Output worth showing (kubectl output, lint errors, findings).
    pub output: String,
}

/// A pipeline the scenario ran, for the summary and the picture.
#[derive(Debug, Clone)]
pub struct PipelineSummary {
    /// Pipeline id.
    pub id: u64,
    /// Ref.
    pub git_ref: String,
    /// Commit.
    pub sha: String,
    /// Final status.
    pub status: String,
    /// Stages in order, each with its jobs: (name, status, seconds, failure reason).
    pub stages: Vec<(String, Vec<JobSummary>)>,
}

/// A job of a [`PipelineSummary`].
#[derive(Debug, Clone)]
pub struct JobSummary {
    /// Job id.
    pub id: u64,
    /// Job name.
    pub name: String,
    /// Final status.
    pub status: String,
    /// Duration in seconds, when it ran.
    pub seconds: Option<f64>,
    /// GitLab's failure reason.
    pub failure_reason: Option<String>,
    /// The trace's last lines when it failed.
    pub trace_tail: Option<String>,
    /// The whole trace when it failed (written next to the report).
    pub trace: Option<String>,
}

/// The whole run.
#[derive(Debug, Clone)]
pub struct ScenarioReport {
    /// Scenario name.
    pub name: String,
    /// Scenario file.
    pub file: PathBuf,
    /// Overall outcome (after `expect_failure` is taken into account).
    pub outcome: Outcome,
    /// Steps, in order.
    pub steps: Vec<StepReport>,
    /// Pipelines run.
    pub pipelines: Vec<PipelineSummary>,
    /// Total time.
    pub duration: Duration,
    /// The state directory, when kept.
    pub kept_state: Option<PathBuf>,
    /// What served as each part in this run, and what of it was real or a stand-in.
    pub described: Vec<String>,
    /// What the teardown did, one line per part.
    pub teardown: Vec<String>,
}
