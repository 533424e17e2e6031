//! What a runner receives for a job: variables (predefined `CI_*` first, then YAML, instance,
//! project and pipeline variables, later ones winning) and the `POST /jobs/request` body.

use serde_json::{Value, json};

use crate::model::{Job, Project, Runner, Variable, VariableType};
use crate::shared::Shared;
use crate::store::Store;
pub use crate::variables::{pipeline_variables, settings_variables, slug};

/// A variable as sent to the runner.
#[derive(Debug, Clone, PartialEq)]
pub struct JobVariable {
    /// Name.
    pub key: String,
    /// Value.
    pub value: String,
    /// Put into the job's environment in the pod spec (non-secret).
    pub public: bool,
    /// Hidden in traces.
    pub masked: bool,
    /// File-type.
    pub file: bool,
    /// Not expanded.
    pub raw: bool,
}

impl JobVariable {
    fn public(key: &str, value: impl Into<String>) -> Self {
        Self {
            key: key.to_string(),
            value: value.into(),
            public: true,
            masked: false,
            file: false,
            raw: false,
        }
    }

    fn from_setting(v: &Variable) -> Self {
        Self {
            key: v.key.clone(),
            value: v.value.clone(),
            public: false,
            masked: v.masked,
            file: v.variable_type == VariableType::File,
            raw: v.raw,
        }
    }

    fn to_json(&self) -> Value {
        let mut v = json!({"key": self.key, "value": self.value, "public": self.public, "masked": self.masked});
        if self.file {
            v["file"] = json!(true);
        }
        if self.raw {
            v["raw"] = json!(true);
        }
        v
    }
}

/// Every variable of a job, in the order the runner applies them (last wins).
pub fn job_variables(
    shared: &Shared,
    store: &Store,
    job: &Job,
    runner: Option<&Runner>,
) -> Vec<JobVariable> {
    let (Some(project), Some(pipeline)) = (
        store.projects.get(&job.project_id),
        store.pipelines.get(&job.pipeline_id),
    ) else {
        return Vec::new();
    };
    let mut out: Vec<JobVariable> = pipeline_variables(shared, project, pipeline)
        .iter()
        .map(|(k, v)| JobVariable::public(k, v.clone()))
        .collect();
    let repo_url = repo_url_with_token(shared, project, &job.token);
    let job_url = format!("{}/-/jobs/{}", project.web_url, job.id);
    for (k, v) in [
        ("CI_JOB_ID", job.id.to_string()),
        ("CI_JOB_NAME", job.name.clone()),
        ("CI_JOB_STAGE", job.stage.clone()),
        ("CI_JOB_URL", job_url),
        (
            "CI_JOB_STARTED_AT",
            job.started_at
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default(),
        ),
        ("CI_NODE_TOTAL", "1".into()),
        (
            "CI_PROJECT_DIR",
            format!("/builds/{}", project.path_with_namespace),
        ),
        ("CI_REGISTRY_USER", "gitlab-ci-token".into()),
    ] {
        out.push(JobVariable::public(k, v));
    }
    if job.when == crate::ci::model::When::Manual {
        out.push(JobVariable::public("CI_JOB_MANUAL", "true"));
    }
    if let Some(image) = &job.config.image {
        out.push(JobVariable::public("CI_JOB_IMAGE", image.name.clone()));
    }
    for (k, v) in [
        ("CI_JOB_TOKEN", job.token.clone()),
        ("CI_BUILD_TOKEN", job.token.clone()),
    ] {
        out.push(JobVariable {
            public: false,
            masked: true,
            ..JobVariable::public(k, v)
        });
    }
    out.push(JobVariable {
        public: false,
        ..JobVariable::public("CI_REPOSITORY_URL", repo_url)
    });
    if let Some(r) = runner {
        out.push(JobVariable::public("CI_RUNNER_ID", r.id.to_string()));
        out.push(JobVariable::public(
            "CI_RUNNER_DESCRIPTION",
            r.description.clone(),
        ));
        out.push(JobVariable::public(
            "CI_RUNNER_TAGS",
            serde_json::to_string(&r.tag_list).unwrap_or_default(),
        ));
    }
    for (k, v) in &job.config.variables {
        out.push(JobVariable::public(k, v.clone()));
    }
    for v in settings_variables(store, job.project_id, pipeline.protected) {
        out.push(JobVariable::from_setting(&v));
    }
    for (k, v) in &pipeline.variables {
        out.push(JobVariable {
            public: false,
            ..JobVariable::public(k, v.clone())
        });
    }
    out
}

/// `http://gitlab-ci-token:<token>@127.0.0.1:PORT/group/name.git`.
pub fn repo_url_with_token(shared: &Shared, project: &Project, token: &str) -> String {
    let hostport = shared.base.trim_start_matches("http://");
    format!(
        "http://gitlab-ci-token:{token}@{hostport}/{}.git",
        project.path_with_namespace
    )
}

fn image_json(image: &crate::ci::model::ImageConfig) -> Value {
    let mut v = json!({"name": image.name});
    if let Some(e) = &image.entrypoint {
        v["entrypoint"] = json!(e);
    }
    if let Some(c) = &image.command {
        v["command"] = json!(c);
    }
    if let Some(a) = &image.alias {
        v["alias"] = json!(a);
    }
    if !image.pull_policy.is_empty() {
        v["pull_policy"] = json!(image.pull_policy);
    }
    v["ports"] = json!([]);
    v
}

