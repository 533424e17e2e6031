//! Entry checks of single values, with GitLab's wording (`<location> config should be ...`).

use serde_norway::{Mapping, Value};

use super::duration;
use super::model::{ImageConfig, Need, RefPolicy};
use super::yaml::{key_string, scalar_string};

/// Error sink that knows the current location (`jobs:build:artifacts`).
pub struct Errors {
    /// Messages collected so far.
    pub list: Vec<(Vec<String>, String)>,
}

impl Errors {
    /// Records `message` for the key path `path`.
    pub fn add(&mut self, path: &[&str], message: String) {
        self.list
            .push((path.iter().map(|s| s.to_string()).collect(), message));
    }
}

const SCRIPT_MSG: &str =
    "config should be a string or a nested array of strings up to 10 levels deep";

/// `script`/`before_script`/`after_script`: a string or nested string arrays (≤ 10 levels).
pub fn commands(value: &Value, loc: &str, path: &[&str], errors: &mut Errors) -> Vec<String> {
    let mut out = Vec::new();
    if !flatten(value, 0, &mut out) {
        errors.add(path, format!("{loc} {SCRIPT_MSG}"));
    }
    out
}

fn flatten(value: &Value, level: usize, out: &mut Vec<String>) -> bool {
    match value {
        Value::String(s) => {
            out.push(s.clone());
            true
        }
        Value::Sequence(seq) if level < 10 => seq.iter().all(|v| flatten(v, level + 1, out)),
        _ => false,
    }
}

/// An array of strings (`tags`, `paths`, ...); `None` when it is not one.
pub fn strings(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::Sequence(seq) => seq.iter().map(|v| v.as_str().map(str::to_string)).collect(),
        _ => None,
    }
}

/// A string or an array of strings.
pub fn string_or_strings(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::String(s) => Some(vec![s.clone()]),
        other => strings(other),
    }
}

/// The items of a list, or the value itself where one item may stand for a list of one.
pub fn one_or_many(value: &Value) -> Vec<&Value> {
    match value {
        Value::Sequence(seq) => seq.iter().collect(),
        other => vec![other],
    }
}

/// Keys of `map` not in `allowed`, in file order.
pub fn unknown_keys(map: &Mapping, allowed: &[&str]) -> Vec<String> {
    map.keys()
        .map(key_string)
        .filter(|k| !allowed.contains(&k.as_str()))
        .collect()
}

/// Reports unknown keys as `<loc> config contains unknown keys: a, b`.
pub fn check_keys(map: &Mapping, allowed: &[&str], loc: &str, path: &[&str], errors: &mut Errors) {
    let unknown = unknown_keys(map, allowed);
    if !unknown.is_empty() {
        errors.add(
            path,
            format!("{loc} config contains unknown keys: {}", unknown.join(", ")),
        );
    }
}

/// `image:` / one service.
pub fn image(value: &Value, loc: &str, path: &[&str], errors: &mut Errors) -> Option<ImageConfig> {
    match value {
        Value::String(s) => Some(ImageConfig {
            name: s.clone(),
            ..ImageConfig::default()
        }),
        Value::Mapping(m) => {
            check_keys(
                m,
                &[
                    "name",
                    "entrypoint",
                    "command",
                    "alias",
                    "pull_policy",
                    "ports",
                    "variables",
                    "docker",
                    "kubernetes",
                ],
                loc,
                path,
                errors,
            );
            let Some(name) = m.get("name").and_then(Value::as_str) else {
                errors.add(path, format!("{loc} name can't be blank"));
                return None;
            };
            Some(ImageConfig {
                name: name.to_string(),
                entrypoint: m.get("entrypoint").and_then(strings),
                command: m.get("command").and_then(strings),
                alias: m.get("alias").and_then(Value::as_str).map(str::to_string),
                pull_policy: m
                    .get("pull_policy")
                    .and_then(string_or_strings)
                    .unwrap_or_default(),
            })
        }
        _ => {
            errors.add(path, format!("{loc} config should be a hash or a string"));
            None
        }
    }
}

/// `services:`.
pub fn services(value: &Value, loc: &str, path: &[&str], errors: &mut Errors) -> Vec<ImageConfig> {
    match value {
        Value::Sequence(seq) => seq
            .iter()
            .filter_map(|v| image(v, &format!("{loc}:service"), path, errors))
            .collect(),
        _ => {
            errors.add(path, format!("{loc} config should be a array"));
            Vec::new()
        }
    }
}

/// `variables:` as key/value pairs (values may be `{value:, description:, expand:}`).
pub fn variables(
    value: &Value,
    loc: &str,
    path: &[&str],
    errors: &mut Errors,
) -> Vec<(String, String)> {
    let msg = format!("{loc} config should be a hash of key value pairs, value can be a hash");
    let Value::Mapping(map) = value else {
        if !matches!(value, Value::Null) {
            errors.add(path, msg);
        }
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, v) in map {
        let key = key_string(k);
        let val = match v {
            Value::Mapping(m) => m
                .get("value")
                .and_then(scalar_string)
                .or_else(|| m.get("value").is_none().then(String::new)),
            Value::Null => Some(String::new()),
            other => scalar_string(other),
        };
        match val {
            Some(val) => out.push((key, val)),
            None => {
                errors.add(path, msg);
                return out;
            }
        }
    }
    out
}

