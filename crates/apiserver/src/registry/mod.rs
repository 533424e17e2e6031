//! Object lifecycle rules shared by the HTTP handlers and the controllers: create, update, patch and
//! delete with defaults, validation, metadata bookkeeping, graceful deletion and finalizers.

mod applied_fields;
mod delete;
mod service_accounts;

use std::sync::Arc;

use serde_json::{Value, json};

use crate::admission;
use crate::kinds::{self, KindInfo, UnknownKind};
use crate::meta;
use crate::ownership;
use crate::patch::{self, PatchKind};
use crate::status::{ApiError, ApiResult};
use crate::store::{Store, StoreError, Stored};

/// Options common to writes.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// `fieldManager` (managedFields entry name).
    pub field_manager: String,
    /// `dryRun=All`: validate but don't store.
    pub dry_run: bool,
    /// The subresource written (`status`, or "" for the main resource).
    pub subresource: String,
    /// Record the write as a server-side apply (`operation: Apply`).
    pub apply: bool,
    /// `fieldValidation=Strict`: reject fields the kind does not declare.
    pub strict: bool,
    /// `force=true` on a server-side apply: take fields from other managers instead of failing
    /// with a conflict.
    pub force: bool,
    /// A check of the requester's rights on the object about to be stored (RBAC escalation
    /// prevention); `None` for writes that need none.
    pub admit: Option<Admit>,
}

/// A check on the object about to be stored, which depends on who writes it. On updates it runs
/// under the store's lock, so it must not read the store: whatever it needs is gathered before.
#[derive(Clone)]
pub struct Admit(Arc<AdmitFn>);

/// The function inside an [`Admit`].
type AdmitFn = dyn Fn(&Value) -> ApiResult<()> + Send + Sync;

impl Admit {
    /// Wraps a check.
    pub fn new(check: impl Fn(&Value) -> ApiResult<()> + Send + Sync + 'static) -> Self {
        Admit(Arc::new(check))
    }

    fn check(&self, obj: &Value) -> ApiResult<()> {
        (self.0)(obj)
    }
}

impl std::fmt::Debug for Admit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Admit(..)")
    }
}

/// Options of a delete.
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    /// Requested grace period.
    pub grace_period_seconds: Option<i64>,
    /// Background, Foreground or Orphan.
    pub propagation_policy: Option<String>,
    /// Precondition on uid.
    pub uid: Option<String>,
    /// `dryRun=All`.
    pub dry_run: bool,
}

/// The lifecycle rules around the store.
pub struct Registry {
    /// The underlying store.
    pub store: Store,
    /// The cluster CA, published in every namespace as ConfigMap `kube-root-ca.crt`.
    root_ca: std::sync::OnceLock<String>,
    /// Next service ClusterIP (10.96.0.0/12; .1 is the `kubernetes` service).
    next_cluster_ip: std::sync::atomic::AtomicU32,
}

pub(crate) fn store_err(info: &KindInfo, name: &str, e: StoreError) -> ApiError {
    match e {
        StoreError::AlreadyExists => ApiError::already_exists(info, name),
        StoreError::NotFound => ApiError::not_found(info, name),
        StoreError::Conflict => ApiError::conflict(info, name),
        StoreError::TooLarge => ApiError::etcd_request_too_large(),
    }
}

