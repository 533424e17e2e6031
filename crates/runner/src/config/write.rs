//! Prints a [`Config`] the way runner 12.8.0's TOML encoder does.
//!
//! The encoder writes a table's plain keys first (struct field order, `omitempty` fields skipped),
//! then its sub-tables; it indents keys by two spaces per table level, puts a blank line before
//! top-level tables and before every `[[array]]` entry, and always uses double quotes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::model::{CacheConfig, Config, KubernetesConfig, RunnerConfig, Volumes};

/// Renders `config` as runner 12.8.0 would save it.
pub fn to_toml_string(config: &Config) -> String {
    let mut enc = Encoder::default();
    let root: &[&str] = &[];
    enc.opt_str(root, "listen_address", &config.listen_address);
    enc.int(root, "concurrent", config.concurrent);
    enc.int(root, "check_interval", config.check_interval);
    enc.opt_str(root, "log_level", &config.log_level);
    enc.opt_str(root, "log_format", &config.log_format);
    enc.opt_str(root, "user", &config.user);

    let ss = &["session_server"];
    enc.table(ss);
    enc.opt_str(ss, "listen_address", &config.session_server.listen_address);
    enc.opt_str(
        ss,
        "advertise_address",
        &config.session_server.advertise_address,
    );
    enc.int_nonzero(ss, "session_timeout", config.session_server.session_timeout);

    for runner in &config.runners {
        write_runner(&mut enc, runner);
    }
    enc.out
}

fn write_runner(enc: &mut Encoder, r: &RunnerConfig) {
    let t = &["runners"];
    enc.array_entry(t);
    enc.str(t, "name", &r.name);
    enc.int_nonzero(t, "limit", r.limit);
    enc.int_nonzero(t, "output_limit", r.output_limit);
    enc.int_nonzero(t, "request_concurrency", r.request_concurrency);
    enc.str(t, "url", &r.url);
    enc.str(t, "token", &r.token);
    enc.opt_str(t, "tls-ca-file", &r.tls_ca_file);
    enc.str(t, "executor", &r.executor);
    enc.opt_str(t, "builds_dir", &r.builds_dir);
    enc.opt_str(t, "cache_dir", &r.cache_dir);
    enc.opt_str(t, "clone_url", &r.clone_url);
    enc.str_list(t, "environment", &r.environment);
    enc.opt_str(t, "pre_clone_script", &r.pre_clone_script);
    enc.opt_str(t, "pre_build_script", &r.pre_build_script);
    enc.opt_str(t, "post_build_script", &r.post_build_script);
    enc.opt_str(t, "shell", &r.shell);

    let cbd = &["runners", "custom_build_dir"];
    enc.table(cbd);
    enc.bool_nonzero(cbd, "enabled", r.custom_build_dir.enabled);

    write_cache(enc, &r.cache);
    if let Some(k) = &r.kubernetes {
        write_kubernetes(enc, k);
    }
}

fn write_cache(enc: &mut Encoder, c: &CacheConfig) {
    let t = &["runners", "cache"];
    enc.table(t);
    enc.opt_str(t, "Type", &c.kind);
    enc.opt_str(t, "Path", &c.path);
    enc.bool_nonzero(t, "Shared", c.shared);
    let s3 = &["runners", "cache", "s3"];
    enc.table(s3);
    enc.opt_str(s3, "ServerAddress", &c.s3.server_address);
    enc.opt_str(s3, "AccessKey", &c.s3.access_key);
    enc.opt_str(s3, "SecretKey", &c.s3.secret_key);
    enc.opt_str(s3, "BucketName", &c.s3.bucket_name);
    enc.opt_str(s3, "BucketLocation", &c.s3.bucket_location);
    enc.bool_nonzero(s3, "Insecure", c.s3.insecure);
    let gcs = &["runners", "cache", "gcs"];
    enc.table(gcs);
    enc.opt_str(gcs, "AccessID", &c.gcs.access_id);
    enc.opt_str(gcs, "PrivateKey", &c.gcs.private_key);
    enc.opt_str(gcs, "CredentialsFile", &c.gcs.credentials_file);
    enc.opt_str(gcs, "BucketName", &c.gcs.bucket_name);
}

