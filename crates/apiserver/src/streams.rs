//! `pods/log` (chunked, follow) and `pods/exec` / `pods/attach` over WebSocket
//! (`v5.channel.k8s.io`, `v4.channel.k8s.io`), served by the [`NodeStreams`] of the pod's node.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Request};
use axum::response::Response;
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use http::{StatusCode, header};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::http::{Ctx, ResourcePath};
use crate::meta;
use crate::node_streams::{
    ContainerRef, LogOptions, NodeStreamError, NodeStreams, OutputChunk, ProcessExit,
    StreamOptions, TerminalSize,
};
use crate::status::{ApiError, ApiResult};

fn container_names(pod: &Value) -> Vec<String> {
    pod.pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("name").and_then(Value::as_str).map(String::from))
        .collect()
}

/// Picks and checks the container; returns the node's streams and the target.
fn resolve(ctx: &Ctx, rp: &ResourcePath) -> ApiResult<(Arc<dyn NodeStreams>, ContainerRef)> {
    let pod = ctx.state.registry.get(rp.info, &rp.namespace, &rp.name)?;
    let names = container_names(&pod.value);
    let container = match ctx.query.get("container").filter(|c| !c.is_empty()) {
        Some(c) => c.to_string(),
        None => {
            let default = meta::str_at(
                &pod.value,
                &[
                    "metadata",
                    "annotations",
                    "kubectl.kubernetes.io/default-container",
                ],
            );
            if !default.is_empty() {
                default.to_string()
            } else if names.len() == 1 {
                names[0].clone()
            } else {
                return Err(ApiError::bad_request(format!(
                    "a container name must be specified for pod {}, choose one of: [{}]",
                    rp.name,
                    names.join(" ")
                )));
            }
        }
    };
    if !names.contains(&container) {
        return Err(ApiError::bad_request(format!(
            "container {container} is not valid for pod {}",
            rp.name
        )));
    }
    let node = meta::str_at(&pod.value, &["spec", "nodeName"]);
    if node.is_empty() {
        return Err(ApiError::bad_request(format!(
            "container \"{container}\" in pod \"{}\" is waiting to start: ContainerCreating",
            rp.name
        )));
    }
    let streams = ctx
        .state
        .nodes
        .read()
        .ok()
        .and_then(|m| m.get(node).cloned())
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "no streaming connection is registered for node \"{node}\""
            ))
        })?;
    Ok((
        streams,
        ContainerRef {
            namespace: rp.namespace.clone(),
            pod: rp.name.clone(),
            container,
        },
    ))
}

fn node_error(e: NodeStreamError) -> ApiError {
    match e {
        NodeStreamError::NotFound(m) => ApiError {
            code: 404,
            reason: "NotFound",
            message: m,
            details: json!({}),
        },
        NodeStreamError::BadRequest(m) => ApiError::bad_request(m),
        NodeStreamError::Runtime(m) => ApiError::internal(m),
    }
}

/// `GET pods/NAME/log`.
pub async fn logs(ctx: Ctx, rp: ResourcePath) -> ApiResult<Response> {
    let (streams, target) = resolve(&ctx, &rp)?;
    let q = &ctx.query;
    let options = LogOptions {
        follow: q.flag("follow"),
        tail_lines: q.int("tailLines"),
        timestamps: q.flag("timestamps"),
        previous: q.flag("previous"),
        since_seconds: q.int("sinceSeconds"),
        limit_bytes: q.int("limitBytes"),
    };
    let stream = streams.logs(target, options).await.map_err(node_error)?;
    let shutdown = ctx.state.shutdown.clone();
    let stream = stream.take_until(async move { shutdown.cancelled().await });
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| Response::new(Body::empty())))
}

