//! The `config.toml` model: the keys runner 12.8.0 reads and writes, in its field order.
//!
//! Field order in these structs is the order [`super::write`] prints them in; it mirrors the Go
//! structs of runner 12.8.0 (`common/config.go`) so a file written here reads like one written there.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

/// The whole `config.toml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address of the metrics endpoint (`[::]:9252` when the chart enables metrics).
    pub listen_address: Option<String>,
    /// Maximum number of jobs running at once, over all `[[runners]]` entries.
    pub concurrent: i64,
    /// Seconds between job requests (divided by the number of entries); 0 means 3.
    pub check_interval: i64,
    /// Log level (`info` by default).
    pub log_level: Option<String>,
    /// Log format (`runner`, `text`, `json`).
    pub log_format: Option<String>,
    /// User the shell executor would run as; unused by the kubernetes executor.
    pub user: Option<String>,
    /// The interactive web terminal server settings.
    pub session_server: SessionServer,
    /// The registered runners.
    pub runners: Vec<RunnerConfig>,
}

/// `[session_server]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionServer {
    /// Where the session server listens (unset: disabled).
    pub listen_address: Option<String>,
    /// Address advertised to GitLab.
    pub advertise_address: Option<String>,
    /// Seconds a terminal session may stay open.
    pub session_timeout: i64,
}

impl Default for SessionServer {
    fn default() -> Self {
        Self {
            listen_address: None,
            advertise_address: None,
            session_timeout: 1800,
        }
    }
}

/// One `[[runners]]` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunnerConfig {
    /// Runner description (the pod hostname when registered by the chart).
    pub name: String,
    /// Maximum jobs of this entry at once (0 = no limit besides `concurrent`).
    pub limit: i64,
    /// Trace size limit in KiB (0 = 4096).
    pub output_limit: i64,
    /// Maximum concurrent job requests (0 = 1).
    pub request_concurrency: i64,
    /// GitLab URL.
    pub url: String,
    /// Runner authentication token (returned by registration).
    pub token: String,
    /// CA file for GitLab's TLS certificate.
    #[serde(rename = "tls-ca-file")]
    pub tls_ca_file: Option<String>,
    /// Executor name (`kubernetes`).
    pub executor: String,
    /// Where builds are checked out in the job pod (`/builds`).
    pub builds_dir: Option<String>,
    /// Cache directory.
    pub cache_dir: Option<String>,
    /// URL jobs use instead of `url` for git.
    pub clone_url: Option<String>,
    /// Extra `KEY=value` variables for every job.
    pub environment: Vec<String>,
    /// Script run in the helper before cloning.
    pub pre_clone_script: Option<String>,
    /// Script prepended to the job script.
    pub pre_build_script: Option<String>,
    /// Script appended to the job script.
    pub post_build_script: Option<String>,
    /// Shell name (`bash` by default).
    pub shell: Option<String>,
    /// `[runners.custom_build_dir]`.
    pub custom_build_dir: CustomBuildDir,
    /// `[runners.cache]`.
    pub cache: CacheConfig,
    /// `[runners.kubernetes]`.
    pub kubernetes: Option<KubernetesConfig>,
}

/// `[runners.custom_build_dir]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomBuildDir {
    /// Allow `GIT_CLONE_PATH`.
    pub enabled: bool,
}

/// `[runners.cache]` (key names are PascalCase in 12.8.0).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CacheConfig {
    /// `s3` or `gcs`.
    #[serde(rename = "Type")]
    pub kind: Option<String>,
    /// Path prefix of cache objects.
    #[serde(rename = "Path")]
    pub path: Option<String>,
    /// Share the cache between runners.
    #[serde(rename = "Shared")]
    pub shared: bool,
    /// `[runners.cache.s3]`.
    pub s3: CacheS3,
    /// `[runners.cache.gcs]`.
    pub gcs: CacheGcs,
}

