//! HTTP client for GitLab's Runner API, with the headers and status handling of the real runner.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use url::Url;

use super::types::{
    JobOutput, JobRequest, JobResponse, RUNNER_VERSION, RegisterRequest, RegisterResponse,
    UpdateJobRequest, VersionInfo,
};

/// Why an API call failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The configured URL cannot be a GitLab base URL.
    #[error(
        "invalid GitLab URL {url:?}: {reason} (set `url` in [[runners]] or CI_SERVER_URL to http(s)://host[:port]/)"
    )]
    BadUrl {
        /// The URL as configured.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The request did not reach GitLab or the response could not be read.
    #[error("{what}: {source}")]
    Transport {
        /// Which call.
        what: String,
        /// The HTTP client error.
        #[source]
        source: reqwest::Error,
    },
    /// GitLab answered with an unexpected status.
    #[error("{what}: {status} {body}")]
    Status {
        /// Which call.
        what: String,
        /// HTTP status.
        status: StatusCode,
        /// Response body (shortened).
        body: String,
    },
}

impl ApiError {
    /// The HTTP status, when GitLab answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Result of `POST /jobs/request`.
#[derive(Debug)]
pub struct JobPoll {
    /// The job, on 201.
    pub job: Option<Box<JobResponse>>,
    /// `X-GitLab-Last-Update` of the response, to echo in the next request.
    pub last_update: Option<String>,
}

/// Result of a job update or trace patch, as the runner acts on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// Accepted.
    Accepted,
    /// The job was canceled or is gone (`Job-Status: canceled|failed`, 403, 404): stop it.
    Abort,
    /// Try again after the interval (202 on a final update, or a retriable error).
    Retry,
}

/// Result of `PATCH /jobs/:id/trace`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchOutcome {
    /// Appended; the offset after the patch, and the server's requested update interval.
    Accepted {
        /// Offset after the patch.
        offset: usize,
        /// `X-GitLab-Trace-Update-Interval`, when sent.
        interval: Option<Duration>,
    },
    /// 416: GitLab holds `offset` bytes; continue from there.
    RangeMismatch {
        /// GitLab's trace length.
        offset: usize,
    },
    /// The job was canceled or is gone.
    Abort,
    /// Try again later.
    Retry,
}

/// A client bound to one GitLab URL.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
}

const MAX_ATTEMPTS: u32 = 5;

fn retriable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504) || status.as_u16() >= 512
}

impl Client {
    /// A client for `url` (`http://host/`, with or without a trailing `/` or `/ci`).
    pub fn new(url: &str) -> Result<Self, ApiError> {
        let base = api_base(url)?;
        crate::install_crypto_provider();
        let http = reqwest::Client::builder()
            .user_agent(format!(
                "gitlab-runner {RUNNER_VERSION} (12-8-stable; harness-runner; linux/amd64)"
            ))
            .connect_timeout(Duration::from_secs(30))
            .build()
            .map_err(|source| ApiError::Transport {
                what: "building the HTTP client".into(),
                source,
            })?;
        Ok(Self { http, base })
    }

    /// The `/api/v4/` URL requests go to.
    pub fn api_url(&self) -> &Url {
        &self.base
    }

    fn url(&self, path: &str) -> Url {
        // `path` is a fixed relative path; joining cannot fail on a base that ends in `/`.
        self.base.join(path).unwrap_or_else(|_| self.base.clone())
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header("X-Request-Id", uuid_hex())
    }

