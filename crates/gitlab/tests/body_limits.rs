//! Request bodies are capped per route and credentials are checked before a body is read:
//! an oversized or anonymous body is refused while the client is still sending, and the
//! GitLab's memory does not grow with it.
//!
//! One test in this binary on purpose: it reads the process's peak RSS, which other tests
//! running at the same time would disturb.

mod common;

use std::time::Duration;

use common::*;
use harness_gitlab::{GitLab, GitLabConfig};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MIB: usize = 1 << 20;

/// The process's peak resident set size (`VmHWM`), in MiB.
fn peak_rss_mib() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: usize = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib / 1024
}

/// What a client saw sending `total` bytes to `path`: the answer's status and how many bytes
/// it had sent when the answer came (or the connection closed).
struct Sent {
    status: u16,
    sent: usize,
}

/// Sends a `total`-byte body of `a`s with `method path` over a plain socket, declared with
/// `Content-Length` or sent `chunked`, stopping as soon as an answer arrives.
async fn send_oversized(
    base: &str,
    method: &str,
    path: &str,
    headers: &str,
    total: usize,
    chunked: bool,
) -> Sent {
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let framing = if chunked {
        "Transfer-Encoding: chunked".to_string()
    } else {
        format!("Content-Length: {total}")
    };
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n{headers}{framing}\r\n\r\n"
    );
    wr.write_all(head.as_bytes()).await.unwrap();
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        let n = rd.read(&mut buf).await.unwrap_or(0);
        let text = String::from_utf8_lossy(&buf[..n]).to_string();
        text.split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .unwrap_or(0)
    });
    let chunk = vec![b'a'; 64 * 1024];
    let mut sent = 0;
    while sent < total && !reader.is_finished() {
        let write = async {
            if chunked {
                wr.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                    .await?;
                wr.write_all(&chunk).await?;
                wr.write_all(b"\r\n").await
            } else {
                wr.write_all(&chunk).await
            }
        };
        match tokio::time::timeout(Duration::from_secs(5), write).await {
            Ok(Ok(())) => sent += chunk.len(),
            _ => break,
        }
    }
    if chunked && sent >= total {
        let _ = wr.write_all(b"0\r\n\r\n").await;
    }
    let status = tokio::time::timeout(Duration::from_secs(60), reader)
        .await
        .expect("an answer")
        .unwrap();
    Sent { status, sent }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_anonymous_bodies_are_refused_unread() {
    if !have("git") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let config = GitLabConfig::new(tmp.path().join("gitlab"))
        .long_poll(Duration::from_secs(1))
        .max_artifacts_size(2 * MIB as u64)
        .max_trace_size(2 * MIB as u64);
    let gitlab = GitLab::start(config).await.unwrap();
    let base = gitlab.url();
    let total = 300 * MIB;

    let before = peak_rss_mib();
    for chunked in [false, true] {
        let r = send_oversized(&base, "POST", "/api/v4/runners/verify", "", total, chunked).await;
        let grown = peak_rss_mib().saturating_sub(before);
        println!(
            "anonymous 300 MiB POST /runners/verify (chunked: {chunked}): {} after {} MiB sent, peak RSS +{grown} MiB",
            r.status,
            r.sent / MIB
        );
        assert_eq!(r.status, 413, "chunked: {chunked}");
        assert!(r.sent < 64 * MIB, "answered after {} MiB", r.sent / MIB);
        assert!(grown < 64, "peak RSS grew by {grown} MiB");
    }

    // Token-checked routes look at the token before the body.
    let (runner, job, _, _) = running_job(tmp.path(), &gitlab, "limits/app").await;
    let id = job["id"].as_u64().unwrap();
    let token = job["token"].as_str().unwrap();
    for (method, path, headers, status) in [
        (
            "POST",
            format!("/api/v4/jobs/{id}/artifacts"),
            String::new(),
            403,
        ),
        (
            "POST",
            format!("/api/v4/jobs/{id}/artifacts"),
            "JOB-TOKEN: glcbt-wrong\r\n".to_string(),
            403,
        ),
        (
            "POST",
            "/api/v4/projects".to_string(),
            "PRIVATE-TOKEN: glpat-wrong\r\n".to_string(),
            401,
        ),
        (
            "POST",
            format!("/api/v4/jobs/{id}/artifacts"),
            format!("JOB-TOKEN: {token}\r\n"),
            413,
        ),
        (
            "PATCH",
            format!("/api/v4/jobs/{id}/trace"),
            format!("JOB-TOKEN: {token}\r\nContent-Range: 0-{}\r\n", total - 1),
            413,
        ),
        (
            "POST",
            "/api/v4/jobs/request".to_string(),
            String::new(),
            413,
        ),
    ] {
        let r = send_oversized(&base, method, &path, &headers, total, false).await;
        assert_eq!(r.status, status, "{path} {headers:?}");
        assert!(
            r.sent < 64 * MIB,
            "{path}: answered after {} MiB",
            r.sent / MIB
        );
    }
    let grown = peak_rss_mib().saturating_sub(before);
    assert!(grown < 64, "peak RSS grew by {grown} MiB");

    // Within the caps the same routes work: a 1 MiB artifact is stored, a 3 MiB one is not.
    let upload = |size: usize| runner.upload_artifacts(&job, vec![b'z'; size]);
    assert_eq!(upload(MIB).await.status(), 201);
    let too_big = upload(3 * MIB).await;
    assert_eq!(too_big.status(), 413);
    assert_eq!(
        too_big.json::<Value>().await.unwrap()["message"],
        "413 Request Entity Too Large"
    );
    let stored = gitlab.job(id).unwrap().artifacts;
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].size, MIB as u64,
        "the refused upload left the stored one alone"
    );

    // A job log past the size limit fails the job, as GitLab's `ci_jobs_trace_size_limit` does.
    let patch = |offset: usize, size: usize| {
        runner
            .api
            .request(reqwest::Method::PATCH, &format!("jobs/{id}/trace"))
            .header("JOB-TOKEN", token)
            .header("Content-Range", format!("{offset}-{}", offset + size - 1))
            .body(vec![b'l'; size])
            .send()
    };
    assert_eq!(patch(0, MIB).await.unwrap().status(), 202);
    assert_eq!(patch(MIB, 3 * MIB / 2).await.unwrap().status(), 403);
    let failed = gitlab.job(id).unwrap();
    assert_eq!(failed.status, harness_gitlab::Status::Failed);
    assert_eq!(
        failed.failure_reason.as_deref(),
        Some("trace_size_exceeded")
    );
}
