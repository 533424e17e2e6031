//! Checks on values before rendering. Errors are what would make the chart fail or produce a
//! runner that cannot start (a table given as a scalar, a non-number where config.toml needs a
//! number, no GitLab URL or token); warnings are keys the chart does not know.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use crate::chart::ChartFiles;
use crate::error::{ChartError, Result};
use crate::values::kind_of;

/// Where the values came from, for messages.
#[derive(Debug, Clone)]
pub struct Origin<'a> {
    /// The values file name (or `<inline>`).
    pub file: &'a str,
    /// The values as the user wrote them (file only), to tell file keys from `--set` ones.
    pub user: &'a Map<String, Value>,
}

impl Origin<'_> {
    fn file_of(&self, path: &[&str]) -> String {
        let mut cur = self.user;
        for (i, key) in path.iter().enumerate() {
            match cur.get(*key) {
                Some(Value::Object(m)) if i + 1 < path.len() => cur = m,
                Some(_) if i + 1 == path.len() => return self.file.to_string(),
                _ => return "--set".into(),
            }
        }
        self.file.to_string()
    }
}

/// Type checks of `values` against the chart defaults, recursively.
pub fn check_types(
    defaults: &Map<String, Value>,
    values: &Map<String, Value>,
    origin: &Origin<'_>,
    chart_version: &str,
) -> Result<()> {
    walk(defaults, values, &mut Vec::new(), origin, chart_version)
}

fn walk<'a>(
    defaults: &'a Map<String, Value>,
    values: &'a Map<String, Value>,
    path: &mut Vec<&'a str>,
    origin: &Origin<'_>,
    chart_version: &str,
) -> Result<()> {
    for (key, default) in defaults {
        let Some(value) = values.get(key) else {
            continue;
        };
        path.push(key);
        let field = path.join(".");
        let bad = |problem: String, fix: String| ChartError::BadValue {
            file: origin.file_of(path),
            field: field.clone(),
            problem,
            fix,
        };
        match (default, value) {
            (_, Value::Null) => {}
            (Value::Object(d), Value::Object(v)) => walk(d, v, path, origin, chart_version)?,
            (Value::Object(d), other) => {
                let fix = if field == "image" {
                    format!(
                        "since chart 0.42.0 `image` is a map: image: {{registry: {}, image: {}, tag: <tag>}} (chart {chart_version} fails with \"can't evaluate field registry\")",
                        d.get("registry")
                            .and_then(Value::as_str)
                            .unwrap_or("registry.gitlab.com"),
                        d.get("image")
                            .and_then(Value::as_str)
                            .unwrap_or("gitlab-org/gitlab-runner"),
                    )
                } else {
                    let keys: Vec<&str> = d.keys().map(String::as_str).take(6).collect();
                    format!("write `{key}:` as a map (keys like {})", keys.join(", "))
                };
                return Err(bad(
                    format!(
                        "is a {}, but chart {chart_version} reads fields of it",
                        kind_of(other)
                    ),
                    fix,
                ));
            }
            (Value::Array(_), other) if !other.is_array() => {
                return Err(bad(
                    format!(
                        "is a {}, but chart {chart_version} iterates it as a list",
                        kind_of(other)
                    ),
                    format!("write `{key}:` as a YAML list (`- item`) or `[]`"),
                ));
            }
            (Value::Number(_), Value::String(s)) if s.trim().parse::<f64>().is_err() => {
                return Err(bad(
                    format!(
                        "is the text {s:?}, but it is written unquoted into config.toml/the pod spec as a number"
                    ),
                    format!("give `{key}` a number, e.g. `{key}: {}`", default),
                ));
            }
            (Value::Number(_), other @ (Value::Bool(_) | Value::Object(_) | Value::Array(_))) => {
                return Err(bad(
                    format!("is a {}, but a number is expected", kind_of(other)),
                    format!("give `{key}` a number, e.g. `{key}: {}`", default),
                ));
            }
            (Value::Bool(_), Value::String(s)) => {
                return Err(bad(
                    format!("is the text {s:?}; Helm treats any non-empty text as true"),
                    format!("write `{key}: true` or `{key}: false` without quotes"),
                ));
            }
            _ => {}
        }
        path.pop();
    }
    Ok(())
}

