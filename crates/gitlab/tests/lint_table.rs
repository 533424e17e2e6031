//! GitLab's lint messages, case by case, plus the tutorial's verbatim and corrected files.

use harness_gitlab::lint::lint_str;

const VERBATIM: &str = include_str!("fixtures/tutorial-verbatim.gitlab-ci.yml");
const FIXED: &str = include_str!("fixtures/tutorial-fixed.gitlab-ci.yml");

#[test]
fn tutorial_verbatim_file_fails_with_both_stage_errors() {
    let errors = lint_str(VERBATIM, "fixtures/.gitlab-ci.yml").unwrap_err();
    let messages: Vec<_> = errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "docker-build job: chosen stage does not exist; available stages are .pre, package, docker_build, deploy_k8s, .post",
            "k8s-deploy job: chosen stage does not exist; available stages are .pre, package, docker_build, deploy_k8s, .post",
        ]
    );
    assert_eq!(errors[0].line, Some(29), "points at `stage: build`");
    assert_eq!(errors[1].line, Some(41), "points at `stage: deploy`");
}

#[test]
fn tutorial_fixed_file_passes_with_three_jobs_in_three_stages() {
    let config = lint_str(FIXED, "fixtures/.gitlab-ci.yml").unwrap();
    let jobs: Vec<_> = config
        .jobs
        .iter()
        .map(|j| (j.name.as_str(), j.stage.as_str()))
        .collect();
    assert_eq!(
        jobs,
        [
            ("maven-package", "package"),
            ("docker-build", "docker_build"),
            ("k8s-deploy", "deploy_k8s")
        ]
    );
    let sed = &config.job("k8s-deploy").unwrap().script[1];
    assert!(
        sed.starts_with("sed -i \"s@$(grep -E"),
        "sed line is a plain string: {sed}"
    );
    assert_eq!(
        config
            .job("maven-package")
            .unwrap()
            .image
            .as_ref()
            .unwrap()
            .name
            .split(':')
            .next()
            .unwrap(),
        "registry.cn-beijing.aliyuncs.com/codepipeline/public-blueocean-codepipeline-slave-java"
    );
    assert_eq!(
        config.jobs[0].before_script.len(),
        1,
        "global before_script is inherited"
    );
}

