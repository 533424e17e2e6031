//! Runner lifecycle endpoints: register, verify, unregister, reset token, and job requests
//! with long polling.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;
use tokio::time::Instant;

use serde_json::{Map, Value};

use super::body::{Capped, JOB_REQUEST_LIMIT, RUNNER_JSON_LIMIT};
use super::request::{Params, RootUser, project_id, url_decode};
use super::{bad_request, forbidden, json_response, not_found};
use crate::accounts;
use crate::model::{Runner, RunnerType, Status};
use crate::shared::{Shared, random_token};
use crate::{payload, process};

/// `tag_list` as a comma-separated string (legacy registration) or an array.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum TagList {
    Text(String),
    List(Vec<String>),
}

impl TagList {
    fn into_vec(self) -> Vec<String> {
        match self {
            TagList::Text(s) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            TagList::List(l) => l,
        }
    }
}

#[derive(Debug, Deserialize, Default)]
struct RegisterBody {
    #[serde(default)]
    token: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    tag_list: Option<TagList>,
    #[serde(default)]
    run_untagged: Option<bool>,
    #[serde(default)]
    locked: Option<bool>,
    #[serde(default)]
    paused: Option<bool>,
    #[serde(default)]
    active: Option<bool>,
    #[serde(default)]
    access_level: Option<String>,
    #[serde(default)]
    maximum_timeout: Option<u64>,
    #[serde(default)]
    info: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize, Default)]
struct TokenBody {
    #[serde(default)]
    token: String,
}

/// GitLab's answer to a Runner API call without a (readable) `token`.
fn token_missing() -> Response {
    bad_request("token is missing")
}

fn parse<T: for<'de> Deserialize<'de> + Default>(body: &[u8]) -> Option<T> {
    if body.is_empty() {
        return Some(T::default());
    }
    serde_json::from_slice(body).ok()
}

fn registration_details(runner: &Runner) -> serde_json::Value {
    json!({ "id": runner.id, "token": runner.token, "token_expires_at": null })
}

/// Where a new runner takes jobs from.
#[derive(Debug, Clone, Copy)]
enum Scope {
    Instance,
    Group(u64),
    Project(u64),
}

fn create_runner(shared: &Shared, body: RegisterBody, scope: Scope) -> Runner {
    let tags = body.tag_list.map(TagList::into_vec).unwrap_or_default();
    let (runner_type, projects, group_id) = match scope {
        Scope::Instance => (RunnerType::InstanceType, vec![], None),
        Scope::Group(g) => (RunnerType::GroupType, vec![], Some(g)),
        Scope::Project(p) => (RunnerType::ProjectType, vec![p], None),
    };
    let mut store = shared.store();
    let id = store.next_id();
    let runner = Runner {
        id,
        runner_type,
        projects,
        group_id,
        description: body.description.unwrap_or_default(),
        run_untagged: body.run_untagged.unwrap_or(tags.is_empty()),
        tag_list: tags,
        locked: body.locked.unwrap_or(false),
        paused: body.paused.unwrap_or(false) || body.active == Some(false),
        access_level: body.access_level.unwrap_or_else(|| "not_protected".into()),
        maximum_timeout: body.maximum_timeout,
        contacted_at: None,
        version: body
            .info
            .as_ref()
            .and_then(|i| i.get("version"))
            .and_then(|v| v.as_str())
            .map(str::to_string),
        token: format!("glrt-{}", random_token(20)),
    };
    store.runners.insert(id, runner.clone());
    drop(store);
    shared.notify(true);
    tracing::info!(runner = id, r#type = runner_type.as_str(), tags = ?runner.tag_list, "runner registered");
    runner
}

/// `POST /api/v4/runners`: legacy registration with the instance registration token (an
/// instance runner) or a project's `runners_token` (a runner of that project).
pub(crate) async fn register(
    State(s): State<Arc<Shared>>,
    Capped(body): Capped<RUNNER_JSON_LIMIT>,
) -> Response {
    let Some(body) = parse::<RegisterBody>(&body) else {
        return token_missing();
    };
    let scope = if accounts::secrets_equal(&body.token, &s.registration_token) {
        Scope::Instance
    } else {
        let project = s
            .store()
            .projects
            .values()
            .find(|p| {
                !body.token.is_empty() && accounts::secrets_equal(&p.runners_token, &body.token)
            })
            .map(|p| p.id);
        match project {
            Some(id) => Scope::Project(id),
            None => return forbidden(),
        }
    };
    let runner = create_runner(&s, body, scope);
    json_response(StatusCode::CREATED, &registration_details(&runner))
}

/// A boolean parameter sent as JSON or as form text.
fn flag(p: &Map<String, Value>, key: &str) -> Option<bool> {
    match p.get(key)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => Some(s == "true"),
        _ => None,
    }
}

