//! The tutorial's edit of the chart's `templates/configmap.yaml` (section 4.1.3): a heredoc that
//! appends the Maven-cache PVC and the docker.sock host path to `config.toml` after registration.
//! It is applied to the template text before rendering, as the tutorial edits the chart file, so
//! its `{{.Values.maven.cache.*}}` references are rendered by the chart's own engine.

use crate::chart::ChartFiles;
use crate::error::{ChartError, Result};

/// The tutorial's block, verbatim: a copy of the workspace's `fixtures/tutorial/configmap-patch.sh`
/// kept in the crate because a package can only embed its own files (a test asserts they match).
pub const TUTORIAL_PATCH: &str = include_str!("../tutorial/configmap-patch.sh");

/// The line of 0.14.0's entrypoint the tutorial's edit follows ("around line 42"): the block
/// that runs `register-the-runner` ends with `fi` on line 43.
const ANCHOR: &str = "    if ! sh /scripts/register-the-runner; then";
const TEMPLATE: &str = "templates/configmap.yaml";

/// Inserts `patch` (shell lines) into the chart's configmap template after the registration
/// block of the `entrypoint` script, indented into the block scalar.
pub fn apply(chart: &mut ChartFiles, patch: &str) -> Result<()> {
    let origin = chart.origin.clone();
    let Some(text) = chart.template_mut(TEMPLATE) else {
        return Err(no_target(
            &origin,
            "the chart has no templates/configmap.yaml",
        ));
    };
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let Some(anchor) = lines.iter().position(|l| l.trim_end() == ANCHOR) else {
        return Err(no_target(
            &origin,
            "its configmap.yaml has no `sh /scripts/register-the-runner` block to append after",
        ));
    };
    let Some(fi) = lines[anchor..]
        .iter()
        .position(|l| l.trim_end() == "    fi")
    else {
        return Err(no_target(
            &origin,
            "the registration block has no closing `fi`",
        ));
    };
    let insert_at = anchor + fi + 1;
    let mut block = String::new();
    for line in patch.lines() {
        if line.trim().is_empty() {
            block.push('\n');
        } else {
            block.push_str("    ");
            block.push_str(line);
            block.push('\n');
        }
    }
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        if i == insert_at {
            out.push_str(&block);
        }
        out.push_str(line);
    }
    if insert_at >= lines.len() {
        out.push_str(&block);
    }
    *text = out;
    Ok(())
}

fn no_target(chart: &str, problem: &str) -> ChartError {
    ChartError::Chart {
        chart: chart.into(),
        problem: format!("the tutorial's configmap patch has nothing to attach to: {problem}"),
        fix: "drop --tutorial-patch and put the PVC and docker.sock volumes into `runners.config` \
              ([[runners.kubernetes.volumes.pvc]] / [[runners.kubernetes.volumes.host_path]]); \
              `harness upgrade-check` prints the TOML"
            .into(),
    }
}
