//! `POST …/serviceaccounts/NAME/token` (TokenRequest): a token for the ServiceAccount, bound to a
//! Pod, Secret or Node when `boundObjectRef` names one, which must exist (and, for a pod, run as
//! that ServiceAccount) as on a real server.

use axum::response::Response;
use http::StatusCode;
use serde_json::{Value, json};

use super::{Ctx, ResourcePath, json_response};
use crate::auth::{API_AUDIENCE, BoundKind, BoundObject};
use crate::meta;
use crate::status::{ApiError, ApiResult};
use crate::store::Stored;

/// The object `boundObjectRef` names, looked up: (kind, name, uid).
fn bound_object(
    ctx: &Ctx,
    rp: &ResourcePath,
    reference: &Value,
) -> ApiResult<(BoundKind, String, String)> {
    let api_version = meta::str_at(reference, &["apiVersion"]);
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let kind = meta::str_at(reference, &["kind"]);
    let name = meta::str_at(reference, &["name"]);
    let bound = BoundKind::from_kind(kind)
        .filter(|_| group.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "cannot bind token to object of type {group}/{version}, Kind={kind}"
            ))
        })?;
    let registry = &ctx.state.registry;
    let info = registry.kind("", bound.plural())?;
    let ns = if bound == BoundKind::Node {
        ""
    } else {
        rp.namespace.as_str()
    };
    let obj = registry.get(info, ns, name)?;
    if bound == BoundKind::Pod {
        let runs_as = meta::str_at(&obj.value, &["spec", "serviceAccountName"]);
        if runs_as != rp.name {
            return Err(ApiError::bad_request(format!(
                "cannot bind token for serviceaccount \"{}\" to pod running with different serviceaccount name.",
                rp.name
            )));
        }
    }
    let uid = meta::uid(&obj.value).to_string();
    let wanted = meta::str_at(reference, &["uid"]);
    if !wanted.is_empty() && wanted != uid {
        return Err(ApiError {
            code: 409,
            reason: "Conflict",
            message: format!(
                "Operation cannot be fulfilled on {kind} \"{name}\": the UID in the bound object reference ({wanted}) does not match the UID in record. The object might have been deleted and then recreated"
            ),
            details: json!({"name": name, "kind": kind}),
        });
    }
    Ok((bound, name.to_string(), uid))
}

/// Issues the token.
pub(super) fn create(
    ctx: &Ctx,
    rp: &ResourcePath,
    account: &Stored,
    body: &Value,
) -> ApiResult<Response> {
    let exp = body
        .pointer("/spec/expirationSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(3600);
    let audiences = meta::strings_at(body, &["spec", "audiences"]);
    let bound = match body
        .pointer("/spec/boundObjectRef")
        .filter(|r| !r.is_null())
    {
        Some(reference) => Some(bound_object(ctx, rp, reference)?),
        None => None,
    };
    let (token, expiry) = ctx.state.auth.issue_sa_token(
        &rp.namespace,
        &rp.name,
        meta::uid(&account.value),
        exp,
        &audiences,
        bound.as_ref().map(|(kind, name, uid)| BoundObject {
            kind: *kind,
            name,
            uid,
        }),
    );
    let ts = chrono::DateTime::from_timestamp(expiry, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default();
    let mut spec = body.get("spec").cloned().unwrap_or(json!({}));
    spec["expirationSeconds"] = json!(exp.max(600));
    if audiences.is_empty() {
        spec["audiences"] = json!([API_AUDIENCE]);
    }
    let out = json!({"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                     "metadata": {"name": rp.name, "namespace": rp.namespace, "creationTimestamp": null},
                     "spec": spec, "status": {"token": token, "expirationTimestamp": ts}});
    Ok(json_response(StatusCode::CREATED, &out))
}
