//! Which jobs a pipeline gets: `workflow:rules`, `rules`, `only`/`except`.

use std::collections::HashMap;

use glob::{MatchOptions, Pattern};
use regex::Regex;

use super::expr::parse_regex_literal;
use super::model::{CiConfig, JobConfig, RefPolicy, Rule, When};

/// What a pipeline is being created for.
#[derive(Debug, Clone)]
pub struct RefContext<'a> {
    /// Branch or tag name.
    pub ref_name: &'a str,
    /// Whether `ref_name` is a tag.
    pub is_tag: bool,
    /// `push`, `web`, `api`, `trigger`, `schedule`, ...
    pub source: &'a str,
    /// Variables visible to expressions (predefined, project and pipeline variables).
    pub variables: &'a HashMap<String, String>,
    /// Files changed by the push; `None` means "treat `changes` as true" (new branch, web, api).
    pub changed_files: Option<&'a [String]>,
    /// Every file of the commit, for `exists`.
    pub tree_files: &'a [String],
}

/// A job that made it into the pipeline, with what rules decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Selected {
    /// Effective `when`.
    pub when: When,
    /// Effective `allow_failure`.
    pub allow_failure: bool,
    /// Variables added by the matching rule.
    pub variables: Vec<(String, String)>,
}

fn glob_options() -> MatchOptions {
    MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: false,
    }
}

fn any_file_matches(globs: &[String], files: &[String]) -> bool {
    globs.iter().any(|g| {
        Pattern::new(g).is_ok_and(|p| files.iter().any(|f| p.matches_with(f, glob_options())))
    })
}

fn changes_match(globs: &[String], ctx: &RefContext<'_>) -> bool {
    match ctx.changed_files {
        None => true,
        Some(files) => any_file_matches(globs, files),
    }
}

fn rule_matches(rule: &Rule, ctx: &RefContext<'_>) -> bool {
    if let Some(condition) = &rule.if_expr
        && !condition.holds(ctx.variables)
    {
        return false;
    }
    if let Some(globs) = &rule.changes
        && !changes_match(globs, ctx)
    {
        return false;
    }
    if let Some(globs) = &rule.exists
        && !any_file_matches(globs, ctx.tree_files)
    {
        return false;
    }
    true
}

fn ref_matches(pattern: &str, ctx: &RefContext<'_>) -> bool {
    let source_keyword = match pattern {
        "branches" => return !ctx.is_tag,
        "tags" => return ctx.is_tag,
        "pushes" => Some("push"),
        "web" => Some("web"),
        "api" => Some("api"),
        "triggers" => Some("trigger"),
        "schedules" => Some("schedule"),
        "pipelines" => Some("pipeline"),
        "external" => Some("external"),
        "chat" => Some("chat"),
        "merge_requests" => Some("merge_request_event"),
        "external_pull_requests" => Some("external_pull_request_event"),
        _ => None,
    };
    if let Some(source) = source_keyword {
        return ctx.source == source;
    }
    let name = pattern.split('@').next().unwrap_or(pattern);
    if let Some((re, flags)) = parse_regex_literal(name) {
        let prefix = if flags.is_empty() {
            String::new()
        } else {
            format!("(?{flags})")
        };
        return Regex::new(&format!("{prefix}{re}")).is_ok_and(|r| r.is_match(ctx.ref_name));
    }
    name == ctx.ref_name
}

fn policy_satisfied(policy: &RefPolicy, ctx: &RefContext<'_>) -> bool {
    let refs = policy.refs.is_empty() || policy.refs.iter().any(|p| ref_matches(p, ctx));
    let vars =
        policy.variables.is_empty() || policy.variables.iter().any(|c| c.holds(ctx.variables));
    let changes = policy.changes.is_empty() || changes_match(&policy.changes, ctx);
    refs && vars && changes
}

/// Decides whether `job` runs in a pipeline for `ctx`, and how.
pub fn select_job(job: &JobConfig, ctx: &RefContext<'_>) -> Option<Selected> {
    if let Some(rules) = &job.rules {
        let rule = rules.iter().find(|r| rule_matches(r, ctx))?;
        let when = rule.when.unwrap_or(job.when);
        if when == When::Never {
            return None;
        }
        let allow_failure =
            rule.allow_failure
                .unwrap_or(if when == When::Manual && job.when != When::Manual {
                    false
                } else {
                    job.allow_failure
                });
        return Some(Selected {
            when,
            allow_failure,
            variables: rule.variables.clone(),
        });
    }
    if let Some(only) = &job.only
        && !policy_satisfied(only, ctx)
    {
        return None;
    }
    if let Some(except) = &job.except
        && policy_satisfied(except, ctx)
    {
        return None;
    }
    Some(Selected {
        when: job.when,
        allow_failure: job.allow_failure,
        variables: Vec::new(),
    })
}

