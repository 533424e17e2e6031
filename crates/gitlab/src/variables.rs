//! Predefined pipeline variables (`CI_*`, `GITLAB_*`) and the CI/CD settings variables a
//! pipeline receives.

use crate::model::{Pipeline, Project, Variable};
use crate::shared::Shared;
use crate::store::Store;

/// `CI_COMMIT_REF_SLUG` rules: lowercase, non-alphanumerics → `-`, ≤ 63, no edge dashes.
pub fn slug(s: &str) -> String {
    let mut out: String = s
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    out.truncate(63);
    out.trim_matches('-').to_string()
}

/// Pipeline-level predefined variables (also what `rules:if` sees).
pub fn pipeline_variables(
    shared: &Shared,
    project: &Project,
    pipeline: &Pipeline,
) -> Vec<(String, String)> {
    let host_port = shared.base.trim_start_matches("http://").to_string();
    let (host, port) = host_port.split_once(':').unwrap_or((&host_port, "80"));
    let mut v: Vec<(String, String)> = vec![
        ("CI".into(), "true".into()),
        ("GITLAB_CI".into(), "true".into()),
        ("CI_SERVER".into(), "yes".into()),
        ("CI_SERVER_URL".into(), shared.base.clone()),
        ("CI_SERVER_HOST".into(), host.into()),
        ("CI_SERVER_PORT".into(), port.into()),
        ("CI_SERVER_PROTOCOL".into(), "http".into()),
        ("CI_SERVER_NAME".into(), "GitLab".into()),
        ("CI_SERVER_VERSION".into(), crate::GITLAB_VERSION.into()),
        ("CI_API_V4_URL".into(), shared.url("api/v4")),
        ("CI_PROJECT_ID".into(), project.id.to_string()),
        ("CI_PROJECT_NAME".into(), project.name.clone()),
        ("CI_PROJECT_TITLE".into(), project.name.clone()),
        (
            "CI_PROJECT_PATH".into(),
            project.path_with_namespace.clone(),
        ),
        (
            "CI_PROJECT_PATH_SLUG".into(),
            slug(&project.path_with_namespace),
        ),
        ("CI_PROJECT_NAMESPACE".into(), project.namespace.clone()),
        (
            "CI_PROJECT_ROOT_NAMESPACE".into(),
            project
                .namespace
                .split('/')
                .next()
                .unwrap_or_default()
                .into(),
        ),
        ("CI_PROJECT_URL".into(), project.web_url.clone()),
        (
            "CI_PROJECT_VISIBILITY".into(),
            project.visibility.as_str().into(),
        ),
        ("CI_CONFIG_PATH".into(), ".gitlab-ci.yml".into()),
        (
            "CI_DEFAULT_BRANCH".into(),
            project
                .default_branch
                .clone()
                .unwrap_or_else(|| "main".into()),
        ),
        ("CI_PIPELINE_ID".into(), pipeline.id.to_string()),
        ("CI_PIPELINE_IID".into(), pipeline.iid.to_string()),
        ("CI_PIPELINE_SOURCE".into(), pipeline.source.clone()),
        (
            "CI_PIPELINE_URL".into(),
            format!("{}/-/pipelines/{}", project.web_url, pipeline.id),
        ),
        (
            "CI_PIPELINE_CREATED_AT".into(),
            pipeline
                .created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ),
        ("CI_COMMIT_SHA".into(), pipeline.sha.clone()),
        (
            "CI_COMMIT_SHORT_SHA".into(),
            pipeline.sha.chars().take(8).collect(),
        ),
        ("CI_COMMIT_BEFORE_SHA".into(), pipeline.before_sha.clone()),
        ("CI_COMMIT_REF_NAME".into(), pipeline.ref_name.clone()),
        ("CI_COMMIT_REF_SLUG".into(), slug(&pipeline.ref_name)),
        (
            "CI_COMMIT_REF_PROTECTED".into(),
            pipeline.protected.to_string(),
        ),
        ("CI_COMMIT_MESSAGE".into(), pipeline.commit.message.clone()),
        ("CI_COMMIT_TITLE".into(), pipeline.commit.title.clone()),
        (
            "CI_COMMIT_DESCRIPTION".into(),
            pipeline
                .commit
                .message
                .lines()
                .skip(1)
                .collect::<Vec<_>>()
                .join("\n")
                .trim()
                .to_string(),
        ),
        (
            "CI_COMMIT_TIMESTAMP".into(),
            pipeline.commit.authored_date.clone(),
        ),
        (
            "CI_COMMIT_AUTHOR".into(),
            format!(
                "{} <{}>",
                pipeline.commit.author_name, pipeline.commit.author_email
            ),
        ),
        ("GITLAB_USER_ID".into(), "1".into()),
        ("GITLAB_USER_LOGIN".into(), "root".into()),
        ("GITLAB_USER_NAME".into(), "Administrator".into()),
        ("GITLAB_USER_EMAIL".into(), "admin@example.com".into()),
    ];
    if pipeline.tag {
        v.push(("CI_COMMIT_TAG".into(), pipeline.ref_name.clone()));
    } else {
        v.push(("CI_COMMIT_BRANCH".into(), pipeline.ref_name.clone()));
    }
    v
}

/// Instance and project variables a pipeline receives (protected ones only on protected refs).
pub fn settings_variables(store: &Store, project_id: u64, protected_ref: bool) -> Vec<Variable> {
    store
        .instance_variables
        .iter()
        .chain(store.variables.get(&project_id).into_iter().flatten())
        .filter(|v| protected_ref || !v.protected)
        .cloned()
        .collect()
}
