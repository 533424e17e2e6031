//! gitlab-k8s-harness: brings up a Kubernetes cluster, a GitLab, an image registry and a
//! gitlab-runner on one machine, runs the tutorial's pipeline and asserts on what it produced.
//!
//! The binary is a thin layer over this library: [`cli`] defines the command line, [`commands`]
//! implements each subcommand, [`doctor`] provides the machine's prerequisites, [`services`] runs
//! the Maven repository and the image registry, and [`paths`] says where state and caches live.
#![warn(missing_docs)]

pub mod backends;
pub mod bench;
pub mod cli;
pub mod clients;
pub mod commands;
pub mod doctor;
pub mod environment;
pub mod exit;
pub(crate) mod helm;
pub mod images;
pub mod logging;
pub mod paths;
pub mod process;
pub mod progress;
pub mod provisioner;
pub mod report;
pub mod scenario;
pub mod services;
pub mod signals;
pub mod toolchain;
