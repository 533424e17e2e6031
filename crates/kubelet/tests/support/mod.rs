//! A real embedded API server plus this kubelet, driven with real kubectl.
#![allow(dead_code)]

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use harness_apiserver::{ApiServer, ApiServerConfig, ApiServerHandle};
use harness_images::ImageProvisioner;
use harness_images::catalog::{CatalogInputs, find_kubectl, recipes};
use harness_kubelet::{Kubelet, KubeletConfig, KubeletHandle, environment_containers};
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use kube::Api;

pub const NODE: &str = "harness-node-1";

/// One environment: API server, kubelet, temp dirs, kubectl settings.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub api: ApiServerHandle,
    pub kubelet: Option<KubeletHandle>,
    pub client: kube::Client,
    pub env_id: String,
    pub docker: bollard::Docker,
}

/// Why the environment cannot run here, if it cannot.
pub async fn missing_prerequisite() -> Option<String> {
    if harness_images::which("kubectl").is_none() {
        return Some("kubectl is not on PATH".into());
    }
    harness_images::engine_unavailable().await
}

impl Env {
    /// Starts an environment, or prints why it cannot and returns `None`.
    pub async fn start(test: &str) -> Option<Env> {
        harness_test_support::init_tracing();
        let missing = missing_prerequisite().await;
        if !harness_test_support::can_run(missing.map(|reason| format!("{test}: {reason}"))) {
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let api = ApiServer::start(ApiServerConfig::new(dir.path().join("apiserver")))
            .await
            .expect("api server starts");
        let client = api.client().await.expect("admin client");
        let env_id = format!(
            "kubelet-test-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..10]
        );
        let provisioner = ImageProvisioner::connect(
            dir.path().join("images"),
            recipes(&CatalogInputs {
                kubectl: find_kubectl(),
                runner_binaries: None,
                coredns: None,
            }),
        )
        .expect("docker")
        .with_pulls(false);
        let docker = provisioner.docker().clone();
        let mut config = KubeletConfig::new(
            NODE,
            env_id.clone(),
            dir.path().join("kubelet"),
            api.url(),
            api.ca_pem(),
        );
        config
            .host_path_passthrough
            .push(dir.path().join("apiserver"));
        let mut streams = None;
        let kubelet = Kubelet::start(config, client.clone(), provisioner, |s| streams = Some(s))
            .await
            .expect("kubelet starts");
        api.register_node_streams(NODE, streams.expect("streams registered"));
        Some(Env {
            dir,
            api,
            kubelet: Some(kubelet),
            client,
            env_id,
            docker,
        })
    }

    /// Runs kubectl against this environment.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_stdin(args, None)
    }

    /// Runs kubectl with `stdin` piped in.
    pub fn kubectl_stdin(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        let mut cmd = Command::new("kubectl");
        cmd.env("KUBECONFIG", self.api.kubeconfig_path())
            .env("HOME", self.dir.path())
            .arg("--cache-dir")
            .arg(self.dir.path().join("kubectl-cache"))
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("kubectl runs");
        if let Some(input) = stdin {
            use std::io::Write;
            let mut pipe = child.stdin.take().expect("stdin");
            pipe.write_all(input).expect("write stdin");
        }
        child.wait_with_output().expect("kubectl output")
    }

    /// Runs kubectl and returns stdout, panicking with stderr when it fails.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `kubectl run <name> --image=ubuntu:16.04 --restart=<restart> -- <command>`.
    pub fn run_ubuntu(&self, name: &str, restart: &str, command: &[&str]) {
        let restart = format!("--restart={restart}");
        let mut args = vec!["run", name, "--image=ubuntu:16.04", &restart, "--"];
        args.extend_from_slice(command);
        self.kubectl_ok(&args);
    }

    /// `kubectl get <object...> -o jsonpath=<path>`: one field (or list) of an object.
    pub fn jsonpath(&self, object: &[&str], path: &str) -> String {
        let output = format!("jsonpath={path}");
        let mut args = vec!["get"];
        args.extend_from_slice(object);
        args.extend_from_slice(&["-o", &output]);
        self.kubectl_ok(&args)
    }

