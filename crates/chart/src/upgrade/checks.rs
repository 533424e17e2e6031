//! Checks on the values and on what the two chart versions render from them.

use serde_json::{Map, Value};

use crate::chart::{ChartFiles, ChartVersion};
use crate::helm::Helm;
use crate::patch;
use crate::render::{RenderOptions, Rendered, ValuesInput, render};

use super::migrate::{JOB_SETTINGS, runners_config_toml, toml_for};
use super::{Finding, Manifests, REGISTRATION_ONLY_SETTINGS, Severity, crosses, finding, semver};

/// Everything a check needs.
pub(crate) struct Ctx<'a> {
    pub helm: &'a Helm,
    pub user: &'a Map<String, Value>,
    pub file: &'a str,
    pub from: String,
    pub to: String,
    pub from_version: &'a ChartVersion,
    pub to_version: &'a ChartVersion,
    pub to_chart: &'a ChartFiles,
    pub around: &'a Manifests,
    pub patched: bool,
}

fn get<'a>(m: &'a Map<String, Value>, path: &[&str]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    rest.iter().try_fold(m.get(*first)?, |v, k| v.get(*k))
}

fn set_str(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// `runners.*` job settings the new chart no longer reads.
pub(crate) fn job_settings(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    if !crosses(&ctx.from, &ctx.to, "0.53.0") {
        return out;
    }
    let Some(runners) = ctx.user.get("runners").and_then(Value::as_object) else {
        return out;
    };
    let mut any = false;
    for key in JOB_SETTINGS {
        let Some(value) = runners.get(*key) else {
            continue;
        };
        let path = format!("runners.{key}");
        match toml_for(key, value) {
            Some((table, lines)) => {
                any = true;
                let place = match table {
                    "runners" => "under [[runners]]",
                    "cache" => "under [[runners]]",
                    "kubernetes" => "under [runners.kubernetes]",
                    _ => "after [runners.kubernetes]",
                };
                let extra = if *key == "namespace" {
                    " (only this one gets a NOTES warning)"
                } else {
                    ""
                };
                out.push(finding(
                    Severity::Error,
                    "ignored-job-setting",
                    &path,
                    format!(
                        "chart {} silently ignores `{path}`{extra}: it was removed in chart 0.53.0; job pods fall back to the runners.config defaults",
                        ctx.to
                    ),
                    format!("write it into `runners.config` {place}:\n{}", lines.join("\n")),
                ));
            }
            None => out.push(finding(
                Severity::Info,
                "empty-job-setting",
                &path,
                format!("`{path}` is empty; chart {} does not read it", ctx.to),
                format!("delete `{key}` from `runners`"),
            )),
        }
    }
    if any || ctx.patched {
        out.push(finding(
            Severity::Error,
            "runners-config-template",
            "runners.config",
            format!(
                "chart {} configures job pods only through the `runners.config` TOML template; without it jobs run on `alpine`, unprivileged, with the namespace's default ServiceAccount",
                ctx.to
            ),
            format!(
                "set `runners.config` to (or run `harness upgrade-check --migrate`):\n{}",
                runners_config_toml(ctx.user, ctx.patched).trim_end()
            ),
        ));
    }
    out
}

/// Registration tokens and the settings that are server-side with authentication tokens.
pub(crate) fn tokens(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let modern = semver(&ctx.to) >= semver("0.53.0");
    if set_str(ctx.user.get("runnerRegistrationToken")).is_some() && modern {
        out.push(finding(
            Severity::Warning,
            "deprecated-registration-token",
            "runnerRegistrationToken",
            "registration tokens are deprecated since GitLab 15.6, disabled by default since 17.0 and scheduled for removal in GitLab 20.0; chart 0.53.0+ is built for runner authentication tokens".into(),
            "create the runner in GitLab (Admin > CI/CD > Runners > New instance runner, or the project's Settings > CI/CD > Runners), set its tags/locked/run-untagged there, and put its token in `runnerToken: glrt-...` instead of `runnerRegistrationToken`".into(),
        ));
    }
    if let Some(token) = set_str(ctx.user.get("runnerToken")) {
        if !token.starts_with("glrt-") && modern {
            out.push(finding(
                Severity::Warning,
                "runner-token-prefix",
                "runnerToken",
                "does not start with `glrt-`: the chart's register script treats it as a legacy token and keeps sending tags/locked flags".into(),
                "use the runner authentication token GitLab shows when the runner is created (it starts with `glrt-`)".into(),
            ));
        } else if token.starts_with("glrt-") {
            for key in REGISTRATION_ONLY_SETTINGS {
                if get(ctx.user, &["runners", key]).is_some() {
                    out.push(finding(
                        Severity::Warning,
                        "server-side-setting",
                        format!("runners.{key}"),
                        "with a `glrt-` runner token this is a server-side setting; the chart strips it and passing it to register is fatal".into(),
                        format!("set it on the runner in GitLab and delete `runners.{key}`"),
                    ));
                }
            }
        }
    }
    out
}

/// Other values whose meaning changed between the versions.
pub(crate) fn values_keys(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let u = ctx.user;
    if crosses(&ctx.from, &ctx.to, "0.53.0") {
        for key in ["resources", "verbs"] {
            if get(u, &["rbac", key]).is_some() {
                out.push(finding(
                    Severity::Error,
                    "ignored-rbac-key",
                    format!("rbac.{key}"),
                    format!("chart {} ignores `rbac.{key}` (since 0.53.0) and grants its default rule instead", ctx.to),
                    "use `rbac.rules: [{apiGroups: [\"\"], resources: [...], verbs: [...]}]`".into(),
                ));
            }
        }
    }
    if semver(&ctx.to) >= semver("0.53.0") {
        if set_str(get(u, &["rbac", "serviceAccountName"])).is_some() {
            let ignored = get(u, &["rbac", "create"]).and_then(Value::as_bool) == Some(true);
            out.push(finding(
                Severity::Warning,
                "deprecated-rbac-service-account",
                "rbac.serviceAccountName",
                format!(
                    "deprecated in favour of `serviceAccount.name` (the chart's NOTES warn){}",
                    if ignored { "; with `rbac.create: true` chart 0.14.0 ignored it for the runner manager pod anyway" } else { "" }
                ),
                "move it to `serviceAccount: {create: false, name: <name>}` (or `create: true` to let the chart make it)".into(),
            ));
        }
        if get(u, &["rbac", "create"]).and_then(Value::as_bool) == Some(true)
            && get(u, &["serviceAccount", "create"]).is_none()
        {
            out.push(finding(
                Severity::Info,
                "service-account-create-unset",
                "serviceAccount.create",
                "`rbac.create` without `serviceAccount.create`: the chart creates a ServiceAccount for backwards compatibility and warns in NOTES".into(),
                "set `serviceAccount.create` to true or false explicitly".into(),
            ));
        }
    }
    if crosses(&ctx.from, &ctx.to, "0.42.0")
        && let Some(Value::String(img)) = u.get("image")
    {
        out.push(finding(
            Severity::Error,
            "image-string",
            "image",
            format!("`image: {img}` is a string; since 0.42.0 it is a map and chart {} fails to render (\"can't evaluate field registry\")", ctx.to),
            "use `image: {registry: registry.gitlab.com, image: gitlab-org/gitlab-runner, tag: alpine-v<version>}` or delete it".into(),
        ));
    }
    if semver(&ctx.from) < semver("0.53.0") && semver(&ctx.to) >= semver("0.53.0") {
        for (key, old, new) in [
            ("metrics", "enabled: true", "false"),
            ("checkInterval", "30", "3"),
        ] {
            let set = if key == "metrics" {
                get(u, &["metrics", "enabled"]).is_some()
            } else {
                u.contains_key(key)
            };
            if !set {
                out.push(finding(
                    Severity::Info,
                    "changed-default",
                    key,
                    format!("not set; its default changed ({old} before, {new} now)"),
                    format!("set `{key}` explicitly to keep the old behaviour"),
                ));
            }
        }
    }
    if u.get("hpa").is_some_and(|h| !h.is_null()) && semver(&ctx.from) < semver("0.30.0") {
        out.push(finding(
            Severity::Info,
            "hpa-api",
            "hpa",
            format!("chart {} renders the HPA as autoscaling/v2beta1, removed in Kubernetes 1.25", ctx.from),
            "the newer chart picks autoscaling/v2 when the cluster has it; nothing to change in values".into(),
        ));
    }
    if let Some(img) = set_str(get(u, &["runners", "image"]))
        && (img.starts_with("ubuntu:16.04") || img.starts_with("ubuntu:14.04"))
    {
        out.push(finding(
            Severity::Info,
            "eol-job-image",
            "runners.image",
            format!("`{img}` is end-of-life"),
            "use a supported default job image, e.g. `image = \"ubuntu:24.04\"` in runners.config"
                .into(),
        ));
    }
    out
}

fn render_quiet(ctx: &Ctx<'_>, chart: &ChartVersion, patch: bool) -> crate::Result<Rendered> {
    let options = RenderOptions {
        chart: chart.clone(),
        release_name: ctx.around.release_name.clone(),
        namespace: ctx.around.namespace.clone(),
        apply_tutorial_patch: patch,
        validate: false,
        ..Default::default()
    };
    render(ctx.helm, &ValuesInput::Map(ctx.user.clone()), &options)
}

/// Differences in what the two charts render (as `helm template` prints them): renamed objects,
/// invalid container specs.
pub(crate) fn rendered_changes(ctx: &Ctx<'_>) -> crate::Result<Vec<Finding>> {
    let mut out = Vec::new();
    let from = render_quiet(ctx, ctx.from_version, false)?;
    let to = match render_quiet(ctx, ctx.to_version, false) {
        Ok(r) => r,
        Err(e) => {
            out.push(finding(
                Severity::Error,
                "render-fails",
                ctx.file,
                format!("chart {} cannot render these values: {e}", ctx.to),
                "apply the fixes of the other findings (`harness upgrade-check --migrate` writes migrated values)".into(),
            ));
            return Ok(out);
        }
    };
    let to_names = to.kinds_and_names();
    for (kind, name) in from.kinds_and_names() {
        if to_names.iter().any(|(k, n)| *k == kind && *n == name) {
            continue;
        }
        let key = format!("{kind}/{name}");
        match to_names.iter().find(|(k, _)| *k == kind) {
            Some((_, new)) => out.push(finding(
                Severity::Warning,
                "renamed-object",
                &key,
                format!("chart {} names it `{new}`: an upgrade deletes `{name}` and creates `{new}`, and commands like `kubectl get {} {name}` no longer match", ctx.to, kind.to_lowercase()),
                format!("use the new name `{new}` in scripts and docs, or set `fullnameOverride: {name}` to keep the old names"),
            )),
            None => out.push(finding(
                Severity::Info,
                "dropped-object",
                &key,
                format!("chart {} renders no {kind} for these values", ctx.to),
                "check whether anything relied on it".into(),
            )),
        }
    }
    const POD_ONLY: &[&str] = &[
        "fsGroup",
        "fsGroupChangePolicy",
        "supplementalGroups",
        "supplementalGroupsPolicy",
        "sysctls",
    ];
    for m in &to.manifests {
        let containers = m
            .object
            .pointer("/spec/template/spec/containers")
            .and_then(Value::as_array);
        for c in containers.into_iter().flatten() {
            let Some(sc) = c.get("securityContext").and_then(Value::as_object) else {
                continue;
            };
            for field in POD_ONLY.iter().filter(|f| sc.contains_key(**f)) {
                out.push(finding(
                    Severity::Error,
                    "invalid-container-security-context",
                    format!("securityContext.{field}"),
                    format!(
                        "chart {} (since 0.42.0) puts `securityContext` on the container of {}/{}; `{field}` is a pod-level field, so the spec is invalid (Helm 3: unknown field \"{field}\" in io.k8s.api.core.v1.SecurityContext)",
                        ctx.to, m.kind(), m.name()
                    ),
                    "move the pod-level fields to `podSecurityContext:` (e.g. `podSecurityContext: {fsGroup: 65533, runAsUser: 100}`) and drop `securityContext` to keep the chart's hardened container defaults".into(),
                ));
            }
        }
    }
    Ok(out)
}

/// The tutorial's configmap patch on the new chart; the docker.sock host path it adds.
pub(crate) fn patch_target(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    if !ctx.patched {
        return out;
    }
    let mut chart = ctx.to_chart.clone();
    if let Err(e) = patch::apply(&mut chart, patch::TUTORIAL_PATCH) {
        out.push(finding(
            Severity::Error,
            "patch-no-target",
            "templates/configmap.yaml",
            match e {
                crate::ChartError::Chart { problem, .. } => format!("chart {}: {problem}", ctx.to),
                other => format!("chart {}: {other}", ctx.to),
            },
            format!(
                "drop the patch; put its volumes into `runners.config`:\n{}",
                runners_config_toml(&Map::new(), true)
                    .lines()
                    .filter(|l| l.contains("volumes")
                        || l.contains("name =")
                        || l.contains("_path ="))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        ));
    }
    out.push(finding(
        Severity::Warning,
        "docker-sock-host-path",
        "runners.kubernetes.volumes.host_path",
        "mounting the node's /var/run/docker.sock only works on nodes running Docker; dockershim was removed in Kubernetes 1.24 and most nodes run containerd".into(),
        "build images without the node's Docker (kaniko, buildah, or a docker:dind service), or keep Docker-runtime nodes for these jobs".into(),
    ));
    out
}