/// `workflow:rules`: `Some(variables)` when the pipeline may run, `None` when filtered out.
pub fn workflow(config: &CiConfig, ctx: &RefContext<'_>) -> Option<Vec<(String, String)>> {
    let Some(rules) = &config.workflow_rules else {
        return Some(Vec::new());
    };
    let rule = rules.iter().find(|r| rule_matches(r, ctx))?;
    (rule.when != Some(When::Never)).then(|| rule.variables.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::lint_str;

    fn ctx<'a>(
        ref_name: &'a str,
        is_tag: bool,
        source: &'a str,
        vars: &'a HashMap<String, String>,
        changed: Option<&'a [String]>,
    ) -> RefContext<'a> {
        RefContext {
            ref_name,
            is_tag,
            source,
            variables: vars,
            changed_files: changed,
            tree_files: &[],
        }
    }

    fn selected(yaml: &str, c: &RefContext<'_>) -> Vec<String> {
        let config = lint_str(yaml, "x").unwrap();
        config
            .jobs
            .iter()
            .filter(|j| select_job(j, c).is_some())
            .map(|j| j.name.clone())
            .collect()
    }

    const ONLY_EXCEPT: &str = "a:\n  script: x\n  only: [master]\nb:\n  script: x\n  only: [tags]\nc:\n  script: x\n  only: ['/^release-.*$/']\nd:\n  script: x\n  except: [master]\ne:\n  script: x\n  only: [web]\nf:\n  script: x\n  only:\n    refs: [branches]\n    variables: [$DEPLOY == \"yes\"]\ng:\n  script: x\n";

    #[test]
    fn only_and_except_refs() {
        let vars = HashMap::new();
        assert_eq!(
            selected(ONLY_EXCEPT, &ctx("master", false, "push", &vars, None)),
            ["a", "g"]
        );
        assert_eq!(
            selected(ONLY_EXCEPT, &ctx("v1.0", true, "push", &vars, None)),
            ["b", "d", "g"]
        );
        assert_eq!(
            selected(ONLY_EXCEPT, &ctx("release-2", false, "push", &vars, None)),
            ["c", "d", "g"]
        );
        assert_eq!(
            selected(ONLY_EXCEPT, &ctx("topic", false, "web", &vars, None)),
            ["d", "e", "g"]
        );
        let deploy: HashMap<String, String> = [("DEPLOY".to_string(), "yes".to_string())].into();
        assert_eq!(
            selected(ONLY_EXCEPT, &ctx("topic", false, "push", &deploy, None)),
            ["d", "f", "g"]
        );
    }

    #[test]
    fn rules_if_changes_and_when() {
        let yaml = "a:\n  script: x\n  rules:\n    - if: $CI_COMMIT_BRANCH == \"main\"\n      when: manual\n      allow_failure: true\n    - when: never\nb:\n  script: x\n  rules:\n    - changes: [src/**/*.rs]\nc:\n  script: x\n  rules:\n    - if: $CI_COMMIT_TAG\n";
        let main: HashMap<String, String> =
            [("CI_COMMIT_BRANCH".to_string(), "main".to_string())].into();
        let changed = vec!["src/lib/mod.rs".to_string()];
        let c = ctx("main", false, "push", &main, Some(&changed));
        assert_eq!(selected(yaml, &c), ["a", "b"]);
        let config = lint_str(yaml, "x").unwrap();
        let a = select_job(&config.jobs[0], &c).unwrap();
        assert_eq!((a.when, a.allow_failure), (When::Manual, true));
        let docs = vec!["README.md".to_string()];
        let other = HashMap::new();
        assert!(selected(yaml, &ctx("x", false, "push", &other, Some(&docs))).is_empty());
        assert_eq!(
            selected(yaml, &ctx("x", false, "push", &other, None)),
            ["b"],
            "changes is true without a diff"
        );
    }

    #[test]
    fn workflow_rules_filter_pipelines() {
        let yaml = "workflow:\n  rules:\n    - if: $CI_PIPELINE_SOURCE == \"web\"\n      variables: {MODE: manual}\n    - when: never\na:\n  script: x\n";
        let config = lint_str(yaml, "x").unwrap();
        let web: HashMap<String, String> =
            [("CI_PIPELINE_SOURCE".to_string(), "web".to_string())].into();
        let push: HashMap<String, String> =
            [("CI_PIPELINE_SOURCE".to_string(), "push".to_string())].into();
        assert_eq!(
            workflow(&config, &ctx("main", false, "web", &web, None)),
            Some(vec![("MODE".to_string(), "manual".to_string())])
        );
        assert_eq!(
            workflow(&config, &ctx("main", false, "push", &push, None)),
            None
        );
    }

    #[test]
    fn conditions_are_parsed_when_the_file_is_loaded() {
        // An expression that does not parse is the file's error, not a job that silently never runs.
        let errors = lint_str(
            "build:\n  script: x\n  only:\n    variables: ['$A ==']\n",
            "x",
        )
        .unwrap_err();
        assert!(
            errors.iter().any(|e| e
                .message
                .contains("only variables invalid expression syntax")),
            "{errors:?}"
        );
        let config = lint_str(
            "build:\n  script: x\n  rules:\n    - if: '$A == \"1\"'\n",
            "x",
        )
        .unwrap();
        let condition = config.jobs[0].rules.as_ref().unwrap()[0]
            .if_expr
            .clone()
            .unwrap();
        assert_eq!(condition.text(), "$A == \"1\"");
        let vars = HashMap::from([("A".to_string(), "1".to_string())]);
        assert!(condition.holds(&vars));
    }
}
