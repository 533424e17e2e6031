//! Embedded Kubernetes API server: the real REST protocol (JSON + protobuf bodies, discovery,
//! OpenAPI, watch, tables, patches, RBAC) and the controllers the tutorial relies on.

pub mod node_streams;