/// An id parameter sent as a JSON number or text.
fn id_param(p: &Map<String, Value>, key: &str) -> Option<String> {
    match p.get(key)? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// `POST /api/v4/user/runners` (`runner_type`: `instance_type`, `group_type` + `group_id`, or
/// `project_type` + `project_id`; `description`, `tag_list`, `run_untagged`, `locked`,
/// `paused`, `access_level`, `maximum_timeout`): GitLab's "New runner" with an access token;
/// answers `{id, token: "glrt-…", token_expires_at}`.
pub(crate) async fn create_user_runner(
    State(s): State<Arc<Shared>>,
    _: RootUser,
    Params(p): Params,
) -> Response {
    let scope = match p.get("runner_type").and_then(Value::as_str) {
        None => return bad_request("runner_type is missing"),
        Some("instance_type") => Scope::Instance,
        Some("group_type") => {
            let Some(id) = id_param(&p, "group_id") else {
                return bad_request("group_id is missing");
            };
            match s.store().group_by_ref(&url_decode(&id)) {
                Some(g) => Scope::Group(g.id),
                None => return not_found("Group"),
            }
        }
        Some("project_type") => {
            let Some(id) = id_param(&p, "project_id") else {
                return bad_request("project_id is missing");
            };
            match project_id(&s, &id) {
                Ok(id) => Scope::Project(id),
                Err(r) => return r,
            }
        }
        Some(_) => return bad_request("runner_type does not have a valid value"),
    };
    let tag_list = match p.get("tag_list") {
        Some(Value::String(text)) => Some(TagList::Text(text.clone())),
        Some(Value::Array(list)) => Some(TagList::List(
            list.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        )),
        _ => None,
    };
    let body = RegisterBody {
        description: p
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_string),
        tag_list,
        run_untagged: flag(&p, "run_untagged"),
        locked: flag(&p, "locked"),
        paused: flag(&p, "paused"),
        access_level: p
            .get("access_level")
            .and_then(Value::as_str)
            .map(str::to_string),
        maximum_timeout: id_param(&p, "maximum_timeout").and_then(|t| t.parse().ok()),
        ..RegisterBody::default()
    };
    let runner = create_runner(&s, body, scope);
    json_response(StatusCode::CREATED, &registration_details(&runner))
}

/// `POST /api/v4/runners/verify`.
pub(crate) async fn verify(
    State(s): State<Arc<Shared>>,
    Capped(body): Capped<RUNNER_JSON_LIMIT>,
) -> Response {
    let body = parse::<TokenBody>(&body).unwrap_or_default();
    let runner = {
        let mut store = s.store();
        let runner = store
            .runners
            .values_mut()
            .find(|r| !body.token.is_empty() && r.token == body.token);
        runner.map(|r| {
            r.contacted_at = Some(Utc::now());
            r.clone()
        })
    };
    match runner {
        Some(r) => json_response(StatusCode::OK, &registration_details(&r)),
        None => forbidden(),
    }
}

/// `DELETE /api/v4/runners` and `DELETE /api/v4/runners/managers`.
pub(crate) async fn unregister(
    State(s): State<Arc<Shared>>,
    Capped(body): Capped<RUNNER_JSON_LIMIT>,
) -> Response {
    let body = parse::<TokenBody>(&body).unwrap_or_default();
    let mut store = s.store();
    let Some(id) = store.runner_by_token(&body.token).map(|r| r.id) else {
        return forbidden();
    };
    store.runners.remove(&id);
    drop(store);
    s.notify(false);
    StatusCode::NO_CONTENT.into_response()
}

