//! `register`'s flags and environment variables, and the `[[runners]]` entry they describe
//! (no GitLab needed: these stop before the registration request).

mod common;

use std::path::Path;

use clap::{CommandFactory, FromArgMatches};
use common::{CHART_ENV, CONFIGMAP_BASE, REGISTRATION_TOKEN};
use harness_runner::commands::register::{
    KubernetesArgs, RegisterArgs, RunnerArgs, merge_template,
};
use harness_runner::config::{self, Config};

const SEED: &str = include_str!("../../../fixtures/tutorial/config.toml");
const PATCH: &str = include_str!("../../../fixtures/tutorial/configmap-patch.sh");

#[derive(clap::Parser)]
struct Cli {
    #[command(flatten)]
    args: RegisterArgs,
}

/// The chart's environment for the tutorial's values, with its GitLab URL and token.
fn chart_env() -> Vec<(&'static str, &'static str)> {
    let mut env = vec![
        ("CI_SERVER_URL", "http://43.254.54.93:88/"),
        ("REGISTRATION_TOKEN", REGISTRATION_TOKEN),
    ];
    env.extend_from_slice(CHART_ENV);
    env
}

/// Turns each variable into the flag bound to it, proving every name the chart sets is bound.
fn args_from_env(env: &[(&str, &str)]) -> RegisterArgs {
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
    let args = args_from_env(&chart_env());
    let mut runner = args
        .runner_config("gitlab-runner-gitlab-runner-6c7dfd859c-62dv5")
        .unwrap();
    assert_eq!(args.registration.tag_list.as_deref(), Some("gitlab-runner"));
    assert_eq!(args.registration.locked, Some(true));
    runner.token = "eRskGn8Q-g4FZnZib63q".into();
    let mut config = config::parse(Path::new("configmap"), CONFIGMAP_BASE).unwrap();
    config.runners.push(runner);
    let written = config::to_toml_string(&config) + &patch_heredoc();

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
    let args = args_from_env(&chart_env());
    let runner = args.runner_config("h").unwrap();
    let mut config = Config::default();
    config.runners.push(runner);
    let text = config::to_toml_string(&config);
    assert!(!text.contains("gitlab-runner\""), "{text}");
    assert!(!text.contains("locked"));
    assert!(!text.contains("tag"));
}

/// Every `KUBERNETES_*` variable, bound to its flag, lands in its `[runners.kubernetes]` key.
#[test]
fn every_kubernetes_variable_lands_in_its_config_key() {
    let env = [
        ("RUNNER_EXECUTOR", "kubernetes"),
        ("KUBERNETES_HOST", "https://10.0.0.1:6443"),
        ("KUBERNETES_CERT_FILE", "/c/cert.pem"),
        ("KUBERNETES_KEY_FILE", "/c/key.pem"),
        ("KUBERNETES_CA_FILE", "/c/ca.pem"),
        ("KUBERNETES_BEARER_TOKEN_OVERWRITE_ALLOWED", "yes"),
        ("KUBERNETES_BEARER_TOKEN", "tok"),
        ("KUBERNETES_IMAGE", "ubuntu:16.04"),
        ("KUBERNETES_NAMESPACE", "ns"),
        ("KUBERNETES_NAMESPACE_OVERWRITE_ALLOWED", "ci-.*"),
        ("KUBERNETES_PRIVILEGED", "true"),
        ("KUBERNETES_CPU_LIMIT", "1"),
        ("KUBERNETES_MEMORY_LIMIT", "1Gi"),
        ("KUBERNETES_SERVICE_CPU_LIMIT", "2"),
        ("KUBERNETES_SERVICE_MEMORY_LIMIT", "2Gi"),
        ("KUBERNETES_HELPER_CPU_LIMIT", "3"),
        ("KUBERNETES_HELPER_MEMORY_LIMIT", "3Gi"),
        ("KUBERNETES_CPU_REQUEST", "100m"),
        ("KUBERNETES_MEMORY_REQUEST", "100Mi"),
        ("KUBERNETES_SERVICE_CPU_REQUEST", "200m"),
        ("KUBERNETES_SERVICE_MEMORY_REQUEST", "200Mi"),
        ("KUBERNETES_HELPER_CPU_REQUEST", "300m"),
        ("KUBERNETES_HELPER_MEMORY_REQUEST", "300Mi"),
        ("KUBERNETES_PULL_POLICY", "always"),
        ("KUBERNETES_NODE_SELECTOR", "os:linux,zone:a"),
        ("KUBERNETES_IMAGE_PULL_SECRETS", "regcred,other"),
        ("KUBERNETES_HELPER_IMAGE", "helper:1"),
        ("KUBERNETES_TERMINATIONGRACEPERIODSECONDS", "7"),
        ("KUBERNETES_POLL_INTERVAL", "2"),
        ("KUBERNETES_POLL_TIMEOUT", "180"),
        ("KUBERNETES_POD_LABELS", "team:ci"),
        ("KUBERNETES_SERVICE_ACCOUNT", "gitlab"),
        ("KUBERNETES_SERVICE_ACCOUNT_OVERWRITE_ALLOWED", "sa-.*"),
        ("KUBERNETES_POD_ANNOTATIONS", "a:b"),
        ("KUBERNETES_POD_ANNOTATIONS_OVERWRITE_ALLOWED", "x-.*"),
    ];
    let runner = args_from_env(&env).runner_config("h").unwrap();
    let config = Config {
        runners: vec![runner],
        ..Default::default()
    };
    let text = config::to_toml_string(&config);
    let kubernetes = &text[text.find("  [runners.kubernetes]").unwrap()..];
    assert_eq!(kubernetes, KUBERNETES_SECTION);
}

