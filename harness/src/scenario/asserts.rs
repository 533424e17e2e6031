//! Checking one assertion against the environment. Each returns a description of what was
//! checked and, on failure, what was found instead.

use std::time::Duration;

use super::model::Check;
use super::report::{AssertionReport, Outcome};
use super::steps::{RunState, check_kubectl};
use super::vars::Vars;
use crate::environment::Environment;
use crate::environment::kubectl::split_words;

mod outputs;

use outputs::{artifacts, deployment, http, pvc_files};

type Verdict = Result<(), String>;

/// Checks `assertion`.
pub async fn check(env: &Environment, state: &RunState, assertion: &Check) -> AssertionReport {
    let (description, result) = run(env, state, assertion).await;
    AssertionReport {
        description,
        outcome: match result {
            Ok(()) => Outcome::Passed,
            Err(message) => Outcome::Failed(message),
        },
    }
}

async fn run(env: &Environment, state: &RunState, check: &Check) -> (String, Verdict) {
    let vars = &env.vars;
    match check {
        Check::Pipeline(p) => (
            format!("pipeline status {:?}, jobs {:?}", p.status, p.jobs),
            pipeline(env, state, p),
        ),
        Check::Trace(t) => (format!("trace of {}", t.job), trace(env, state, t, vars)),
        Check::JobPod(j) => (
            format!("pod of job {}", j.job),
            job_pod(env, state, j, vars),
        ),
        Check::Artifacts(x) => (
            format!("artifacts of {}", x.job),
            artifacts(env, state, x).await,
        ),
        Check::PvcFiles(p) => (
            format!("files on PVC {}/{}", p.namespace, p.claim),
            pvc_files(env, p).await,
        ),
        Check::RegistryImage(r) => match (vars.expand(&r.repository), vars.expand(&r.tag)) {
            (Ok(repository), Ok(tag)) => {
                let found = env
                    .registry
                    .tags(&repository)
                    .await
                    .map_err(|e| e.to_string());
                let result = match found {
                    Ok(tags) if tags.contains(&tag) => Ok(()),
                    Ok(tags) => Err(format!(
                        "registry has tags {tags:?} for {repository}, not {tag}"
                    )),
                    Err(e) => Err(e),
                };
                (format!("registry image {repository}:{tag}"), result)
            }
            (Err(e), _) | (_, Err(e)) => ("registry image".into(), Err(e)),
        },
        Check::Deployment(d) => (
            format!("deployment {}/{}", d.namespace, d.name),
            deployment(env, d, vars).await,
        ),
        Check::Http(h) => match http(h, vars).await {
            Ok(answer) => (format!("HTTP GET {} answered: {answer}", h.url), Ok(())),
            Err(e) => (format!("HTTP GET {}", h.url), Err(e)),
        },
        Check::Kubectl(k) => {
            let result = async {
                let args = vars.expand(&k.args)?;
                let words = split_words(&args)?;
                let output = env.kubectl.run(&words, Duration::from_secs(60)).await;
                check_kubectl(k, &output, vars)
                    .map_err(|e| format!("{e}\n{}{}", output.stdout, output.stderr))
            }
            .await;
            (format!("kubectl {}", k.args), result)
        }
        Check::LintErrors(expected) => ("lint errors".into(), lint_errors(state, expected)),
        Check::Findings(expected) => ("upgrade-check findings".into(), findings(state, expected)),
        Check::MaxConcurrentJobPods(limit) => {
            let seen = env.pods.max_concurrent_job_pods();
            let result = if seen <= *limit && seen > 0 {
                Ok(())
            } else {
                Err(format!(
                    "at most {seen} job pods existed at once (limit {limit}; 0 means no job pod was seen)"
                ))
            };
            (format!("at most {limit} job pods at once"), result)
        }
        Check::RegisteredRunners(expected) => (
            format!("{expected} registered runner(s)"),
            registered_runners(env, *expected),
        ),
    }
}