/// `GET|POST pods/NAME/exec` and `pods/NAME/attach` (WebSocket upgrade).
pub async fn exec_or_attach(ctx: Ctx, rp: ResourcePath, req: Request) -> ApiResult<Response> {
    let (mut parts, _body) = req.into_parts();
    let ws = WebSocketUpgrade::from_request_parts(&mut parts, &())
        .await
        .map_err(|_| ApiError::bad_request("Upgrade request required"))?;
    let (streams, target) = resolve(&ctx, &rp)?;
    let q = &ctx.query;
    let options = StreamOptions {
        stdin: q.flag("stdin"),
        stdout: q.flag("stdout"),
        stderr: q.flag("stderr"),
        tty: q.flag("tty"),
    };
    let command = q.all("command");
    let attach = rp.subresource == "attach";
    if !attach && command.is_empty() {
        return Err(ApiError::bad_request("you must specify at least 1 command"));
    }
    let ws = ws.protocols(["v5.channel.k8s.io", "v4.channel.k8s.io"]);
    let v5 = ws.selected_protocol().and_then(|p| p.to_str().ok()) == Some("v5.channel.k8s.io");
    let shutdown = ctx.state.shutdown.clone();
    Ok(ws.on_upgrade(move |socket| async move {
        let io = if attach {
            streams.attach(target, options).await
        } else {
            streams.exec(target, command.clone(), options).await
        };
        tokio::select! {
            _ = run_session(socket, io, command, v5) => {}
            _ = shutdown.cancelled() => {}
        }
    }))
}

fn frame(channel: u8, data: &[u8]) -> Message {
    let mut v = Vec::with_capacity(data.len() + 1);
    v.push(channel);
    v.extend_from_slice(data);
    Message::Binary(Bytes::from(v))
}

fn exit_status(exit: ProcessExit, command: &[String]) -> Value {
    match exit {
        ProcessExit::Code(0) => json!({"metadata": {}, "status": "Success"}),
        ProcessExit::Code(code) => {
            json!({"metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
            "message": format!("command terminated with non-zero exit code: error executing command [{}], exit code {code}", command.join(" ")),
            "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]}})
        }
        ProcessExit::Failed(m) => {
            json!({"metadata": {}, "status": "Failure", "reason": "InternalError", "message": m,
            "details": {"causes": [{"message": m}]}})
        }
    }
}

async fn run_session(
    socket: WebSocket,
    io: Result<crate::node_streams::ProcessIo, NodeStreamError>,
    command: Vec<String>,
    v5: bool,
) {
    let (mut tx, mut rx) = socket.split();
    let io = match io {
        Ok(io) => io,
        Err(e) => {
            let status = exit_status(ProcessExit::Failed(e.to_string()), &command);
            let _ = tx.send(frame(3, status.to_string().as_bytes())).await;
            let _ = tx
                .send(Message::Close(Some(CloseFrame {
                    code: 1000,
                    reason: "".into(),
                })))
                .await;
            return;
        }
    };
    let mut stdin = io.stdin;
    let resize = io.resize;
    let reader = tokio::spawn(async move {
        while let Some(Ok(msg)) = rx.next().await {
            let data = match msg {
                Message::Binary(b) => b.to_vec(),
                Message::Text(t) => t.as_bytes().to_vec(),
                Message::Close(_) => break,
                _ => continue,
            };
            let Some((&ch, payload)) = data.split_first() else {
                continue;
            };
            match ch {
                0 => {
                    if let Some(w) = stdin.as_mut()
                        && w.write_all(payload).await.is_err()
                    {
                        stdin = None;
                    }
                    if let Some(w) = stdin.as_mut() {
                        let _ = w.flush().await;
                    }
                }
                4 => {
                    if let (Some(r), Ok(size)) =
                        (resize.as_ref(), serde_json::from_slice::<Value>(payload))
                    {
                        let w = size.get("Width").and_then(Value::as_u64).unwrap_or(0) as u16;
                        let h = size.get("Height").and_then(Value::as_u64).unwrap_or(0) as u16;
                        let _ = r
                            .send(TerminalSize {
                                width: w,
                                height: h,
                            })
                            .await;
                    }
                }
                255 if v5 && payload.first() == Some(&0) => {
                    if let Some(mut w) = stdin.take() {
                        let _ = w.shutdown().await;
                    }
                }
                _ => {}
            }
        }
    });
    let mut output = io.output;
    while let Some(chunk) = output.next().await {
        let msg = match chunk {
            Ok(OutputChunk::Stdout(b)) => frame(1, &b),
            Ok(OutputChunk::Stderr(b)) => frame(2, &b),
            Err(_) => break,
        };
        if tx.send(msg).await.is_err() {
            break;
        }
    }
    let exit = io.exit.await;
    let status = exit_status(exit, &command);
    let _ = tx.send(frame(3, status.to_string().as_bytes())).await;
    let _ = tx
        .send(Message::Close(Some(CloseFrame {
            code: 1000,
            reason: "".into(),
        })))
        .await;
    reader.abort();
}