    async fn send(
        &self,
        what: &str,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, ApiError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = build().send().await;
            match result {
                Ok(resp) if retriable(resp.status()) && attempt < MAX_ATTEMPTS => {
                    let wait = retry_after(&resp)
                        .unwrap_or(Duration::from_millis(100 * 2u64.pow(attempt)));
                    tracing::debug!(what, status = %resp.status(), ?wait, "retrying");
                    tokio::time::sleep(wait).await;
                }
                Ok(resp) => return Ok(resp),
                Err(e) if attempt < MAX_ATTEMPTS && (e.is_connect() || e.is_timeout()) => {
                    tokio::time::sleep(Duration::from_millis(100 * 2u64.pow(attempt))).await;
                }
                Err(source) => {
                    return Err(ApiError::Transport {
                        what: what.to_string(),
                        source,
                    });
                }
            }
        }
    }

    /// `POST /runners`: registers with a registration token and returns the runner's token.
    pub async fn register(&self, req: &RegisterRequest) -> Result<RegisterResponse, ApiError> {
        let what = "registering runner";
        let resp = self
            .send(what, || {
                self.request(Method::POST, "runners")
                    .header("Accept", "application/json")
                    .json(req)
            })
            .await?;
        match resp.status() {
            StatusCode::CREATED => json_body(what, resp).await,
            StatusCode::FORBIDDEN => Err(status_error(
                "registering runner... forbidden (check registration token)",
                resp,
            )
            .await),
            _ => Err(status_error("registering runner... failed", resp).await),
        }
    }

    /// `POST /runners/verify`: whether `token` belongs to a runner GitLab knows.
    pub async fn verify(&self, token: &str) -> Result<bool, ApiError> {
        let body = serde_json::json!({ "token": token, "info": VersionInfo::new("") });
        let resp = self
            .send("verifying runner", || {
                self.request(Method::POST, "runners/verify").json(&body)
            })
            .await?;
        match resp.status() {
            StatusCode::OK | StatusCode::CREATED => Ok(true),
            StatusCode::FORBIDDEN => Ok(false),
            _ => Err(status_error("verifying runner", resp).await),
        }
    }

    /// `DELETE /runners`: removes the runner from GitLab.
    pub async fn unregister(&self, token: &str) -> Result<(), ApiError> {
        let body = serde_json::json!({ "token": token });
        let resp = self
            .send("unregistering runner", || {
                self.request(Method::DELETE, "runners").json(&body)
            })
            .await?;
        match resp.status() {
            s if s.is_success() => Ok(()),
            _ => Err(status_error("unregistering runner", resp).await),
        }
    }

    /// `POST /jobs/request`: asks for a job, echoing the last `X-GitLab-Last-Update` seen.
    pub async fn request_job(
        &self,
        token: &str,
        executor: &str,
        last_update: Option<String>,
    ) -> Result<JobPoll, ApiError> {
        let what = "checking for jobs";
        let body = JobRequest {
            token: token.to_string(),
            info: VersionInfo::new(executor),
            last_update,
        };
        let resp = self
            .send(what, || {
                self.request(Method::POST, "jobs/request")
                    .header("Accept", "application/json")
                    .header("RUNNER-TOKEN", token)
                    .timeout(Duration::from_secs(120))
                    .json(&body)
            })
            .await?;
        let last_update = resp
            .headers()
            .get("X-GitLab-Last-Update")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(str::to_string);
        match resp.status() {
            StatusCode::CREATED => {
                let job: JobResponse = json_body(what, resp).await?;
                Ok(JobPoll {
                    job: Some(Box::new(job)),
                    last_update,
                })
            }
            StatusCode::NO_CONTENT => Ok(JobPoll {
                job: None,
                last_update,
            }),
            _ => Err(status_error(what, resp).await),
        }
    }

    /// `PUT /jobs/:id`: reports the job state.
    #[allow(clippy::too_many_arguments)]
    pub async fn update_job(
        &self,
        id: i64,
        token: &str,
        state: &str,
        failure_reason: Option<&str>,
        exit_code: Option<i32>,
        trace: Option<&[u8]>,
    ) -> Result<UpdateOutcome, ApiError> {
        let checksum = trace.map(|t| format!("crc32:{:08x}", crc32fast::hash(t)));
        let body = UpdateJobRequest {
            info: VersionInfo::new("kubernetes"),
            token: token.to_string(),
            state: state.to_string(),
            failure_reason: failure_reason.map(str::to_string),
            checksum: checksum.clone(),
            output: checksum.map(|checksum| JobOutput {
                checksum,
                bytesize: trace.map_or(0, <[u8]>::len),
            }),
            exit_code: exit_code.filter(|c| *c != 0),
        };
        let path = format!("jobs/{id}");
        let resp = self
            .send("updating job", || {
                self.request(Method::PUT, &path)
                    .header("JOB-TOKEN", token)
                    .json(&body)
            })
            .await?;
        if aborted(&resp) {
            return Ok(UpdateOutcome::Abort);
        }
        Ok(match resp.status() {
            StatusCode::OK => UpdateOutcome::Accepted,
            StatusCode::ACCEPTED => UpdateOutcome::Retry,
            StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => UpdateOutcome::Abort,
            _ => UpdateOutcome::Retry,
        })
    }

    /// `PATCH /jobs/:id/trace`: appends `chunk` at `offset` (`Content-Range: a-b`, inclusive).
    pub async fn patch_trace(
        &self,
        id: i64,
        token: &str,
        offset: usize,
        chunk: &[u8],
    ) -> Result<PatchOutcome, ApiError> {
        let path = format!("jobs/{id}/trace?debug_trace=false");
        let range = format!("{}-{}", offset, offset + chunk.len().saturating_sub(1));
        let body = bytes::Bytes::copy_from_slice(chunk);
        let resp = self
            .send("patching trace", || {
                self.request(Method::PATCH, &path)
                    .header("JOB-TOKEN", token)
                    .header("Content-Type", "text/plain")
                    .header("Content-Range", &range)
                    .body(body.clone())
            })
            .await?;
        if aborted(&resp) {
            return Ok(PatchOutcome::Abort);
        }
        Ok(match resp.status() {
            StatusCode::ACCEPTED => PatchOutcome::Accepted {
                offset: offset + chunk.len(),
                interval: resp
                    .headers()
                    .get("X-GitLab-Trace-Update-Interval")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .filter(|s| *s > 0)
                    .map(|s| Duration::from_secs(s.min(900))),
            },
            StatusCode::RANGE_NOT_SATISFIABLE => match range_end(&resp) {
                Some(offset) => PatchOutcome::RangeMismatch { offset },
                None => PatchOutcome::RangeMismatch { offset: 0 },
            },
            StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => PatchOutcome::Abort,
            _ => PatchOutcome::Retry,
        })
    }

    /// `POST /jobs/:id/artifacts`: uploads an archive (metadata in the query string).
    pub async fn upload_artifacts(
        &self,
        id: i64,
        token: &str,
        file_name: &str,
        data: Vec<u8>,
        query: &[(&str, String)],
    ) -> Result<(), ApiError> {
        let what = format!("uploading artifacts as {file_name:?} for job {id}");
        let path = format!("jobs/{id}/artifacts");
        let resp = self
            .send(&what, || {
                let part =
                    reqwest::multipart::Part::bytes(data.clone()).file_name(file_name.to_string());
                self.request(Method::POST, &path)
                    .header("JOB-TOKEN", token)
                    .query(query)
                    .multipart(reqwest::multipart::Form::new().part("file", part))
            })
            .await?;
        match resp.status() {
            StatusCode::CREATED => Ok(()),
            _ => Err(status_error(&what, resp).await),
        }
    }

    /// `GET /jobs/:id/artifacts`: downloads a job's archive.
    pub async fn download_artifacts(&self, id: i64, token: &str) -> Result<Vec<u8>, ApiError> {
        let what = format!("downloading artifacts from job {id}");
        let path = format!("jobs/{id}/artifacts?direct_download=true");
        let resp = self
            .send(&what, || {
                self.request(Method::GET, &path).header("JOB-TOKEN", token)
            })
            .await?;
        match resp.status() {
            StatusCode::OK => resp
                .bytes()
                .await
                .map(|b| b.to_vec())
                .map_err(|source| ApiError::Transport { what, source }),
            _ => Err(status_error(&what, resp).await),
        }
    }
}

