//! The loader's error messages, pinned: file, line, field and fix.

use super::*;

/// Loads `text` as `s.yaml` in a fresh directory and checks that the error it gives
/// contains every one of `wants`.
fn assert_load_error(text: &str, wants: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    std::fs::write(&path, text).unwrap();
    let err = load(&path).unwrap_err().to_string();
    for want in wants {
        assert!(err.contains(want), "{want:?} not in: {err}");
    }
}

#[test]
fn unknown_key_names_line_and_accepted_keys() {
    assert_load_error(
        "steps:\n  - kubectl: get po\n    asert: []\n",
        &["s.yaml:3:", "unknown field `asert`", "`assert`"],
    );
}

#[test]
fn wrong_type_is_reported_with_its_line() {
    assert_load_error(
        "environment:\n  cluster:\n    nodes: 3\nsteps:\n  - kubectl: get po\n",
        &["s.yaml:3:", "nodes"],
    );
}

#[test]
fn a_step_needs_exactly_one_action() {
    assert_load_error(
        "steps:\n  - kubectl: get po\n  - name: nothing\n",
        &["s.yaml:3:", "steps[1] has no action"],
    );
    assert_load_error(
        "steps:\n  - kubectl: get po\n    wait: pipelines\n",
        &["several actions (kubectl, wait)"],
    );
}

#[test]
fn assertions_need_exactly_one_check() {
    assert_load_error(
        "steps:\n  - wait: pipelines\n    assert:\n      - {}\n",
        &["steps[0].assert[0] must have exactly one of pipeline"],
    );
}

#[test]
fn missing_referenced_file_is_an_error() {
    assert_load_error(
        "steps:\n  - lint:\n      file: nope/.gitlab-ci.yml\n",
        &["steps[0].lint.file", "does not exist"],
    );
}

#[test]
fn bad_duration_is_explained() {
    assert_load_error(
        "steps:\n  - wait: pipelines\n    timeout: soon\n",
        &["timeout", "90s"],
    );
}

#[test]
fn durations_parse() {
    assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
    assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
    assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
    assert_eq!(parse_duration("5").unwrap(), Duration::from_secs(5));
    assert!(parse_duration("5d").is_err());
}

#[test]
fn expect_failure_must_name_a_step() {
    assert_load_error(
        "expect_failure: {step: nope}\nsteps:\n  - name: a\n    wait: pipelines\n",
        &["names no step", "a"],
    );
}

#[test]
fn every_shipped_scenario_loads() {
    let dir = crate::paths::repo_root().join("scenarios");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            load(&path).unwrap_or_else(|e| panic!("{e}"));
            count += 1;
        }
    }
    assert!(count >= 9, "{count} scenarios in {}", dir.display());
}

#[test]
fn step_lines_are_found() {
    let src = "name: x\nsteps:\n  # c\n  - a: 1\n    b: [2]\n  - c: 3\nother: 1\n";
    assert_eq!(step_line(src, 0), Some(4));
    assert_eq!(step_line(src, 1), Some(6));
    assert_eq!(step_line(src, 2), None);
}

#[test]
fn statuses_are_checked_when_loading() {
    assert_load_error(
        "steps:\n  - wait: pipelines\n    assert:\n      - pipeline: {status: sucess}\n",
        &["s.yaml:4:", "unknown variant `sucess`", "`success`"],
    );
    assert_load_error(
        "steps:\n  - wait: pipelines\n    assert:\n      - pipeline: {jobs: {build: passed}}\n",
        &["s.yaml:4:", "unknown variant `passed`"],
    );
}

#[test]
fn steps_become_one_typed_action_with_a_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    std::fs::write(
        &path,
        "steps:\n  - kubectl: get po\n  - wait: pipelines\n    timeout: 2m\n    assert:\n      - pipeline: {status: success}\n",
    )
    .unwrap();
    let loaded = load(&path).unwrap();
    assert!(matches!(loaded.steps[0].action, Action::Kubectl(_)));
    assert_eq!(loaded.steps[0].name, "kubectl get po");
    assert_eq!(loaded.steps[0].timeout, Duration::from_secs(60));
    assert_eq!(loaded.steps[1].timeout, Duration::from_secs(120));
    assert!(matches!(
        loaded.steps[1].checks[0],
        Check::Pipeline(super::super::model::PipelineAssert {
            status: Some(super::super::model::CiStatus::Success),
            ..
        })
    ));
}

#[test]
fn helm_steps_are_typed_like_kubectl_steps_and_need_helm() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    std::fs::write(
        &path,
        "steps:\n  - helm: history gitlab-runner -n gitlab-runners\n  - helm: {args: rollback gitlab-runner 1 -n gitlab-runners, stdout_contains: [Rollback was a success]}\n  - kubectl: get po\n",
    )
    .unwrap();
    let loaded = load(&path).unwrap();
    let Action::Helm(history) = &loaded.steps[0].action else {
        panic!("{:?}", loaded.steps[0].action)
    };
    assert_eq!(history.args, "history gitlab-runner -n gitlab-runners");
    assert_eq!(history.exit_code, None);
    assert_eq!(
        loaded.steps[0].name,
        "helm history gitlab-runner -n gitlab-runners"
    );
    let Action::Helm(rollback) = &loaded.steps[1].action else {
        panic!("{:?}", loaded.steps[1].action)
    };
    assert_eq!(rollback.stdout_contains, ["Rollback was a success"]);
    assert!(loaded.steps[0].action.needs_helm() && !loaded.steps[2].action.needs_helm());
    assert_load_error(
        "steps:\n  - helm: {args: list, stdout_contain: [x]}\n",
        &["s.yaml:2:"],
    );
}

#[test]
fn unnamed_steps_are_titled_by_what_they_do() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    std::fs::write(
        &path,
        "steps:\n  - install_chart: {chart: \"0.14.0\"}\n  - upgrade_chart: {}\n  - wait: pipelines\n  - wait: {deployment_available: {name: app, namespace: demo}}\n  - run_pipeline: {ref: main, count: 2}\n  - fault: kill_runner_pod\n  - name: mine\n    wait: runner_online\n",
    )
    .unwrap();
    let names: Vec<String> = load(&path)
        .unwrap()
        .steps
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(
        names,
        [
            "install the runner chart (chart 0.14.0)",
            "upgrade the runner release",
            "wait for the pipelines to finish",
            "wait for deployment/app in demo to be available",
            "run 2 pipelines on main",
            "fault: delete the runner pod",
            "mine",
        ]
    );
}
