//! Core v1 Events written by the controllers (deduplicated by object, reason and message, with
//! `count` and `lastTimestamp` bumped like the real recorder does).

use serde_json::{Value, json};

use crate::meta;
use crate::registry::{Registry, WriteOptions};

/// Records an event about `obj` (any stored object).
pub fn record(
    registry: &Registry,
    obj: &Value,
    event_type: &str,
    reason: &str,
    message: &str,
    component: &str,
) {
    let ns = match meta::namespace(obj) {
        "" => "default",
        ns => ns,
    };
    let kind = meta::str_at(obj, &["kind"]);
    let name = meta::name(obj);
    let uid = meta::uid(obj);
    let Some(ev_kind) = super::known(registry, "", "events") else {
        return;
    };
    let (existing, _) = registry
        .store
        .list(crate::kinds::index_of(ev_kind), Some(ns));
    let now = meta::now();
    if let Some(e) = existing.iter().find(|e| {
        meta::str_at(&e.value, &["involvedObject", "uid"]) == uid
            && meta::str_at(&e.value, &["reason"]) == reason
            && meta::str_at(&e.value, &["message"]) == message
    }) {
        let _ = registry
            .store
            .modify(crate::kinds::index_of(ev_kind), ns, e.name(), |v| {
                let count = v.get("count").and_then(Value::as_i64).unwrap_or(1);
                v["count"] = json!(count + 1);
                v["lastTimestamp"] = json!(now);
                Ok::<bool, ()>(true)
            });
        return;
    }
    let suffix = format!(
        "{:x}",
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    );
    let mut involved = json!({"kind": kind, "namespace": meta::namespace(obj), "name": name, "uid": uid,
                              "apiVersion": meta::str_at(obj, &["apiVersion"]),
                              "resourceVersion": meta::str_at(obj, &["metadata", "resourceVersion"])});
    if meta::namespace(obj).is_empty()
        && let Some(m) = involved.as_object_mut()
    {
        m.remove("namespace");
    }
    let event = json!({
        "metadata": {"name": format!("{name}.{suffix}"), "namespace": ns},
        "involvedObject": involved,
        "reason": reason, "message": message, "type": event_type,
        "source": {"component": component},
        "firstTimestamp": now, "lastTimestamp": now, "count": 1,
        "reportingComponent": component, "reportingInstance": "",
    });
    if let Err(e) = registry.create(ev_kind, ns, event, &WriteOptions::default()) {
        tracing::debug!(error = %e.message, "event not recorded");
    }
}