/// (case name, file, GitLab's first expected message)
const CASES: &[(&str, &str, &str)] = &[
    ("empty file", "", "Please provide content of .gitlab-ci.yml"),
    (
        "root is a list",
        "- a\n- b\n",
        "Invalid configuration format",
    ),
    (
        "root is a string",
        "hello\n",
        "Invalid configuration format",
    ),
    (
        "no visible job",
        ".hidden:\n  script: x\n",
        "jobs config should contain at least one visible job",
    ),
    (
        "job without script",
        "build:\n  stage: build\n",
        "jobs build config should implement the script:, run:, or trigger: keyword",
    ),
    (
        "job that is a string",
        "build: make\n",
        "jobs build config should implement the script:, run:, or trigger: keyword",
    ),
    (
        "unknown job key",
        "build:\n  script: make\n  scirpt: x\n",
        "jobs:build config contains unknown keys: scirpt",
    ),
    (
        "script is a mapping",
        "build:\n  script:\n    - echo \"a: b\"\n    - echo a: b\n",
        "jobs:build:script config should be a string or a nested array of strings up to 10 levels deep",
    ),
    (
        "script is a number",
        "build:\n  script: 42\n",
        "jobs:build:script config should be a string or a nested array of strings up to 10 levels deep",
    ),
    (
        "before_script is a mapping",
        "build:\n  before_script:\n    a: b\n  script: x\n",
        "jobs:build:before_script config should be a string or a nested array of strings up to 10 levels deep",
    ),
    (
        "after_script nested too deep",
        "build:\n  script: x\n  after_script: [[[[[[[[[[[x]]]]]]]]]]]\n",
        "jobs:build:after_script config should be a string or a nested array of strings up to 10 levels deep",
    ),
    (
        "global before_script is a mapping",
        "before_script:\n  a: b\nbuild:\n  script: x\n",
        "before_script config should be a string or a nested array of strings up to 10 levels deep",
    ),
    (
        "stages is a string",
        "stages: build\nbuild:\n  script: x\n",
        "stages config should be an array of strings",
    ),
    (
        "undefined stage",
        "stages: [package]\nbuild:\n  stage: build\n  script: x\n",
        "build job: chosen stage does not exist; available stages are .pre, package, .post",
    ),
    (
        "default stages",
        "build:\n  stage: package\n  script: x\n",
        "build job: chosen stage does not exist; available stages are .pre, build, test, deploy, .post",
    ),
    (
        "stage is a list",
        "build:\n  stage: [a]\n  script: x\n",
        "jobs:build:stage config should be a string",
    ),
    (
        "bad when",
        "build:\n  script: x\n  when: sometimes\n",
        "jobs:build when should be one of: on_success, on_failure, always, manual, delayed",
    ),
    (
        "tags is a string",
        "build:\n  script: x\n  tags: docker\n",
        "jobs:build:tags config should be an array of strings",
    ),
    (
        "allow_failure is a string",
        "build:\n  script: x\n  allow_failure: maybe\n",
        "jobs:build allow_failure should be a hash or a boolean value",
    ),
    (
        "dependencies is a string",
        "build:\n  script: x\n  dependencies: a\n",
        "jobs:build dependencies should be an array of strings",
    ),
    (
        "undefined dependency",
        "build:\n  script: x\n  dependencies: [compile]\n",
        "build job: undefined dependency: compile",
    ),
    (
        "dependency in a later stage",
        "a:\n  stage: build\n  script: x\n  dependencies: [b]\nb:\n  stage: deploy\n  script: x\n",
        "a job: dependency b is not defined in current or prior stages",
    ),
    (
        "undefined need",
        "build:\n  script: x\n  needs: [compile]\n",
        "build job: undefined need: compile",
    ),
    (
        "need in a later stage",
        "a:\n  stage: build\n  script: x\n  needs: [b]\nb:\n  stage: deploy\n  script: x\n",
        "a job: need b is not defined in current or prior stages",
    ),
    (
        "needs in a cycle",
        "a:\n  script: x\n  needs: [c]\nb:\n  script: x\n  needs: [a]\nc:\n  script: x\n  needs: [b]\n",
        "The pipeline has circular dependencies",
    ),
    (
        "needs in a cycle across stages",
        "stages: [one, two]\na:\n  stage: one\n  script: x\n  needs: [b]\nb:\n  stage: one\n  script: x\n  needs: [a]\nc:\n  stage: two\n  script: x\n",
        "The pipeline has circular dependencies",
    ),
    (
        "a job needing itself",
        "a:\n  script: x\n  needs: [a]\n",
        "The pipeline has circular dependencies",
    ),
    (
        "dependency not in needs",
        "a:\n  script: x\nb:\n  script: x\n  needs: [a]\n  dependencies: [c]\nc:\n  script: x\n",
        "jobs:b dependencies the c should be part of needs",
    ),
    (
        "rules with only",
        "build:\n  script: x\n  only: [main]\n  rules:\n    - when: always\n",
        "jobs:build config key may not be used with `rules`: only",
    ),
    (
        "rule with unknown key",
        "build:\n  script: x\n  rules:\n    - iff: $A\n",
        "jobs:build:rules:rule config contains unknown keys: iff",
    ),
    (
        "rule with bad when",
        "build:\n  script: x\n  rules:\n    - when: sometimes\n",
        "jobs:build:rules:rule when unknown value: sometimes",
    ),
    (
        "rule with bad if",
        "build:\n  script: x\n  rules:\n    - if: $A = 'x'\n",
        "jobs:build:rules:rule if invalid expression syntax",
    ),
    (
        "image is a list",
        "build:\n  script: x\n  image: [a]\n",
        "jobs:build:image config should be a hash or a string",
    ),
    (
        "image without name",
        "build:\n  script: x\n  image:\n    entrypoint: ['']\n",
        "jobs:build:image name can't be blank",
    ),
    (
        "global image is a list",
        "image: [a]\nbuild:\n  script: x\n",
        "image config should be a hash or a string",
    ),
    (
        "timeout is not a duration",
        "build:\n  script: x\n  timeout: soon\n",
        "jobs:build:timeout config should be a duration",
    ),
    (
        "retry too large",
        "build:\n  script: x\n  retry: 3\n",
        "jobs:build:retry config must be less than or equal to 2",
    ),
    (
        "retry is a string",
        "build:\n  script: x\n  retry: often\n",
        "jobs:build:retry config should be a hash or an integer",
    ),
    (
        "artifacts unknown key",
        "build:\n  script: x\n  artifacts:\n    path: [a]\n",
        "jobs:build:artifacts config contains unknown keys: path",
    ),
    (
        "artifacts paths is a string",
        "build:\n  script: x\n  artifacts:\n    paths: target\n",
        "jobs:build:artifacts paths should be an array of strings",
    ),
    (
        "artifacts expire_in",
        "build:\n  script: x\n  artifacts:\n    paths: [a]\n    expire_in: someday\n",
        "jobs:build:artifacts expire_in should be a duration",
    ),
    (
        "artifacts when",
        "build:\n  script: x\n  artifacts:\n    paths: [a]\n    when: later\n",
        "jobs:build:artifacts when should be on_success, on_failure or always",
    ),
    (
        "artifacts reports unknown",
        "build:\n  script: x\n  artifacts:\n    reports:\n      jnuit: a.xml\n",
        "jobs:build:artifacts:reports config contains unknown keys: jnuit",
    ),
    (
        "cache unknown key",
        "build:\n  script: x\n  cache:\n    pth: [a]\n",
        "jobs:build:cache config contains unknown keys: pth",
    ),
    (
        "cache policy",
        "build:\n  script: x\n  cache:\n    paths: [a]\n    policy: sometimes\n",
        "jobs:build:cache policy should be one of: pull-push, push, pull",
    ),
    (
        "variables is a list",
        "variables: [a]\nbuild:\n  script: x\n",
        "variables config should be a hash of key value pairs, value can be a hash",
    ),
    (
        "job variables nested",
        "build:\n  script: x\n  variables:\n    A: [1]\n",
        "jobs:build:variables config should be a hash of key value pairs, value can be a hash",
    ),
    (
        "default unknown key",
        "default:\n  stage: build\nbuild:\n  script: x\n",
        "default config contains unknown keys: stage",
    ),
    (
        "interruptible not bool",
        "build:\n  script: x\n  interruptible: yes please\n",
        "jobs:build:interruptible config should be a boolean value",
    ),
    (
        "only unknown key",
        "build:\n  script: x\n  only:\n    branches: [main]\n",
        "jobs:build:only config contains unknown keys: branches",
    ),
    (
        "extends unknown",
        "build:\n  extends: .base\n  script: x\n",
        "build: unknown keys in `extends` (.base)",
    ),
    (
        "extends circular",
        ".a:\n  extends: .b\n.b:\n  extends: .a\nbuild:\n  extends: .a\n  script: x\n",
        ".a: circular dependency detected in `extends`",
    ),
    (
        "reference missing",
        ".setup:\n  script: [a]\nbuild:\n  script: !reference [.setup, before_script]\n",
        "!reference [\".setup\", \"before_script\"] could not be found",
    ),
    (
        "include local missing",
        "include:\n  - local: ci/missing.yml\nbuild:\n  script: x\n",
        "Local file `ci/missing.yml` does not exist!",
    ),
    (
        "yaml syntax error",
        "build:\n  script: [x\n",
        "(<unknown>): ",
    ),
];

