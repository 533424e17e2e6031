//! GitLab v4 JSON shapes of projects, pipelines, jobs, runners and variables.

use serde_json::{Value, json};

use crate::model::{Job, Pipeline, Project, Runner, RunnerType, Variable};
use crate::namespaces::{Group, Namespace};
use crate::store::Store;

fn time(t: Option<chrono::DateTime<chrono::Utc>>) -> Value {
    t.map(|t| json!(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)))
        .unwrap_or(Value::Null)
}

fn user() -> Value {
    json!({"id": 1, "username": "root", "name": "Administrator", "state": "active"})
}

/// A namespace (`GET /namespaces`, and inside a project).
pub(crate) fn namespace(n: &Namespace, base: &str) -> Value {
    let web = if n.kind == "group" {
        format!("{base}/groups/{}", n.full_path)
    } else {
        format!("{base}/{}", n.full_path)
    };
    json!({
        "id": n.id, "name": n.name, "path": n.path, "kind": n.kind, "full_path": n.full_path,
        "parent_id": n.parent_id, "avatar_url": null, "web_url": web,
    })
}

/// `GET /projects/:id`; `admin` adds what only admins see (`runners_token`).
pub(crate) fn project(p: &Project, store: &Store, base: &str, admin: bool) -> Value {
    let ns = store
        .namespaces()
        .into_iter()
        .find(|n| n.id == p.namespace_id);
    let mut names: Vec<String> = Vec::new();
    let mut group = ns.as_ref().filter(|n| n.kind == "group").map(|n| n.id);
    while let Some(id) = group {
        let Some(g) = store.groups.get(&id) else {
            break;
        };
        names.insert(0, g.name.clone());
        group = g.parent_id;
    }
    if ns.as_ref().is_some_and(|n| n.kind == "user") {
        names.push("Administrator".into());
    }
    names.push(p.name.clone());
    let mut v = json!({
        "id": p.id, "name": p.name, "path": p.path, "description": null,
        "name_with_namespace": names.join(" / "),
        "path_with_namespace": p.path_with_namespace,
        "created_at": time(Some(p.created_at)), "default_branch": p.default_branch,
        "http_url_to_repo": p.http_url_to_repo, "web_url": p.web_url,
        "visibility": p.visibility.as_str(),
        "namespace": ns.map(|n| namespace(&n, base)),
        "ci_config_path": null,
    });
    if admin {
        v["runners_token"] = json!(p.runners_token);
    }
    v
}

/// `GET /groups/:id` (with its projects, as GitLab 17 still lists them).
pub(crate) fn group(g: &Group, store: &Store, base: &str) -> Value {
    let projects: Vec<Value> = store
        .projects
        .values()
        .filter(|p| p.namespace_id == g.id)
        .map(|p| project(p, store, base, false))
        .collect();
    let mut names = vec![g.name.clone()];
    let mut parent = g.parent_id;
    while let Some(id) = parent {
        let Some(up) = store.groups.get(&id) else {
            break;
        };
        names.insert(0, up.name.clone());
        parent = up.parent_id;
    }
    json!({
        "id": g.id, "web_url": format!("{base}/groups/{}", g.full_path), "name": g.name,
        "path": g.path, "description": g.description, "visibility": g.visibility.as_str(),
        "full_name": names.join(" / "), "full_path": g.full_path, "parent_id": g.parent_id,
        "created_at": time(Some(g.created_at)), "avatar_url": null,
        "projects": projects, "shared_projects": [],
    })
}

/// `GET /user` for root.
pub(crate) fn root_user(base: &str) -> Value {
    json!({
        "id": 1, "username": "root", "name": "Administrator", "state": "active", "locked": false,
        "avatar_url": null, "web_url": format!("{base}/root"), "email": "admin@example.com",
        "public_email": null, "is_admin": true, "bot": false, "can_create_group": true,
        "can_create_project": true, "two_factor_enabled": false, "external": false,
        "private_profile": false, "namespace_id": null,
    })
}

fn duration(
    start: Option<chrono::DateTime<chrono::Utc>>,
    end: Option<chrono::DateTime<chrono::Utc>>,
) -> Value {
    match (start, end) {
        (Some(s), Some(e)) => json!((e - s).num_milliseconds() as f64 / 1000.0),
        _ => Value::Null,
    }
}

/// `GET /projects/:id/pipelines/:pipeline_id`.
pub fn pipeline(p: &Pipeline, project: Option<&Project>) -> Value {
    let web = project.map(|pr| format!("{}/-/pipelines/{}", pr.web_url, p.id));
    json!({
        "id": p.id, "iid": p.iid, "project_id": p.project_id, "sha": p.sha, "ref": p.ref_name,
        "status": p.status.as_str(), "source": p.source, "before_sha": p.before_sha, "tag": p.tag,
        "yaml_errors": p.yaml_errors, "user": user(),
        "created_at": time(Some(p.created_at)), "updated_at": time(Some(p.updated_at)),
        "started_at": time(p.started_at), "finished_at": time(p.finished_at),
        "committed_at": null, "duration": duration(p.started_at, p.finished_at),
        "queued_duration": null, "coverage": null, "web_url": web,
        "detailed_status": {"icon": format!("status_{}", p.status.as_str()), "text": p.status.as_str(),
            "label": p.status.as_str(), "group": p.status.as_str(), "has_details": true,
            "details_path": web},
    })
}

