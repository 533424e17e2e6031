//! The same kubectl cases against the embedded cluster and upstream Kubernetes: the tutorial's
//! own commands, apply/get/describe/rollout/logs/exec/auth can-i/port-forward, a Job, a Service
//! by its DNS name, and what the API server must refuse (RBAC escalation, impersonated groups,
//! tokens of a deleted pod or another audience, objects over 1 MiB). Every difference in exit
//! code or output is reported; the ones the README lists are expected, any other fails the test,
//! and so does a listed one that went away (so the README's count stays true).

use std::path::{Path, PathBuf};
use std::time::Duration;

use harness::backends::cluster::upstream::UpstreamCluster;
use harness::backends::cluster::{Cluster, EmbeddedCluster, StartContext};
use harness::provisioner::{ClassOffer, Provisioner};
use harness::scenario::model::ClusterSpec;

/// One kubectl invocation (words after `kubectl`), run in this test's data directory.
struct Case {
    name: &'static str,
    args: &'static str,
    /// Retry until this holds (for conditions that take a moment).
    until: Until,
}

/// What a case waits for before its outcome is compared.
#[derive(Clone, Copy, PartialEq)]
enum Until {
    /// Run once.
    Once,
    /// Retry until kubectl exits 0.
    Succeeds,
    /// Retry until the server answers 401 Unauthorized.
    Unauthorized,
}

const fn case(name: &'static str, args: &'static str) -> Case {
    Case {
        name,
        args,
        until: Until::Once,
    }
}

const fn eventually(name: &'static str, args: &'static str) -> Case {
    Case {
        name,
        args,
        until: Until::Succeeds,
    }
}

const fn eventually_unauthorized(name: &'static str, args: &'static str) -> Case {
    Case {
        name,
        args,
        until: Until::Unauthorized,
    }
}

/// The cases, in order (later ones use what earlier ones made).
const CASES: &[Case] = &[
    case(
        "tutorial: RBAC before its namespace",
        "create -f ../../../../fixtures/tutorial/rbac-runner-config.yaml",
    ),
    case(
        "tutorial: create namespace",
        "create namespace gitlab-runners",
    ),
    case(
        "tutorial: RBAC",
        "create -f ../../../../fixtures/tutorial/rbac-runner-config.yaml",
    ),
    case(
        "tutorial: PVC",
        "apply -f ../../../../fixtures/tutorial/gitlab-runner-pvc.yaml",
    ),
    eventually(
        "tutorial: PVC bound",
        "wait --for=jsonpath={.status.phase}=Bound pvc/gitlab-runner-pvc -n gitlab-runners --timeout=60s",
    ),
    case(
        "auth can-i: ServiceAccount may create pods",
        "auth can-i create pods -n gitlab-runners --as=system:serviceaccount:gitlab-runners:gitlab",
    ),
    case(
        "auth can-i: ServiceAccount may not create clusterroles",
        "auth can-i create clusterroles --as=system:serviceaccount:gitlab-runners:gitlab",
    ),
    case("create namespace diff", "create namespace diff"),
    case("apply a Deployment", "apply -f workload.yaml"),
    case(
        "rollout status",
        "rollout status deployment/web -n diff --timeout=120s",
    ),
    case(
        "get deployment",
        "get deployment web -n diff -o jsonpath={.status.availableReplicas}",
    ),
    case("describe deployment", "describe deployment web -n diff"),
    case("exec", "exec -n diff deploy/web -- echo hello-from-exec"),
    eventually("logs", "logs -n diff deploy/web"),
    case(
        "each pod has its own address",
        "get pods -n diff -l app=web -o jsonpath={.items[*].status.podIP}",
    ),
    case(
        "a Service by its DNS name",
        "exec -n diff deploy/web -- getent hosts web.diff.svc.cluster.local",
    ),
    case("a Job of 3 completions", "apply -f job.yaml"),
    case(
        "the Job completes",
        "wait --for=condition=complete job/three -n diff --timeout=120s",
    ),
    case(
        "RBAC escalation is refused",
        "create rolebinding grab --clusterrole=cluster-admin --serviceaccount=diff:escalator -n diff --as=system:serviceaccount:diff:escalator",
    ),
    case(
        "an impersonated group needs its own permission",
        "get secrets -n kube-system {token:impersonator} --as=nobody --as-group=system:masters",
    ),
    case("a pod to bind a token to", "apply -f holder.yaml"),
    case(
        "a token bound to the pod authenticates",
        "get pods -n diff {token:default:bound-pod=holder}",
    ),
    case(
        "the pod goes",
        "delete pod holder -n diff --grace-period=0 --force",
    ),
    eventually_unauthorized(
        "the token bound to it no longer authenticates",
        "get pods -n diff {token:default:bound-pod=holder} --request-timeout=5s",
    ),
    case(
        "a token for another audience is refused",
        "get pods -n diff {token:default:audience=vault}",
    ),
    case(
        "an object over 1 MiB is refused",
        "create configmap big -n diff --from-file=big.txt",
    ),
    case("version", "get --raw /version"),
];

