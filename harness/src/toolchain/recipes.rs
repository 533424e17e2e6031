//! The recipe of each tool: which modules, at which versions, built how.

use std::path::Path;

use super::{Recipe, Step, ToolchainError, go, io};

/// The real components the harness builds from Go modules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tool {
    /// kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy, kubectl.
    Kubernetes,
    /// etcd, the cluster's store.
    Etcd,
    /// CoreDNS with the plugins a cluster's DNS add-on uses.
    CoreDns,
    /// crictl, to clean pod sandboxes up through CRI.
    Crictl,
    /// Helm.
    Helm,
}

impl std::fmt::Display for Tool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Kubernetes versions whose every staging module the proxy serves, newest first. 1.38 needs a
/// containerd with `RuntimeConfig` and cgroup v2, which these machines lack.
pub const KUBERNETES_VERSIONS: &[&str] = &["v1.36.3", "v1.37.2", "v1.35.4", "v1.34.4"];

/// The Kubernetes commands built, in one `go build`.
pub const KUBERNETES_COMMANDS: &[&str] = &[
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "kubectl",
];

impl Tool {
    /// Every tool, in build order.
    pub const ALL: [Tool; 5] = [
        Tool::Kubernetes,
        Tool::Etcd,
        Tool::CoreDns,
        Tool::Crictl,
        Tool::Helm,
    ];

    /// Its name in the cache and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Kubernetes => "kubernetes",
            Tool::Etcd => "etcd",
            Tool::CoreDns => "coredns",
            Tool::Crictl => "crictl",
            Tool::Helm => "helm",
        }
    }

    /// The version built when none is named.
    pub fn default_version(self) -> &'static str {
        match self {
            Tool::Kubernetes => KUBERNETES_VERSIONS[0],
            Tool::Etcd => "v3.6.13",
            Tool::CoreDns => "v1.14.2",
            Tool::Crictl => "v1.37.0",
            Tool::Helm => "v4.3.2",
        }
    }

    fn known_versions(self) -> Vec<&'static str> {
        match self {
            Tool::Kubernetes => KUBERNETES_VERSIONS.to_vec(),
            other => vec![other.default_version()],
        }
    }

    pub(crate) fn recipe(self, version: &str) -> Result<Recipe, ToolchainError> {
        let version = if version.starts_with('v') {
            version.to_owned()
        } else {
            format!("v{version}")
        };
        if !self.known_versions().contains(&version.as_str()) {
            return Err(ToolchainError::UnknownVersion {
                tool: self,
                version,
                known: self.known_versions().join(", "),
            });
        }
        Ok(match self {
            Tool::Kubernetes => kubernetes(&version),
            Tool::Etcd => wrapper(
                "etcd",
                &format!("go.etcd.io/etcd/server/v3@{version}"),
                Some("default=go1.25"),
                "-s -w",
                vec![("etcd", "go.etcd.io/etcd/server/v3")],
            ),
            Tool::CoreDns => coredns(&version),
            Tool::Crictl => wrapper(
                "crictl",
                &format!("sigs.k8s.io/cri-tools/cmd/crictl@{version}"),
                None,
                &format!("-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version={version}"),
                vec![("crictl", "sigs.k8s.io/cri-tools/cmd/crictl")],
            ),
            Tool::Helm => wrapper(
                "helm",
                &format!("helm.sh/helm/v4/cmd/helm@{version}"),
                None,
                &format!(
                    "-s -w -X helm.sh/helm/v4/internal/version.version={version} \
                     -X helm.sh/helm/v4/internal/version.gitTreeState=clean"
                ),
                vec![("helm", "helm.sh/helm/v4/cmd/helm")],
            ),
        })
    }
}

fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// A wrapper module requiring `module@version` as a tool, then one build per `(binary, package)`.
fn wrapper(
    name: &str,
    tool_at_version: &str,
    godebug: Option<&str>,
    ldflags: &str,
    builds: Vec<(&'static str, &'static str)>,
) -> Recipe {
    let mut steps = vec![
        Step::Go(args(&["mod", "init", &format!("harness.local/{name}")])),
        Step::Go(args(&["get", "-tool", tool_at_version])),
        Step::Go(args(&["mod", "tidy"])),
    ];
    if let Some(godebug) = godebug {
        steps.push(Step::Go(args(&[
            "mod",
            "edit",
            &format!("-godebug={godebug}"),
        ])));
    }
    for (binary, package) in &builds {
        steps.push(Step::Go(args(&[
            "build",
            "-v",
            "-trimpath",
            "-ldflags",
            ldflags,
            "-o",
            &format!("{{out}}{binary}"),
            package,
        ])));
    }
    Recipe {
        steps,
        outputs: builds.iter().map(|(binary, _)| *binary).collect(),
    }
}