/// A pipeline with its own project's links, as the REST endpoints answer it.
pub fn pipeline_in(p: &Pipeline, store: &Store) -> Value {
    pipeline(p, store.projects.get(&p.project_id))
}

/// `GET /projects/:id/jobs/:job_id`.
pub fn job(j: &Job, store: &Store) -> Value {
    let pipeline = store.pipelines.get(&j.pipeline_id);
    let project = store.projects.get(&j.project_id);
    let runner = j.runner_id.and_then(|id| store.runners.get(&id));
    let artifacts: Vec<Value> = j
        .artifacts
        .iter()
        .map(|a| json!({"file_type": a.file_type, "size": a.size, "filename": a.filename, "file_format": a.file_format}))
        .chain((!j.trace.is_empty()).then(|| json!({"file_type": "trace", "size": j.trace.len(), "filename": "job.log", "file_format": null})))
        .collect();
    let archive = j.artifacts.iter().find(|a| a.file_type == "archive");
    json!({
        "id": j.id, "name": j.name, "stage": j.stage, "status": j.status.as_str(),
        "ref": pipeline.map(|p| p.ref_name.clone()), "tag": pipeline.is_some_and(|p| p.tag),
        "coverage": null, "allow_failure": j.allow_failure,
        "created_at": time(Some(j.created_at)), "started_at": time(j.started_at),
        "finished_at": time(j.finished_at), "erased_at": null,
        "duration": duration(j.started_at, j.finished_at),
        "queued_duration": j.started_at.map(|s| (s - j.created_at).num_milliseconds() as f64 / 1000.0),
        "user": user(), "failure_reason": j.failure_reason, "retried": j.retried,
        "when": j.when.as_str(), "tag_list": j.tag_list,
        "commit": pipeline.map(|p| json!({"id": p.commit.id, "short_id": p.commit.short_id,
            "title": p.commit.title, "message": p.commit.message, "author_name": p.commit.author_name,
            "author_email": p.commit.author_email, "created_at": p.commit.authored_date})),
        "pipeline": pipeline.map(|p| json!({"id": p.id, "iid": p.iid, "project_id": p.project_id,
            "ref": p.ref_name, "sha": p.sha, "status": p.status.as_str(), "source": p.source})),
        "web_url": project.map(|pr| format!("{}/-/jobs/{}", pr.web_url, j.id)),
        "project": {"ci_job_token_scope_enabled": project.is_some_and(|p| p.job_token_scope.inbound_enabled)},
        "artifacts": artifacts,
        "artifacts_file": archive.map(|a| json!({"filename": a.filename, "size": a.size})),
        "artifacts_expire_at": time(archive.and_then(|a| a.expire_at)),
        "runner": runner.map(runner_summary),
        "archived": false,
    })
}

/// Runner in lists (`GET /runners`).
pub fn runner_summary(r: &Runner) -> Value {
    json!({
        "id": r.id, "description": r.description, "ip_address": "127.0.0.1", "active": !r.paused,
        "paused": r.paused, "is_shared": r.runner_type == RunnerType::InstanceType,
        "runner_type": r.runner_type.as_str(), "name": "gitlab-runner",
        "online": r.contacted_at.is_some_and(|t| chrono::Utc::now() - t < chrono::Duration::hours(2)),
        "status": if r.contacted_at.is_some() { "online" } else { "never_contacted" },
    })
}

/// `GET /runners/:id`: the summary with its settings and the projects (and group) it serves.
pub(crate) fn runner(r: &Runner, store: &Store) -> Value {
    let mut v = runner_summary(r);
    let projects: Vec<Value> = r
        .projects
        .iter()
        .filter_map(|id| store.projects.get(id))
        .map(|p| {
            json!({"id": p.id, "name": p.name, "path": p.path,
                "path_with_namespace": p.path_with_namespace,
                "name_with_namespace": p.path_with_namespace.replace('/', " / ")})
        })
        .collect();
    let groups: Vec<Value> = r
        .group_id
        .and_then(|id| store.groups.get(&id))
        .map(|g| json!({"id": g.id, "name": g.name, "web_url": null}))
        .into_iter()
        .collect();
    if let Value::Object(m) = &mut v {
        m.insert("tag_list".into(), json!(r.tag_list));
        m.insert("run_untagged".into(), json!(r.run_untagged));
        m.insert("locked".into(), json!(r.locked));
        m.insert("access_level".into(), json!(r.access_level));
        m.insert("maximum_timeout".into(), json!(r.maximum_timeout));
        m.insert("contacted_at".into(), time(r.contacted_at));
        m.insert("version".into(), json!(r.version));
        m.insert("projects".into(), json!(projects));
        m.insert("groups".into(), json!(groups));
    }
    v
}

/// `GET /projects/:id/variables/:key`.
pub fn variable(v: &Variable) -> Value {
    json!({
        "key": v.key, "value": v.value, "variable_type": v.variable_type, "protected": v.protected,
        "masked": v.masked, "hidden": false, "raw": v.raw, "environment_scope": v.environment_scope,
        "description": null,
    })
}
