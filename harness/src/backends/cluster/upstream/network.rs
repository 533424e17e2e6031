//! The host's side of the pod network: the bridge pods attach to (made before anything starts,
//! so the API server and the kubelet can listen on its address instead of 0.0.0.0), guard rules
//! that keep traffic to the pod and service ranges on this machine, forwarding for the bridge
//! past Docker's `FORWARD DROP` policy, and the kernel settings the cluster needs — all recorded
//! and undone at teardown, with the chains kube-proxy, the kubelet and CNI leave behind.

use std::process::{Command, Stdio};

use super::layout::{BRIDGE, CLUSTER_CIDR, NODE_IP, SERVICE_CIDR};

/// The harness's own iptables chain (in the filter and mangle tables).
const GUARD: &str = "HARNESS-GUARD";
/// Chain prefixes removed at teardown: kube-proxy's and the kubelet's, CNI's, the harness's.
const OWNED_PREFIXES: [&str; 3] = ["KUBE-", "CNI-", "HARNESS-"];

/// Kernel settings the cluster changes (the kubelet sets some of them itself), restored after.
const SYSCTLS: [&str; 5] = [
    "net/ipv4/ip_forward",
    "net/bridge/bridge-nf-call-iptables",
    "vm/overcommit_memory",
    "kernel/panic",
    "kernel/panic_on_oops",
];

/// Why the host network could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// Something already uses the cluster's address ranges.
    #[error(
        "this machine already routes {range} ({route}): the upstream cluster's pod and service ranges must be free"
    )]
    RangeInUse {
        /// The cluster range.
        range: &'static str,
        /// The route that overlaps.
        route: String,
    },
    /// A command failed.
    #[error("`{command}` failed: {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// What it printed.
        stderr: String,
    },
}

