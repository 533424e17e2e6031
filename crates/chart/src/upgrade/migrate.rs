//! Migrated values for the current chart: the 0.14.0-era `runners.*` job settings (and the
//! tutorial patch's volumes) become the `runners.config` TOML template, `securityContext` moves
//! to `podSecurityContext`, `rbac.serviceAccountName` to `serviceAccount.name`.

use serde_json::{Map, Value, json};

use crate::chart::ChartVersion;
use crate::error::{ChartError, Result};
use crate::render::ValuesInput;

use super::REGISTRATION_ONLY_SETTINGS;

/// Choices the migration cannot guess.
#[derive(Debug, Clone, Default)]
pub struct MigrateOptions {
    /// A `glrt-` runner authentication token created in GitLab; replaces
    /// `runnerRegistrationToken` (and drops the registration-only `runners.tags` etc.).
    pub runner_token: Option<String>,
    /// Whether the tutorial's configmap patch was applied (its volumes go into `runners.config`).
    /// Assumed when the values carry `maven.cache`.
    pub tutorial_patch: bool,
}

/// Keys under `runners` that 0.14.0 turned into job settings, and where they go in config.toml.
pub(crate) const JOB_SETTINGS: &[&str] = &[
    "image",
    "imagePullPolicy",
    "imagePullSecrets",
    "privileged",
    "namespace",
    "pollTimeout",
    "outputLimit",
    "requestConcurrency",
    "builds",
    "services",
    "helpers",
    "serviceAccountName",
    "nodeSelector",
    "nodeTolerations",
    "podLabels",
    "podAnnotations",
    "env",
    "pod_security_context",
    "cloneUrl",
    "cache",
];

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn toml_value(v: &Value) -> String {
    match v {
        Value::String(s) => toml_str(s),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(toml_value).collect();
            format!("[{}]", inner.join(", "))
        }
        other => toml_str(&other.to_string()),
    }
}

fn non_empty(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Object(m) => !m.is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => true,
    })
}

