//! Request bodies, read only after the caller is known and never beyond a per-route cap: a
//! declared `Content-Length` over the cap is refused before a byte is read, a longer stream is
//! refused once it passes the cap.

use std::pin::Pin;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::{bad_request, message};

/// JSON bodies of the Runner API that carry their token inside (register, verify, unregister,
/// job updates): read before the token can be checked, so kept small.
pub(crate) const RUNNER_JSON_LIMIT: usize = 1 << 20;

/// `POST /jobs/request`: Workhorse reads at most this much (`maxRegisterBodySize`, 32 KiB).
pub(crate) const JOB_REQUEST_LIMIT: usize = 32 << 10;

/// REST and form bodies (read after the credentials were checked); leaves room for a CI
/// configuration of GitLab's maximum size (2 MB) sent to the lint.
pub(crate) const API_LIMIT: usize = 4 << 20;

/// One `PATCH /jobs/:id/trace` chunk (runners send at most 1 MiB at a time).
pub(crate) const TRACE_CHUNK_LIMIT: usize = 4 << 20;

/// Multipart framing and form fields allowed around an artifact's bytes.
pub(crate) const MULTIPART_SLACK: u64 = 64 << 10;

/// GitLab's `413` answer.
pub(crate) fn too_large() -> Response {
    message(
        StatusCode::PAYLOAD_TOO_LARGE,
        "413 Request Entity Too Large",
    )
}

/// The declared `Content-Length`, if any.
pub(crate) fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// Reads `body` whole if it is at most `limit` bytes; `413` otherwise, without reading past
/// the cap (nor at all when `Content-Length` already says it is too long).
pub(crate) async fn read_capped(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
) -> Result<Bytes, Response> {
    if declared_length(headers).is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    read_upto(body, limit).await?.map_err(|_unread| too_large())
}

/// Reads `body` to its end if that comes within `limit` bytes: `Ok(Ok(bytes))`; else
/// `Ok(Err(rest))` with what is left of it once the chunk that passed the cap was read; `400`
/// when the body cannot be read.
async fn read_upto(mut body: Body, limit: usize) -> Result<Result<Bytes, Body>, Response> {
    let mut data = Vec::new();
    while let Some(chunk) = next_chunk(&mut body).await {
        let chunk = chunk.map_err(|e| bad_request(&format!("reading the body: {e}")))?;
        if data.len() + chunk.len() > limit {
            return Ok(Err(body));
        }
        data.extend_from_slice(&chunk);
    }
    Ok(Ok(Bytes::from(data)))
}

/// The next data chunk of `body` (trailers are skipped), `None` at its end.
pub(crate) async fn next_chunk(body: &mut Body) -> Option<Result<Bytes, axum::Error>> {
    loop {
        let frame = std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await?;
        match frame.map(|f| f.into_data()) {
            Ok(Ok(data)) => return Some(Ok(data)),
            Ok(Err(_trailers)) => continue,
            Err(e) => return Some(Err(e)),
        }
    }
}

/// How much of a refused body from a known caller is read and thrown away, and for how long,
/// so that its client can finish sending and read the answer (a "lingering close").
pub(crate) const LINGER_BYTES: u64 = 1 << 30;
/// See [`LINGER_BYTES`].
pub(crate) const LINGER_TIME: std::time::Duration = std::time::Duration::from_secs(60);

/// Reads and discards what is left of a refused body in the background, bounded by
/// [`LINGER_BYTES`] and [`LINGER_TIME`]: only for callers whose credentials were checked —
/// strangers' bodies are never read.
pub(crate) fn linger(body: Body) {
    let mut body = body;
    tokio::spawn(tokio::time::timeout(LINGER_TIME, async move {
        let mut read = 0u64;
        while let Some(Ok(chunk)) = next_chunk(&mut body).await {
            read += chunk.len() as u64;
            if read > LINGER_BYTES {
                break;
            }
        }
    }));
}

/// [`read_capped`] for a caller whose credentials were checked: a refused body is drained by
/// [`linger`] while the `413` goes out.
pub(crate) async fn read_capped_known(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
) -> Result<Bytes, Response> {
    let rest = if declared_length(headers).is_none_or(|n| n <= limit as u64) {
        match read_upto(body, limit).await? {
            Ok(data) => return Ok(data),
            Err(rest) => rest,
        }
    } else {
        body
    };
    linger(rest);
    Err(too_large())
}

/// Extractor of a body of at most `LIMIT` bytes (else GitLab's `413`), for routes whose
/// credentials are inside the body.
#[derive(Debug, Clone)]
pub(crate) struct Capped<const LIMIT: usize>(pub(crate) Bytes);

impl<S: Send + Sync, const LIMIT: usize> FromRequest<S> for Capped<LIMIT> {
    type Rejection = Response;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        read_capped(body, &parts.headers, LIMIT).await.map(Capped)
    }
}

/// Middleware: a refusal (`401`, `403`, `413`) of a request that carries a body may leave that
/// body unread, so the connection cannot serve another request; `Connection: close` tells the
/// client so instead of letting it reuse a connection the server drops.
pub(crate) async fn close_after_refusal(
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let headers = request.headers();
    let has_body = declared_length(headers).is_some_and(|n| n > 0)
        || headers.contains_key("transfer-encoding");
    let mut response = next.run(request).await;
    if has_body
        && matches!(
            response.status(),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::PAYLOAD_TOO_LARGE
        )
    {
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    response
}