fn run(program: &str, args: &[&str]) -> Result<String, NetworkError> {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| NetworkError::Command {
            command: format!("{program} {}", args.join(" ")),
            stderr: e.to_string(),
        })?;
    if !output.status.success() {
        return Err(NetworkError::Command {
            command: format!("{program} {}", args.join(" ")),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn iptables(table: &str, args: &[&str]) -> Result<String, NetworkError> {
    let mut all = vec!["-w", "-t", table];
    all.extend_from_slice(args);
    run("iptables", &all)
}

/// The kernel settings as they were before the cluster started.
#[derive(Debug, Clone, Default)]
pub(crate) struct HostNetwork {
    sysctls: Vec<(&'static str, String)>,
}

impl HostNetwork {
    /// Checks the ranges are free, makes the bridge, the guard and forwarding rules, and turns on
    /// forwarding and bridge filtering.
    pub(crate) fn prepare() -> Result<HostNetwork, NetworkError> {
        let routes = run("ip", &["-4", "route", "show"])?;
        for line in routes.lines() {
            if line.contains(&format!("dev {BRIDGE}")) {
                continue;
            }
            for (range, prefix) in [(CLUSTER_CIDR, "10.244."), (SERVICE_CIDR, "10.96.")] {
                if line.starts_with(prefix) {
                    return Err(NetworkError::RangeInUse {
                        range,
                        route: line.to_owned(),
                    });
                }
            }
        }
        let sysctls = SYSCTLS
            .iter()
            .filter_map(|key| {
                std::fs::read_to_string(format!("/proc/sys/{key}"))
                    .ok()
                    .map(|v| (*key, v.trim().to_owned()))
            })
            .collect();
        let network = HostNetwork { sysctls };
        if run("ip", &["link", "show", BRIDGE]).is_err() {
            run("ip", &["link", "add", BRIDGE, "type", "bridge"])?;
        }
        let address = format!("{NODE_IP}/24");
        if !run("ip", &["-4", "addr", "show", "dev", BRIDGE])?.contains(&address) {
            run("ip", &["addr", "add", &address, "dev", BRIDGE])?;
        }
        run("ip", &["link", "set", BRIDGE, "up"])?;
        network.guard()?;
        write_sysctl("net/ipv4/ip_forward", "1");
        write_sysctl("net/bridge/bridge-nf-call-iptables", "1");
        Ok(network)
    }

    /// Traffic to service addresses kube-proxy has not programmed is refused, pod-range traffic
    /// never leaves by another device than the bridge, and the bridge may forward (Docker sets
    /// the FORWARD policy to DROP).
    fn guard(&self) -> Result<(), NetworkError> {
        iptables("filter", &["-N", GUARD])?;
        iptables("filter", &["-A", GUARD, "-i", BRIDGE, "-j", "ACCEPT"])?;
        iptables("filter", &["-A", GUARD, "-o", BRIDGE, "-j", "ACCEPT"])?;
        iptables(
            "filter",
            &[
                "-A",
                GUARD,
                "-d",
                SERVICE_CIDR,
                "-j",
                "REJECT",
                "--reject-with",
                "icmp-net-unreachable",
            ],
        )?;
        iptables("filter", &["-I", "OUTPUT", "1", "-j", GUARD])?;
        iptables("filter", &["-I", "FORWARD", "1", "-j", GUARD])?;
        iptables("mangle", &["-N", GUARD])?;
        iptables("mangle", &["-A", GUARD, "-o", "lo", "-j", "RETURN"])?;
        iptables(
            "mangle",
            &[
                "-A",
                GUARD,
                "!",
                "-o",
                BRIDGE,
                "-d",
                CLUSTER_CIDR,
                "-j",
                "DROP",
            ],
        )?;
        iptables("mangle", &["-A", GUARD, "-d", SERVICE_CIDR, "-j", "DROP"])?;
        iptables("mangle", &["-I", "POSTROUTING", "1", "-j", GUARD])?;
        Ok(())
    }

    /// Undoes everything: the iptables chains the cluster's parts and the harness made (after
    /// `kube-proxy --cleanup` ran), the bridge, the kernel settings. Returns what could not be
    /// undone.
    pub(crate) fn teardown(&self, docker_running: bool) -> Vec<String> {
        let mut left = vec![];
        for table in ["filter", "nat", "mangle", "raw"] {
            left.extend(remove_owned_chains(table));
        }
        if run("ip", &["link", "show", BRIDGE]).is_ok()
            && let Err(e) = run("ip", &["link", "del", BRIDGE])
        {
            left.push(e.to_string());
        }
        for (key, value) in &self.sysctls {
            // Docker's own containers need forwarding: leave it on while the engine runs.
            if *key == "net/ipv4/ip_forward" && docker_running {
                continue;
            }
            write_sysctl(key, value);
        }
        left
    }
}

fn write_sysctl(key: &str, value: &str) {
    if let Err(e) = std::fs::write(format!("/proc/sys/{key}"), value) {
        tracing::debug!(%key, error = %e, "sysctl not written");
    }
}

/// Removes every jump into a chain of [`OWNED_PREFIXES`] from other chains, then those chains.
fn remove_owned_chains(table: &str) -> Vec<String> {
    let Ok(rules) = iptables(table, &["-S"]) else {
        return vec![];
    };
    let owned = |name: &str| OWNED_PREFIXES.iter().any(|p| name.starts_with(p));
    let mut left = vec![];
    for rule in rules.lines() {
        let words: Vec<&str> = rule.split_whitespace().collect();
        let jumps_to_owned = words.windows(2).any(|w| w[0] == "-j" && owned(w[1]));
        if words.first() == Some(&"-A") && jumps_to_owned && !owned(words[1]) {
            let mut delete = vec!["-D"];
            delete.extend_from_slice(&words[1..]);
            if let Err(e) = iptables(table, &delete) {
                left.push(e.to_string());
            }
        }
    }
    let chains: Vec<String> = rules
        .lines()
        .filter_map(|l| l.strip_prefix("-N "))
        .filter(|c| owned(c))
        .map(str::to_owned)
        .collect();
    for chain in &chains {
        let _ = iptables(table, &["-F", chain]);
    }
    for chain in &chains {
        if let Err(e) = iptables(table, &["-X", chain]) {
            left.push(e.to_string());
        }
    }
    left
}

/// The chains of [`OWNED_PREFIXES`] present now, as `table/chain` (the leak check reads this).
pub fn owned_chains() -> Vec<String> {
    let mut found = vec![];
    for table in ["filter", "nat", "mangle", "raw"] {
        if let Ok(rules) = iptables(table, &["-S"]) {
            found.extend(
                rules
                    .lines()
                    .filter_map(|l| l.strip_prefix("-N "))
                    .filter(|c| OWNED_PREFIXES.iter().any(|p| c.starts_with(p)))
                    .map(|c| format!("{table}/{c}")),
            );
        }
    }
    found
}

/// Whether the pod bridge exists (the leak check reads this).
pub fn bridge_exists() -> bool {
    run("ip", &["link", "show", BRIDGE]).is_ok()
}
