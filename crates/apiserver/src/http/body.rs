//! Request body reading and decoding (JSON, YAML, Kubernetes protobuf).

use axum::body::Body;
use http::HeaderMap;
use http_body_util::BodyExt;
use serde_json::Value;

use crate::protobuf;
use crate::status::{ApiError, ApiResult};

/// Largest accepted request body: the real server's 3 MiB (twice etcd's 1.5 MiB, for JSON).
const MAX_BODY: usize = 3 * 1024 * 1024;

/// How much of an oversized body is read and dropped so the client, still sending, gets the
/// 413 instead of a reset connection; past this the connection is closed.
const DRAIN: usize = 64 * 1024 * 1024;

/// Reads the whole body; 413 when it exceeds [`MAX_BODY`].
pub async fn read(mut body: Body) -> ApiResult<bytes::Bytes> {
    let mut out = bytes::BytesMut::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| ApiError::bad_request(format!("reading the request body: {e}")))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen += data.len();
        if seen > DRAIN {
            break;
        }
        if seen <= MAX_BODY {
            out.extend_from_slice(&data);
        }
    }
    if seen > MAX_BODY {
        return Err(ApiError::request_entity_too_large(MAX_BODY));
    }
    Ok(out.freeze())
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