fn write_kubernetes(enc: &mut Encoder, k: &KubernetesConfig) {
    let t = &["runners", "kubernetes"];
    enc.table(t);
    enc.str(t, "host", &k.host);
    enc.opt_str(t, "cert_file", &k.cert_file);
    enc.opt_str(t, "key_file", &k.key_file);
    enc.opt_str(t, "ca_file", &k.ca_file);
    enc.bool(
        t,
        "bearer_token_overwrite_allowed",
        k.bearer_token_overwrite_allowed,
    );
    enc.opt_str(t, "bearer_token", &k.bearer_token);
    enc.str(t, "image", &k.image);
    enc.str(t, "namespace", &k.namespace);
    enc.str(
        t,
        "namespace_overwrite_allowed",
        &k.namespace_overwrite_allowed,
    );
    enc.bool_nonzero(t, "privileged", k.privileged);
    enc.opt_str(t, "cpu_limit", &k.cpu_limit);
    enc.opt_str(t, "memory_limit", &k.memory_limit);
    enc.opt_str(t, "service_cpu_limit", &k.service_cpu_limit);
    enc.opt_str(t, "service_memory_limit", &k.service_memory_limit);
    enc.opt_str(t, "helper_cpu_limit", &k.helper_cpu_limit);
    enc.opt_str(t, "helper_memory_limit", &k.helper_memory_limit);
    enc.opt_str(t, "cpu_request", &k.cpu_request);
    enc.opt_str(t, "memory_request", &k.memory_request);
    enc.opt_str(t, "service_cpu_request", &k.service_cpu_request);
    enc.opt_str(t, "service_memory_request", &k.service_memory_request);
    enc.opt_str(t, "helper_cpu_request", &k.helper_cpu_request);
    enc.opt_str(t, "helper_memory_request", &k.helper_memory_request);
    // 12.8.0 holds a single pull policy string.
    if let Some(policy) = k.pull_policy.first() {
        enc.str(t, "pull_policy", policy);
    }
    enc.str_list(t, "image_pull_secrets", &k.image_pull_secrets);
    enc.opt_str(t, "helper_image", &k.helper_image);
    enc.int_nonzero(
        t,
        "terminationGracePeriodSeconds",
        k.termination_grace_period_seconds,
    );
    enc.int_nonzero(t, "poll_interval", k.poll_interval);
    enc.int_nonzero(t, "poll_timeout", k.poll_timeout);
    enc.str(t, "service_account", &k.service_account);
    enc.str(
        t,
        "service_account_overwrite_allowed",
        &k.service_account_overwrite_allowed,
    );
    enc.str(
        t,
        "pod_annotations_overwrite_allowed",
        &k.pod_annotations_overwrite_allowed,
    );
    enc.map(
        &["runners", "kubernetes", "node_selector"],
        &k.node_selector,
    );
    enc.map(&["runners", "kubernetes", "pod_labels"], &k.pod_labels);
    enc.map(
        &["runners", "kubernetes", "pod_annotations"],
        &k.pod_annotations,
    );

    let psc = &["runners", "kubernetes", "pod_security_context"];
    enc.table(psc);
    let sc = &k.pod_security_context;
    enc.opt_int(psc, "fs_group", sc.fs_group);
    enc.opt_int(psc, "run_as_group", sc.run_as_group);
    enc.opt_bool(psc, "run_as_non_root", sc.run_as_non_root);
    enc.opt_int(psc, "run_as_user", sc.run_as_user);
    write_volumes(enc, &k.volumes);
}

fn write_volumes(enc: &mut Encoder, v: &Volumes) {
    enc.table(&["runners", "kubernetes", "volumes"]);
    for hp in &v.host_path {
        let t = &volume_entry(enc, "host_path", &hp.name, &hp.mount_path);
        enc.bool_nonzero(t, "read_only", hp.read_only);
        enc.opt_str(t, "host_path", &hp.host_path);
    }
    for pvc in &v.pvc {
        let t = &volume_entry(enc, "pvc", &pvc.name, &pvc.mount_path);
        enc.bool_nonzero(t, "read_only", pvc.read_only);
    }
    for (kind, list) in [("config_map", &v.config_map), ("secret", &v.secret)] {
        for vol in list {
            let t = &volume_entry(enc, kind, &vol.name, &vol.mount_path);
            enc.bool_nonzero(t, "read_only", vol.read_only);
        }
    }
    for vol in &v.empty_dir {
        let t = &volume_entry(enc, "empty_dir", &vol.name, &vol.mount_path);
        enc.opt_str(t, "medium", &vol.medium);
    }
}

