//! Clients of the public interfaces the harness reaches the parts through.

pub mod gitlab_api;
