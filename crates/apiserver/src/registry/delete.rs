//! Deletion as the real server does it: preconditions, orphaning, graceful pod deletion,
//! finalizers and namespace termination.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{DeleteOptions, Registry, finalizers, store_err};
use crate::kinds::{self, KindInfo};
use crate::meta;
use crate::status::{ApiError, ApiResult};
use crate::store::Stored;

impl Registry {
    /// Deletes an object the way the real server does: graceful for bound pods, deferred while
    /// finalizers remain, namespaces via their finalizer. Returns the object as it now is.
    pub fn delete(
        &self,
        info: &KindInfo,
        ns: &str,
        name: &str,
        opts: &DeleteOptions,
    ) -> ApiResult<Arc<Stored>> {
        let idx = kinds::index_of(info);
        let current = self.get(info, ns, name)?;
        if let Some(uid) = &opts.uid
            && uid != meta::uid(&current.value)
        {
            return Err(ApiError {
                code: 409,
                reason: "Conflict",
                message: format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    meta::uid(&current.value)
                ),
                details: json!({"name": name, "kind": info.plural}),
            });
        }
        if opts.dry_run {
            return Ok(current);
        }
        if opts.propagation_policy.as_deref() == Some("Orphan") {
            self.orphan_dependents(meta::uid(&current.value));
        }
        let grace = self.grace_period(info, &current.value, opts.grace_period_seconds)?;
        let has_finalizers = !finalizers(&current.value).is_empty();
        let namespace_kind = info.group.is_empty() && info.kind == "Namespace";
        if grace > 0 || has_finalizers || namespace_kind {
            if meta::is_deleting(&current.value) && (grace > 0 || has_finalizers || namespace_kind)
            {
                let existing = current
                    .value
                    .pointer("/metadata/deletionGracePeriodSeconds")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                if grace >= existing || has_finalizers || namespace_kind {
                    return Ok(current);
                }
            }
            let r = self.store.modify(idx, ns, name, |v| {
                let when = chrono::Utc::now() + chrono::Duration::seconds(grace);
                let m = meta::obj_mut(v, &["metadata"]);
                m.insert(
                    "deletionTimestamp".into(),
                    json!(when.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
                );
                m.insert("deletionGracePeriodSeconds".into(), json!(grace));
                if namespace_kind {
                    meta::set(v, &["status", "phase"], json!("Terminating"));
                }
                Ok::<bool, ApiError>(true)
            });
            return match r {
                Ok(r) => r,
                Err(e) => Err(store_err(info, name, e)),
            };
        }
        self.store
            .delete(idx, ns, name, None)
            .map_err(|e| store_err(info, name, e))
    }

    fn grace_period(&self, info: &KindInfo, obj: &Value, requested: Option<i64>) -> ApiResult<i64> {
        if !(info.group.is_empty() && info.kind == "Pod") {
            return Ok(0);
        }
        let node = meta::str_at(obj, &["spec", "nodeName"]);
        let phase = meta::str_at(obj, &["status", "phase"]);
        if node.is_empty() || phase == "Succeeded" || phase == "Failed" {
            return Ok(0);
        }
        let node_kind = self.kind("", "nodes")?;
        if self
            .store
            .get(kinds::index_of(node_kind), "", node)
            .is_none()
        {
            return Ok(0);
        }
        let grace = requested.unwrap_or_else(|| {
            obj.pointer("/spec/terminationGracePeriodSeconds")
                .and_then(Value::as_i64)
                .unwrap_or(30)
        });
        // A real server turns a requested 0 for a running pod into 1 unless forced; the kubelet's
        // own final delete uses 0, which must remove the object.
        Ok(grace.max(0))
    }

    fn orphan_dependents(&self, owner_uid: &str) {
        for (kind, obj) in self.store.all_objects() {
            if !meta::owner_uids(&obj.value).contains(&owner_uid) {
                continue;
            }
            let _ = self.store.modify(kind, obj.namespace(), obj.name(), |v| {
                if let Some(Value::Array(refs)) = v.pointer_mut("/metadata/ownerReferences") {
                    refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(owner_uid));
                }
                Ok::<bool, ()>(true)
            });
        }
    }
}
