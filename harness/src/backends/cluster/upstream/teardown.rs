//! Taking an upstream cluster down so that nothing of it is left on the machine: pods through
//! CRI first (so CNI removes their network), then the processes, kube-proxy's and the harness's
//! iptables chains, the bridge, the mounts under the state directory, the kubelet's cgroups, the
//! files the kubelet creates outside its root and the kernel settings.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::UpstreamCluster;

/// Stops everything, in order; returns a summary line.
pub(super) async fn stop(cluster: &mut UpstreamCluster) -> String {
    let mut left = vec![];
    if let Some(mut supervisor) = cluster.supervisor.take() {
        supervisor.stop("kubelet", Duration::from_secs(10)).await;
        if supervisor.running("containerd") {
            let socket = cluster.layout.containerd_socket();
            let crictl = tokio::process::Command::new(&cluster.crictl)
                .arg("--runtime-endpoint")
                .arg(format!("unix://{}", socket.display()))
                .args(["--timeout", "60s", "rmp", "--all", "--force"])
                .stdin(Stdio::null())
                .output();
            match tokio::time::timeout(Duration::from_secs(90), crictl).await {
                Ok(Ok(o)) if o.status.success() => {}
                Ok(Ok(o)) => left.push(format!(
                    "crictl rmp: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                )),
                Ok(Err(e)) => left.push(format!("crictl: {e}")),
                Err(_) => left.push("crictl rmp did not finish in 90 s".into()),
            }
        }
        for name in supervisor.names() {
            supervisor.stop(name, grace(name)).await;
        }
    }
    left.extend(after_processes(cluster));
    if left.is_empty() {
        "upstream cluster stopped; its processes, network, mounts and cgroups removed".into()
    } else {
        tracing::warn!(?left, "upstream teardown left something");
        format!(
            "upstream cluster stopped; could not remove: {}",
            left.join("; ")
        )
    }
}

/// How long a component may take to stop before it is killed. The API server, on SIGTERM, waits
/// for clients' connections to go idle (watches never do) until its own shutdown timeout; the
/// cluster is thrown away with its etcd data, so there is nothing it could finish that matters.
fn grace(component: &str) -> Duration {
    match component {
        "kube-apiserver" => Duration::from_secs(1),
        _ => Duration::from_secs(10),
    }
}

/// The teardown without an async runtime (a panic, a drop without `stop`): kill, then clean.
pub(super) fn blocking(cluster: &mut UpstreamCluster) {
    drop(cluster.supervisor.take());
    kill_stray_shims(&cluster.layout.containerd_socket());
    let left = after_processes(cluster);
    if !left.is_empty() {
        tracing::warn!(?left, "upstream teardown left something");
    }
}

/// Everything after the processes: shims, iptables, bridge, mounts, cgroups, files, sysctls.
fn after_processes(cluster: &mut UpstreamCluster) -> Vec<String> {
    let mut left = vec![];
    kill_stray_shims(&cluster.layout.containerd_socket());
    let proxy = cluster.kubernetes.binary("kube-proxy");
    let _ = Command::new(&proxy)
        .arg("--cleanup")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    left.extend(unmount_under(&cluster.layout.root));
    left.extend(unmount_cni_namespaces());
    if let Some(network) = cluster.network.take() {
        left.extend(network.teardown(docker_running()));
    }
    left.extend(remove_cgroups());
    for path in [
        "/var/lib/kubelet/device-plugins/kubelet.sock",
        "/var/lib/kubelet/device-plugins",
        "/var/lib/kubelet/pod-resources",
        "/var/lib/kubelet",
        "/var/log/containers",
        "/var/log/pods",
    ] {
        let path = Path::new(path);
        let _ = if path.is_dir() {
            std::fs::remove_dir(path)
        } else {
            std::fs::remove_file(path)
        };
    }
    drop(cluster.lock.take());
    left
}

/// containerd shims of this cluster's containerd that outlived it.
fn kill_stray_shims(socket: &Path) {
    let address = socket.display().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let text = String::from_utf8_lossy(&cmdline);
        if text.contains("containerd-shim") && text.contains(&address) {
            let _ = Command::new("kill")
                .args(["-KILL", &entry.file_name().to_string_lossy()])
                .status();
        }
    }
}

/// Mount points under `root` (container root filesystems, volumes, the kubelet's own bind mount),
/// deepest first.
fn unmount_under(root: &Path) -> Vec<String> {
    let prefix = root.display().to_string();
    let mut mounts: Vec<String> = std::fs::read_to_string("/proc/mounts")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .map(|m| m.replace("\\040", " "))
        .filter(|m| m.starts_with(&prefix))
        .collect();
    mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
    let mut left = vec![];
    for mount in mounts {
        let ok = Command::new("umount")
            .arg(&mount)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
            || Command::new("umount")
                .args(["-l", &mount])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
        if !ok {
            left.push(format!("mount {mount}"));
        }
    }
    left
}

/// Network namespaces CNI made for pods whose sandbox was not removed through CRI.
fn unmount_cni_namespaces() -> Vec<String> {
    let mut left = vec![];
    for entry in std::fs::read_dir("/run/netns")
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("cni-") {
            continue;
        }
        let _ = Command::new("umount")
            .arg(entry.path())
            .stderr(Stdio::null())
            .status();
        if std::fs::remove_file(entry.path()).is_err() {
            left.push(format!("netns {name}"));
        }
    }
    left
}