    /// Applies a manifest with kubectl.
    pub fn apply(&self, yaml: &str) {
        let out = self.kubectl_stdin(&["apply", "-f", "-"], Some(yaml.as_bytes()));
        assert!(
            out.status.success(),
            "kubectl apply failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Polls the pod until `check` holds, failing after `timeout` with the last state.
    pub async fn wait_pod(
        &self,
        ns: &str,
        name: &str,
        timeout: Duration,
        check: impl Fn(&Pod) -> bool,
    ) -> Pod {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        let deadline = Instant::now() + timeout;
        loop {
            let pod = api.get_opt(name).await.expect("get pod");
            if let Some(pod) = &pod
                && check(pod)
            {
                return pod.clone();
            }
            if Instant::now() > deadline {
                let last = match pod {
                    Some(pod) => serde_json::to_string_pretty(&pod.status).unwrap_or_default(),
                    None => "the pod does not exist".into(),
                };
                let selector = format!("involvedObject.name={name}");
                let events =
                    self.kubectl(&["get", "events", "-n", ns, "--field-selector", &selector]);
                panic!(
                    "pod {ns}/{name} did not reach the expected state in {timeout:?}; status: {last}\nevents:\n{}",
                    String::from_utf8_lossy(&events.stdout)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Polls the events of `ns/name` until every reason in `reasons` is among them; returns them.
    pub async fn wait_events(&self, ns: &str, name: &str, reasons: &[&str]) -> String {
        let selector = format!("involvedObject.name={name}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let seen = self.kubectl_ok(&[
                "get",
                "events",
                "-n",
                ns,
                "--field-selector",
                &selector,
                "-o",
                "jsonpath={.items[*].reason}",
            ]);
            if reasons
                .iter()
                .all(|r| seen.split_whitespace().any(|s| s == *r))
            {
                return seen;
            }
            assert!(
                Instant::now() < deadline,
                "events of {ns}/{name} lack one of {reasons:?}: {seen}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Polls until `ns/name` no longer exists.
    pub async fn wait_pod_gone(&self, ns: &str, name: &str, timeout: Duration) {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        let deadline = Instant::now() + timeout;
        while api.get_opt(name).await.expect("get pod").is_some() {
            assert!(
                Instant::now() < deadline,
                "pod {ns}/{name} still exists after {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Containers of this environment still in the engine.
    pub async fn containers(&self) -> Vec<String> {
        environment_containers(&self.docker, &self.env_id)
            .await
            .expect("list containers")
            .into_iter()
            .flat_map(|c| c.names.unwrap_or_default())
            .collect()
    }

    /// Containers of this environment whose names show they belong to pod `pod`.
    pub async fn pod_containers(&self, pod: &str) -> Vec<String> {
        let marker = format!("_{pod}_");
        let mut names = self.containers().await;
        names.retain(|n| n.contains(&marker));
        names
    }

    /// Stops the kubelet and the API server and asserts that no container of the environment remains.
    pub async fn finish(mut self) {
        if let Some(kubelet) = self.kubelet.take() {
            kubelet.shutdown().await.expect("kubelet shutdown");
        }
        let left = self.containers().await;
        assert!(
            left.is_empty(),
            "containers of environment {} left behind: {left:?}",
            self.env_id
        );
        self.api.shutdown().await;
    }
}

pub fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

pub fn running(pod: &Pod) -> bool {
    phase(pod) == "Running"
}

pub fn finished(pod: &Pod) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed")
}

/// The status of the pod's first container.
fn first_container(pod: &Pod) -> Option<&ContainerStatus> {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|c| c.first())
}

/// Why the pod's first container waits (`ErrImagePull`, `CrashLoopBackOff`, ...), if it does.
pub fn waiting_reason(pod: &Pod) -> Option<&str> {
    first_container(pod)
        .and_then(|c| c.state.as_ref())
        .and_then(|s| s.waiting.as_ref())
        .and_then(|w| w.reason.as_deref())
}

/// How often the pod's first container was restarted.
pub fn restarts(pod: &Pod) -> i32 {
    first_container(pod).map_or(0, |c| c.restart_count)
}

/// Whether the pod's first container is ready.
pub fn ready(pod: &Pod) -> bool {
    first_container(pod).is_some_and(|c| c.ready)
}