/// The 201 body of `POST /api/v4/jobs/request`, shaped like GitLab's `JobRequest::Response`.
pub fn job_payload(shared: &Shared, store: &Store, job: &Job, runner: &Runner) -> Value {
    let (Some(project), Some(pipeline)) = (
        store.projects.get(&job.project_id),
        store.pipelines.get(&job.pipeline_id),
    ) else {
        return Value::Null;
    };
    let c = &job.config;
    // The job's `timeout:` (else the project's 1 h), capped by the runner's maximum timeout.
    let timeout = c
        .timeout
        .unwrap_or(3600)
        .min(runner.maximum_timeout.unwrap_or(u64::MAX));
    let mut steps = vec![json!({
        "name": "script",
        "script": c.before_script.iter().chain(c.script.iter()).collect::<Vec<_>>(),
        "timeout": timeout, "when": "on_success", "allow_failure": false,
    })];
    if !c.after_script.is_empty() {
        steps.push(
            json!({"name": "after_script", "script": c.after_script, "timeout": timeout,
            "when": "always", "allow_failure": true}),
        );
    }
    let mut artifacts = Vec::new();
    if let Some(a) = &c.artifacts {
        if !a.paths.is_empty() || a.untracked {
            artifacts.push(json!({
                "name": a.name.clone().unwrap_or_else(|| "artifacts".into()),
                "untracked": a.untracked, "paths": a.paths, "exclude": a.exclude, "when": a.when,
                "expire_in": a.expire_in, "artifact_type": "archive", "artifact_format": "zip",
            }));
        }
        if !a.junit.is_empty() {
            artifacts.push(json!({
                "name": "junit.xml.gz", "untracked": false, "paths": a.junit, "when": "always",
                "expire_in": a.expire_in, "artifact_type": "junit", "artifact_format": "gzip",
            }));
        }
    }
    let cache: Vec<Value> = c
        .cache
        .iter()
        .map(|k| {
            let suffix = if pipeline.protected { "protected" } else { "non_protected" };
            json!({"key": format!("{}-{suffix}", k.key), "untracked": k.untracked, "policy": k.policy,
                "paths": k.paths, "when": k.when, "fallback_keys": []})
        })
        .collect();
    let dependencies: Vec<Value> = dependency_jobs(store, job)
        .into_iter()
        .map(|d| {
            let mut v = json!({"id": d.id, "name": d.name, "token": job.token});
            if let Some(a) = d.artifacts.iter().find(|a| a.file_type == "archive") {
                v["artifacts_file"] = json!({"filename": a.filename, "size": a.size});
            }
            v
        })
        .collect();
    let ref_type = if pipeline.tag { "tag" } else { "branch" };
    let refspec = if pipeline.tag {
        format!("+refs/tags/{0}:refs/tags/{0}", pipeline.ref_name)
    } else {
        format!("+refs/heads/{0}:refs/remotes/origin/{0}", pipeline.ref_name)
    };
    json!({
        "id": job.id,
        "token": job.token,
        "allow_git_fetch": true,
        "job_info": {
            "id": job.id, "name": job.name, "stage": job.stage, "project_id": project.id,
            "project_name": project.name, "project_full_path": project.path_with_namespace,
            "pipeline_id": pipeline.id, "namespace_id": 1, "root_namespace_id": 1, "user_id": 1,
            "time_in_queue_seconds": (chrono::Utc::now() - job.created_at).num_milliseconds() as f64 / 1000.0,
            "project_jobs_running_on_instance_runners_count": "0", "queue_size": 0, "queue_depth": 0,
        },
        "git_info": {
            "repo_url": repo_url_with_token(shared, project, &job.token),
            "repo_object_format": "sha1",
            "ref": pipeline.ref_name, "sha": pipeline.sha, "before_sha": pipeline.before_sha,
            "ref_type": ref_type, "refspecs": [refspec], "depth": 20, "protected": pipeline.protected,
        },
        "runner_info": {"timeout": timeout, "runner_session_url": null},
        "variables": job_variables(shared, store, job, Some(runner)).iter().map(JobVariable::to_json).collect::<Vec<_>>(),
        "steps": steps,
        "image": c.image.as_ref().map(image_json),
        "services": c.services.iter().map(image_json).collect::<Vec<_>>(),
        "artifacts": artifacts,
        "cache": cache,
        "credentials": [],
        "dependencies": dependencies,
        "features": {"trace_sections": true, "token_mask_prefixes": ["glpat-", "glcbt-", "glrt-", "GR1348941"], "failure_reasons": [
            "unknown_failure", "script_failure", "api_failure", "stuck_or_timeout_failure",
            "runner_system_failure", "missing_dependency_failure", "runner_unsupported",
            "stale_schedule", "job_execution_timeout", "archived_failure", "unmet_prerequisites",
            "scheduler_failure", "data_integrity_failure", "forward_deployment_failure",
            "user_blocked", "project_deleted", "insufficient_bridge_permissions",
            "downstream_bridge_project_not_found", "invalid_bridge_trigger",
            "bridge_pipeline_is_child_pipeline", "downstream_pipeline_creation_failed",
            "secrets_provider_not_found", "reached_max_descendant_pipelines_depth",
            "image_pull_failure", "runner_configuration_error", "runner_external_dependency_failure"]},
    })
}

/// Jobs whose artifacts `job` downloads: `dependencies:`, else `needs:` with artifacts, else
/// every job of earlier stages.
pub fn dependency_jobs<'a>(store: &'a Store, job: &Job) -> Vec<&'a Job> {
    let jobs = store.current_jobs(job.pipeline_id);
    let by_name = |name: &str| jobs.iter().copied().find(|j| j.name == name);
    if let Some(deps) = &job.config.dependencies {
        return deps.iter().filter_map(|d| by_name(d)).collect();
    }
    if let Some(needs) = &job.config.needs {
        return needs
            .iter()
            .filter(|n| n.artifacts)
            .filter_map(|n| by_name(&n.job))
            .collect();
    }
    jobs.iter()
        .copied()
        .filter(|j| j.stage_idx < job.stage_idx)
        .collect()
}