fn aborted(resp: &Response) -> bool {
    matches!(
        resp.headers()
            .get("Job-Status")
            .and_then(|v| v.to_str().ok()),
        Some("canceled" | "failed")
    )
}

fn range_end(resp: &Response) -> Option<usize> {
    let value = resp.headers().get("Range")?.to_str().ok()?;
    value.rsplit('-').next()?.trim().parse().ok()
}

fn retry_after(resp: &Response) -> Option<Duration> {
    let secs: u64 = resp
        .headers()
        .get("Retry-After")?
        .to_str()
        .ok()?
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs.min(60)))
}

async fn json_body<T: serde::de::DeserializeOwned>(
    what: &str,
    resp: Response,
) -> Result<T, ApiError> {
    resp.json().await.map_err(|source| ApiError::Transport {
        what: format!("{what} (decoding the response)"),
        source,
    })
}

async fn status_error(what: &str, resp: Response) -> ApiError {
    let status = resp.status();
    let mut body = resp.text().await.unwrap_or_default();
    body.truncate(500);
    ApiError::Status {
        what: what.to_string(),
        status,
        body,
    }
}

fn uuid_hex() -> String {
    use rand::Rng;
    let v: u128 = rand::rng().random();
    format!("{v:032x}")
}

/// `url` → `<url without trailing / and /ci>/api/v4/`.
pub fn api_base(url: &str) -> Result<Url, ApiError> {
    let bad = |reason: String| ApiError::BadUrl {
        url: url.to_string(),
        reason,
    };
    let mut trimmed = url.trim().trim_end_matches('/');
    if let Some(stripped) = trimmed.strip_suffix("/ci") {
        trimmed = stripped;
    }
    let parsed = Url::parse(&format!("{trimmed}/api/v4/")).map_err(|e| bad(e.to_string()))?;
    if parsed.scheme() != "http" && parsed.scheme() != "https" {
        return Err(bad("only http and https are supported".into()));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_drops_trailing_slash_and_ci() {
        for u in [
            "http://h:88/",
            "http://h:88",
            "http://h:88/ci",
            "http://h:88/ci/",
        ] {
            assert_eq!(api_base(u).unwrap().as_str(), "http://h:88/api/v4/");
        }
        assert_eq!(
            api_base("https://h/gitlab/").unwrap().as_str(),
            "https://h/gitlab/api/v4/"
        );
        assert!(api_base("ftp://h/").is_err());
        assert!(api_base("not a url").is_err());
    }
}
