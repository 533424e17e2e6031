//! The `--kubernetes-*` flags of `register` and the `KUBERNETES_*` variables bound to them.

use clap::Args;
use clap::builder::BoolishValueParser;

/// `--kubernetes-*` flags and `KUBERNETES_*` variables.
#[derive(Debug, Clone, Default, Args)]
pub struct KubernetesArgs {
    /// API server URL (empty: in-cluster).
    #[arg(long = "kubernetes-host", env = "KUBERNETES_HOST")]
    pub host: Option<String>,
    /// Client certificate.
    #[arg(long = "kubernetes-cert-file", env = "KUBERNETES_CERT_FILE")]
    pub cert_file: Option<String>,
    /// Client key.
    #[arg(long = "kubernetes-key-file", env = "KUBERNETES_KEY_FILE")]
    pub key_file: Option<String>,
    /// CA file.
    #[arg(long = "kubernetes-ca-file", env = "KUBERNETES_CA_FILE")]
    pub ca_file: Option<String>,
    /// Allow jobs to override the bearer token.
    #[arg(long = "kubernetes-bearer_token_overwrite_allowed", env = "KUBERNETES_BEARER_TOKEN_OVERWRITE_ALLOWED", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub bearer_token_overwrite_allowed: Option<bool>,
    /// Bearer token.
    #[arg(long = "kubernetes-bearer_token", env = "KUBERNETES_BEARER_TOKEN")]
    pub bearer_token: Option<String>,
    /// Default job image.
    #[arg(long = "kubernetes-image", env = "KUBERNETES_IMAGE")]
    pub image: Option<String>,
    /// Job namespace.
    #[arg(long = "kubernetes-namespace", env = "KUBERNETES_NAMESPACE")]
    pub namespace: Option<String>,
    /// Namespace overwrite regex.
    #[arg(
        long = "kubernetes-namespace_overwrite_allowed",
        env = "KUBERNETES_NAMESPACE_OVERWRITE_ALLOWED"
    )]
    pub namespace_overwrite_allowed: Option<String>,
    /// Privileged job containers.
    #[arg(long = "kubernetes-privileged", env = "KUBERNETES_PRIVILEGED", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub privileged: Option<bool>,
    /// Build CPU limit.
    #[arg(long = "kubernetes-cpu-limit", env = "KUBERNETES_CPU_LIMIT")]
    pub cpu_limit: Option<String>,
    /// Build memory limit.
    #[arg(long = "kubernetes-memory-limit", env = "KUBERNETES_MEMORY_LIMIT")]
    pub memory_limit: Option<String>,
    /// Service CPU limit.
    #[arg(
        long = "kubernetes-service-cpu-limit",
        env = "KUBERNETES_SERVICE_CPU_LIMIT"
    )]
    pub service_cpu_limit: Option<String>,
    /// Service memory limit.
    #[arg(
        long = "kubernetes-service-memory-limit",
        env = "KUBERNETES_SERVICE_MEMORY_LIMIT"
    )]
    pub service_memory_limit: Option<String>,
    /// Helper CPU limit.
    #[arg(
        long = "kubernetes-helper-cpu-limit",
        env = "KUBERNETES_HELPER_CPU_LIMIT"
    )]
    pub helper_cpu_limit: Option<String>,
    /// Helper memory limit.
    #[arg(
        long = "kubernetes-helper-memory-limit",
        env = "KUBERNETES_HELPER_MEMORY_LIMIT"
    )]
    pub helper_memory_limit: Option<String>,
    /// Build CPU request.
    #[arg(long = "kubernetes-cpu-request", env = "KUBERNETES_CPU_REQUEST")]
    pub cpu_request: Option<String>,
    /// Build memory request.
    #[arg(long = "kubernetes-memory-request", env = "KUBERNETES_MEMORY_REQUEST")]
    pub memory_request: Option<String>,
    /// Service CPU request.
    #[arg(
        long = "kubernetes-service-cpu-request",
        env = "KUBERNETES_SERVICE_CPU_REQUEST"
    )]
    pub service_cpu_request: Option<String>,
    /// Service memory request.
    #[arg(
        long = "kubernetes-service-memory-request",
        env = "KUBERNETES_SERVICE_MEMORY_REQUEST"
    )]
    pub service_memory_request: Option<String>,
    /// Helper CPU request.
    #[arg(
        long = "kubernetes-helper-cpu-request",
        env = "KUBERNETES_HELPER_CPU_REQUEST"
    )]
    pub helper_cpu_request: Option<String>,
    /// Helper memory request.
    #[arg(
        long = "kubernetes-helper-memory-request",
        env = "KUBERNETES_HELPER_MEMORY_REQUEST"
    )]
    pub helper_memory_request: Option<String>,
    /// Image pull policy.
    #[arg(long = "kubernetes-pull-policy", env = "KUBERNETES_PULL_POLICY")]
    pub pull_policy: Option<String>,
    /// `key:value` node selector entries.
    #[arg(
        long = "kubernetes-node-selector",
        env = "KUBERNETES_NODE_SELECTOR",
        value_delimiter = ','
    )]
    pub node_selector: Vec<String>,
    /// Image pull secrets.
    #[arg(
        long = "kubernetes-image-pull-secrets",
        env = "KUBERNETES_IMAGE_PULL_SECRETS",
        value_delimiter = ','
    )]
    pub image_pull_secrets: Vec<String>,
    /// Helper image.
    #[arg(long = "kubernetes-helper-image", env = "KUBERNETES_HELPER_IMAGE")]
    pub helper_image: Option<String>,
    /// Job pod grace period.
    #[arg(
        long = "kubernetes-terminationGracePeriodSeconds",
        env = "KUBERNETES_TERMINATIONGRACEPERIODSECONDS"
    )]
    pub termination_grace_period_seconds: Option<i64>,
    /// Seconds between pod status checks.
    #[arg(long = "kubernetes-poll-interval", env = "KUBERNETES_POLL_INTERVAL")]
    pub poll_interval: Option<i64>,
    /// Seconds to wait for a pod to run.
    #[arg(long = "kubernetes-poll-timeout", env = "KUBERNETES_POLL_TIMEOUT")]
    pub poll_timeout: Option<i64>,
    /// `key:value` pod labels.
    #[arg(
        long = "kubernetes-pod-labels",
        env = "KUBERNETES_POD_LABELS",
        value_delimiter = ','
    )]
    pub pod_labels: Vec<String>,
    /// Job pod service account.
    #[arg(
        long = "kubernetes-service-account",
        env = "KUBERNETES_SERVICE_ACCOUNT"
    )]
    pub service_account: Option<String>,
    /// Service account overwrite regex.
    #[arg(
        long = "kubernetes-service_account_overwrite_allowed",
        env = "KUBERNETES_SERVICE_ACCOUNT_OVERWRITE_ALLOWED"
    )]
    pub service_account_overwrite_allowed: Option<String>,
    /// `key:value` pod annotations.
    #[arg(
        long = "kubernetes-pod-annotations",
        env = "KUBERNETES_POD_ANNOTATIONS",
        value_delimiter = ','
    )]
    pub pod_annotations: Vec<String>,
    /// Annotation overwrite regex.
    #[arg(
        long = "kubernetes-pod_annotations_overwrite_allowed",
        env = "KUBERNETES_POD_ANNOTATIONS_OVERWRITE_ALLOWED"
    )]
    pub pod_annotations_overwrite_allowed: Option<String>,
}
