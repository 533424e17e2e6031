//! `rules:` entries (of jobs and of `workflow:`), with GitLab's messages; their `if:` parsed here,
//! once.

use serde_norway::Value;

use super::entries::{self, Errors};
use super::expr::Condition;
use super::model::{Rule, When};
use super::yaml::scalar_string;

const RULE_KEYS: &[&str] = &[
    "if",
    "changes",
    "exists",
    "when",
    "start_in",
    "allow_failure",
    "variables",
    "needs",
    "interruptible",
];

/// `rules:` (nested arrays flattened), with GitLab's rule messages.
pub fn rules(value: &Value, loc: &str, path: &[&str], errors: &mut Errors) -> Vec<Rule> {
    let Value::Sequence(seq) = value else {
        errors.add(path, format!("{loc} config should be an array of hashes"));
        return Vec::new();
    };
    let mut out = Vec::new();
    let rloc = format!("{loc}:rule");
    let mut flat: Vec<&Value> = Vec::new();
    for item in seq {
        match item {
            Value::Sequence(inner) => flat.extend(inner.iter()),
            other => flat.push(other),
        }
    }
    for item in flat {
        let Value::Mapping(m) = item else {
            errors.add(path, format!("{rloc} config should be a hash"));
            continue;
        };
        entries::check_keys(m, RULE_KEYS, &rloc, path, errors);
        let mut rule = Rule::default();
        if let Some(v) = m.get("if") {
            match v.as_str().map(Condition::parse) {
                Some(Ok(condition)) => rule.if_expr = Some(condition),
                _ => errors.add(path, format!("{rloc} if invalid expression syntax")),
            }
        }
        if let Some(v) = m.get("when") {
            match v.as_str().and_then(When::parse) {
                Some(w) => rule.when = Some(w),
                None => errors.add(
                    path,
                    format!(
                        "{rloc} when unknown value: {}",
                        scalar_string(v).unwrap_or_default()
                    ),
                ),
            }
        }
        rule.changes = m.get("changes").map(rule_paths);
        rule.exists = m.get("exists").map(rule_paths);
        rule.allow_failure = m.get("allow_failure").and_then(Value::as_bool);
        if let Some(v) = m.get("variables") {
            rule.variables = entries::variables(v, &format!("{rloc}:variables"), path, errors);
        }
        out.push(rule);
    }
    out
}

/// `changes:` / `exists:` of a rule: globs as a list, one string, or `{paths: [...]}`.
fn rule_paths(value: &Value) -> Vec<String> {
    match value {
        Value::Mapping(c) => c
            .get("paths")
            .and_then(entries::strings)
            .unwrap_or_default(),
        other => entries::string_or_strings(other).unwrap_or_default(),
    }
}
