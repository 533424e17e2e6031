//! Non-stored kinds and action subresources: access reviews (`kubectl auth can-i`, `whoami`),
//! TokenReview, TokenRequest (`serviceaccounts/NAME/token`), pod binding and eviction, and
//! the `scale` subresource.

use axum::response::Response;
use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Ctx, ResourcePath, json_response};
use crate::auth::UserInfo;
use crate::meta;
use crate::patch::PatchKind;
use crate::rbac::{self, Attributes};
use crate::registry::{DeleteOptions, WriteOptions};
use crate::status::{ApiError, ApiResult};

fn attrs_from_spec(spec: &Value, fallback_ns: &str) -> Attributes {
    if let Some(ra) = spec.get("resourceAttributes") {
        let s = |k: &str| meta::str_at(ra, &[k]).to_string();
        let ns = ra
            .get("namespace")
            .and_then(Value::as_str)
            .map(String::from)
            .unwrap_or_else(|| fallback_ns.to_string());
        Attributes {
            verb: s("verb"),
            group: s("group"),
            resource: s("resource"),
            subresource: s("subresource"),
            namespace: ns,
            name: s("name"),
            path: None,
        }
    } else if let Some(na) = spec.get("nonResourceAttributes") {
        Attributes {
            verb: meta::str_at(na, &["verb"]).into(),
            path: Some(meta::str_at(na, &["path"]).into()),
            ..Default::default()
        }
    } else {
        Attributes::default()
    }
}

/// POST of a review kind.
pub fn review(ctx: &Ctx, rp: &ResourcePath, mut obj: Value) -> ApiResult<Response> {
    if !obj.is_object() {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object",
        ));
    }
    let registry = &ctx.state.registry;
    obj["apiVersion"] = json!(rp.info.api_version());
    obj["kind"] = json!(rp.info.kind);
    let spec = obj.get("spec").cloned().unwrap_or(json!({}));
    match rp.info.kind {
        "SelfSubjectAccessReview" | "SubjectAccessReview" => {
            let user = if rp.info.kind == "SubjectAccessReview" {
                // Exactly the identity in the spec, as the real server evaluates it.
                UserInfo {
                    name: meta::str_at(&spec, &["user"]).into(),
                    groups: spec
                        .get("groups")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect(),
                    uid: meta::str_at(&spec, &["uid"]).into(),
                    extra: serde_json::from_value(spec.get("extra").cloned().unwrap_or_default())
                        .unwrap_or_default(),
                }
            } else {
                ctx.user.clone()
            };
            let attrs = attrs_from_spec(&spec, &rp.namespace);
            let (allowed, reason) = rbac::authorize(registry, &user, &attrs);
            let mut status = json!({"allowed": allowed});
            if !reason.is_empty() {
                status["reason"] = json!(reason);
            }
            obj["status"] = status;
        }
        "SelfSubjectRulesReview" => {
            let ns = meta::str_at(&spec, &["namespace"]).to_string();
            let rules = if ctx.user.is_master() {
                vec![json!({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]})]
            } else {
                rbac::rules_for(registry, &ctx.user, &ns)?
            };
            let (res, non): (Vec<Value>, Vec<Value>) = rules
                .into_iter()
                .partition(|r| r.get("nonResourceURLs").is_none());
            obj["status"] =
                json!({"resourceRules": res, "nonResourceRules": non, "incomplete": false});
        }
        "SelfSubjectReview" => {
            obj["status"] = json!({"userInfo": user_json(&ctx.user)});
        }
        "TokenReview" => {
            let token = meta::str_at(&spec, &["token"]);
            // Without audiences the review is for the API server's own (its issuer).
            let mut audiences = meta::strings_at(&spec, &["audiences"]);
            if audiences.is_empty() {
                audiences.push(crate::auth::API_AUDIENCE.into());
            }
            obj["status"] = match ctx.state.auth.authenticate_for(token, registry, &audiences) {
                Ok((u, accepted)) => {
                    json!({"authenticated": true, "user": user_json(&u), "audiences": accepted})
                }
                Err(e) => {
                    json!({"authenticated": false, "error": format!("invalid bearer token, {e}")})
                }
            };
        }
        _ => return Err(ApiError::method_not_allowed()),
    }
    Ok(json_response(StatusCode::CREATED, &obj))
}