fn lint_errors(state: &RunState, expected: &[String]) -> Verdict {
    match &state.last_lint {
        None => Err("no lint step ran before this assertion".into()),
        Some(errors) => {
            let missing: Vec<&String> = expected
                .iter()
                .filter(|e| !errors.iter().any(|got| got.contains(e.as_str())))
                .collect();
            if missing.is_empty() && (expected.is_empty() == errors.is_empty()) {
                Ok(())
            } else {
                Err(format!(
                    "lint gave {errors:?}; expected messages {expected:?}"
                ))
            }
        }
    }
}

fn findings(state: &RunState, expected: &[String]) -> Verdict {
    let missing: Vec<&String> = expected
        .iter()
        .filter(|e| !state.last_findings.iter().any(|f| f.contains(e.as_str())))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "no finding mentions {missing:?}; findings:\n{}",
            state.last_findings.join("\n")
        ))
    }
}

fn registered_runners(env: &Environment, expected: usize) -> Verdict {
    let runners = env.gitlab.runners();
    if runners.len() == expected {
        Ok(())
    } else {
        let list: Vec<String> = runners
            .iter()
            .map(|r| format!("#{} {}", r.id, r.description))
            .collect();
        Err(format!(
            "GitLab has {} registered runner(s): {}",
            runners.len(),
            list.join(", ")
        ))
    }
}

fn newest_pipeline(state: &RunState) -> Result<u64, String> {
    state.last_pipelines.last().copied().ok_or_else(|| {
        "no pipeline has finished yet: add a `wait: pipelines` step before".to_owned()
    })
}

fn status_text<T: serde::Serialize>(status: &T) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn pipeline(env: &Environment, state: &RunState, p: &super::model::PipelineAssert) -> Verdict {
    let count = p.count.unwrap_or(1);
    let ids: Vec<u64> = state
        .last_pipelines
        .iter()
        .rev()
        .take(count)
        .copied()
        .collect();
    if ids.len() < count {
        return Err(format!(
            "{count} finished pipeline(s) expected, {} found",
            ids.len()
        ));
    }
    for id in ids {
        let pipeline = env
            .gitlab
            .pipeline(id)
            .ok_or(format!("pipeline {id} is gone"))?;
        if let Some(want) = &p.status {
            let got = status_text(&pipeline.status);
            if got != want.as_str() {
                let errors = pipeline.yaml_errors.clone().unwrap_or_default();
                return Err(format!("pipeline {id} is {got}, expected {want} {errors}"));
            }
        }
        let errors = pipeline.yaml_errors.clone().unwrap_or_default();
        for text in &p.yaml_errors_contain {
            if !errors.contains(text.as_str()) {
                return Err(format!(
                    "pipeline {id}'s configuration errors {errors:?} do not contain {text:?}"
                ));
            }
        }
        let jobs = env.gitlab.jobs(id);
        for (name, want) in &p.jobs {
            let Some(job) = jobs.iter().rev().find(|j| &j.name == name) else {
                let names: Vec<&str> = jobs.iter().map(|j| j.name.as_str()).collect();
                return Err(format!(
                    "pipeline {id} has no job {name}; its jobs: {names:?}"
                ));
            };
            let got = status_text(&job.status);
            if got != want.as_str() {
                return Err(format!(
                    "job {name} is {got}, expected {want} (failure reason: {})",
                    job.failure_reason.clone().unwrap_or_default()
                ));
            }
        }
        if p.only_these_jobs {
            let extra: Vec<&str> = jobs
                .iter()
                .map(|j| j.name.as_str())
                .filter(|n| !p.jobs.contains_key(*n))
                .collect();
            if !extra.is_empty() {
                return Err(format!("pipeline {id} has unexpected jobs {extra:?}"));
            }
        }
    }
    Ok(())
}

fn job_id(env: &Environment, state: &RunState, name: &str) -> Result<u64, String> {
    let pipeline = newest_pipeline(state)?;
    env.gitlab
        .jobs(pipeline)
        .into_iter()
        .rev()
        .find(|j| j.name == name)
        .map(|j| j.id)
        .ok_or_else(|| format!("pipeline {pipeline} has no job {name}"))
}