/// The TOML line(s) one 0.14.0 job setting becomes, as (table, lines). `None` if it is empty.
pub(crate) fn toml_for(key: &str, value: &Value) -> Option<(&'static str, Vec<String>)> {
    let v = non_empty(Some(value))?;
    let kv = |k: &str, v: &Value| format!("{k} = {}", toml_value(v));
    let table = |name: &str, m: &Value| -> Vec<String> {
        let mut lines = vec![format!("[runners.kubernetes.{name}]")];
        if let Value::Object(m) = m {
            lines.extend(
                m.iter()
                    .map(|(k, v)| format!("  {} = {}", toml_str(k), toml_value(v))),
            );
        }
        lines
    };
    let resources = |prefix: &str, m: &Value| -> Vec<String> {
        let mut lines = Vec::new();
        for (from, to) in [
            ("cpuLimit", "cpu_limit"),
            ("memoryLimit", "memory_limit"),
            ("cpuRequests", "cpu_request"),
            ("memoryRequests", "memory_request"),
            ("image", "image"),
        ] {
            if let Some(v) = non_empty(m.get(from)) {
                lines.push(kv(&format!("{prefix}{to}"), v));
            }
        }
        lines
    };
    Some(match key {
        "outputLimit" => ("runners", vec![kv("output_limit", v)]),
        "requestConcurrency" => ("runners", vec![kv("request_concurrency", v)]),
        "cloneUrl" => ("runners", vec![kv("clone_url", v)]),
        "env" => {
            let items: Vec<Value> = match v {
                Value::Object(m) => m
                    .iter()
                    .map(|(k, v)| {
                        Value::String(format!(
                            "{k}={}",
                            v.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| v.to_string())
                        ))
                    })
                    .collect(),
                other => vec![other.clone()],
            };
            ("runners", vec![kv("environment", &Value::Array(items))])
        }
        "image" => ("kubernetes", vec![kv("image", v)]),
        "namespace" => ("kubernetes", vec![kv("namespace", v)]),
        "privileged" => ("kubernetes", vec![kv("privileged", v)]),
        "imagePullPolicy" => ("kubernetes", vec![kv("pull_policy", &json!([v]))]),
        "pollTimeout" => ("kubernetes", vec![kv("poll_timeout", v)]),
        "serviceAccountName" => ("kubernetes", vec![kv("service_account", v)]),
        "imagePullSecrets" => ("kubernetes", vec![kv("image_pull_secrets", v)]),
        "builds" => ("kubernetes", resources("", v)),
        "services" => ("kubernetes", resources("service_", v)),
        "helpers" => ("kubernetes", resources("helper_", v)),
        "nodeSelector" => ("tables", table("node_selector", v)),
        "nodeTolerations" => ("tables", table("node_tolerations", v)),
        "podLabels" => ("tables", table("pod_labels", v)),
        "podAnnotations" => ("tables", table("pod_annotations", v)),
        "pod_security_context" => ("tables", table("pod_security_context", v)),
        "cache" => {
            let mut lines = vec!["[runners.cache]".to_string()];
            let ct = v.get("cacheType")?;
            lines.push(format!("  Type = {}", toml_value(ct)));
            if let Some(p) = non_empty(v.get("cachePath")).or(non_empty(v.get("s3CachePath"))) {
                lines.push(format!("  Path = {}", toml_value(p)));
            }
            if let Some(s) = non_empty(v.get("cacheShared")) {
                lines.push(format!("  Shared = {}", toml_value(s)));
            }
            let sub: Vec<(&str, &str)> = match ct.as_str() {
                Some("s3") => vec![
                    ("s3ServerAddress", "ServerAddress"),
                    ("s3BucketName", "BucketName"),
                    ("s3BucketLocation", "BucketLocation"),
                    ("s3CacheInsecure", "Insecure"),
                ],
                Some("gcs") => vec![("gcsBucketName", "BucketName")],
                _ => vec![],
            };
            if !sub.is_empty() {
                lines.push(format!(
                    "  [runners.cache.{}]",
                    ct.as_str().unwrap_or_default()
                ));
                for (from, to) in sub {
                    if let Some(x) = non_empty(v.get(from)) {
                        lines.push(format!("    {to} = {}", toml_value(x)));
                    }
                }
            }
            ("cache", lines)
        }
        _ => return None,
    })
    .filter(|(_, lines)| !lines.is_empty())
}

/// The `runners.config` TOML template equivalent to the 0.14.0 `runners.*` settings in `user`,
/// plus the tutorial patch's PVC and docker.sock volumes when `patched`.
pub fn runners_config_toml(user: &Map<String, Value>, patched: bool) -> String {
    let empty = Map::new();
    let runners = user
        .get("runners")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let (mut top, mut kube, mut tables, mut cache) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    if !runners.contains_key("namespace") {
        kube.push("namespace = \"{{.Release.Namespace}}\"".to_string());
    }
    for key in JOB_SETTINGS {
        let Some((table, lines)) = runners.get(*key).and_then(|v| toml_for(key, v)) else {
            continue;
        };
        match table {
            "runners" => top.extend(lines),
            "kubernetes" => kube.extend(lines),
            "cache" => cache.extend(lines),
            _ => tables.extend(lines),
        }
    }
    let mut out = String::from("[[runners]]\n");
    for l in top {
        out.push_str(&format!("  {l}\n"));
    }
    for l in cache {
        out.push_str(&format!("  {l}\n"));
    }
    out.push_str("  [runners.kubernetes]\n");
    for l in kube {
        out.push_str(&format!("    {l}\n"));
    }
    for l in tables {
        out.push_str(&format!("    {l}\n"));
    }
    if patched {
        let maven = user.get("maven").and_then(|m| m.get("cache"));
        let pvc = maven
            .and_then(|m| m.get("pvcName"))
            .and_then(Value::as_str)
            .unwrap_or("gitlab-runner-pvc");
        let mount = maven
            .and_then(|m| m.get("mountPath"))
            .and_then(Value::as_str)
            .unwrap_or("/home/cache/maven");
        out.push_str(&format!(
            "    [[runners.kubernetes.volumes.pvc]]\n      name = {}\n      mount_path = {}\n",
            toml_str(pvc),
            toml_str(mount)
        ));
        out.push_str(
            "    [[runners.kubernetes.volumes.host_path]]\n      name = \"docker\"\n      mount_path = \"/var/run/docker.sock\"\n      host_path = \"/var/run/docker.sock\"\n",
        );
    }
    out
}

