//! Logical checks after entry validation: stages, needs and dependencies of every job, then
//! cycles among the needs.

use std::collections::HashMap;

use super::entries::Errors;
use super::model::CiConfig;

/// GitLab's message for `needs:` that form a cycle (a job needing itself included).
const CIRCULAR: &str = "The pipeline has circular dependencies";

/// The checks GitLab runs after entry validation: stages, needs, dependencies (every job),
/// then — when those pass — that the needs form no cycle (`Dag.check_circular_dependencies!`).
pub fn logical(config: &CiConfig, errors: &mut Errors) {
    jobs(config, errors);
    if errors.list.is_empty() && has_cycle(config) {
        errors.add(&[], CIRCULAR.into());
    }
}

/// Whether following `needs:` from some job leads back to it. Needs of jobs that do not
/// exist (optional ones) lead nowhere.
fn has_cycle(config: &CiConfig) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Visiting,
        Done,
    }
    fn visit<'a>(name: &'a str, config: &'a CiConfig, marks: &mut HashMap<&'a str, Mark>) -> bool {
        match marks.get(name) {
            Some(Mark::Visiting) => return true,
            Some(Mark::Done) => return false,
            None => {}
        }
        let Some(job) = config.job(name) else {
            return false;
        };
        marks.insert(name, Mark::Visiting);
        let cyclic = job
            .needs
            .iter()
            .flatten()
            .any(|need| visit(&need.job, config, marks));
        marks.insert(name, Mark::Done);
        cyclic
    }
    let mut marks = HashMap::new();
    config
        .jobs
        .iter()
        .any(|job| visit(&job.name, config, &mut marks))
}

/// Per job: its stage exists; its needs and dependencies exist in the same or earlier stages.
fn jobs(config: &CiConfig, errors: &mut Errors) {
    for job in &config.jobs {
        let name = job.name.as_str();
        if !config.stages.contains(&job.stage) {
            errors.add(
                &[name, "stage"],
                format!(
                    "{name} job: chosen stage does not exist; available stages are {}",
                    config.stages.join(", ")
                ),
            );
            continue;
        }
        let idx = config.stage_index(&job.stage);
        for need in job.needs.iter().flatten() {
            match config.job(&need.job) {
                None if need.optional => {}
                None => errors.add(
                    &[name, "needs"],
                    format!("{name} job: undefined need: {}", need.job),
                ),
                Some(other) if config.stage_index(&other.stage) > idx => errors.add(
                    &[name, "needs"],
                    format!(
                        "{name} job: need {} is not defined in current or prior stages",
                        need.job
                    ),
                ),
                Some(_) => {}
            }
        }
        for dep in job.dependencies.iter().flatten() {
            match config.job(dep) {
                None => errors.add(
                    &[name, "dependencies"],
                    format!("{name} job: undefined dependency: {dep}"),
                ),
                Some(other) if config.stage_index(&other.stage) > idx => errors.add(
                    &[name, "dependencies"],
                    format!(
                        "{name} job: dependency {dep} is not defined in current or prior stages"
                    ),
                ),
                Some(_) => {}
            }
        }
    }
}
