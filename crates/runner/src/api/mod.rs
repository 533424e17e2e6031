//! GitLab's Runner API: wire types and the HTTP client.

mod client;
mod types;

pub use client::{ApiError, Client, JobPoll, PatchOutcome, UpdateOutcome, api_base};
pub use types::*;
