//! Root and job validation, then the logical checks (stages, needs, dependencies).

use serde_norway::{Mapping, Value};

use super::entries::{self, Errors};
use super::files;
use super::keys::{DEFAULT_KEYS, GLOBAL_KEYS, JOB_KEYS};
use super::model::{CiConfig, JobConfig, When};
use super::yaml::{key_string, scalar_string};

const JOB_WHEN: &str = "on_success, on_failure, always, manual, delayed";

/// Validates the composed root mapping and builds the [`CiConfig`].
pub fn check(root: &Mapping, errors: &mut Errors) -> CiConfig {
    let default = match root.get("default") {
        Some(Value::Mapping(m)) => {
            entries::check_keys(m, DEFAULT_KEYS, "default", &["default"], errors);
            m.clone()
        }
        Some(_) => {
            errors.add(&["default"], "default config should be a hash".into());
            Mapping::new()
        }
        None => Mapping::new(),
    };
    let mut inherited = Mapping::new();
    for key in [
        "image",
        "services",
        "before_script",
        "after_script",
        "cache",
    ] {
        if let Some(v) = root.get(key) {
            inherited.insert(Value::from(key), v.clone());
        }
    }
    for (k, v) in &default {
        inherited.insert(k.clone(), v.clone());
    }

    let mut stages = vec![".pre".to_string()];
    match root.get("stages").or_else(|| root.get("types")) {
        Some(v) => match entries::strings(v) {
            Some(list) => stages.extend(list.into_iter().filter(|s| s != ".pre" && s != ".post")),
            None => errors.add(
                &["stages"],
                "stages config should be an array of strings".into(),
            ),
        },
        None => stages.extend(["build", "test", "deploy"].map(String::from)),
    }
    stages.push(".post".into());

    if let Some(v) = root.get("image") {
        entries::image(v, "image", &["image"], errors);
    }
    for key in ["before_script", "after_script"] {
        if let Some(v) = root.get(key) {
            entries::commands(v, key, &[key], errors);
        }
    }
    let variables = root
        .get("variables")
        .map(|v| entries::variables(v, "variables", &["variables"], errors))
        .unwrap_or_default();
    let workflow_rules = match root.get("workflow") {
        Some(Value::Mapping(w)) => {
            entries::check_keys(
                w,
                &["rules", "name", "auto_cancel"],
                "workflow",
                &["workflow"],
                errors,
            );
            w.get("rules")
                .map(|r| super::rules::rules(r, "workflow:rules", &["workflow", "rules"], errors))
        }
        Some(_) => {
            errors.add(&["workflow"], "workflow config should be a hash".into());
            None
        }
        None => None,
    };

    let mut jobs = Vec::new();
    for (key, value) in root {
        let name = key_string(key);
        if GLOBAL_KEYS.contains(&name.as_str()) || name.starts_with('.') {
            continue;
        }
        let is_job = matches!(value, Value::Mapping(m)
            if m.contains_key("script") || m.contains_key("run") || m.contains_key("trigger"));
        if !is_job {
            errors.add(
                &[&name],
                format!(
                    "jobs {name} config should implement the script:, run:, or trigger: keyword"
                ),
            );
            continue;
        }
        if let Value::Mapping(m) = value {
            if m.contains_key("trigger") && !m.contains_key("script") {
                continue;
            }
            jobs.push(job(&name, m, &inherited, &variables, errors));
        }
    }
    if jobs.is_empty() {
        errors.add(
            &[],
            "jobs config should contain at least one visible job".into(),
        );
    }
    CiConfig {
        stages,
        variables,
        workflow_rules,
        jobs,
    }
}

