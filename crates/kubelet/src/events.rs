//! Core v1 Events about pods (what `kubectl describe pod` lists).

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::PostParams;

/// `Normal` or `Warning`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventType {
    Normal,
    Warning,
}

/// Writes events for the pods of one node. Failures are logged, never fatal.
#[derive(Clone)]
pub(crate) struct EventRecorder {
    client: kube::Client,
    node: String,
}

impl EventRecorder {
    pub(crate) fn new(client: kube::Client, node: String) -> Self {
        Self { client, node }
    }

    /// Records `reason`/`message` on `pod`, about `container` when given (in the background).
    pub(crate) async fn pod_event(
        &self,
        pod: &Pod,
        container: Option<&str>,
        kind: EventType,
        reason: &str,
        message: &str,
    ) {
        let ns = pod
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let pod_name = pod.metadata.name.clone().unwrap_or_default();
        let field_path = container.map(|c| {
            let init = pod
                .spec
                .as_ref()
                .and_then(|s| s.init_containers.as_ref())
                .is_some_and(|ics| ics.iter().any(|ic| ic.name == c));
            if init {
                format!("spec.initContainers{{{c}}}")
            } else {
                format!("spec.containers{{{c}}}")
            }
        });
        let now = Timestamp::now();
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let event = Event {
            metadata: ObjectMeta {
                name: Some(format!("{pod_name}.{}", &suffix[..16])),
                namespace: Some(ns.clone()),
                ..Default::default()
            },
            involved_object: ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                name: Some(pod_name.clone()),
                namespace: Some(ns.clone()),
                uid: pod.metadata.uid.clone(),
                resource_version: pod.metadata.resource_version.clone(),
                field_path,
            },
            reason: Some(reason.into()),
            message: Some(message.into()),
            type_: Some(match kind {
                EventType::Normal => "Normal".into(),
                EventType::Warning => "Warning".into(),
            }),
            source: Some(EventSource {
                component: Some("kubelet".into()),
                host: Some(self.node.clone()),
            }),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            event_time: Some(MicroTime(now)),
            count: Some(1),
            reporting_component: Some("kubelet".into()),
            reporting_instance: Some(self.node.clone()),
            action: Some(reason.into()),
            ..Default::default()
        };
        // Written in the background: a pod's start must not wait for its own events.
        let api: Api<Event> = Api::namespaced(self.client.clone(), &ns);
        let reason = reason.to_owned();
        tokio::spawn(async move {
            if let Err(e) = api.create(&PostParams::default(), &event).await {
                tracing::debug!(pod = %pod_name, %reason, error = %e, "could not record event");
            }
        });
    }
}
