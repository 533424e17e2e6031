//! The Debian base every stand-in builds on: `debootstrap --variant=minbase`, imported once and
//! cached in the Docker engine under a tag derived from its recipe.

use std::path::{Path, PathBuf};
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::ImageError;
use crate::build::{BuildRequest, ImageBuilder};

/// Repository of the base image in the local engine.
pub const BASE_IMAGE_REPOSITORY: &str = "gitlab-k8s-harness/debian-base";

/// The Debian release and mirror the base is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebianBase {
    /// Debian suite, e.g. `bookworm`.
    pub suite: String,
    /// Mirror URL debootstrap and apt inside the images use.
    pub mirror: String,
}

impl Default for DebianBase {
    fn default() -> Self {
        Self {
            suite: "bookworm".into(),
            mirror: "http://deb.debian.org/debian".into(),
        }
    }
}

const BASE_DOCKERFILE: &str = "FROM scratch
ADD rootfs.tar /
RUN printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d \\
 && printf 'APT::Install-Recommends \"false\";\\nAPT::Install-Suggests \"false\";\\n' > /etc/apt/apt.conf.d/90harness
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
CMD [\"/bin/bash\"]
";

impl DebianBase {
    /// The image reference of this base, e.g. `gitlab-k8s-harness/debian-base:bookworm-1a2b3c4d`.
    pub fn reference(&self) -> String {
        let mut hasher = Sha256::new();
        for part in ["base-v1", &self.suite, &self.mirror, BASE_DOCKERFILE] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
        format!(
            "{BASE_IMAGE_REPOSITORY}:{}-{}",
            self.suite,
            hex::encode(&hasher.finalize()[..4])
        )
    }

    /// Makes the base image unless the engine already has it. `work_dir` holds the rootfs while it
    /// is being made and is emptied afterwards.
    pub(crate) async fn ensure(
        &self,
        builder: &ImageBuilder,
        work_dir: &Path,
    ) -> Result<String, ImageError> {
        let reference = self.reference();
        if builder.exists(&reference).await? {
            return Ok(reference);
        }
        let started = Instant::now();
        tracing::info!(%reference, suite = %self.suite, "making the Debian base image with debootstrap (once)");
        let scratch = work_dir.join(format!("base-{}", std::process::id()));
        let _cleanup = RemoveOnDrop(scratch.clone());
        let rootfs = scratch.join("rootfs");
        std::fs::create_dir_all(&rootfs)
            .map_err(|e| ImageError::io(format!("creating {}", rootfs.display()), e))?;
        self.debootstrap(&rootfs).await?;
        let tarball = scratch.join("rootfs.tar");
        run(
            tokio::process::Command::new("tar")
                .arg("--numeric-owner")
                .arg("-C")
                .arg(&rootfs)
                .arg("-cf")
                .arg(&tarball)
                .arg("."),
            "tar of the debootstrap rootfs",
        )
        .await?;
        builder
            .build(BuildRequest {
                reference: reference.clone(),
                dockerfile: BASE_DOCKERFILE.to_owned(),
                files: vec![],
                host_files: vec![("rootfs.tar".into(), tarball)],
                labels: vec![(
                    crate::LABEL_DESCRIPTION.into(),
                    format!("Debian {} minbase made by debootstrap", self.suite),
                )],
            })
            .await?;
        tracing::info!(%reference, seconds = started.elapsed().as_secs_f64(), "Debian base image ready");
        Ok(reference)
    }

    async fn debootstrap(&self, rootfs: &Path) -> Result<(), ImageError> {
        if which("debootstrap").is_none() {
            return Err(ImageError::Base(
                "debootstrap is not installed: run `harness doctor --fix` (or `apt-get install debootstrap`)".into(),
            ));
        }
        run(
            tokio::process::Command::new("debootstrap")
                .arg("--variant=minbase")
                .arg(&self.suite)
                .arg(rootfs)
                .arg(&self.mirror),
            "debootstrap --variant=minbase (needs root)",
        )
        .await?;
        for cache in ["var/cache/apt/archives", "var/lib/apt/lists"] {
            let dir = rootfs.join(cache);
            if let Ok(entries) = std::fs::read_dir(&dir) {
                for entry in entries.flatten() {
                    let path = entry.path();
                    if path.is_file() {
                        let _ = std::fs::remove_file(path);
                    }
                }
            }
        }
        Ok(())
    }
}

/// Why the machine's Docker engine cannot be used, if it cannot (tests that need it skip with
/// this reason; `harness doctor` says how to start it).
pub async fn engine_unavailable() -> Option<String> {
    let docker = match bollard::Docker::connect_with_local_defaults() {
        Ok(d) => d,
        Err(e) => return Some(format!("no Docker engine: {e}")),
    };
    match docker.ping().await {
        Ok(_) => None,
        Err(e) => Some(format!("the Docker engine does not answer: {e}")),
    }
}

/// Finds an executable on PATH.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

async fn run(command: &mut tokio::process::Command, what: &str) -> Result<(), ImageError> {
    let output = command
        .output()
        .await
        .map_err(|e| ImageError::Base(format!("{what}: {e}")))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
    Err(ImageError::Base(format!(
        "{what} exited with {}: {}",
        output.status,
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    )))
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_depends_on_suite_and_mirror() {
        let a = DebianBase::default();
        let mut b = a.clone();
        b.suite = "trixie".into();
        assert!(
            a.reference()
                .starts_with("gitlab-k8s-harness/debian-base:bookworm-")
        );
        assert_ne!(a.reference(), b.reference());
        let mut c = a.clone();
        c.mirror = "http://127.0.0.1:1/debian".into();
        assert_ne!(a.reference(), c.reference());
    }
}