fn user_json(u: &UserInfo) -> Value {
    let mut v = json!({"username": u.name, "groups": u.groups});
    if !u.uid.is_empty() {
        v["uid"] = json!(u.uid);
    }
    if !u.extra.is_empty() {
        v["extra"] = json!(u.extra);
    }
    v
}

/// token, binding, eviction and scale subresources.
pub fn subresource(
    ctx: &Ctx,
    rp: &ResourcePath,
    method: &Method,
    ct: &str,
    body: Value,
) -> ApiResult<Response> {
    let registry = &ctx.state.registry;
    let current = registry.get(rp.info, &rp.namespace, &rp.name)?;
    match (rp.subresource.as_str(), method.as_str()) {
        ("token", "POST") => super::token_request::create(ctx, rp, &current, &body),
        ("binding", "POST") => {
            let node = meta::str_at(&body, &["target", "name"]).to_string();
            if node.is_empty() {
                return Err(ApiError::bad_request("binding target name is required"));
            }
            let r = registry.store.modify(
                crate::kinds::index_of(rp.info),
                &rp.namespace,
                &rp.name,
                |p| {
                    if !meta::str_at(p, &["spec", "nodeName"]).is_empty() {
                        return Err(ApiError {
                            code: 409,
                            reason: "Conflict",
                            message: format!(
                                "pod {} is already assigned to node \"{}\"",
                                rp.name,
                                meta::str_at(p, &["spec", "nodeName"])
                            ),
                            details: json!({}),
                        });
                    }
                    meta::set(p, &["spec", "nodeName"], json!(node));
                    Ok(true)
                },
            );
            match r {
                Ok(Ok(_)) => Ok(json_response(
                    StatusCode::CREATED,
                    &crate::status::success(json!({})),
                )),
                Ok(Err(e)) => Err(e),
                Err(_) => Err(ApiError::not_found(rp.info, &rp.name)),
            }
        }
        ("eviction", "POST") => {
            let grace = body
                .pointer("/deleteOptions/gracePeriodSeconds")
                .and_then(Value::as_i64);
            registry.delete(
                rp.info,
                &rp.namespace,
                &rp.name,
                &DeleteOptions {
                    grace_period_seconds: grace,
                    ..Default::default()
                },
            )?;
            Ok(json_response(
                StatusCode::CREATED,
                &crate::status::success(json!({})),
            ))
        }
        ("scale", "GET") => Ok(json_response(StatusCode::OK, &scale_of(rp, &current.value))),
        ("scale", "PUT") | ("scale", "PATCH") => {
            let replicas = if method == Method::PUT {
                body.pointer("/spec/replicas").and_then(Value::as_i64)
            } else {
                let mut scale = scale_of(rp, &current.value);
                let kind = PatchKind::from_content_type(ct)
                    .ok_or_else(|| ApiError::unsupported_media_type(ct))?;
                crate::patch::apply_patch(&mut scale, kind, &body)?;
                scale.pointer("/spec/replicas").and_then(Value::as_i64)
            };
            let replicas =
                replicas.ok_or_else(|| ApiError::bad_request("spec.replicas is required"))?;
            let stored = registry
                .patch(
                    rp.info,
                    &rp.namespace,
                    &rp.name,
                    PatchKind::Merge,
                    json!({"spec": {"replicas": replicas}}),
                    &WriteOptions::default(),
                )?
                .0;
            Ok(json_response(StatusCode::OK, &scale_of(rp, &stored.value)))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

fn scale_of(rp: &ResourcePath, obj: &Value) -> Value {
    let selector = obj
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    json!({"kind": "Scale", "apiVersion": "autoscaling/v1",
           "metadata": {"name": rp.name, "namespace": rp.namespace, "uid": meta::uid(obj),
                        "resourceVersion": meta::str_at(obj, &["metadata", "resourceVersion"]),
                        "creationTimestamp": meta::str_at(obj, &["metadata", "creationTimestamp"])},
           "spec": {"replicas": obj.pointer("/spec/replicas").cloned().unwrap_or(json!(0))},
           "status": {"replicas": obj.pointer("/status/replicas").cloned().unwrap_or(json!(0)), "selector": selector}})
}