/// Upstream Kubernetes: `k8s.io/kubernetes` requires its staging modules at v0.0.0 and maps them
/// to `./staging/…` with replaces a dependency's go.mod cannot carry, so the wrapper maps each to
/// its published `v0.X.Y`; the six commands are built in one `go build` (the compiles and links
/// of the binaries overlap), with the version stamped as upstream's release build does.
fn kubernetes(version: &str) -> Recipe {
    let minor = version.split('.').nth(1).unwrap_or_default();
    let mut ldflags = String::from("-s -w");
    for package in [
        "k8s.io/component-base/version",
        "k8s.io/client-go/pkg/version",
    ] {
        ldflags.push_str(&format!(
            " -X {package}.gitVersion={version} -X {package}.gitMajor=1 -X {package}.gitMinor={minor} -X {package}.gitTreeState=clean"
        ));
    }
    let mut get = args(&["get", "-tool"]);
    get.extend(
        KUBERNETES_COMMANDS
            .iter()
            .map(|c| format!("k8s.io/kubernetes/cmd/{c}@{version}")),
    );
    let mut build = args(&[
        "build",
        "-v",
        "-trimpath",
        "-tags",
        "selinux,notest,grpcnotrace",
        "-ldflags",
        &ldflags,
        "-o",
        "{out}",
    ]);
    build.extend(
        KUBERNETES_COMMANDS
            .iter()
            .map(|c| format!("k8s.io/kubernetes/cmd/{c}")),
    );
    Recipe {
        steps: vec![
            Step::Go(args(&["mod", "init", "harness.local/kubernetes"])),
            Step::Go(args(&["mod", "edit", "-go=1.26.0"])),
            Step::KubernetesStaging(version.to_owned()),
            Step::Go(get),
            Step::Go(args(&["mod", "tidy"])),
            Step::Go(build),
        ],
        outputs: KUBERNETES_COMMANDS.to_vec(),
    }
}

/// CoreDNS with only the plugins a cluster's DNS add-on uses: a `main` of our own that imports
/// them and sets their order, instead of the stock binary's every plugin (whose cloud SDKs are
/// most of its build).
fn coredns(version: &str) -> Recipe {
    Recipe {
        steps: vec![
            Step::Go(args(&["mod", "init", "harness.local/coredns"])),
            Step::File("main.go", include_str!("coredns_main.go").to_owned()),
            Step::Go(args(&[
                "get",
                &format!("github.com/coredns/coredns@{version}"),
            ])),
            Step::Go(args(&["mod", "tidy"])),
            Step::Go(args(&[
                "build",
                "-v",
                "-trimpath",
                "-ldflags",
                &format!("-s -w -X github.com/coredns/coredns/coremain.GitCommit={version}"),
                "-o",
                "{out}coredns",
                ".",
            ])),
        ],
        outputs: vec!["coredns"],
    }
}

/// The [`Step::KubernetesStaging`] step.
pub(super) async fn replace_staging(
    work: &Path,
    version: &str,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<(), ToolchainError> {
    #[derive(serde::Deserialize)]
    struct Download {
        #[serde(rename = "GoMod")]
        go_mod: String,
    }
    let json = go::run(
        work,
        &[
            "mod",
            "download",
            "-json",
            &format!("k8s.io/kubernetes@{version}"),
        ],
        progress,
    )
    .await?;
    let download: Download = serde_json::from_str(&json).map_err(|e| ToolchainError::Go {
        command: "go mod download -json k8s.io/kubernetes".into(),
        dir: work.to_owned(),
        output: e.to_string(),
    })?;
    let go_mod = std::fs::read_to_string(&download.go_mod)
        .map_err(io("reading", Path::new(&download.go_mod)))?;
    let staging_version = format!("v0.{}", version.trim_start_matches("v1."));
    for line in go_mod.lines().map(str::trim) {
        if let Some(setting) = line.strip_prefix("godebug ") {
            go::run(
                work,
                &["mod", "edit", &format!("-godebug={setting}")],
                progress,
            )
            .await?;
        }
        let Some(module) = line.split_once("=> ./staging/").and_then(|(left, _)| {
            left.trim_start_matches("replace ")
                .split_whitespace()
                .next()
        }) else {
            continue;
        };
        let served = go::run(
            work,
            &["list", "-m", &format!("{module}@{staging_version}")],
            progress,
        )
        .await
        .is_ok();
        let target = if served {
            format!("{module}@{staging_version}")
        } else {
            // Not served (sample modules): nothing the commands import; an empty module stands in.
            let dir = work.join("unserved").join(module.replace('/', "_"));
            std::fs::create_dir_all(&dir).map_err(io("creating", &dir))?;
            let path = dir.join("go.mod");
            std::fs::write(&path, format!("module {module}\n\ngo 1.26.0\n"))
                .map_err(io("writing", &path))?;
            format!("./unserved/{}", module.replace('/', "_"))
        };
        go::run(
            work,
            &["mod", "edit", &format!("-replace={module}={target}")],
            progress,
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_checked_and_normalised() {
        assert!(Tool::Kubernetes.recipe("1.36.3").is_ok());
        let err = Tool::Kubernetes.recipe("v1.38.0").unwrap_err().to_string();
        assert!(err.contains("v1.36.3"), "{err}");
    }

    #[test]
    fn the_kubernetes_build_stamps_its_version_and_builds_every_command_at_once() {
        let recipe = Tool::Kubernetes.recipe("v1.36.3").unwrap();
        let text = format!("{recipe:?}");
        assert!(text.contains("k8s.io/component-base/version.gitVersion=v1.36.3"));
        assert!(text.contains("k8s.io/client-go/pkg/version.gitMinor=36"));
        let Some(Step::Go(build)) = recipe.steps.last() else {
            panic!("the last step builds");
        };
        for command in KUBERNETES_COMMANDS {
            assert!(build.contains(&format!("k8s.io/kubernetes/cmd/{command}")));
        }
    }

    #[test]
    fn recipes_hash_differently_per_version_and_go() {
        let a = Tool::Kubernetes.recipe("v1.36.3").unwrap();
        let b = Tool::Kubernetes.recipe("v1.35.4").unwrap();
        assert_ne!(a.hash("go1.26.8"), b.hash("go1.26.8"));
        assert_ne!(a.hash("go1.26.8"), a.hash("go1.26.9"));
        assert_eq!(a.hash("go1.26.8"), a.hash("go1.26.8"));
    }
}
