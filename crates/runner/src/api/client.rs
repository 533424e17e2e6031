//! HTTP client for GitLab's Runner API, with the headers and status handling of the real runner.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use url::Url;

use super::types::{RUNNER_VERSION, RegisterRequest, RegisterResponse, VersionInfo};

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
    #[error("{what}")]
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

    /// A request to `path` (relative to the API URL) with a fresh `X-Request-Id`.
    pub(super) fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header("X-Request-Id", uuid_hex())
    }

    /// Sends the request `build` makes, again (rebuilt) on connection errors and retriable
    /// statuses, up to five attempts; `what` names the call in errors.
    pub(super) async fn send(
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

/// Decodes a JSON response body.
pub(super) async fn json_body<T: serde::de::DeserializeOwned>(
    what: &str,
    resp: Response,
) -> Result<T, ApiError> {
    resp.json().await.map_err(|source| ApiError::Transport {
        what: format!("{what} (decoding the response)"),
        source,
    })
}

/// An error for an unexpected status, with the start of the body.
pub(super) async fn status_error(what: &str, resp: Response) -> ApiError {
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
