//! Shared test fixtures: a server in a temp dir, a kubectl runner, and test doubles for the
//! kubelet side (a fake node that marks pods Running, and NodeStreams backed by local processes).
#![allow(dead_code)]

pub mod fake_kubelet;
pub mod local_streams;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use harness_apiserver::{ApiServer, ApiServerConfig, ApiServerHandle};
use tempfile::TempDir;

/// A running server plus its temp dir.
pub struct TestCluster {
    pub handle: ApiServerHandle,
    pub dir: TempDir,
    pub cache: PathBuf,
    pub kubelet: Option<fake_kubelet::FakeKubelet>,
}

impl TestCluster {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(f: impl FnOnce(&mut ApiServerConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ApiServerConfig::new(dir.path().join("state"));
        f(&mut config);
        let handle = ApiServer::start(config).await.unwrap();
        let cache = dir.path().join("kubectl-cache");
        TestCluster {
            handle,
            dir,
            cache,
            kubelet: None,
        }
    }

    /// Stops the server and starts it again on the same state directory (what a restarted
    /// process does; with `persist` it carries on from its snapshot).
    pub async fn restart(self) -> Self {
        let TestCluster {
            handle, dir, cache, ..
        } = self;
        let config = handle.config().clone();
        handle.shutdown().await;
        let handle = ApiServer::start(config).await.unwrap();
        TestCluster {
            handle,
            dir,
            cache,
            kubelet: None,
        }
    }

    /// Starts the fake node `node-1` (pods go Running/Ready; local-process streams).
    pub async fn with_node(mut self) -> Self {
        let client = self.handle.client().await.unwrap();
        let streams = std::sync::Arc::new(local_streams::LocalStreams::new(client.clone()));
        self.handle.register_node_streams("node-1", streams);
        self.kubelet = Some(fake_kubelet::FakeKubelet::start(client, "node-1").await);
        self
    }

    pub fn data(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name)
    }

    /// Runs kubectl with the generated kubeconfig and a private cache dir.
    pub async fn kubectl(&self, args: &[&str]) -> KubectlResult {
        self.kubectl_stdin(args, None).await
    }

    /// Runs kubectl, asserts it succeeded and printed `expected`; returns its stdout.
    pub async fn kubectl_says(&self, args: &[&str], expected: &str) -> String {
        let out = self.kubectl(args).await;
        assert!(
            out.ok().contains(expected),
            "kubectl {args:?} printed:\n{}",
            out.stdout
        );
        out.stdout
    }

    /// `kubectl rollout status OBJECT -n NS --timeout=60s`, asserted successful.
    pub async fn rollout_status(&self, object: &str, ns: &str) {
        self.kubectl(&["rollout", "status", object, "-n", ns, "--timeout=60s"])
            .await
            .ok();
    }

    /// `kubectl get OBJECT -n NS -o jsonpath=…`'s output, asserted successful.
    pub async fn jsonpath(&self, object: &str, ns: &str, jsonpath: &str) -> String {
        self.kubectl(&["get", object, "-n", ns, "-o", jsonpath])
            .await
            .ok()
            .to_string()
    }

    /// `kubectl create -f -` with `manifest` on stdin, then `extra` arguments (such as
    /// `--as=…`).
    pub async fn create(&self, manifest: &str, extra: &[&str]) -> KubectlResult {
        let mut args = vec!["create", "-f", "-"];
        args.extend_from_slice(extra);
        self.kubectl_stdin(&args, Some(manifest)).await
    }

    pub async fn kubectl_stdin(&self, args: &[&str], stdin: Option<&str>) -> KubectlResult {
        use tokio::io::AsyncWriteExt;
        let mut cmd = tokio::process::Command::new("kubectl");
        cmd.env("KUBECONFIG", self.handle.kubeconfig_path())
            .env("HOME", self.dir.path())
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(args)
            .stdin(if stdin.is_some() {
                std::process::Stdio::piped()
            } else {
                std::process::Stdio::null()
            })
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("kubectl runs");
        if let Some(input) = stdin {
            let mut s = child.stdin.take().unwrap();
            s.write_all(input.as_bytes()).await.unwrap();
            drop(s);
        }
        let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
            .await
            .expect("kubectl finished within 120s")
            .unwrap();
        KubectlResult::from(out)
    }
}

/// What a kubectl run printed.
#[derive(Debug)]
pub struct KubectlResult {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for KubectlResult {
    fn from(o: Output) -> Self {
        KubectlResult {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl KubectlResult {
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(
            self.code, 0,
            "kubectl failed: stdout={} stderr={}",
            self.stdout, self.stderr
        );
        &self.stdout
    }

    #[track_caller]
    pub fn fails_with(&self, code: i32, stderr_has: &str) {
        assert_eq!(
            self.code, code,
            "unexpected exit code: stdout={} stderr={}",
            self.stdout, self.stderr
        );
        self.stderr_says(stderr_has);
    }

    /// Asserts that kubectl's stderr contains `text`.
    #[track_caller]
    pub fn stderr_says(&self, text: &str) {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}: {}",
            self.stderr
        );
    }
}

/// A manifest of Namespace `ns` and ServiceAccount `ns/account`.
pub fn service_account(ns: &str, account: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: {account}, namespace: {ns}}}\n"
    )
}

/// A manifest of ClusterRole `role` with `rules` (YAML list items) and ClusterRoleBinding
/// `binding` granting it to the ServiceAccount `ns/account`.
pub fn cluster_role_for(
    role: &str,
    rules: &str,
    binding: &str,
    (ns, account): (&str, &str),
) -> String {
    format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: {role}}}\nrules:\n{rules}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {{name: {binding}}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {role}}}\nsubjects: [{{kind: ServiceAccount, name: {account}, namespace: {ns}}}]\n"
    )
}

/// Whether real kubectl is installed; a test that needs it and finds none is skipped with the
/// reason (a failure under `CI=true`).
pub fn kubectl_available() -> bool {
    let runs = std::process::Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_ok_and(|o| o.status.success());
    harness_test_support::can_run((!runs).then_some("kubectl is not installed on this machine"))
}

/// Polls `f` until it returns Some or the deadline passes.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
