//! The gitlab-runner Helm chart: its versions kept as data, materialised as directories for the
//! real Helm (with the tutorial's configmap edit when asked), the harness's checks of values
//! before Helm sees them, `helm template` output read back into objects, and upgrade checks
//! between chart versions.
//!
//! The charts' own files are kept under `charts/<version>/`, so a new chart version is a new
//! directory.
//!
//! ```no_run
//! use harness_chart::{render, Helm, RenderOptions, ValuesInput};
//! let helm = Helm::new("/path/to/helm");
//! let values = std::fs::read_to_string("values.yaml").unwrap();
//! let out = render(&helm, &ValuesInput::yaml(&values, "values.yaml"), &RenderOptions::tutorial()).unwrap();
//! println!("{}", out.yaml);
//! ```
#![warn(missing_docs)]

pub mod chart;
pub mod error;
pub mod helm;
pub mod manifest;
pub mod patch;
pub mod render;
pub mod upgrade;
pub mod validate;
pub mod values;
mod yaml11;

pub use chart::{CURRENT_VERSION, ChartFiles, ChartVersion, TUTORIAL_VERSION};
pub use error::{ChartError, Result};
pub use helm::Helm;
pub use manifest::Manifest;
pub use render::{
    CheckedValues, RenderOptions, Rendered, ValuesInput, check_values, render, render_file,
};
pub use upgrade::{
    Finding, Manifests, MigrateOptions, Severity, migrate_values, migrate_values_yaml,
    upgrade_check, upgrade_check_file, upgrade_check_with,
};
