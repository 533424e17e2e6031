//! Checking one assertion against the environment. Each returns a description of what was
//! checked and, on failure, what was found instead.

use std::time::Duration;

use super::model::Check;
use super::report::{AssertionReport, Outcome};
use super::steps::{RunState, check_command};
use super::vars::Vars;
use crate::environment::Environment;
use crate::environment::kubectl::split_words;

mod outputs;
mod volume_probe;

use harness_error_chain::Chain;
pub(crate) use outputs::wait_answer;
use outputs::{artifacts, deployment, http, pvc_files};

type Verdict = Result<(), String>;

/// How long an assertion may take to hold: clusters are eventually consistent (a claim is bound,
/// a rollout finishes, a runner registers a moment after the action), so a check is repeated
/// until it holds or this passes, as kuttl and chainsaw asserts do.
pub const EVENTUALLY: Duration = Duration::from_secs(30);

/// Checks `assertion`, again and again until it holds or [`EVENTUALLY`] has passed.
pub async fn check(env: &Environment, state: &RunState, assertion: &Check) -> AssertionReport {
    let deadline = tokio::time::Instant::now() + EVENTUALLY;
    let (description, result) = loop {
        let (description, result) = run(env, state, assertion).await;
        if result.is_ok() || tokio::time::Instant::now() >= deadline {
            break (description, result);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
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
            pipeline(env, state, p).await,
        ),
        Check::Trace(t) => (
            format!("trace of {}", t.job),
            trace(env, state, t, vars).await,
        ),
        Check::JobPod(j) => (
            format!("pod of job {}", j.job),
            job_pod(env, state, j, vars).await,
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
        Check::Http(h) => match http(env, h, vars).await {
            Ok((url, answer)) => (format!("HTTP GET {url} answered: {answer}"), Ok(())),
            Err(e) => ("HTTP GET".into(), Err(e)),
        },
        Check::Kubectl(k) => {
            let result = async {
                let args = vars.expand(&k.args)?;
                let words = split_words(&args)?;
                let output = env.kubectl.run(&words, Duration::from_secs(60)).await;
                check_command(k, &output, vars)
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
            registered_runners(env, *expected).await,
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

async fn registered_runners(env: &Environment, expected: usize) -> Verdict {
    let runners = env.new_runners().await.map_err(|e| Chain(&e).to_string())?;
    if runners.len() == expected {
        Ok(())
    } else {
        let list: Vec<String> = runners
            .iter()
            .map(|r| format!("#{} {}", r.id, r.description.clone().unwrap_or_default()))
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

async fn pipeline(
    env: &Environment,
    state: &RunState,
    p: &super::model::PipelineAssert,
) -> Verdict {
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
    let project = env.project.id;
    for id in ids {
        let pipeline = env
            .gitlab
            .pipeline(project, id)
            .await
            .map_err(|e| Chain(&e).to_string())?;
        let errors = pipeline.yaml_errors.clone().unwrap_or_default();
        if let Some(want) = &p.status
            && pipeline.status != want.as_str()
        {
            return Err(format!(
                "pipeline {id} is {}, expected {want} {errors}",
                pipeline.status
            ));
        }
        for text in &p.yaml_errors_contain {
            if !errors.contains(text.as_str()) {
                return Err(format!(
                    "pipeline {id}'s configuration errors {errors:?} do not contain {text:?}"
                ));
            }
        }
        let jobs = env
            .gitlab
            .jobs(project, id)
            .await
            .map_err(|e| Chain(&e).to_string())?;
        for (name, want) in &p.jobs {
            let Some(job) = jobs.iter().find(|j| &j.name == name) else {
                let names: Vec<&str> = jobs.iter().map(|j| j.name.as_str()).collect();
                return Err(format!(
                    "pipeline {id} has no job {name}; its jobs: {names:?}"
                ));
            };
            if job.status != want.as_str() {
                return Err(format!(
                    "job {name} is {}, expected {want} (failure reason: {})",
                    job.status,
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

/// The newest pipeline's job called `name`.
async fn job_of(
    env: &Environment,
    state: &RunState,
    name: &str,
) -> Result<crate::clients::gitlab_api::ApiJob, String> {
    let pipeline = newest_pipeline(state)?;
    env.gitlab
        .jobs(env.project.id, pipeline)
        .await
        .map_err(|e| Chain(&e).to_string())?
        .into_iter()
        .find(|j| j.name == name)
        .ok_or_else(|| format!("pipeline {pipeline} has no job {name}"))
}

async fn trace(
    env: &Environment,
    state: &RunState,
    t: &super::model::TraceAssert,
    vars: &Vars,
) -> Verdict {
    let job = job_of(env, state, &t.job).await?;
    let trace = env
        .gitlab
        .trace(env.project.id, job.id)
        .await
        .map_err(|e| Chain(&e).to_string())?;
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
    if let Some(reason) = &t.failure_reason
        && job.failure_reason.as_deref() != Some(reason.as_str())
    {
        return Err(format!(
            "failure reason is {:?}, expected {reason}",
            job.failure_reason
        ));
    }
    Ok(())
}

async fn job_pod(
    env: &Environment,
    state: &RunState,
    j: &super::model::JobPodAssert,
    vars: &Vars,
) -> Verdict {
    let id = job_of(env, state, &j.job).await?.id;
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
