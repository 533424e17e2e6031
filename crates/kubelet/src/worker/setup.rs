//! Before the containers run: volumes, host ports, init containers in order.

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{DeleteParams, Preconditions};

use super::{PodWorker, Stop};
use crate::events::EventType;
use crate::status;
use harness_error_chain::Chain;

impl PodWorker {
    pub(super) async fn prepare_volumes(&mut self) -> Result<(), Stop> {
        let mut delay = self.ctx.config.backoff_base;
        loop {
            let env_ctx = self.env_context();
            let result = crate::volumes::prepare(&env_ctx, &self.ctx.config, &self.pod_dir).await;
            match result {
                Ok(volumes) => {
                    self.volumes = Some(volumes);
                    return Ok(());
                }
                Err(e) => {
                    let message = format!("MountVolume.SetUp failed: {}", Chain(&e));
                    tracing::info!(pod = %self.name(), error = %Chain(&e), "volumes not ready");
                    self.event(None, EventType::Warning, "FailedMount", &message)
                        .await;
                    for record in self.init.iter_mut().chain(self.main.iter_mut()) {
                        record.state = status::waiting("ContainerCreating", "");
                    }
                    self.publish().await;
                    self.wait(delay).await?;
                    delay = (delay * 2).min(self.ctx.config.backoff_max);
                }
            }
        }
    }

    /// Takes the pod's host ports, waiting while another pod holds one (or deleting the pod of
    /// an older revision of the same Deployment that holds it).
    pub(super) async fn claim_ports(&mut self) -> Result<(), Stop> {
        let ports = crate::ports::declared_ports(&self.pod);
        if ports.is_empty() {
            return Ok(());
        }
        let me = crate::ports::PortHolder {
            uid: self.uid().to_owned(),
            namespace: self.namespace().to_owned(),
            name: self.name().to_owned(),
            revision: crate::ports::revision_of(&self.ctx.client, &self.pod).await,
        };
        let mut told = false;
        let mut preempted = std::collections::HashSet::new();
        loop {
            match self.ctx.ports.claim(&me, &ports).await {
                crate::ports::Claim::Granted => return Ok(()),
                crate::ports::Claim::Preempt {
                    port,
                    namespace,
                    name,
                    uid,
                } => {
                    if preempted.insert(uid.clone()) {
                        let message = format!(
                            "Deleting pod {namespace}/{name} of an older revision: it holds host port {port} and pods on this node share the host network"
                        );
                        self.event(None, EventType::Normal, "Preempting", &message)
                            .await;
                        let api: Api<Pod> = Api::namespaced(self.ctx.client.clone(), &namespace);
                        let params = DeleteParams {
                            preconditions: Some(Preconditions {
                                uid: Some(uid),
                                resource_version: None,
                            }),
                            ..Default::default()
                        };
                        if let Err(e) = api.delete(&name, &params).await {
                            tracing::debug!(error = %e, "deleting the older pod failed");
                        }
                    }
                }
                crate::ports::Claim::Wait { port, holder } => {
                    if !told {
                        let message = format!(
                            "host port {port} is held by pod {holder}; pods on this node share the host network, waiting for it to stop"
                        );
                        self.event(None, EventType::Warning, "HostPortInUse", &message)
                            .await;
                        for record in self.init.iter_mut().chain(self.main.iter_mut()) {
                            record.state = status::waiting("ContainerCreating", &message);
                        }
                        self.publish().await;
                        told = true;
                    }
                }
            }
            self.wait(self.ctx.config.sync_interval).await?;
        }
    }

    pub(super) async fn run_init_containers(&mut self) -> Result<(), Stop> {
        let mut index = 0;
        while index < self.init.len() {
            if self.deadline_passed() {
                self.exceed_deadline().await;
                return Ok(());
            }
            let started = self.start_init(index).await?;
            if !started {
                let wait = self.backoff_remaining(&self.init[index].name.clone());
                self.publish().await;
                self.wait(wait).await?;
                continue;
            }
            self.publish().await;
            // Wait for this init container to exit.
            loop {
                self.wait(self.ctx.config.sync_interval).await?;
                if self.deadline_passed() {
                    self.exceed_deadline().await;
                    return Ok(());
                }
                if self.refresh_init(index).await {
                    break;
                }
            }
            let exit = self.init[index]
                .terminated()
                .map(|t| t.exit_code)
                .unwrap_or(0);
            if exit == 0 {
                index += 1;
                continue;
            }
            if self.restart_policy() == "Never" {
                self.init_failed = true;
                self.terminal = Some(("Failed".into(), String::new(), String::new()));
                return Ok(());
            }
            let name = self.init[index].name.clone();
            let wait = self.schedule_restart(&name);
            let record = &mut self.init[index];
            record.last_state = Some(record.state.clone());
            record.state = status::waiting(
                "CrashLoopBackOff",
                &format!(
                    "back-off {}s restarting failed container={name}",
                    wait.as_secs()
                ),
            );
            self.event(
                Some(&name),
                EventType::Warning,
                "BackOff",
                &format!("Back-off restarting failed container {name}"),
            )
            .await;
            self.publish().await;
            self.wait(wait).await?;
            self.init[index].restart_count += 1;
        }
        Ok(())
    }
}
