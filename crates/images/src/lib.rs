//! Container image provisioning for the embedded environment.
//!
//! No public registry can be reached on the machines this harness targets, yet the tutorial's jobs
//! name real images (`docker:latest`, `bitnami/kubectl:latest`, a Maven image, …). For every image
//! a scenario or a pod names, the [`ImageProvisioner`] resolves it in this order:
//!
//! 1. **present locally** in the Docker engine (a real image, or a stand-in whose recipe is current);
//! 2. **pulled** from its registry, when one is reachable and the pull policy allows it;
//! 3. **built as a stand-in** from Debian packages, when the [`catalog`] has a recipe for it.
//!
//! Stand-ins are labelled as such (`org.opencontainers.image.description` and
//! [`LABEL_STAND_IN`]) and cached by a content hash of their recipe: they are rebuilt only when the
//! recipe (or a file it copies in) changes.
#![warn(missing_docs)]

mod base;
mod build;
pub mod catalog;
mod error;
mod provisioner;
mod recipe;

pub use base::{BASE_IMAGE_REPOSITORY, DebianBase, engine_unavailable, which};
pub use error::ImageError;
pub use provisioner::{ImageProvisioner, ImageSource, PullPolicy, ResolvedImage};
pub use recipe::{ContextFile, Recipe};

/// Label set on every stand-in image: its value is the recipe's content hash.
pub const LABEL_STAND_IN: &str = "io.gitlab-k8s-harness.stand-in";
/// Label naming the tools a stand-in provides (comma separated).
pub const LABEL_PROVIDES: &str = "io.gitlab-k8s-harness.provides";
/// Label on stand-ins naming the recipe they were built from.
pub const LABEL_RECIPE: &str = "io.gitlab-k8s-harness.recipe";
/// The OCI description label, used to say in plain words that an image is a stand-in.
pub const LABEL_DESCRIPTION: &str = "org.opencontainers.image.description";
