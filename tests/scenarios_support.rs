//! The non-scenario trials of the scenario suite: a broken scenario file, `harness up` used by
//! hand, and the final check that nothing was left behind.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use libtest_mimic::Failed;

/// When the suite started: images newer than this under a loopback registry were built by its
/// pipelines.
pub(crate) static SUITE_STARTED: std::sync::LazyLock<chrono::DateTime<chrono::Utc>> =
    std::sync::LazyLock::new(chrono::Utc::now);

pub(crate) fn fail(message: impl Into<String>) -> Failed {
    Failed::from(message.into())
}

/// A scenario file with a typo fails its test with the file, the line and the accepted keys.
pub fn broken_scenario(_root: &Path) -> Result<(), Failed> {
    let dir = tempfile::tempdir().map_err(|e| fail(e.to_string()))?;
    let path = dir.path().join("broken.yaml");
    std::fs::write(
        &path,
        "name: broken\nsteps:\n  - kubectl: get po\n  - pussh: {ref: master}\n",
    )
    .map_err(|e| fail(e.to_string()))?;
    let Err(error) = super::run_one(&path, harness::backends::Overrides::default()) else {
        return Err(fail("a broken scenario file passed"));
    };
    let message = format!("{error:?}");
    let want_location = format!("{}:4:", path.display());
    if message.contains(&want_location)
        && message.contains("unknown field `pussh`")
        && message.contains("`push`")
    {
        Ok(())
    } else {
        Err(fail(format!(
            "the error does not name file:line and the accepted keys: {message}"
        )))
    }
}

