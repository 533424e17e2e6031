//! GitLab's Runner API: wire types and the HTTP client.

mod client;
mod jobs;
mod types;

pub use client::{ApiError, Client, api_base};
pub use jobs::{JobPoll, PatchOutcome, UpdateOutcome};
pub use types::*;
