//! Request body reading and decoding (JSON, YAML, Kubernetes protobuf).

use axum::body::Body;
use http::HeaderMap;
use http_body_util::BodyExt;
use serde_json::Value;

use crate::protobuf;
use crate::status::{ApiError, ApiResult};

/// Largest accepted request body.
const MAX_BODY: usize = 32 * 1024 * 1024;

/// Reads the whole body.
pub async fn read(body: Body) -> ApiResult<bytes::Bytes> {
    let limited = http_body_util::Limited::new(body, MAX_BODY);
    limited
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|e| ApiError::bad_request(format!("reading the request body: {e}")))
}

/// The request Content-Type.
pub fn content_type(h: &HeaderMap) -> String {
    h.get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_string()
}

/// Decodes a body as an object according to its Content-Type.
pub fn decode(ct: &str, bytes: &[u8]) -> ApiResult<Value> {
    let base = ct.split(';').next().unwrap_or("").trim();
    match base {
        protobuf::CONTENT_TYPE => protobuf::to_json(bytes),
        "application/yaml" | "application/apply-patch+yaml" => {
            serde_norway::from_slice::<Value>(bytes)
                .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))
        }
        ""
        | "application/json"
        | "application/merge-patch+json"
        | "application/strategic-merge-patch+json"
        | "application/json-patch+json"
        | "application/apply-patch+json"
        | "*/*"
        | "text/plain" => {
            if bytes.is_empty() {
                return Ok(Value::Null);
            }
            serde_json::from_slice(bytes).map_err(|e| {
                ApiError::bad_request(format!(
                    "the object provided is unrecognized (must be of type JSON): {e}"
                ))
            })
        }
        other => Err(ApiError::unsupported_media_type(other)),
    }
}
