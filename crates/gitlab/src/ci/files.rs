//! Entry checks of `artifacts:` and `cache:`, the two keys that name files a job keeps, with
//! GitLab's wording.

use serde_norway::Value;

use super::duration;
use super::entries::{Errors, check_keys, one_or_many, string_or_strings, strings};
use super::model::{ArtifactsConfig, CacheConfig};
use super::yaml::scalar_string;

/// `artifacts:`.
pub fn artifacts(
    value: &Value,
    loc: &str,
    path: &[&str],
    errors: &mut Errors,
) -> Option<ArtifactsConfig> {
    let Value::Mapping(m) = value else {
        errors.add(path, format!("{loc} config should be a hash"));
        return None;
    };
    check_keys(
        m,
        &[
            "name",
            "untracked",
            "paths",
            "reports",
            "when",
            "expire_in",
            "expose_as",
            "exclude",
            "public",
            "access",
        ],
        loc,
        path,
        errors,
    );
    let mut out = ArtifactsConfig {
        when: "on_success".into(),
        ..ArtifactsConfig::default()
    };
    if let Some(p) = m.get("paths") {
        match strings(p) {
            Some(p) => out.paths = p,
            None => errors.add(path, format!("{loc} paths should be an array of strings")),
        }
    }
    if let Some(p) = m.get("exclude") {
        out.exclude = strings(p).unwrap_or_default();
    }
    out.untracked = m.get("untracked").and_then(Value::as_bool).unwrap_or(false);
    out.name = m.get("name").and_then(scalar_string);
    if let Some(w) = m.get("when") {
        match w.as_str() {
            Some(w @ ("on_success" | "on_failure" | "always")) => out.when = w.to_string(),
            _ => errors.add(
                path,
                format!("{loc} when should be on_success, on_failure or always"),
            ),
        }
    }
    if let Some(e) = m.get("expire_in") {
        match scalar_string(e) {
            Some(s) if duration::is_never(&s) || duration::parse_seconds(&s).is_some() => {
                out.expire_in = Some(s)
            }
            _ => errors.add(path, format!("{loc} expire_in should be a duration")),
        }
    }
    if let Some(r) = m.get("reports") {
        let rloc = format!("{loc}:reports");
        match r {
            Value::Mapping(rm) => {
                check_keys(
                    rm,
                    &[
                        "junit",
                        "coverage_report",
                        "dotenv",
                        "codequality",
                        "sast",
                        "cobertura",
                        "terraform",
                        "metrics",
                        "annotations",
                        "requirements",
                        "accessibility",
                        "load_performance",
                        "browser_performance",
                        "container_scanning",
                        "dependency_scanning",
                        "secret_detection",
                        "cyclonedx",
                        "lsif",
                        "api_fuzzing",
                        "coverage_fuzzing",
                        "dast",
                        "license_scanning",
                    ],
                    &rloc,
                    path,
                    errors,
                );
                if let Some(j) = rm.get("junit") {
                    match string_or_strings(j) {
                        Some(j) => out.junit = j,
                        None => errors.add(
                            path,
                            format!("{rloc} junit should be an array of strings or a string"),
                        ),
                    }
                }
            }
            _ => errors.add(path, format!("{rloc} config should be a hash")),
        }
    }
    Some(out)
}

/// `cache:` (one hash or a list of them).
pub fn cache(value: &Value, loc: &str, path: &[&str], errors: &mut Errors) -> Vec<CacheConfig> {
    let mut out = Vec::new();
    for item in one_or_many(value) {
        let Value::Mapping(m) = item else {
            errors.add(path, format!("{loc} config should be a hash"));
            continue;
        };
        check_keys(
            m,
            &[
                "key",
                "untracked",
                "paths",
                "when",
                "policy",
                "unprotect",
                "fallback_keys",
            ],
            loc,
            path,
            errors,
        );
        let policy = m
            .get("policy")
            .and_then(Value::as_str)
            .unwrap_or("pull-push")
            .to_string();
        if !matches!(policy.as_str(), "pull-push" | "pull" | "push") && !policy.contains('$') {
            errors.add(
                path,
                format!("{loc} policy should be one of: pull-push, push, pull"),
            );
        }
        let when = m
            .get("when")
            .and_then(Value::as_str)
            .unwrap_or("on_success")
            .to_string();
        if !matches!(when.as_str(), "on_success" | "on_failure" | "always") {
            errors.add(
                path,
                format!("{loc} when should be one of: on_success, on_failure, always"),
            );
        }
        let key = match m.get("key") {
            Some(Value::Mapping(k)) => k
                .get("prefix")
                .and_then(scalar_string)
                .unwrap_or_else(|| "default".into()),
            Some(k) => scalar_string(k).unwrap_or_else(|| "default".into()),
            None => "default".into(),
        };
        out.push(CacheConfig {
            key,
            paths: m.get("paths").and_then(strings).unwrap_or_default(),
            policy,
            untracked: m.get("untracked").and_then(Value::as_bool).unwrap_or(false),
            when,
        });
    }
    out
}
