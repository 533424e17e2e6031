use std::path::Path;

use clap::{CommandFactory, FromArgMatches};

use super::*;

/// The environment chart 0.14.0 gives the runner container for the tutorial's values.
const CHART_ENV: &[(&str, &str)] = &[
    ("CI_SERVER_URL", "http://43.254.54.93:88/"),
    ("CLONE_URL", ""),
    ("RUNNER_REQUEST_CONCURRENCY", "1"),
    ("RUNNER_EXECUTOR", "kubernetes"),
    ("REGISTER_LOCKED", "true"),
    ("RUNNER_TAG_LIST", "gitlab-runner"),
    ("RUNNER_OUTPUT_LIMIT", "4096"),
    ("KUBERNETES_IMAGE", "ubuntu:16.04"),
    ("KUBERNETES_PRIVILEGED", "true"),
    ("KUBERNETES_NAMESPACE", "gitlab-runners"),
    ("KUBERNETES_POLL_TIMEOUT", "180"),
    ("KUBERNETES_CPU_LIMIT", ""),
    ("KUBERNETES_MEMORY_LIMIT", ""),
    ("KUBERNETES_CPU_REQUEST", ""),
    ("KUBERNETES_MEMORY_REQUEST", ""),
    ("KUBERNETES_SERVICE_ACCOUNT", "gitlab"),
    ("KUBERNETES_SERVICE_CPU_LIMIT", ""),
    ("KUBERNETES_SERVICE_MEMORY_LIMIT", ""),
    ("KUBERNETES_SERVICE_CPU_REQUEST", ""),
    ("KUBERNETES_SERVICE_MEMORY_REQUEST", ""),
    ("KUBERNETES_HELPER_CPU_LIMIT", ""),
    ("KUBERNETES_HELPER_MEMORY_LIMIT", ""),
    ("KUBERNETES_HELPER_CPU_REQUEST", ""),
    ("KUBERNETES_HELPER_MEMORY_REQUEST", ""),
    ("KUBERNETES_HELPER_IMAGE", ""),
    ("KUBERNETES_PULL_POLICY", "if-not-present"),
    ("REGISTRATION_TOKEN", "nnxxxxxxxxxxxxxxxS"),
];

/// Turns each variable into the flag bound to it, proving every name the chart sets is bound.
fn args_from_env(env: &[(&str, &str)]) -> RegisterArgs {
    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        args: RegisterArgs,
    }
    let cmd = Cli::command();
    let mut argv = vec!["register".to_string(), "--non-interactive".to_string()];
    for (name, value) in env {
        let arg = cmd
            .get_arguments()
            .find(|a| a.get_env().is_some_and(|e| e == *name))
            .unwrap_or_else(|| panic!("no flag bound to {name}"));
        if value.is_empty() {
            continue; // an empty variable counts as unset
        }
        argv.push(format!("--{}={}", arg.get_long().unwrap(), value));
    }
    let matches = cmd.try_get_matches_from(argv).unwrap();
    Cli::from_arg_matches(&matches).unwrap().args
}

const SEED: &str = include_str!("../../tests/data/tutorial-config.toml");
const PATCH: &str = include_str!("../../tests/data/configmap-patch.sh");

/// The base file of the chart's ConfigMap for the tutorial's values.
const CONFIGMAP_BASE: &str =
    "concurrent = 10\ncheck_interval = 30\nlog_level = \"info\"\nlisten_address = '[::]:9252'\n";

fn strip_comments(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim_end().to_string())
        .collect()
}

fn patch_heredoc() -> String {
    let body: Vec<&str> = PATCH
        .lines()
        .skip_while(|l| !l.contains("<<EOF"))
        .skip(1)
        .take_while(|l| *l != "EOF")
        .collect();
    (body.join("\n") + "\n")
        .replace("{{.Values.maven.cache.pvcName}}", "gitlab-runner-pvc")
        .replace("{{.Values.maven.cache.mountPath}}", "/home/cache/maven")
}