/// Values for chart `to` that keep what `values` did under chart `from`.
pub fn migrate_values(
    values: &ValuesInput<'_>,
    from: &ChartVersion,
    to: &ChartVersion,
    options: &MigrateOptions,
) -> Result<Map<String, Value>> {
    let (user, _) = values.user_values()?;
    let from_v = from.load()?.version().to_string();
    let to_v = to.load()?.version().to_string();
    let mut out = user.clone();
    let patched =
        options.tutorial_patch || user.get("maven").and_then(|m| m.get("cache")).is_some();
    if super::crosses(&from_v, &to_v, "0.53.0") {
        let toml = runners_config_toml(&user, patched);
        if let Some(Value::Object(r)) = out.get_mut("runners") {
            for key in JOB_SETTINGS {
                if *key != "cache" {
                    r.remove(*key);
                } else if let Some(Value::Object(c)) = r.get_mut("cache") {
                    c.retain(|k, _| k == "secretName");
                    if c.is_empty() {
                        r.remove("cache");
                    }
                }
            }
            r.insert("config".into(), Value::String(toml));
        } else {
            out.insert("runners".into(), json!({ "config": toml }));
        }
        out.remove("maven");
    }
    if super::crosses(&from_v, &to_v, "0.42.0") {
        if let Some(Value::Object(sc)) = out.remove("securityContext") {
            out.insert("podSecurityContext".into(), Value::Object(sc));
        }
        if let Some(Value::String(_)) = out.get("image") {
            out.remove("image");
        }
    }
    if let Some(Value::Object(rbac)) = out.get_mut("rbac") {
        let sa = rbac.remove("serviceAccountName");
        let resources = rbac.remove("resources");
        let verbs = rbac.remove("verbs");
        if resources.is_some() || verbs.is_some() {
            rbac.insert(
                "rules".into(),
                json!([{ "apiGroups": [""], "resources": resources.unwrap_or(json!(["*"])), "verbs": verbs.unwrap_or(json!(["*"])) }]),
            );
        }
        if let Some(Value::String(name)) = sa.filter(|s| s.as_str().is_some_and(|s| !s.is_empty()))
        {
            out.insert(
                "serviceAccount".into(),
                json!({ "create": false, "name": name }),
            );
        } else if !out.contains_key("serviceAccount") {
            out.insert("serviceAccount".into(), json!({ "create": true }));
        }
    }
    if let Some(token) = &options.runner_token {
        out.remove("runnerRegistrationToken");
        out.insert("runnerToken".into(), Value::String(token.clone()));
        if let Some(Value::Object(r)) = out.get_mut("runners") {
            for key in REGISTRATION_ONLY_SETTINGS {
                r.remove(*key);
            }
        }
    }
    Ok(out)
}

/// Values read as Helm reads them hold every number as a float; a whole one is written as `30`,
/// as Helm writes it, not `30.0`.
fn whole_numbers(value: Value) -> Value {
    match value {
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9e15 => Value::from(f as i64),
            _ => Value::Number(n),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(whole_numbers).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, whole_numbers(v)))
                .collect(),
        ),
        other => other,
    }
}

/// [`migrate_values`] as a YAML document.
pub fn migrate_values_yaml(
    values: &ValuesInput<'_>,
    from: &ChartVersion,
    to: &ChartVersion,
    options: &MigrateOptions,
) -> Result<String> {
    let map = migrate_values(values, from, to, options)?;
    serde_norway::to_string(&whole_numbers(Value::Object(map))).map_err(|e| ChartError::Yaml {
        file: "(migrated values)".into(),
        message: e.to_string(),
        fix: "report this: the migrated values could not be written as YAML".into(),
    })
}
