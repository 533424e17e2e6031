//! Pod status as Kubernetes computes it: container states, phase, conditions, QoS class.

use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus, HostIP, Pod, PodCondition, PodIP, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use crate::runtime::ContainerRuntimeState;

/// The pod's IP (and the node's): every pod uses the host network.
pub(crate) const NODE_IP: &str = "127.0.0.1";

/// What the kubelet knows about one container of a pod.
#[derive(Debug, Clone, Default)]
pub(crate) struct ContainerRecord {
    pub name: String,
    pub image: String,
    pub image_id: String,
    /// Current Docker container (the newest instance).
    pub docker_id: Option<String>,
    pub restart_count: i32,
    pub state: ContainerState,
    pub last_state: Option<ContainerState>,
    pub ready: bool,
    pub started: bool,
    /// The current instance exited and a new one is due: the next start counts as a restart.
    pub restart_pending: bool,
}

impl ContainerRecord {
    pub(crate) fn new(name: &str, image: &str) -> Self {
        Self {
            name: name.into(),
            image: image.into(),
            state: waiting("ContainerCreating", ""),
            ..Default::default()
        }
    }

    pub(crate) fn terminated(&self) -> Option<&ContainerStateTerminated> {
        self.state.terminated.as_ref()
    }

    pub(crate) fn is_running(&self) -> bool {
        self.state.running.is_some()
    }

    fn status(&self) -> ContainerStatus {
        ContainerStatus {
            name: self.name.clone(),
            image: self.image.clone(),
            image_id: if self.image_id.is_empty() {
                String::new()
            } else {
                format!("docker://{}", self.image_id)
            },
            container_id: self.docker_id.as_ref().map(|id| format!("docker://{id}")),
            restart_count: self.restart_count,
            state: Some(self.state.clone()),
            last_state: Some(self.last_state.clone().unwrap_or_default()),
            ready: self.ready,
            started: Some(self.started),
            ..Default::default()
        }
    }
}

/// A waiting state with `reason` and `message`.
pub(crate) fn waiting(reason: &str, message: &str) -> ContainerState {
    ContainerState {
        waiting: Some(ContainerStateWaiting {
            reason: Some(reason.into()),
            message: (!message.is_empty()).then(|| message.into()),
        }),
        ..Default::default()
    }
}

/// The running state of a container the engine reports as running.
pub(crate) fn running(runtime: &ContainerRuntimeState) -> ContainerState {
    ContainerState {
        running: Some(ContainerStateRunning {
            started_at: Some(parse_time(runtime.started_at.as_deref())),
        }),
        ..Default::default()
    }
}

