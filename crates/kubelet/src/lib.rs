//! Embedded kubelet: runs the pods bound to its node as real Docker containers and serves their
//! logs, exec and attach streams.
//!
//! A [`Kubelet`] registers a Node, watches the pods bound to it and drives each one through a
//! per-pod worker task: volumes are prepared on the host under the state directory, images come from
//! [`harness_images::ImageProvisioner`], containers run through the Docker Engine API with the
//! host network, and the pod's status and events are written back to the API server. Every
//! container carries the environment's label ([`labels::ENV`]); nothing without it is touched.
#![warn(missing_docs)]

mod config;
mod container_spec;
mod env;
mod error;
mod events;
mod hooks;
mod images;
mod kubelet;
pub mod labels;
mod node;
mod ports;
mod probes;
mod quantity;
mod runtime;
mod status;
mod streams;
mod volumes;
mod worker;

pub use config::KubeletConfig;
pub use error::KubeletError;
pub use kubelet::{Kubelet, KubeletHandle};
pub use runtime::{environment_containers, remove_environment_containers};
pub use streams::DockerNodeStreams;
