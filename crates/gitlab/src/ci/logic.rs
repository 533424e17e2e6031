//! Logical checks after entry validation: stages, needs and dependencies of every job.

use super::entries::Errors;
use super::model::CiConfig;

/// The checks GitLab runs after entry validation: stages, needs, dependencies (every job).
pub fn logical(config: &CiConfig, errors: &mut Errors) {
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
