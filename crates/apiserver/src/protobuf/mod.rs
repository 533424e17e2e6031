//! Kubernetes protobuf request bodies (what kubectl's typed commands send: `create ns`,
//! `create deployment`, `create configmap/secret/serviceaccount/service`, `create
//! role/clusterrole/rolebinding/clusterrolebinding`, `create token`, `auth can-i`, `auth
//! whoami`) decoded with `k8s-pb` and turned into the JSON objects the rest of the server works
//! with.

mod rbac;
mod token;

use std::collections::BTreeMap;

use base64::Engine;
use k8s_pb::api::core::v1 as core;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as metav1;
use prost::Message;
use serde_json::{Map, Value, json};

use crate::status::ApiError;

/// The protobuf media type.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

const MAGIC: &[u8] = b"k8s\0";

/// Inserts a field; empty strings count as unset (Go encodes every non-pointer string).
fn put<T: Into<Value>>(m: &mut Map<String, Value>, k: &str, v: Option<T>) {
    if let Some(v) = v {
        let v = v.into();
        if v != Value::String(String::new()) {
            m.insert(k.into(), v);
        }
    }
}

fn put_list(m: &mut Map<String, Value>, k: &str, v: &[String]) {
    if !v.is_empty() {
        m.insert(k.into(), json!(v));
    }
}

fn put_map(m: &mut Map<String, Value>, k: &str, v: &BTreeMap<String, String>) {
    if !v.is_empty() {
        m.insert(k.into(), json!(v));
    }
}

/// Inserts a map of bytes as JSON carries it: each value base64-encoded.
fn put_bytes(m: &mut Map<String, Value>, k: &str, v: BTreeMap<String, Vec<u8>>) {
    if !v.is_empty() {
        let encoded: Map<String, Value> = v
            .into_iter()
            .map(|(k, v)| {
                (
                    k,
                    json!(base64::engine::general_purpose::STANDARD.encode(v)),
                )
            })
            .collect();
        m.insert(k.into(), Value::Object(encoded));
    }
}

fn object_meta(m: Option<metav1::ObjectMeta>) -> Value {
    let m = m.unwrap_or_default();
    let mut o = Map::new();
    put(&mut o, "name", m.name);
    put(&mut o, "generateName", m.generate_name);
    put(&mut o, "namespace", m.namespace);
    put(
        &mut o,
        "resourceVersion",
        m.resource_version.filter(|s| !s.is_empty()),
    );
    put_map(&mut o, "labels", &m.labels);
    put_map(&mut o, "annotations", &m.annotations);
    put_list(&mut o, "finalizers", &m.finalizers);
    Value::Object(o)
}

fn label_selector(s: Option<metav1::LabelSelector>) -> Option<Value> {
    let s = s?;
    let mut o = Map::new();
    put_map(&mut o, "matchLabels", &s.match_labels);
    if !s.match_expressions.is_empty() {
        let exprs: Vec<Value> = s
            .match_expressions
            .into_iter()
            .map(|e| json!({"key": e.key, "operator": e.operator, "values": e.values}))
            .collect();
        o.insert("matchExpressions".into(), Value::Array(exprs));
    }
    Some(Value::Object(o))
}

fn quantities(m: BTreeMap<String, k8s_pb::apimachinery::pkg::api::resource::Quantity>) -> Value {
    Value::Object(
        m.into_iter()
            .map(|(k, q)| (k, json!(q.string.unwrap_or_default())))
            .collect(),
    )
}

fn container(c: core::Container) -> Value {
    let mut o = Map::new();
    put(&mut o, "name", c.name);
    put(&mut o, "image", c.image);
    put_list(&mut o, "command", &c.command);
    put_list(&mut o, "args", &c.args);
    put(&mut o, "workingDir", c.working_dir);
    if !c.ports.is_empty() {
        let ports: Vec<Value> = c
            .ports
            .into_iter()
            .map(|p| {
                let mut po = Map::new();
                put(&mut po, "name", p.name);
                put(&mut po, "containerPort", p.container_port);
                put(&mut po, "hostPort", p.host_port);
                put(&mut po, "protocol", p.protocol);
                Value::Object(po)
            })
            .collect();
        o.insert("ports".into(), Value::Array(ports));
    }
    if !c.env.is_empty() {
        let env: Vec<Value> = c
            .env
            .into_iter()
            .map(|e| {
                let mut eo = Map::new();
                put(&mut eo, "name", e.name);
                put(&mut eo, "value", e.value);
                Value::Object(eo)
            })
            .collect();
        o.insert("env".into(), Value::Array(env));
    }
    let mut res = Map::new();
    if let Some(r) = c.resources {
        if !r.limits.is_empty() {
            res.insert("limits".into(), quantities(r.limits));
        }
        if !r.requests.is_empty() {
            res.insert("requests".into(), quantities(r.requests));
        }
    }
    o.insert("resources".into(), Value::Object(res));
    put(&mut o, "imagePullPolicy", c.image_pull_policy);
    put(&mut o, "terminationMessagePath", c.termination_message_path);
    put(
        &mut o,
        "terminationMessagePolicy",
        c.termination_message_policy,
    );
    put(&mut o, "stdin", c.stdin);
    put(&mut o, "tty", c.tty);
    Value::Object(o)
}