fn trace(
    env: &Environment,
    state: &RunState,
    t: &super::model::TraceAssert,
    vars: &Vars,
) -> Verdict {
    let id = job_id(env, state, &t.job)?;
    let trace = env.gitlab.trace(id).unwrap_or_default();
    for text in &t.contains {
        let text = vars.expand(text)?;
        if !trace.contains(&text) {
            return Err(format!(
                "trace of {} does not contain {text:?}; it ends with:\n{}",
                t.job,
                crate::process::tail(&trace, 15)
            ));
        }
    }
    for text in &t.not_contains {
        let text = vars.expand(text)?;
        if trace.contains(&text) {
            return Err(format!("trace of {} contains {text:?}", t.job));
        }
    }
    if let Some(reason) = &t.failure_reason {
        let job = env.gitlab.job(id).ok_or("job is gone")?;
        if job.failure_reason.as_deref() != Some(reason.as_str()) {
            return Err(format!(
                "failure reason is {:?}, expected {reason}",
                job.failure_reason
            ));
        }
    }
    Ok(())
}

fn job_pod(
    env: &Environment,
    state: &RunState,
    j: &super::model::JobPodAssert,
    vars: &Vars,
) -> Verdict {
    let id = job_id(env, state, &j.job)?;
    let recorded = env
        .pods
        .job_pod(id)
        .ok_or(format!("no pod was seen for job {} (id {id})", j.job))?;
    let pod = &recorded.pod;
    let name = pod.metadata.name.clone().unwrap_or_default();
    let spec = pod.spec.as_ref().ok_or("pod has no spec")?;
    if let Some(pattern) = &j.name_matches {
        let re = regex::Regex::new(pattern).map_err(|e| format!("name_matches: {e}"))?;
        if !re.is_match(&name) {
            return Err(format!("pod name {name} does not match {pattern}"));
        }
    }
    let containers: Vec<String> = spec.containers.iter().map(|c| c.name.clone()).collect();
    if !j.containers.is_empty() && containers != j.containers {
        return Err(format!(
            "pod {name} has containers {containers:?}, expected {:?}",
            j.containers
        ));
    }
    let build = spec
        .containers
        .iter()
        .find(|c| c.name == "build")
        .or(spec.containers.first())
        .ok_or("no container")?;
    if let Some(image) = &j.image {
        let image = vars.expand(image)?;
        if build.image.as_deref() != Some(image.as_str()) {
            return Err(format!(
                "build image is {:?}, expected {image}",
                build.image
            ));
        }
    }
    if let Some(sa) = &j.service_account
        && spec.service_account_name.as_deref() != Some(sa.as_str())
    {
        return Err(format!(
            "service account is {:?}, expected {sa}",
            spec.service_account_name
        ));
    }
    let mounts: Vec<String> = build
        .volume_mounts
        .iter()
        .flatten()
        .map(|m| m.mount_path.clone())
        .collect();
    for mount in &j.mounts {
        if !mounts.contains(mount) {
            return Err(format!("build container mounts {mounts:?}, not {mount}"));
        }
    }
    let volumes = spec.volumes.clone().unwrap_or_default();
    for claim in &j.claims {
        if !volumes.iter().any(|v| {
            v.persistent_volume_claim
                .as_ref()
                .is_some_and(|c| &c.claim_name == claim)
        }) {
            return Err(format!("pod {name} mounts no PVC {claim}"));
        }
    }
    for path in &j.host_paths {
        if !volumes
            .iter()
            .any(|v| v.host_path.as_ref().is_some_and(|h| &h.path == path))
        {
            return Err(format!("pod {name} mounts no hostPath {path}"));
        }
    }
    if let Some(code) = j.exit_code {
        let got = pod
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.name == build.name))
            .and_then(|c| {
                c.state
                    .as_ref()
                    .and_then(|s| s.terminated.as_ref())
                    .or(c.last_state.as_ref().and_then(|s| s.terminated.as_ref()))
            })
            .map(|t| t.exit_code as i64);
        if got != Some(code) {
            return Err(format!(
                "build container exit code is {got:?}, expected {code}"
            ));
        }
    }
    Ok(())
}