/// `DELETE /api/v4/runners/managers`: only this machine's manager goes; the runner stays.
pub(crate) async fn unregister_manager(
    State(s): State<Arc<Shared>>,
    Capped(body): Capped<RUNNER_JSON_LIMIT>,
) -> Response {
    let body = parse::<TokenBody>(&body).unwrap_or_default();
    if s.store().runner_by_token(&body.token).is_none() {
        return forbidden();
    }
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /api/v4/runners/reset_authentication_token`.
pub(crate) async fn reset_token(
    State(s): State<Arc<Shared>>,
    Capped(body): Capped<RUNNER_JSON_LIMIT>,
) -> Response {
    let body = parse::<TokenBody>(&body).unwrap_or_default();
    let mut store = s.store();
    let Some(id) = store.runner_by_token(&body.token).map(|r| r.id) else {
        return forbidden();
    };
    let token = format!("glrt-{}", random_token(20));
    if let Some(r) = store.runners.get_mut(&id) {
        r.token = token.clone();
    }
    json_response(
        StatusCode::CREATED,
        &json!({ "token": token, "token_expires_at": null }),
    )
}

#[derive(Debug, Deserialize, Default)]
struct JobRequestBody {
    #[serde(default)]
    token: String,
    #[serde(default)]
    last_update: Option<String>,
    #[serde(default)]
    info: Option<serde_json::Value>,
}

fn with_last_update(mut response: Response, shared: &Shared) -> Response {
    if let Ok(v) = HeaderValue::from_str(&shared.last_update()) {
        response.headers_mut().insert("x-gitlab-last-update", v);
    }
    response
}

/// `POST /api/v4/jobs/request`: hands out the oldest matching pending job.
///
/// A request whose `last_update` equals the current queue value is held (like Workhorse's long
/// polling) until the queue changes or [`crate::GitLabConfig::long_poll`] passes; unlike
/// Workhorse, a change is answered with the job itself instead of a 204, so a runner with a long
/// `check_interval` still starts jobs at once.
pub(crate) async fn request_job(
    State(s): State<Arc<Shared>>,
    Capped(body): Capped<JOB_REQUEST_LIMIT>,
) -> Response {
    let Some(body) = parse::<JobRequestBody>(&body) else {
        return token_missing();
    };
    let runner_id = {
        let mut store = s.store();
        let Some(runner) = store
            .runners
            .values_mut()
            .find(|r| r.token == body.token && !body.token.is_empty())
        else {
            return forbidden();
        };
        runner.contacted_at = Some(Utc::now());
        if let Some(v) = body
            .info
            .as_ref()
            .and_then(|i| i.get("version"))
            .and_then(|v| v.as_str())
        {
            runner.version = Some(v.to_string());
        }
        if runner.paused {
            drop(store);
            return with_last_update(StatusCode::NO_CONTENT.into_response(), &s);
        }
        runner.id
    };
    let mut rx = s.queue.subscribe();
    let hold = body.last_update.as_deref() == Some(s.last_update().as_str());
    let deadline = Instant::now()
        + if hold {
            s.config.long_poll
        } else {
            Default::default()
        };
    let mut waiting: Option<WaitingGuard<'_>> = None;
    loop {
        if let Some(payload) = assign(&s, runner_id) {
            return with_last_update(json_response(StatusCode::CREATED, &payload), &s);
        }
        if Instant::now() >= deadline {
            return with_last_update(StatusCode::NO_CONTENT.into_response(), &s);
        }
        if waiting.is_none() {
            waiting = Some(WaitingGuard::new(&s));
        }
        tokio::select! {
            changed = rx.changed() => if changed.is_err() { return StatusCode::NO_CONTENT.into_response() },
            _ = tokio::time::sleep_until(deadline) => {}
            _ = s.shutdown.cancelled() => return with_last_update(StatusCode::NO_CONTENT.into_response(), &s),
        }
    }
}

/// Counts a held job request for as long as it is held (also when the client goes away).
struct WaitingGuard<'a>(&'a Shared);

impl<'a> WaitingGuard<'a> {
    fn new(shared: &'a Shared) -> Self {
        shared
            .waiting_requests
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        shared.notify(false);
        Self(shared)
    }
}

impl Drop for WaitingGuard<'_> {
    fn drop(&mut self) {
        self.0
            .waiting_requests
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        self.0.notify(false);
    }
}

/// Whether `runner` serves `job`'s project: instance runners every project, group runners the
/// projects under their group, project runners the projects they are assigned to.
fn runner_serves(store: &crate::store::Store, runner: &Runner, job: &crate::model::Job) -> bool {
    match runner.runner_type {
        RunnerType::InstanceType => true,
        RunnerType::ProjectType => runner.projects.contains(&job.project_id),
        RunnerType::GroupType => {
            let namespace = store.projects.get(&job.project_id).map(|p| p.namespace_id);
            runner
                .group_id
                .is_some_and(|g| namespace.is_some_and(|ns| store.group_tree(g).contains(&ns)))
        }
    }
}

fn runner_can_run(runner: &Runner, job: &crate::model::Job, protected: bool) -> bool {
    let tags_ok = if job.tag_list.is_empty() {
        runner.run_untagged
    } else {
        job.tag_list.iter().all(|t| runner.tag_list.contains(t))
    };
    tags_ok && (runner.access_level != "ref_protected" || protected)
}

/// Picks the oldest pending job `runner_id` may run, marks it running and builds its payload.
pub fn assign(shared: &Shared, runner_id: u64) -> Option<serde_json::Value> {
    let mut store = shared.store();
    let runner = store.runners.get(&runner_id)?.clone();
    let job_id = store
        .jobs
        .values()
        .filter(|j| j.status == Status::Pending)
        .filter(|j| {
            let protected = store
                .pipelines
                .get(&j.pipeline_id)
                .is_some_and(|p| p.protected);
            runner_serves(&store, &runner, j) && runner_can_run(&runner, j, protected)
        })
        .map(|j| j.id)
        .min()?;
    let job = store.jobs.get_mut(&job_id)?;
    job.status = Status::Running;
    job.runner_id = Some(runner_id);
    job.started_at = Some(Utc::now());
    let pipeline_id = job.pipeline_id;
    process::update_pipeline_status(&mut store, pipeline_id);
    let job = store.jobs.get(&job_id)?;
    let payload = payload::job_payload(shared, &store, job, &runner);
    drop(store);
    shared.notify(false);
    tracing::info!(job = job_id, runner = runner_id, "job assigned");
    Some(payload)
}
