//! Labels on every container the kubelet creates, and the Docker names derived from a pod.
//!
//! The labels are how cleanup finds exactly this environment's containers (and nothing else on a
//! shared engine) and how the stream server finds a pod's container.

/// The environment that owns the container. Cleanup removes only containers with this label.
pub const ENV: &str = "io.gitlab-k8s-harness.env";
/// Node (kubelet) that created the container.
pub const NODE: &str = "io.gitlab-k8s-harness.node";
/// Pod namespace.
pub const POD_NAMESPACE: &str = "io.kubernetes.pod.namespace";
/// Pod name.
pub const POD_NAME: &str = "io.kubernetes.pod.name";
/// Pod uid.
pub const POD_UID: &str = "io.kubernetes.pod.uid";
/// Container name inside the pod.
pub const CONTAINER_NAME: &str = "io.kubernetes.container.name";
/// How many times this container was restarted before this instance (0 for the first).
pub const RESTART_COUNT: &str = "io.kubernetes.container.restartCount";
/// `init` for init containers, `regular` otherwise.
pub const CONTAINER_KIND: &str = "io.gitlab-k8s-harness.container-kind";

/// The Docker name of one instance of a pod's container. It holds the environment, namespace,
/// pod name, container name, pod uid and attempt, so two pods of the same name in two
/// namespaces (or two environments) never share a container.
pub fn container_name(
    env: &str,
    namespace: &str,
    pod: &str,
    container: &str,
    uid: &str,
    attempt: u32,
) -> String {
    let raw = format!(
        "hk8s_{env}_{namespace}_{pod}_{container}_{}_{attempt}",
        short_uid(uid)
    );
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn short_uid(uid: &str) -> &str {
    uid.get(..8).unwrap_or(uid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_hold_namespace_and_uid() {
        let a = container_name("e1", "ns-a", "p", "main", "0123456789abcdef", 0);
        let b = container_name("e1", "ns-b", "p", "main", "fedcba9876543210", 0);
        assert_eq!(a, "hk8s_e1_ns-a_p_main_01234567_0");
        assert_ne!(a, b);
    }
}
