//! Generic CRUD handlers over the kinds table: get, list (selectors, limit/continue), create,
//! update, patch, delete, deletecollection, plus routing of subresources.

use std::sync::Arc;

use axum::extract::Request;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::representation::{Representation, negotiate};
use super::{Ctx, ResourcePath, body, bytes_response, json_response, reviews, watch};
use crate::kinds;
use crate::patch::PatchKind;
use crate::registry::{DeleteOptions, WriteOptions};
use crate::selectors::{FieldSelector, LabelSelector};
use crate::status::{ApiError, ApiResult};
use crate::store::Stored;
use crate::table;

/// Routes a resource request.
pub async fn route(ctx: Ctx, rp: ResourcePath, req: Request) -> ApiResult<Response> {
    let method = req.method().clone();
    if rp.info.virtual_only {
        if method != Method::POST {
            return Err(ApiError::method_not_allowed());
        }
        let ct = body::content_type(req.headers());
        let bytes = body::read(req.into_body()).await?;
        let obj = body::decode(&ct, &bytes)?;
        return reviews::review(&ctx, &rp, obj);
    }
    match rp.subresource.as_str() {
        "" | "status" => {}
        "log" => return crate::streams::logs(ctx, rp).await,
        "exec" | "attach" => return crate::streams::exec_or_attach(ctx, rp, req).await,
        "token" | "binding" | "eviction" | "scale" => {
            let ct = body::content_type(req.headers());
            let bytes = body::read(req.into_body()).await?;
            let obj = if bytes.is_empty() {
                Value::Null
            } else {
                body::decode(&ct, &bytes)?
            };
            return reviews::subresource(&ctx, &rp, &method, &ct, obj);
        }
        _ => return Err(ApiError::path_not_found()),
    }
    if !rp.subresource.is_empty() && !rp.info.subresources.contains(&rp.subresource.as_str()) {
        return Err(ApiError::path_not_found());
    }
    match (method.as_str(), rp.name.is_empty()) {
        ("GET", false) => {
            negotiate(ctx.accept(), false)?;
            let obj = ctx.state.registry.get(rp.info, &rp.namespace, &rp.name)?;
            Ok(object_response(&ctx, &rp, &obj, StatusCode::OK))
        }
        ("GET", true) if ctx.query.watch() => watch::watch(ctx, rp).await,
        ("GET", true) => list(&ctx, &rp),
        ("POST", true) => {
            let obj = decode_body(req).await?;
            let opts = checked_write_options(&ctx, &rp, &obj)?;
            let stored = ctx
                .state
                .registry
                .create(rp.info, &rp.namespace, obj, &opts)?;
            Ok(object_response(&ctx, &rp, &stored, StatusCode::CREATED))
        }
        ("PUT", false) => {
            let obj = decode_body(req).await?;
            let opts = checked_write_options(&ctx, &rp, &obj)?;
            let stored = ctx
                .state
                .registry
                .update(rp.info, &rp.namespace, &rp.name, obj, &opts)?;
            Ok(object_response(&ctx, &rp, &stored, StatusCode::OK))
        }
        ("PATCH", false) => {
            let ct = body::content_type(req.headers());
            let kind = PatchKind::from_content_type(&ct)
                .ok_or_else(|| ApiError::unsupported_media_type(&ct))?;
            let bytes = body::read(req.into_body()).await?;
            let patch = body::decode(&ct, &bytes)?;
            let mut opts = checked_write_options(&ctx, &rp, &patch)?;
            if kind == PatchKind::Apply && ctx.query.get("fieldManager").is_none_or(str::is_empty) {
                return Err(ApiError::bad_request(
                    "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
                ));
            }
            if kind == PatchKind::Apply {
                opts.apply = true;
            }
            let (stored, created) =
                ctx.state
                    .registry
                    .patch(rp.info, &rp.namespace, &rp.name, kind, patch, &opts)?;
            let code = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok(object_response(&ctx, &rp, &stored, code))
        }
        ("DELETE", false) => {
            let opts = delete_options(&ctx, req).await?;
            let stored = ctx
                .state
                .registry
                .delete(rp.info, &rp.namespace, &rp.name, &opts)?;
            Ok(object_response(&ctx, &rp, &stored, StatusCode::OK))
        }
        ("DELETE", true) => {
            let opts = delete_options(&ctx, req).await?;
            let (items, _) = selected(&ctx, &rp)?;
            for o in &items {
                let _ = ctx
                    .state
                    .registry
                    .delete(rp.info, o.namespace(), o.name(), &opts);
            }
            let list_kind = format!("{}List", rp.info.kind);
            Ok(json_response(
                StatusCode::OK,
                &json!({"kind": list_kind, "apiVersion": rp.info.api_version(), "metadata": {}, "items": []}),
            ))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

async fn decode_body(req: Request) -> ApiResult<Value> {
    let ct = body::content_type(req.headers());
    let bytes = body::read(req.into_body()).await?;
    let v = body::decode(&ct, &bytes)?;
    if !v.is_object() {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object",
        ));
    }
    Ok(v)
}

fn write_options(ctx: &Ctx, rp: &ResourcePath) -> WriteOptions {
    let manager = ctx
        .query
        .get("fieldManager")
        .map(String::from)
        .unwrap_or_else(|| {
            let ua = ctx
                .headers
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("unknown");
            ua.split('/').next().unwrap_or("unknown").to_string()
        });
    WriteOptions {
        field_manager: manager,
        dry_run: ctx.query.get("dryRun") == Some("All"),
        subresource: rp.subresource.clone(),
        apply: false,
        strict: ctx.query.get("fieldValidation") == Some("Strict"),
        force: ctx.query.flag("force"),
        admit: None,
    }
}

/// [`write_options`] plus the checks a write needs for who makes it (RBAC escalation).
fn checked_write_options(ctx: &Ctx, rp: &ResourcePath, body: &Value) -> ApiResult<WriteOptions> {
    let mut opts = write_options(ctx, rp);
    opts.admit = crate::rbac::escalation::write_check(
        &ctx.state.registry,
        &ctx.user,
        rp.info,
        &rp.namespace,
        &rp.name,
        body,
    )?;
    Ok(opts)
}

async fn delete_options(ctx: &Ctx, req: Request) -> ApiResult<DeleteOptions> {
    let ct = body::content_type(req.headers());
    let bytes = body::read(req.into_body()).await?;
    let b = if bytes.is_empty() {
        Value::Null
    } else {
        body::decode(&ct, &bytes).unwrap_or(Value::Null)
    };
    Ok(DeleteOptions {
        grace_period_seconds: ctx
            .query
            .int("gracePeriodSeconds")
            .or_else(|| b.get("gracePeriodSeconds").and_then(Value::as_i64)),
        propagation_policy: ctx
            .query
            .get("propagationPolicy")
            .map(String::from)
            .or_else(|| {
                b.get("propagationPolicy")
                    .and_then(Value::as_str)
                    .map(String::from)
            }),
        uid: b
            .pointer("/preconditions/uid")
            .and_then(Value::as_str)
            .map(String::from),
        dry_run: ctx.query.get("dryRun") == Some("All"),
    })
}

/// A single object in the representation the reader asked for: itself, a one-row Table or its
/// PartialObjectMetadata (after a write, an unacceptable Accept header falls back to the object).
pub fn object_response(ctx: &Ctx, rp: &ResourcePath, obj: &Stored, code: StatusCode) -> Response {
    match negotiate(ctx.accept(), false) {
        Ok(Representation::Table) => {
            let rv = obj.rv.to_string();
            let include = table::IncludeObject::parse(ctx.query.get("includeObject"));
            let t = table::to_table(rp.info, &[obj], &rv, None, include, true);
            bytes_response(code, t, "application/json")
        }
        Ok(Representation::Metadata) => bytes_response(
            code,
            obj.partial_metadata_json().to_vec(),
            "application/json",
        ),
        _ => bytes_response(code, obj.json.clone(), "application/json"),
    }
}

/// Objects selected by namespace and selectors, with the store RV.
pub fn selected(ctx: &Ctx, rp: &ResourcePath) -> ApiResult<(Vec<Arc<Stored>>, u64)> {
    let labels = LabelSelector::parse(ctx.query.get("labelSelector").unwrap_or(""))?;
    let fields = FieldSelector::parse(ctx.query.get("fieldSelector").unwrap_or(""))?;
    let ns = (rp.info.namespaced && !rp.namespace.is_empty()).then_some(rp.namespace.as_str());
    let idx = kinds::index_of(rp.info);
    let (items, rv) = match fields.pinned_name() {
        Some(name) if ns.is_some() => {
            let rv = ctx.state.registry.store.current_rv();
            (
                ctx.state
                    .registry
                    .store
                    .get(idx, ns.unwrap_or(""), name)
                    .into_iter()
                    .collect(),
                rv,
            )
        }
        _ => ctx.state.registry.store.list(idx, ns),
    };
    let items = items
        .into_iter()
        .filter(|o| labels.is_empty() || labels.matches(crate::meta::labels(&o.value)))
        .filter(|o| fields.matches(&o.value))
        .collect();
    Ok((items, rv))
}

/// How a list writes each item: its stored JSON or its PartialObjectMetadata.
type ItemEncoding = fn(&Stored) -> &[u8];

fn list(ctx: &Ctx, rp: &ResourcePath) -> ApiResult<Response> {
    let (items, rv) = selected(ctx, rp)?;
    let (mut start, mut rv_s) = (0usize, rv.to_string());
    if let Some(token) = ctx.query.get("continue").filter(|t| !t.is_empty()) {
        let decoded = B64
            .decode(token)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .ok_or_else(|| {
                ApiError::bad_request("continue key is not valid: illegal base64 data")
            })?;
        let after = decoded.get("start").and_then(Value::as_str).unwrap_or("");
        rv_s = decoded
            .get("rv")
            .and_then(Value::as_str)
            .unwrap_or(&rv_s)
            .to_string();
        start =
            items.partition_point(|o| format!("{}/{}", o.namespace(), o.name()).as_str() <= after);
    }
    let limit = ctx
        .query
        .int("limit")
        .filter(|l| *l > 0)
        .map(|l| l as usize);
    let end = limit.map_or(items.len(), |l| (start + l).min(items.len()));
    let page = &items[start.min(end)..end];
    let cont = (end < items.len()).then(|| {
        let last = &items[end - 1];
        B64.encode(
            json!({"rv": rv_s, "start": format!("{}/{}", last.namespace(), last.name())})
                .to_string(),
        )
    });
    let remaining = items.len() - end;
    let (list_kind, api_version, encode): (String, String, ItemEncoding) =
        match negotiate(ctx.accept(), true)? {
            Representation::Table => {
                let include = table::IncludeObject::parse(ctx.query.get("includeObject"));
                let refs: Vec<&Stored> = page.iter().map(|o| o.as_ref()).collect();
                let t = table::to_table(rp.info, &refs, &rv_s, cont.as_deref(), include, true);
                return Ok(bytes_response(StatusCode::OK, t, "application/json"));
            }
            Representation::Metadata => (
                "PartialObjectMetadataList".into(),
                "meta.k8s.io/v1".into(),
                Stored::partial_metadata_json,
            ),
            Representation::Object => (
                format!("{}List", rp.info.kind),
                rp.info.api_version(),
                |o| &o.json,
            ),
        };
    let mut meta = json!({"resourceVersion": rv_s});
    if let Some(c) = &cont {
        meta["continue"] = json!(c);
        meta["remainingItemCount"] = json!(remaining);
    }
    let head = json!({"kind": list_kind, "apiVersion": api_version, "metadata": meta});
    let out = crate::meta::object_with_array(&head, "items", page, |out, o| {
        out.extend_from_slice(encode(o))
    });
    Ok(bytes_response(StatusCode::OK, out, "application/json"))
}
