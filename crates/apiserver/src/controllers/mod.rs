//! Built-in controllers. Each reacts to store changes (plus a slow resync) and writes through the
//! [`Registry`] like any other client, so watches and events see their work.

mod deployment_status;
pub mod events;
mod lifecycle;
mod replicasets;
mod scheduler;
mod volumes;
mod workloads;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::ApiServerConfig;
use crate::kinds::KindInfo;
use crate::registry::Registry;
use crate::store::Change;

/// A controller: reacts to single changes, and periodically to everything.
pub trait Controller: Send + 'static {
    /// Handles one change.
    fn on_change(&mut self, registry: &Registry, change: &Change);
    /// Full reconcile (start-up, resync, or after missed changes).
    fn resync(&mut self, registry: &Registry);
    /// How often to resync.
    fn period(&self) -> Duration {
        Duration::from_secs(5)
    }
}

/// A kind a controller works on. A miss is a bug in the controller (the kind was taken out of
/// the table or its plural misspelt): it is logged as an error and the caller skips its pass.
pub(crate) fn known(registry: &Registry, group: &str, plural: &str) -> Option<&'static KindInfo> {
    registry
        .kind(group, plural)
        .inspect_err(|e| tracing::error!(error = %e, "a controller looked up a kind this server does not serve"))
        .ok()
}

/// Runs a controller until shutdown.
pub fn spawn(
    registry: Arc<Registry>,
    shutdown: CancellationToken,
    mut c: impl Controller,
) -> JoinHandle<()> {
    let mut rx = registry.store.changes();
    tokio::spawn(async move {
        c.resync(&registry);
        let mut tick = tokio::time::interval(c.period());
        tick.tick().await;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => c.resync(&registry),
                r = rx.recv() => match r {
                    Ok(change) => c.on_change(&registry, &change),
                    Err(RecvError::Lagged(_)) => c.resync(&registry),
                    Err(RecvError::Closed) => return,
                },
            }
        }
    })
}

/// Starts the controllers the configuration asks for.
pub fn spawn_all(
    registry: Arc<Registry>,
    config: &ApiServerConfig,
    shutdown: CancellationToken,
    ca_pem: &str,
) -> Vec<JoinHandle<()>> {
    let mut out = Vec::new();
    if config.run_scheduler {
        out.push(spawn(
            registry.clone(),
            shutdown.clone(),
            scheduler::Scheduler::default(),
        ));
    }
    if config.run_controllers {
        out.push(spawn(
            registry.clone(),
            shutdown.clone(),
            workloads::Workloads,
        ));
        out.push(spawn(
            registry.clone(),
            shutdown.clone(),
            lifecycle::GarbageCollector,
        ));
        out.push(spawn(
            registry.clone(),
            shutdown.clone(),
            lifecycle::Namespaces {
                ca_pem: ca_pem.to_string(),
            },
        ));
        out.push(spawn(
            registry.clone(),
            shutdown.clone(),
            volumes::VolumeBinder::new(config),
        ));
    }
    out
}