fn has_status_subresource(info: &KindInfo) -> bool {
    info.subresources.contains(&"status") && info.kind != "Node"
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    /// A registry over an empty store.
    pub fn new() -> Self {
        Self::with_history(200_000)
    }

    /// A registry whose store keeps `watch_history` past changes for watches.
    pub fn with_history(watch_history: usize) -> Self {
        Registry {
            store: Store::with_history(watch_history),
            root_ca: std::sync::OnceLock::new(),
            next_cluster_ip: std::sync::atomic::AtomicU32::new(10),
        }
    }

    /// Sets the CA published as `kube-root-ca.crt` in new namespaces (once).
    pub fn set_root_ca(&self, pem: &str) {
        let _ = self.root_ca.set(pem.to_string());
    }

    /// Gets one object.
    pub fn get(&self, info: &KindInfo, ns: &str, name: &str) -> ApiResult<Arc<Stored>> {
        self.store
            .get(kinds::index_of(info), ns, name)
            .ok_or_else(|| ApiError::not_found(info, name))
    }

    /// Gets a kind by group and plural (controllers, handlers); a kind the table lacks is an
    /// error, never another kind.
    pub fn kind(&self, group: &str, plural: &str) -> Result<&'static KindInfo, UnknownKind> {
        kinds::find_plural(group, plural)
    }

    fn check_namespace(&self, info: &KindInfo, ns: &str) -> ApiResult<()> {
        if !info.namespaced {
            return Ok(());
        }
        let ns_kind = self.kind("", "namespaces")?;
        let Some(n) = self.store.get(kinds::index_of(ns_kind), "", ns) else {
            return Err(ApiError::namespace_not_found(ns));
        };
        if meta::is_deleting(&n.value) && info.kind != "Event" {
            return Err(ApiError::forbidden(
                format!(
                    "{} \"{}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                    info.qualified_plural(),
                    ""
                ),
                Some(info),
                "",
            ));
        }
        Ok(())
    }

    /// Creates an object in `ns` ("" for cluster-scoped kinds).
    pub fn create(
        &self,
        info: &KindInfo,
        ns: &str,
        mut obj: Value,
        opts: &WriteOptions,
    ) -> ApiResult<Arc<Stored>> {
        if !obj.is_object() {
            return Err(ApiError::bad_request(
                "the request body must be a JSON object",
            ));
        }
        let body_ns = meta::namespace(&obj).to_string();
        if info.namespaced {
            if !body_ns.is_empty() && body_ns != ns {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            meta::set(&mut obj, &["metadata", "namespace"], json!(ns));
        } else if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("namespace");
        }
        obj["apiVersion"] = json!(info.api_version());
        obj["kind"] = json!(info.kind);
        if meta::name(&obj).is_empty() {
            let prefix = meta::str_at(&obj, &["metadata", "generateName"]).to_string();
            if !prefix.is_empty() {
                let name = format!("{prefix}{}", meta::random_suffix(5));
                meta::set(&mut obj, &["metadata", "name"], json!(name));
            }
        }
        let name = meta::name(&obj).to_string();
        (info.typed_check)(&obj)
            .map_err(|e| ApiError::bad_request(format!("{} in body: {e}", info.kind)))?;
        if opts.strict {
            strict_check(info, &obj)?;
        }
        if has_status_subresource(info)
            && let Some(m) = obj.as_object_mut()
        {
            m.remove("status");
        }
        admission::apply_defaults(info, &mut obj);
        let causes = admission::validate(info, &obj);
        if !causes.is_empty() {
            return Err(ApiError::invalid(info, &name, causes));
        }
        self.check_namespace(info, ns)?;
        if let Some(admit) = &opts.admit {
            admit.check(&obj)?;
        }
        {
            let m = meta::obj_mut(&mut obj, &["metadata"]);
            m.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
            m.insert("creationTimestamp".into(), json!(meta::now()));
            if tracks_generation(info) {
                m.insert("generation".into(), json!(1));
            }
            for k in [
                "resourceVersion",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "selfLink",
                "managedFields",
            ] {
                m.remove(k);
            }
        }
        if !opts.field_manager.is_empty() {
            let touched = obj.clone();
            let op = if opts.apply { "Apply" } else { "Update" };
            patch::record_manager(&mut obj, &opts.field_manager, op, &touched, "");
        }
        if info.group.is_empty() && info.kind == "Pod" {
            self.admit_service_account(ns, &name, &mut obj)?;
        }
        if info.group.is_empty() && info.kind == "Service" {
            let spec = meta::obj_mut(&mut obj, &["spec"]);
            let wants_ip = spec.get("type").and_then(Value::as_str) != Some("ExternalName")
                && spec
                    .get("clusterIP")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty);
            if wants_ip {
                let n = self
                    .next_cluster_ip
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let ip = format!("10.96.{}.{}", (n >> 8) & 0xff, n & 0xff);
                spec.insert("clusterIP".into(), json!(ip));
                spec.insert("clusterIPs".into(), json!([ip]));
            }
        }
        if opts.dry_run {
            return Ok(Stored::new(obj, 0));
        }
        let seeds = if info.group.is_empty() && info.kind == "Namespace" {
            Some((
                self.kind("", "serviceaccounts")?,
                self.kind("", "configmaps")?,
            ))
        } else {
            None
        };
        let stored = self
            .store
            .create(kinds::index_of(info), obj)
            .map_err(|e| store_err(info, &name, e))?;
        if let Some((sa, cm)) = seeds {
            // The real server's controller does this within milliseconds; doing it here keeps
            // `create ns` followed at once by a pod create free of races.
            let _ = self.store.create(
                kinds::index_of(sa),
                json!({"apiVersion": "v1", "kind": "ServiceAccount",
                       "metadata": {"name": "default", "namespace": name, "uid": uuid::Uuid::new_v4().to_string(),
                                    "creationTimestamp": meta::now()}}),
            );
            if let Some(ca) = self.root_ca.get() {
                let _ = self.store.create(
                    kinds::index_of(cm),
                    json!({"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": "kube-root-ca.crt", "namespace": name, "uid": uuid::Uuid::new_v4().to_string(),
                                        "creationTimestamp": meta::now()},
                           "data": {"ca.crt": ca}}),
                );
            }
        }
        Ok(stored)
    }

    /// Replaces an object (PUT), or its status with `opts.subresource == "status"`.
    pub fn update(
        &self,
        info: &KindInfo,
        ns: &str,
        name: &str,
        body: Value,
        opts: &WriteOptions,
    ) -> ApiResult<Arc<Stored>> {
        if !body.is_object() {
            return Err(ApiError::bad_request(
                "the request body must be a JSON object",
            ));
        }
        if !meta::name(&body).is_empty() && meta::name(&body) != name {
            return Err(ApiError::bad_request(
                "the name of the object does not match the name on the URL",
            ));
        }
        if opts.strict {
            strict_check(info, &body)?;
        }
        let want_rv = meta::str_at(&body, &["metadata", "resourceVersion"]).to_string();
        let touched = body.clone();
        self.write_existing(info, ns, name, opts, move |current| {
            if !want_rv.is_empty()
                && want_rv != meta::str_at(current, &["metadata", "resourceVersion"])
            {
                return Err(ApiError::conflict(info, name));
            }
            Ok((body, touched))
        })
    }

    /// Applies a patch; server-side apply creates the object when it is missing (returns `true`).
    pub fn patch(
        &self,
        info: &KindInfo,
        ns: &str,
        name: &str,
        kind: PatchKind,
        patch_body: Value,
        opts: &WriteOptions,
    ) -> ApiResult<(Arc<Stored>, bool)> {
        let idx = kinds::index_of(info);
        if kind == PatchKind::Apply {
            applied_fields::check(info, ns, name, &patch_body)?;
        }
        if kind == PatchKind::Apply && self.store.get(idx, ns, name).is_none() {
            let mut obj = patch_body;
            if meta::name(&obj).is_empty() {
                meta::set(&mut obj, &["metadata", "name"], json!(name));
            }
            let o = WriteOptions {
                apply: true,
                ..opts.clone()
            };
            return Ok((self.create(info, ns, obj, &o)?, true));
        }
        let manager_op = if kind == PatchKind::Apply {
            "Apply"
        } else {
            "Update"
        };
        let mut o = opts.clone();
        o.field_manager = String::new();
        let manager = opts.field_manager.clone();
        let sub = opts.subresource.clone();
        let (force, strict) = (opts.force, opts.strict);
        let stored = self.write_existing(info, ns, name, &o, move |current| {
            let mut v = current.clone();
            if kind == PatchKind::Apply {
                let applied = patch::fields_v1(&patch_body);
                if force {
                    ownership::take_over(&mut v, &patch_body, &applied, &manager);
                } else {
                    let conflicts = ownership::conflicts(current, &patch_body, &applied, &manager);
                    if !conflicts.is_empty() {
                        return Err(ApiError::apply_conflicts(info, name, &conflicts));
                    }
                }
            }
            patch::apply_patch(&mut v, kind, &patch_body)?;
            if strict {
                // Stored objects hold no unknown fields, so any found came with the patch.
                strict_check(info, &v)?;
            }
            if !manager.is_empty() {
                patch::record_manager(&mut v, &manager, manager_op, &patch_body, &sub);
            }
            Ok((v, Value::Null))
        })?;
        Ok((stored, false))
    }

    /// The shared update path: `f` maps the current object to (new object, touched fields).
    pub fn write_existing(
        &self,
        info: &KindInfo,
        ns: &str,
        name: &str,
        opts: &WriteOptions,
        f: impl FnOnce(&Value) -> ApiResult<(Value, Value)>,
    ) -> ApiResult<Arc<Stored>> {
        let idx = kinds::index_of(info);
        let status_only = opts.subresource == "status";
        let dry_run = opts.dry_run;
        let mut finalize_delete = false;
        let result = self.store.modify(idx, ns, name, |cur| {
            let (mut new, touched) = f(cur)?;
            if !new.is_object() {
                return Err(ApiError::bad_request(
                    "the request body must be a JSON object",
                ));
            }
            new["apiVersion"] = json!(info.api_version());
            new["kind"] = json!(info.kind);
            if status_only {
                let status = new.get("status").cloned();
                let mut merged = cur.clone();
                match status {
                    Some(s) => merged["status"] = s,
                    None => {
                        if let Some(m) = merged.as_object_mut() {
                            m.remove("status");
                        }
                    }
                }
                if let Some(mf) = new.pointer("/metadata/managedFields") {
                    meta::set(&mut merged, &["metadata", "managedFields"], mf.clone());
                }
                new = merged;
            } else if has_status_subresource(info) {
                match cur.get("status") {
                    Some(s) => new["status"] = s.clone(),
                    None => {
                        if let Some(m) = new.as_object_mut() {
                            m.remove("status");
                        }
                    }
                }
            }
            for k in [
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
                "namespace",
                "name",
            ] {
                match cur.pointer(&format!("/metadata/{k}")) {
                    Some(v) => meta::set(&mut new, &["metadata", k], v.clone()),
                    None => {
                        if let Some(m) = new.pointer_mut("/metadata").and_then(Value::as_object_mut)
                        {
                            m.remove(k);
                        }
                    }
                }
            }
            (info.typed_check)(&new)
                .map_err(|e| ApiError::bad_request(format!("{} in body: {e}", info.kind)))?;
            admission::apply_defaults(info, &mut new);
            let mut causes = admission::validate(info, &new);
            causes.extend(admission::validate_update(info, cur, &new));
            if !causes.is_empty() {
                return Err(ApiError::invalid(info, name, causes));
            }
            if let Some(admit) = &opts.admit {
                admit.check(&new)?;
            }
            if !status_only && tracks_generation(info) && admission::spec_changed(cur, &new) {
                let g = cur
                    .pointer("/metadata/generation")
                    .and_then(Value::as_i64)
                    .unwrap_or(1);
                meta::set(&mut new, &["metadata", "generation"], json!(g + 1));
            }
            if !opts.field_manager.is_empty() && !touched.is_null() {
                patch::record_manager(
                    &mut new,
                    &opts.field_manager,
                    "Update",
                    &touched,
                    &opts.subresource,
                );
            }
            meta::set_rv(
                &mut new,
                cur.pointer("/metadata/resourceVersion")
                    .and_then(Value::as_str)
                    .unwrap_or("0")
                    .parse()
                    .unwrap_or(0),
            );
            if meta::is_deleting(&new)
                && finalizers(&new).is_empty()
                && !needs_graceful_wait(info, &new)
            {
                finalize_delete = true;
            }
            if dry_run || without_managed_fields(&new) == without_managed_fields(cur) {
                return Ok(false);
            }
            *cur = new;
            Ok(true)
        });
        let stored = match result {
            Err(e) => return Err(store_err(info, name, e)),
            Ok(r) => r?,
        };
        if finalize_delete && !dry_run {
            let _ = self.store.delete(idx, ns, name, None);
        }
        Ok(stored)
    }
}

