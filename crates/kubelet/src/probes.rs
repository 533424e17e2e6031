//! Readiness and liveness probes (exec, httpGet, tcpSocket) and their thresholds.

use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::exec::{CreateExecOptions, StartExecResults};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Container, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// Runs `probe` once against the container `docker_id`; `Err` carries the failure message.
pub(crate) async fn run_once(
    docker: &Docker,
    docker_id: &str,
    container: &Container,
    probe: &Probe,
) -> Result<(), String> {
    let timeout = Duration::from_secs(probe.timeout_seconds.unwrap_or(1).max(1) as u64);
    let attempt = async {
        if let Some(exec) = &probe.exec {
            return exec_probe(docker, docker_id, exec.command.clone().unwrap_or_default()).await;
        }
        if let Some(http) = &probe.http_get {
            let port = resolve_port(container, &http.port)?;
            let host = probe_host(http.host.as_deref());
            let scheme = http
                .scheme
                .as_deref()
                .unwrap_or("HTTP")
                .to_ascii_lowercase();
            let path = http.path.clone().unwrap_or_else(|| "/".into());
            let url = format!(
                "{scheme}://{host}:{port}{}",
                if path.starts_with('/') {
                    path
                } else {
                    format!("/{path}")
                }
            );
            return http_probe(
                &url,
                http.http_headers
                    .iter()
                    .flatten()
                    .map(|h| (h.name.clone(), h.value.clone()))
                    .collect(),
                timeout,
            )
            .await;
        }
        if let Some(tcp) = &probe.tcp_socket {
            let port = resolve_port(container, &tcp.port)?;
            let host = probe_host(tcp.host.as_deref());
            return tokio::net::TcpStream::connect((host.as_str(), port))
                .await
                .map(drop)
                .map_err(|e| format!("dial tcp {host}:{port}: {e}"));
        }
        Err("probe has no exec, httpGet or tcpSocket handler (grpc probes are not supported on this node)".into())
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(result) => result,
        Err(_) => Err(format!("probe timed out after {}s", timeout.as_secs())),
    }
}

fn resolve_port(container: &Container, port: &IntOrString) -> Result<u16, String> {
    match port {
        IntOrString::Int(p) => u16::try_from(*p).map_err(|_| format!("invalid probe port {p}")),
        IntOrString::String(name) => {
            if let Ok(p) = name.parse::<u16>() {
                return Ok(p);
            }
            container
                .ports
                .iter()
                .flatten()
                .find(|p| p.name.as_deref() == Some(name.as_str()))
                .and_then(|p| u16::try_from(p.container_port).ok())
                .ok_or_else(|| {
                    format!(
                        "probe names port {name:?}, which container {} does not declare",
                        container.name
                    )
                })
        }
    }
}

async fn exec_probe(docker: &Docker, id: &str, command: Vec<String>) -> Result<(), String> {
    let exec = docker
        .create_exec(
            id,
            CreateExecOptions {
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                cmd: Some(command),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| format!("exec probe: {e}"))?;
    let mut output_text = String::new();
    if let StartExecResults::Attached { mut output, .. } =
        docker
            .start_exec(&exec.id, None)
            .await
            .map_err(|e| format!("exec probe: {e}"))?
    {
        while let Some(chunk) = output.next().await {
            if let Ok(chunk) = chunk
                && output_text.len() < 1024
            {
                output_text.push_str(&String::from_utf8_lossy(chunk.as_ref()));
            }
        }
    }
    let inspect = docker
        .inspect_exec(&exec.id)
        .await
        .map_err(|e| format!("exec probe: {e}"))?;
    match inspect.exit_code {
        Some(0) => Ok(()),
        code => Err(format!(
            "command exited with {}: {}",
            code.unwrap_or(-1),
            output_text.trim()
        )),
    }
}

async fn http_probe(
    url: &str,
    headers: Vec<(String, String)>,
    timeout: Duration,
) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::limited(10))
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    let mut request = client.get(url).header("User-Agent", "kube-probe/1.32");
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request
        .send()
        .await
        .map_err(|e| format!("Get \"{url}\": {e}"))?;
    let status = response.status().as_u16();
    if (200..400).contains(&status) {
        Ok(())
    } else {
        Err(format!("HTTP probe failed with statuscode: {status}"))
    }
}

