//! The real Helm in the harness: the binary `harness build helm` made, and running it against an
//! environment's cluster with the environment's kubeconfig and Helm's own directories under the
//! environment's state directory (releases live in the cluster, as Helm keeps them).

use std::path::{Path, PathBuf};
use std::time::Duration;

use harness_chart::Helm;

use crate::environment::Environment;
use crate::environment::command::CommandOutput;
use crate::toolchain::{self, Tool};

/// Helm has not been built for this machine.
#[derive(Debug, thiserror::Error)]
#[error(
    "Helm {version} is not built; the charts are rendered and installed by it. Fix: run `harness build helm`"
)]
pub(crate) struct HelmNotBuilt {
    version: &'static str,
}

/// The Helm `harness build helm` built.
pub(crate) async fn built() -> Result<Helm, HelmNotBuilt> {
    match toolchain::installed(Tool::Helm, None).await {
        Some(built) => Ok(Helm::new(built.binary("helm"))),
        None => Err(HelmNotBuilt {
            version: Tool::Helm.default_version(),
        }),
    }
}

/// Helm bound to one environment's cluster.
#[derive(Debug, Clone)]
pub(crate) struct EnvHelm {
    helm: Helm,
    kubeconfig: PathBuf,
    home: PathBuf,
    workdir: PathBuf,
}

impl EnvHelm {
    /// The built Helm with `env`'s kubeconfig and its directories under `env`'s state directory,
    /// running in `workdir` (relative chart and values paths resolve there).
    pub(crate) async fn for_env(env: &Environment, workdir: &Path) -> Result<Self, HelmNotBuilt> {
        Ok(Self {
            helm: built().await?,
            kubeconfig: env.kubeconfig(),
            home: env.state_dir().join("helm"),
            workdir: workdir.to_owned(),
        })
    }

    /// Runs `helm args…` within `timeout`.
    pub(crate) async fn run(&self, args: &[String], timeout: Duration) -> CommandOutput {
        let mut command = self.helm.command(&self.home);
        command
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .current_dir(&self.workdir);
        crate::environment::command::run(
            tokio::process::Command::from(command),
            format!("helm {}", args.join(" ")),
            timeout,
        )
        .await
    }
}