#[test]
fn chart_environment_gives_the_tutorials_runner_entry() {
    let args = args_from_env(CHART_ENV);
    let mut runner = args
        .runner_config("gitlab-runner-gitlab-runner-6c7dfd859c-62dv5")
        .unwrap();
    assert_eq!(args.tag_list.as_deref(), Some("gitlab-runner"));
    assert_eq!(args.locked, Some(true));
    runner.token = "eRskGn8Q-g4FZnZib63q".into();
    let mut config = crate::config::parse(Path::new("configmap"), CONFIGMAP_BASE).unwrap();
    config.runners.push(runner);
    let written = crate::config::to_toml_string(&config) + &patch_heredoc();

    let mut expected = strip_comments(SEED);
    let at = expected
        .iter()
        .position(|l| l.trim() == "privileged = true")
        .unwrap();
    expected.insert(at + 1, "    pull_policy = \"if-not-present\"".into());
    let got = strip_comments(&written);
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(g, e, "line {} differs", i + 1);
    }
    assert_eq!(got.len(), expected.len(), "{written}");
}

#[test]
fn tags_locked_and_run_untagged_stay_out_of_the_file() {
    let args = args_from_env(CHART_ENV);
    let runner = args.runner_config("h").unwrap();
    let mut config = Config::default();
    config.runners.push(runner);
    let text = crate::config::to_toml_string(&config);
    assert!(!text.contains("gitlab-runner\""), "{text}");
    assert!(!text.contains("locked"));
    assert!(!text.contains("tag"));
}

#[test]
fn chart_register_flags_parse() {
    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        args: RegisterArgs,
    }
    let cli = <Cli as clap::Parser>::try_parse_from([
        "register",
        "--kubernetes-image-pull-secrets",
        "regcred",
        "--kubernetes-node-selector",
        "kubernetes.io/os:linux",
        "--kubernetes-pod-labels",
        "team:ci",
        "--env",
        "A=b",
        "--run-untagged=true",
        "--access-level=ref_protected",
        "--non-interactive",
        "--executor",
        "kubernetes",
    ])
    .unwrap();
    let r = cli.args.runner_config("h").unwrap();
    let k = r.kubernetes.unwrap();
    assert_eq!(k.image_pull_secrets, vec!["regcred"]);
    assert_eq!(k.node_selector["kubernetes.io/os"], "linux");
    assert_eq!(k.pod_labels["team"], "ci");
    assert_eq!(r.environment, vec!["A=b"]);
    assert_eq!(cli.args.run_untagged, Some(true));
    assert_eq!(cli.args.non_interactive, Some(true));
}

#[test]
fn a_malformed_selector_names_the_flag() {
    let args = RegisterArgs {
        executor: Some("kubernetes".into()),
        kubernetes: KubernetesArgs {
            node_selector: vec!["nocolon".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    let err = args.runner_config("h").unwrap_err().to_string();
    assert!(err.contains("--kubernetes-node-selector"), "{err}");
}

#[test]
fn template_fills_what_flags_leave_unset() {
    let args = RegisterArgs {
        executor: Some("kubernetes".into()),
        kubernetes: KubernetesArgs {
            namespace: Some("from-env".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let tpl = crate::config::parse(
        Path::new("config.template.toml"),
        "[[runners]]\n  [runners.kubernetes]\n    namespace = \"gitlab-runners\"\n    image = \"alpine\"\n    [[runners.kubernetes.volumes.pvc]]\n      name = \"p\"\n      mount_path = \"/m\"\n",
    )
    .unwrap();
    let merged = merge_template(args.runner_config("h").unwrap(), &tpl.runners[0]).unwrap();
    let k = merged.kubernetes.unwrap();
    assert_eq!(k.namespace, "from-env");
    assert_eq!(k.image, "alpine");
    assert_eq!(k.volumes.pvc[0].name, "p");
}
