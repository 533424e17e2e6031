//! The flags of `register` besides `--kubernetes-*`, and the variables runner 12.8.0 binds to
//! them: one table line per option.

use super::flags::flag_table;
use crate::config::{CacheConfig, RunnerConfig};

flag_table! {
    /// How to register: the token and the settings GitLab keeps (none is written to the file).
    pub struct RegistrationArgs {
        /// TOML file whose `[[runners]]` entry fills what flags and variables leave unset.
        template_config: path("template-config", "TEMPLATE_CONFIG_FILE");
        /// Run registration unattended.
        #[arg(short = 'n')]
        non_interactive: switch("non-interactive", "REGISTER_NON_INTERACTIVE");
        /// Don't remove the runner from GitLab if saving the config fails.
        leave_runner: switch("leave-runner", "REGISTER_LEAVE_RUNNER");
        /// Registration token.
        #[arg(short = 'r')]
        registration_token: text("registration-token", "REGISTRATION_TOKEN");
        /// Take jobs without tags.
        run_untagged: switch("run-untagged", "REGISTER_RUN_UNTAGGED");
        /// Lock the runner to the current project (default true).
        locked: switch("locked", "REGISTER_LOCKED");
        /// `not_protected` or `ref_protected`.
        access_level: text("access-level", "REGISTER_ACCESS_LEVEL");
        /// Maximum job timeout in seconds.
        maximum_timeout: number("maximum-timeout", "REGISTER_MAXIMUM_TIMEOUT");
        /// Register paused.
        paused: switch("paused", "REGISTER_PAUSED");
        /// Comma-separated tags.
        tag_list: text("tag-list", "RUNNER_TAG_LIST");
    }
}

flag_table! {
    /// The keys of the `[[runners]]` entry itself.
    pub struct RunnerArgs => RunnerConfig {
        /// Runner name (default: the hostname).
        #[arg(alias = "description", short = 'd')]
        name: text("name", "RUNNER_NAME");
        /// Maximum jobs of this runner.
        limit: number("limit", "RUNNER_LIMIT");
        /// Trace limit in KiB.
        output_limit: number("output-limit", "RUNNER_OUTPUT_LIMIT");
        /// Maximum concurrent job requests.
        request_concurrency: number("request-concurrency", "RUNNER_REQUEST_CONCURRENCY");
        /// GitLab URL.
        #[arg(short = 'u')]
        url: text("url", "CI_SERVER_URL");
        /// Existing runner token (verified instead of registering).
        #[arg(short = 't')]
        token: text("token", "CI_SERVER_TOKEN");
        /// CA file for GitLab's certificate.
        tls_ca_file: text("tls-ca-file", "CI_SERVER_TLS_CA_FILE");
        /// Executor.
        executor: text("executor", "RUNNER_EXECUTOR");
        /// Builds directory.
        builds_dir: text("builds-dir", "RUNNER_BUILDS_DIR");
        /// Cache directory.
        cache_dir: text("cache-dir", "RUNNER_CACHE_DIR");
        /// Git URL jobs use instead of `url`.
        clone_url: text("clone-url", "CLONE_URL");
        /// Extra `KEY=value` job variables.
        env: list("env", "RUNNER_ENV") => environment;
        /// Script run before cloning.
        pre_clone_script: text("pre-clone-script", "RUNNER_PRE_CLONE_SCRIPT");
        /// Script prepended to the job script.
        pre_build_script: text("pre-build-script", "RUNNER_PRE_BUILD_SCRIPT");
        /// Script appended to the job script.
        post_build_script: text("post-build-script", "RUNNER_POST_BUILD_SCRIPT");
        /// Shell.
        shell: text("shell", "RUNNER_SHELL");
    }
}

flag_table! {
    /// The keys of `[runners.cache]`.
    pub struct CacheArgs => CacheConfig {
        /// Cache type.
        cache_type: text("cache-type", "CACHE_TYPE") => kind;
        /// Cache path prefix.
        cache_path: text("cache-path", "CACHE_PATH") => path;
        /// Shared cache.
        cache_shared: switch("cache-shared", "CACHE_SHARED") => shared;
        /// S3 server.
        cache_s3_server_address: text("cache-s3-server-address", "CACHE_S3_SERVER_ADDRESS") => s3.server_address;
        /// S3 access key.
        cache_s3_access_key: text("cache-s3-access-key", "CACHE_S3_ACCESS_KEY") => s3.access_key;
        /// S3 secret key.
        cache_s3_secret_key: text("cache-s3-secret-key", "CACHE_S3_SECRET_KEY") => s3.secret_key;
        /// S3 bucket.
        cache_s3_bucket_name: text("cache-s3-bucket-name", "CACHE_S3_BUCKET_NAME") => s3.bucket_name;
        /// S3 region.
        cache_s3_bucket_location: text("cache-s3-bucket-location", "CACHE_S3_BUCKET_LOCATION") => s3.bucket_location;
        /// S3 over plain HTTP.
        cache_s3_insecure: switch("cache-s3-insecure", "CACHE_S3_INSECURE") => s3.insecure;
        /// GCS bucket.
        cache_gcs_bucket_name: text("cache-gcs-bucket-name", "CACHE_GCS_BUCKET_NAME") => gcs.bucket_name;
        /// GCS access id.
        cache_gcs_access_id: text("cache-gcs-access-id", "CACHE_GCS_ACCESS_ID") => gcs.access_id;
        /// GCS private key.
        cache_gcs_private_key: text("cache-gcs-private-key", "CACHE_GCS_PRIVATE_KEY") => gcs.private_key;
        /// GCS credentials file.
        cache_gcs_credentials_file: text("cache-gcs-credentials-file", "GOOGLE_APPLICATION_CREDENTIALS") => gcs.credentials_file;
    }
}
