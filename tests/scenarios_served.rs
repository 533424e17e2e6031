//! The tutorial on a cluster and a GitLab that other processes serve (`harness cluster serve`,
//! `harness gitlab serve`), reached only through a kubeconfig and a URL with a token; afterwards
//! neither holds anything the scenario created.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use harness::backends::Overrides;
use harness::backends::cluster::ClusterSnapshot;
use harness::scenario::model::{Backend, GitLabBackend};
use libtest_mimic::{Completion, Failed};

use crate::scenarios_support::{StopOnDrop, fail, interrupt};

/// A `harness … serve` child and the `NAME=value` lines it printed.
struct Served {
    guard: StopOnDrop,
    values: HashMap<String, String>,
}

impl Served {
    /// Starts `harness <args>` and waits (up to 120 s) for it to print every one of `names`.
    fn start(args: &[&str], names: &[&str]) -> Result<Served, Failed> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| fail(format!("starting harness {args:?}: {e}")))?;
        let stdout = child.stdout.take().ok_or_else(|| fail("no stdout"))?;
        let guard = StopOnDrop(Some(child));
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut values = HashMap::new();
        while !names.iter().all(|n| values.contains_key(*n)) {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .map_err(|_| fail(format!("harness {args:?} did not print {names:?} in time")))?;
            if let Some((name, value)) = line.split_once('=') {
                values.insert(name.to_owned(), value.to_owned());
            }
        }
        Ok(Served { guard, values })
    }

    fn value(&self, name: &str) -> String {
        self.values.get(name).cloned().unwrap_or_default()
    }

    /// Ctrl-C; the process must tear down and exit 130.
    fn stop(mut self) -> Result<(), Failed> {
        let mut child = self.guard.0.take().ok_or_else(|| fail("no child"))?;
        let status = interrupt(&mut child)
            .map_err(|e| fail(e.to_string()))?
            .ok_or_else(|| fail("a served part did not stop within 120 s of Ctrl-C"))?;
        if status.code() == Some(130) {
            Ok(())
        } else {
            Err(fail(format!(
                "a served part exited with {status}, expected 130"
            )))
        }
    }
}

pub fn tutorial_on_served_backends(root: &Path) -> Result<Completion, Failed> {
    let cluster = Served::start(&["cluster", "serve"], &["KUBECONFIG"])?;
    let gitlab = Served::start(&["gitlab", "serve"], &["GITLAB_URL", "GITLAB_TOKEN"])?;
    let kubeconfig = cluster.value("KUBECONFIG");
    let (url, token) = (gitlab.value("GITLAB_URL"), gitlab.value("GITLAB_TOKEN"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let client = runtime
        .block_on(harness::environment::kube_client(Path::new(&kubeconfig)))
        .map_err(|e| fail(format!("{e:#}")))?;
    let before = runtime
        .block_on(ClusterSnapshot::take(&client))
        .map_err(|e| fail(e.to_string()))?;

    let overrides = Overrides {
        cluster: Some(Backend::Existing),
        kubeconfig: Some(kubeconfig.clone().into()),
        gitlab: Some(GitLabBackend::External),
        gitlab_url: Some(url.clone()),
        gitlab_token: Some(token.clone()),
        ..Default::default()
    };
    let completion = super::run_one(&root.join("scenarios/tutorial.yaml"), overrides)?;

    let after = runtime
        .block_on(ClusterSnapshot::take(&client))
        .map_err(|e| fail(e.to_string()))?;
    let left = before.added_in(&after);
    if !left.is_empty() {
        return Err(fail(format!(
            "the served cluster keeps what the scenario created: {left:?}"
        )));
    }
    for (path, what) in [("projects", "projects"), ("runners/all", "runners")] {
        let list: Vec<serde_json::Value> = runtime
            .block_on(async {
                reqwest::Client::new()
                    .get(format!("{url}api/v4/{path}"))
                    .header("PRIVATE-TOKEN", &token)
                    .send()
                    .await?
                    .json()
                    .await
            })
            .map_err(|e| fail(format!("GET {path}: {e}")))?;
        if !list.is_empty() {
            return Err(fail(format!(
                "the served GitLab keeps {what} the scenario created: {list:?}"
            )));
        }
    }
    drop(client);
    cluster.stop()?;
    gitlab.stop()?;
    let left = crate::scenarios_support::containers_with_label("io.gitlab-k8s-harness.env")?;
    if !left.is_empty() {
        return Err(fail(format!(
            "containers remain after the served cluster stopped: {left:?}"
        )));
    }
    Ok(completion)
}