/// `[runners.cache.s3]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct CacheS3 {
    /// S3 endpoint.
    pub server_address: Option<String>,
    /// Access key.
    pub access_key: Option<String>,
    /// Secret key.
    pub secret_key: Option<String>,
    /// Bucket.
    pub bucket_name: Option<String>,
    /// Bucket region.
    pub bucket_location: Option<String>,
    /// Use plain HTTP.
    pub insecure: bool,
}

/// `[runners.cache.gcs]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CacheGcs {
    /// Service account id.
    #[serde(rename = "AccessID")]
    pub access_id: Option<String>,
    /// Service account key.
    #[serde(rename = "PrivateKey")]
    pub private_key: Option<String>,
    /// Credentials JSON file.
    #[serde(rename = "CredentialsFile")]
    pub credentials_file: Option<String>,
    /// Bucket.
    #[serde(rename = "BucketName")]
    pub bucket_name: Option<String>,
}

/// `[runners.kubernetes]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KubernetesConfig {
    /// API server URL; empty means in-cluster configuration.
    pub host: String,
    /// Client certificate file.
    pub cert_file: Option<String>,
    /// Client key file.
    pub key_file: Option<String>,
    /// CA file.
    pub ca_file: Option<String>,
    /// Whether jobs may override the bearer token.
    pub bearer_token_overwrite_allowed: bool,
    /// Bearer token for `host`.
    pub bearer_token: Option<String>,
    /// Default job image.
    pub image: String,
    /// Namespace of job pods.
    pub namespace: String,
    /// Regex of namespaces jobs may switch to (empty: none).
    pub namespace_overwrite_allowed: String,
    /// Run job containers privileged.
    pub privileged: bool,
    /// Build container CPU limit.
    pub cpu_limit: Option<String>,
    /// Build container memory limit.
    pub memory_limit: Option<String>,
    /// Service container CPU limit.
    pub service_cpu_limit: Option<String>,
    /// Service container memory limit.
    pub service_memory_limit: Option<String>,
    /// Helper container CPU limit.
    pub helper_cpu_limit: Option<String>,
    /// Helper container memory limit.
    pub helper_memory_limit: Option<String>,
    /// Build container CPU request.
    pub cpu_request: Option<String>,
    /// Build container memory request.
    pub memory_request: Option<String>,
    /// Service container CPU request.
    pub service_cpu_request: Option<String>,
    /// Service container memory request.
    pub service_memory_request: Option<String>,
    /// Helper container CPU request.
    pub helper_cpu_request: Option<String>,
    /// Helper container memory request.
    pub helper_memory_request: Option<String>,
    /// Image pull policy (`if-not-present`, `always`, `never`); a string in 12.8.0, a list later.
    #[serde(deserialize_with = "string_or_list")]
    pub pull_policy: Vec<String>,
    /// Node selector for job pods.
    pub node_selector: BTreeMap<String, String>,
    /// Image pull secrets for job pods.
    pub image_pull_secrets: Vec<String>,
    /// Helper image override.
    pub helper_image: Option<String>,
    /// Job pod termination grace period.
    #[serde(rename = "terminationGracePeriodSeconds")]
    pub termination_grace_period_seconds: i64,
    /// Seconds between pod status checks (0 = 3).
    pub poll_interval: i64,
    /// Seconds to wait for a job pod to run (0 = 180).
    pub poll_timeout: i64,
    /// Extra labels of job pods.
    pub pod_labels: BTreeMap<String, String>,
    /// Service account of job pods.
    pub service_account: String,
    /// Regex of service accounts jobs may switch to.
    pub service_account_overwrite_allowed: String,
    /// Extra annotations of job pods.
    pub pod_annotations: BTreeMap<String, String>,
    /// Regex of annotations jobs may set.
    pub pod_annotations_overwrite_allowed: String,
    /// `[runners.kubernetes.pod_security_context]`.
    pub pod_security_context: PodSecurityContext,
    /// `[runners.kubernetes.volumes]`.
    pub volumes: Volumes,
}

