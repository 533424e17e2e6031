//! A gitlab-runner compatible runner with the kubernetes executor, and its helper binary.
//!
//! The chart's Deployment runs the `gitlab-runner` binary built from this crate: its ConfigMap
//! scripts call `register --non-interactive` (reading the same environment variables as runner
//! 12.8.0), then `run`. Jobs run in pods created through the Kubernetes API; git and artifact work
//! inside the pod is done by the `gitlab-runner-helper` binary from the helper image.
#![warn(missing_docs)]

pub mod api;
pub mod commands;
pub mod config;
pub mod executor;
pub mod helper;
pub mod job;
pub mod multi;
pub mod trace;

/// Names ring as the process's rustls crypto provider. Builds that also compile the test
/// dependencies enable a second provider, and rustls then refuses to pick one by itself; every
/// place that builds a TLS client calls this first (it is idempotent).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
