//! Scenarios: YAML files under `scenarios/` that bring an environment up, run steps and assert.
//!
//! [`load::load`] reads and checks a file, [`run::run_scenario`] runs it, and
//! [`report::ScenarioReport`] is what comes back; [`crate::report`] prints and writes it.

pub mod asserts;
pub mod load;
pub mod model;
pub mod report;
pub mod run;
pub mod steps;
pub mod vars;

pub use load::{LoadedScenario, ScenarioError, load};
pub use report::{Outcome, ScenarioReport};
pub use run::{RunOptions, run_scenario};

/// The JSON Schema of the scenario format, for editors.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(model::Scenario);
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}