/// `[runners.kubernetes.pod_security_context]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PodSecurityContext {
    /// fsGroup of job pods.
    pub fs_group: Option<i64>,
    /// runAsGroup of job pods.
    pub run_as_group: Option<i64>,
    /// runAsNonRoot of job pods.
    pub run_as_non_root: Option<bool>,
    /// runAsUser of job pods.
    pub run_as_user: Option<i64>,
}

/// `[runners.kubernetes.volumes]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Volumes {
    /// `[[runners.kubernetes.volumes.host_path]]`.
    pub host_path: Vec<HostPathVolume>,
    /// `[[runners.kubernetes.volumes.pvc]]`.
    pub pvc: Vec<PvcVolume>,
    /// `[[runners.kubernetes.volumes.config_map]]`.
    pub config_map: Vec<NamedVolume>,
    /// `[[runners.kubernetes.volumes.secret]]`.
    pub secret: Vec<NamedVolume>,
    /// `[[runners.kubernetes.volumes.empty_dir]]`.
    pub empty_dir: Vec<EmptyDirVolume>,
}

/// A node directory (or socket) mounted into job pods.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HostPathVolume {
    /// Volume name.
    pub name: String,
    /// Path inside the containers.
    pub mount_path: String,
    /// Mount read-only.
    pub read_only: bool,
    /// Path on the node; defaults to `mount_path`.
    pub host_path: Option<String>,
}

/// A PersistentVolumeClaim mounted into job pods.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PvcVolume {
    /// Claim name (also the volume name).
    pub name: String,
    /// Path inside the containers.
    pub mount_path: String,
    /// Mount read-only.
    pub read_only: bool,
}

/// A ConfigMap or Secret mounted into job pods.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NamedVolume {
    /// Object name.
    pub name: String,
    /// Path inside the containers.
    pub mount_path: String,
    /// Mount read-only.
    pub read_only: bool,
}

/// An extra emptyDir mounted into job pods.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmptyDirVolume {
    /// Volume name.
    pub name: String,
    /// Path inside the containers.
    pub mount_path: String,
    /// `Memory` for tmpfs.
    pub medium: Option<String>,
}

fn string_or_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) if s.is_empty() => Vec::new(),
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

impl Config {
    /// Seconds between job requests as the runner uses it (0 means 3).
    pub fn check_interval_secs(&self) -> u64 {
        if self.check_interval <= 0 {
            3
        } else {
            self.check_interval as u64
        }
    }

    /// Maximum concurrent jobs (0 means 1).
    pub fn concurrent_jobs(&self) -> usize {
        self.concurrent.max(1) as usize
    }
}

impl RunnerConfig {
    /// Trace limit in bytes (`output_limit` KiB, default 4096 KiB).
    pub fn output_limit_bytes(&self) -> usize {
        let kib = if self.output_limit <= 0 {
            4096
        } else {
            self.output_limit
        };
        kib as usize * 1024
    }

    /// Maximum concurrent job requests (default 1).
    pub fn request_concurrency(&self) -> usize {
        self.request_concurrency.max(1) as usize
    }

    /// The first 8 characters of the token, as 12.8.0 shows it in logs and pod names (after
    /// the `glrt-` prefix of newer GitLab tokens, which would make every name alike).
    pub fn short_token(&self) -> String {
        short_token(&self.token)
    }
}

/// The token without its `glrt-` (and partition `t1_`…) prefix, first 8 characters.
pub fn short_token(token: &str) -> String {
    let mut t = token.strip_prefix("glrt-").unwrap_or(token);
    for p in ["t1_", "t2_", "t3_"] {
        if let Some(rest) = t.strip_prefix(p) {
            t = rest;
        }
    }
    t.chars().take(8).collect()
}