/// The terminated state of an exited container: `Completed`, `Error` or `OOMKilled`.
pub(crate) fn terminated(runtime: &ContainerRuntimeState, docker_id: &str) -> ContainerState {
    let reason = if runtime.oom_killed {
        "OOMKilled"
    } else if runtime.exit_code == 0 {
        "Completed"
    } else {
        "Error"
    };
    ContainerState {
        terminated: Some(ContainerStateTerminated {
            exit_code: runtime.exit_code as i32,
            reason: Some(reason.into()),
            message: (!runtime.error.is_empty()).then(|| runtime.error.clone()),
            started_at: runtime.started_at.as_deref().map(|t| parse_time(Some(t))),
            finished_at: Some(parse_time(runtime.finished_at.as_deref())),
            container_id: Some(format!("docker://{docker_id}")),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn parse_time(text: Option<&str>) -> Time {
    Time(
        text.and_then(|t| t.parse::<Timestamp>().ok())
            .unwrap_or_else(Timestamp::now),
    )
}

/// Kubernetes' pod phase from the container records.
pub(crate) fn phase(
    restart_policy: &str,
    init_done: bool,
    init_failed: bool,
    main: &[ContainerRecord],
) -> &'static str {
    if !init_done {
        return if init_failed && restart_policy == "Never" {
            "Failed"
        } else {
            "Pending"
        };
    }
    let (mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0);
    for c in main {
        if c.state.running.is_some() {
            running += 1;
        } else if let Some(t) = &c.state.terminated {
            stopped += 1;
            if t.exit_code == 0 {
                succeeded += 1;
            }
        } else if c
            .last_state
            .as_ref()
            .is_some_and(|s| s.terminated.is_some())
        {
            stopped += 1;
        } else {
            waiting += 1;
        }
    }
    if waiting > 0 {
        "Pending"
    } else if running > 0 {
        "Running"
    } else if stopped > 0 {
        if restart_policy == "Always" {
            "Running"
        } else if stopped == succeeded {
            "Succeeded"
        } else if restart_policy == "Never" {
            "Failed"
        } else {
            "Running"
        }
    } else {
        "Pending"
    }
}

/// Everything the status is built from.
pub(crate) struct StatusInput<'a> {
    pub pod: &'a Pod,
    pub phase: &'a str,
    pub reason: Option<String>,
    pub message: Option<String>,
    pub init: &'a [ContainerRecord],
    pub main: &'a [ContainerRecord],
    pub init_done: bool,
    pub start_time: Time,
}

/// The full `status` of the pod.
pub(crate) fn pod_status(input: StatusInput<'_>) -> PodStatus {
    let previous = input
        .pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let terminal = matches!(input.phase, "Succeeded" | "Failed");
    let names = |list: Vec<&ContainerRecord>| {
        list.iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let unready: Vec<&ContainerRecord> = input.main.iter().filter(|c| !c.ready).collect();
    let incomplete: Vec<&ContainerRecord> = input
        .init
        .iter()
        .filter(|c| c.terminated().is_none_or(|t| t.exit_code != 0))
        .collect();
    let mut conditions = Vec::new();
    let mut condition = |type_: &str, ok: bool, reason: Option<String>, message: Option<String>| {
        let status = if ok { "True" } else { "False" };
        let since = previous
            .iter()
            .find(|c| c.type_ == type_ && c.status == status)
            .and_then(|c| c.last_transition_time.clone())
            .unwrap_or_else(|| Time(Timestamp::now()));
        conditions.push(PodCondition {
            type_: type_.into(),
            status: status.into(),
            last_transition_time: Some(since),
            reason: if ok { None } else { reason },
            message: if ok { None } else { message },
            ..Default::default()
        });
    };
    condition("PodReadyToStartContainers", true, None, None);
    let init_ok = input.init_done || incomplete.is_empty();
    condition(
        "Initialized",
        init_ok,
        Some("ContainersNotInitialized".into()),
        Some(format!(
            "containers with incomplete status: [{}]",
            names(incomplete.clone())
        )),
    );
    let (ready, reason, message) = if terminal {
        (false, "PodCompleted".to_owned(), String::new())
    } else {
        (
            unready.is_empty() && !input.main.is_empty(),
            "ContainersNotReady".to_owned(),
            format!(
                "containers with unready status: [{}]",
                names(unready.clone())
            ),
        )
    };
    let message = (!message.is_empty()).then_some(message);
    condition(
        "ContainersReady",
        ready,
        Some(reason.clone()),
        message.clone(),
    );
    condition("Ready", ready, Some(reason), message);
    condition("PodScheduled", true, None, None);
    PodStatus {
        phase: Some(input.phase.into()),
        reason: input.reason,
        message: input.message,
        conditions: Some(conditions),
        host_ip: Some(NODE_IP.into()),
        host_ips: Some(vec![HostIP { ip: NODE_IP.into() }]),
        pod_ip: Some(NODE_IP.into()),
        pod_ips: Some(vec![PodIP { ip: NODE_IP.into() }]),
        start_time: Some(input.start_time),
        init_container_statuses: (!input.init.is_empty())
            .then(|| input.init.iter().map(ContainerRecord::status).collect()),
        container_statuses: Some(input.main.iter().map(ContainerRecord::status).collect()),
        qos_class: Some(qos_class(input.pod).into()),
        ..Default::default()
    }
}

/// `BestEffort`, `Guaranteed` or `Burstable`, from the containers' requests and limits.
pub(crate) fn qos_class(pod: &Pod) -> &'static str {
    let Some(spec) = pod.spec.as_ref() else {
        return "BestEffort";
    };
    let mut any = false;
    let mut guaranteed = true;
    for c in &spec.containers {
        let r = c.resources.clone().unwrap_or_default();
        let limits = r.limits.unwrap_or_default();
        let requests = r.requests.unwrap_or_default();
        any |= !limits.is_empty() || !requests.is_empty();
        for key in ["cpu", "memory"] {
            let limit = limits.get(key);
            let request = requests.get(key).or(limit);
            if limit.is_none() || request != limit {
                guaranteed = false;
            }
        }
    }
    match (any, guaranteed) {
        (false, _) => "BestEffort",
        (true, true) => "Guaranteed",
        (true, false) => "Burstable",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exited(code: i64) -> ContainerRecord {
        let mut c = ContainerRecord::new("c", "i");
        c.state = terminated(
            &ContainerRuntimeState {
                exit_code: code,
                ..Default::default()
            },
            "abc",
        );
        c
    }

    #[test]
    fn phase_follows_kubernetes() {
        let run = {
            let mut c = ContainerRecord::new("c", "i");
            c.state = running(&ContainerRuntimeState::default());
            c
        };
        assert_eq!(phase("Always", false, false, &[]), "Pending");
        assert_eq!(phase("Never", false, true, &[]), "Failed");
        assert_eq!(
            phase("Never", true, false, &[ContainerRecord::new("c", "i")]),
            "Pending"
        );
        assert_eq!(
            phase("Never", true, false, &[run.clone(), exited(1)]),
            "Running"
        );
        assert_eq!(phase("Never", true, false, &[exited(0)]), "Succeeded");
        assert_eq!(
            phase("Never", true, false, &[exited(0), exited(3)]),
            "Failed"
        );
        assert_eq!(phase("OnFailure", true, false, &[exited(3)]), "Running");
        assert_eq!(phase("Always", true, false, &[exited(0)]), "Running");
    }

    #[test]
    fn terminated_reasons() {
        for (exit_code, oom_killed, reason) in [
            (0, false, "Completed"),
            (2, false, "Error"),
            (137, true, "OOMKilled"),
        ] {
            let runtime = ContainerRuntimeState {
                exit_code,
                oom_killed,
                ..Default::default()
            };
            let state = terminated(&runtime, "x").terminated.unwrap();
            assert_eq!(
                state.reason.as_deref(),
                Some(reason),
                "exit code {exit_code}"
            );
        }
    }

    #[test]
    fn completed_pods_are_not_ready() {
        let pod = Pod::default();
        let main = [exited(0)];
        let status = pod_status(StatusInput {
            pod: &pod,
            phase: "Succeeded",
            reason: None,
            message: None,
            init: &[],
            main: &main,
            init_done: true,
            start_time: Time(Timestamp::now()),
        });
        let ready = status
            .conditions
            .unwrap()
            .into_iter()
            .find(|c| c.type_ == "Ready")
            .unwrap();
        assert_eq!(ready.status, "False");
        assert_eq!(ready.reason.as_deref(), Some("PodCompleted"));
        assert_eq!(
            status.container_statuses.unwrap()[0]
                .state
                .as_ref()
                .unwrap()
                .terminated
                .as_ref()
                .unwrap()
                .exit_code,
            0
        );
    }
}
