//! Periodic reconciliation of a running pod: exits, restarts with back-off, probes.

use std::time::Instant;

use k8s_openapi::api::core::v1::Container;

use super::{PodWorker, Stop};
use crate::events::EventType;
use crate::hooks;
use crate::runtime::{self, ContainerRuntimeState};
use crate::status::{self, ContainerRecord};
use harness_error_chain::Chain;

/// The two probes the kubelet runs periodically.
#[derive(Debug, Clone, Copy)]
enum ProbeKind {
    Readiness,
    Liveness,
}

/// Refreshes a record from the engine; returns true when the container has (now) exited.
async fn refresh(docker: &bollard::Docker, record: &mut ContainerRecord) -> bool {
    let Some(id) = record.docker_id.clone() else {
        return false;
    };
    if !record.is_running() {
        return false;
    }
    let exited = match runtime::inspect(docker, &id).await {
        Ok(Some(rt)) if rt.running => return false,
        Ok(Some(rt)) => rt,
        Ok(None) => ContainerRuntimeState {
            exit_code: 137,
            error: "the container was removed from the engine".into(),
            ..Default::default()
        },
        Err(e) => {
            tracing::debug!(error = %Chain(&e), "inspect failed");
            return false;
        }
    };
    record.state = status::terminated(&exited, &id);
    record.ready = false;
    record.started = false;
    true
}

impl PodWorker {
    /// Refreshes init container `index`; true once it is no longer running.
    pub(crate) async fn refresh_init(&mut self, index: usize) -> bool {
        let docker = self.ctx.docker.clone();
        refresh(&docker, &mut self.init[index]).await;
        !self.init[index].is_running()
    }

    /// Refreshes every container's state from the engine.
    pub(crate) async fn refresh_all(&mut self) {
        let docker = self.ctx.docker.clone();
        for record in self.init.iter_mut().chain(self.main.iter_mut()) {
            refresh(&docker, record).await;
        }
    }

    fn should_restart(&self, exit_code: i32) -> bool {
        if self.terminal.is_some() {
            return false;
        }
        match self.restart_policy().as_str() {
            "Never" => false,
            "OnFailure" => exit_code != 0,
            _ => true,
        }
    }

    /// One reconciliation pass over the main containers.
    pub(crate) async fn sync_main(&mut self) -> Result<(), Stop> {
        let docker = self.ctx.docker.clone();
        for index in 0..self.main.len() {
            self.check_updates()?;
            if refresh(&docker, &mut self.main[index]).await {
                self.readiness[index] = None;
                self.liveness[index] = None;
            }
            let name = self.main[index].name.clone();
            let record = &self.main[index];
            if record.is_running() {
                self.run_probes(index).await;
                continue;
            }
            if let Some(t) = record.terminated().cloned() {
                if !self.should_restart(t.exit_code) {
                    continue;
                }
                let wait = self.schedule_restart(&name);
                let pod_name = self.name().to_owned();
                let record = &mut self.main[index];
                record.last_state = Some(record.state.clone());
                record.restart_pending = true;
                record.state = status::waiting(
                    "CrashLoopBackOff",
                    &format!(
                        "back-off {}s restarting failed container={name} pod={pod_name}",
                        wait.as_secs()
                    ),
                );
                if !wait.is_zero() {
                    self.event(
                        Some(&name),
                        EventType::Warning,
                        "BackOff",
                        &format!("Back-off restarting failed container {name} in pod {pod_name}"),
                    )
                    .await;
                    continue;
                }
            } else if !self.backoff_remaining(&name).is_zero() {
                continue;
            }
            let record = &mut self.main[index];
            if record.restart_pending {
                record.restart_pending = false;
                record.restart_count += 1;
            }
            self.start_main(index).await?;
        }
        Ok(())
    }

    /// Runs one probe of main container `index` when it is due, reporting a failure as an
    /// `Unhealthy` event; returns the probe's verdict after it, or `None` when it was not due.
    async fn probe(
        &mut self,
        kind: ProbeKind,
        index: usize,
        now: Instant,
        docker_id: &str,
        container: &Container,
    ) -> Option<Option<bool>> {
        let trackers = match kind {
            ProbeKind::Readiness => &mut self.readiness,
            ProbeKind::Liveness => &mut self.liveness,
        };
        let tracker = trackers[index].as_mut().filter(|t| t.due(now))?;
        let probe = tracker.probe.clone();
        let result = crate::probes::run_once(&self.ctx.docker, docker_id, container, &probe).await;
        let failed = result.as_ref().err().cloned();
        tracker.record(Instant::now(), result);
        let verdict = tracker.verdict;
        if let Some(message) = failed {
            let which = match kind {
                ProbeKind::Readiness => "Readiness",
                ProbeKind::Liveness => "Liveness",
            };
            self.event(
                Some(&container.name),
                EventType::Warning,
                "Unhealthy",
                &format!("{which} probe failed: {message}"),
            )
            .await;
        }
        Some(verdict)
    }

    async fn run_probes(&mut self, index: usize) {
        let now = Instant::now();
        let Some(id) = self.main[index].docker_id.clone() else {
            return;
        };
        let Some(container) = self
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.containers.get(index))
            .cloned()
        else {
            return;
        };
        let name = container.name.clone();
        if let Some(verdict) = self
            .probe(ProbeKind::Readiness, index, now, &id, &container)
            .await
        {
            self.main[index].ready = verdict == Some(true);
        }
        let liveness = self
            .probe(ProbeKind::Liveness, index, now, &id, &container)
            .await;
        if liveness == Some(Some(false)) {
            self.liveness[index] = None;
            self.event(
                Some(&name),
                EventType::Normal,
                "Killing",
                &format!("Container {name} failed liveness probe, will be restarted"),
            )
            .await;
            let docker = self.ctx.docker.clone();
            let grace = container
                .liveness_probe
                .as_ref()
                .and_then(|p| p.termination_grace_period_seconds)
                .unwrap_or_else(|| self.grace_seconds());
            let wake = self.wake.clone();
            tokio::spawn(async move {
                let grace = std::time::Duration::from_secs(grace.max(0) as u64);
                let (hook, stop) =
                    hooks::pre_stop_then_stop(&docker, &id, Some(&container), grace).await;
                if let Some(error) = hook {
                    tracing::warn!(container = %container.name, %error, "preStop hook failed");
                }
                if let Err(e) = stop {
                    tracing::warn!(error = %Chain(&e), "stopping an unhealthy container failed");
                }
                wake.notify_one();
            });
        }
    }
}