/// What a case did on one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Observed {
    code: i32,
    output: String,
}

/// The differences the README lists, by case name, with why.
const KNOWN: &[(&str, &str)] = &[
    (
        "each pod has its own address",
        "the embedded kubelet runs pods on the host's network (127.0.0.1 for every pod)",
    ),
    (
        "a Service by its DNS name",
        "the embedded cluster has no cluster DNS and no Services routing",
    ),
    (
        "a Job of 3 completions",
        "the embedded cluster does not serve batch/v1 Jobs (refused as a real server refuses an unserved kind)",
    ),
    ("the Job completes", "follows from the Job being refused"),
    (
        "an impersonated group needs its own permission",
        "both refuse; Kubernetes 1.36's constrained impersonation words it as `cannot impersonate-on:user-info:list resource \"secrets\"`, the embedded server as 1.32 does (`cannot impersonate resource \"groups\"`)",
    ),
    (
        "version",
        "the embedded API server reports v1.32.4, the upstream one the version it was built at",
    ),
];

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/differential")
}

/// Output with what differs between any two runs taken out: addresses, ages, generated names.
fn normalise(text: &str) -> String {
    let patterns = [
        (r"\b\d+\.\d+\.\d+\.\d+\b", "<ip>"),
        (r"\b\d+(\.\d+)?(ms|s|m|h|d)\b", "<age>"),
        (r"web-[a-z0-9]{8,10}-[a-z0-9]{5}", "web-<pod>"),
        (
            r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
            "<uid>",
        ),
    ];
    let mut text = text.trim().to_owned();
    for (pattern, replacement) in patterns {
        let re = regex::Regex::new(pattern).unwrap();
        text = re.replace_all(&text, replacement).into_owned();
    }
    text.lines().next().unwrap_or_default().to_owned()
}

/// Whether the whitespace-separated addresses are all different.
fn distinct_addresses(text: &str) -> String {
    let all: Vec<&str> = text.split_whitespace().collect();
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    if unique.len() == all.len() {
        format!("{} distinct addresses", all.len())
    } else {
        format!("{} pods share {} address(es)", all.len(), unique.len())
    }
}

fn kubectl(kubectl: &Path, kubeconfig: &Path, args: &str) -> Observed {
    let output = std::process::Command::new(kubectl)
        .args(args.split_whitespace())
        .env("KUBECONFIG", kubeconfig)
        .current_dir(data_dir())
        .output()
        .expect("kubectl runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let text = if stdout.trim().is_empty() {
        &stderr
    } else {
        &stdout
    };
    Observed {
        code: output.status.code().unwrap_or(-1),
        output: if args.contains("status.podIP") {
            distinct_addresses(text)
        } else {
            normalise(text)
        },
    }
}

/// A kubeconfig that authenticates with a token of ServiceAccount `diff:<name>` (no client
/// certificate), next to `kubeconfig`. `spec` is `name`, `name:audience=A` or
/// `name:bound-pod=P`.
fn token_kubeconfig(kubectl_binary: &Path, kubeconfig: &Path, spec: &str) -> PathBuf {
    let (name, option) = spec.split_once(':').unwrap_or((spec, ""));
    let mut args = vec!["create", "token", name, "-n", "diff"];
    if let Some(audience) = option.strip_prefix("audience=") {
        args.extend(["--audience", audience]);
    }
    if let Some(pod) = option.strip_prefix("bound-pod=") {
        args.extend(["--bound-object-kind", "Pod", "--bound-object-name", pod]);
    }
    let token = std::process::Command::new(kubectl_binary)
        .args(&args)
        .env("KUBECONFIG", kubeconfig)
        .output()
        .expect("kubectl runs");
    let token = String::from_utf8_lossy(&token.stdout).trim().to_owned();
    let file = kube::config::Kubeconfig::read_from(kubeconfig).unwrap();
    let cluster = file.clusters[0].cluster.clone().unwrap();
    let server = cluster.server.unwrap_or_default();
    let ca = cluster.certificate_authority_data.unwrap_or_default();
    let path = kubeconfig.with_file_name(format!(
        "{}.token.kubeconfig",
        spec.replace([':', '='], "-")
    ));
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: {server}, certificate-authority-data: {ca}}}\nusers:\n- name: u\n  user: {{token: {token}}}\ncontexts:\n- name: x\n  context: {{cluster: c, user: u}}\ncurrent-context: x\n"
        ),
    )
    .unwrap();
    path
}