/// The host an HTTP or TCP probe dials: the one given, else the pod's own address (pods use the
/// host network, so that is loopback).
fn probe_host(host: Option<&str>) -> String {
    host.filter(|h| !h.is_empty())
        .unwrap_or("127.0.0.1")
        .to_owned()
}

/// Threshold bookkeeping of one probe of one container instance.
#[derive(Debug, Clone)]
pub(crate) struct ProbeTracker {
    pub probe: Probe,
    next_due: Instant,
    successes: i32,
    failures: i32,
    /// The probe's verdict: `None` until thresholds decide.
    pub verdict: Option<bool>,
    pub last_error: String,
}

impl ProbeTracker {
    pub(crate) fn new(probe: Probe, started: Instant) -> Self {
        let delay = Duration::from_secs(probe.initial_delay_seconds.unwrap_or(0).max(0) as u64);
        Self {
            probe,
            next_due: started + delay,
            successes: 0,
            failures: 0,
            verdict: None,
            last_error: String::new(),
        }
    }

    pub(crate) fn due(&self, now: Instant) -> bool {
        now >= self.next_due
    }

    /// Records one result; returns true when the verdict changed.
    pub(crate) fn record(&mut self, now: Instant, result: Result<(), String>) -> bool {
        let period = Duration::from_secs(self.probe.period_seconds.unwrap_or(10).max(1) as u64);
        self.next_due = now + period;
        let before = self.verdict;
        match result {
            Ok(()) => {
                self.failures = 0;
                self.successes += 1;
                if self.successes >= self.probe.success_threshold.unwrap_or(1).max(1) {
                    self.verdict = Some(true);
                }
            }
            Err(message) => {
                self.successes = 0;
                self.failures += 1;
                self.last_error = message;
                if self.failures >= self.probe.failure_threshold.unwrap_or(3).max(1) {
                    self.verdict = Some(false);
                }
            }
        }
        before != self.verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_decide_the_verdict() {
        let probe = Probe {
            failure_threshold: Some(2),
            success_threshold: Some(1),
            period_seconds: Some(1),
            ..Default::default()
        };
        let start = Instant::now();
        let mut t = ProbeTracker::new(probe, start);
        assert!(t.due(start));
        assert!(!t.record(start, Err("no".into())));
        assert_eq!(t.verdict, None);
        assert!(!t.due(start));
        assert!(t.record(start, Err("no".into())));
        assert_eq!(t.verdict, Some(false));
        assert!(t.record(start, Ok(())));
        assert_eq!(t.verdict, Some(true));
    }

    #[tokio::test]
    async fn tcp_and_http_probes_reach_local_listeners() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = [0u8; 1024];
                let _ = sock.read(&mut buf).await;
                let _ = sock
                    .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n")
                    .await;
            }
        });
        let container = Container {
            name: "c".into(),
            ..Default::default()
        };
        let tcp = Probe {
            tcp_socket: Some(k8s_openapi::api::core::v1::TCPSocketAction {
                port: IntOrString::Int(port as i32),
                host: None,
            }),
            ..Default::default()
        };
        let docker = Docker::connect_with_local_defaults().unwrap();
        run_once(&docker, "unused", &container, &tcp).await.unwrap();
        let http = Probe {
            http_get: Some(k8s_openapi::api::core::v1::HTTPGetAction {
                port: IntOrString::Int(port as i32),
                path: Some("/health".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let err = run_once(&docker, "unused", &container, &http)
            .await
            .unwrap_err();
        assert!(err.contains("503"), "{err}");
    }
}
