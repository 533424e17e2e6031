//! Status transitions as GitLab's pipeline processing does them: jobs leave `created` once what
//! they depend on (earlier stages, or their `needs`) is complete; the pipeline status is the
//! composite of its jobs.

use chrono::Utc;

use crate::ci::model::When;
use crate::model::{Job, Status};
use crate::store::Store;

/// What a composite of statuses means for the jobs after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prior {
    Success,
    Skipped,
    Failed,
    Canceled,
    Incomplete,
}

fn ignored(status: Status, allow_failure: bool) -> bool {
    allow_failure && matches!(status, Status::Failed | Status::Canceled | Status::Manual)
}

fn prior(list: &[(Status, bool)]) -> Prior {
    let effective: Vec<Status> = list
        .iter()
        .filter(|(s, af)| !ignored(*s, *af))
        .map(|(s, _)| *s)
        .collect();
    if effective.iter().all(|s| *s == Status::Skipped) {
        return if effective.is_empty() {
            Prior::Success
        } else {
            Prior::Skipped
        };
    }
    if effective
        .iter()
        .all(|s| matches!(s, Status::Success | Status::Skipped))
    {
        return Prior::Success;
    }
    if effective.iter().any(|s| {
        matches!(
            s,
            Status::Created | Status::Pending | Status::Running | Status::Manual
        )
    }) {
        return Prior::Incomplete;
    }
    if effective.contains(&Status::Failed) {
        return Prior::Failed;
    }
    Prior::Canceled
}

/// A job's status as the composite sees it: allowed failures are "success with warnings",
/// non-blocking manual jobs are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Is(Status),
    SuccessWithWarnings,
    Ignored,
}

fn seen(status: Status, allow_failure: bool) -> Seen {
    match (status, allow_failure) {
        (Status::Manual, true) => Seen::Ignored,
        (Status::Failed, true) => Seen::SuccessWithWarnings,
        (s, _) => Seen::Is(s),
    }
}

/// GitLab's composite status of a set of jobs (`Gitlab::Ci::Status::Composite`).
pub fn composite(list: &[(Status, bool)]) -> Status {
    use Status::*;
    let seen: Vec<Seen> = list.iter().map(|(s, af)| seen(*s, *af)).collect();
    let only = |allowed: &[Status], sww: bool| {
        seen.iter().all(|s| match s {
            Seen::Ignored => true,
            Seen::SuccessWithWarnings => sww,
            Seen::Is(st) => allowed.contains(st),
        })
    };
    let any = |wanted: &[Status]| {
        seen.iter()
            .any(|s| matches!(s, Seen::Is(st) if wanted.contains(st)))
    };
    if list.is_empty() {
        Created
    } else if only(&[Skipped], false) {
        Skipped
    } else if only(&[Success, Skipped], true) {
        Success
    } else if only(&[Created], true) {
        Created
    } else if only(&[Canceled, Success, Skipped], true) {
        Canceled
    } else if only(&[Pending, Created, Skipped], true) {
        Pending
    } else if any(&[Running, Pending]) {
        Running
    } else if any(&[Manual]) {
        Manual
    } else if any(&[Created]) {
        Running
    } else {
        Failed
    }
}

fn decide(job: &Job, prior: Prior) -> Option<Status> {
    if prior == Prior::Incomplete {
        return None;
    }
    let ok = matches!(prior, Prior::Success | Prior::Skipped);
    Some(match job.when {
        When::OnSuccess | When::Delayed => {
            if ok {
                Status::Pending
            } else {
                Status::Skipped
            }
        }
        When::OnFailure => {
            if prior == Prior::Failed {
                Status::Pending
            } else {
                Status::Skipped
            }
        }
        When::Always => Status::Pending,
        When::Manual => {
            if ok {
                Status::Manual
            } else {
                Status::Skipped
            }
        }
        When::Never => Status::Skipped,
    })
}

/// Moves `created` jobs of the pipeline forward and recomputes its status.
/// Returns whether any job became `pending` (the runners' queue changed).
pub fn process_pipeline(store: &mut Store, pipeline_id: u64) -> bool {
    let mut queued = false;
    loop {
        let jobs = store.current_jobs(pipeline_id);
        let mut updates = Vec::new();
        for job in jobs.iter().filter(|j| j.status == Status::Created) {
            let deps: Vec<(Status, bool)> = match &job.config.needs {
                Some(needs) => needs
                    .iter()
                    .filter_map(|n| jobs.iter().find(|j| j.name == n.job))
                    .map(|j| (j.status, j.allow_failure))
                    .collect(),
                None => jobs
                    .iter()
                    .filter(|j| j.stage_idx < job.stage_idx)
                    .map(|j| (j.status, j.allow_failure))
                    .collect(),
            };
            if let Some(status) = decide(job, prior(&deps)) {
                updates.push((job.id, status));
            }
        }
        if updates.is_empty() {
            break;
        }
        for (id, status) in updates {
            if let Some(job) = store.jobs.get_mut(&id) {
                job.status = status;
                if status == Status::Pending {
                    queued = true;
                }
                if status == Status::Skipped {
                    job.finished_at = None;
                }
            }
        }
    }
    update_pipeline_status(store, pipeline_id);
    queued
}

/// Recomputes a pipeline's status (and its started/finished times) from its jobs.
pub fn update_pipeline_status(store: &mut Store, pipeline_id: u64) {
    let list: Vec<(Status, bool)> = store
        .current_jobs(pipeline_id)
        .iter()
        .map(|j| (j.status, j.allow_failure))
        .collect();
    let started = store
        .all_jobs(pipeline_id)
        .iter()
        .filter_map(|j| j.started_at)
        .min();
    let Some(pipeline) = store.pipelines.get_mut(&pipeline_id) else {
        return;
    };
    if pipeline.yaml_errors.is_some() {
        return;
    }
    let status = composite(&list);
    let now = Utc::now();
    if status != pipeline.status {
        pipeline.status = status;
        pipeline.updated_at = now;
    }
    pipeline.started_at = started;
    pipeline.finished_at = if status.is_complete() {
        pipeline.finished_at.or(Some(now))
    } else {
        None
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    #[test]
    fn composite_follows_gitlab() {
        assert_eq!(composite(&[(Success, false), (Skipped, false)]), Success);
        assert_eq!(composite(&[(Success, false), (Failed, true)]), Success);
        assert_eq!(composite(&[(Success, false), (Failed, false)]), Failed);
        assert_eq!(composite(&[(Running, false), (Created, false)]), Running);
        assert_eq!(composite(&[(Pending, false), (Created, false)]), Pending);
        assert_eq!(composite(&[(Success, false), (Created, false)]), Running);
        assert_eq!(composite(&[(Success, false), (Manual, false)]), Manual);
        assert_eq!(composite(&[(Success, false), (Manual, true)]), Success);
        assert_eq!(composite(&[(Canceled, false), (Success, false)]), Canceled);
        assert_eq!(composite(&[(Failed, true)]), Success);
        assert_eq!(composite(&[(Manual, true)]), Skipped);
    }
}