/// Whether the kind keeps `metadata.generation`: on the real 1.32 server only the workload
/// controllers' kinds do (Deployments, ReplicaSets); Pods gained it in 1.33, the others never.
fn tracks_generation(info: &KindInfo) -> bool {
    info.group == "apps"
}

/// The real server's strict-decoding answer for fields the kind does not declare.
fn strict_check(info: &KindInfo, obj: &Value) -> ApiResult<()> {
    let unknown = kinds::unknown_fields(info, obj);
    if unknown.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = unknown
        .iter()
        .map(|f| format!("unknown field \"{}\"", kinds::dotted(f)))
        .collect();
    Err(ApiError::bad_request(format!(
        "{kind} in version \"{v}\" cannot be handled as a {kind}: strict decoding error: {}",
        list.join(", "),
        kind = info.kind,
        v = info.version
    )))
}

pub(crate) fn finalizers(v: &Value) -> Vec<&str> {
    v.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

pub(crate) fn needs_graceful_wait(info: &KindInfo, v: &Value) -> bool {
    (info.group.is_empty() && info.kind == "Namespace")
        || (info.group.is_empty()
            && info.kind == "Pod"
            && v.pointer("/metadata/deletionGracePeriodSeconds")
                .and_then(Value::as_i64)
                .unwrap_or(0)
                > 0)
}

fn without_managed_fields(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.pointer_mut("/metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_kind_is_an_error_not_pods() {
        let r = Registry::new();
        let err = r.kind("batch", "jobs").unwrap_err();
        assert_eq!(
            err.to_string(),
            "no served resource \"jobs\" in API group \"batch\""
        );
        assert_eq!(r.kind("", "pods").map(|k| k.kind), Ok("Pod"));
    }

    #[test]
    fn status_patch_changes_only_status() {
        let r = Registry::new();
        let ns = r.kind("", "namespaces").unwrap();
        r.create(
            ns,
            "",
            json!({"metadata": {"name": "a"}}),
            &WriteOptions::default(),
        )
        .unwrap();
        let pods = r.kind("", "pods").unwrap();
        r.create(pods, "a", json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}), &WriteOptions::default()).unwrap();
        let opts = WriteOptions {
            subresource: "status".into(),
            ..Default::default()
        };
        let (p, _) = r
            .patch(
                pods,
                "a",
                "p",
                PatchKind::Merge,
                json!({"status": {"phase": "Running"}, "spec": {"nodeName": "x"}}),
                &opts,
            )
            .unwrap();
        assert_eq!(p.value["status"]["phase"], "Running");
        assert!(p.value["spec"].get("nodeName").is_none());
    }
}