/// `only:` / `except:`.
pub fn policy(value: &Value, loc: &str, path: &[&str], errors: &mut Errors) -> Option<RefPolicy> {
    match value {
        Value::String(s) => Some(RefPolicy {
            refs: vec![s.clone()],
            ..RefPolicy::default()
        }),
        Value::Sequence(_) => match strings(value) {
            Some(refs) => Some(RefPolicy {
                refs,
                ..RefPolicy::default()
            }),
            None => {
                errors.add(
                    path,
                    format!("{loc} config should be an array of strings or regular expressions"),
                );
                None
            }
        },
        Value::Mapping(m) => {
            check_keys(
                m,
                &["refs", "kubernetes", "variables", "changes"],
                loc,
                path,
                errors,
            );
            Some(RefPolicy {
                refs: m
                    .get("refs")
                    .and_then(string_or_strings)
                    .unwrap_or_default(),
                variables: m
                    .get("variables")
                    .and_then(string_or_strings)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|text| match super::expr::Condition::parse(text) {
                        Ok(condition) => Some(condition),
                        Err(_) => {
                            errors.add(path, format!("{loc} variables invalid expression syntax"));
                            None
                        }
                    })
                    .collect(),
                changes: m
                    .get("changes")
                    .and_then(string_or_strings)
                    .unwrap_or_default(),
            })
        }
        _ => {
            errors.add(
                path,
                format!("{loc} config should be an array of strings or a hash"),
            );
            None
        }
    }
}

/// `timeout:` in seconds.
pub fn timeout(value: &Value, loc: &str, path: &[&str], errors: &mut Errors) -> Option<u64> {
    match scalar_string(value).and_then(|s| duration::parse_seconds(&s)) {
        Some(s) => Some(s),
        None => {
            errors.add(path, format!("{loc} config should be a duration"));
            None
        }
    }
}

/// `retry:` → (max, when).
pub fn retry(value: &Value, loc: &str, path: &[&str], errors: &mut Errors) -> (u32, Vec<String>) {
    let check_max = |n: Option<u64>, errors: &mut Errors, what: &str| -> u32 {
        match n {
            Some(n) if n <= 2 => n as u32,
            Some(_) => {
                errors.add(
                    path,
                    format!("{loc} {what} must be less than or equal to 2"),
                );
                0
            }
            None => {
                errors.add(path, format!("{loc} {what} must be an integer"));
                0
            }
        }
    };
    match value {
        Value::Number(n) => (
            check_max(n.as_u64(), errors, "config"),
            vec!["always".into()],
        ),
        Value::Mapping(m) => {
            check_keys(m, &["max", "when", "exit_codes"], loc, path, errors);
            let max = match m.get("max") {
                Some(v) => check_max(v.as_u64(), errors, "max"),
                None => 0,
            };
            let when = m
                .get("when")
                .and_then(string_or_strings)
                .unwrap_or_else(|| vec!["always".into()]);
            (max, when)
        }
        _ => {
            errors.add(path, format!("{loc} config should be a hash or an integer"));
            (0, vec![])
        }
    }
}

/// `inherit:` → (default keys to inherit or all, inherit global variables).
pub fn inherit(value: Option<&Value>) -> (Option<Vec<String>>, bool) {
    let Some(Value::Mapping(m)) = value else {
        return (None, true);
    };
    let default = match m.get("default") {
        Some(Value::Bool(false)) => Some(Vec::new()),
        Some(v @ Value::Sequence(_)) => strings(v),
        _ => None,
    };
    let vars = !matches!(m.get("variables"), Some(Value::Bool(false)));
    (default, vars)
}

/// `needs:` (strings or `{job, artifacts, optional}`).
pub fn needs(value: &Value, loc: &str, path: &[&str], errors: &mut Errors) -> Vec<Need> {
    let mut out = Vec::new();
    for item in one_or_many(value) {
        match item {
            Value::String(s) => out.push(Need {
                job: s.clone(),
                artifacts: true,
                optional: false,
            }),
            Value::Mapping(m) => match m.get("job").and_then(Value::as_str) {
                Some(job) => out.push(Need {
                    job: job.to_string(),
                    artifacts: m.get("artifacts").and_then(Value::as_bool).unwrap_or(true),
                    optional: m.get("optional").and_then(Value::as_bool).unwrap_or(false),
                }),
                None if m.contains_key("pipeline") || m.contains_key("project") => {}
                None => errors.add(path, format!("{loc}:need config must define a job")),
            },
            _ => errors.add(path, format!("{loc}:need has an unsupported type")),
        }
    }
    out
}
