//! The job phase of GitLab's Runner API: ask for a job, report its state, stream its trace,
//! and move its artifacts.

use std::time::Duration;

use reqwest::{Method, Response, StatusCode};

use super::client::{ApiError, Client, json_body, status_error};
use super::types::{JobOutput, JobRequest, JobResponse, UpdateJobRequest, VersionInfo};

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

impl Client {
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
