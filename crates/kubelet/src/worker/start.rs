//! Starting one container of a pod: image, environment, mounts, create, start.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::query_parameters::CreateContainerOptionsBuilder;
use k8s_openapi::api::core::v1::Container;

use super::{Backoff, PodWorker, Stop};
use crate::container_spec::{self, ContainerPlan};
use crate::env::{self, EnvContext};
use crate::events::EventType;
use crate::hooks::{self, Hook};
use crate::probes::ProbeTracker;
use crate::status::{self, NODE_IP};
use crate::{images, labels, runtime};
use harness_error_chain::Chain;

/// How long a postStart hook may run before it counts as failed.
const POST_START_LIMIT: Duration = Duration::from_secs(120);

/// Which list a container belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Init,
    Main,
}

impl PodWorker {
    pub(crate) fn env_context(&self) -> EnvContext<'_> {
        EnvContext {
            client: &self.ctx.client,
            pod: &self.pod,
            api_host: &self.ctx.api_host,
            api_port: self.ctx.api_port,
            pod_ip: NODE_IP,
        }
    }

    fn spec_of(&self, kind: Kind, index: usize) -> Option<Container> {
        let spec = self.pod.spec.as_ref()?;
        match kind {
            Kind::Init => spec.init_containers.as_ref()?.get(index).cloned(),
            Kind::Main => spec.containers.get(index).cloned(),
        }
    }

    fn record_mut(&mut self, kind: Kind, index: usize) -> &mut status::ContainerRecord {
        match kind {
            Kind::Init => &mut self.init[index],
            Kind::Main => &mut self.main[index],
        }
    }

    /// Time left before `name` may be retried (zero when it may run now).
    pub(crate) fn backoff_remaining(&self, name: &str) -> Duration {
        let now = Instant::now();
        [name.to_owned(), format!("pull/{name}")]
            .iter()
            .filter_map(|key| self.backoff.get(key))
            .map(|b| b.until.saturating_duration_since(now))
            .max()
            .unwrap_or(Duration::ZERO)
    }

    /// Schedules the next attempt of `name` and returns how long to wait. The first restart is
    /// immediate; later ones double from `backoff_base` up to `backoff_max`.
    pub(crate) fn schedule_restart(&mut self, name: &str) -> Duration {
        let base = self.ctx.config.backoff_base;
        let max = self.ctx.config.backoff_max;
        let now = Instant::now();
        let entry = self.backoff.entry(name.to_owned()).or_insert(Backoff {
            until: now,
            next: Duration::ZERO,
        });
        let wait = entry.next;
        entry.until = now + wait;
        entry.next = if wait.is_zero() {
            base
        } else {
            (wait * 2).min(max)
        };
        wait
    }

    pub(crate) async fn start_init(&mut self, index: usize) -> Result<bool, Stop> {
        self.start_container(Kind::Init, index).await
    }

    pub(crate) async fn start_main(&mut self, index: usize) -> Result<bool, Stop> {
        self.start_container(Kind::Main, index).await
    }

    /// Creates and starts the container; `Ok(false)` when it could not start (its waiting
    /// state says why and a retry is scheduled).
    async fn start_container(&mut self, kind: Kind, index: usize) -> Result<bool, Stop> {
        self.check_updates()?;
        let Some(container) = self.spec_of(kind, index) else {
            return Ok(false);
        };
        let name = container.name.clone();
        // Image.
        let resolved = {
            let ctx = self.ctx.clone();
            let pull = images::ensure_image(&ctx.provisioner, &ctx.recorder, &self.pod, &container);
            tokio::select! {
                _ = ctx.cancel.cancelled() => return Err(Stop::Cancelled),
                r = pull => r,
            }
        };
        let resolved = match resolved {
            Ok(r) => r,
            Err(failure) => {
                let previous_pull_failed = self
                    .record_mut(kind, index)
                    .state
                    .waiting
                    .as_ref()
                    .is_some_and(|w| {
                        matches!(
                            w.reason.as_deref(),
                            Some("ErrImagePull" | "ImagePullBackOff")
                        )
                    });
                let image = container.image.clone().unwrap_or_default();
                let wait = self.schedule_pull_retry(&name);
                if previous_pull_failed {
                    self.record_mut(kind, index).state = status::waiting(
                        "ImagePullBackOff",
                        &format!("Back-off pulling image \"{image}\""),
                    );
                    self.event(
                        Some(&name),
                        EventType::Normal,
                        "BackOff",
                        &format!("Back-off pulling image \"{image}\""),
                    )
                    .await;
                } else {
                    self.record_mut(kind, index).state =
                        status::waiting(failure.reason, &failure.message);
                }
                tracing::info!(pod = %self.name(), container = %name, retry_in = ?wait, "image not available");
                return Ok(false);
            }
        };
        self.backoff.remove(&format!("pull/{name}"));
        // Environment and mounts.
        let prepared = async {
            let env_ctx = self.env_context();
            let vars = env::container_env(&env_ctx, &container).await?;
            let binds = match &self.volumes {
                Some(v) => v.binds(&container, &vars)?,
                None => Vec::new(),
            };
            Ok::<_, crate::KubeletError>((vars, binds))
        }
        .await;
        let (vars, binds) = match prepared {
            Ok(p) => p,
            Err(e) => {
                let message = Chain(&e).to_string();
                self.creation_failed(kind, index, &name, "CreateContainerConfigError", &message)
                    .await;
                return Ok(false);
            }
        };
        let record = self.record_mut(kind, index);
        record.image_id = resolved.id.clone();
        let attempt = record.restart_count.max(0) as u32;
        let config = &self.ctx.config;
        let docker_name = labels::container_name(
            &config.environment_id,
            self.namespace(),
            self.name(),
            &name,
            self.uid(),
            attempt,
        );
        let body = container_spec::create_body(ContainerPlan {
            pod: &self.pod,
            container: &container,
            image: &resolved.reference,
            env: &vars,
            binds,
            labels: self.container_labels(&name, kind, attempt),
            extra_hosts: self.extra_hosts(),
        });
        if self.ctx.cancel.is_cancelled() {
            return Err(Stop::Cancelled);
        }
        // A leftover instance of this exact name (same pod uid and attempt) is ours to replace.
        let _ = runtime::remove(&self.ctx.docker, &docker_name).await;
        let options = CreateContainerOptionsBuilder::new()
            .name(&docker_name)
            .build();
        let id = match self.ctx.docker.create_container(Some(options), body).await {
            Ok(created) => created.id,
            Err(e) => {
                self.creation_failed(kind, index, &name, "CreateContainerError", &e.to_string())
                    .await;
                return Ok(false);
            }
        };
        self.event(
            Some(&name),
            EventType::Normal,
            "Created",
            &format!("Created container {name}"),
        )
        .await;
        let record = self.record_mut(kind, index);
        if let Some(old) = record.docker_id.replace(id.clone())
            && let Some(older) = self.previous_ids.insert(name.clone(), old)
        {
            let _ = runtime::remove(&self.ctx.docker, &older).await;
        }
        if let Err(e) = self.ctx.docker.start_container(&id, None).await {
            let message = e.to_string();
            self.event(
                Some(&name),
                EventType::Warning,
                "Failed",
                &format!("Error: failed to start container \"{name}\": {message}"),
            )
            .await;
            let mut runtime_state = runtime::inspect(&self.ctx.docker, &id)
                .await
                .ok()
                .flatten()
                .unwrap_or_default();
            runtime_state.exit_code = if runtime_state.exit_code == 0 {
                128
            } else {
                runtime_state.exit_code
            };
            runtime_state.error = message;
            let mut state = status::terminated(&runtime_state, &id);
            if let Some(t) = state.terminated.as_mut() {
                t.reason = Some("StartError".into());
            }
            let record = self.record_mut(kind, index);
            record.state = state;
            record.started = false;
            return Ok(true);
        }
        self.event(
            Some(&name),
            EventType::Normal,
            "Started",
            &format!("Started container {name}"),
        )
        .await;
        if let Some(handler) = Hook::PostStart.handler(&container) {
            let docker = self.ctx.docker.clone();
            if let Err(error) =
                hooks::run(&docker, &id, &container, handler, POST_START_LIMIT).await
            {
                // As the kubelet does: the container is killed and restarted per the policy.
                let message = format!("PostStartHook failed: {error}");
                self.event(
                    Some(&name),
                    EventType::Warning,
                    Hook::PostStart.failure_reason(),
                    &message,
                )
                .await;
                let grace = Duration::from_secs(self.grace_seconds().max(0) as u64);
                if let Err(e) = runtime::stop(&docker, &id, grace).await {
                    tracing::warn!(error = %Chain(&e), "stopping a container whose postStart hook failed");
                }
            }
        }
        let runtime_state = runtime::inspect(&self.ctx.docker, &id)
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        let has_readiness = container.readiness_probe.is_some();
        let record = self.record_mut(kind, index);
        record.state = status::running(&runtime_state);
        record.started = true;
        record.ready = kind == Kind::Main && !has_readiness;
        if kind == Kind::Main {
            let now = Instant::now();
            self.readiness[index] = container
                .readiness_probe
                .clone()
                .map(|p| ProbeTracker::new(p, now));
            self.liveness[index] = container
                .liveness_probe
                .clone()
                .map(|p| ProbeTracker::new(p, now));
        }
        self.watch_exit(id);
        Ok(true)
    }

    /// The container could not be created: it waits with `reason`, a `Failed` event says why
    /// and the next attempt is scheduled.
    async fn creation_failed(
        &mut self,
        kind: Kind,
        index: usize,
        name: &str,
        reason: &str,
        message: &str,
    ) {
        self.record_mut(kind, index).state = status::waiting(reason, message);
        self.event(
            Some(name),
            EventType::Warning,
            "Failed",
            &format!("Error: {message}"),
        )
        .await;
        self.schedule_pull_retry(name);
    }

    fn schedule_pull_retry(&mut self, name: &str) -> Duration {
        let key = format!("pull/{name}");
        let base = self.ctx.config.backoff_base;
        let max = self.ctx.config.backoff_max;
        let now = Instant::now();
        let entry = self.backoff.entry(key).or_insert(super::Backoff {
            until: now,
            next: base,
        });
        let wait = entry.next;
        entry.until = now + wait;
        entry.next = (wait * 2).min(max);
        wait
    }

    fn container_labels(&self, name: &str, kind: Kind, attempt: u32) -> HashMap<String, String> {
        let config = &self.ctx.config;
        HashMap::from([
            (labels::ENV.to_owned(), config.environment_id.clone()),
            (labels::NODE.to_owned(), config.node_name.clone()),
            (
                labels::POD_NAMESPACE.to_owned(),
                self.namespace().to_owned(),
            ),
            (labels::POD_NAME.to_owned(), self.name().to_owned()),
            (labels::POD_UID.to_owned(), self.uid().to_owned()),
            (labels::CONTAINER_NAME.to_owned(), name.to_owned()),
            (labels::RESTART_COUNT.to_owned(), attempt.to_string()),
            (
                labels::CONTAINER_KIND.to_owned(),
                if kind == Kind::Init {
                    "init"
                } else {
                    "regular"
                }
                .to_owned(),
            ),
        ])
    }

    fn extra_hosts(&self) -> Vec<String> {
        let api_ip = self.ctx.api_host.parse::<std::net::IpAddr>().ok();
        let mut hosts: Vec<String> = [
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
        ]
        .iter()
        .filter_map(|h| api_ip.map(|ip| format!("{h}:{ip}")))
        .collect();
        hosts.extend(
            self.ctx
                .config
                .extra_hosts
                .iter()
                .map(|(h, ip)| format!("{h}:{ip}")),
        );
        for alias in self
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.host_aliases.as_ref())
            .into_iter()
            .flatten()
        {
            for host in alias.hostnames.iter().flatten() {
                hosts.push(format!("{host}:{}", alias.ip));
            }
        }
        hosts
    }

    /// Wakes the worker when the container exits.
    fn watch_exit(&self, id: String) {
        let docker = self.ctx.docker.clone();
        let wake = self.wake.clone();
        let cancel = self.ctx.cancel.clone();
        tokio::spawn(async move {
            use futures::StreamExt;
            let mut wait =
                docker.wait_container(&id, None::<bollard::query_parameters::WaitContainerOptions>);
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = wait.next() => wake.notify_one(),
            }
        });
    }
}
