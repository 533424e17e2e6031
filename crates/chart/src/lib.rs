//! gitlab-runner Helm chart rendering (values → objects, as `helm template` prints them) and
//! upgrade checks between chart versions.
//!
//! The charts' own template files are kept under `charts/<version>/` and rendered by a
//! Helm-compatible Go-template engine ([`engine`]), so a new chart version is a new directory.
//!
//! ```no_run
//! use harness_chart::{render, RenderOptions, ValuesInput};
//! let values = std::fs::read_to_string("values.yaml").unwrap();
//! let out = render(&ValuesInput::yaml(&values, "values.yaml"), &RenderOptions::tutorial()).unwrap();
//! println!("{}", out.yaml);
//! ```
#![warn(missing_docs)]

pub mod chart;
pub mod engine;
pub mod error;
pub mod manifest;
pub mod patch;
mod quote;
pub mod reference;
pub mod render;
pub mod upgrade;
pub mod validate;
pub mod values;
mod yaml11;

pub use chart::{CURRENT_VERSION, ChartFiles, ChartVersion, TUTORIAL_VERSION};
pub use error::{ChartError, Result};
pub use manifest::Manifest;
pub use render::{RenderOptions, Rendered, ValuesInput, render, render_file};
pub use upgrade::{
    Finding, Manifests, MigrateOptions, Severity, migrate_values, migrate_values_yaml,
    upgrade_check, upgrade_check_file, upgrade_check_with,
};