fn kubectl(kubeconfig: &str, cache: &Path, args: &[&str]) -> Result<String, Failed> {
    let output = Command::new("kubectl")
        .arg("--cache-dir")
        .arg(cache)
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .output()
        .map_err(|e| fail(format!("kubectl: {e}")))?;
    if !output.status.success() {
        return Err(fail(format!(
            "kubectl {args:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// `harness up`, then the tutorial's own commands through the kubeconfig it prints, then Ctrl-C.
pub fn harness_up_by_hand(root: &Path) -> Result<(), Failed> {
    let child = Command::new(env!("CARGO_BIN_EXE_harness"))
        .arg("up")
        .arg(root.join("scenarios/tutorial.yaml"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| fail(format!("starting harness up: {e}")))?;
    let mut guard = StopOnDrop(Some(child));
    let child = guard.0.as_mut().ok_or_else(|| fail("no child"))?;
    let stdout = child.stdout.take().ok_or_else(|| fail("no stdout"))?;
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut kubeconfig = None;
    let mut env_id = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .map_err(|_| fail("harness up did not print its instructions in time"))?;
        eprintln!("[harness up] {line}");
        if let Some(path) = line.trim().strip_prefix("export KUBECONFIG=") {
            kubeconfig = Some(path.to_owned());
        }
        if let Some(rest) = line.strip_prefix("Environment ") {
            env_id = rest.split_whitespace().next().map(str::to_owned);
        }
        if line.contains("Press Ctrl-C") {
            break;
        }
    }
    let kubeconfig = kubeconfig.ok_or_else(|| fail("harness up printed no KUBECONFIG"))?;
    let env_id = env_id.ok_or_else(|| fail("harness up printed no environment id"))?;
    let cache = tempfile::tempdir().map_err(|e| fail(e.to_string()))?;

    let user_kubectl = |args: &[&str]| kubectl(&kubeconfig, cache.path(), args);

    let pods = user_kubectl(&["get", "po", "-n", "gitlab-runners"])?;
    contains_all(
        &pods,
        &["gitlab-runner-gitlab-runner-", "Running"],
        "kubectl get po shows no running runner pod",
    )?;
    let pvc = user_kubectl(&["get", "pvc", "-n", "gitlab-runners"])?;
    contains_all(&pvc, &["gitlab-runner-pvc", "Bound"], "kubectl get pvc")?;
    let config = user_kubectl(&[
        "exec",
        "-n",
        "gitlab-runners",
        "deploy/gitlab-runner-gitlab-runner",
        "--",
        "cat",
        "/home/gitlab-runner/.gitlab-runner/config.toml",
    ])?;
    for want in [
        "concurrent = 10",
        "executor = \"kubernetes\"",
        "[[runners.kubernetes.volumes.pvc]]",
        "mount_path = \"/home/cache/maven\"",
    ] {
        if !config.contains(want) {
            return Err(fail(format!("config.toml lacks {want}:\n{config}")));
        }
    }

    // Ctrl-C: the environment is torn down and harness exits 130.
    let status = interrupt(child)
        .map_err(|e| fail(e.to_string()))?
        .ok_or_else(|| fail("harness up did not stop within 120 s of Ctrl-C"))?;
    guard.0 = None;
    if status.code() != Some(130) {
        return Err(fail(format!(
            "harness up exited with {status}, expected 130"
        )));
    }
    let left = containers_with_label(&format!("io.gitlab-k8s-harness.env={env_id}"))?;
    if !left.is_empty() {
        return Err(fail(format!("containers of {env_id} remain: {left:?}")));
    }
    Ok(())
}

/// Stops `harness up` like a user would (Ctrl-C) and waits for its teardown, so that a failing
/// test does not leave its environment to the next one.
pub(crate) struct StopOnDrop(pub(crate) Option<std::process::Child>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let Some(mut child) = self.0.take() else {
            return;
        };
        if let Ok(Some(_)) = interrupt(&mut child) {
            return;
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Sends `child` Ctrl-C (SIGINT) and waits up to 120 s for it to exit: `None` when it did not.
pub(crate) fn interrupt(child: &mut Child) -> std::io::Result<Option<ExitStatus>> {
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()?;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() > deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Fails with `what` and the whole `text` unless `text` contains every one of `wants`.
fn contains_all(text: &str, wants: &[&str], what: &str) -> Result<(), Failed> {
    if wants.iter().all(|want| text.contains(want)) {
        Ok(())
    } else {
        Err(fail(format!("{what}:\n{text}")))
    }
}

/// The docker CLI's standard output; an error when it cannot run or fails (a leak check that
/// cannot look must not say "nothing left").
fn docker_stdout(args: &[&str]) -> Result<String, Failed> {
    let output = Command::new("docker")
        .args(args)
        .output()
        .map_err(|e| fail(format!("cannot run docker {args:?}: {e}")))?;
    if !output.status.success() {
        return Err(fail(format!(
            "docker {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

pub(crate) fn containers_with_label(filter: &str) -> Result<Vec<String>, Failed> {
    Ok(
        docker_stdout(&["ps", "-aq", "--filter", &format!("label={filter}")])?
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
    )
}

/// After every scenario: no environment container, no registry process, no listening socket of
/// this process.
pub fn nothing_left_behind() -> Result<(), Failed> {
    let containers = docker_stdout(&[
        "ps",
        "-a",
        "--filter",
        "label=io.gitlab-k8s-harness.env",
        "--format",
        "{{.ID}} {{.Label \"io.gitlab-k8s-harness.env\"}} {{.Names}}",
    ])?;
    let ours: Vec<&str> = containers
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|id| id.starts_with("env-") || id.starts_with("serve-"))
        })
        .collect();
    if !ours.is_empty() {
        return Err(fail(format!("environment containers remain: {ours:?}")));
    }
    let built = images_built_by_this_suite()?;
    if !built.is_empty() {
        return Err(fail(format!(
            "images the pipelines built remain in the Docker engine: {built:?}"
        )));
    }
    let registries = harness::environment::leftovers::registry_processes("harness-env-");
    if !registries.is_empty() {
        return Err(fail(format!("registry processes remain: {registries:?}")));
    }
    use harness::backends::cluster::upstream;
    let chains = upstream::owned_chains();
    if !chains.is_empty() || upstream::bridge_exists() {
        return Err(fail(format!(
            "the upstream cluster's network remains: chains {chains:?}, bridge {}",
            upstream::bridge_exists()
        )));
    }
    let cgroups = upstream::cgroups_left();
    if !cgroups.is_empty() {
        return Err(fail(format!("kubelet cgroups remain: {cgroups:?}")));
    }
    let processes = processes_of_environments();
    if !processes.is_empty() {
        return Err(fail(format!("environment processes remain: {processes:?}")));
    }
    let mounts: Vec<String> = std::fs::read_to_string("/proc/mounts")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("/harness-env-"))
        .map(str::to_owned)
        .collect();
    if !mounts.is_empty() {
        return Err(fail(format!("mounts of environments remain: {mounts:?}")));
    }
    let listening = listening_sockets_of_this_process();
    if !listening.is_empty() {
        return Err(fail(format!(
            "this process still listens on sockets {listening:?}"
        )));
    }
    Ok(())
}

/// Images tagged under a registry on loopback (every environment's registry) created since the
/// suite started.
fn images_built_by_this_suite() -> Result<Vec<String>, Failed> {
    let listing = docker_stdout(&[
        "images",
        "--format",
        "{{.Repository}}:{{.Tag}}\t{{.CreatedAt}}",
    ])?;
    Ok(listing
        .lines()
        .filter_map(|line| {
            let (tag, created) = line.split_once('\t')?;
            let created =
                chrono::DateTime::parse_from_str(created.get(..25)?, "%Y-%m-%d %H:%M:%S %z")
                    .ok()?;
            (tag.starts_with("127.0.0.1:") && created >= *SUITE_STARTED).then(|| tag.to_owned())
        })
        .collect())
}

/// Processes whose command line names an environment's state directory (cluster components,
/// registries, shims).
fn processes_of_environments() -> Vec<String> {
    let mut found = vec![];
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if text.contains("/harness-env-") {
                found.push(format!(
                    "{name}: {}",
                    text.chars().take(120).collect::<String>()
                ));
            }
        }
    }
    found
}

fn listening_sockets_of_this_process() -> Vec<String> {
    let mut listening = std::collections::HashMap::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() > 9 && fields[3] == "0A" {
                listening.insert(fields[9].to_owned(), fields[1].to_owned());
            }
        }
    }
    let mut ours = vec![];
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path()) {
                let target = target.to_string_lossy().into_owned();
                if let Some(inode) = target
                    .strip_prefix("socket:[")
                    .and_then(|s| s.strip_suffix(']'))
                    && let Some(address) = listening.get(inode)
                {
                    ours.push(address.clone());
                }
            }
        }
    }
    ours
}
