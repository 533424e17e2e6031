//! Stopping a pod: deadline, kills with the grace period, removal and the final delete.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{DeleteParams, Preconditions};

use super::PodWorker;
use crate::events::EventType;
use crate::hooks::{self, Hook};
use crate::{KubeletError, labels, runtime};
use harness_error_chain::Chain;

impl PodWorker {
    pub(super) async fn exceed_deadline(&mut self) {
        let message = "Pod was active on the node longer than the specified deadline";
        self.event(None, EventType::Warning, "DeadlineExceeded", message)
            .await;
        self.kill_all("DeadlineExceeded").await;
        self.terminal = Some(("Failed".into(), "DeadlineExceeded".into(), message.into()));
        self.refresh_all().await;
        self.publish().await;
    }

    /// Stops every running container of the pod within the grace period: each container's
    /// preStop hook first (its time counts against the grace period), then the stop signal, then
    /// SIGKILL when the period is over.
    pub(super) async fn kill_all(&mut self, why: &str) {
        let grace = Duration::from_secs(self.grace_seconds().max(0) as u64);
        let spec = self.pod.spec.clone().unwrap_or_default();
        let mut running = Vec::new();
        for record in self.init.iter().chain(self.main.iter()) {
            if let Some(id) = record.docker_id.clone().filter(|_| record.is_running()) {
                let container = spec
                    .init_containers
                    .iter()
                    .flatten()
                    .chain(spec.containers.iter())
                    .find(|c| c.name == record.name)
                    .cloned();
                running.push((record.name.clone(), id, container));
            }
        }
        let docker = self.ctx.docker.clone();
        for (name, _, _) in &running {
            self.event(
                Some(name),
                EventType::Normal,
                "Killing",
                &format!("Stopping container {name}"),
            )
            .await;
        }
        tracing::debug!(pod = %self.name(), %why, count = running.len(), grace = grace.as_secs(), "stopping containers");
        let kills = running.iter().map(|(name, id, container)| {
            let docker = docker.clone();
            async move {
                let (hook, stop) =
                    hooks::pre_stop_then_stop(&docker, id, container.as_ref(), grace).await;
                (name, hook, stop)
            }
        });
        for (name, hook, stop) in futures::future::join_all(kills).await {
            if let Err(e) = stop {
                tracing::warn!(error = %Chain(&e), "stopping a container failed");
            }
            if let Some(error) = hook {
                tracing::warn!(pod = %self.name(), container = %name, %error, "preStop hook failed");
                let message = format!("PreStopHook failed: {error}");
                self.event(
                    Some(name),
                    EventType::Warning,
                    Hook::PreStop.failure_reason(),
                    &message,
                )
                .await;
            }
        }
    }

    /// Stops and removes every container of the pod, then (when the object still exists)
    /// deletes it with grace period 0, as the kubelet does at the end of a graceful deletion.
    pub(super) async fn terminate(&mut self, delete_object: bool) {
        if delete_object {
            self.refresh_all().await;
            self.kill_all("pod deleted").await;
        } else {
            let docker = self.ctx.docker.clone();
            let ids: Vec<String> = self
                .main
                .iter()
                .chain(self.init.iter())
                .filter_map(|r| r.docker_id.clone())
                .collect();
            futures::future::join_all(
                ids.iter()
                    .map(|id| runtime::stop(&docker, id, Duration::from_secs(1))),
            )
            .await;
        }
        let env = self.ctx.config.environment_id.clone();
        let uid = self.uid().to_owned();
        match runtime::list(
            &self.ctx.docker,
            &[(labels::ENV, &env), (labels::POD_UID, &uid)],
        )
        .await
        {
            Ok(containers) => {
                for id in containers.into_iter().filter_map(|c| c.id) {
                    if let Err(e) = runtime::remove(&self.ctx.docker, &id).await {
                        tracing::warn!(error = %Chain(&e), "removing a pod container failed");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %Chain(&e), "listing the pod's containers failed"),
        }
        if let Err(e) = std::fs::remove_dir_all(&self.pod_dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(dir = %self.pod_dir.display(), error = %e, "removing the pod directory failed");
        }
        if delete_object {
            let api: Api<Pod> = Api::namespaced(self.ctx.client.clone(), self.namespace());
            let params = DeleteParams {
                grace_period_seconds: Some(0),
                preconditions: Some(Preconditions {
                    uid: Some(uid),
                    resource_version: None,
                }),
                ..Default::default()
            };
            match api.delete(self.name(), &params).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {}
                Err(e) => {
                    tracing::warn!(pod = %self.name(), error = %KubeletError::api("deleting the pod", e), "final delete failed")
                }
            }
        }
    }
}