fn job(
    name: &str,
    own: &Mapping,
    inherited: &Mapping,
    globals: &[(String, String)],
    errors: &mut Errors,
) -> JobConfig {
    let loc = format!("jobs:{name}");
    let path = [name];
    entries::check_keys(own, JOB_KEYS, &loc, &path, errors);
    if own.contains_key("rules") {
        let bad: Vec<&str> = ["only", "except", "start_in"]
            .into_iter()
            .filter(|k| own.contains_key(*k))
            .collect();
        if !bad.is_empty() {
            errors.add(
                &path,
                format!(
                    "{loc} config key may not be used with `rules`: {}",
                    bad.join(", ")
                ),
            );
        }
    }
    let (inherit_default, inherit_vars) = super::entries::inherit(own.get("inherit"));
    let pick = |key: &str| -> Option<&Value> {
        own.get(key).or_else(|| {
            if inherit_default
                .as_ref()
                .is_none_or(|keys| keys.iter().any(|k| k == key))
            {
                inherited.get(key)
            } else {
                None
            }
        })
    };
    let sub = |k: &str| format!("{loc}:{k}");
    let script = own
        .get("script")
        .map(|v| entries::commands(v, &sub("script"), &[name, "script"], errors))
        .unwrap_or_default();
    let before_script = pick("before_script")
        .map(|v| entries::commands(v, &sub("before_script"), &[name, "before_script"], errors))
        .unwrap_or_default();
    let after_script = pick("after_script")
        .map(|v| entries::commands(v, &sub("after_script"), &[name, "after_script"], errors))
        .unwrap_or_default();
    let stage = match own.get("stage").or_else(|| own.get("type")) {
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            errors.add(
                &[name, "stage"],
                format!("{loc}:stage config should be a string"),
            );
            "test".into()
        }
        None => "test".into(),
    };
    let when = match own.get("when") {
        None => When::OnSuccess,
        Some(v) => match v
            .as_str()
            .and_then(When::parse)
            .filter(|w| *w != When::Never)
        {
            Some(w) => w,
            None => {
                errors.add(
                    &[name, "when"],
                    format!("{loc} when should be one of: {JOB_WHEN}"),
                );
                When::OnSuccess
            }
        },
    };
    let allow_failure = match own.get("allow_failure") {
        None => when == When::Manual,
        Some(Value::Bool(b)) => *b,
        Some(Value::Mapping(_)) => false,
        Some(_) => {
            errors.add(
                &[name, "allow_failure"],
                format!("{loc} allow_failure should be a hash or a boolean value"),
            );
            false
        }
    };
    let tags = match pick("tags") {
        None => Vec::new(),
        Some(v) => entries::strings(v).unwrap_or_else(|| {
            errors.add(
                &[name, "tags"],
                format!("{loc}:tags config should be an array of strings"),
            );
            Vec::new()
        }),
    };
    let dependencies = own.get("dependencies").map(|v| {
        entries::strings(v).unwrap_or_else(|| {
            errors.add(
                &[name, "dependencies"],
                format!("{loc} dependencies should be an array of strings"),
            );
            Vec::new()
        })
    });
    if let Some(v) = own.get("interruptible")
        && !matches!(v, Value::Bool(_))
    {
        errors.add(
            &[name, "interruptible"],
            format!("{loc}:interruptible config should be a boolean value"),
        );
    }
    let image =
        pick("image").and_then(|v| entries::image(v, &sub("image"), &[name, "image"], errors));
    let services = pick("services")
        .map(|v| entries::services(v, &sub("services"), &[name, "services"], errors))
        .unwrap_or_default();
    let mut variables: Vec<(String, String)> = if inherit_vars {
        globals.to_vec()
    } else {
        Vec::new()
    };
    if let Some(v) = own.get("variables") {
        for (k, val) in entries::variables(v, &sub("variables"), &[name, "variables"], errors) {
            variables.retain(|(existing, _)| *existing != k);
            variables.push((k, val));
        }
    }
    let rules = own
        .get("rules")
        .map(|v| super::rules::rules(v, &sub("rules"), &[name, "rules"], errors));
    let default_only = rules.is_none().then(|| super::model::RefPolicy {
        refs: vec!["branches".into(), "tags".into()],
        ..Default::default()
    });
    let only = match own.get("only") {
        Some(v) => entries::policy(v, &sub("only"), &[name, "only"], errors),
        None => default_only,
    };
    let except = own
        .get("except")
        .and_then(|v| entries::policy(v, &sub("except"), &[name, "except"], errors));
    let needs = own
        .get("needs")
        .map(|v| super::entries::needs(v, &sub("needs"), &[name, "needs"], errors));
    if let (Some(deps), Some(needs)) = (&dependencies, &needs) {
        let missing: Vec<&str> = deps
            .iter()
            .filter(|d| !needs.iter().any(|n| &n.job == *d))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            errors.add(
                &[name, "dependencies"],
                format!(
                    "{loc} dependencies the {} should be part of needs",
                    missing.join(", ")
                ),
            );
        }
    }
    let artifacts = pick("artifacts")
        .and_then(|v| files::artifacts(v, &sub("artifacts"), &[name, "artifacts"], errors));
    let cache = pick("cache")
        .map(|v| files::cache(v, &sub("cache"), &[name, "cache"], errors))
        .unwrap_or_default();
    let (retry_max, retry_when) = pick("retry")
        .map(|v| entries::retry(v, &sub("retry"), &[name, "retry"], errors))
        .unwrap_or((0, vec![]));
    let timeout = pick("timeout")
        .and_then(|v| entries::timeout(v, &sub("timeout"), &[name, "timeout"], errors));
    let environment = match own.get("environment") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Mapping(m)) => m.get("name").and_then(scalar_string),
        _ => None,
    };
    JobConfig {
        name: name.to_string(),
        stage,
        script,
        before_script,
        after_script,
        image,
        services,
        tags,
        variables,
        only,
        except,
        rules,
        when,
        allow_failure,
        allow_failure_exit_codes: match own.get("allow_failure") {
            Some(Value::Mapping(m)) => match m.get("exit_codes") {
                Some(Value::Sequence(seq)) => seq.iter().filter_map(Value::as_i64).collect(),
                Some(v) => v.as_i64().into_iter().collect(),
                None => Vec::new(),
            },
            _ => Vec::new(),
        },
        needs,
        dependencies,
        artifacts,
        cache,
        retry_max,
        retry_when,
        timeout,
        interruptible: pick("interruptible")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        environment,
    }
}