/// The kubelet's `kubepods` cgroups in every hierarchy, depth first.
fn remove_cgroups() -> Vec<String> {
    let mut left = vec![];
    for hierarchy in std::fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten()
    {
        let top = hierarchy.path().join("kubepods");
        if !top.is_dir() {
            continue;
        }
        let mut dirs = vec![];
        collect_dirs(&top, &mut dirs);
        dirs.sort_by_key(|d| std::cmp::Reverse(d.as_os_str().len()));
        for dir in dirs {
            let _ = std::fs::remove_dir(&dir);
        }
        if top.exists() {
            left.push(format!("cgroup {}", top.display()));
        }
    }
    left
}

fn collect_dirs(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    out.push(dir.to_owned());
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            collect_dirs(&entry.path(), out);
        }
    }
}

fn docker_running() -> bool {
    Path::new("/var/run/docker.sock").exists()
        && Command::new("docker")
            .arg("info")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// The kubepods cgroups present now (the leak check reads this).
pub fn cgroups_left() -> Vec<String> {
    std::fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten()
        .map(|h| h.path().join("kubepods"))
        .filter(|p| p.is_dir())
        .map(|p| p.display().to_string())
        .collect()
}

/// What a crashed upstream environment left (`harness down`): its processes (found by their
/// state directory matching `pattern`), containerd shims, mounts, CNI namespaces, iptables
/// chains, the bridge and the kubelet's cgroups. Refuses while a live upstream environment holds
/// the lock. Returns one line per kind of thing removed.
pub fn remove_leftovers(pattern: &str) -> Result<Vec<String>, String> {
    let lock_path = crate::paths::cache_dir().join("upstream.lock");
    if let Ok(file) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&lock_path)
        && file.try_lock().is_err()
    {
        let holder = std::fs::read_to_string(&lock_path).unwrap_or_default();
        return Err(format!(
            "an upstream environment is running ({}): stop it with Ctrl-C",
            holder.trim()
        ));
    }
    let mut lines = vec![];
    let killed = kill_processes_under(pattern);
    if killed > 0 {
        lines.push(format!("killed {killed} upstream process(es)"));
    }
    let mut roots = vec![];
    for dir in crate::environment::leftovers::state_dirs(pattern) {
        let root = dir.join("upstream");
        if root.is_dir() {
            kill_stray_shims(&root.join("run").join("containerd.sock"));
            roots.push(root);
        }
    }
    if roots.is_empty() && !super::network::bridge_exists() {
        return Ok(lines);
    }
    let proxy = crate::toolchain::install_dir(
        crate::toolchain::Tool::Kubernetes,
        crate::toolchain::Tool::Kubernetes.default_version(),
    )
    .join("kube-proxy");
    if proxy.is_file() {
        let _ = Command::new(proxy)
            .arg("--cleanup")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    for root in &roots {
        lines.extend(unmount_under(root));
    }
    lines.extend(unmount_cni_namespaces());
    lines.extend(super::network::HostNetwork::default().teardown(true));
    lines.extend(remove_cgroups());
    lines.push("removed the upstream cluster's network, mounts and cgroups".into());
    Ok(lines)
}

/// Kills processes whose command line names a state directory matching `pattern` under
/// `upstream/` (the components of a crashed upstream cluster).
fn kill_processes_under(pattern: &str) -> usize {
    let me = std::process::id().to_string();
    let mut killed = 0;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == me || !name.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let text = String::from_utf8_lossy(&cmdline);
        if text.contains(pattern) && text.contains("/upstream/") {
            let _ = Command::new("kill").args(["-KILL", &name]).status();
            killed += 1;
        }
    }
    killed
}
