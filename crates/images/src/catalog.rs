//! The stand-in recipes for the images the tutorial and the harness name.
//!
//! Each stand-in mirrors what matters of the real image (entrypoint, user, working directory) and
//! carries the tools the tutorial's jobs call. A new image is a Dockerfile under `recipes/` and an
//! entry here.

use std::path::{Path, PathBuf};

use crate::recipe::{ContextFile, Recipe};

/// The tutorial's Maven image (`maven-package` job).
pub const MAVEN_IMAGE: &str = "registry.cn-beijing.aliyuncs.com/codepipeline/public-blueocean-codepipeline-slave-java:0.1-63b99a20";
/// The pipeline's default image (`docker-build` job).
pub const DOCKER_IMAGE: &str = "docker:latest";
/// The deploy job's image.
pub const KUBECTL_IMAGE: &str = "bitnami/kubectl:latest";
/// The runner's default job image from the tutorial's values.
pub const UBUNTU_IMAGE: &str = "ubuntu:16.04";
/// The image chart 0.14.0 runs the runner manager in.
pub const RUNNER_IMAGE: &str = "gitlab/gitlab-runner:alpine-v12.8.0";
/// The image the current chart (0.86.0) runs the runner manager in.
pub const RUNNER_IMAGE_CURRENT: &str =
    "registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v18.9.0";
/// The helper image runner 12.8.0 puts next to each job's build container.
pub const HELPER_IMAGE: &str = "gitlab/gitlab-runner-helper:x86_64-e0218c92";
/// The images the scenarios' pods run (job images, the runner and its helper, the volume probe):
/// what a cluster whose nodes do not share the Docker engine's images is given.
pub const POD_IMAGES: &[&str] = &[
    UBUNTU_IMAGE,
    MAVEN_IMAGE,
    DOCKER_IMAGE,
    KUBECTL_IMAGE,
    RUNNER_IMAGE,
    RUNNER_IMAGE_CURRENT,
    HELPER_IMAGE,
];
/// The pod sandbox image of the upstream cluster's containerd.
pub const PAUSE_IMAGE: &str = "registry.k8s.io/pause:3.10";
/// The upstream cluster's DNS add-on.
pub const COREDNS_IMAGE: &str = "registry.k8s.io/coredns/coredns:v1.14.2";
/// The sample application's base image.
pub const TOMCAT_IMAGE: &str = "tomcat:10.1-jdk17";

/// Machine-specific inputs of the catalog: binaries copied into stand-ins.
#[derive(Debug, Clone, Default)]
pub struct CatalogInputs {
    /// A statically linked kubectl for the `bitnami/kubectl` stand-in (see [`find_kubectl`]).
    pub kubectl: Option<PathBuf>,
    /// Directory holding the harness's `gitlab-runner` and `gitlab-runner-helper` binaries.
    pub runner_binaries: Option<PathBuf>,
    /// The CoreDNS binary built from its Go module (`harness build coredns`).
    pub coredns: Option<PathBuf>,
}

/// Every stand-in recipe, given the machine's inputs. Recipes whose input is missing are left out
/// (and asking for their image then says that no stand-in exists).
pub fn recipes(inputs: &CatalogInputs) -> Vec<Recipe> {
    let mut recipes = vec![
        Recipe {
            reference: UBUNTU_IMAGE.into(),
            description: "ubuntu:16.04 replaced by Debian bookworm minbase with bash, coreutils, sed, grep, awk, git".into(),
            provides: tools(&["sh", "bash", "sed", "grep", "awk", "git", "curl"]),
            dockerfile: include_str!("../recipes/ubuntu.Dockerfile").into(),
            files: vec![],
        },
        Recipe {
            reference: MAVEN_IMAGE.into(),
            description: "the tutorial's Maven build image: Debian OpenJDK 17 + Maven 3, settings.xml mirroring every repository to $MAVEN_MIRROR_URL (the harness sets it as a CI/CD variable)".into(),
            provides: tools(&["sh", "mvn", "java", "javac", "git", "sed"]),
            dockerfile: include_str!("../recipes/maven.Dockerfile").into(),
            files: vec![ContextFile::inline(
                "settings.xml",
                0o644,
                include_str!("../recipes/maven-settings.xml"),
            )],
        },
        Recipe {
            reference: DOCKER_IMAGE.into(),
            description: "docker:latest replaced by Debian minbase with the docker CLI from Debian's docker.io package; same entrypoint contract".into(),
            provides: tools(&["sh", "docker", "git", "sed"]),
            dockerfile: include_str!("../recipes/docker.Dockerfile").into(),
            files: vec![ContextFile::inline(
                "docker-entrypoint.sh",
                0o755,
                include_str!("../recipes/docker-entrypoint.sh"),
            )],
        },
        Recipe {
            reference: TOMCAT_IMAGE.into(),
            description: "tomcat:10.1-jdk17 replaced by Debian's tomcat10 + OpenJDK 17 JRE, CATALINA_BASE=/usr/local/tomcat with an empty webapps/".into(),
            provides: tools(&["sh", "java", "catalina.sh"]),
            dockerfile: include_str!("../recipes/tomcat.Dockerfile").into(),
            files: vec![],
        },
    ];
    recipes.push(Recipe {
        reference: PAUSE_IMAGE.into(),
        description: "the pod sandbox image replaced by Debian minbase with a shell loop that waits for SIGTERM".into(),
        provides: tools(&["sh"]),
        dockerfile: include_str!("../recipes/pause.Dockerfile").into(),
        files: vec![ContextFile::inline("pause", 0o755, include_str!("../recipes/pause.sh"))],
    });
    if let Some(coredns) = &inputs.coredns {
        recipes.push(Recipe {
            reference: COREDNS_IMAGE.into(),
            description: "the CoreDNS image: Debian minbase with CoreDNS v1.14.2 built from its Go module (the cluster add-on's plugins)".into(),
            provides: tools(&["coredns"]),
            dockerfile: include_str!("../recipes/coredns.Dockerfile").into(),
            files: vec![ContextFile::host("coredns", 0o755, coredns)],
        });
    }
    if let Some(kubectl) = &inputs.kubectl {
        recipes.push(Recipe {
            reference: KUBECTL_IMAGE.into(),
            description: "bitnami/kubectl:latest replaced by Debian minbase with this machine's kubectl; ENTRYPOINT [\"kubectl\"], user 1001, as the real image".into(),
            provides: tools(&["kubectl", "sh", "sed", "grep", "awk", "head"]),
            dockerfile: include_str!("../recipes/kubectl.Dockerfile").into(),
            files: vec![ContextFile::host("kubectl", 0o755, kubectl)],
        });
    }
    if let Some(dir) = &inputs.runner_binaries {
        for (reference, version) in [(RUNNER_IMAGE, "12.8.0"), (RUNNER_IMAGE_CURRENT, "18.9.0")] {
            recipes.push(Recipe {
                reference: reference.into(),
                description: format!("gitlab-runner {version} replaced by the harness's own gitlab-runner (kubernetes executor) on Debian minbase, user gitlab-runner (uid 100), /entrypoint as the real image"),
                provides: tools(&["gitlab-runner", "bash", "git", "pgrep"]),
                dockerfile: include_str!("../recipes/runner.Dockerfile").into(),
                files: vec![
                    ContextFile::host("gitlab-runner", 0o755, dir.join("gitlab-runner")),
                    ContextFile::inline("entrypoint", 0o755, include_str!("../recipes/runner-entrypoint.sh")),
                ],
            });
        }
        recipes.push(Recipe {
            reference: HELPER_IMAGE.into(),
            description: "gitlab-runner-helper replaced by the harness's own helper (git clone/fetch, artifacts) on Debian minbase".into(),
            provides: tools(&["gitlab-runner-helper", "git", "sh"]),
            dockerfile: include_str!("../recipes/helper.Dockerfile").into(),
            files: vec![ContextFile::host(
                "gitlab-runner-helper",
                0o755,
                dir.join("gitlab-runner-helper"),
            )],
        });
    }
    recipes
}

