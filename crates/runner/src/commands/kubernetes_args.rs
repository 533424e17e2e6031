//! The `--kubernetes-*` flags of `register` and the `KUBERNETES_*` variables bound to them: one
//! table line per option, each filling the same-named key of `[runners.kubernetes]`.

use super::flags::flag_table;
use crate::config::KubernetesConfig;

flag_table! {
    /// `--kubernetes-*` flags and `KUBERNETES_*` variables (names as in runner 12.8.0).
    pub struct KubernetesArgs => KubernetesConfig {
        /// API server URL (empty: in-cluster).
        host: text("kubernetes-host", "KUBERNETES_HOST");
        /// Client certificate.
        cert_file: text("kubernetes-cert-file", "KUBERNETES_CERT_FILE");
        /// Client key.
        key_file: text("kubernetes-key-file", "KUBERNETES_KEY_FILE");
        /// CA file.
        ca_file: text("kubernetes-ca-file", "KUBERNETES_CA_FILE");
        /// Allow jobs to override the bearer token.
        bearer_token_overwrite_allowed: switch("kubernetes-bearer_token_overwrite_allowed", "KUBERNETES_BEARER_TOKEN_OVERWRITE_ALLOWED");
        /// Bearer token.
        bearer_token: text("kubernetes-bearer_token", "KUBERNETES_BEARER_TOKEN");
        /// Default job image.
        image: text("kubernetes-image", "KUBERNETES_IMAGE");
        /// Job namespace.
        namespace: text("kubernetes-namespace", "KUBERNETES_NAMESPACE");
        /// Namespace overwrite regex.
        namespace_overwrite_allowed: text("kubernetes-namespace_overwrite_allowed", "KUBERNETES_NAMESPACE_OVERWRITE_ALLOWED");
        /// Privileged job containers.
        privileged: switch("kubernetes-privileged", "KUBERNETES_PRIVILEGED");
        /// Build CPU limit.
        cpu_limit: text("kubernetes-cpu-limit", "KUBERNETES_CPU_LIMIT");
        /// Build memory limit.
        memory_limit: text("kubernetes-memory-limit", "KUBERNETES_MEMORY_LIMIT");
        /// Service CPU limit.
        service_cpu_limit: text("kubernetes-service-cpu-limit", "KUBERNETES_SERVICE_CPU_LIMIT");
        /// Service memory limit.
        service_memory_limit: text("kubernetes-service-memory-limit", "KUBERNETES_SERVICE_MEMORY_LIMIT");
        /// Helper CPU limit.
        helper_cpu_limit: text("kubernetes-helper-cpu-limit", "KUBERNETES_HELPER_CPU_LIMIT");
        /// Helper memory limit.
        helper_memory_limit: text("kubernetes-helper-memory-limit", "KUBERNETES_HELPER_MEMORY_LIMIT");
        /// Build CPU request.
        cpu_request: text("kubernetes-cpu-request", "KUBERNETES_CPU_REQUEST");
        /// Build memory request.
        memory_request: text("kubernetes-memory-request", "KUBERNETES_MEMORY_REQUEST");
        /// Service CPU request.
        service_cpu_request: text("kubernetes-service-cpu-request", "KUBERNETES_SERVICE_CPU_REQUEST");
        /// Service memory request.
        service_memory_request: text("kubernetes-service-memory-request", "KUBERNETES_SERVICE_MEMORY_REQUEST");
        /// Helper CPU request.
        helper_cpu_request: text("kubernetes-helper-cpu-request", "KUBERNETES_HELPER_CPU_REQUEST");
        /// Helper memory request.
        helper_memory_request: text("kubernetes-helper-memory-request", "KUBERNETES_HELPER_MEMORY_REQUEST");
        /// Image pull policy.
        pull_policy: text("kubernetes-pull-policy", "KUBERNETES_PULL_POLICY");
        /// `key:value` node selector entries.
        node_selector: list("kubernetes-node-selector", "KUBERNETES_NODE_SELECTOR");
        /// Image pull secrets.
        image_pull_secrets: list("kubernetes-image-pull-secrets", "KUBERNETES_IMAGE_PULL_SECRETS");
        /// Helper image.
        helper_image: text("kubernetes-helper-image", "KUBERNETES_HELPER_IMAGE");
        /// Job pod grace period.
        termination_grace_period_seconds: number("kubernetes-terminationGracePeriodSeconds", "KUBERNETES_TERMINATIONGRACEPERIODSECONDS");
        /// Seconds between pod status checks.
        poll_interval: number("kubernetes-poll-interval", "KUBERNETES_POLL_INTERVAL");
        /// Seconds to wait for a pod to run.
        poll_timeout: number("kubernetes-poll-timeout", "KUBERNETES_POLL_TIMEOUT");
        /// `key:value` pod labels.
        pod_labels: list("kubernetes-pod-labels", "KUBERNETES_POD_LABELS");
        /// Job pod service account.
        service_account: text("kubernetes-service-account", "KUBERNETES_SERVICE_ACCOUNT");
        /// Service account overwrite regex.
        service_account_overwrite_allowed: text("kubernetes-service_account_overwrite_allowed", "KUBERNETES_SERVICE_ACCOUNT_OVERWRITE_ALLOWED");
        /// `key:value` pod annotations.
        pod_annotations: list("kubernetes-pod-annotations", "KUBERNETES_POD_ANNOTATIONS");
        /// Annotation overwrite regex.
        pod_annotations_overwrite_allowed: text("kubernetes-pod_annotations_overwrite_allowed", "KUBERNETES_POD_ANNOTATIONS_OVERWRITE_ALLOWED");
    }
}
