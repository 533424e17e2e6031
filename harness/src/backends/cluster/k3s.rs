//! k3s in a container, through the `testcontainers` crate's K3s module. It needs the
//! `rancher/k3s` image and a privileged container; where either is missing the start fails and
//! the error says which and what would make it work.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use testcontainers_modules::k3s::{K3s, KUBE_SECURE_PORT};
use testcontainers_modules::testcontainers::runners::AsyncRunner;
use testcontainers_modules::testcontainers::{ContainerAsync, ImageExt};

use super::{Cluster, Powers, StartContext};
use crate::backends::BackendError;
use crate::scenario::model::Backend;

/// The k3s image the module runs.
const IMAGE: &str = "rancher/k3s";
/// Its tag: the newest k3s of the Kubernetes minor the harness targets.
const TAG: &str = "v1.33.5-k3s1";

/// A k3s server in a container.
pub struct K3sCluster {
    container: ContainerAsync<K3s>,
    kubeconfig: PathBuf,
}

fn unavailable(reason: String) -> BackendError {
    BackendError::Unavailable {
        backend: Backend::K3s.to_string(),
        reason,
        fix: format!(
            "run it where Docker can pull {IMAGE}:{TAG} (or has it loaded) and start privileged \
             containers, or use --cluster upstream (real Kubernetes as processes) or embedded"
        ),
    }
}

impl K3sCluster {
    /// Starts the container and writes a kubeconfig for its published API port.
    pub async fn start(ctx: &StartContext<'_>) -> Result<Self, BackendError> {
        (ctx.progress)(&format!(
            "k3s in a container ({IMAGE}:{TAG}, testcontainers)"
        ));
        let conf = ctx.state_dir.join("k3s");
        std::fs::create_dir_all(&conf)
            .map_err(|e| unavailable(format!("creating {}: {e}", conf.display())))?;
        let container = K3s::default()
            .with_conf_mount(&conf)
            .with_tag(TAG)
            .with_privileged(true)
            .with_userns_mode("host")
            .start()
            .await
            .map_err(|e| unavailable(format!("the k3s container did not start: {e}")))?;
        let port = container
            .get_host_port_ipv4(KUBE_SECURE_PORT)
            .await
            .map_err(|e| unavailable(format!("the k3s API port is not published: {e}")))?;
        let kubeconfig_text = container
            .image()
            .read_kube_config()
            .map_err(|e| unavailable(format!("k3s wrote no kubeconfig: {e}")))?
            .replace(":6443", &format!(":{port}"));
        let kubeconfig = conf.join("kubeconfig.yaml");
        crate::environment::write_private(&kubeconfig, kubeconfig_text.as_bytes())
            .map_err(|e| unavailable(format!("writing {}: {e}", kubeconfig.display())))?;
        Ok(K3sCluster {
            container,
            kubeconfig,
        })
    }
}

/// Whether k3s can start here: its image must be present (nothing can be pulled here).
pub async fn prerequisites() -> Result<String, BackendError> {
    let docker = bollard::Docker::connect_with_local_defaults()
        .map_err(|e| unavailable(format!("no Docker engine: {e}")))?;
    match docker.inspect_image(&format!("{IMAGE}:{TAG}")).await {
        Ok(_) => Ok(format!(
            "{IMAGE}:{TAG} is present (needs privileged containers too)"
        )),
        Err(_) => Err(unavailable(format!(
            "the image {IMAGE}:{TAG} is not present and no registry it comes from is reachable"
        ))),
    }
}

#[async_trait]
impl Cluster for K3sCluster {
    fn backend(&self) -> Backend {
        Backend::K3s
    }

    fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    fn describe(&self) -> Vec<String> {
        vec![format!(
            "Kubernetes: k3s {TAG} in container {}",
            self.container.id()
        )]
    }

    fn powers(&self) -> Powers {
        Powers::DISPOSABLE_REAL
    }

    async fn stop(self: Box<Self>) -> String {
        let id = self.container.id().to_owned();
        match self.container.rm().await {
            Ok(()) => format!("k3s container {id} removed"),
            Err(e) => format!("k3s container {id}: {e}"),
        }
    }
}