fn pod_spec(s: core::PodSpec) -> Value {
    let mut o = Map::new();
    o.insert(
        "containers".into(),
        Value::Array(s.containers.into_iter().map(container).collect()),
    );
    if !s.init_containers.is_empty() {
        o.insert(
            "initContainers".into(),
            Value::Array(s.init_containers.into_iter().map(container).collect()),
        );
    }
    put(&mut o, "restartPolicy", s.restart_policy);
    put(
        &mut o,
        "terminationGracePeriodSeconds",
        s.termination_grace_period_seconds,
    );
    put(&mut o, "dnsPolicy", s.dns_policy);
    put(&mut o, "serviceAccountName", s.service_account_name);
    put(&mut o, "nodeName", s.node_name);
    put(&mut o, "hostNetwork", s.host_network);
    put(&mut o, "schedulerName", s.scheduler_name);
    put_map(&mut o, "nodeSelector", &s.node_selector);
    Value::Object(o)
}

fn decode<M: Message + Default>(raw: &[u8], what: &str) -> Result<M, ApiError> {
    M::decode(raw).map_err(|e| ApiError::bad_request(format!("decoding protobuf {what}: {e}")))
}

/// Decodes a protobuf request body into the JSON object it encodes.
pub fn to_json(body: &[u8]) -> Result<Value, ApiError> {
    let rest = body
        .strip_prefix(MAGIC)
        .ok_or_else(|| ApiError::bad_request("protobuf body lacks the k8s envelope prefix"))?;
    let unknown: k8s_pb::apimachinery::pkg::runtime::Unknown = decode(rest, "envelope")?;
    let tm = unknown.type_meta.unwrap_or_default();
    let api_version = tm.api_version.unwrap_or_default();
    let kind = tm.kind.unwrap_or_default();
    let raw = unknown.raw.unwrap_or_default();
    let mut obj = match kind.as_str() {
        "Namespace" => {
            let ns: core::Namespace = decode(&raw, "Namespace")?;
            json!({"metadata": object_meta(ns.metadata)})
        }
        "ServiceAccount" => {
            let sa: core::ServiceAccount = decode(&raw, "ServiceAccount")?;
            json!({"metadata": object_meta(sa.metadata)})
        }
        "ConfigMap" => {
            let cm: core::ConfigMap = decode(&raw, "ConfigMap")?;
            let mut o = Map::new();
            o.insert("metadata".into(), object_meta(cm.metadata));
            put_map(&mut o, "data", &cm.data);
            put_bytes(&mut o, "binaryData", cm.binary_data);
            Value::Object(o)
        }
        "Secret" => {
            let s: core::Secret = decode(&raw, "Secret")?;
            let mut o = Map::new();
            o.insert("metadata".into(), object_meta(s.metadata));
            put(&mut o, "type", s.r#type);
            put_bytes(&mut o, "data", s.data);
            put_map(&mut o, "stringData", &s.string_data);
            Value::Object(o)
        }
        "Deployment" => {
            let d: k8s_pb::api::apps::v1::Deployment = decode(&raw, "Deployment")?;
            let spec = d.spec.unwrap_or_default();
            let mut s = Map::new();
            put(&mut s, "replicas", spec.replicas);
            put(&mut s, "selector", label_selector(spec.selector));
            if let Some(t) = spec.template {
                s.insert(
                    "template".into(),
                    json!({"metadata": object_meta(t.metadata), "spec": pod_spec(t.spec.unwrap_or_default())}),
                );
            }
            if let Some(st) = spec.strategy {
                let mut so = Map::new();
                put(&mut so, "type", st.r#type);
                s.insert("strategy".into(), Value::Object(so));
            }
            put(&mut s, "minReadySeconds", spec.min_ready_seconds);
            put(&mut s, "revisionHistoryLimit", spec.revision_history_limit);
            put(
                &mut s,
                "progressDeadlineSeconds",
                spec.progress_deadline_seconds,
            );
            json!({"metadata": object_meta(d.metadata), "spec": s})
        }
        "SelfSubjectAccessReview" | "SubjectAccessReview" => {
            let r: k8s_pb::api::authorization::v1::SelfSubjectAccessReview =
                decode(&raw, "SelfSubjectAccessReview")?;
            let spec = r.spec.unwrap_or_default();
            let mut s = Map::new();
            if let Some(ra) = spec.resource_attributes {
                let mut a = Map::new();
                put(&mut a, "namespace", ra.namespace);
                put(&mut a, "verb", ra.verb);
                put(&mut a, "group", ra.group);
                put(&mut a, "version", ra.version);
                put(&mut a, "resource", ra.resource);
                put(&mut a, "subresource", ra.subresource);
                put(&mut a, "name", ra.name);
                s.insert("resourceAttributes".into(), Value::Object(a));
            }
            if let Some(na) = spec.non_resource_attributes {
                let mut a = Map::new();
                put(&mut a, "path", na.path);
                put(&mut a, "verb", na.verb);
                s.insert("nonResourceAttributes".into(), Value::Object(a));
            }
            json!({"metadata": object_meta(r.metadata), "spec": s})
        }
        "Service" => {
            let svc: core::Service = decode(&raw, "Service")?;
            let spec = svc.spec.unwrap_or_default();
            let mut o = Map::new();
            put(&mut o, "type", spec.r#type);
            put(&mut o, "clusterIP", spec.cluster_ip);
            put_map(&mut o, "selector", &spec.selector);
            let ports: Vec<Value> = spec
                .ports
                .into_iter()
                .map(|p| {
                    let mut po = Map::new();
                    put(&mut po, "name", p.name);
                    put(&mut po, "protocol", p.protocol);
                    put(&mut po, "port", p.port);
                    put(&mut po, "nodePort", p.node_port.filter(|n| *n != 0));
                    if let Some(t) = p.target_port {
                        let v = match t.r#type {
                            Some(1) => t.str_val.map(Value::from),
                            _ => t.int_val.filter(|i| *i != 0).map(Value::from),
                        };
                        put(&mut po, "targetPort", v);
                    }
                    Value::Object(po)
                })
                .collect();
            if !ports.is_empty() {
                o.insert("ports".into(), Value::Array(ports));
            }
            json!({"metadata": object_meta(svc.metadata), "spec": o})
        }
        "SelfSubjectReview" => {
            let r: k8s_pb::api::authentication::v1::SelfSubjectReview =
                decode(&raw, "SelfSubjectReview")?;
            json!({"metadata": object_meta(r.metadata)})
        }
        "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding" => {
            rbac::to_json(&kind, &raw)?
        }
        "TokenRequest" => token::to_json(&raw)?,
        "SelfSubjectRulesReview" => {
            let r: k8s_pb::api::authorization::v1::SelfSubjectRulesReview =
                decode(&raw, "SelfSubjectRulesReview")?;
            let ns = r.spec.and_then(|s| s.namespace).unwrap_or_default();
            json!({"metadata": object_meta(r.metadata), "spec": {"namespace": ns}})
        }
        other => return Err(ApiError::unsupported_protobuf_kind(other)),
    };
    obj["apiVersion"] = json!(api_version);
    obj["kind"] = json!(kind);
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(api_version: &str, kind: &str, raw: Vec<u8>) -> Vec<u8> {
        let u = k8s_pb::apimachinery::pkg::runtime::Unknown {
            type_meta: Some(k8s_pb::apimachinery::pkg::runtime::TypeMeta {
                api_version: Some(api_version.into()),
                kind: Some(kind.into()),
            }),
            raw: Some(raw),
            content_encoding: Some(String::new()),
            content_type: Some(String::new()),
        };
        let mut out = MAGIC.to_vec();
        out.extend(u.encode_to_vec());
        out
    }

    #[test]
    fn namespace_round_trip() {
        let ns = core::Namespace {
            metadata: Some(metav1::ObjectMeta {
                name: Some("demo".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let v = to_json(&envelope("v1", "Namespace", ns.encode_to_vec())).unwrap();
        assert_eq!(
            v,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}})
        );
    }

    #[test]
    fn garbage_is_a_bad_request_not_a_panic() {
        assert!(to_json(b"k8s\0\xff\xff\xff").is_err());
        assert!(to_json(b"nope").is_err());
    }
}