fn run_cases(kubectl_binary: &Path, kubeconfig: &Path) -> Vec<Observed> {
    let big = data_dir().join("big.txt");
    if !big.exists() {
        std::fs::write(&big, "x".repeat(1_200_000)).unwrap();
    }
    // Set-up the security cases rely on: a ServiceAccount that may write RoleBindings only, one
    // that may impersonate users only.
    let mut tokens: std::collections::HashMap<String, PathBuf> = Default::default();
    CASES
        .iter()
        .map(|c| {
            if c.name == "RBAC escalation is refused" {
                kubectl(kubectl_binary, kubeconfig, "apply -f security.yaml");
            }
            let mut args = c.args.to_owned();
            if let Some(start) = args.find("{token:") {
                let end = start + args[start..].find('}').unwrap();
                let spec = args[start + "{token:".len()..end].to_owned();
                let path = tokens
                    .entry(spec.clone())
                    .or_insert_with(|| token_kubeconfig(kubectl_binary, kubeconfig, &spec));
                args.replace_range(start..=end, &format!("--kubeconfig={}", path.display()));
            }
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            loop {
                let observed = kubectl(kubectl_binary, kubeconfig, &args);
                let done = match c.until {
                    Until::Once => true,
                    Until::Succeeds => observed.code == 0,
                    Until::Unauthorized => observed.output.contains("Unauthorized"),
                };
                if done || std::time::Instant::now() > deadline {
                    break observed;
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        })
        .collect()
}

#[test]
fn the_same_kubectl_cases_on_both_backends() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some(kubernetes) = runtime.block_on(harness::toolchain::installed(
        harness::toolchain::Tool::Kubernetes,
        None,
    )) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "upstream Kubernetes is not built (harness build)"
        );
        eprintln!("SKIPPED: upstream Kubernetes is not built (harness build)");
        return;
    };
    let kubectl_binary = kubernetes.binary("kubectl");
    let state = tempfile::tempdir().unwrap();
    let say = |line: &str| eprintln!("  · {line}");
    let spec = ClusterSpec::default();
    let mut results = vec![];
    for backend in ["embedded", "upstream"] {
        let dir = state.path().join(backend);
        std::fs::create_dir_all(&dir).unwrap();
        let ctx = StartContext {
            env_id: "env-differential",
            state_dir: &dir,
            spec: &spec,
            progress: &say,
            registry: None,
        };
        let cluster: Box<dyn Cluster> = runtime.block_on(async {
            match backend {
                "embedded" => Box::new(
                    EmbeddedCluster::start("env-differential", &dir, &spec.nodes, &say)
                        .await
                        .unwrap(),
                ) as Box<dyn Cluster>,
                _ => Box::new(UpstreamCluster::start(&ctx, None, None).await.unwrap()),
            }
        });
        let kubeconfig = cluster.kubeconfig().to_owned();
        let client = runtime
            .block_on(harness::environment::kube_client(&kubeconfig))
            .unwrap();
        let provisioner = runtime
            .block_on(Provisioner::start(
                client,
                vec![ClassOffer::tutorial_rbd()],
                dir.join("volumes"),
                "env-differential",
            ))
            .unwrap();
        let observed = run_cases(&kubectl_binary, &kubeconfig);
        drop(provisioner);
        runtime.block_on(cluster.stop());
        results.push(observed);
    }
    let (embedded, upstream) = (&results[0], &results[1]);
    let mut report = String::new();
    let mut differing = vec![];
    for ((case, e), u) in CASES.iter().zip(embedded).zip(upstream) {
        let same = e == u;
        report.push_str(&format!(
            "{} {:<52} embedded: {} {:<40} upstream: {} {}\n",
            if same { "=" } else { "≠" },
            case.name,
            e.code,
            e.output.chars().take(40).collect::<String>(),
            u.code,
            u.output.chars().take(60).collect::<String>()
        ));
        if !same {
            differing.push(case.name);
        }
    }
    eprintln!("{report}");
    for ((case, e), u) in CASES.iter().zip(embedded).zip(upstream) {
        if e != u {
            eprintln!(
                "≠ {}\n    embedded: {}\n    upstream: {}",
                case.name, e.output, u.output
            );
        }
    }
    let known: Vec<&str> = KNOWN.iter().map(|(name, _)| *name).collect();
    let unexpected: Vec<&&str> = differing.iter().filter(|d| !known.contains(d)).collect();
    let gone: Vec<&&str> = known.iter().filter(|k| !differing.contains(k)).collect();
    assert!(
        unexpected.is_empty() && gone.is_empty(),
        "differences not listed in the README: {unexpected:?}; listed ones that went away: {gone:?}\n{report}"
    );
}