/// What the runner needs to register at all: a GitLab URL and a token.
pub fn check_required(values: &Map<String, Value>, origin: &Origin<'_>) -> Result<()> {
    let url = values
        .get("gitlabUrl")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if url.trim().is_empty() {
        return Err(ChartError::BadValue {
            file: origin.file.into(),
            field: "gitlabUrl".into(),
            problem: "is missing or empty: the runner has no GitLab to register with (the chart only prints a NOTES warning)".into(),
            fix: "set `gitlabUrl: http://<your-gitlab>/` (or --set gitlabUrl=...)".into(),
        });
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(ChartError::BadValue {
            file: origin.file_of(&["gitlabUrl"]),
            field: "gitlabUrl".into(),
            problem: format!("{url:?} is not an http(s) URL"),
            fix: "write the full URL, e.g. `gitlabUrl: http://gitlab.example.com/`".into(),
        });
    }
    let has = |k: &str| {
        values
            .get(k)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    let secret = values
        .get("runners")
        .and_then(|r| r.get("secret"))
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty());
    if !has("runnerRegistrationToken") && !has("runnerToken") && !secret {
        return Err(ChartError::BadValue {
            file: origin.file.into(),
            field: "runnerRegistrationToken".into(),
            problem: "no runnerRegistrationToken, runnerToken or runners.secret: the chart renders no token Secret and registration cannot succeed".into(),
            fix: "set `runnerToken: glrt-...` (current GitLab) or `runnerRegistrationToken: <token>` (chart 0.14.0 / GitLab < 16)".into(),
        });
    }
    Ok(())
}

/// The tutorial's patch reads `maven.cache.pvcName` and `maven.cache.mountPath`.
pub fn check_patch_values(values: &Map<String, Value>, origin: &Origin<'_>) -> Result<()> {
    for key in ["pvcName", "mountPath"] {
        let v = values.pointer_get(&["maven", "cache", key]);
        if v.and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(ChartError::BadValue {
                file: origin.file.into(),
                field: format!("maven.cache.{key}"),
                problem: "is missing: the tutorial's configmap patch would write an empty value into config.toml".into(),
                fix: if key == "pvcName" {
                    "add `maven: {cache: {pvcName: gitlab-runner-pvc, mountPath: /home/cache/maven}}`".into()
                } else {
                    "add `maven.cache.mountPath: /home/cache/maven`".into()
                },
            });
        }
    }
    Ok(())
}

/// Top-level keys the chart neither has defaults for, documents in a comment of its
/// values.yaml, nor reads as `.Values.<key>` in a template (Helm ignores them silently).
pub fn unknown_keys(
    chart: &ChartFiles,
    defaults: &Map<String, Value>,
    user: &Map<String, Value>,
) -> Vec<String> {
    static REFS: LazyLock<Option<(Regex, Regex)>> = LazyLock::new(|| {
        Some((
            Regex::new(r"\.Values\.([A-Za-z_][A-Za-z0-9_]*)").ok()?,
            Regex::new(r"(?m)^#\s?([A-Za-z_][A-Za-z0-9_]*):").ok()?,
        ))
    });
    let mut known: BTreeSet<&str> = defaults.keys().map(String::as_str).collect();
    if let Some((in_templates, in_comments)) = REFS.as_ref() {
        for (_, text) in &chart.templates {
            known.extend(
                in_templates
                    .captures_iter(text)
                    .filter_map(|c| c.get(1))
                    .map(|m| m.as_str()),
            );
        }
        known.extend(
            in_comments
                .captures_iter(&chart.values_yaml)
                .filter_map(|c| c.get(1))
                .map(|m| m.as_str()),
        );
    }
    user.keys()
        .filter(|k| !known.contains(k.as_str()))
        .cloned()
        .collect()
}

trait PointerGet {
    fn pointer_get(&self, path: &[&str]) -> Option<&Value>;
}

impl PointerGet for Map<String, Value> {
    fn pointer_get(&self, path: &[&str]) -> Option<&Value> {
        let (first, rest) = path.split_first()?;
        let mut cur = self.get(*first)?;
        for key in rest {
            cur = cur.get(*key)?;
        }
        Some(cur)
    }
}