fn tools(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

/// Finds a statically linked kubectl on this machine: `$HARNESS_KUBECTL`, else `kubectl` on PATH;
/// when that is a version dispatcher with `kubectl.1.NN` siblings, the newest of those.
pub fn find_kubectl() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("HARNESS_KUBECTL") {
        return Some(PathBuf::from(path));
    }
    let on_path = crate::base::which("kubectl")?;
    let real = std::fs::canonicalize(&on_path).ok()?;
    Some(newest_versioned_sibling(&real).unwrap_or(real))
}

fn newest_versioned_sibling(binary: &Path) -> Option<PathBuf> {
    let dir = binary.parent()?;
    let mut best: Option<(u32, PathBuf)> = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let name = entry.file_name();
        let Some(minor) = name
            .to_str()
            .and_then(|n| n.strip_prefix("kubectl.1."))
            .and_then(|m| m.parse::<u32>().ok())
        else {
            continue;
        };
        if best.as_ref().is_none_or(|(b, _)| minor > *b) {
            best = Some((minor, entry.path()));
        }
    }
    best.map(|(_, path)| path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_recipe_has_a_base_and_distinct_reference() {
        let inputs = CatalogInputs {
            kubectl: Some("/nonexistent/kubectl".into()),
            runner_binaries: Some("/nonexistent".into()),
            coredns: Some("/nonexistent/coredns".into()),
        };
        let all = recipes(&inputs);
        assert_eq!(all.len(), 10);
        let mut refs: Vec<&str> = all.iter().map(|r| r.reference.as_str()).collect();
        refs.sort();
        refs.dedup();
        assert_eq!(refs.len(), 10);
        for recipe in &all {
            assert!(
                recipe.dockerfile.starts_with("FROM {{BASE}}"),
                "{}",
                recipe.reference
            );
            assert!(!recipe.provides.is_empty());
        }
    }

    #[test]
    fn recipes_needing_missing_inputs_are_left_out() {
        let refs: Vec<String> = recipes(&CatalogInputs::default())
            .into_iter()
            .map(|r| r.reference)
            .collect();
        assert!(!refs.contains(&KUBECTL_IMAGE.to_owned()));
        assert!(!refs.contains(&RUNNER_IMAGE.to_owned()));
        assert!(refs.contains(&MAVEN_IMAGE.to_owned()));
    }

    #[test]
    fn maven_settings_mirror_everything_to_the_variable_the_harness_sets() {
        let all = recipes(&CatalogInputs::default());
        let maven = all.iter().find(|r| r.reference == MAVEN_IMAGE).unwrap();
        let settings = String::from_utf8(maven.files[0].read(MAVEN_IMAGE).unwrap()).unwrap();
        assert!(settings.contains("<url>${env.MAVEN_MIRROR_URL}</url>"));
        assert!(settings.contains("<mirrorOf>*</mirrorOf>"));
    }

    #[test]
    fn dispatcher_siblings_pick_the_newest_minor() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "kubectl",
            "kubectl.1.27",
            "kubectl.1.33",
            "kubectl.1.9",
            "kubectl.1.30",
        ] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let picked = newest_versioned_sibling(&dir.path().join("kubectl")).unwrap();
        assert!(picked.ends_with("kubectl.1.33"), "{picked:?}");
    }
}
