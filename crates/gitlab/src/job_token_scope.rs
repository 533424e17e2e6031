//! Where a CI job token may go: its own project, and projects whose inbound allowlist names
//! the job's project (or whose limit is off) — GitLab's `Ci::JobToken::Scope`.

use crate::model::{Job, Project, Visibility};
use crate::store::Store;

/// Whether `job`'s token may reach `target` as a member would.
pub(crate) fn allows(job: &Job, target: &Project) -> bool {
    let scope = &target.job_token_scope;
    job.project_id == target.id
        || !scope.inbound_enabled
        || scope.allowlist.contains(&job.project_id)
}

/// Whether `job`'s token may read `target` at all: as a member, or as anyone may read a public
/// project.
pub(crate) fn may_read(job: &Job, target: &Project) -> bool {
    allows(job, target) || target.visibility == Visibility::Public
}

/// GitLab's refusal, naming both projects by their last path segment.
pub(crate) fn refusal(store: &Store, job: &Job, target: &Project) -> String {
    let source = store
        .projects
        .get(&job.project_id)
        .map(|p| p.path.as_str())
        .unwrap_or_default();
    format!(
        "Authentication by CI/CD job token not allowed from {source} to {}.",
        target.path
    )
}
