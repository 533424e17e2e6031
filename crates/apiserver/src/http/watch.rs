//! Watch streams: newline-delimited JSON events with resourceVersion replay, bookmarks,
//! `sendInitialEvents`, `timeoutSeconds`, Table rows and `410 Expired`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{StatusCode, header};
use serde_json::json;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use super::representation::{Representation, negotiate};
use super::{Ctx, ResourcePath};
use crate::kinds::{self, KindInfo};
use crate::selectors::{FieldSelector, LabelSelector};
use crate::status::{ApiError, ApiResult};
use crate::store::{Change, EventType, Stored};
use crate::table;

struct Filter {
    kind: usize,
    namespace: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Filter {
    fn matches(&self, kind: usize, obj: &Stored) -> bool {
        kind == self.kind
            && self
                .namespace
                .as_deref()
                .is_none_or(|ns| ns == obj.namespace())
            && (self.labels.is_empty() || self.labels.matches(crate::meta::labels(&obj.value)))
            && self.fields.matches(&obj.value)
    }
}

struct Encoder {
    info: &'static KindInfo,
    representation: Representation,
    include: table::IncludeObject,
    sent_columns: bool,
}

impl Encoder {
    fn event(&mut self, ty: &str, obj: &Stored) -> Bytes {
        let mut out = Vec::with_capacity(obj.json.len() + 32);
        out.extend_from_slice(b"{\"type\":\"");
        out.extend_from_slice(ty.as_bytes());
        out.extend_from_slice(b"\",\"object\":");
        match self.representation {
            Representation::Table => {
                let rv = obj.rv.to_string();
                let t = table::to_table(
                    self.info,
                    &[obj],
                    &rv,
                    None,
                    self.include,
                    !self.sent_columns,
                );
                self.sent_columns = true;
                out.extend_from_slice(&t);
            }
            Representation::Metadata => out.extend_from_slice(obj.partial_metadata_json()),
            Representation::Object => out.extend_from_slice(&obj.json),
        }
        out.extend_from_slice(b"}\n");
        Bytes::from(out)
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Bytes {
        let mut md = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            md["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let obj = match self.representation {
            Representation::Metadata => {
                json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": md})
            }
            _ => {
                json!({"kind": self.info.kind, "apiVersion": self.info.api_version(), "metadata": md})
            }
        };
        let mut v =
            serde_json::to_vec(&json!({"type": "BOOKMARK", "object": obj})).unwrap_or_default();
        v.push(b'\n');
        Bytes::from(v)
    }
}

fn error_event(e: &ApiError) -> Bytes {
    let mut v =
        serde_json::to_vec(&json!({"type": "ERROR", "object": e.to_status()})).unwrap_or_default();
    v.push(b'\n');
    Bytes::from(v)
}

/// Serves `GET <collection>?watch=true`.
pub async fn watch(ctx: Ctx, rp: ResourcePath) -> ApiResult<Response> {
    let filter = Filter {
        kind: kinds::index_of(rp.info),
        namespace: (rp.info.namespaced && !rp.namespace.is_empty()).then(|| rp.namespace.clone()),
        labels: LabelSelector::parse(ctx.query.get("labelSelector").unwrap_or(""))?,
        fields: FieldSelector::parse(ctx.query.get("fieldSelector").unwrap_or(""))?,
    };
    let mut enc = Encoder {
        info: rp.info,
        representation: negotiate(ctx.accept(), false)?,
        include: table::IncludeObject::parse(ctx.query.get("includeObject")),
        sent_columns: false,
    };
    let bookmarks = ctx.query.flag("allowWatchBookmarks");
    let send_initial = ctx.query.flag("sendInitialEvents");
    let timeout = Duration::from_secs(
        ctx.query
            .int("timeoutSeconds")
            .filter(|t| *t > 0)
            .unwrap_or(1800) as u64,
    );
    let requested: Option<u64> = ctx
        .query
        .get("resourceVersion")
        .filter(|s| !s.is_empty())
        .and_then(|s| s.parse().ok());
    let store = &ctx.state.registry.store;

    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(256);
    let mut initial: Vec<Bytes> = Vec::new();
    let sub = match requested {
        Some(rv) if rv > 0 && !send_initial => match store.subscribe(Some(rv)) {
            Ok(s) => s,
            Err(oldest) => {
                initial.push(error_event(&ApiError::expired(rv, oldest)));
                let _ = tx.send(Ok(initial.remove(0))).await;
                drop(tx);
                return Ok(stream_response(rx));
            }
        },
        _ => {
            let (items, rv) = store.list(filter.kind, filter.namespace.as_deref());
            for o in items.iter().filter(|o| filter.matches(filter.kind, o)) {
                initial.push(enc.event("ADDED", o));
            }
            if send_initial && bookmarks {
                initial.push(enc.bookmark(rv, true));
            }
            store.subscribe(Some(rv)).unwrap_or_else(|_| {
                store
                    .subscribe(None)
                    .unwrap_or_else(|_| unreachable_subscription(store))
            })
        }
    };
    let shutdown = ctx.state.shutdown.clone();
    tokio::spawn(async move {
        for b in initial {
            if tx.send(Ok(b)).await.is_err() {
                return;
            }
        }
        let mut last_rv = sub.rv;
        for c in sub.backlog {
            last_rv = c.rv;
            if filter.matches(c.kind, &c.object)
                && tx
                    .send(Ok(enc.event(c.event.as_str(), &c.object)))
                    .await
                    .is_err()
            {
                return;
            }
        }
        let mut live = sub.live;
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        tick.tick().await;
        loop {
            let msg: Option<Arc<Change>> = tokio::select! {
                _ = &mut deadline => return,
                _ = shutdown.cancelled() => return,
                _ = tx.closed() => return,
                _ = tick.tick() => {
                    if bookmarks && tx.send(Ok(enc.bookmark(last_rv, false))).await.is_err() {
                        return;
                    }
                    None
                }
                r = live.recv() => match r {
                    Ok(c) => Some(c),
                    Err(broadcast::error::RecvError::Lagged(_)) | Err(broadcast::error::RecvError::Closed) => return,
                },
            };
            let Some(c) = msg else { continue };
            if c.rv <= last_rv {
                continue;
            }
            last_rv = c.rv;
            if filter.matches(c.kind, &c.object) {
                let ty = match c.event {
                    EventType::Added => "ADDED",
                    EventType::Modified => "MODIFIED",
                    EventType::Deleted => "DELETED",
                };
                if tx.send(Ok(enc.event(ty, &c.object))).await.is_err() {
                    return;
                }
            }
        }
    });
    Ok(stream_response(rx))
}

fn unreachable_subscription(store: &crate::store::Store) -> crate::store::Subscription {
    crate::store::Subscription {
        backlog: Vec::new(),
        live: store.changes(),
        rv: store.current_rv(),
    }
}

fn stream_response(rx: mpsc::Receiver<Result<Bytes, std::io::Error>>) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-cache, private")
        .body(Body::from_stream(ReceiverStream::new(rx)))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}