const KUBERNETES_SECTION: &str = concat!(
    "  [runners.kubernetes]\n",
    "    host = \"https://10.0.0.1:6443\"\n",
    "    cert_file = \"/c/cert.pem\"\n",
    "    key_file = \"/c/key.pem\"\n",
    "    ca_file = \"/c/ca.pem\"\n",
    "    bearer_token_overwrite_allowed = true\n",
    "    bearer_token = \"tok\"\n",
    "    image = \"ubuntu:16.04\"\n",
    "    namespace = \"ns\"\n",
    "    namespace_overwrite_allowed = \"ci-.*\"\n",
    "    privileged = true\n",
    "    cpu_limit = \"1\"\n",
    "    memory_limit = \"1Gi\"\n",
    "    service_cpu_limit = \"2\"\n",
    "    service_memory_limit = \"2Gi\"\n",
    "    helper_cpu_limit = \"3\"\n",
    "    helper_memory_limit = \"3Gi\"\n",
    "    cpu_request = \"100m\"\n",
    "    memory_request = \"100Mi\"\n",
    "    service_cpu_request = \"200m\"\n",
    "    service_memory_request = \"200Mi\"\n",
    "    helper_cpu_request = \"300m\"\n",
    "    helper_memory_request = \"300Mi\"\n",
    "    pull_policy = \"always\"\n",
    "    image_pull_secrets = [\"regcred\", \"other\"]\n",
    "    helper_image = \"helper:1\"\n",
    "    terminationGracePeriodSeconds = 7\n",
    "    poll_interval = 2\n",
    "    poll_timeout = 180\n",
    "    service_account = \"gitlab\"\n",
    "    service_account_overwrite_allowed = \"sa-.*\"\n",
    "    pod_annotations_overwrite_allowed = \"x-.*\"\n",
    "    [runners.kubernetes.node_selector]\n",
    "      os = \"linux\"\n",
    "      zone = \"a\"\n",
    "    [runners.kubernetes.pod_labels]\n",
    "      team = \"ci\"\n",
    "    [runners.kubernetes.pod_annotations]\n",
    "      a = \"b\"\n",
    "    [runners.kubernetes.pod_security_context]\n",
    "    [runners.kubernetes.volumes]\n",
);

#[test]
fn chart_register_flags_parse() {
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
    assert_eq!(cli.args.registration.run_untagged, Some(true));
    assert_eq!(cli.args.registration.non_interactive, Some(true));
}

/// `register --executor kubernetes` with these `--kubernetes-*` options.
fn kubernetes_executor(kubernetes: KubernetesArgs) -> RegisterArgs {
    RegisterArgs {
        runner: RunnerArgs {
            executor: Some("kubernetes".into()),
            ..Default::default()
        },
        kubernetes,
        ..Default::default()
    }
}

#[test]
fn a_malformed_selector_names_the_flag() {
    let args = kubernetes_executor(KubernetesArgs {
        node_selector: vec!["nocolon".into()],
        ..Default::default()
    });
    let err = args.runner_config("h").unwrap_err().to_string();
    assert!(err.contains("--kubernetes-node-selector"), "{err}");
}

#[test]
fn template_fills_what_flags_leave_unset() {
    let args = kubernetes_executor(KubernetesArgs {
        namespace: Some("from-env".into()),
        ..Default::default()
    });
    let tpl = config::parse(
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
