//! API errors as Kubernetes `Status` objects, worded the way kubectl users know them.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::{Value, json};

use crate::kinds::KindInfo;

/// One field problem of a 422 Invalid answer.
#[derive(Debug, Clone)]
pub struct Cause {
    /// `FieldValueRequired`, `FieldValueInvalid`, …
    pub reason: &'static str,
    /// Field path, e.g. `spec.containers[0].image`.
    pub field: String,
    /// Human message, e.g. `Required value`.
    pub message: String,
}

impl Cause {
    /// A required field is missing.
    pub fn required(field: impl Into<String>) -> Self {
        Cause {
            reason: "FieldValueRequired",
            field: field.into(),
            message: "Required value".into(),
        }
    }

    /// A field has a bad value.
    pub fn invalid(field: impl Into<String>, value: &str, why: &str) -> Self {
        Cause {
            reason: "FieldValueInvalid",
            field: field.into(),
            message: format!("Invalid value: \"{value}\": {why}"),
        }
    }

    /// A value is longer than allowed.
    pub fn too_long(field: impl Into<String>, max_bytes: usize) -> Self {
        Cause {
            reason: "FieldValueTooLong",
            field: field.into(),
            message: format!("Too long: may not be more than {max_bytes} bytes"),
        }
    }

    /// A field value is not one of the allowed ones.
    pub fn unsupported(field: impl Into<String>, value: &str, allowed: &[&str]) -> Self {
        let list: Vec<String> = allowed.iter().map(|a| format!("\"{a}\"")).collect();
        Cause {
            reason: "FieldValueNotSupported",
            field: field.into(),
            message: format!(
                "Unsupported value: \"{value}\": supported values: {}",
                list.join(", ")
            ),
        }
    }
}

/// An error answered as a `Status` body.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP code.
    pub code: u16,
    /// Machine reason (`NotFound`, …).
    pub reason: &'static str,
    /// Message kubectl prints.
    pub message: String,
    /// `details` object.
    pub details: Value,
}

/// Result type of API operations.
pub type ApiResult<T> = Result<T, ApiError>;

fn details(info: &KindInfo, name: &str) -> Value {
    let mut d = json!({"kind": info.plural});
    if !name.is_empty() {
        d["name"] = json!(name);
    }
    if !info.group.is_empty() {
        d["group"] = json!(info.group);
    }
    d
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>, details: Value) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details,
        }
    }

    /// 404 `pods "x" not found`.
    pub fn not_found(info: &KindInfo, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", info.qualified_plural()),
            details(info, name),
        )
    }

    /// 404 for the namespace of a namespaced write.
    pub fn namespace_not_found(ns: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("namespaces \"{ns}\" not found"),
            json!({"name": ns, "kind": "namespaces"}),
        )
    }

    /// 404 for an unknown path.
    pub fn path_not_found() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
            json!({}),
        )
    }

    /// 409 AlreadyExists.
    pub fn already_exists(info: &KindInfo, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", info.qualified_plural()),
            details(info, name),
        )
    }

    /// 409 Conflict on a stale resourceVersion.
    pub fn conflict(info: &KindInfo, name: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                info.qualified_plural()
            ),
            details(info, name),
        )
    }

    /// 409 Conflict: a server-side apply would change fields other managers own.
    pub fn apply_conflicts(
        info: &KindInfo,
        name: &str,
        conflicts: &[crate::ownership::Conflict],
    ) -> Self {
        let mut d = details(info, name);
        d["causes"] = conflicts
            .iter()
            .map(|c| {
                json!({"reason": "FieldManagerConflict", "field": c.field,
                    "message": format!("conflict with \"{}\" using {}", c.manager, c.api_version)})
            })
            .collect();
        Self::new(409, "Conflict", crate::ownership::message(conflicts), d)
    }

    /// 422 Invalid with causes.
    pub fn invalid(info: &KindInfo, name: &str, causes: Vec<Cause>) -> Self {
        let parts: Vec<String> = causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        let joined = if parts.len() == 1 {
            parts[0].clone()
        } else {
            format!("[{}]", parts.join(", "))
        };
        let mut d = details(info, name);
        d["kind"] = json!(info.kind);
        d["causes"] = Value::Array(
            causes
                .iter()
                .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
                .collect(),
        );
        Self::new(
            422,
            "Invalid",
            format!("{} \"{name}\" is invalid: {joined}", info.kind),
            d,
        )
    }

    /// 400 BadRequest.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message, json!({}))
    }

    /// 401 Unauthorized.
    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized", json!({}))
    }

    /// 403 Forbidden with the real server's wording.
    pub fn forbidden(message: String, info: Option<&KindInfo>, name: &str) -> Self {
        let d = match info {
            Some(i) => details(i, name),
            None => json!({}),
        };
        Self::new(403, "Forbidden", message, d)
    }

    /// 403 about something that is not a served kind (impersonated users, groups, uids).
    pub fn forbidden_resource(message: String, group: &str, resource: &str, name: &str) -> Self {
        let mut d = json!({"name": name, "kind": resource});
        if !group.is_empty() {
            d["group"] = json!(group);
        }
        Self::new(403, "Forbidden", message, d)
    }

    /// 413 RequestEntityTooLarge: a request body over the limit.
    pub fn request_entity_too_large(limit: usize) -> Self {
        Self::new(
            413,
            "RequestEntityTooLarge",
            format!("Request entity too large: limit is {limit}"),
            json!({}),
        )
    }

    /// What a real server answers when etcd refuses an object over its request size limit: a
    /// 500 with etcd's message and no reason.
    pub fn etcd_request_too_large() -> Self {
        Self::new(500, "", "etcdserver: request is too large", json!({}))
    }

    /// 405 MethodNotAllowed.
    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
            json!({}),
        )
    }

    /// 415 UnsupportedMediaType.
    pub fn unsupported_media_type(ct: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got {ct})"
            ),
            json!({}),
        )
    }

    /// 415 for a protobuf body of a kind this server cannot decode (a real server decodes every
    /// kind; here only those kubectl's typed commands send are).
    pub fn unsupported_protobuf_kind(kind: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "this server decodes application/vnd.kubernetes.protobuf bodies only for the kinds kubectl's typed commands send, not {kind:?}: send it as application/json or application/yaml"
            ),
            json!({}),
        )
    }

    /// 406 NotAcceptable: no representation the Accept header allows.
    pub fn not_acceptable(accept: &str) -> Self {
        Self::new(
            406,
            "NotAcceptable",
            format!(
                "only the following media types are accepted: application/json, application/json;as=Table;v=v1;g=meta.k8s.io, application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io, application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io (got {accept})"
            ),
            json!({}),
        )
    }

    /// 500 InternalError.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message, json!({}))
    }

    /// 410 Expired (watch too old).
    pub fn expired(requested: u64, oldest: u64) -> Self {
        Self::new(
            410,
            "Expired",
            format!("too old resource version: {requested} ({oldest})"),
            json!({}),
        )
    }

    /// The `Status` object (an empty reason is left out, as Go's omitempty does).
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": self.details,
            "code": self.code,
        });
        if let Some(m) = status.as_object_mut().filter(|_| self.reason.is_empty()) {
            m.remove("reason");
        }
        status
    }
}

impl From<crate::kinds::UnknownKind> for ApiError {
    fn from(e: crate::kinds::UnknownKind) -> Self {
        ApiError::internal(e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self.to_status()).unwrap_or_default();
        (
            code,
            [(http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response()
    }
}

/// A `Status` success object (e.g. deletecollection, delete of a gone object).
pub fn success(details: Value) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details})
}
