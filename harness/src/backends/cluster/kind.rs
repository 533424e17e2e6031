//! kind, through the `kind` command. kind runs each node as a privileged container of the
//! `kindest/node` image; where the command, the image or privileged containers are missing the
//! start fails and the error says which and what would make it work.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use tokio::process::Command;

use super::{Cluster, Powers, StartContext};
use crate::backends::BackendError;
use crate::scenario::model::Backend;

/// A kind cluster created for one environment.
pub struct KindCluster {
    name: String,
    kubeconfig: PathBuf,
}

fn unavailable(reason: String) -> BackendError {
    BackendError::Unavailable {
        backend: Backend::Kind.to_string(),
        reason,
        fix: "kind needs its CLI (`go install sigs.k8s.io/kind@v0.30.0` builds it from the Go \
              module proxy), the kindest/node image and a Docker engine that starts privileged \
              containers; without them use --cluster upstream (real Kubernetes as processes) or \
              embedded"
            .into(),
    }
}

/// Whether the `kind` command is installed.
pub fn prerequisites() -> Result<String, BackendError> {
    match crate::process::which("kind") {
        Some(path) => Ok(format!(
            "{} (needs the kindest/node image and privileged containers)",
            path.display()
        )),
        None => Err(unavailable("the kind command is not installed".into())),
    }
}

impl KindCluster {
    /// `kind create cluster` with a kubeconfig in the environment's state directory.
    pub async fn start(ctx: &StartContext<'_>) -> Result<Self, BackendError> {
        prerequisites()?;
        let name = format!("harness-{}", ctx.env_id.trim_start_matches("env-"));
        let kubeconfig = ctx.state_dir.join("kind.kubeconfig");
        (ctx.progress)(&format!("kind cluster {name}"));
        let output = Command::new("kind")
            .args(["create", "cluster", "--name", &name, "--wait", "120s"])
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .output()
            .await
            .map_err(|e| unavailable(format!("running kind: {e}")))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let cluster = KindCluster { name, kubeconfig };
            Box::new(cluster).stop().await;
            return Err(unavailable(format!(
                "kind create cluster failed: {}",
                crate::process::tail(&stderr, 5)
            )));
        }
        Ok(KindCluster { name, kubeconfig })
    }
}

#[async_trait]
impl Cluster for KindCluster {
    fn backend(&self) -> Backend {
        Backend::Kind
    }

    fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    fn describe(&self) -> Vec<String> {
        vec![format!("Kubernetes: kind cluster {}", self.name)]
    }

    fn powers(&self) -> Powers {
        Powers::DISPOSABLE_REAL
    }

    async fn stop(self: Box<Self>) -> String {
        let result = Command::new("kind")
            .args(["delete", "cluster", "--name", &self.name])
            .output()
            .await;
        match result {
            Ok(o) if o.status.success() => format!("kind cluster {} deleted", self.name),
            Ok(o) => format!(
                "kind delete cluster {}: {}",
                self.name,
                String::from_utf8_lossy(&o.stderr).trim()
            ),
            Err(e) => format!("kind delete cluster {}: {e}", self.name),
        }
    }
}