#[test]
fn table_of_gitlab_messages() {
    assert!(CASES.len() >= 30);
    let mut failures = Vec::new();
    for (name, yaml, expected) in CASES {
        match lint_str(yaml, "/nonexistent-dir/.gitlab-ci.yml") {
            Ok(_) => failures.push(format!("{name}: passed lint, expected `{expected}`")),
            Err(errors) => {
                let first = &errors[0].message;
                let ok = if expected.ends_with(": ") {
                    first.starts_with(expected)
                } else {
                    first == expected
                };
                if !ok {
                    failures.push(format!("{name}: got {:?}, expected `{expected}`", errors));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn valid_configs_pass() {
    let ok = [
        "build:\n  script: make\n",
        ".base:\n  image: alpine\n  tags: [docker]\nbuild:\n  extends: .base\n  script: make\n",
        ".setup:\n  script: [echo setup]\nbuild:\n  script:\n    - !reference [.setup, script]\n    - make\n",
        "stages: [a, b]\nx:\n  stage: a\n  script: x\n  artifacts:\n    paths: [out/*.war]\n    expire_in: 1 week\n    reports:\n      junit: report.xml\ny:\n  stage: b\n  needs: [x]\n  script: y\n  rules:\n    - if: $CI_COMMIT_BRANCH == \"main\"\n      when: manual\n    - when: never\n",
        "default:\n  image: alpine\n  retry: 2\nbuild:\n  script: x\n  timeout: 1h 30m\n  when: manual\n  allow_failure: false\n",
    ];
    for yaml in ok {
        if let Err(e) = lint_str(yaml, "x/.gitlab-ci.yml") {
            panic!("{yaml}\n{e:?}");
        }
    }
    let c = lint_str(ok[2], "x").unwrap();
    assert_eq!(c.jobs[0].script, ["echo setup", "make"]);
    let c = lint_str(ok[1], "x").unwrap();
    assert_eq!(c.jobs[0].tags, ["docker"]);
}

#[test]
fn include_local_reads_next_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("ci")).unwrap();
    std::fs::write(
        dir.path().join("ci/jobs.yml"),
        "test:\n  script: cargo test\n",
    )
    .unwrap();
    let file = dir.path().join(".gitlab-ci.yml");
    let config = lint_str(
        "include: ci/jobs.yml\nbuild:\n  script: make\n",
        file.to_str().unwrap(),
    )
    .unwrap();
    let names: Vec<_> = config.jobs.iter().map(|j| j.name.as_str()).collect();
    assert_eq!(names, ["test", "build"]);
}
