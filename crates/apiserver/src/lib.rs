//! Embedded Kubernetes API server: the real REST protocol (JSON + protobuf bodies, discovery,
//! OpenAPI, watch, tables, patches, RBAC) and the controllers the tutorial relies on.
#![warn(missing_docs)]

pub mod admission;
pub mod auth;
pub mod config;
pub mod controllers;
pub mod discovery;
pub mod http;
pub mod kinds;
pub mod meta;
pub mod node_streams;
pub mod openapi;
mod openapi_v2;
pub mod ownership;
pub mod patch;
pub mod protobuf;
pub mod rbac;
pub mod registry;
pub mod selectors;
pub mod server;
pub mod snapshot;
pub mod status;
pub mod store;
pub mod streams;
pub mod table;
pub mod tls;

pub use config::{ApiServerConfig, StorageClassSpec};
pub use node_streams::NodeStreams;
pub use server::{ApiServer, ApiServerError, ApiServerHandle};
