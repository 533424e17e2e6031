//! Minimal HTML pages: a project's pipelines, one pipeline (stages, jobs, status, links to
//! traces), one job (its masked trace) and the raw trace.

use std::fmt::Write;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use super::sign_in::redirect;
use crate::model::{Status, Visibility};
use crate::sessions;
use crate::shared::Shared;

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn badge(status: Status) -> String {
    let color = match status {
        Status::Success => "#108548",
        Status::Failed => "#dd2b0e",
        Status::Running => "#1f75cb",
        Status::Pending | Status::Created => "#ab6100",
        Status::Canceled | Status::Skipped | Status::Manual => "#737278",
    };
    format!(
        "<span class=\"status\" style=\"color:{color}\">{}</span>",
        status.as_str()
    )
}

/// A page in the common frame (title, the "simulated" note, minimal style).
pub(crate) fn layout(title: &str, body: &str) -> Response {
    Html(format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:.2em .8em;text-align:left}}\
         pre{{background:#1f1f1f;color:#eee;padding:1em;white-space:pre-wrap}}</style></head>\
         <body><p><em>Embedded GitLab (simulated by the harness)</em></p><h1>{t}</h1>{body}</body></html>",
        t = escape(title)
    ))
    .into_response()
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Html("<h1>404 Not Found</h1>")).into_response()
}

/// Serves `/` (the project list), `/<project>/-/pipelines[/<id>]` and
/// `/<project>/-/jobs/<id>[/raw]`. Like GitLab, a visitor without a session sees public projects
/// only and is sent to the sign-in page for anything else — also for projects that do not
/// exist, so the answer tells nothing about them.
pub(crate) async fn page(shared: &Shared, path: &str, headers: &HeaderMap) -> Response {
    let mut store = shared.store();
    let signed_in = sessions::session_id(headers).is_some_and(|id| store.sessions.is_open(&id));
    if path == "/" && !signed_in {
        return redirect(shared, "users/sign_in");
    }
    if path == "/" {
        let mut rows = String::new();
        for p in store.projects.values() {
            let _ = write!(
                rows,
                "<li><a href=\"{}/-/pipelines\">{}</a></li>",
                p.web_url,
                escape(&p.path_with_namespace)
            );
        }
        return layout("Projects", &format!("<ul>{rows}</ul>"));
    }
    let Some((project_path, rest)) = path.trim_start_matches('/').split_once("/-/") else {
        return not_found();
    };
    let project = store
        .project_by_ref(project_path)
        .filter(|p| signed_in || p.visibility == Visibility::Public)
        .cloned();
    let Some(project) = project else {
        return if signed_in {
            not_found()
        } else {
            redirect(shared, "users/sign_in")
        };
    };
    let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    match parts.as_slice() {
        ["pipelines"] => {
            let mut rows = String::new();
            for p in store
                .pipelines
                .values()
                .rev()
                .filter(|p| p.project_id == project.id)
            {
                let _ = write!(
                    rows,
                    "<tr><td><a href=\"{w}/-/pipelines/{id}\">#{id}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    badge(p.status),
                    escape(&p.ref_name),
                    &p.sha[..p.sha.len().min(8)],
                    w = project.web_url,
                    id = p.id
                );
            }
            layout(
                &format!("{} · Pipelines", project.path_with_namespace),
                &format!(
                    "<table><tr><th>Pipeline</th><th>Status</th><th>Ref</th><th>Commit</th></tr>{rows}</table>"
                ),
            )
        }
        ["pipelines", id] => {
            let Some(p) = id
                .parse()
                .ok()
                .and_then(|id| store.project_pipeline(project.id, id))
            else {
                return not_found();
            };
            let mut body = format!(
                "<p>Status: {} · ref <code>{}</code> · commit <code>{}</code> · source {}</p>",
                badge(p.status),
                escape(&p.ref_name),
                escape(&p.commit.short_id),
                escape(&p.source)
            );
            if let Some(err) = &p.yaml_errors {
                let _ = write!(body, "<p class=\"yaml-errors\">{}</p>", escape(err));
            }
            let jobs = store.current_jobs(p.id);
            for stage in &p.stages {
                let _ = write!(body, "<h2 class=\"stage\">{}</h2><ul>", escape(stage));
                for j in jobs.iter().filter(|j| &j.stage == stage) {
                    let _ = write!(
                        body,
                        "<li class=\"job\"><a href=\"{w}/-/jobs/{id}\">{}</a> {} (<a href=\"{w}/-/jobs/{id}/raw\">trace</a>)</li>",
                        escape(&j.name),
                        badge(j.status),
                        w = project.web_url,
                        id = j.id
                    );
                }
                body.push_str("</ul>");
            }
            layout(
                &format!("{} · Pipeline #{}", project.path_with_namespace, p.id),
                &body,
            )
        }
        ["jobs", id] | ["jobs", id, "raw"] => {
            let Some(j) = id
                .parse()
                .ok()
                .and_then(|id| store.project_job(project.id, id))
            else {
                return not_found();
            };
            let trace = store.masked_trace(j);
            if parts.len() == 3 {
                let mut r = trace.into_response();
                r.headers_mut().insert(
                    "content-type",
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                );
                return r;
            }
            layout(
                &format!("{} · {} #{}", project.path_with_namespace, j.name, j.id),
                &format!(
                    "<p>Status: {} · stage {} · <a href=\"{}/-/pipelines/{}\">pipeline #{}</a></p><pre>{}</pre>",
                    badge(j.status),
                    escape(&j.stage),
                    project.web_url,
                    j.pipeline_id,
                    j.pipeline_id,
                    escape(&trace)
                ),
            )
        }
        _ => not_found(),
    }
}