/// Starts a `[[runners.kubernetes.volumes.<kind>]]` entry with the keys every kind has; returns
/// the entry's path for the kind's own keys.
fn volume_entry<'k>(
    enc: &mut Encoder,
    kind: &'k str,
    name: &str,
    mount_path: &str,
) -> [&'k str; 4] {
    let t = ["runners", "kubernetes", "volumes", kind];
    enc.array_entry(&t);
    enc.str(&t, "name", name);
    enc.str(&t, "mount_path", mount_path);
    t
}

#[derive(Default)]
struct Encoder {
    out: String,
}

impl Encoder {
    fn indent(depth: usize) -> String {
        "  ".repeat(depth)
    }

    fn newline_if_written(&mut self) {
        if !self.out.is_empty() {
            self.out.push('\n');
        }
    }

    fn table(&mut self, path: &[&str]) {
        if path.len() == 1 {
            self.newline_if_written();
        }
        self.header(path, "[", "]");
    }

    fn array_entry(&mut self, path: &[&str]) {
        self.newline_if_written();
        self.header(path, "[[", "]]");
    }

    /// `[a.b]` or `[[a.b]]`, indented by the table's depth.
    fn header(&mut self, path: &[&str], open: &str, close: &str) {
        let header = path.iter().map(|p| quote_key(p)).collect::<Vec<_>>();
        let indent = Self::indent(path.len() - 1);
        let _ = writeln!(self.out, "{indent}{open}{}{close}", header.join("."));
    }

    fn raw(&mut self, path: &[&str], key: &str, value: &str) {
        let _ = writeln!(
            self.out,
            "{}{} = {}",
            Self::indent(path.len()),
            quote_key(key),
            value
        );
    }

    fn str(&mut self, path: &[&str], key: &str, value: &str) {
        self.raw(path, key, &quote(value));
    }

    fn opt_str(&mut self, path: &[&str], key: &str, value: &Option<String>) {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            self.str(path, key, v);
        }
    }

    fn int(&mut self, path: &[&str], key: &str, value: i64) {
        self.raw(path, key, &value.to_string());
    }

    fn int_nonzero(&mut self, path: &[&str], key: &str, value: i64) {
        if value != 0 {
            self.int(path, key, value);
        }
    }

    fn bool(&mut self, path: &[&str], key: &str, value: bool) {
        self.raw(path, key, if value { "true" } else { "false" });
    }

    fn opt_int(&mut self, path: &[&str], key: &str, value: Option<i64>) {
        if let Some(v) = value {
            self.int(path, key, v);
        }
    }

    fn opt_bool(&mut self, path: &[&str], key: &str, value: Option<bool>) {
        if let Some(v) = value {
            self.bool(path, key, v);
        }
    }

    fn bool_nonzero(&mut self, path: &[&str], key: &str, value: bool) {
        if value {
            self.bool(path, key, value);
        }
    }

    fn str_list(&mut self, path: &[&str], key: &str, values: &[String]) {
        if values.is_empty() {
            return;
        }
        let items = values.iter().map(|v| quote(v)).collect::<Vec<_>>();
        self.raw(path, key, &format!("[{}]", items.join(", ")));
    }

    fn map(&mut self, path: &[&str], values: &BTreeMap<String, String>) {
        if values.is_empty() {
            return;
        }
        self.table(path);
        for (k, v) in values {
            self.str(path, k, v);
        }
    }
}

/// Quotes a string value like the Go encoder (double quotes, backslash escapes).
fn quote(value: &str) -> String {
    let mut s = String::with_capacity(value.len() + 2);
    s.push('"');
    for c in value.chars() {
        match c {
            '\t' => s.push_str("\\t"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

fn quote_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare { key.to_string() } else { quote(key) }
}
